package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-querystring/query"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// Version is the snowsync version sent in the default User-Agent.
const Version = "0.1.0"

const defaultUserAgent = "snowsync/" + Version + " (+https://github.com/stackflow-tech/snowsync)"

// Client talks to one ServiceNow instance. It is safe for concurrent use by
// many goroutines; create one per instance and credential and share it.
type Client struct {
	base       *url.URL // https://acme.service-now.com/
	apiVersion string
	http       *httpx.Client
	secrets    *httpx.Secrets
	userAgent  string
	logger     *slog.Logger
	auth       authKind
	username   string // the configured user, for Test Connection (never the password)
	oauth      *oauthSource

	clockMu    sync.Mutex
	serverDate time.Time // last Date header seen
	seenAt     time.Time // local time (with monotonic reading) when it was seen
}

// NewClient returns a client for the instance at instanceURL, such as
// "https://acme.service-now.com". It does no I/O. The URL must use https
// unless its host is loopback or WithInsecureHTTP is given; it must not
// carry credentials, a query or a path beyond "/".
func NewClient(instanceURL string, opts ...Option) (*Client, error) {
	o := options{retry: DefaultRetryPolicy, apiVersion: "v2", timeout: 90 * time.Second, userAgent: defaultUserAgent}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	base, err := parseInstanceURL(instanceURL, o.allowHTTP)
	if err != nil {
		return nil, err
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		base:       base,
		apiVersion: o.apiVersion,
		secrets:    &httpx.Secrets{},
		userAgent:  o.userAgent,
		logger:     logger,
		auth:       o.auth,
	}
	var baseRT http.RoundTripper
	timeout := o.timeout
	if o.httpClient != nil {
		baseRT = o.httpClient.Transport
		if o.httpClient.Timeout > 0 {
			timeout = o.httpClient.Timeout
		}
	}
	if baseRT == nil {
		baseRT = http.DefaultTransport
	}
	cfg := httpx.Config{
		Base:    baseRT,
		Timeout: timeout,
		Retry:   httpx.Retry{MaxRetries: o.retry.MaxRetries, WaitMin: o.retry.WaitMin, WaitMax: o.retry.WaitMax},
		Logger:  logger,
		Secrets: c.secrets,
	}
	if o.limiter != nil {
		cfg.Limiter = o.limiter
	}
	if o.onRetry != nil {
		cfg.OnRetry = httpx.OnRetryFunc(o.onRetry)
	}
	switch o.auth {
	case authBasic:
		c.username = o.username
		c.secrets.Add(o.password)
		user, pass := o.username, o.password
		cfg.Auth = func(next http.RoundTripper) http.RoundTripper {
			return &httpx.BasicAuthTransport{Username: user, Password: pass, Next: next}
		}
	case authOAuth:
		c.username = o.oauth.Username
		c.secrets.Add(o.oauth.ClientSecret, o.oauth.Password)
		c.secrets.AddRotating(o.oauth.RefreshToken)
		cfg.Auth = func(next http.RoundTripper) http.RoundTripper {
			c.oauth = newOAuthSource(c, o.oauth, &http.Client{Transport: next, Timeout: timeout, CheckRedirect: httpx.CheckRedirect})
			return &httpx.TokenTransport{Source: c.oauth, Next: next}
		}
	case authTokenSource:
		ts := o.tokenSource
		cfg.Auth = func(next http.RoundTripper) http.RoundTripper {
			return &httpx.TokenTransport{Source: &httpx.RecordingSource{Source: ts, Secrets: c.secrets}, Next: next}
		}
	}
	c.http = httpx.NewClient(cfg)
	return c, nil
}

