package httpx

import (
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces secrets wherever they would be shown.
const Redacted = "REDACTED"

// sensitiveQueryKeys are query parameters whose values are never shown.
var sensitiveQueryKeys = map[string]bool{
	"access_token":  true,
	"refresh_token": true,
	"client_secret": true,
	"password":      true,
	"token":         true,
	"api_key":       true,
	"apikey":        true,
	"code":          true,
}

// sensitiveHeaders are headers whose values are never shown.
var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Sn-Apikey"}

// RedactURL renders u for logs and errors: the password of any userinfo and
// the values of sensitive query parameters (access_token, refresh_token,
// client_secret, password, token, ...) become REDACTED.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), Redacted)
		}
	}
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = Redacted
		} else {
			changed := false
			for k := range q {
				if sensitiveQueryKeys[strings.ToLower(k)] {
					q[k] = []string{Redacted}
					changed = true
				}
			}
			if changed {
				c.RawQuery = q.Encode()
			}
		}
	}
	return c.String()
}

// RedactHeader returns a copy of h with the values of credential-bearing
// headers (Authorization, Cookie, Set-Cookie, ...) replaced by REDACTED.
func RedactHeader(h http.Header) http.Header {
	c := h.Clone()
	for _, k := range sensitiveHeaders {
		if _, ok := c[k]; ok {
			c[k] = []string{Redacted}
		}
	}
	return c
}

// Secrets is a set of secret strings (passwords, client secrets, tokens)
// that must never be shown; Redact replaces every occurrence of any of them.
// Tokens rotate, so secrets can be added at any time. Safe for concurrent
// use; the zero value is ready.
type Secrets struct {
	mu        sync.RWMutex
	fixed     []string // credentials given at construction; never evicted
	rotating  []string // tokens, oldest first; bounded
	byLenDesc []string // fixed and rotating, longest first
}

// minSecretLen keeps very short values (which would redact ordinary words)
// out of the set; they are still never logged by the code that holds them.
const minSecretLen = 4

// maxRotating bounds how many rotated tokens a long-lived client remembers.
const maxRotating = 16

// Add registers long-lived secrets (passwords, client secrets). Empty and
// very short strings are ignored.
func (s *Secrets) Add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if len(v) >= minSecretLen && !contains(s.fixed, v) {
			s.fixed = append(s.fixed, v)
		}
	}
	s.rebuild()
}

// AddRotating registers short-lived secrets such as access and refresh
// tokens; only the most recent few are kept.
func (s *Secrets) AddRotating(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if len(v) >= minSecretLen && !contains(s.rotating, v) && !contains(s.fixed, v) {
			s.rotating = append(s.rotating, v)
		}
	}
	if n := len(s.rotating) - maxRotating; n > 0 {
		s.rotating = append([]string(nil), s.rotating[n:]...)
	}
	s.rebuild()
}

func (s *Secrets) rebuild() {
	all := make([]string, 0, len(s.fixed)+len(s.rotating))
	all = append(all, s.fixed...)
	all = append(all, s.rotating...)
	sort.SliceStable(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	s.byLenDesc = all
}

func contains(list []string, v string) bool {
	for _, have := range list {
		if have == v {
			return true
		}
	}
	return false
}

// Redact returns text with every registered secret replaced by REDACTED.
func (s *Secrets) Redact(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.byLenDesc {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Redacted)
		}
	}
	return text
}

// MaxErrorBody is how much of an error response body is read.
const MaxErrorBody = 1 << 20

// ReadCapped reads at most limit bytes from r and reports whether the body
// was longer than that (the rest is discarded, up to another limit bytes, so
// the connection can be reused).
func ReadCapped(r io.Reader, limit int64) (body []byte, truncated bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(body)) > limit {
		body = body[:limit]
		truncated = true
		_, _ = io.Copy(io.Discard, io.LimitReader(r, limit))
	}
	return body, truncated, err
}
