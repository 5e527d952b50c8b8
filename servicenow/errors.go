package servicenow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is against any error a call returns.
var (
	// ErrNotFound: the record does not exist or an ACL hides it (ServiceNow
	// does not say which), or a v1 list matched nothing.
	ErrNotFound = errors.New("servicenow: not found")
	// ErrUnauthorized: the instance refused the credentials (401), or an
	// OAuth token request failed.
	ErrUnauthorized = errors.New("servicenow: unauthorized")
	// ErrForbidden: an ACL, business rule or data policy refused the call (403).
	ErrForbidden = errors.New("servicenow: forbidden")
	// ErrRateLimited: a rate-limit rule refused the call (429) and the wait
	// it asked for was longer than the retries or the context allowed.
	ErrRateLimited = errors.New("servicenow: rate limited")
	// ErrInvalidTable: the table does not exist (ServiceNow answers 400
	// "Invalid table <name>").
	ErrInvalidTable = errors.New("servicenow: invalid table")
	// ErrInstanceUnavailable: the instance answered with something that is
	// not an API answer: an HTML page (a hibernating developer instance, an
	// SSO login page, a load balancer), a truncated or garbled body, a 503.
	ErrInstanceUnavailable = errors.New("servicenow: instance unavailable")
	// ErrConflict: the write conflicts with the record's current state (409).
	ErrConflict = errors.New("servicenow: conflict")
)

// Error is an error answer from the instance. It matches the sentinels
// above with errors.Is according to its status and message.
type Error struct {
	StatusCode    int
	Method        string
	URL           string // sanitized: no credentials, no secret query values
	Message       string // ServiceNow's error.message
	Detail        string // ServiceNow's error.detail
	Table         string // the table of the call, when there is one
	RetryAfter    time.Duration
	TransactionID string // X-Transaction-ID, for ServiceNow support
	// Body is the start of a non-JSON answer (an HTML page), redacted.
	Body string

	unavailable bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("servicenow: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	fmt.Fprintf(&b, ": %d", e.StatusCode)
	switch {
	case e.Message != "":
		b.WriteByte(' ')
		b.WriteString(e.Message)
		if e.Detail != "" && e.Detail != e.Message {
			b.WriteString(" (")
			b.WriteString(e.Detail)
			b.WriteByte(')')
		}
	case e.StatusCode != 0:
		b.WriteByte(' ')
		b.WriteString(http.StatusText(e.StatusCode))
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(": ")
		b.WriteString(hint)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// hint is the fix for the common errors, after the integration guide's
// troubleshooting table.
func (e *Error) hint() string {
	switch {
	case e.unavailable && strings.Contains(e.Body, "Hibernating"):
		return "the instance is hibernating: sign in to the developer portal to wake it"
	case e.unavailable:
		return "the instance did not answer like the REST API (check the instance URL, SSO/proxy settings, and that the instance is up)"
	case e.StatusCode == http.StatusForbidden && isQueryACL(e.Message):
		return "the integration user may not read a field used in the query: grant read on it, or remove it from the filter"
	case e.StatusCode == http.StatusForbidden:
		t := "the table"
		if e.Table != "" {
			t = e.Table
		}
		return "grant the integration user the itil role or explicit ACLs on " + t
	case e.StatusCode == http.StatusUnauthorized:
		return "check the integration user's credentials (and that it is allowed web-service access)"
	}
	return ""
}

func isQueryACL(msg string) bool { return strings.Contains(msg, "Insufficient rights to query") }

// Is maps the error to the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrInvalidTable:
		return e.StatusCode == http.StatusBadRequest && strings.HasPrefix(e.Message, "Invalid table")
	case ErrInstanceUnavailable:
		return e.unavailable || e.StatusCode == http.StatusServiceUnavailable || e.StatusCode == http.StatusBadGateway || e.StatusCode == http.StatusGatewayTimeout
	}
	return false
}

// Temporary reports whether trying again later may succeed (429, 5xx,
// unavailable instance).
func (e *Error) Temporary() bool {
	return e.unavailable || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// errorEnvelope is ServiceNow's error body:
// {"error":{"message":…,"detail":…},"status":"failure"}.
type errorEnvelope struct {
	Error *struct {
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"error"`
	Status string `json:"status"`
}

// isJSON reports whether a Content-Type is JSON (ServiceNow sends
// application/json;charset=UTF-8). A missing type is taken as JSON.
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.Contains(strings.ToLower(contentType), "json")
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// looksHTML reports whether a body starts like an HTML page.
func looksHTML(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '<'
}

// htmlTitle returns the <title> of an HTML page, if any.
func htmlTitle(b []byte) string {
	lower := bytes.ToLower(b)
	i := bytes.Index(lower, []byte("<title"))
	if i < 0 {
		return ""
	}
	j := bytes.IndexByte(lower[i:], '>')
	if j < 0 {
		return ""
	}
	start := i + j + 1
	k := bytes.Index(lower[start:], []byte("</title"))
	if k < 0 {
		return ""
	}
	return strings.TrimSpace(string(b[start : start+k]))
}

// OAuthError is a failed request to /oauth_token.do. ServiceNow sends the
// same non-RFC body, {"error_description":"access_denied","error":"server_error"},
// for every cause (wrong client secret, wrong password, expired or revoked
// refresh token, grant type not allowed), so the message lists what to check.
type OAuthError struct {
	StatusCode  int
	Grant       string // password, refresh_token or client_credentials
	Code        string // the body's "error"
	Description string // the body's "error_description"
	Cause       error  // transport error or unexpected answer, when there was no OAuth body
}

// Permanent reports whether asking again cannot help: the token endpoint
// refused the grant (a 4xx other than 429, or an OAuth error code), as
// opposed to being unreachable or failing. The client does not retry an
// API call whose token was refused.
func (e *OAuthError) Permanent() bool {
	if e.Cause != nil {
		return false
	}
	if e.StatusCode == 0 {
		return e.Code != ""
	}
	return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != 429
}

func (e *OAuthError) Error() string {
	var b strings.Builder
	b.WriteString("servicenow: OAuth ")
	b.WriteString(e.Grant)
	b.WriteString(" grant failed")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (%d", e.StatusCode)
		if e.Code != "" || e.Description != "" {
			fmt.Fprintf(&b, " %s/%s", e.Code, e.Description)
		}
		b.WriteByte(')')
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	switch {
	case e.Cause != nil && errors.Is(e.Cause, ErrInstanceUnavailable):
	case e.Grant == "refresh_token":
		b.WriteString(": the refresh token may have expired (its lifetime is set in System OAuth > Application Registry, 100 days by default) or been revoked, or the client secret changed: regenerate the client secret in the ServiceNow OAuth registry and update it in your secret store")
	default:
		b.WriteString(": check the client ID and secret in System OAuth > Application Registry (regenerate the secret if it expired, then update it in your secret store), the integration user's password (and that it is not flagged for reset), and that the grant type is allowed")
	}
	return b.String()
}

// Is makes an OAuthError match ErrUnauthorized (or ErrInstanceUnavailable
// when the token endpoint answered with a non-API page).
func (e *OAuthError) Is(target error) bool {
	if target == ErrInstanceUnavailable {
		return e.Cause != nil && errors.Is(e.Cause, ErrInstanceUnavailable)
	}
	return target == ErrUnauthorized && (e.Cause == nil || !errors.Is(e.Cause, ErrInstanceUnavailable))
}

// Unwrap returns the underlying cause, if any.
func (e *OAuthError) Unwrap() error { return e.Cause }
