package testserver

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"syscall"
)

// ErrConnReset is what HandlerTransport returns when a fault drops the
// connection before any answer was sent. It wraps syscall.ECONNRESET so that
// code checking for a reset recognises it.
var ErrConnReset = &resetError{}

type resetError struct{}

func (*resetError) Error() string        { return "testserver: connection reset by peer" }
func (*resetError) Unwrap() error        { return syscall.ECONNRESET }
func (*resetError) Timeout() bool        { return false }
func (*resetError) Temporary() bool      { return true }
func (*resetError) Is(target error) bool { return target == syscall.ECONNRESET }

// HandlerTransport is an http.RoundTripper that serves requests by calling
// Handler in process, with no sockets. Inside a testing/synctest bubble its
// goroutines block durably, so fake time moves; httptest.NewServer's sockets
// would freeze it. A handler that aborts (panic(http.ErrAbortHandler), as the
// reset faults do) becomes ErrConnReset before headers, or a body read error
// after them.
type HandlerTransport struct {
	Handler http.Handler
}

// RoundTrip serves req with t.Handler.
func (t *HandlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sreq := req.Clone(req.Context())
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	sreq.RequestURI = req.URL.RequestURI()
	if sreq.RemoteAddr == "" {
		sreq.RemoteAddr = "127.0.0.1:1"
	}
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					w.abort(errors.New("testserver: handler panicked"))
					panic(p)
				}
				w.abort(ErrConnReset)
				return
			}
			w.finish()
		}()
		t.Handler.ServeHTTP(w, sreq)
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		_ = pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	if w.err != nil && !w.sent {
		return nil, w.err
	}
	resp := &http.Response{
		Status:        http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sentHeader,
		Body:          pr,
		ContentLength: -1,
		Request:       req,
	}
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
		_ = pr.Close()
	}
	return resp, nil
}

// pipeWriter is the server side of HandlerTransport.
type pipeWriter struct {
	mu         sync.Mutex
	header     http.Header
	sentHeader http.Header
	status     int
	sent       bool
	err        error
	pw         *io.PipeWriter
	ready      chan struct{}
	once       sync.Once
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sendLocked(code)
}

func (w *pipeWriter) sendLocked(code int) {
	if w.sent {
		return
	}
	w.sent = true
	w.status = code
	w.sentHeader = w.header.Clone()
	w.once.Do(func() { close(w.ready) })
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.sendLocked(http.StatusOK)
	w.mu.Unlock()
	return w.pw.Write(p)
}

// Flush is a no-op: the pipe delivers writes as they happen.
func (w *pipeWriter) Flush() {
	w.mu.Lock()
	w.sendLocked(http.StatusOK)
	w.mu.Unlock()
}

func (w *pipeWriter) finish() {
	w.mu.Lock()
	w.sendLocked(http.StatusOK)
	w.mu.Unlock()
	_ = w.pw.Close()
}

func (w *pipeWriter) abort(err error) {
	w.mu.Lock()
	if !w.sent {
		w.err = err
		w.once.Do(func() { close(w.ready) })
	}
	w.mu.Unlock()
	_ = w.pw.CloseWithError(io.ErrUnexpectedEOF)
}
