package snow

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tokenReq(t *testing.T, s *Server, form url.Values, opts ...reqOpt) *resp {
	t.Helper()
	return do(t, s, "POST", "/oauth_token.do", form.Encode(),
		append([]reqOpt{noAuth(), header("Content-Type", "application/x-www-form-urlencoded")}, opts...)...)
}

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

func grant(t *testing.T, r *resp) (tokenBody, map[string]any) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var tb tokenBody
	require.NoError(t, json.Unmarshal(r.body, &tb))
	return tb, r.json(t)
}

func passwordForm(secret, pass string) url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {"cid"}, "client_secret": {secret},
		"username": {"integration"}, "password": {pass}}
}

func authFake(t *testing.T, opts ...Option) (*Server, func(time.Duration)) {
	t.Helper()
	s, clk := newFake(t, append([]Option{
		WithOAuthClient(OAuthClient{ClientID: "cid", ClientSecret: "csecret"}),
		WithOAuthClient(OAuthClient{ClientID: "short", ClientSecret: "s2", AccessTokenLifespan: time.Minute, RefreshTokenLifespan: time.Hour, User: "integration"}),
		WithUser(User{UserName: "integration", Password: "pw", FirstName: "Sync", LastName: "Bot", Roles: []string{"itil", "rest_api_explorer"}}),
	}, opts...)...)
	return s, func(d time.Duration) { clk.Advance(d) }
}

func TestBasicAuth(t *testing.T) {
	s, _ := authFake(t)
	mustUser(t, s, User{UserName: "gone", Password: "pw", Inactive: true})
	mustUser(t, s, User{UserName: "locked", Password: "pw", LockedOut: true})
	cases := []struct {
		name   string
		opt    reqOpt
		status int
	}{
		{"right password", basic("integration", "pw"), 200},
		{"wrong password", basic("integration", "nope"), 401},
		{"unknown user", basic("nobody", "pw"), 401},
		{"inactive user", basic("gone", "pw"), 401},
		{"locked-out user", basic("locked", "pw"), 401},
		{"garbage bearer token", bearer("not-a-token"), 401},
		{"unknown scheme", header("Authorization", "Digest abc"), 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, "GET", "/api/now/table/incident?sysparm_limit=1", nil, tc.opt)
			assert.Equal(t, tc.status, r.status)
			if tc.status == 401 {
				assert.Equal(t, `BASIC realm="Service-now"`, r.header.Get("WWW-Authenticate"))
			} else {
				assert.Equal(t, "true", r.header.Get("X-Is-Logged-In"))
			}
		})
	}
}

func TestOAuthPasswordGrantAndExpiry(t *testing.T) {
	s, advance := authFake(t)
	tb, _ := grant(t, tokenReq(t, s, passwordForm("csecret", "pw")))
	assert.Equal(t, 1799, tb.ExpiresIn)

	me := do(t, s, "GET", "/api/now/ui/user/current_user", nil, bearer(tb.AccessToken))
	require.Equal(t, http.StatusOK, me.status)
	assert.Equal(t, "integration", me.obj(t)["user_name"])
	assert.Equal(t, "Sync Bot", me.obj(t)["user_display_name"])

	advance(1799 * time.Second)
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/api/now/table/incident", nil, bearer(tb.AccessToken)).status, "valid until its lifespan ends")
	advance(time.Second)
	r := do(t, s, "GET", "/api/now/table/incident", nil, bearer(tb.AccessToken))
	assert.Equal(t, http.StatusUnauthorized, r.status, "expired on the fake clock")
	assert.Equal(t, `BASIC realm="Service-now"`, r.header.Get("WWW-Authenticate"))

	t.Run("lifespans are per client", func(t *testing.T) {
		tb, _ := grant(t, tokenReq(t, s, url.Values{"grant_type": {"password"}, "client_id": {"short"}, "client_secret": {"s2"},
			"username": {"integration"}, "password": {"pw"}}))
		assert.Equal(t, 59, tb.ExpiresIn)
	})
	t.Run("client credentials in a Basic header work too", func(t *testing.T) {
		r := tokenReq(t, s, url.Values{"grant_type": {"password"}, "username": {"integration"}, "password": {"pw"}}, basic("cid", "csecret"))
		assert.Equal(t, http.StatusOK, r.status)
	})
}

