package httpx

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// RetryClass says when a request may be sent again after a failure.
type RetryClass int

const (
	// Idempotent requests (GET, HEAD, PUT, DELETE) are retried on connection
	// errors, 429, 500, 502, 503 and 504.
	Idempotent RetryClass = iota
	// NonIdempotent requests (POST, PATCH) are retried only on 429 and on
	// dial errors, where nothing reached the server: a replay after anything
	// else could write twice.
	NonIdempotent
	// Keyed requests carry an idempotency key the server deduplicates on, so
	// they are retried like Idempotent ones, always with the same key.
	Keyed
	// NoRetry requests are sent once.
	NoRetry
)

// ClassOf returns the default retry class of an HTTP method.
func ClassOf(method string) RetryClass {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return Idempotent
	}
	return NonIdempotent
}

// Retry configures the retry loop.
type Retry struct {
	MaxRetries int           // retries after the first attempt; 0 disables retries
	WaitMin    time.Duration // first backoff step
	WaitMax    time.Duration // cap on every single wait, Retry-After included
}

// DefaultRetry is 4 retries waiting 500 ms, 1 s, 2 s, 4 s (with jitter),
// and never more than 30 s for one wait.
var DefaultRetry = Retry{MaxRetries: 4, WaitMin: 500 * time.Millisecond, WaitMax: 30 * time.Second}

// OnRetryFunc is called before each retry with the 1-based number of the
// attempt that failed and its response or error. The response body must not
// be read.
type OnRetryFunc func(ctx context.Context, attempt int, resp *http.Response, err error)

// Config builds a Client.
type Config struct {
	// Base is the transport that sends requests; it is wrapped, not changed.
	Base http.RoundTripper
	// Timeout bounds each attempt, 0 for none (the context still applies).
	Timeout time.Duration
	// Auth wraps the transport that sends (limiter and base) with
	// authentication; nil sends requests as they are.
	Auth func(next http.RoundTripper) http.RoundTripper
	// Limiter, when set, is spent once per attempt.
	Limiter RateLimiter
	Retry   Retry
	OnRetry OnRetryFunc
	Logger  *slog.Logger
	// Secrets are redacted from everything the client logs.
	Secrets *Secrets
}

// RateLimiter is what the limiter transport needs of a *rate.Limiter.
type RateLimiter interface {
	Wait(ctx context.Context) error
}

// Client sends requests through the retry loop and the transport stack.
// Safe for concurrent use.
type Client struct {
	rc      *retryablehttp.Client
	gate    *Gate
	cfg     Config
	logger  *slog.Logger
	secrets *Secrets
}

// NewClient builds a Client from cfg.
func NewClient(cfg Config) *Client {
	base := cfg.Base
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	var rt http.RoundTripper = base
	if cfg.Limiter != nil {
		rt = &LimiterTransport{Limiter: cfg.Limiter, Next: rt}
	}
	if cfg.Auth != nil {
		rt = cfg.Auth(rt)
	}
	gate := &Gate{}
	rt = &GateTransport{Gate: gate, Next: rt}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	secrets := cfg.Secrets
	if secrets == nil {
		secrets = &Secrets{}
	}
	c := &Client{gate: gate, cfg: cfg, logger: logger, secrets: secrets}
	c.rc = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     rt,
			Timeout:       cfg.Timeout,
			CheckRedirect: CheckRedirect,
		},
		Logger:         nil, // we log ourselves, redacted, at debug level
		RetryWaitMin:   cfg.Retry.WaitMin,
		RetryWaitMax:   cfg.Retry.WaitMax,
		RetryMax:       cfg.Retry.MaxRetries,
		CheckRetry:     c.checkRetry,
		Backoff:        c.backoff,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: c.logAttempt,
	}
	return c
}

// Gate returns the client's host-wide pause gate.
func (c *Client) Gate() *Gate { return c.gate }

// attemptState travels in a request's context so that the retry policy,
// which retryablehttp calls without the request, knows its class and count.
type attemptState struct {
	class   RetryClass
	attempt int
	start   time.Time
}

type stateKey struct{}

// Request describes one API call for Do.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte // sent as is; nil for none
	Class  RetryClass
	// Handle, when set, reads the response of each attempt that got one
	// (any status). Returning an error marked Retryable makes the attempt
	// count as failed for the retry policy (for example a truncated body on
	// a GET); other errors end the call.
	Handle func(*http.Response) error
}

