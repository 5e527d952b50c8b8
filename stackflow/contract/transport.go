package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Kind says which half of an exchange broke the contract.
type Kind string

const (
	// KindRequest marks a request that does not match the document.
	KindRequest Kind = "request"
	// KindResponse marks a response that does not match the document.
	KindResponse Kind = "response"
)

// Violation is one exchange that broke the contract.
type Violation struct {
	Kind     Kind   // request or response
	Method   string // request method
	Path     string // request path
	Status   int    // response status (0 for request violations)
	Expected bool   // the request was marked with ExpectInvalidRequest
	Err      error  // what is wrong
}

// String describes the violation on one line (the error may span several).
func (v Violation) String() string {
	exp := ""
	if v.Expected {
		exp = " (expected)"
	}
	return fmt.Sprintf("%s violation%s: %s %s: %v", v.Kind, exp, v.Method, v.Path, v.Err)
}

type expectInvalidKey struct{}

// ExpectInvalidRequest marks requests made with the returned context as
// deliberately invalid (for tests of 400/401/422 answers): their request
// violations are recorded with Expected set, and their responses are still
// checked.
func ExpectInvalidRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, expectInvalidKey{}, true)
}

func expectsInvalid(ctx context.Context) bool {
	v, _ := ctx.Value(expectInvalidKey{}).(bool)
	return v
}

// Recorder collects violations. Safe for concurrent use; the zero value is
// ready.
type Recorder struct {
	mu         sync.Mutex
	violations []Violation
}

// Record adds a violation.
func (rec *Recorder) Record(v Violation) {
	rec.mu.Lock()
	rec.violations = append(rec.violations, v)
	rec.mu.Unlock()
}

// Violations returns every violation recorded so far, expected ones
// included, oldest first.
func (rec *Recorder) Violations() []Violation {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Violation(nil), rec.violations...)
}

// Unexpected returns the violations that were not marked as expected.
func (rec *Recorder) Unexpected() []Violation {
	var out []Violation
	for _, v := range rec.Violations() {
		if !v.Expected {
			out = append(out, v)
		}
	}
	return out
}

// Reset forgets every recorded violation.
func (rec *Recorder) Reset() {
	rec.mu.Lock()
	rec.violations = nil
	rec.mu.Unlock()
}

// Check fails t with every unexpected violation.
func (rec *Recorder) Check(t testing.TB) {
	t.Helper()
	for _, v := range rec.Unexpected() {
		t.Errorf("contract: %s", v)
	}
}

// Transport is an http.RoundTripper that checks every request it sends and
// every response it gets against the contract, recording violations in its
// embedded Recorder. It never changes the traffic: requests still go out and
// responses still come back when they violate the contract.
type Transport struct {
	Recorder
	contract *Contract
	base     http.RoundTripper
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport wraps base (http.DefaultTransport when nil).
func NewTransport(c *Contract, base http.RoundTripper) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{contract: c, base: base}
}

// NewTestTransport loads the contract, wraps base (http.DefaultTransport when
// nil) and registers a cleanup that fails t on any unexpected violation. It
// calls t.Fatal when the contract cannot be loaded.
func NewTestTransport(t testing.TB, base http.RoundTripper) *Transport {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(c, base)
	t.Cleanup(func() { tr.Check(t) })
	return tr
}

// RoundTrip sends req through the base transport and checks both halves.
// req itself is not modified: its body is read and closed, and a copy of
// the request carries the body on.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("contract: reading request body: %w", err)
		}
	}
	expected := expectsInvalid(req.Context())
	if _, err := t.contract.validateRequest(req, body); err != nil {
		t.Record(Violation{Kind: KindRequest, Method: req.Method, Path: req.URL.Path, Expected: expected, Err: err})
	}
	out := req.Clone(req.Context())
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	resp.Request = req
	data, err := readResponseBody(resp)
	if err != nil {
		// A broken body (an injected fault, a reset) is the caller's to see;
		// the contract has nothing to say about half a response.
		return resp, nil
	}
	if _, _, ferr := t.contract.find(req); ferr != nil {
		return resp, nil // already recorded as a request violation
	}
	if err := t.contract.validateResponse(req, resp.StatusCode, resp.Header, data); err != nil {
		t.Record(Violation{Kind: KindResponse, Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode, Err: err})
	}
	return resp, nil
}

// Middleware checks every request a server receives and every answer it
// gives, recording violations in rec. Put it outermost so that it sees what
// the client sees. Requests marked with ExpectInvalidRequest on the server
// side are rare; use a Transport on the client side for those tests.
func (c *Contract) Middleware(rec *Recorder, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readRequestBody(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		expected := expectsInvalid(r.Context())
		_, verr := c.validateRequest(r, body)
		if verr != nil {
			rec.Record(Violation{Kind: KindRequest, Method: r.Method, Path: r.URL.Path, Expected: expected, Err: verr})
		}
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		cw := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		if verr != nil && strings.Contains(verr.Error(), "no matching operation") {
			return
		}
		status := cw.status
		if status == 0 {
			status = http.StatusOK
		}
		if err := c.validateResponse(r, status, w.Header(), cw.body.Bytes()); err != nil {
			rec.Record(Violation{Kind: KindResponse, Method: r.Method, Path: r.URL.Path, Status: status, Err: err})
		}
	})
}

// captureWriter passes an answer through while keeping a copy of it.
type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// decodeJSON decodes a JSON document into the generic shape the schema
// validator walks.
func decodeJSON(data []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decoding JSON: trailing data after the document")
	}
	return v, nil
}
