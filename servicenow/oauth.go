package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// OAuthConfig configures OAuth 2 against the instance's /oauth_token.do,
// registered in System OAuth > Application Registry ("Create an OAuth API
// endpoint for external clients").
//
// The client gets its first token from, in order: the TokenStore (if it
// holds one), RefreshToken (refresh grant), or Username and Password
// (password grant). It refreshes with the refresh token when the access
// token expires (30 minutes by default), falls back to the password grant
// when the refresh token is refused (if a password is configured), and
// hands every new token to the TokenStore. Only one goroutine refreshes at a
// time; the others wait for its result. A 401 on an API call forces one
// refresh and one more attempt.
type OAuthConfig struct {
	ClientID     string
	ClientSecret string
	// Username and Password are the integration user's, for the password
	// grant. Leave them empty to start from RefreshToken or the TokenStore
	// alone.
	Username string
	Password string
	// RefreshToken starts the client from a stored refresh token.
	RefreshToken string
	// TokenStore, when set, is asked for a stored token at the first call
	// and told about every new token.
	TokenStore TokenStore
	// Scopes are sent with the grant; ServiceNow's default is "useraccount".
	Scopes []string
}

// String describes the configuration without secrets.
func (c OAuthConfig) String() string {
	return fmt.Sprintf("OAuthConfig{ClientID: %s, ClientSecret: %s, Username: %s, Password: %s, RefreshToken: %s}",
		c.ClientID, redactedIf(c.ClientSecret), c.Username, redactedIf(c.Password), redactedIf(c.RefreshToken))
}

// GoString is String, so %#v shows no secrets either.
func (c OAuthConfig) GoString() string { return c.String() }

// LogValue makes slog show the configuration without secrets.
func (c OAuthConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("username", c.Username),
		slog.Bool("client_secret_set", c.ClientSecret != ""), slog.Bool("password_set", c.Password != ""),
		slog.Bool("refresh_token_set", c.RefreshToken != ""))
}

func redactedIf(s string) string {
	if s == "" {
		return `""`
	}
	return "REDACTED"
}

func (c OAuthConfig) validate() error {
	var missing []string
	if c.ClientID == "" {
		missing = append(missing, "ClientID")
	}
	if c.ClientSecret == "" {
		missing = append(missing, "ClientSecret")
	}
	if len(missing) > 0 {
		return fmt.Errorf("servicenow: WithOAuth: %v missing: copy them from System OAuth > Application Registry", missing)
	}
	if (c.Username == "") != (c.Password == "") {
		return errors.New("servicenow: WithOAuth: Username and Password go together (both for the password grant, or neither)")
	}
	if c.Password == "" && c.RefreshToken == "" && c.TokenStore == nil {
		return errors.New("servicenow: WithOAuth: no way to get a first token: set Username and Password, RefreshToken, or a TokenStore holding a token")
	}
	return nil
}

// TokenStore persists OAuth tokens across restarts, so a rotated refresh
// token is not lost. Implementations must be safe for concurrent use.
type TokenStore interface {
	// LoadToken returns the stored token, or nil and no error when none is stored.
	LoadToken(ctx context.Context) (*oauth2.Token, error)
	// SaveToken stores tok, replacing any earlier token.
	SaveToken(ctx context.Context, tok *oauth2.Token) error
}

// FileTokenStore keeps the token in a JSON file readable only by its owner
// (mode 0600), replaced atomically on every save.
type FileTokenStore struct {
	Path string
	mu   sync.Mutex
}

// NewFileTokenStore returns a TokenStore backed by the file at path.
func NewFileTokenStore(path string) *FileTokenStore { return &FileTokenStore{Path: path} }

// LoadToken reads the token file; a missing file is no token.
func (s *FileTokenStore) LoadToken(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("servicenow: reading token file: %w", err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("servicenow: token file %s is not a token: %w", s.Path, err)
	}
	return &tok, nil
}

