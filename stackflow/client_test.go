package stackflow

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

func TestNewClientValidatesTheBaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		url     string
		opts    []Option
		want    string // BaseURL, when valid
		wantErr string
	}{
		{"the guide's base URL", "https://acme.stackflow-tech.com/prod/api", nil, "https://acme.stackflow-tech.com/prod/api", ""},
		{"a trailing slash is fine", "https://acme.stackflow-tech.com/prod/api/", nil, "https://acme.stackflow-tech.com/prod/api", ""},
		{"surrounding space is trimmed", "  https://acme.stackflow-tech.com/dev/api ", nil, "https://acme.stackflow-tech.com/dev/api", ""},
		{"plain http on loopback is fine", "http://127.0.0.1:8080/prod/api", nil, "http://127.0.0.1:8080/prod/api", ""},
		{"plain http on localhost is fine", "http://localhost:1234/prod/api", nil, "http://localhost:1234/prod/api", ""},
		{"plain http elsewhere is refused", "http://acme.stackflow-tech.com/prod/api", nil, "", "use https"},
		{"plain http elsewhere with the test option", "http://fake.internal/prod/api", []Option{WithInsecureHTTP()}, "http://fake.internal/prod/api", ""},
		{"an empty URL", " ", nil, "", "empty"},
		{"no host", "https:///prod/api", nil, "", "no host"},
		{"a bare name", "acme", nil, "", "no host"},
		{"credentials in the URL", "https://admin:hunter22@acme.stackflow-tech.com/prod/api", nil, "", "carries credentials"},
		{"credentials with '#' in the password", "https://admin:hun#ter22@acme.stackflow-tech.com/prod/api", nil, "", "carries credentials"},
		{"credentials with '/' in the password", "https://admin:hun/ter22@acme.stackflow-tech.com/prod/api", nil, "", "carries credentials"},
		{"a query", "https://acme.stackflow-tech.com/prod/api?token=abc", nil, "", "query or fragment"},
		{"a fragment", "https://acme.stackflow-tech.com/prod/api#x", nil, "", "query or fragment"},
		{"another scheme", "ftp://acme.stackflow-tech.com/prod/api", nil, "", "must start with https"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url, append([]Option{WithToken(testToken)}, tc.opts...)...)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "hunter22", "credentials are not echoed")
				assert.NotContains(t, err.Error(), "ter22", "credentials are not echoed")
				assert.NotContains(t, err.Error(), ":hun", "credentials are not echoed")
				assert.NotContains(t, err.Error(), "token=abc", "secret query values are not echoed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.BaseURL())
		})
	}
}

func TestNewClientNeedsCredentials(t *testing.T) {
	t.Parallel()
	_, err := NewClient("https://acme.stackflow-tech.com/prod/api")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithToken")
}

