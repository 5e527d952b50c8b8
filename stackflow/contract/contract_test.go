package contract

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func load(t *testing.T) *Contract {
	t.Helper()
	c, err := Load()
	require.NoError(t, err)
	return c
}

// incident is a well-formed incident as the API serves it.
const incident = `{"id":"inc_01M8HHTC030000000000000000","number":"SF-INC-1001","source":"servicenow",
"external_id":"abc","external_number":"INC0010001","title":"Disk full","description":null,"state":"new",
"priority":2,"impact":null,"urgency":null,"category":null,"subcategory":null,"assignment_group":null,
"assignee":null,"reporter":null,"ci_id":null,"resolution_code":null,"resolution_notes":null,
"resolved_at":null,"closed_at":null,"attributes":{"u_tier":"gold"},"version":1,
"created_at":"2026-11-28T17:04:05.123Z","updated_at":"2026-11-28T17:04:05.123Z","updated_by":"sync-bot","deleted_at":null}`

func stdHeaders() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Request-Id", "req_1")
	h.Set("X-RateLimit-Limit", "100")
	h.Set("X-RateLimit-Remaining", "99")
	h.Set("X-RateLimit-Reset", "1795000000")
	return h
}

func request(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, "http://127.0.0.1:1234"+path, rd)
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer tok")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func response(status int, header http.Header, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

