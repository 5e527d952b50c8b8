package sf

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// token is a registered bearer token.
type token struct {
	subject string
	roles   []string
	expires time.Time // zero = never
}

func (t *token) has(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(t.roles, r) {
			return true
		}
	}
	return false
}

var knownRoles = []string{RoleViewer, RoleAgent, RoleSuperAdmin}

func checkToken(tok, subject string, roles []string) error {
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return errors.New("sf: a token must be non-empty and contain no white space")
	}
	if subject == "" {
		return errors.New("sf: a token needs a subject (it becomes updated_by)")
	}
	for _, r := range roles {
		if !slices.Contains(knownRoles, r) {
			return fmt.Errorf("sf: unknown role %q (want %s)", r, strings.Join(knownRoles, ", "))
		}
	}
	return nil
}

// AddToken registers a bearer token for subject (the name writes are
// recorded under in updated_by) with the given roles (RoleViewer,
// RoleAgent, RoleSuperAdmin). Adding a token again replaces it.
func (s *Server) AddToken(tok, subject string, roles ...string) error {
	if err := checkToken(tok, subject, roles); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &token{subject: subject, roles: slices.Clone(roles)}
	return nil
}

// ExpireToken makes tok expire at t on the server's clock (zero: never);
// requests with an expired token get 401.
func (s *Server) ExpireToken(tok string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.tokens[tok]
	if k == nil {
		return errors.New("sf: ExpireToken: unknown token")
	}
	k.expires = t
	return nil
}

// RemoveToken forgets tok; requests with it get 401.
func (s *Server) RemoveToken(tok string) {
	s.mu.Lock()
	delete(s.tokens, tok)
	s.mu.Unlock()
}

// parseBearer returns the token of an "Authorization: Bearer <token>" header.
func parseBearer(h string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// authenticate finds the token of a request; it sets WWW-Authenticate on
// failure.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (token, *APIError) {
	h := r.Header.Get("Authorization")
	tok := parseBearer(h)
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stackflow"`)
		if h == "" {
			return token{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "missing Authorization header; send Authorization: Bearer <token>")
		}
		return token{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "malformed Authorization header; send Authorization: Bearer <token>")
	}
	s.mu.Lock()
	k := s.tokens[tok]
	var t token
	if k != nil {
		t = token{subject: k.subject, roles: slices.Clone(k.roles), expires: k.expires}
	}
	s.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `Bearer realm="stackflow", error="invalid_token"`)
	if k == nil {
		return token{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "unknown bearer token")
	}
	if !t.expires.IsZero() && !s.cfg.clock.Now().Before(t.expires) {
		return token{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "bearer token expired at %s", t.expires.UTC().Format(timeLayout))
	}
	w.Header().Del("WWW-Authenticate")
	return t, nil
}
