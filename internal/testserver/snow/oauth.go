package snow

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// OAuthClient is an OAuth application registry entry (oauth_entity).
type OAuthClient struct {
	ClientID     string
	ClientSecret string
	// AccessTokenLifespan defaults to 1800 s; expires_in is one second less.
	AccessTokenLifespan time.Duration
	// RefreshTokenLifespan defaults to 8,640,000 s (100 days).
	RefreshTokenLifespan time.Duration
	// User is the OAuth Application User that client_credentials tokens act
	// as; without it that grant fails.
	User string
}

// String describes the client without its secret.
func (c OAuthClient) String() string { return "snow.OAuthClient{" + c.ClientID + "}" }

// Default token lifespans of an application registry entry.
const (
	DefaultAccessTokenLifespan  = 1800 * time.Second
	DefaultRefreshTokenLifespan = 8640000 * time.Second
)

// OAuthFailureBody is what oauth_token.do answers, with 401, to every
// failed grant: the fields are the wrong way round, as on a real instance.
const OAuthFailureBody = `{"error_description":"access_denied","error":"server_error"}`

type token struct {
	user     string
	client   string
	expires  time.Time
	revoked  bool
	refresh  bool
	original string // the refresh token an access token came from
}

type oauthState struct {
	clients map[string]OAuthClient
	tokens  map[string]*token
	rng     *rand.Rand
}

func (o *oauthState) init(seed uint64) {
	o.clients = map[string]OAuthClient{}
	o.tokens = map[string]*token{}
	o.rng = rand.New(rand.NewPCG(seed, 0x0a07))
}

func (o *oauthState) addClient(c OAuthClient) {
	if c.AccessTokenLifespan <= 0 {
		c.AccessTokenLifespan = DefaultAccessTokenLifespan
	}
	if c.RefreshTokenLifespan <= 0 {
		c.RefreshTokenLifespan = DefaultRefreshTokenLifespan
	}
	o.clients[c.ClientID] = c
}

// newToken returns an opaque 86-character URL-safe token.
func (o *oauthState) newToken() string {
	var b [64]byte
	for i := 0; i < 64; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], o.rng.Uint64())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// AddOAuthClient registers an OAuth application.
func (s *Server) AddOAuthClient(c OAuthClient) {
	s.oauthMu.Lock()
	s.oauth.addClient(c)
	s.oauthMu.Unlock()
}

// RevokeToken revokes an access or refresh token. Revoking a refresh token
// also revokes the access tokens issued from it. It reports whether the
// token was known.
func (s *Server) RevokeToken(tok string) bool {
	s.oauthMu.Lock()
	defer s.oauthMu.Unlock()
	t := s.oauth.tokens[tok]
	if t == nil {
		return false
	}
	t.revoked = true
	if t.refresh {
		for _, x := range s.oauth.tokens {
			if x.original == tok {
				x.revoked = true
			}
		}
	}
	return true
}

// RevokeUserTokens revokes every token of a user.
func (s *Server) RevokeUserTokens(userName string) int {
	s.oauthMu.Lock()
	defer s.oauthMu.Unlock()
	n := 0
	for _, t := range s.oauth.tokens {
		if t.user == userName && !t.revoked {
			t.revoked = true
			n++
		}
	}
	return n
}

// checkAccessToken returns the user of a valid access token.
func (s *Server) checkAccessToken(tok string) (string, bool) {
	s.oauthMu.Lock()
	defer s.oauthMu.Unlock()
	t := s.oauth.tokens[tok]
	if t == nil || t.refresh || t.revoked || !s.Now().Before(t.expires) {
		return "", false
	}
	return t.user, true
}

func writeOAuthFailure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("X-Is-Logged-In", "false")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(OAuthFailureBody))
}

// serveToken implements POST /oauth_token.do.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.Now().Format(http.TimeFormat))
	w.Header().Set("Server", "ServiceNow")
	if r.Method != http.MethodPost {
		writeOAuthFailure(w)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeOAuthFailure(w)
		return
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeOAuthFailure(w)
		return
	}
	f := r.PostForm
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && id == "" {
		id, secret = u, p
	}
	now := s.Now()
	s.oauthMu.Lock()
	client, ok := s.oauth.clients[id]
	clientCreds := s.cfg.clientCreds
	s.oauthMu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(client.ClientSecret), []byte(secret)) != 1 {
		writeOAuthFailure(w)
		return
	}
	var (
		user        string
		withRefresh bool
		origRefresh string
	)
	switch f.Get("grant_type") {
	case "password":
		user = f.Get("username")
		if !s.checkPassword(user, f.Get("password")) {
			writeOAuthFailure(w)
			return
		}
		withRefresh = true
	case "refresh_token":
		rt := f.Get("refresh_token")
		s.oauthMu.Lock()
		t := s.oauth.tokens[rt]
		valid := t != nil && t.refresh && !t.revoked && t.client == id && now.Before(t.expires)
		if valid {
			user = t.user
		}
		s.oauthMu.Unlock()
		if !valid || !s.userActive(user) {
			writeOAuthFailure(w)
			return
		}
		origRefresh = rt
	case "client_credentials":
		if !clientCreds || client.User == "" || !s.userActive(client.User) {
			writeOAuthFailure(w)
			return
		}
		user = client.User
	default:
		writeOAuthFailure(w)
		return
	}
	s.oauthMu.Lock()
	access := s.oauth.newToken()
	s.oauth.tokens[access] = &token{user: user, client: id, expires: now.Add(client.AccessTokenLifespan), original: origRefresh}
	refresh := ""
	if withRefresh {
		refresh = s.oauth.newToken()
		s.oauth.tokens[refresh] = &token{user: user, client: id, expires: now.Add(client.RefreshTokenLifespan), refresh: true}
		s.oauth.tokens[access].original = refresh
	}
	s.oauthMu.Unlock()
	b := []byte(`{"access_token":`)
	b = appendJSONString(b, access)
	if refresh != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendJSONString(b, refresh)
	}
	b = append(b, `,"scope":"useraccount","token_type":"Bearer","expires_in":`...)
	b = strconv.AppendInt(b, int64(client.AccessTokenLifespan/time.Second)-1, 10)
	b = append(b, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// serveRevoke implements POST /oauth_revoke_token.do (token=...).
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeOAuthFailure(w)
		return
	}
	s.RevokeToken(r.PostForm.Get("token"))
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}"))
}
