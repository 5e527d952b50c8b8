package stackflow

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// retries records the OnRetry calls of a client.
type retries struct {
	mu       sync.Mutex
	attempts []int
	statuses []int
	errs     []error
}

func (r *retries) hook(_ context.Context, attempt int, resp *http.Response, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, attempt)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	r.statuses = append(r.statuses, status)
	r.errs = append(r.errs, err)
}

// reset drops the connection without answering.
func reset(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	require.NoError(t, err)
	require.NoError(t, conn.Close())
}

func TestA429WithRetryAfterIsRetried(t *testing.T) {
	t.Parallel()
	var rt retries
	c, mux := setup(t, WithOnRetry(rt.hook))
	var calls atomic.Int32
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "rate_limited", "rate limit exceeded; retry in 1 s")
			return
		}
		writeJSON(w, http.StatusOK, `{"data":[],"next_cursor":null,"has_more":false}`)
	})
	_, resp, err := c.Incidents.List(ctxT(t), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 2, calls.Load())
	assert.Equal(t, []int{1}, rt.attempts)
	assert.Equal(t, []int{http.StatusTooManyRequests}, rt.statuses)
}

func TestAKeyedCreateIsRetriedWithTheSameKey(t *testing.T) {
	t.Parallel()
	var rt retries
	c, mux := setup(t, WithOnRetry(rt.hook))
	var rec recorder
	mux.HandleFunc("POST /changes", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		switch rec.count() {
		case 1:
			// Close the connection with the answer, so that the next
			// attempt is on a new connection and net/http does not
			// replay it by itself.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusInternalServerError, "internal", "boom")
		case 2:
			reset(t, w)
		default:
			writeJSON(w, http.StatusCreated, `{"id":"chg_1","number":"SF-CHG-1","title":"t","version":1}`)
		}
	})
	chg, _, err := c.Changes.Create(ctxT(t), ChangeInput{Title: Ptr("t"), Type: Ptr(ChangeTypeEmergency)}, nil)
	require.NoError(t, err)
	assert.Equal(t, "chg_1", chg.ID)
	require.Equal(t, 3, rec.count())
	r1, b1 := rec.get(0)
	for i := 1; i < 3; i++ {
		ri, bi := rec.get(i)
		assert.Equal(t, r1.Header.Get("Idempotency-Key"), ri.Header.Get("Idempotency-Key"), "attempt %d carries the same key", i+1)
		assert.Equal(t, b1, bi, "attempt %d carries the same body", i+1)
	}
	assert.Equal(t, []int{1, 2}, rt.attempts, "retried by the client after the 500 and after the reset")
	assert.Equal(t, []int{http.StatusInternalServerError, 0}, rt.statuses)
	assert.Error(t, rt.errs[1], "the second attempt failed without an answer")
}

func TestAnUnkeyedPatchIsNotReplayedAfterA500(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("PATCH /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeError(w, http.StatusInternalServerError, "internal", "boom")
	})
	_, _, err := c.Incidents.Update(ctxT(t), "inc_1", IncidentInput{Priority: Ptr(1)}, nil)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.EqualValues(t, 1, calls.Load(), "the 500 may have followed the write: no replay")
}

func TestAPatchIsRetriedOnA429(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("PATCH /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "rate_limited", "slow down")
			return
		}
		writeJSON(w, http.StatusOK, incidentJSON)
	})
	_, _, err := c.Incidents.Update(ctxT(t), "inc_1", IncidentInput{Priority: Ptr(1)}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load(), "a 429 proves nothing was written")
}

func TestACreateWithoutAnyAnswerSaysTheOutcomeIsUnknown(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("POST /incidents", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		reset(t, w)
	})
	_, _, err := c.Incidents.Create(ctxT(t), IncidentInput{Title: Ptr("t")}, nil)
	require.ErrorIs(t, err, ErrUnavailable)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.OutcomeUnknown)
	assert.Equal(t, 4, rec.count(), "the first attempt and 3 retries")
	r0, _ := rec.get(0)
	assert.Equal(t, r0.Header.Get("Idempotency-Key"), te.IdempotencyKey)
	assert.Contains(t, err.Error(), "outcome is unknown")
	assert.Contains(t, err.Error(), te.IdempotencyKey)
	assert.NotContains(t, err.Error(), testToken)
}

func TestAPatchWithoutAnswerIsNotRetriedAndSaysSo(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("PATCH /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		reset(t, w)
	})
	_, _, err := c.Incidents.Update(ctxT(t), "inc_1", IncidentInput{Priority: Ptr(1)}, nil)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.OutcomeUnknown)
	assert.Empty(t, te.IdempotencyKey)
	assert.Contains(t, err.Error(), "read the record before trying again")
	assert.EqualValues(t, 1, calls.Load())
}

func TestADeleteIsRetriedOnA503(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("DELETE /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeError(w, http.StatusServiceUnavailable, "unavailable", "maintenance")
			return
		}
		stdHeaders(w)
		w.WriteHeader(http.StatusNoContent)
	})
	_, err := c.Incidents.Delete(ctxT(t), "inc_1")
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load())
}

func TestAWaitPastTheDeadlineReturnsThe429(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 2 * time.Hour}))
	var calls atomic.Int32
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3600")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "window used up")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.Incidents.List(ctx, nil)
	require.ErrorIs(t, err, ErrRateLimited)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, time.Hour, apiErr.RetryAfter)
	assert.EqualValues(t, 1, calls.Load(), "no sleeping into the deadline")
	assert.Contains(t, err.Error(), "retry after 1h0m0s")
}

func TestEveryAttemptSpendsALimiterToken(t *testing.T) {
	t.Parallel()
	l := rate.NewLimiter(rate.Limit(1e-9), 2) // two tokens, then (practically) never another
	c, mux := setup(t, WithRateLimiter(l))
	var calls atomic.Int32
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeError(w, http.StatusBadGateway, "internal", "upstream")
			return
		}
		writeJSON(w, http.StatusOK, incidentJSON)
	})
	_, _, err := c.Incidents.Get(ctxT(t), "inc_1")
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load())
	assert.Less(t, l.Tokens(), 0.5, "the retry spent the second token")
}
