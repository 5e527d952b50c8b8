package stackflow

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"golang.org/x/oauth2"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// Version is the snowsync version sent in the default User-Agent.
const Version = "0.1.0"

const defaultUserAgent = "snowsync/" + Version + " (+https://github.com/stackflow-tech/snowsync)"

// defaultTimeout bounds one attempt unless WithTimeout or WithHTTPClient
// says otherwise.
const defaultTimeout = 60 * time.Second

// maxResponseBody caps how much of a successful answer is read: 1,000
// records with full 64 KiB attribute sets stay well below it.
const maxResponseBody = 256 << 20

// Client talks to one StackFlow tenant and stage. It is safe for concurrent
// use by many goroutines; create one per base URL and token and share it.
//
// The services are fields, as in go-github: sf.Incidents.List(...),
// sf.Integrations.ServiceNow.Test(...). Records returns the same calls over
// raw records for code that treats every module alike.
type Client struct {
	base      *url.URL // https://acme.stackflow-tech.com/prod/api/
	http      *httpx.Client
	secrets   *httpx.Secrets
	userAgent string
	authDesc  string

	clockMu    sync.Mutex
	serverDate time.Time // last Date header seen
	seenAt     time.Time // local time (with monotonic reading) when it was seen

	// Incidents is /incidents.
	Incidents *IncidentsService
	// Problems is /problems.
	Problems *ProblemsService
	// Changes is /changes.
	Changes *ChangesService
	// ServiceRequests is /service-requests.
	ServiceRequests *ServiceRequestsService
	// CIs is /cmdb/cis.
	CIs *CIsService
	// Relationships is /cmdb/relationships.
	Relationships *RelationshipsService
	// Integrations is the Integration Hub, /integrations.
	Integrations *IntegrationsService
}

// NewClient returns a client for the API at baseURL, the whole base URL
// such as "https://acme.stackflow-tech.com/prod/api". It does no I/O. The
// URL must use https unless its host is loopback or WithInsecureHTTP is
// given, and must not carry credentials, a query or a fragment. One of
// WithToken or WithTokenSource is required: every StackFlow call needs a
// bearer token.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	o := options{retry: DefaultRetryPolicy, timeout: defaultTimeout, userAgent: defaultUserAgent}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	base, err := parseBaseURL(baseURL, o.allowHTTP)
	if err != nil {
		return nil, err
	}
	if o.token == "" && o.tokenSource == nil {
		return nil, errors.New("stackflow: no credentials: pass WithToken or WithTokenSource (every call needs a bearer token)")
	}
	c := &Client{base: base, secrets: &httpx.Secrets{}, userAgent: o.userAgent}
	var ts oauth2.TokenSource
	if o.token != "" {
		c.secrets.Add(o.token)
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: o.token, TokenType: "Bearer"})
		c.authDesc = "static token"
	} else {
		ts = &httpx.RecordingSource{Source: o.tokenSource, Secrets: c.secrets}
		c.authDesc = "token source"
	}
	var baseRT http.RoundTripper
	timeout := o.timeout
	if o.httpClient != nil {
		baseRT = o.httpClient.Transport
		if o.httpClient.Timeout > 0 && !o.timeoutSet {
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
		Logger:  o.logger,
		Secrets: c.secrets,
		Auth: func(next http.RoundTripper) http.RoundTripper {
			return &httpx.TokenTransport{Source: ts, Next: next}
		},
	}
	if o.limiter != nil {
		cfg.Limiter = o.limiter
	}
	if o.onRetry != nil {
		cfg.OnRetry = httpx.OnRetryFunc(o.onRetry)
	}
	c.http = httpx.NewClient(cfg)

	c.Incidents = newService[Incident, IncidentInput](c, ModuleIncidents)
	c.Problems = newService[Problem, ProblemInput](c, ModuleProblems)
	c.Changes = newService[Change, ChangeInput](c, ModuleChanges)
	c.ServiceRequests = newService[ServiceRequest, ServiceRequestInput](c, ModuleServiceRequests)
	c.CIs = newService[CI, CIInput](c, ModuleCIs)
	c.Relationships = newService[Relationship, RelationshipInput](c, ModuleRelationships)
	c.Integrations = &IntegrationsService{ServiceNow: &ServiceNowIntegrationService{c: c}}
	return c, nil
}

