package snow

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRateLimitRules(t *testing.T) {
	s, clk := newFake(t,
		WithRateLimit(RateLimitRule{User: "u1", Limit: 3, Window: time.Minute}),
		WithRateLimit(RateLimitRule{Role: "itil", Limit: 5, Window: time.Minute}),
		WithRateLimit(RateLimitRule{Role: "rest_api_explorer", Limit: 2, Window: time.Minute}),
		WithRateLimit(RateLimitRule{API: "table", Table: "problem", Limit: 1, Window: time.Minute}),
	)
	clk.Set(time.Date(2026, 3, 2, 10, 0, 20, 0, time.UTC))
	mustUser(t, s, User{UserName: "u1", Password: "pw", Roles: []string{"itil"}})
	mustUser(t, s, User{UserName: "u2", Password: "pw", Roles: []string{"itil"}})
	mustUser(t, s, User{UserName: "u3", Password: "pw", Roles: []string{"itil", "rest_api_explorer"}})
	mustUser(t, s, User{UserName: "u4", Password: "pw"})
	get := func(user, table string) *resp {
		return do(t, s, "GET", "/api/now/table/"+table, nil, basic(user, "pw"))
	}
	hits := func(user, table string) int {
		n := 0
		for i := 0; i < 10 && get(user, table).status == 200; i++ {
			n++
		}
		return n
	}

	t.Run("a user rule beats role rules", func(t *testing.T) { assert.Equal(t, 3, hits("u1", "incident")) })
	t.Run("a role rule applies to its holders", func(t *testing.T) { assert.Equal(t, 5, hits("u2", "incident")) })
	t.Run("among role rules the lowest limit wins", func(t *testing.T) { assert.Equal(t, 2, hits("u3", "incident")) })
	t.Run("a table rule applies to that table only", func(t *testing.T) { assert.Equal(t, 1, hits("u4", "problem")) })

	t.Run("the 429 carries Retry-After until the window resets", func(t *testing.T) {
		r := get("u1", "incident")
		require.Equal(t, http.StatusTooManyRequests, r.status)
		assert.Equal(t, "40", r.header.Get("Retry-After"), "seconds to the end of the minute window")
		assert.Equal(t, strconv.FormatInt(time.Date(2026, 3, 2, 10, 1, 0, 0, time.UTC).Unix(), 10), r.header.Get("X-RateLimit-Reset"))
		assert.JSONEq(t, `{"error":{"message":"Rate limit exceeded","detail":"Rate limit of 3 requests per hour for Table API exceeded"},"status":"failure"}`, string(r.body))
		clk.Advance(40 * time.Second)
		ok := get("u1", "incident")
		assert.Equal(t, http.StatusOK, ok.status)
		assert.Equal(t, "3", ok.header.Get("X-RateLimit-Limit"), "headers on every matching answer")
		assert.NotEmpty(t, ok.header.Get("X-RateLimit-Rule"))
	})
	t.Run("no headers when no rule matches", func(t *testing.T) {
		r := get("u4", "incident")
		assert.Equal(t, http.StatusOK, r.status)
		assert.Empty(t, r.header.Get("X-RateLimit-Limit"))
	})
	t.Run("unauthenticated requests do not count", func(t *testing.T) {
		s.ClearRateLimits()
		require.NoError(t, s.AddRateLimit(RateLimitRule{User: "u2", Limit: 1}))
		for i := 0; i < 3; i++ {
			assert.Equal(t, 401, do(t, s, "GET", "/api/now/table/incident", nil, basic("u2", "bad")).status)
		}
		assert.Equal(t, 200, get("u2", "incident").status)
		r := get("u2", "incident")
		assert.Equal(t, 429, r.status)
		assert.Equal(t, "1", r.header.Get("X-RateLimit-Limit"))
	})
	t.Run("invalid rules are refused", func(t *testing.T) {
		assert.Error(t, s.AddRateLimit(RateLimitRule{Limit: 0}))
		assert.Error(t, s.AddRateLimit(RateLimitRule{Limit: 1, User: "a", Role: "b"}))
	})
}

