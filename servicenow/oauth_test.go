package servicenow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// tokenServer is a scripted /oauth_token.do plus a table endpoint that
// accepts only the current access token.
type tokenServer struct {
	mu        sync.Mutex
	grants    []string // grant_type of every token request
	current   string   // the access token the API accepts
	refresh   string   // the refresh token the endpoint accepts
	n         int
	expiresIn int
	refuse    map[string]bool // grant types to refuse
	apiCalls  atomic.Int32
	apiTokens []string
}

func newTokenServer(t *testing.T, mux *http.ServeMux) *tokenServer {
	ts := &tokenServer{expiresIn: 1799, refresh: "rt-initial-0000", refuse: map[string]bool{}}
	mux.HandleFunc("/oauth_token.do", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
		ts.mu.Lock()
		defer ts.mu.Unlock()
		grant := r.PostForm.Get("grant_type")
		ts.grants = append(ts.grants, grant)
		ok := r.PostForm.Get("client_id") == "cid" && r.PostForm.Get("client_secret") == "client-secret-xyz" && !ts.refuse[grant]
		switch grant {
		case "password":
			ok = ok && r.PostForm.Get("username") == "svc" && r.PostForm.Get("password") == "user-pass-123"
		case "refresh_token":
			ok = ok && r.PostForm.Get("refresh_token") == ts.refresh
		default:
			ok = false
		}
		if !ok {
			writeJSON(w, 401, `{"error_description":"access_denied","error":"server_error"}`)
			return
		}
		ts.n++
		ts.current = fmt.Sprintf("at-%04d-%s", ts.n, strings.Repeat("x", 20))
		body := fmt.Sprintf(`{"access_token":%q,"scope":"useraccount","token_type":"Bearer","expires_in":%d`, ts.current, ts.expiresIn)
		if grant == "password" {
			ts.refresh = fmt.Sprintf("rt-%04d-%s", ts.n, strings.Repeat("y", 20))
			body += fmt.Sprintf(`,"refresh_token":%q`, ts.refresh)
		}
		writeJSON(w, 200, body+"}")
	})
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		ts.apiCalls.Add(1)
		ts.mu.Lock()
		cur := ts.current
		ts.apiTokens = append(ts.apiTokens, r.Header.Get("Authorization"))
		ts.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+cur {
			w.Header().Set("WWW-Authenticate", `BASIC realm="Service-now"`)
			writeJSON(w, 401, `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`)
			return
		}
		writeJSON(w, 200, `{"result":[]}`)
	})
	return ts
}

func (ts *tokenServer) grantList() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.grants...)
}

func oauthCfg() OAuthConfig {
	return OAuthConfig{ClientID: "cid", ClientSecret: "client-secret-xyz", Username: "svc", Password: "user-pass-123"}
}

func list(c *Client) error {
	_, _, err := c.Table("incident").List(context.Background(), &ListOptions{Limit: 1})
	return err
}

func TestOAuthPasswordGrantThenReuse(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithOAuth(oauthCfg()))
	ts := newTokenServer(t, mux)
	for range 3 {
		require.NoError(t, list(c))
	}
	assert.Equal(t, []string{"password"}, ts.grantList(), "one grant, the token is reused")
}

func TestOAuthOneRefreshForManyGoroutines(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithOAuth(oauthCfg()))
	ts := newTokenServer(t, mux)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, list(c))
		}()
	}
	wg.Wait()
	assert.Equal(t, []string{"password"}, ts.grantList())
}

func TestOAuthRefreshesAnExpiredToken(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithOAuth(oauthCfg()))
	ts := newTokenServer(t, mux)
	ts.expiresIn = 1 // under the refresh margin: every call refreshes
	require.NoError(t, list(c))
	require.NoError(t, list(c))
	assert.Equal(t, []string{"password", "refresh_token"}, ts.grantList())
	assert.Equal(t, "Bearer at-0002-"+strings.Repeat("x", 20), ts.apiTokens[1])
}

func TestOAuth401ForcesOneRefresh(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithOAuth(oauthCfg()))
	ts := newTokenServer(t, mux)
	require.NoError(t, list(c))
	ts.mu.Lock()
	ts.current = "revoked-by-an-admin" // the instance no longer accepts our token
	ts.mu.Unlock()
	require.NoError(t, list(c))
	assert.Equal(t, []string{"password", "refresh_token"}, ts.grantList())
	assert.Equal(t, int32(3), ts.apiCalls.Load(), "one refused call, one retry with the new token")
}

