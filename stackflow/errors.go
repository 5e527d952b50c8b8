package stackflow

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is against any error a call returns.
var (
	// ErrBadRequest: StackFlow refused the request as malformed (400
	// bad_request): a bad cursor, an unknown query parameter, a malformed
	// If-Match or Idempotency-Key.
	ErrBadRequest = errors.New("stackflow: bad request")
	// ErrUnauthorized: the token is missing, unknown or expired (401).
	ErrUnauthorized = errors.New("stackflow: unauthorized")
	// ErrForbidden: the token lacks the role the call needs (403): agent to
	// write records, super_admin for the Integration Hub.
	ErrForbidden = errors.New("stackflow: forbidden")
	// ErrNotFound: no such record, job or configuration (404).
	ErrNotFound = errors.New("stackflow: not found")
	// ErrConflict: the write conflicts with the stored state (409); see
	// ErrVersionConflict and ErrDuplicateExternalID for the two usual causes.
	ErrConflict = errors.New("stackflow: conflict")
	// ErrVersionConflict: the record's version is not the one given in
	// If-Match (409 version_conflict): someone wrote it in between. It also
	// matches ErrConflict.
	ErrVersionConflict = errors.New("stackflow: version conflict")
	// ErrDuplicateExternalID: a live record of the module already has the
	// (source, external_id) (409 duplicate_external_id). It also matches
	// ErrConflict.
	ErrDuplicateExternalID = errors.New("stackflow: duplicate external id")
	// ErrValidation: the body was refused field by field (422
	// validation_failed, with Details), or a *ValidationError found the same
	// problems before any request was sent.
	ErrValidation = errors.New("stackflow: validation failed")
	// ErrRateLimited: the token used up its rate-limit window (429) and the
	// wait it asked for was longer than the retries or the context allowed.
	ErrRateLimited = errors.New("stackflow: rate limited")
	// ErrUnavailable: StackFlow did not answer like its API: a 5xx, a body
	// that is not JSON (a proxy or maintenance page), a truncated body, or no
	// answer at all (*TransportError).
	ErrUnavailable = errors.New("stackflow: unavailable")
)

// ErrorCode is the machine-readable code of a StackFlow error.
type ErrorCode string

// The error codes of the contract.
const (
	CodeBadRequest           ErrorCode = "bad_request"
	CodeUnauthorized         ErrorCode = "unauthorized"
	CodeForbidden            ErrorCode = "forbidden"
	CodeNotFound             ErrorCode = "not_found"
	CodeMethodNotAllowed     ErrorCode = "method_not_allowed"
	CodeVersionConflict      ErrorCode = "version_conflict"
	CodeDuplicateExternalID  ErrorCode = "duplicate_external_id"
	CodeIdempotencyKeyInUse  ErrorCode = "idempotency_key_in_use"
	CodePayloadTooLarge      ErrorCode = "payload_too_large"
	CodeValidationFailed     ErrorCode = "validation_failed"
	CodeIdempotencyKeyReused ErrorCode = "idempotency_key_reused"
	CodeRateLimited          ErrorCode = "rate_limited"
	CodeInternal             ErrorCode = "internal"
	CodeUnavailable          ErrorCode = "unavailable"
)

// FieldError names one bad field: its JSON path (e.g. "priority",
// "table_mappings[2].direction") and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// String renders the problem as "field: message".
func (f FieldError) String() string { return f.Field + ": " + f.Message }

// Error is an error answer from StackFlow. It matches the sentinels above
// with errors.Is according to its status and code.
type Error struct {
	StatusCode int
	Method     string
	URL        string    // relative to the base URL, without secrets
	Code       ErrorCode // StackFlow's error.code, e.g. validation_failed
	Message    string    // StackFlow's error.message
	RequestID  string    // error.request_id (or X-Request-Id), for StackFlow support
	Details    []FieldError
	// RetryAfter is how long StackFlow asked to wait (429 and 503).
	RetryAfter time.Duration
	// Body is the start of an answer that was not StackFlow's JSON (an
	// HTML page from a proxy), without secrets.
	Body string

	notAPI bool
}

// Error renders the error as "stackflow: METHOD path: status code: message (details): hint [request id]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("stackflow: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	fmt.Fprintf(&b, ": %d", e.StatusCode)
	if e.Code != "" {
		b.WriteByte(' ')
		b.WriteString(string(e.Code))
	}
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.StatusCode != 0:
		b.WriteByte(' ')
		b.WriteString(http.StatusText(e.StatusCode))
	}
	if len(e.Details) > 0 {
		b.WriteString(" (")
		for i, d := range e.Details {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(d.String())
		}
		b.WriteByte(')')
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(": ")
		b.WriteString(hint)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		b.WriteString(" [request ")
		b.WriteString(e.RequestID)
		b.WriteByte(']')
	}
	return b.String()
}

// hint is the fix for the common errors.
func (e *Error) hint() string {
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return "check the StackFlow token (missing, unknown or expired)"
	case e.StatusCode == http.StatusForbidden && strings.Contains(e.URL, "integrations/"):
		return "the Integration Hub needs a token with the super_admin role"
	case e.StatusCode == http.StatusForbidden:
		return "writing records needs a token with the agent or super_admin role"
	case e.Code == CodeVersionConflict:
		return "the record changed since the version given in If-Match: get it again and reapply the change"
	case e.Code == CodeIdempotencyKeyReused:
		return "the Idempotency-Key was already used with another body: use a new key for a new request"
	}
	return ""
}

