package testserver

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// maxLoggedBody caps how much of a request body the log keeps.
const maxLoggedBody = 1 << 20

// LoggedRequest is one request a fake received, as tests inspect it.
type LoggedRequest struct {
	Time     time.Time   // when it arrived, by the fake's Clock
	Method   string      // HTTP method
	Path     string      // URL path, unescaped
	RawQuery string      // query string as sent
	Header   http.Header // request headers (a copy)
	Body     []byte      // the body as sent (before any Content-Encoding is undone), at most 1 MiB
	Status   int         // status the fake answered (0 if the connection was dropped first)
	Fault    string      // the injected fault that hit it, if any
}

// RequestLog records every request a fake serves. Safe for concurrent use.
// The zero value is ready, and records with the wall clock.
type RequestLog struct {
	mu    sync.Mutex
	clock Clock
	reqs  []LoggedRequest
}

// NewRequestLog returns a log that stamps requests with clock.
func NewRequestLog(clock Clock) *RequestLog { return &RequestLog{clock: clock} }

// Requests returns a copy of everything logged so far, oldest first.
func (l *RequestLog) Requests() []LoggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LoggedRequest, len(l.reqs))
	copy(out, l.reqs)
	return out
}

// Len reports how many requests were logged.
func (l *RequestLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// Count reports how many logged requests satisfy match (all when nil).
func (l *RequestLog) Count(match func(LoggedRequest) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if match == nil || match(r) {
			n++
		}
	}
	return n
}

// Reset forgets every logged request.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	l.reqs = nil
	l.mu.Unlock()
}

func (l *RequestLog) now() time.Time {
	if l.clock == nil {
		return time.Now().UTC()
	}
	return l.clock.Now()
}

// Middleware records each request that passes through it; put it outermost
// so that faults are logged too.
func (l *RequestLog) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entry := LoggedRequest{
			Time:     l.now(),
			Method:   r.Method,
			Path:     r.URL.Path,
			RawQuery: r.URL.RawQuery,
			Header:   r.Header.Clone(),
		}
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(r.Body)
			_ = r.Body.Close()
			if err != nil {
				http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if len(body) > maxLoggedBody {
				entry.Body = append([]byte(nil), body[:maxLoggedBody]...)
			} else {
				entry.Body = body
			}
		}
		lw := &logWriter{ResponseWriter: w}
		defer func() {
			entry.Status = lw.status
			entry.Fault = lw.fault
			l.mu.Lock()
			l.reqs = append(l.reqs, entry)
			l.mu.Unlock()
		}()
		next.ServeHTTP(lw, r)
	})
}

// logWriter notes the status a handler sends.
type logWriter struct {
	http.ResponseWriter
	status int
	fault  string
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush passes flushes through, so streamed answers stay streamed.
func (w *logWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