// Records returns the calls of module m over raw records (Record in,
// Fields out), for code that handles every module the same way. An unknown
// module is reported by each call, before any I/O.
func (c *Client) Records(m Module) *RecordsService { return newService[Record, Fields](c, m) }

func parseBaseURL(raw string, allowHTTP bool) (*url.URL, error) {
	const example = "want e.g. https://acme.stackflow-tech.com/prod/api"
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("stackflow: the base URL is empty (" + example + ")")
	}
	if strings.Contains(raw, "@") {
		// Userinfo: never echo it, not even in a parse error (a password
		// holding '#', '/' or '?' makes the URL unparsable, and url.Parse's
		// error would quote it).
		return nil, errors.New("stackflow: the base URL carries credentials (an '@' before the host; the URL is not shown): pass the token with WithToken or WithTokenSource instead")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("stackflow: the base URL does not parse (%s): %w", example, err)
	}
	if u.User != nil {
		return nil, errors.New("stackflow: the base URL carries credentials: pass the token with WithToken or WithTokenSource instead")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("stackflow: the base URL %q has no host (%s)", raw, example)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("stackflow: the base URL %q has a query or fragment: give only scheme, host and path (%s)", httpx.RedactURL(u), example)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("stackflow: the base URL %q uses plain http: use https (or WithInsecureHTTP for a test setup)", raw)
		}
	default:
		return nil, fmt.Errorf("stackflow: the base URL %q must start with https:// (%s)", raw, example)
	}
	p := u.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	out, err := url.Parse(u.Scheme + "://" + u.Host + p)
	if err != nil {
		return nil, fmt.Errorf("stackflow: the base URL %q does not parse: %w", raw, err)
	}
	return out, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// BaseURL returns the base URL the client talks to, without the trailing
// slash.
func (c *Client) BaseURL() string { return strings.TrimSuffix(c.base.String(), "/") }

// String describes the client without secrets.
func (c *Client) String() string {
	return "stackflow.Client(" + c.BaseURL() + ", " + c.authDesc + ")"
}

// LogValue makes slog show the client without secrets.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL()), slog.String("auth", c.authDesc))
}

var _ slog.LogValuer = (*Client)(nil)

// ServerTime estimates StackFlow's current time from the Date header of the
// latest answer plus the local time elapsed since (monotonic). It reports
// false before any answer arrived. Its precision is the Date header's: one
// second.
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

// Response is the HTTP answer of a call, with what StackFlow's headers and
// paging fields say parsed out. Its Body has been read and closed.
type Response struct {
	*http.Response
	// NextCursor is the page's next_cursor: pass it as ListOptions.Cursor
	// (with the same filters) for the next page. Empty on the last page and
	// on answers that are not lists.
	NextCursor string
	// HasMore is the page's has_more: another page follows.
	HasMore bool
	// RequestID is X-Request-Id, for StackFlow support; errors repeat it.
	RequestID string
	// RateLimit is what the X-RateLimit-* headers say.
	RateLimit RateLimit
	// ServerTime is the answer's Date header (zero when absent).
	ServerTime time.Time
	// ETag is the record version of single-record answers, e.g. `"3"`.
	ETag string
	// Replayed is true when StackFlow answered with the stored answer of an
	// earlier request with the same Idempotency-Key (nothing new was written).
	Replayed bool
}

// RateLimit is StackFlow's per-token request budget: Limit requests per
// window, Remaining of them left, and the end of the window.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Time
}