func parseInstanceURL(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("servicenow: the instance URL is empty (want e.g. https://acme.service-now.com)")
	}
	if strings.Contains(raw, "@") {
		// Userinfo: never echo it, not even in a parse error (a password
		// holding '#', '/' or '?' makes the URL unparsable, and url.Parse's
		// error would quote it).
		return nil, errors.New("servicenow: the instance URL carries credentials (an '@' before the host; the URL is not shown): pass them with WithBasicAuth or WithOAuth instead")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("servicenow: the instance URL %q does not parse: %w", raw, err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("servicenow: the instance URL %q has no host (want e.g. https://acme.service-now.com)", raw)
	}
	if u.User != nil {
		return nil, errors.New("servicenow: the instance URL carries credentials: pass them with WithBasicAuth or WithOAuth instead")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("servicenow: the instance URL %q has a query or fragment: give only the instance root", httpx.RedactURL(u))
	}
	if p := strings.TrimRight(u.Path, "/"); p != "" {
		return nil, fmt.Errorf("servicenow: the instance URL %q has a path %q: give only the instance root (the client adds /api/now/...)", raw, u.Path)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("servicenow: the instance URL %q uses plain http: use https (or WithInsecureHTTP for a test setup)", raw)
		}
	default:
		return nil, fmt.Errorf("servicenow: the instance URL %q must start with https://", raw)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// InstanceURL returns the instance root the client talks to.
func (c *Client) InstanceURL() string { return strings.TrimSuffix(c.base.String(), "/") }

// String describes the client without secrets.
func (c *Client) String() string {
	who := c.auth.String()
	if c.username != "" {
		who += " as " + c.username
	}
	return "servicenow.Client(" + c.InstanceURL() + ", " + who + ")"
}

// LogValue makes slog show the client without secrets.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("instance", c.InstanceURL()), slog.String("auth", c.auth.String()), slog.String("user", c.username))
}

// ServerTime estimates the instance's current time from the Date header of
// the latest answer plus the local time elapsed since (monotonic). It
// reports false before any answer arrived. Its precision is the Date
// header's: one second.
func (c *Client) ServerTime() (time.Time, bool) {
	c.clockMu.Lock()
	defer c.clockMu.Unlock()
	if c.serverDate.IsZero() {
		return time.Time{}, false
	}
	return c.serverDate.Add(time.Since(c.seenAt)), true
}

func (c *Client) noteDate(h http.Header) time.Time {
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return time.Time{}
	}
	d = d.UTC()
	c.clockMu.Lock()
	c.serverDate, c.seenAt = d, time.Now()
	c.clockMu.Unlock()
	return d
}

// Response is the HTTP answer of a call, with what ServiceNow's headers
// say parsed out. Its Body has been read and closed.
type Response struct {
	*http.Response
	// TotalCount is X-Total-Count, the number of records the query matched
	// (before ACLs hide any); -1 when absent.
	TotalCount int
	// NextOffset, FirstOffset and LastOffset come from the Link header; -1
	// when the relation is absent (no next on the last page, no Link at all
	// when everything fits one page).
	NextOffset, FirstOffset, LastOffset int
	// PrevOffset is the Link header's prev offset when HasPrev; ServiceNow
	// sends offset-limit, negative on the first page.
	PrevOffset int
	HasPrev    bool
	// Returned is the number of records in the page; Hidden the number the
	// page should have held by X-Total-Count and the limit but did not,
	// because ACLs filtered them after the limit was applied.
	Returned, Hidden int
	// RateLimit is what a matching rate-limit rule said.
	RateLimit RateLimit
	// ServerTime is the instance's Date header.
	ServerTime time.Time
	// TransactionID is X-Transaction-ID, for ServiceNow support.
	TransactionID string
}

// RateLimit is what ServiceNow reports when a rate-limit rule matches a
// request (§7.1 of the API notes): the hourly limit, when the count resets,
// and the rule. All zero when no rule matched.
type RateLimit struct {
	Limit int
	Reset time.Time
	Rule  string
}

func (c *Client) newResponse(resp *http.Response) *Response {
	r := &Response{Response: resp, TotalCount: -1, NextOffset: -1, FirstOffset: -1, LastOffset: -1}
	h := resp.Header
	if v := h.Get("X-Total-Count"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			r.TotalCount = n
		}
	}
	if l := h.Get("Link"); l != "" {
		links := httpx.ParseLink(l)
		for rel, dst := range map[string]*int{"next": &r.NextOffset, "first": &r.FirstOffset, "last": &r.LastOffset} {
			if n, ok := httpx.QueryInt(links[rel], "sysparm_offset"); ok && n >= 0 {
				*dst = n
			}
		}
		if n, ok := httpx.QueryInt(links["prev"], "sysparm_offset"); ok {
			r.PrevOffset, r.HasPrev = n, true
		}
	}
	if n, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil {
		r.RateLimit.Limit = n
	}
	if t, ok := httpx.ParseUnixSeconds(h.Get("X-RateLimit-Reset")); ok {
		r.RateLimit.Reset = t
	}
	r.RateLimit.Rule = h.Get("X-RateLimit-Rule")
	r.ServerTime = c.noteDate(h)
	r.TransactionID = h.Get("X-Transaction-ID")
	return r
}

