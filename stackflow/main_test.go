package stackflow

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/stackflow/contract"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testToken is the bearer token of the plain httptest setups.
const testToken = "tok-3c1f9a77e2"

// fastRetry keeps retry tests quick: the waits are a few milliseconds.
var fastRetry = WithRetry(RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond})

// setup starts a server whose API, under /prod/api, is the returned mux,
// and a client for it with fast retries. Requests outside /prod/api fail
// the test (go-github's pattern).
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	srv, mux := serve(t)
	base := []Option{WithToken(testToken), fastRetry, WithHTTPClient(srv.Client())}
	c, err := NewClient(srv.URL+"/prod/api", append(base, opts...)...)
	require.NoError(t, err)
	return c, mux
}

// serve starts the server of setup without a client.
func serve(t *testing.T) (*httptest.Server, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	outer := http.NewServeMux()
	outer.Handle("/prod/api/", http.StripPrefix("/prod/api", mux))
	outer.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request outside the API: %s %s", r.Method, r.URL)
		http.Error(w, "not the API", http.StatusTeapot)
	})
	srv := httptest.NewServer(outer)
	t.Cleanup(srv.Close)
	return srv, mux
}

// fake starts the fake StackFlow and a client for it whose every request
// and response is checked against openapi.yaml for the rest of the test.
func fake(t *testing.T, srvOpts ...stackflowtest.Option) (*Client, *stackflowtest.Server, *contract.Transport) {
	t.Helper()
	srv := stackflowtest.NewServer(t, srvOpts...)
	tr := contract.NewTestTransport(t, srv.Client().Transport)
	c, err := NewClient(srv.BaseURL(), WithToken(srv.Token), fastRetry, WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	return c, srv, tr
}

var reqSeq struct {
	sync.Mutex
	n int
}

// stdHeaders sets the headers every StackFlow answer carries.
func stdHeaders(w http.ResponseWriter) string {
	reqSeq.Lock()
	reqSeq.n++
	id := "req_" + strconv.Itoa(reqSeq.n)
	reqSeq.Unlock()
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-RateLimit-Limit", "1000")
	h.Set("X-RateLimit-Remaining", "998")
	h.Set("X-RateLimit-Reset", "1795885200")
	return id
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	stdHeaders(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	id := stdHeaders(w)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": message, "request_id": id}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// recorder keeps what a handler saw, for assertions.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (r *recorder) add(req *http.Request) string {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	r.body = append(r.body, string(b))
	return string(b)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) get(i int) (*http.Request, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[i], r.body[i]
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// incidentJSON is a complete incident as StackFlow sends it.
const incidentJSON = `{"id":"inc_01JD0001","number":"SF-INC-1001","source":"servicenow","external_id":"46d44a5f2f2a3010b8b6f7d6f699b6a6",
"external_number":"INC0010001","title":"Disk full on web01","description":"/var is at 100%","state":"in_progress",
"priority":2,"impact":1,"urgency":2,"category":"hardware","subcategory":null,"assignment_group":"Linux Ops",
"assignee":"jane","reporter":"bob","ci_id":"ci_01JD0009","resolution_code":null,"resolution_notes":null,
"resolved_at":null,"closed_at":null,"attributes":{"sn_sys_class":"incident","reopen_count":3},"version":4,
"created_at":"2026-11-28T17:04:05.123Z","updated_at":"2026-11-28T18:00:00.456Z","updated_by":"sync-bot","deleted_at":null}`
