package servicenow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

// Option configures a Client. Options validate their input: NewClient
// returns the first error.
type Option func(*options) error

type options struct {
	httpClient  *http.Client
	auth        authKind
	username    string
	password    string
	oauth       OAuthConfig
	tokenSource oauth2.TokenSource
	limiter     *rate.Limiter
	logger      *slog.Logger
	userAgent   string
	retry       RetryPolicy
	onRetry     OnRetryFunc
	allowHTTP   bool
	apiVersion  string
	timeout     time.Duration
}

type authKind int

const (
	authNone authKind = iota
	authBasic
	authOAuth
	authTokenSource
)

func (a authKind) String() string {
	switch a {
	case authBasic:
		return "basic auth"
	case authOAuth:
		return "OAuth"
	case authTokenSource:
		return "token source"
	}
	return "no auth"
}

func (o *options) setAuth(k authKind) error {
	if o.auth != authNone && o.auth != k {
		return fmt.Errorf("servicenow: both %s and %s configured: choose one", o.auth, k)
	}
	o.auth = k
	return nil
}

// WithBasicAuth authenticates every request with HTTP Basic credentials of
// the integration user.
func WithBasicAuth(username, password string) Option {
	return func(o *options) error {
		if username == "" {
			return errors.New("servicenow: WithBasicAuth: the username is empty")
		}
		if password == "" {
			return errors.New("servicenow: WithBasicAuth: the password is empty")
		}
		if err := o.setAuth(authBasic); err != nil {
			return err
		}
		o.username, o.password = username, password
		return nil
	}
}

// WithOAuth authenticates with OAuth 2 tokens from the instance's
// /oauth_token.do endpoint: see OAuthConfig.
func WithOAuth(cfg OAuthConfig) Option {
	return func(o *options) error {
		if err := cfg.validate(); err != nil {
			return err
		}
		if err := o.setAuth(authOAuth); err != nil {
			return err
		}
		o.oauth = cfg
		return nil
	}
}

// WithTokenSource authenticates with bearer tokens from ts, for any flow
// snowsync does not run itself (client credentials, JWT bearer, tokens
// from a vault). If ts also has an Invalidate(*oauth2.Token) method, a 401
// invalidates the refused token and the request is sent once more.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(o *options) error {
		if ts == nil {
			return errors.New("servicenow: WithTokenSource: the token source is nil")
		}
		if err := o.setAuth(authTokenSource); err != nil {
			return err
		}
		o.tokenSource = ts
		return nil
	}
}

// WithHTTPClient sends requests with a copy of hc: its Transport (proxy,
// TLS settings) and Timeout are used; its CheckRedirect and Jar are not
// (redirects to other hosts are refused, and cookies are never kept, since
// ServiceNow serialises requests that share a session).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("servicenow: WithHTTPClient: the client is nil")
		}
		c := *hc
		o.httpClient = &c
		return nil
	}
}

// WithRateLimiter paces requests with l: every attempt, retries and token
// requests included, waits for one token. Pass the same limiter to every
// client of one instance (and user) to share its budget.
func WithRateLimiter(l *rate.Limiter) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("servicenow: WithRateLimiter: the limiter is nil")
		}
		o.limiter = l
		return nil
	}
}

// WithLogger logs requests and retries at debug level (method, sanitized
// URL, status, attempt); nil discards. Headers and bodies are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		o.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("servicenow: WithUserAgent: the user agent contains a line break")
		}
		o.userAgent = ua
		return nil
	}
}

// RetryPolicy bounds retries: at most MaxRetries after the first attempt,
// each wait between WaitMin (the first backoff step) and WaitMax (the cap
// on any single wait, a server's Retry-After included).
type RetryPolicy struct {
	MaxRetries int
	WaitMin    time.Duration
	WaitMax    time.Duration
}

// DefaultRetryPolicy is 4 retries, backing off from 500 ms, never waiting
// more than 30 s at a time.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 4, WaitMin: 500 * time.Millisecond, WaitMax: 30 * time.Second}

// WithRetry replaces DefaultRetryPolicy. MaxRetries 0 disables retries.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) error {
		if p.MaxRetries < 0 || p.WaitMin < 0 || p.WaitMax < 0 {
			return errors.New("servicenow: WithRetry: negative values are not allowed")
		}
		if p.WaitMax < p.WaitMin {
			return fmt.Errorf("servicenow: WithRetry: WaitMax %s is below WaitMin %s", p.WaitMax, p.WaitMin)
		}
		o.retry = p
		return nil
	}
}

// OnRetryFunc is called before each retry with the 1-based number of the
// failed attempt and its response (body unread) or error.
type OnRetryFunc func(ctx context.Context, attempt int, resp *http.Response, err error)

// WithOnRetry calls fn before every retry, for metrics or logs.
func WithOnRetry(fn OnRetryFunc) Option {
	return func(o *options) error {
		o.onRetry = fn
		return nil
	}
}

// WithInsecureHTTP allows a plain http:// instance URL on a host that is
// not loopback, for test setups only: credentials cross the network in
// clear text.
func WithInsecureHTTP() Option {
	return func(o *options) error {
		o.allowHTTP = true
		return nil
	}
}

// WithAPIVersion pins the Table API version: "v2" (the default), "v1", or
// "" for the instance's latest. With v1, a list that matches nothing is a
// 404 on the wire; the client still returns an empty list.
func WithAPIVersion(v string) Option {
	return func(o *options) error {
		switch v {
		case "", "v1", "v2":
			o.apiVersion = v
			return nil
		}
		return fmt.Errorf("servicenow: WithAPIVersion: %q is not v1, v2 or empty", v)
	}
}

// WithTimeout bounds each attempt (connect, send, read the whole answer).
// The default is 90 s: ServiceNow cancels REST transactions after 60 s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return errors.New("servicenow: WithTimeout: negative timeout")
		}
		o.timeout = d
		return nil
	}
}
