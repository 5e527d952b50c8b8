package sf

import (
	"fmt"
	"net/http"
	"strings"
)

// Error codes of the contract.
const (
	CodeBadRequest           = "bad_request"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeVersionConflict      = "version_conflict"
	CodeDuplicateExternalID  = "duplicate_external_id"
	CodeIdempotencyKeyInUse  = "idempotency_key_in_use"
	CodePayloadTooLarge      = "payload_too_large"
	CodeValidationFailed     = "validation_failed"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeRateLimited          = "rate_limited"
	CodeInternal             = "internal"
	CodeUnavailable          = "unavailable"
)

// Detail names one bad field of a request.
type Detail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// APIError is an error the fake answers with, and what its test-side
// methods (Create, Update, ConfigureServiceNow, ...) return for bad input.
type APIError struct {
	Status  int      // HTTP status
	Code    string   // contract error code, e.g. validation_failed
	Message string   // human-readable summary
	Details []Detail // one per bad field, for validation_failed
}

// Error summarises the error on one line.
func (e *APIError) Error() string {
	return fmt.Sprintf("sf: %d %s: %s", e.Status, e.Code, e.Message)
}

func errorf(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// validationError builds a 422 from details; its message lists the first few.
func validationError(details []Detail) *APIError {
	parts := make([]string, 0, 3)
	for i, d := range details {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(details)-3))
			break
		}
		parts = append(parts, d.Field+" "+d.Message)
	}
	return &APIError{
		Status:  http.StatusUnprocessableEntity,
		Code:    CodeValidationFailed,
		Message: strings.Join(parts, "; "),
		Details: details,
	}
}

// recordError is the per-record error object of a bulk upsert result.
type recordError struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

// errorEnvelope is the body of every error answer.
type errorEnvelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	RequestID string   `json:"request_id"`
	Details   []Detail `json:"details,omitempty"`
}
