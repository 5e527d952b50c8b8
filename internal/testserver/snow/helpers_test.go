package snow

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testOrigin is the instance URL tests talk to, in process.
const testOrigin = "https://dev00000.service-now.com"

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// newFake builds a fake on a manual clock at t0, with rows in insertion
// order unless a test asks otherwise.
func newFake(t testing.TB, opts ...Option) (*Server, *testserver.ManualClock) {
	t.Helper()
	clk := testserver.NewManualClock(t0)
	s, err := New(append([]Option{WithClock(clk), WithOrdering(OrderInsertion)}, opts...)...)
	require.NoError(t, err)
	return s, clk
}

type reqOpt func(*http.Request)

func basic(user, pass string) reqOpt { return func(r *http.Request) { r.SetBasicAuth(user, pass) } }

func bearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func noAuth() reqOpt { return func(r *http.Request) { r.Header.Del("Authorization") } }

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request to the fake in process. body may be nil, a string,
// []byte or any value marshalled as JSON.
func do(t testing.TB, s *Server, method, path string, body any, opts ...reqOpt) *resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, testOrigin+path, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth("admin", "admin")
	for _, o := range opts {
		o(req)
	}
	res, err := (&http.Client{Transport: s.Transport()}).Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return &resp{status: res.StatusCode, header: res.Header, body: raw}
}

func (r *resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// list returns the result array of a list answer.
func (r *resp) list(t testing.TB) []map[string]any {
	t.Helper()
	var env struct {
		Result []map[string]any `json:"result"`
	}
	require.NoError(t, json.Unmarshal(r.body, &env), "body: %s", r.body)
	return env.Result
}

// obj returns the result object of a single-record answer.
func (r *resp) obj(t testing.TB) map[string]any {
	t.Helper()
	var env struct {
		Result map[string]any `json:"result"`
	}
	require.NoError(t, json.Unmarshal(r.body, &env), "body: %s", r.body)
	return env.Result
}

// ids returns one column of a list answer.
func (r *resp) col(t testing.TB, name string) []string {
	t.Helper()
	var out []string
	for _, row := range r.list(t) {
		v, _ := row[name].(string)
		out = append(out, v)
	}
	return out
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

// testdataHeaders reads a captured header file: "Name: value" lines after
// a "#" comment.
func testdataHeaders(t testing.TB, name string) http.Header {
	t.Helper()
	h := http.Header{}
	for _, line := range strings.Split(string(readTestdata(t, name)), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		require.True(t, ok, "header line %q", line)
		h.Add(k, v)
	}
	return h
}

func mustSeed(t testing.TB, s *Server, table string, rows ...map[string]any) []string {
	t.Helper()
	ids, err := s.Seed(table, rows...)
	require.NoError(t, err)
	return ids
}

func mustUser(t testing.TB, s *Server, u User) Record {
	t.Helper()
	r, err := s.AddUser(u)
	require.NoError(t, err)
	return r
}
