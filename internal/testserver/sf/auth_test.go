package sf

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	require.NoError(t, h.srv.AddToken("tok-short", "temp", RoleAgent))
	require.NoError(t, h.srv.ExpireToken("tok-short", t0.Add(time.Hour)))

	cases := []struct {
		name   string
		header map[string]string
		token  string
		want   string // part of the message
	}{
		{"no Authorization header", nil, "-", "missing Authorization header"},
		{"a Basic header", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, "-", "malformed Authorization header"},
		{"an unknown token", nil, "tok-nobody", "unknown bearer token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(call{method: http.MethodGet, path: "/incidents", token: tc.token, header: tc.header, invalid: true})
			require.Equal(t, http.StatusUnauthorized, r.status)
			assert.Equal(t, CodeUnauthorized, r.errCode(t))
			assert.Contains(t, string(r.body), tc.want)
			assert.Contains(t, r.header.Get("WWW-Authenticate"), `Bearer realm="stackflow"`)
		})
	}

	assert.Equal(t, http.StatusOK, h.do(call{method: http.MethodGet, path: "/incidents", token: "tok-short"}).status)
	h.clock.Advance(time.Hour)
	expired := h.do(call{method: http.MethodGet, path: "/incidents", token: "tok-short"})
	require.Equal(t, http.StatusUnauthorized, expired.status, "a token expires on the server's clock")
	assert.Contains(t, string(expired.body), "expired")

	h.srv.RemoveToken(agentToken)
	assert.Equal(t, http.StatusUnauthorized, h.get("/incidents").status, "a removed token is unknown")

	assert.Error(t, h.srv.AddToken("has space", "x"), "tokens cannot contain white space")
	assert.Error(t, h.srv.AddToken("tok", ""), "a token needs a subject")
	assert.Error(t, h.srv.AddToken("tok", "x", "root"), "roles are checked")
}

func TestRateLimitHeadersAnd429(t *testing.T) {
	h := newHarness(t, WithRateLimit(3, time.Minute))
	reset := strconv.FormatInt(t0.Truncate(time.Minute).Add(time.Minute).Unix(), 10)
	for i := range 3 {
		r := h.get("/incidents")
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "3", r.header.Get("X-RateLimit-Limit"))
		assert.Equal(t, strconv.Itoa(2-i), r.header.Get("X-RateLimit-Remaining"))
		assert.Equal(t, reset, r.header.Get("X-RateLimit-Reset"))
	}
	r := h.get("/incidents")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, CodeRateLimited, r.errCode(t))
	assert.Equal(t, "55", r.header.Get("Retry-After"), "seconds until the window resets (17:04:05.123 → 17:05:00)")
	assert.Equal(t, "0", r.header.Get("X-RateLimit-Remaining"))

	other := h.do(call{method: http.MethodGet, path: "/incidents", token: adminToken})
	assert.Equal(t, http.StatusOK, other.status, "limits are per token")

	h.clock.Advance(time.Minute)
	assert.Equal(t, http.StatusOK, h.get("/incidents").status, "a new window starts")
}

func TestFaultsAreInjected(t *testing.T) {
	h := newHarness(t)
	h.srv.Faults().Add(h.srv.ErrorFault(http.MethodGet, "/incidents", http.StatusServiceUnavailable, 2))
	for range 2 {
		r := h.get("/incidents")
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		assert.Equal(t, CodeUnavailable, r.errCode(t))
		assert.Equal(t, "1", r.header.Get("Retry-After"))
	}
	assert.Equal(t, http.StatusOK, h.get("/incidents").status, "the fault fired twice, then stopped")

	// A POST whose write happens but whose answer is delayed past the
	// client's patience.
	h.srv.Faults().Add(testserver.Fault{Method: http.MethodPost, Path: h.srv.BasePath() + "/incidents", Kind: testserver.FaultReset})
	err := h.doErr(call{method: http.MethodPost, path: "/incidents", body: map[string]any{"title": "lost"}})
	require.Error(t, err)
	n, err := h.srv.Count(Incidents, true)
	require.NoError(t, err)
	assert.Zero(t, n, "a reset before the handler writes nothing")

	log := h.srv.Log().Requests()
	require.NotEmpty(t, log)
	assert.Equal(t, "reset", log[len(log)-1].Fault, "the request log records the fault")
	assert.Equal(t, 3, h.srv.Log().Count(func(r testserver.LoggedRequest) bool { return r.Fault != "" }))
}