// SaveToken writes the token file atomically with mode 0600.
func (s *FileTokenStore) SaveToken(ctx context.Context, tok *oauth2.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.Path), ".token-*")
	if err != nil {
		return fmt.Errorf("servicenow: saving token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.Path)
}

// String names the file, not the token.
func (s *FileTokenStore) String() string { return "FileTokenStore(" + s.Path + ")" }

// tokenTimeout bounds one token request: oauth2.TokenSource has no context.
const tokenTimeout = 30 * time.Second

// expiryDelta refreshes a token this long before it expires.
const expiryDelta = 30 * time.Second

// oauthSource is the client's token source: stored token, refresh grant,
// password grant, in that order, one refresh at a time.
type oauthSource struct {
	c    *Client
	conf OAuthConfig
	cfg  oauth2.Config
	hc   *http.Client

	mu     sync.Mutex
	tok    *oauth2.Token
	loaded bool
}

func newOAuthSource(c *Client, conf OAuthConfig, hc *http.Client) *oauthSource {
	return &oauthSource{
		c:    c,
		conf: conf,
		hc:   hc,
		cfg: oauth2.Config{
			ClientID:     conf.ClientID,
			ClientSecret: conf.ClientSecret,
			Endpoint: oauth2.Endpoint{
				TokenURL:  c.InstanceURL() + "/oauth_token.do",
				AuthStyle: oauth2.AuthStyleInParams,
			},
			Scopes: conf.Scopes,
		},
	}
}

// Token returns a valid access token, fetching one if needed.
func (s *oauthSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.valid() {
		return s.tok, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), tokenTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: &tokenCheckTransport{next: s.hc.Transport}, Timeout: s.hc.Timeout, CheckRedirect: s.hc.CheckRedirect})
	if !s.loaded && s.conf.TokenStore != nil {
		s.loaded = true
		tok, err := s.conf.TokenStore.LoadToken(ctx)
		if err != nil {
			return nil, fmt.Errorf("servicenow: loading the stored OAuth token: %w", err)
		}
		if tok != nil {
			s.tok = tok
			s.c.secrets.AddRotating(tok.AccessToken, tok.RefreshToken)
			if s.valid() {
				return s.tok, nil
			}
		}
	}
	s.loaded = true
	tok, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	s.tok = tok
	s.c.secrets.AddRotating(tok.AccessToken, tok.RefreshToken)
	if s.conf.TokenStore != nil {
		if err := s.conf.TokenStore.SaveToken(ctx, tok); err != nil {
			// The token works; losing it only costs a new grant later.
			s.c.logger.Warn("servicenow: saving the OAuth token failed", slog.String("error", s.c.secrets.Redact(err.Error())))
		}
	}
	return tok, nil
}

func (s *oauthSource) valid() bool {
	return s.tok != nil && s.tok.AccessToken != "" && (s.tok.Expiry.IsZero() || time.Until(s.tok.Expiry) > expiryDelta)
}

// fetch gets a new token: refresh grant when a refresh token is known,
// password grant otherwise or when the refresh token is refused.
func (s *oauthSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	refresh := s.conf.RefreshToken
	if s.tok != nil && s.tok.RefreshToken != "" {
		refresh = s.tok.RefreshToken
	}
	if refresh != "" {
		tok, err := s.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh, Expiry: time.Unix(1, 0)}).Token()
		if err == nil {
			if tok.RefreshToken == "" {
				tok.RefreshToken = refresh
			}
			return tok, nil
		}
		oerr := s.oauthError("refresh_token", err)
		if s.conf.Password == "" || errors.Is(oerr, ErrInstanceUnavailable) {
			return nil, oerr
		}
		s.c.logger.Debug("servicenow: refresh token refused; using the password grant")
	}
	if s.conf.Password == "" {
		return nil, &OAuthError{Grant: "refresh_token", Cause: errors.New("no refresh token and no password configured")}
	}
	tok, err := s.cfg.PasswordCredentialsToken(ctx, s.conf.Username, s.conf.Password)
	if err != nil {
		return nil, s.oauthError("password", err)
	}
	return tok, nil
}

// Invalidate forgets the access token a server refused, keeping the
// refresh token, so the next Token call refreshes.
func (s *oauthSource) Invalidate(refused *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && refused != nil && s.tok.AccessToken == refused.AccessToken {
		t := *s.tok
		t.AccessToken = ""
		s.tok = &t
	}
}

// oauthError converts an oauth2 failure into an *OAuthError without secrets.
func (s *oauthSource) oauthError(grant string, err error) error {
	e := &OAuthError{Grant: grant}
	var re *oauth2.RetrieveError
	var unavailable *Error
	switch {
	case errors.As(err, &unavailable):
		e.Cause = unavailable
	case errors.As(err, &re):
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
		}
		e.Code = re.ErrorCode
		e.Description = re.ErrorDescription
		if e.Code == "" && e.Description == "" {
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				e.Code, e.Description = body.Error, body.Description
			}
		}
	default:
		e.Cause = errors.New(s.c.secrets.Redact(err.Error()))
	}
	return e
}

// tokenCheckTransport turns an HTML answer from /oauth_token.do (a
// hibernating instance, an SSO page) into ErrInstanceUnavailable, which the
// oauth2 package would otherwise report as a token without access_token.
type tokenCheckTransport struct{ next http.RoundTripper }

func (t *tokenCheckTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode < 300 && !isJSON(ct) {
		defer resp.Body.Close()
		raw := make([]byte, 4096)
		n, _ := resp.Body.Read(raw)
		e := &Error{StatusCode: resp.StatusCode, Method: req.Method, URL: "oauth_token.do", unavailable: true,
			Message: "the instance answered with a " + mediaType(ct) + " page instead of a token", Body: string(raw[:n])}
		if title := htmlTitle(raw[:n]); title != "" {
			e.Message += ": " + title
		}
		return nil, e
	}
	return resp, nil
}