// RetryableError marks an error found while reading a response as one
// that a new attempt may not repeat (a truncated or garbled body).
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Do sends r with retries. With a Handle, the response it returns has been
// read by Handle; without one, the caller must close its body. A response is
// returned for any status: turning statuses into errors is the caller's job.
func (c *Client) Do(ctx context.Context, r Request) (*http.Response, error) {
	st := &attemptState{class: r.Class, start: time.Now()}
	ctx = context.WithValue(ctx, stateKey{}, st)
	var body any
	if r.Body != nil {
		body = r.Body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if r.Handle != nil {
		req.SetResponseHandler(func(resp *http.Response) error {
			err := r.Handle(resp)
			if err == nil {
				return nil
			}
			var re *RetryableError
			if errors.As(err, &re) {
				return err
			}
			return &finalError{err}
		})
	}
	resp, err := c.rc.Do(req)
	var fe *finalError
	if errors.As(err, &fe) {
		err = fe.err
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		err = c.redactError(err)
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			return nil, errors.Join(ctxErr, err)
		}
		return nil, err
	}
	return resp, nil
}

// finalError carries a Handle error that must not be retried.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

func stateOf(ctx context.Context) *attemptState {
	if st, ok := ctx.Value(stateKey{}).(*attemptState); ok {
		return st
	}
	return &attemptState{class: NoRetry}
}

func (c *Client) logAttempt(_ retryablehttp.Logger, req *http.Request, i int) {
	stateOf(req.Context()).attempt = i + 1
	countCall(req.Context())
	if !c.logger.Enabled(req.Context(), slog.LevelDebug) {
		return
	}
	c.logger.LogAttrs(req.Context(), slog.LevelDebug, "http request",
		slog.String("method", req.Method),
		slog.String("url", c.secrets.Redact(RedactURL(req.URL))),
		slog.Int("attempt", i+1))
}

// checkRetry is the retry policy: see RetryClass for which failures are
// retried. A wait that would pass the context's deadline ends the retries,
// so a rate-limited call returns its 429 (with the server's Retry-After)
// instead of sleeping into a deadline.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st := stateOf(ctx)
	var fe *finalError
	if errors.As(err, &fe) {
		return false, err
	}
	retry := c.shouldRetry(st.class, resp, err)
	if d, ok := WaitHint(resp, time.Now()); ok && d > 0 {
		// Every request to this host waits, not only this one.
		c.gate.PauseUntil(time.Now().Add(min(d, c.cfg.Retry.WaitMax)))
	}
	if !retry || st.attempt > c.cfg.Retry.MaxRetries {
		if err != nil {
			var re *RetryableError
			if errors.As(err, &re) {
				return false, re.Err
			}
		}
		return false, err
	}
	if dl, ok := ctx.Deadline(); ok {
		if d, ok := WaitHint(resp, time.Now()); ok && time.Now().Add(min(d, c.cfg.Retry.WaitMax)).After(dl) {
			return false, nil
		}
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "http retry",
		slog.Int("attempt", st.attempt),
		slog.Int("status", statusOf(resp)),
		slog.String("error", errText(c.secrets, c.redactError(err))))
	if c.cfg.OnRetry != nil {
		c.cfg.OnRetry(ctx, st.attempt, resp, err)
	}
	return true, nil
}

// Permanent is implemented by errors that say whether trying again can
// help (an OAuth grant the token endpoint refused cannot); a transport
// error that is Permanent is never retried.
type Permanent interface {
	Permanent() bool
}

func (c *Client) shouldRetry(class RetryClass, resp *http.Response, err error) bool {
	if class == NoRetry {
		return false
	}
	if err != nil {
		var perm Permanent
		if errors.As(err, &perm) && perm.Permanent() {
			return false
		}
		var re *RetryableError
		if errors.As(err, &re) {
			return class != NonIdempotent
		}
		if errors.Is(err, ErrCrossHostRedirect) {
			return false
		}
		var pe *PausedError
		if errors.As(err, &pe) {
			return false
		}
		if class == NonIdempotent {
			return isDialError(err)
		}
		return true
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return class != NonIdempotent
	}
	return false
}

// isDialError reports whether err happened while connecting, before any
// byte of the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// backoff is the wait before a retry: what the response asks for (see
// WaitHint), else exponential from WaitMin with jitter; every wait is capped
// at WaitMax.
func (c *Client) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if d, ok := WaitHint(resp, time.Now()); ok {
		return min(d, maxWait)
	}
	return ExpBackoff(minWait, maxWait, attempt)
}

// ExpBackoff is minWait·2^attempt capped at maxWait, with jitter: a random
// wait between half and all of that.
func ExpBackoff(minWait, maxWait time.Duration, attempt int) time.Duration {
	if minWait <= 0 {
		return 0
	}
	d := minWait
	for i := 0; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	if maxWait > 0 && d > maxWait {
		d = maxWait
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// redactError removes secrets from the URL net/http puts in its errors.
func (c *Client) redactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = c.secrets.Redact(RedactURL(u))
		} else {
			ue.URL = Redacted
		}
	}
	return err
}

func errText(s *Secrets, err error) string {
	if err == nil {
		return ""
	}
	return s.Redact(err.Error())
}