// call is one API request.
type call struct {
	method string
	path   string     // relative to the instance root, e.g. api/now/v2/table/incident
	query  url.Values // may be nil
	body   any        // marshalled as JSON when not nil
	class  httpx.RetryClass
	table  string
	// decode reads a 2xx JSON body; nil discards it.
	decode func(io.Reader) error
	// notFoundIsEmpty makes a 404 "No Record found" a success (v1 lists).
	notFoundIsEmpty bool
}

// do sends cl and turns the answer into a Response or an error.
func (c *Client) do(ctx context.Context, cl call) (*Response, error) {
	if ctx == nil {
		return nil, errors.New("servicenow: nil context")
	}
	u := *c.base
	u.Path = "/" + cl.path
	u.RawPath = ""
	if len(cl.query) > 0 {
		u.RawQuery = cl.query.Encode()
	}
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return nil, fmt.Errorf("servicenow: encoding the request body: %w", err)
		}
	}
	hdr := http.Header{}
	hdr.Set("Accept", "application/json")
	hdr.Set("User-Agent", c.userAgent)
	if body != nil {
		hdr.Set("Content-Type", "application/json")
	}
	var out *Response
	handle := func(resp *http.Response) error {
		defer resp.Body.Close()
		r := c.newResponse(resp)
		if err := c.check(resp, cl); err != nil {
			var apiErr *Error
			if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && cl.notFoundIsEmpty {
				out = r
				return nil
			}
			return err
		}
		if cl.decode != nil && resp.StatusCode != http.StatusNoContent && cl.method != http.MethodHead {
			if err := cl.decode(resp.Body); err != nil {
				return c.decodeError(resp, cl, err)
			}
		}
		out = r
		return nil
	}
	_, err := c.http.Do(ctx, httpx.Request{Method: cl.method, URL: u.String(), Header: hdr, Body: body, Class: cl.class, Handle: handle})
	if err != nil {
		return out, c.wrapTransportError(cl, &u, err)
	}
	return out, nil
}

// check turns a non-2xx answer, or a 2xx answer that is not JSON, into an
// *Error.
func (c *Client) check(resp *http.Response, cl call) error {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	ct := resp.Header.Get("Content-Type")
	if ok && isJSON(ct) {
		return nil
	}
	e := &Error{
		StatusCode:    resp.StatusCode,
		Method:        cl.method,
		URL:           c.sanitize(resp.Request.URL),
		Table:         cl.table,
		TransactionID: resp.Header.Get("X-Transaction-ID"),
	}
	if d, ok := httpx.WaitHint(resp, time.Now()); ok {
		e.RetryAfter = d
	}
	raw, _, _ := httpx.ReadCapped(resp.Body, httpx.MaxErrorBody)
	if !isJSON(ct) || looksHTML(raw) {
		e.unavailable = true
		e.Message = "the instance answered with a " + mediaType(ct) + " page instead of JSON"
		if t := htmlTitle(raw); t != "" {
			e.Message += ": " + t
		}
		e.Body = c.secrets.Redact(string(raw[:min(len(raw), 512)]))
		return e
	}
	var env errorEnvelope
	if err := json.Unmarshal(raw, &env); err == nil && env.Error != nil {
		e.Message = c.secrets.Redact(scalarText(env.Error.Message))
		e.Detail = c.secrets.Redact(scalarText(env.Error.Detail))
	} else if len(raw) > 0 {
		e.Body = c.secrets.Redact(string(raw[:min(len(raw), 512)]))
	}
	return e
}