// Is maps the error to the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrVersionConflict:
		return e.StatusCode == http.StatusConflict && e.Code == CodeVersionConflict
	case ErrDuplicateExternalID:
		return e.StatusCode == http.StatusConflict && e.Code == CodeDuplicateExternalID
	case ErrValidation:
		return e.StatusCode == http.StatusUnprocessableEntity && (e.Code == CodeValidationFailed || e.Code == "")
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.notAPI || e.StatusCode >= 500
	}
	return false
}

// Temporary reports whether trying again later may succeed (429, 5xx, an
// answer that was not the API's).
func (e *Error) Temporary() bool {
	return e.notAPI || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500 ||
		e.Code == CodeIdempotencyKeyInUse
}

// TransportError is a failure to get any answer: connection refused or
// reset, TLS, timeout, or the caller's context ending first. It matches
// ErrUnavailable unless the caller's context ended (then it matches
// context.Canceled or context.DeadlineExceeded instead).
//
// For a write (create, update, bulk upsert, starting a job) that may have
// reached StackFlow, OutcomeUnknown is true: the write may or may not have
// been applied. A create or bulk upsert then carries its IdempotencyKey:
// sending the same body again with that key (CreateOptions.IdempotencyKey)
// within 24 hours returns the first answer instead of writing twice.
type TransportError struct {
	Method         string
	URL            string
	Err            error
	OutcomeUnknown bool
	IdempotencyKey string

	callerEnded bool
}

// Error says which call failed, why, and whether a write may have happened.
func (e *TransportError) Error() string {
	msg := "stackflow: " + e.Method + " " + e.URL + ": " + e.Err.Error()
	if e.OutcomeUnknown {
		msg += ": the outcome is unknown (the write may have been applied)"
		if e.IdempotencyKey != "" {
			msg += "; send it again with Idempotency-Key " + e.IdempotencyKey + " to get its result without writing twice"
		} else {
			msg += "; read the record before trying again"
		}
	}
	return msg
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// Is makes a transport failure match ErrUnavailable, unless it happened
// because the caller's context ended.
func (e *TransportError) Is(target error) bool { return target == ErrUnavailable && !e.callerEnded }

// InvalidInputError says an argument was refused before any request was
// sent; Field names it and Reason says what to fix.
type InvalidInputError struct {
	Field  string
	Reason string
}

// Error names the argument and what to fix.
func (e *InvalidInputError) Error() string { return "stackflow: " + e.Field + ": " + e.Reason }

// ValidationError lists every problem found in a value before it was sent
// (see ServiceNowConfig.Validate). It matches ErrValidation.
type ValidationError struct {
	// What names the value, e.g. "ServiceNow configuration".
	What     string
	Problems []FieldError
}

// Error lists every problem.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("stackflow: invalid ")
	b.WriteString(e.What)
	fmt.Fprintf(&b, " (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteByte('s')
	}
	b.WriteString("): ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Is makes a ValidationError match ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Fields returns the names of the bad fields, in order.
func (e *ValidationError) Fields() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Field
	}
	return out
}

// RecordError is why bulk upsert refused one record: validation_failed with
// Details, or duplicate_external_id. It matches ErrValidation, ErrConflict
// and ErrDuplicateExternalID like *Error does.
type RecordError struct {
	Code    ErrorCode    `json:"code"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
}

// Error renders the code, message and details.
func (e *RecordError) Error() string {
	var b strings.Builder
	b.WriteString("stackflow: ")
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Details) > 0 {
		b.WriteString(" (")
		for i, d := range e.Details {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(d.String())
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Is maps the record error to the package's sentinels by its code.
func (e *RecordError) Is(target error) bool {
	switch target {
	case ErrValidation:
		return e.Code == CodeValidationFailed
	case ErrConflict:
		return e.Code == CodeDuplicateExternalID || e.Code == CodeVersionConflict
	case ErrDuplicateExternalID:
		return e.Code == CodeDuplicateExternalID
	case ErrVersionConflict:
		return e.Code == CodeVersionConflict
	case ErrNotFound:
		return e.Code == CodeNotFound
	}
	return false
}

// BulkUpsertError says which request of a bulk upsert failed as a whole
// (not a per-record error): batch Batch (0-based) of Batches, holding the
// input records First..Last (inclusive). Records before First have their
// results; this batch and the later ones were not confirmed. Err is the
// cause (an *Error or a *TransportError).
type BulkUpsertError struct {
	Batch, Batches int
	First, Last    int
	Err            error
}

// Error says which batch and records failed, and why.
func (e *BulkUpsertError) Error() string {
	return fmt.Sprintf("stackflow: bulk upsert: batch %d of %d (records %d..%d) failed: %v", e.Batch+1, e.Batches, e.First, e.Last, e.Err)
}

// Unwrap returns the cause.
func (e *BulkUpsertError) Unwrap() error { return e.Err }

// JobFailedError is what WaitJob returns with a job that ended as failed.
type JobFailedError struct {
	Job *Job
}

// Error summarises the job's counts and first error.
func (e *JobFailedError) Error() string {
	msg := fmt.Sprintf("stackflow: sync job %s (%s) failed: %d created, %d updated, %d unchanged, %d failed",
		e.Job.ID, e.Job.Type, e.Job.Counts.Created, e.Job.Counts.Updated, e.Job.Counts.Unchanged, e.Job.Counts.Failed)
	if len(e.Job.Errors) > 0 {
		msg += ": " + e.Job.Errors[0].Message
		if n := len(e.Job.Errors) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more)", n)
		}
	}
	return msg
}