func TestFaults(t *testing.T) {
	t.Run("a status fault answers once, then the real handler", func(t *testing.T) {
		s, _ := newFake(t)
		s.Faults().Add(ErrorFault(http.StatusServiceUnavailable, "Service Unavailable", "maintenance"))
		r := do(t, s, "GET", "/api/now/table/incident", nil)
		assert.Equal(t, http.StatusServiceUnavailable, r.status)
		assert.JSONEq(t, `{"error":{"message":"Service Unavailable","detail":"maintenance"},"status":"failure"}`, string(r.body))
		assert.Equal(t, http.StatusOK, do(t, s, "GET", "/api/now/table/incident", nil).status)
		assert.Equal(t, 1, s.Log().Count(func(l testserver.LoggedRequest) bool { return l.Fault == "status" }))
	})
	t.Run("a 429 fault has the rate limit headers", func(t *testing.T) {
		s, _ := newFake(t)
		s.Faults().Add(RateLimitedFault(30*time.Second, 100, t0.Add(time.Hour)))
		r := do(t, s, "GET", "/api/now/table/incident", nil)
		assert.Equal(t, http.StatusTooManyRequests, r.status)
		assert.Equal(t, "30", r.header.Get("Retry-After"))
		assert.Equal(t, "100", r.header.Get("X-RateLimit-Limit"))
	})
	t.Run("a reset before the write loses nothing", func(t *testing.T) {
		s, _ := newFake(t)
		s.Faults().Add(testserver.Fault{Method: "POST", Kind: testserver.FaultReset})
		_, err := postRaw(s, `{"short_description":"x"}`)
		require.Error(t, err)
		assert.Equal(t, 0, s.Count("incident"))
	})
	t.Run("a reset after the write leaves an ambiguous POST", func(t *testing.T) {
		s, _ := newFake(t)
		s.Faults().Add(testserver.Fault{Method: "POST", Kind: testserver.FaultResetAfterWrite})
		_, err := postRaw(s, `{"short_description":"x"}`)
		require.Error(t, err)
		assert.Equal(t, 1, s.Count("incident"), "the record was created although the client saw an error")
	})
	t.Run("a delayed answer is cut by the client's deadline", func(t *testing.T) {
		s, _ := newFake(t)
		s.Faults().Add(testserver.Fault{Kind: testserver.FaultDelay, Delay: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", testOrigin+"/api/now/table/incident", nil)
		req.SetBasicAuth("admin", "admin")
		_, err := (&http.Client{Transport: s.Transport()}).Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("transaction cancelled mid-body", func(t *testing.T) {
		s, _ := newFake(t)
		seedIncidents(t, s, 20, nil)
		s.Faults().Add(TransactionCancelledFault(300))
		r := do(t, s, "GET", "/api/now/table/incident", nil)
		assert.Equal(t, http.StatusOK, r.status)
		assert.False(t, json.Valid(r.body), "the body does not parse")
		assert.True(t, strings.HasSuffix(string(r.body), TransactionCancelledSuffix))
		assert.Contains(t, string(r.body), "Transaction cancelled: maximum execution time exceeded")
		assert.Len(t, r.body, 300+len(TransactionCancelledSuffix))
	})
	t.Run("a hibernation fault on one path", func(t *testing.T) {
		s, _ := newFake(t)
		f := HibernatingFault()
		f.Path = "/api/now/table/problem"
		s.Faults().Add(f)
		r := do(t, s, "GET", "/api/now/table/problem", nil)
		assert.Equal(t, http.StatusOK, r.status)
		assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/html"))
		assert.Contains(t, string(r.body), "<title>Instance Hibernating page</title>")
		assert.Equal(t, "application/json;charset=UTF-8", do(t, s, "GET", "/api/now/table/incident", nil).header.Get("Content-Type"))
	})
	t.Run("hibernating the whole instance, oauth_token.do included", func(t *testing.T) {
		s, _ := authFake(t)
		s.Hibernate(true)
		for _, r := range []*resp{
			do(t, s, "GET", "/api/now/table/incident", nil),
			do(t, s, "GET", "/api/now/table/incident", nil, noAuth()),
			tokenReq(t, s, passwordForm("csecret", "pw")),
		} {
			assert.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, "text/html;charset=UTF-8", r.header.Get("Content-Type"))
			assert.Contains(t, string(r.body), "Instance Hibernating page")
		}
		s.Hibernate(false)
		assert.Equal(t, http.StatusOK, tokenReq(t, s, passwordForm("csecret", "pw")).status)
	})
}

func postRaw(s *Server, body string) (*http.Response, error) {
	req, _ := http.NewRequest("POST", testOrigin+"/api/now/table/incident", strings.NewReader(body))
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Transport: s.Transport()}).Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	if _, err := io.ReadAll(res.Body); err != nil {
		return nil, err
	}
	return res, nil
}

func TestOverTCP(t *testing.T) {
	s := NewTest(t, WithGzipResponses(true))
	mustSeed(t, s, "incident", map[string]any{"short_description": "over the wire"})

	t.Run("gzip answers when the client accepts them", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL()+"/api/now/table/incident", nil)
		req.SetBasicAuth("admin", "admin")
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := s.Client().Do(req)
		require.NoError(t, err)
		defer func() { _ = res.Body.Close() }()
		assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		assert.Equal(t, []byte{0x1f, 0x8b}, raw[:2])
	})
	t.Run("Go's transport decompresses transparently and links use the request's host", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL()+"/api/now/v2/table/incident?sysparm_fields=sys_domain", nil)
		req.SetBasicAuth("admin", "admin")
		res, err := s.Client().Do(req)
		require.NoError(t, err)
		defer func() { _ = res.Body.Close() }()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		assert.Contains(t, string(raw), `"link":"`+s.URL()+`/api/now/v2/table/sys_user_group/global"`)
	})
	t.Run("a reset drops the TCP connection", func(t *testing.T) {
		before := s.Count("incident")
		s.Faults().Add(testserver.Fault{Method: "POST", Kind: testserver.FaultReset})
		req, _ := http.NewRequest("POST", s.URL()+"/api/now/table/incident", strings.NewReader(`{"short_description":"lost"}`))
		req.SetBasicAuth("admin", "admin")
		req.Header.Set("Content-Type", "application/json")
		res, err := s.Client().Do(req)
		if err == nil {
			_ = res.Body.Close()
		}
		require.Error(t, err)
		assert.False(t, errors.Is(err, context.DeadlineExceeded))
		assert.Equal(t, before, s.Count("incident"))
	})
	t.Run("gzip-compressed request bodies are accepted", func(t *testing.T) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write([]byte(`{"short_description":"zipped"}`))
		require.NoError(t, zw.Close())
		req, _ := http.NewRequest("POST", s.URL()+"/api/now/table/incident", &zb)
		req.SetBasicAuth("admin", "admin")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		res, err := s.Client().Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusCreated, res.StatusCode)
		found := false
		for _, r := range s.Records("incident") {
			found = found || r["short_description"] == "zipped"
		}
		assert.True(t, found)
	})
}