func TestOptionsAreValidated(t *testing.T) {
	t.Parallel()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	cases := []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{"an empty token", []Option{WithToken(" ")}, "token is empty"},
		{"a token with a newline", []Option{WithToken("a\nb")}, "line break"},
		{"a token and a token source", []Option{WithToken("t"), WithTokenSource(ts)}, "choose one"},
		{"a token source and a token", []Option{WithTokenSource(ts), WithToken("t")}, "choose one"},
		{"a nil token source", []Option{WithTokenSource(nil)}, "nil"},
		{"a nil http client", []Option{WithToken("t"), WithHTTPClient(nil)}, "nil"},
		{"a nil limiter", []Option{WithToken("t"), WithRateLimiter(nil)}, "nil"},
		{"negative retries", []Option{WithToken("t"), WithRetry(RetryPolicy{MaxRetries: -1})}, "negative"},
		{"max wait below min wait", []Option{WithToken("t"), WithRetry(RetryPolicy{MaxRetries: 1, WaitMin: time.Second, WaitMax: time.Millisecond})}, "below WaitMin"},
		{"a user agent with a newline", []Option{WithToken("t"), WithUserAgent("a\r\nX-Evil: 1")}, "line break"},
		{"a negative timeout", []Option{WithToken("t"), WithTimeout(-time.Second)}, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClient("https://acme.stackflow-tech.com/prod/api", tc.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	_, err := NewClient("https://acme.stackflow-tech.com/prod/api", WithToken("t"), nil, WithLogger(nil),
		WithRateLimiter(rate.NewLimiter(10, 1)), WithOnRetry(nil), WithTimeout(0))
	assert.NoError(t, err, "nil options, a nil logger and a zero timeout are fine")
}

func TestClientNeverShowsTheToken(t *testing.T) {
	t.Parallel()
	const secret = "sf_live_7d1e0c5b9a"
	c, err := NewClient("https://acme.stackflow-tech.com/prod/api", WithToken(secret))
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("client", "c", c)
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v", c, c), logs.String()} {
		assert.NotContains(t, s, secret)
		assert.Contains(t, s, "https://acme.stackflow-tech.com/prod/api")
	}
}

func TestRequestsCarryTheTokenAndHeaders(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithUserAgent("sync-daemon/2"))
	var rec recorder
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		w.Header().Set("Date", "Sat, 28 Nov 2026 17:04:05 GMT")
		w.Header().Set("ETag", `"4"`)
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, incidentJSON)
	})
	_, ok := c.ServerTime()
	assert.False(t, ok, "no server time before any answer")
	_, resp, err := c.Incidents.Get(ctxT(t), "inc_1")
	require.NoError(t, err)
	req, _ := rec.get(0)
	assert.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
	assert.Equal(t, "sync-daemon/2", req.Header.Get("User-Agent"))
	assert.Equal(t, "application/json", req.Header.Get("Accept"))

	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, `^req_\d+$`, resp.RequestID)
	assert.Equal(t, RateLimit{Limit: 1000, Remaining: 998, Reset: time.Unix(1795885200, 0).UTC()}, resp.RateLimit)
	assert.Equal(t, time.Date(2026, 11, 28, 17, 4, 5, 0, time.UTC), resp.ServerTime)
	assert.Equal(t, `"4"`, resp.ETag)
	assert.True(t, resp.Replayed)
	st, ok := c.ServerTime()
	require.True(t, ok)
	assert.False(t, st.Before(resp.ServerTime), "the estimate starts at the Date header")
}

// refreshingSource hands out tok-1, then tok-2 once tok-1 was invalidated.
type refreshingSource struct {
	mu          sync.Mutex
	current     string
	invalidated []string
}

func (s *refreshingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &oauth2.Token{AccessToken: s.current, TokenType: "Bearer"}, nil
}

func (s *refreshingSource) Invalidate(tok *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, tok.AccessToken)
	s.current = "tok-2-fresh"
}

func TestATokenSourceIsRefreshedOnceAfterA401(t *testing.T) {
	t.Parallel()
	srv, mux := serve(t)
	ts := &refreshingSource{current: "tok-1-expired"}
	c, err := NewClient(srv.URL+"/prod/api", WithTokenSource(ts), fastRetry, WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	var seen []string
	var mu sync.Mutex
	mux.HandleFunc("POST /incidents", func(w http.ResponseWriter, r *http.Request) {
		var rec recorder
		body := rec.add(r)
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+" "+body)
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok-2-fresh" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stackflow"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "token tok-1-expired expired")
			return
		}
		writeJSON(w, http.StatusCreated, incidentJSON)
	})
	_, _, err = c.Incidents.Create(ctxT(t), IncidentInput{Title: Ptr("t")}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{`Bearer tok-1-expired {"title":"t"}`, `Bearer tok-2-fresh {"title":"t"}`}, seen,
		"the refused token is invalidated and the same body is sent once more with the fresh one")
	assert.Equal(t, []string{"tok-1-expired"}, ts.invalidated)
}

func TestTokensAreRedactedFromErrors(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "token "+testToken+" is expired")
	})
	_, _, err := c.Incidents.Get(ctxT(t), "inc_1")
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.NotContains(t, err.Error(), testToken)
	assert.Contains(t, err.Error(), "REDACTED")
	assert.Contains(t, err.Error(), "check the StackFlow token")
}

func TestRedirectsToAnotherHostAreRefused(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		writeJSON(w, http.StatusOK, incidentJSON)
	}))
	t.Cleanup(other.Close)
	c, mux := setup(t)
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/steal", http.StatusFound)
	})
	_, _, err := c.Incidents.Get(ctxT(t), "inc_1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another host")
	assert.Zero(t, leaked.Load(), "the token never reaches the other host")
}
