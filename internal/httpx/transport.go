package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Gate holds every request to a host while the host has asked clients to
// back off: after a 429 with Retry-After, no request of the client that saw
// it (all streams of a syncer share the client) is sent before the wait is
// over. Safe for concurrent use; the zero value is open.
type Gate struct {
	mu    sync.Mutex
	until time.Time
}

// PauseUntil closes the gate until t; an earlier t than the current pause
// does not shorten it.
func (g *Gate) PauseUntil(t time.Time) {
	g.mu.Lock()
	if t.After(g.until) {
		g.until = t
	}
	g.mu.Unlock()
}

// PausedUntil returns the end of the current pause (zero or past when open).
func (g *Gate) PausedUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// Wait blocks until the gate is open or ctx ends. A wait that would outlast
// ctx's deadline returns ErrPausedPastDeadline at once instead of sleeping.
func (g *Gate) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		until := g.until
		g.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && until.After(dl) {
			return &PausedError{Until: until}
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// PausedError says a request was not sent because the host asked clients to
// wait until Until, which is past the caller's deadline.
type PausedError struct{ Until time.Time }

func (e *PausedError) Error() string {
	return "host asked clients to wait until " + e.Until.UTC().Format(time.RFC3339) + ", past the context deadline"
}

// GateTransport waits at Gate before passing a request to Next.
type GateTransport struct {
	Gate *Gate
	Next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *GateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.Gate.Wait(req.Context()); err != nil {
		closeBody(req)
		return nil, err
	}
	return t.Next.RoundTrip(req)
}

// LimiterTransport spends one token of Limiter on every request before
// passing it to Next, so a limiter shared by several clients paces all of
// them, retries included.
type LimiterTransport struct {
	Limiter RateLimiter
	Next    http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *LimiterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.Limiter.Wait(req.Context()); err != nil {
		closeBody(req)
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	return t.Next.RoundTrip(req)
}

// BasicAuthTransport sets HTTP Basic credentials on every request. Its
// String never shows the password.
type BasicAuthTransport struct {
	Username string
	Password string
	Next     http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *BasicAuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.Username, t.Password)
	return t.Next.RoundTrip(r)
}

// String describes the transport without its password.
func (t *BasicAuthTransport) String() string {
	return "basic auth as " + t.Username + " (password REDACTED)"
}

// Invalidator is implemented by token sources that can be told a token was
// refused, so that their next Token call fetches a new one.
type Invalidator interface {
	Invalidate(refused *oauth2.Token)
}

// TokenTransport sets a bearer token from Source on every request. When the
// server answers 401 and Source is an Invalidator, it forces one refresh and
// sends the request once more with the new token; a second 401 is returned
// as is.
type TokenTransport struct {
	Source oauth2.TokenSource
	Next   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *TokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.Source.Token()
	if err != nil {
		closeBody(req)
		return nil, err
	}
	inv, canRefresh := t.Source.(Invalidator)
	var body []byte
	if canRefresh && req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// Keep a copy so the request can be sent again after a refresh.
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	send := func(tok *oauth2.Token) (*http.Response, error) {
		r := req.Clone(req.Context())
		switch {
		case body != nil:
			r.Body = io.NopCloser(bytes.NewReader(body))
		case req.GetBody != nil && r.Body != nil && r.Body != http.NoBody:
			if r.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		tok.SetAuthHeader(r)
		return t.Next.RoundTrip(r)
	}
	// The first send uses the original body when it was not copied.
	r := req.Clone(req.Context())
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	tok.SetAuthHeader(r)
	resp, err := t.Next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !canRefresh {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && body == nil && req.GetBody == nil {
		return resp, nil // cannot replay the body
	}
	inv.Invalidate(tok)
	fresh, err := t.Source.Token()
	if err != nil {
		// The refresh failed: that error says more than the 401.
		drain(resp)
		return nil, err
	}
	if fresh.AccessToken == tok.AccessToken {
		return resp, nil
	}
	drain(resp)
	return send(fresh)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// ErrCrossHostRedirect is returned when a server redirects a request to
// another host: credentials would follow it there.
var ErrCrossHostRedirect = errors.New("refusing to follow a redirect to another host: credentials would be sent there")

// CheckRedirect allows redirects only within the original host (at most 5),
// so auth headers never reach another host.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if len(via) > 0 && req.URL.Host != via[0].URL.Host {
		return ErrCrossHostRedirect
	}
	return nil
}

// RecordingSource wraps a caller's token source so that every token it
// hands out is registered in Secrets (and so redacted from errors and
// logs), passing invalidations through when the wrapped source supports
// them.
type RecordingSource struct {
	Source  oauth2.TokenSource
	Secrets *Secrets
}

// Token returns the wrapped source's token and remembers it as a secret.
func (r *RecordingSource) Token() (*oauth2.Token, error) {
	tok, err := r.Source.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, errors.New("the token source returned no token")
	}
	r.Secrets.AddRotating(tok.AccessToken, tok.RefreshToken)
	return tok, nil
}

// Invalidate passes through to the wrapped source when it can invalidate.
func (r *RecordingSource) Invalidate(tok *oauth2.Token) {
	if inv, ok := r.Source.(Invalidator); ok {
		inv.Invalidate(tok)
	}
}

var _ Invalidator = (*RecordingSource)(nil)
