package sf

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stackflow-tech/snowsync/stackflow/contract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Tokens every harness registers.
const (
	adminToken  = "tok-admin"  // super_admin, subject admin@example.com
	agentToken  = "tok-agent"  // agent, subject sync-bot
	viewerToken = "tok-viewer" // viewer, subject auditor
)

var loadContract = sync.OnceValues(contract.Load)

// t0 is where every harness clock starts.
var t0 = time.Date(2026, 11, 28, 17, 4, 5, 123_000_000, time.UTC)

// harness is a fake on an httptest server whose every exchange is checked
// against the contract: a violation fails the test.
type harness struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	clock *testserver.ManualClock
	tr    *contract.Transport
	http  *http.Client
	base  string // URL + base path
}

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	c, err := loadContract()
	require.NoError(t, err)
	clock := testserver.NewManualClock(t0)
	all := append([]Option{
		WithClock(clock),
		WithToken(adminToken, "admin@example.com", RoleSuperAdmin),
		WithToken(agentToken, "sync-bot", RoleAgent),
		WithToken(viewerToken, "auditor", RoleViewer),
		WithWebhookRetry(3, time.Millisecond),
	}, opts...)
	srv, err := New(all...)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	tr := contract.NewTransport(c, ts.Client().Transport)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		tr.Check(t)
	})
	return &harness{
		t: t, srv: srv, ts: ts, clock: clock, tr: tr,
		http: &http.Client{Transport: tr},
		base: ts.URL + srv.BasePath(),
	}
}

// call describes one request.
type call struct {
	method  string
	path    string // relative to the base path, query included
	body    any    // marshalled to JSON unless raw is set
	raw     string // sent verbatim
	token   string // default agentToken; "-" sends none
	header  map[string]string
	invalid bool // the request breaks the contract on purpose
}

// response is a fully read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.body, &v), "body: %s", r.body)
	return v
}

// errCode returns the error code of an error answer.
func (r response) errCode(t *testing.T) string {
	t.Helper()
	e, ok := r.decode(t)["error"].(map[string]any)
	require.True(t, ok, "not an error body: %s", r.body)
	code, _ := e["code"].(string)
	return code
}

// details returns the details of an error answer as field → message.
func (r response) details(t *testing.T) map[string]string {
	t.Helper()
	e, _ := r.decode(t)["error"].(map[string]any)
	out := map[string]string{}
	ds, _ := e["details"].([]any)
	for _, d := range ds {
		m := d.(map[string]any)
		out[m["field"].(string)] = m["message"].(string)
	}
	return out
}

func (h *harness) do(c call) response {
	h.t.Helper()
	resp, err := h.send(c)
	require.NoError(h.t, err)
	return resp
}

// doErr sends a request whose transport is expected to fail.
func (h *harness) doErr(c call) error {
	h.t.Helper()
	_, err := h.send(c)
	return err
}

func (h *harness) send(c call) (response, error) {
	h.t.Helper()
	var body io.Reader
	switch {
	case c.raw != "":
		body = strings.NewReader(c.raw)
	case c.body != nil:
		b, err := json.Marshal(c.body)
		require.NoError(h.t, err)
		body = bytes.NewReader(b)
	}
	ctx := context.Background()
	if c.invalid {
		ctx = contract.ExpectInvalidRequest(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, h.base+c.path, body)
	require.NoError(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.token {
	case "":
		req.Header.Set("Authorization", "Bearer "+agentToken)
	case "-":
	default:
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (h *harness) get(path string) response {
	h.t.Helper()
	return h.do(call{method: http.MethodGet, path: path})
}

func (h *harness) post(path string, body any) response {
	h.t.Helper()
	return h.do(call{method: http.MethodPost, path: path, body: body})
}

func (h *harness) patch(path string, body any) response {
	h.t.Helper()
	return h.do(call{method: http.MethodPatch, path: path, body: body})
}

// mustCreate creates a record through the API and returns its JSON.
func (h *harness) mustCreate(path string, body any) map[string]any {
	h.t.Helper()
	r := h.post(path, body)
	require.Equal(h.t, http.StatusCreated, r.status, "body: %s", r.body)
	return r.decode(h.t)
}