func TestTheDocumentLoadsAndValidates(t *testing.T) {
	c := load(t)
	doc := c.Doc()
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	for _, p := range []string{
		"/incidents", "/incidents/{id}", "/incidents/bulk-upsert", "/problems", "/changes", "/service-requests",
		"/cmdb/cis", "/cmdb/relationships/{id}", "/integrations/servicenow", "/integrations/servicenow/test",
		"/integrations/servicenow/sync-cmdb", "/integrations/servicenow/sync-incidents", "/integrations/servicenow/jobs/{job_id}",
	} {
		assert.NotNil(t, doc.Paths.Value(p), "path %s", p)
	}
	assert.NotNil(t, doc.Webhooks["recordEvent"], "the webhook is described")
	assert.Contains(t, doc.Components.SecuritySchemes, "bearerAuth")

	_, err := LoadData([]byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"))
	assert.ErrorContains(t, err, "want 3.1", "only OpenAPI 3.1 documents are accepted")
	_, err = LoadData([]byte("openapi: 3.1.0\ninfo: {title: t}\npaths: {}\n"))
	assert.Error(t, err, "an invalid document is refused")
}

func TestValidateRequestCatchesWrongRequests(t *testing.T) {
	c := load(t)
	noAuth := request(t, http.MethodGet, "/prod/api/incidents", "")
	noAuth.Header.Del("Authorization")
	cases := []struct {
		name string
		req  *http.Request
		want string // "" for a valid request
	}{
		{"the guide's lookup", request(t, http.MethodGet, "/prod/api/incidents?source=servicenow&external_id=SN_SYS_ID", ""), ""},
		{"a create at the root path", request(t, http.MethodPost, "/incidents", `{"title":"x","priority":2}`), ""},
		{"a bulk upsert", request(t, http.MethodPost, "/prod/api/cmdb/cis/bulk-upsert", `{"records":[{"source":"servicenow","external_id":"a","name":"n"}]}`), ""},
		{"an unknown path", request(t, http.MethodGet, "/prod/api/tickets", ""), "no matching operation"},
		{"a method the path lacks", request(t, http.MethodPut, "/prod/api/incidents", `{}`), "method not allowed"},
		{"no bearer token", noAuth, "Authorization"},
		{"an unknown body field", request(t, http.MethodPost, "/prod/api/incidents", `{"title":"x","colour":"red"}`), "colour"},
		{"a create without a title", request(t, http.MethodPost, "/prod/api/incidents", `{"priority":2}`), "title"},
		{"a priority out of range", request(t, http.MethodPatch, "/prod/api/incidents/inc_1", `{"priority":9}`), "maximum"},
		{"a limit above 1000", request(t, http.MethodGet, "/prod/api/incidents?limit=5000", ""), "limit"},
		{"a bulk upsert record without a key", request(t, http.MethodPost, "/prod/api/cmdb/cis/bulk-upsert", `{"records":[{"name":"n"}]}`), "external_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.ValidateRequest(tc.req)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	r := request(t, http.MethodPost, "/prod/api/incidents", `{"title":"x"}`)
	require.NoError(t, c.ValidateRequest(r))
	body, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, `{"title":"x"}`, string(body), "the body is restored for the real send")
}

func TestValidateResponseCatchesWrongShapes(t *testing.T) {
	c := load(t)
	get := request(t, http.MethodGet, "/prod/api/incidents/inc_01M8HHTC030000000000000000", "")
	withETag := func() http.Header { h := stdHeaders(); h.Set("ETag", `"1"`); return h }
	cases := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   string
	}{
		{"a well-formed record", 200, withETag(), incident, ""},
		{"a missing X-Request-Id", 200, func() http.Header { h := withETag(); h.Del("X-Request-Id"); return h }(), incident, "X-Request-Id"},
		{"a missing ETag", 200, stdHeaders(), incident, "ETag"},
		{"a non-numeric rate-limit header", 200, func() http.Header { h := withETag(); h.Set("X-RateLimit-Remaining", "lots"); return h }(), incident, "X-RateLimit-Remaining"},
		{"an undocumented field", 200, withETag(), strings.Replace(incident, `"title"`, `"colour":"red","title"`, 1), "colour"},
		{"a missing field", 200, withETag(), strings.Replace(incident, `"version":1,`, ``, 1), "version"},
		{"a priority sent as a string", 200, withETag(), strings.Replace(incident, `"priority":2`, `"priority":"2"`, 1), "priority"},
		{"a timestamp without milliseconds", 200, withETag(), strings.Replace(incident, `"created_at":"2026-11-28T17:04:05.123Z"`, `"created_at":"2026-11-28T17:04:05Z"`, 1), "created_at"},
		{"an unknown state", 200, withETag(), strings.Replace(incident, `"state":"new"`, `"state":"open"`, 1), "state"},
		{"an undocumented status", 418, stdHeaders(), `{}`, "status is not supported"},
		{"an error without request_id", 404, stdHeaders(), `{"error":{"code":"not_found","message":"no"}}`, "request_id"},
		{"an unknown error code", 404, stdHeaders(), `{"error":{"code":"gone","message":"no","request_id":"r"}}`, "code"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.ValidateResponse(get, response(tc.status, tc.header, tc.body))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	list := request(t, http.MethodGet, "/prod/api/incidents", "")
	ok := `{"data":[` + incident + `],"next_cursor":null,"has_more":false}`
	assert.NoError(t, c.ValidateResponse(list, response(200, stdHeaders(), ok)))
	assert.Error(t, c.ValidateResponse(list, response(200, stdHeaders(), `{"data":[],"has_more":false}`)), "next_cursor is required")

	bulk := request(t, http.MethodPost, "/prod/api/incidents/bulk-upsert", `{"records":[]}`)
	result := `{"results":[{"index":0,"id":"inc_1","status":"created","error":null,"record":` + incident + `}]}`
	assert.NoError(t, c.ValidateResponse(bulk, response(200, stdHeaders(), result)))
	extra := strings.Replace(result, `"status":"created"`, `"status":"created","warning":"x"`, 1)
	assert.ErrorContains(t, c.ValidateResponse(bulk, response(200, stdHeaders(), extra)), "warning", "bulk results are closed too")
	noRecord := strings.Replace(result, `,"record":`+incident, ``, 1)
	assert.ErrorContains(t, c.ValidateResponse(bulk, response(200, stdHeaders(), noRecord)), "record")

	rateLimited := response(429, stdHeaders(), `{"error":{"code":"rate_limited","message":"slow down","request_id":"r"}}`)
	assert.ErrorContains(t, c.ValidateResponse(list, rateLimited), "Retry-After", "a 429 needs Retry-After")
}

func TestTransportRecordsViolations(t *testing.T) {
	// A "server" that answers with a wrong shape and a missing header.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range stdHeaders() {
			w.Header()[k] = v
		}
		if strings.HasSuffix(r.URL.Path, "/incidents") {
			_, _ = io.WriteString(w, `{"data":"none","next_cursor":null,"has_more":false}`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no","request_id":"req_1"}}`)
	}))
	defer srv.Close()
	tr := NewTransport(load(t), srv.Client().Transport)
	client := &http.Client{Transport: tr}

	send := func(ctx context.Context, method, path, body string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.NotEmpty(t, data, "the caller still gets the body")
	}
	send(context.Background(), http.MethodGet, "/prod/api/incidents", "")
	send(ExpectInvalidRequest(context.Background()), http.MethodPost, "/prod/api/incidents/inc_1", `{}`)
	send(context.Background(), http.MethodGet, "/prod/api/problems/prb_1", "")

	vs := tr.Violations()
	require.Len(t, vs, 2, "%v", vs)
	assert.Equal(t, KindResponse, vs[0].Kind)
	assert.Equal(t, http.StatusOK, vs[0].Status)
	assert.Contains(t, vs[0].Err.Error(), "data")
	assert.Equal(t, KindRequest, vs[1].Kind)
	assert.True(t, vs[1].Expected)
	assert.Len(t, tr.Unexpected(), 1, "the marked request's violation is expected")
	assert.Contains(t, vs[0].String(), "response violation")

	tr.Reset()
	assert.Empty(t, tr.Violations())
}

func TestMiddlewareChecksServerTraffic(t *testing.T) {
	c := load(t)
	var rec Recorder
	h := c.Middleware(&rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"x"}`)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/prod/api/incidents", strings.NewReader(`{"title":"t"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the answer passes through")

	vs := rec.Violations()
	require.Len(t, vs, 1, "%v", vs)
	assert.Equal(t, KindResponse, vs[0].Kind)
	assert.Contains(t, vs[0].Err.Error(), `header "ETag" missing`)
}

func TestValidateWebhook(t *testing.T) {
	c := load(t)
	h := http.Header{}
	h.Set("X-StackFlow-Signature", "sha256="+strings.Repeat("ab", 32))
	h.Set("X-StackFlow-Timestamp", "1795000000")
	h.Set("X-StackFlow-Event", "incident.created")
	h.Set("X-StackFlow-Delivery", "whd_1")
	body := `{"event":"incident.created","module":"incidents","record":` + incident + `,"occurred_at":"2026-11-28T17:04:05.123Z"}`
	require.NoError(t, c.ValidateWebhook(h, []byte(body)))

	wrongModule := strings.Replace(body, `"module":"incidents"`, `"module":"problems"`, 1)
	assert.Error(t, c.ValidateWebhook(h, []byte(wrongModule)), "an incident is not a problem record")
	badEvent := strings.Replace(body, `"event":"incident.created"`, `"event":"incident.touched"`, 1)
	assert.Error(t, c.ValidateWebhook(h, []byte(badEvent)))
	noSig := h.Clone()
	noSig.Del("X-StackFlow-Signature")
	assert.ErrorContains(t, c.ValidateWebhook(noSig, []byte(body)), "X-StackFlow-Signature")
	badSig := h.Clone()
	badSig.Set("X-StackFlow-Signature", "md5=abc")
	assert.ErrorContains(t, c.ValidateWebhook(badSig, []byte(body)), "X-StackFlow-Signature")
	assert.ErrorContains(t, c.ValidateSchema("Nope", []byte(`{}`)), "no schema")
}

func TestConcurrentValidation(t *testing.T) {
	c := load(t)
	again, err := Load()
	require.NoError(t, err)
	assert.Same(t, c, again, "the document is read once")
	errs := make(chan error, 8)
	for range cap(errs) {
		get := request(t, http.MethodGet, "/prod/api/incidents/inc_1", "")
		h := stdHeaders()
		h.Set("ETag", `"1"`)
		go func() { errs <- c.ValidateResponse(get, response(200, h, incident)) }()
	}
	for range cap(errs) {
		assert.NoError(t, <-errs)
	}
}