func (c *Client) newResponse(resp *http.Response) *Response {
	h := resp.Header
	r := &Response{Response: resp, RequestID: h.Get("X-Request-Id"), ETag: h.Get("ETag"),
		Replayed: strings.EqualFold(h.Get("Idempotent-Replayed"), "true")}
	r.RateLimit.Limit = headerInt(h, "X-RateLimit-Limit")
	r.RateLimit.Remaining = headerInt(h, "X-RateLimit-Remaining")
	if t, ok := httpx.ParseUnixSeconds(h.Get("X-RateLimit-Reset")); ok {
		r.RateLimit.Reset = t
	}
	r.ServerTime = c.noteDate(h)
	return r
}

func headerInt(h http.Header, key string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(key)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// call is one API request.
type call struct {
	method string
	path   string     // relative to the base URL, already escaped, e.g. incidents/inc_1
	query  url.Values // may be nil
	body   []byte     // JSON, nil for none
	header http.Header
	class  httpx.RetryClass
	// decode reads a 2xx JSON body; nil discards it.
	decode func(io.Reader) error
	// idempotencyKey is the key the call carries, for error messages.
	idempotencyKey string
}

// do sends cl and turns the answer into a Response or an error.
func (c *Client) do(ctx context.Context, cl call) (*Response, error) {
	if ctx == nil {
		return nil, &InvalidInputError{Field: "ctx", Reason: "the context is nil"}
	}
	u, err := url.Parse(c.base.String() + cl.path)
	if err != nil {
		return nil, &InvalidInputError{Field: "path", Reason: fmt.Sprintf("%q does not make a URL: %v", cl.path, err)}
	}
	if len(cl.query) > 0 {
		u.RawQuery = cl.query.Encode()
	}
	hdr := http.Header{}
	for k, vs := range cl.header {
		hdr[k] = vs
	}
	hdr.Set("Accept", "application/json")
	hdr.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		hdr.Set("Content-Type", "application/json")
	}
	var out *Response
	handle := func(resp *http.Response) error {
		defer resp.Body.Close()
		r := c.newResponse(resp)
		out = r
		if err := c.check(resp, cl); err != nil {
			return err
		}
		if cl.decode != nil && resp.StatusCode != http.StatusNoContent {
			if err := cl.decode(io.LimitReader(resp.Body, maxResponseBody)); err != nil {
				return c.decodeError(resp, cl, err)
			}
		}
		return nil
	}
	_, err = c.http.Do(ctx, httpx.Request{Method: cl.method, URL: u.String(), Header: hdr, Body: cl.body, Class: cl.class, Handle: handle})
	if err != nil {
		return out, c.wrapTransportError(ctx, cl, u, err)
	}
	return out, nil
}