func mediaType(ct string) string {
	if ct == "" {
		return "non-JSON"
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(ct)
}

// decodeError reports a 2xx body that did not decode: truncated (a
// "Transaction cancelled" answer), garbled, or the wrong shape. For reads it
// is retryable.
func (c *Client) decodeError(resp *http.Response, cl call, err error) error {
	e := &Error{
		StatusCode:    resp.StatusCode,
		Method:        cl.method,
		URL:           c.sanitize(resp.Request.URL),
		Table:         cl.table,
		TransactionID: resp.Header.Get("X-Transaction-ID"),
		unavailable:   true,
	}
	var cancelled *transactionError
	switch {
	case errors.As(err, &cancelled):
		e.Message = cancelled.message
		e.Detail = cancelled.detail
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		e.Message = "the answer was cut short (truncated JSON): ServiceNow cancels transactions after 60 s; a smaller page or fewer fields helps"
	default:
		e.Message = "the answer is not valid Table API JSON: " + c.secrets.Redact(err.Error())
	}
	if cl.method == http.MethodPost || cl.method == http.MethodPatch {
		e.Detail = strings.TrimSpace(e.Detail + " the write may have been applied: look the record up before trying again")
	}
	return &httpx.RetryableError{Err: e}
}

// wrapTransportError makes a transport failure say which call failed,
// without secrets, keeping the cause for errors.Is.
func (c *Client) wrapTransportError(cl call, u *url.URL, err error) error {
	var apiErr *Error
	var oe *OAuthError
	if errors.As(err, &apiErr) || errors.As(err, &oe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("servicenow: %s %s: %w", cl.method, c.sanitize(u), err)
	}
	var pe *httpx.PausedError
	if errors.As(err, &pe) {
		return &Error{StatusCode: http.StatusTooManyRequests, Method: cl.method, URL: c.sanitize(u), Table: cl.table,
			Message: "not sent: " + pe.Error(), RetryAfter: time.Until(pe.Until)}
	}
	return &TransportError{Method: cl.method, URL: c.sanitize(u), Err: err}
}

// TransportError is a failure to get any answer: connection refused or
// reset, TLS, timeout. For writes the outcome is unknown: the request may
// have been applied.
type TransportError struct {
	Method string
	URL    string
	Err    error
}

func (e *TransportError) Error() string {
	return "servicenow: " + e.Method + " " + e.URL + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// Is makes a transport failure match ErrInstanceUnavailable.
func (e *TransportError) Is(target error) bool { return target == ErrInstanceUnavailable }

// sanitize renders a request URL for errors: relative to the instance,
// without secrets.
func (c *Client) sanitize(u *url.URL) string {
	if u == nil {
		return ""
	}
	s := c.secrets.Redact(httpx.RedactURL(u))
	return strings.TrimPrefix(s, c.InstanceURL()+"/")
}

// values encodes opts (a go-querystring tagged struct) into query values.
func values(opts any) (url.Values, error) {
	v, err := query.Values(opts)
	if err != nil {
		return nil, fmt.Errorf("servicenow: encoding options: %w", err)
	}
	return v, nil
}

// transactionError is an error object found inside a 2xx body: ServiceNow's
// "Transaction cancelled: maximum execution time exceeded".
type transactionError struct{ message, detail string }

func (e *transactionError) Error() string {
	if e.detail != "" {
		return e.message + ": " + e.detail
	}
	return e.message
}

// decodeEnvelope walks {"result": …} with a streaming decoder: result is
// passed to onResult, an "error" object beside it (a cancelled transaction)
// becomes an error, and the body must end cleanly.
func decodeEnvelope(r io.Reader, onResult func(dec *json.Decoder) error) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want a JSON object, got %v", tok)
	}
	sawResult := false
	var txErr *transactionError
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := keyTok.(string)
		switch key {
		case "result":
			sawResult = true
			if err := onResult(dec); err != nil {
				return err
			}
		case "error":
			var e struct {
				Message json.RawMessage `json:"message"`
				Detail  json.RawMessage `json:"detail"`
			}
			if err := dec.Decode(&e); err != nil {
				return err
			}
			txErr = &transactionError{message: scalarText(e.Message), detail: scalarText(e.Detail)}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if txErr != nil {
		return txErr
	}
	if !sawResult {
		return errors.New(`the body has no "result"`)
	}
	// Nothing may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the JSON object")
		}
		return err
	}
	return nil
}
