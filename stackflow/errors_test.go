package stackflow

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorAnswersMatchTheSentinels(t *testing.T) {
	t.Parallel()
	all := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrVersionConflict,
		ErrDuplicateExternalID, ErrValidation, ErrRateLimited, ErrUnavailable}
	cases := []struct {
		name   string
		status int
		code   string
		want   []error
	}{
		{"a malformed request", 400, "bad_request", []error{ErrBadRequest}},
		{"a missing token", 401, "unauthorized", []error{ErrUnauthorized}},
		{"a token without the role", 403, "forbidden", []error{ErrForbidden}},
		{"an unknown record", 404, "not_found", []error{ErrNotFound}},
		{"a stale If-Match", 409, "version_conflict", []error{ErrConflict, ErrVersionConflict}},
		{"a taken external id", 409, "duplicate_external_id", []error{ErrConflict, ErrDuplicateExternalID}},
		{"a key still in use", 409, "idempotency_key_in_use", []error{ErrConflict}},
		{"bad fields", 422, "validation_failed", []error{ErrValidation}},
		{"a reused idempotency key", 422, "idempotency_key_reused", nil},
		{"a used-up rate limit", 429, "rate_limited", []error{ErrRateLimited}},
		{"a server fault", 500, "internal", []error{ErrUnavailable}},
		{"maintenance", 503, "unavailable", []error{ErrUnavailable}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t, WithRetry(RetryPolicy{}))
			mux.HandleFunc("GET /problems/prb_1", func(w http.ResponseWriter, r *http.Request) {
				writeError(w, tc.status, tc.code, "refused")
			})
			_, _, err := c.Problems.Get(ctxT(t), "prb_1")
			require.Error(t, err)
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, ErrorCode(tc.code), apiErr.Code)
			for _, s := range all {
				want := false
				for _, w := range tc.want {
					want = want || w == s
				}
				assert.Equal(t, want, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
		})
	}
}

func TestErrorSaysEverythingSupportNeeds(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("POST /incidents", func(w http.ResponseWriter, r *http.Request) {
		stdHeaders(w)
		w.Header().Set("X-Request-Id", "req_8f2c")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"error":{"code":"validation_failed","message":"priority must be 1..5","request_id":"req_8f2c",
			"details":[{"field":"priority","message":"must be 1..5"},{"field":"impact","message":"must be 1..3"}]}}`)
	})
	_, _, err := c.Records(ModuleIncidents).Create(ctxT(t), Fields{"title": "x", "priority": 9, "impact": 7}, nil)
	require.ErrorIs(t, err, ErrValidation)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "req_8f2c", apiErr.RequestID)
	assert.Equal(t, []FieldError{{"priority", "must be 1..5"}, {"impact", "must be 1..3"}}, apiErr.Details)
	assert.Equal(t, "POST", apiErr.Method)
	assert.Equal(t, "incidents", apiErr.URL)
	assert.Equal(t, "stackflow: POST incidents: 422 validation_failed: priority must be 1..5 (priority: must be 1..5; impact: must be 1..3) [request req_8f2c]", err.Error())
	assert.False(t, apiErr.Temporary())
}

func TestAnHTMLAnswerIsUnavailable(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	mux.HandleFunc("GET /cmdb/cis/ci_1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><title>Scheduled maintenance</title><body>back soon</body></html>")
	})
	_, _, err := c.CIs.Get(ctxT(t), "ci_1")
	require.ErrorIs(t, err, ErrUnavailable)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Contains(t, apiErr.Body, "Scheduled maintenance")
	assert.Contains(t, err.Error(), "text/html")
	assert.True(t, apiErr.Temporary())
}

func TestAnErrorAnswerThatIsNotTheEnvelopeIsUnavailable(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	mux.HandleFunc("GET /cmdb/cis/ci_1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, strings.Repeat(`{"upstream":"timeout"}`, 100_000))
	})
	_, _, err := c.CIs.Get(ctxT(t), "ci_1")
	require.ErrorIs(t, err, ErrUnavailable)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
	assert.LessOrEqual(t, len(apiErr.Body), 512, "only the start of a large body is kept")
}

func TestATruncatedReadIsRetried(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeJSON(w, http.StatusOK, incidentJSON[:200])
			return
		}
		writeJSON(w, http.StatusOK, incidentJSON)
	})
	inc, _, err := c.Incidents.Get(ctxT(t), "inc_1")
	require.NoError(t, err)
	assert.Equal(t, "inc_01JD0001", inc.ID)
	assert.EqualValues(t, 2, calls.Load())
}

func TestATruncatedAnswerToAPatchSaysTheWriteHappened(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("PATCH /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, http.StatusOK, incidentJSON[:200])
	})
	_, _, err := c.Incidents.Update(ctxT(t), "inc_1", IncidentInput{Priority: Ptr(1)}, nil)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "cut short")
	assert.Contains(t, err.Error(), "write was applied")
	assert.EqualValues(t, 1, calls.Load(), "an update is not sent twice")
}

func TestAnAnswerThatIsNotARecordIsRefused(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"data":[]}`)
	})
	_, _, err := c.Incidents.Get(ctxT(t), "inc_1")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "not a record")
}

func TestRecordAndValidationErrorsMatchTheSentinels(t *testing.T) {
	t.Parallel()
	dup := &RecordError{Code: CodeDuplicateExternalID, Message: "taken"}
	assert.ErrorIs(t, dup, ErrDuplicateExternalID)
	assert.ErrorIs(t, dup, ErrConflict)
	assert.NotErrorIs(t, dup, ErrValidation)
	bad := &RecordError{Code: CodeValidationFailed, Message: "bad", Details: []FieldError{{"title", "is required"}}}
	assert.ErrorIs(t, bad, ErrValidation)
	assert.Equal(t, "stackflow: validation_failed: bad (title: is required)", bad.Error())
	ve := &ValidationError{What: "thing", Problems: []FieldError{{"a", "x"}, {"b", "y"}}}
	assert.ErrorIs(t, ve, ErrValidation)
	assert.Equal(t, []string{"a", "b"}, ve.Fields())
	assert.Equal(t, "stackflow: invalid thing (2 problems): a: x; b: y", ve.Error())
}

func TestRetryAfterOnA503ComesOnlyFromRetryAfter(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	var calls atomic.Int32
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		stdHeaders(w)
		w.Header().Set("X-RateLimit-Reset", "4102444800") // 2100-01-01: the window's end, not a wait
		if calls.Add(1) == 2 {
			w.Header().Set("Retry-After", "7")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"code":"unavailable","message":"maintenance","request_id":"req_1"}}`)
	})
	for _, want := range []time.Duration{0, 7 * time.Second} {
		_, _, err := c.Incidents.Get(ctxT(t), "inc_1")
		var apiErr *Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, want, apiErr.RetryAfter)
	}
}
