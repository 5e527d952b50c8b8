package stackflow

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
	token       string
	tokenSource oauth2.TokenSource
	limiter     *rate.Limiter
	logger      *slog.Logger
	userAgent   string
	retry       RetryPolicy
	onRetry     OnRetryFunc
	allowHTTP   bool
	timeout     time.Duration
	timeoutSet  bool
}

// WithToken authenticates every request with a static bearer token
// (Authorization: Bearer <token>). The token never appears in errors, logs
// or String output.
func WithToken(token string) Option {
	return func(o *options) error {
		if strings.TrimSpace(token) == "" {
			return errors.New("stackflow: WithToken: the token is empty")
		}
		if strings.ContainsAny(token, "\r\n") {
			return errors.New("stackflow: WithToken: the token contains a line break")
		}
		if o.tokenSource != nil {
			return errors.New("stackflow: both WithToken and WithTokenSource configured: choose one")
		}
		o.token = token
		return nil
	}
}

// WithTokenSource authenticates with bearer tokens from ts, for tokens that
// expire and are renewed (from a vault, an OAuth flow, ...). If ts also has
// an Invalidate(*oauth2.Token) method, a 401 invalidates the refused token
// and the request is sent once more with a fresh one.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(o *options) error {
		if ts == nil {
			return errors.New("stackflow: WithTokenSource: the token source is nil")
		}
		if o.token != "" {
			return errors.New("stackflow: both WithToken and WithTokenSource configured: choose one")
		}
		o.tokenSource = ts
		return nil
	}
}

// WithHTTPClient sends requests with a copy of hc: its Transport (proxy,
// TLS settings) and Timeout are used; its CheckRedirect and Jar are not
// (redirects to other hosts are refused so the token never leaves the
// StackFlow host).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("stackflow: WithHTTPClient: the client is nil")
		}
		c := *hc
		o.httpClient = &c
		return nil
	}
}

// WithRateLimiter paces requests with l: every attempt, retries included,
// waits for one token. Pass the same limiter to every client that shares
// one StackFlow token, since StackFlow counts requests per token.
func WithRateLimiter(l *rate.Limiter) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("stackflow: WithRateLimiter: the limiter is nil")
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
			return errors.New("stackflow: WithUserAgent: the user agent contains a line break")
		}
		o.userAgent = ua
		return nil
	}
}

// RetryPolicy bounds retries: at most MaxRetries after the first attempt,
// each wait between WaitMin (the first backoff step) and WaitMax (the cap on
// any single wait, a server's Retry-After included).
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
			return errors.New("stackflow: WithRetry: negative values are not allowed")
		}
		if p.WaitMax < p.WaitMin {
			return fmt.Errorf("stackflow: WithRetry: WaitMax %s is below WaitMin %s", p.WaitMax, p.WaitMin)
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

// WithTimeout bounds each attempt (connect, send, read the whole answer);
// the default is 60 s, or the Timeout of the client given to WithHTTPClient;
// 0 means no bound. The context still bounds the whole call, retries
// included.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return errors.New("stackflow: WithTimeout: negative timeout")
		}
		o.timeout, o.timeoutSet = d, true
		return nil
	}
}

// WithInsecureHTTP allows a plain http:// base URL on a host that is not
// loopback, for test setups only: the token crosses the network in clear
// text.
func WithInsecureHTTP() Option {
	return func(o *options) error {
		o.allowHTTP = true
		return nil
	}
}
