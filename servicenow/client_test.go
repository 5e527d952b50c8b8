package servicenow

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

func TestNewClientValidatesTheURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		url     string
		opts    []Option
		want    string // InstanceURL, when valid
		wantErr string
	}{
		{"an https instance", "https://acme.service-now.com", nil, "https://acme.service-now.com", ""},
		{"a trailing slash is fine", "https://acme.service-now.com/", nil, "https://acme.service-now.com", ""},
		{"plain http on loopback is fine", "http://127.0.0.1:8080", nil, "http://127.0.0.1:8080", ""},
		{"plain http on localhost is fine", "http://localhost:1234", nil, "http://localhost:1234", ""},
		{"plain http on ::1 is fine", "http://[::1]:1234", nil, "http://[::1]:1234", ""},
		{"plain http elsewhere is refused", "http://acme.service-now.com", nil, "", "use https"},
		{"plain http elsewhere with the test option", "http://fake.internal:80", []Option{WithInsecureHTTP()}, "http://fake.internal:80", ""},
		{"an empty URL", "", nil, "", "empty"},
		{"no host", "https://", nil, "", "no host"},
		{"a bare name", "acme", nil, "", "no host"},
		{"credentials in the URL", "https://admin:pw@acme.service-now.com", nil, "", "carries credentials"},
		{"credentials with '#' in the password", "https://admin:pw#s3cr3t@acme.service-now.com", nil, "", "carries credentials"},
		{"credentials with '/' in the password", "https://admin:pw/s3cr3t@acme.service-now.com", nil, "", "carries credentials"},
		{"credentials with '?' in the password", "https://admin:pw?s3cr3t@acme.service-now.com", nil, "", "carries credentials"},
		{"a path", "https://acme.service-now.com/api/now", nil, "", "has a path"},
		{"a query", "https://acme.service-now.com/?x=1", nil, "", "query or fragment"},
		{"another scheme", "ftp://acme.service-now.com", nil, "", "must start with https"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url, tc.opts...)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "pw@", "credentials are not echoed")
				assert.NotContains(t, err.Error(), "s3cr3t", "credentials are not echoed")
				assert.NotContains(t, err.Error(), ":pw", "credentials are not echoed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.InstanceURL())
		})
	}
}

func TestOptionsAreValidated(t *testing.T) {
	t.Parallel()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	cases := []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{"two auth methods", []Option{WithBasicAuth("u", "p"), WithTokenSource(ts)}, "choose one"},
		{"basic auth without password", []Option{WithBasicAuth("u", "")}, "password is empty"},
		{"basic auth without user", []Option{WithBasicAuth("", "p")}, "username is empty"},
		{"oauth without client secret", []Option{WithOAuth(OAuthConfig{ClientID: "id", Username: "u", Password: "p"})}, "ClientSecret"},
		{"oauth with a user but no password", []Option{WithOAuth(OAuthConfig{ClientID: "id", ClientSecret: "s", Username: "u"})}, "go together"},
		{"oauth with nothing to start from", []Option{WithOAuth(OAuthConfig{ClientID: "id", ClientSecret: "s"})}, "no way to get a first token"},
		{"nil token source", []Option{WithTokenSource(nil)}, "nil"},
		{"nil http client", []Option{WithHTTPClient(nil)}, "nil"},
		{"nil limiter", []Option{WithRateLimiter(nil)}, "nil"},
		{"negative retries", []Option{WithRetry(RetryPolicy{MaxRetries: -1})}, "negative"},
		{"max wait below min wait", []Option{WithRetry(RetryPolicy{MaxRetries: 1, WaitMin: time.Second, WaitMax: time.Millisecond})}, "below WaitMin"},
		{"an unknown API version", []Option{WithAPIVersion("v9")}, "v9"},
		{"a user agent with a newline", []Option{WithUserAgent("a\r\nX-Evil: 1")}, "line break"},
		{"a negative timeout", []Option{WithTimeout(-time.Second)}, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClient("https://acme.service-now.com", tc.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	_, err := NewClient("https://acme.service-now.com", WithBasicAuth("u", "p"), WithRateLimiter(rate.NewLimiter(1, 1)),
		WithLogger(nil), WithUserAgent("x/1"), WithAPIVersion(""), WithTimeout(0), WithOnRetry(nil), nil)
	require.NoError(t, err, "valid options and a nil option are accepted")
}

func TestClientNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	const pass, secret, refresh = "pa55-w0rd-xyz", "client-s3cret-abc", "refresh-t0ken-def"
	for _, opt := range []Option{
		WithBasicAuth("svc.sync", pass),
		WithOAuth(OAuthConfig{ClientID: "cid", ClientSecret: secret, Username: "svc.sync", Password: pass, RefreshToken: refresh}),
	} {
		c, err := NewClient("https://acme.service-now.com", opt)
		require.NoError(t, err)
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("client", "c", c, "cfg", OAuthConfig{ClientSecret: secret, Password: pass, RefreshToken: refresh})
		for _, s := range []string{c.String(), fmt.Sprintf("%v %+v", c, c), buf.String(),
			OAuthConfig{ClientSecret: secret, Password: pass, RefreshToken: refresh}.String(),
			fmt.Sprintf("%#v", OAuthConfig{ClientSecret: secret, Password: pass, RefreshToken: refresh})} {
			assert.NotContains(t, s, pass)
			assert.NotContains(t, s, secret)
			assert.NotContains(t, s, refresh)
		}
		assert.Contains(t, c.String(), "svc.sync")
	}
}

func TestServerTimeFollowsTheDateHeader(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	_, ok := c.ServerTime()
	assert.False(t, ok, "no answer yet")
	serverNow := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", serverNow.Format(http.TimeFormat))
		writeJSON(w, 200, `{"result":[]}`)
	})
	_, resp, err := c.Table("incident").List(ctx(t), nil)
	require.NoError(t, err)
	assert.Equal(t, serverNow, resp.ServerTime)
	got, ok := c.ServerTime()
	require.True(t, ok)
	assert.WithinDuration(t, serverNow, got, 2*time.Second, "the instance's clock, not ours")
}

func TestRequestsCarryTheRightHeaders(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithBasicAuth("svc", "pw-123456"), WithUserAgent("acme-sync/2"))
	var rec recorder
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, 201, `{"result":{"sys_id":"a"}}`)
	})
	_, _, err := c.Table("incident").Create(ctx(t), Fields{"short_description": "x"}, nil)
	require.NoError(t, err)
	r := rec.reqs[0]
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "acme-sync/2", r.Header.Get("User-Agent"))
	u, p, ok := r.BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "svc", u)
	assert.Equal(t, "pw-123456", p)
	assert.Empty(t, r.Header.Get("Cookie"), "no session cookies: ServiceNow serialises requests that share one")
}