// check turns a non-2xx answer, or a 2xx answer that is not JSON, into an
// *Error.
func (c *Client) check(resp *http.Response, cl call) error {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	ct := resp.Header.Get("Content-Type")
	if ok && (isJSON(ct) || resp.StatusCode == http.StatusNoContent) {
		return nil
	}
	e := &Error{
		StatusCode: resp.StatusCode,
		Method:     cl.method,
		URL:        c.sanitize(resp.Request.URL),
		RequestID:  resp.Header.Get("X-Request-Id"),
	}
	if d, ok := httpx.WaitHint(resp, time.Now()); ok {
		e.RetryAfter = d
	}
	raw, truncated, rerr := httpx.ReadCapped(resp.Body, httpx.MaxErrorBody)
	if !isJSON(ct) || looksHTML(raw) {
		e.notAPI = true
		e.Message = "StackFlow answered with a " + mediaType(ct) + " body instead of JSON (a proxy, load balancer or maintenance page?)"
		e.Body = c.secrets.Redact(snippet(raw))
		return e
	}
	var env struct {
		Error *struct {
			Code      string       `json:"code"`
			Message   string       `json:"message"`
			RequestID string       `json:"request_id"`
			Details   []FieldError `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err == nil && env.Error != nil {
		e.Code = ErrorCode(env.Error.Code)
		e.Message = c.secrets.Redact(env.Error.Message)
		if env.Error.RequestID != "" {
			e.RequestID = env.Error.RequestID
		}
		for _, d := range env.Error.Details {
			e.Details = append(e.Details, FieldError{Field: d.Field, Message: c.secrets.Redact(d.Message)})
		}
		return e
	}
	e.notAPI = truncated || rerr != nil || len(raw) > 0
	if e.notAPI {
		e.Message = "the error answer is not StackFlow's JSON error envelope"
		e.Body = c.secrets.Redact(snippet(raw))
	}
	return e
}

func snippet(b []byte) string {
	const max = 512
	if len(b) > max {
		b = b[:max]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
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

// decodeError reports a 2xx body that did not decode: truncated, garbled,
// or the wrong shape. It is retryable for calls that may be repeated
// (reads, keyed writes); for other writes the error says the write was
// applied.
func (c *Client) decodeError(resp *http.Response, cl call, err error) error {
	e := &Error{
		StatusCode: resp.StatusCode,
		Method:     cl.method,
		URL:        c.sanitize(resp.Request.URL),
		RequestID:  resp.Header.Get("X-Request-Id"),
		notAPI:     true,
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		e.Message = "the answer was cut short (truncated JSON)"
	default:
		e.Message = "the answer is not the JSON the API documents: " + c.secrets.Redact(err.Error())
	}
	if cl.method == http.MethodPost || cl.method == http.MethodPatch || cl.method == http.MethodPut {
		e.Message += fmt.Sprintf(" although the status (%d) says the write was applied", resp.StatusCode)
		if cl.idempotencyKey != "" {
			e.Message += "; repeat it with the same Idempotency-Key to get its answer without writing again"
		} else {
			e.Message += "; get the record before trying again"
		}
	}
	return &httpx.RetryableError{Err: e}
}

// wrapTransportError makes a failure without an answer say which call
// failed and whether a write may have happened, without secrets, keeping
// the cause for errors.Is (context.Canceled, context.DeadlineExceeded, ...).
func (c *Client) wrapTransportError(ctx context.Context, cl call, u *url.URL, err error) error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return err
	}
	var pe *httpx.PausedError
	if errors.As(err, &pe) {
		return &Error{StatusCode: http.StatusTooManyRequests, Method: cl.method, URL: c.sanitize(u),
			Code: CodeRateLimited, Message: "not sent: " + pe.Error(), RetryAfter: time.Until(pe.Until)}
	}
	return &TransportError{
		Method: cl.method, URL: c.sanitize(u), Err: err, IdempotencyKey: cl.idempotencyKey,
		OutcomeUnknown: cl.class != httpx.Idempotent && !isDialError(err) && !errors.Is(err, httpx.ErrCrossHostRedirect),
		callerEnded:    ctx.Err() != nil,
	}
}

// isDialError reports whether err happened while connecting, before any
// byte of the request was sent (so a write cannot have happened).
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// sanitize renders a request URL for errors: relative to the base URL,
// without secrets.
func (c *Client) sanitize(u *url.URL) string {
	if u == nil {
		return ""
	}
	s := c.secrets.Redact(httpx.RedactURL(u))
	return strings.TrimPrefix(s, c.base.String())
}

// newIdempotencyKey returns a random 128-bit key, hex encoded.
func newIdempotencyKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("stackflow: generating an Idempotency-Key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validIdempotencyKey checks a caller's key against the contract: 1..255
// visible ASCII characters.
func validIdempotencyKey(k string) error {
	if k == "" || len(k) > 255 {
		return &InvalidInputError{Field: "IdempotencyKey", Reason: "must be 1..255 visible ASCII characters"}
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return &InvalidInputError{Field: "IdempotencyKey", Reason: fmt.Sprintf("character %d is not visible ASCII (no spaces or control characters)", i)}
		}
	}
	return nil
}

// decodeJSON decodes one JSON document from r into v, numbers in
// interface values as json.Number, and refuses trailing data.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the JSON document")
		}
		return err
	}
	return nil
}

// isJSON reports whether a Content-Type is JSON. A missing type is taken
// as JSON.
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt := strings.ToLower(mediaType(contentType))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// looksHTML reports whether a body starts like an HTML page.
func looksHTML(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '<'
}