func TestOAuthFallsBackToPasswordWhenRefreshIsRefused(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithOAuth(oauthCfg()))
	ts := newTokenServer(t, mux)
	ts.expiresIn = 1
	require.NoError(t, list(c))
	ts.mu.Lock()
	ts.refuse["refresh_token"] = true
	ts.mu.Unlock()
	require.NoError(t, list(c))
	assert.Equal(t, []string{"password", "refresh_token", "password"}, ts.grantList())
}

func TestOAuthStartsFromAStoredRefreshToken(t *testing.T) {
	t.Parallel()
	store := NewFileTokenStore(filepath.Join(t.TempDir(), "token.json"))
	cfg := OAuthConfig{ClientID: "cid", ClientSecret: "client-secret-xyz", RefreshToken: "rt-initial-0000", TokenStore: store}
	c, mux := setup(t, WithOAuth(cfg))
	ts := newTokenServer(t, mux)
	require.NoError(t, list(c))
	assert.Equal(t, []string{"refresh_token"}, ts.grantList())
	saved, err := store.LoadToken(context.Background())
	require.NoError(t, err)
	require.NotNil(t, saved)
	assert.Equal(t, "at-0001-"+strings.Repeat("x", 20), saved.AccessToken)
	assert.Equal(t, "rt-initial-0000", saved.RefreshToken, "a refresh answer without refresh_token keeps the old one")

	// A second client (a restart) starts from the store: its access token is
	// still valid, so no grant at all.
	c2, err := NewClient(c.InstanceURL(), WithOAuth(OAuthConfig{ClientID: "cid", ClientSecret: "client-secret-xyz", TokenStore: store}))
	require.NoError(t, err)
	require.NoError(t, list(c2))
	assert.Equal(t, []string{"refresh_token"}, ts.grantList())
}

func TestOAuthFailureExplainsWhatToCheck(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	cfg := oauthCfg()
	cfg.ClientSecret = "wrong-secret-999"
	c, mux := setup(t, WithOAuth(cfg), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ts := newTokenServer(t, mux)
	err := list(c)
	var oe *OAuthError
	require.ErrorAs(t, err, &oe)
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.Equal(t, []string{"password"}, ts.grantList(), "a refused grant is not retried")
	assert.Zero(t, ts.apiCalls.Load())
	assert.Equal(t, 401, oe.StatusCode)
	assert.Equal(t, "server_error", oe.Code)
	assert.Equal(t, "access_denied", oe.Description)
	assert.Contains(t, err.Error(), "client ID and secret in System OAuth > Application Registry")
	for _, s := range []string{err.Error(), logs.String()} {
		assert.NotContains(t, s, "wrong-secret-999")
		assert.NotContains(t, s, "user-pass-123")
	}

	refreshOnly := OAuthConfig{ClientID: "cid", ClientSecret: "client-secret-xyz", RefreshToken: "rt-expired-777777"}
	c2, mux2 := setup(t, WithOAuth(refreshOnly))
	newTokenServer(t, mux2)
	err = list(c2)
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "refresh_token", oe.Grant)
	assert.Contains(t, err.Error(), "refresh token may have expired")
	assert.Contains(t, err.Error(), "100 days")
	assert.NotContains(t, err.Error(), "rt-expired-777777")
}

func TestOAuthOnAHibernatingInstance(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithOAuth(oauthCfg()))
	mux.HandleFunc("/oauth_token.do", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(testdata(t, "hibernating.html"))
	})
	err := list(c)
	require.ErrorIs(t, err, ErrInstanceUnavailable)
	assert.False(t, errors.Is(err, ErrUnauthorized), "not a credentials problem")
	assert.Contains(t, err.Error(), "Instance Hibernating page")
}

func TestWithTokenSource(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "static-token-abcdef", Expiry: time.Now().Add(time.Hour)})))
	var got string
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		writeJSON(w, 401, `{"error":{"message":"User Not Authenticated static-token-abcdef","detail":"Required to provide Auth information"},"status":"failure"}`)
	})
	err := list(c)
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.Equal(t, "Bearer static-token-abcdef", got)
	assert.NotContains(t, err.Error(), "static-token-abcdef", "an echoed token is redacted")
}
