package testserver

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FaultKind says what an injected fault does to a request.
type FaultKind int

const (
	// FaultStatus answers with Status, Header and Body; the real handler is
	// not called, so nothing is written.
	FaultStatus FaultKind = iota + 1
	// FaultDelay waits Delay (or until the request's context ends), then
	// serves the request normally.
	FaultDelay
	// FaultReset drops the connection before anything is done or sent: the
	// client sees a reset or EOF, and nothing was written.
	FaultReset
	// FaultResetAfterWrite runs the real handler (so a create or update takes
	// effect), then drops the connection without sending its answer: the
	// ambiguous failure after which a client cannot know whether its write
	// happened.
	FaultResetAfterWrite
	// FaultDelayAfterWrite runs the real handler, then holds its answer for
	// Delay before sending it (or drops it when the request's context ends
	// first): a client with a shorter timeout sees a timeout although the
	// write took effect.
	FaultDelayAfterWrite
	// FaultTruncate runs the real handler, then sends its status and headers
	// with only the first TruncateAt bytes of the body (half of it when
	// TruncateAt is 0) followed by Body, like ServiceNow's "Transaction
	// cancelled" answers. The HTTP framing stays valid; the JSON does not.
	FaultTruncate
	// FaultResetMidBody runs the real handler, sends its status, headers and
	// the first TruncateAt bytes of the body (half when 0), then drops the
	// connection.
	FaultResetMidBody
)

// String names the kind, for logs and test output.
func (k FaultKind) String() string {
	switch k {
	case FaultStatus:
		return "status"
	case FaultDelay:
		return "delay"
	case FaultReset:
		return "reset"
	case FaultResetAfterWrite:
		return "reset-after-write"
	case FaultDelayAfterWrite:
		return "delay-after-write"
	case FaultTruncate:
		return "truncate"
	case FaultResetMidBody:
		return "reset-mid-body"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is one injected misbehaviour. A request matches when its method
// equals Method (any when empty), its path starts with Path (any when empty)
// and Match, when set, returns true. The first Skip matching requests pass
// untouched; the next Times matching requests get the fault (Times 0 means
// once, a negative Times means every later match).
type Fault struct {
	Method string
	Path   string
	Match  func(*http.Request) bool
	Skip   int
	Times  int

	Kind       FaultKind
	Status     int
	Header     http.Header
	Body       string
	Delay      time.Duration
	TruncateAt int

	seen  int
	fired int
}

// Faults is a list of pending faults applied by Middleware. Safe for
// concurrent use. The zero value is ready.
type Faults struct {
	mu    sync.Mutex
	list  []*Fault
	fired int
}

// Add queues a fault. Faults are checked in the order they were added and at
// most one applies to a request.
func (f *Faults) Add(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := ft
	if c.Header != nil {
		c.Header = c.Header.Clone()
	}
	f.list = append(f.list, &c)
}

// Clear removes every pending fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	f.list = nil
	f.mu.Unlock()
}

// Pending reports how many faults can still fire (an unlimited fault counts once).
func (f *Faults) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.list)
}

// Fired reports how many requests got a fault so far.
func (f *Faults) Fired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

// take returns the fault that applies to r, if any, and consumes one use of it.
func (f *Faults) take(r *http.Request) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.list {
		if ft.Method != "" && !strings.EqualFold(ft.Method, r.Method) {
			continue
		}
		if ft.Path != "" && !strings.HasPrefix(r.URL.Path, ft.Path) {
			continue
		}
		if ft.Match != nil && !ft.Match(r) {
			continue
		}
		ft.seen++
		if ft.seen <= ft.Skip {
			continue
		}
		ft.fired++
		f.fired++
		limit := ft.Times
		if limit == 0 {
			limit = 1
		}
		if limit > 0 && ft.fired >= limit {
			f.list = append(f.list[:i:i], f.list[i+1:]...)
		}
		cp := *ft
		return &cp
	}
	return nil
}

// Middleware applies pending faults in front of next.
func (f *Faults) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ft := f.take(r)
		if ft == nil {
			next.ServeHTTP(w, r)
			return
		}
		if lw, ok := w.(*logWriter); ok {
			lw.fault = ft.Kind.String()
		}
		switch ft.Kind {
		case FaultStatus:
			for k, vs := range ft.Header {
				w.Header()[k] = vs
			}
			status := ft.Status
			if status == 0 {
				status = http.StatusInternalServerError
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(ft.Body))
		case FaultDelay:
			if !sleep(r, ft.Delay) {
				panic(http.ErrAbortHandler)
			}
			next.ServeHTTP(w, r)
		case FaultReset:
			panic(http.ErrAbortHandler)
		case FaultResetAfterWrite:
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			panic(http.ErrAbortHandler)
		case FaultDelayAfterWrite:
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			if !sleep(r, ft.Delay) {
				panic(http.ErrAbortHandler)
			}
			rec.copyTo(w, -1, "")
		case FaultTruncate, FaultResetMidBody:
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			cut := ft.TruncateAt
			if cut <= 0 || cut > rec.body.Len() {
				cut = rec.body.Len() / 2
			}
			if ft.Kind == FaultTruncate {
				rec.copyTo(w, cut, ft.Body)
				return
			}
			rec.copyTo(w, cut, "")
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			panic(http.ErrAbortHandler)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// sleep waits d or until the request's context ends; it reports whether the
// full wait happened.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// recorder buffers a handler's answer so a fault can alter it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// copyTo sends the recorded answer to w, keeping only the first cut bytes of
// the body (all when cut < 0) followed by suffix.
func (r *recorder) copyTo(w http.ResponseWriter, cut int, suffix string) {
	for k, vs := range r.header {
		w.Header()[k] = vs
	}
	body := r.body.Bytes()
	if cut >= 0 && cut < len(body) {
		body = body[:cut]
		w.Header().Del("Content-Length")
	}
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	if suffix != "" {
		_, _ = w.Write([]byte(suffix))
	}
}