func TestOAuthRefreshGrant(t *testing.T) {
	s, advance := authFake(t)
	first, _ := grant(t, tokenReq(t, s, passwordForm("csecret", "pw")))
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {"cid"}, "client_secret": {"csecret"}, "refresh_token": {first.RefreshToken}}

	advance(time.Hour)
	second, raw := grant(t, tokenReq(t, s, refresh))
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
	assert.NotContains(t, raw, "refresh_token", "the refresh grant returns only an access token; the refresh token stays valid")
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/api/now/table/incident", nil, bearer(second.AccessToken)).status)

	third, _ := grant(t, tokenReq(t, s, refresh))
	assert.NotEqual(t, second.AccessToken, third.AccessToken, "the kept refresh token can be used again")

	t.Run("another client cannot use the refresh token", func(t *testing.T) {
		r := tokenReq(t, s, url.Values{"grant_type": {"refresh_token"}, "client_id": {"short"}, "client_secret": {"s2"}, "refresh_token": {first.RefreshToken}})
		assert.Equal(t, http.StatusUnauthorized, r.status)
	})
	t.Run("revoking the refresh token revokes it and its access tokens", func(t *testing.T) {
		require.True(t, s.RevokeToken(first.RefreshToken))
		assert.Equal(t, http.StatusUnauthorized, tokenReq(t, s, refresh).status)
		assert.Equal(t, http.StatusUnauthorized, do(t, s, "GET", "/api/now/table/incident", nil, bearer(third.AccessToken)).status)
	})
	t.Run("an expired refresh token fails", func(t *testing.T) {
		tb, _ := grant(t, tokenReq(t, s, url.Values{"grant_type": {"password"}, "client_id": {"short"}, "client_secret": {"s2"},
			"username": {"integration"}, "password": {"pw"}}))
		advance(time.Hour)
		r := tokenReq(t, s, url.Values{"grant_type": {"refresh_token"}, "client_id": {"short"}, "client_secret": {"s2"}, "refresh_token": {tb.RefreshToken}})
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.JSONEq(t, OAuthFailureBody, string(r.body))
	})
}

func TestOAuthRevocation(t *testing.T) {
	s, _ := authFake(t)
	a, _ := grant(t, tokenReq(t, s, passwordForm("csecret", "pw")))
	b, _ := grant(t, tokenReq(t, s, passwordForm("csecret", "pw")))

	r := do(t, s, "POST", "/oauth_revoke_token.do", url.Values{"token": {a.AccessToken}}.Encode(), noAuth(),
		header("Content-Type", "application/x-www-form-urlencoded"))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, http.StatusUnauthorized, do(t, s, "GET", "/api/now/table/incident", nil, bearer(a.AccessToken)).status)
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/api/now/table/incident", nil, bearer(b.AccessToken)).status)

	assert.Equal(t, 3, s.RevokeUserTokens("integration"), "b's access token and both refresh tokens")
	assert.Equal(t, http.StatusUnauthorized, do(t, s, "GET", "/api/now/table/incident", nil, bearer(b.AccessToken)).status)
	assert.False(t, s.RevokeToken("unknown"))
}

func TestOAuthClientCredentials(t *testing.T) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"short"}, "client_secret": {"s2"}}

	t.Run("off by default", func(t *testing.T) {
		s, _ := authFake(t)
		r := tokenReq(t, s, form)
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.JSONEq(t, OAuthFailureBody, string(r.body))
	})
	t.Run("on, the token acts as the application user and has no refresh token", func(t *testing.T) {
		s, _ := authFake(t, WithClientCredentialsGrant(true))
		tb, raw := grant(t, tokenReq(t, s, form))
		assert.NotContains(t, raw, "refresh_token")
		me := do(t, s, "GET", "/api/now/ui/user/current_user", nil, bearer(tb.AccessToken))
		assert.Equal(t, "integration", me.obj(t)["user_name"])
	})
	t.Run("a client without an application user fails", func(t *testing.T) {
		s, _ := authFake(t)
		s.SetClientCredentialsGrant(true)
		r := tokenReq(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"csecret"}})
		assert.Equal(t, http.StatusUnauthorized, r.status)
	})
}

func TestOAuthEveryFailureLooksTheSame(t *testing.T) {
	s, _ := authFake(t)
	cases := []struct {
		name string
		form url.Values
		ct   string
	}{
		{"wrong client secret", passwordForm("wrong", "pw"), ""},
		{"wrong user password", passwordForm("csecret", "wrong"), ""},
		{"unknown client", url.Values{"grant_type": {"password"}, "client_id": {"x"}, "client_secret": {"y"}, "username": {"integration"}, "password": {"pw"}}, ""},
		{"unsupported grant type", url.Values{"grant_type": {"authorization_code"}, "client_id": {"cid"}, "client_secret": {"csecret"}}, ""},
		{"missing grant type", url.Values{"client_id": {"cid"}, "client_secret": {"csecret"}}, ""},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"cid"}, "client_secret": {"csecret"}, "refresh_token": {"nope"}}, ""},
		{"a JSON body instead of a form", passwordForm("csecret", "pw"), "application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []reqOpt
			if tc.ct != "" {
				opts = append(opts, header("Content-Type", tc.ct))
			}
			r := tokenReq(t, s, tc.form, opts...)
			assert.Equal(t, http.StatusUnauthorized, r.status)
			assert.Equal(t, OAuthFailureBody, string(r.body))
		})
	}
}
