package servicenow

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHibernatingInstance(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithBasicAuth("svc", "pw-123456"))
	var calls atomic.Int32
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(200)
		_, _ = w.Write(testdata(t, "hibernating.html"))
	})
	incs, _, err := c.Incidents().List(ctx(t), nil)
	require.ErrorIs(t, err, ErrInstanceUnavailable)
	assert.Nil(t, incs, "never an empty result")
	assert.Contains(t, err.Error(), "Instance Hibernating page")
	assert.Contains(t, err.Error(), "hibernating: sign in")
	assert.Equal(t, int32(1), calls.Load(), "a hibernating instance is not retried in a loop")
}

func TestTruncatedBodyIsAnErrorNeverAPartialSuccess(t *testing.T) {
	t.Parallel()
	const cancelled = `{"result":[{"sys_id":"a","number":"INC1"},{"sys_id":"b","num` + `],"error":{"detail":"Transaction cancelled: maximum execution time exceeded. Check logs for error trace.","message":"Transaction cancelled: maximum execution time exceeded"},"status":"failure"}`
	const cut = `{"result":[{"sys_id":"a","number":"INC1"},{"sys_id":"b","num`
	const tail = `{"result":[{"sys_id":"a","number":"INC1"}],"error":{"detail":"Transaction cancelled: maximum execution time exceeded. Check logs for error trace.","message":"Transaction cancelled: maximum execution time exceeded"},"status":"failure"}`
	for name, body := range map[string]string{"cut mid-record": cut, "cut with the error appended": cancelled, "a valid result with an error beside it": tail, "trailing garbage": `{"result":[]} {"x":1}`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				writeJSON(w, 200, body)
			})
			incs, _, err := c.Incidents().List(ctx(t), nil)
			require.Error(t, err)
			assert.Nil(t, incs)
			assert.ErrorIs(t, err, ErrInstanceUnavailable)
			assert.Equal(t, int32(4), calls.Load(), "a GET with a garbled body is retried (3 retries)")
		})
	}
	t.Run("a truncated read is retried and then succeeds", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		var calls atomic.Int32
		mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				writeJSON(w, 200, cut)
				return
			}
			writeJSON(w, 200, `{"result":[{"sys_id":"a"},{"sys_id":"b"}]}`)
		})
		incs, _, err := c.Table("incident").List(ctx(t), nil)
		require.NoError(t, err)
		assert.Len(t, incs, 2, "the retry's records only, not the partial ones")
	})
	t.Run("a truncated create answer is not replayed", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		var calls atomic.Int32
		mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			writeJSON(w, 201, `{"result":{"sys_id":"a","num`)
		})
		_, _, err := c.Incidents().Create(ctx(t), Fields{"short_description": "x"}, nil)
		require.ErrorIs(t, err, ErrInstanceUnavailable)
		assert.Contains(t, err.Error(), "the write may have been applied")
		assert.Equal(t, int32(1), calls.Load())
	})
}

func TestPostIsNotReplayedAfterA500(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var posts, gets atomic.Int32
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		} else {
			gets.Add(1)
		}
		writeJSON(w, 500, `{"error":{"message":"Internal error"},"status":"failure"}`)
	})
	_, _, err := c.Incidents().Create(ctx(t), Fields{"short_description": "x"}, nil)
	require.Error(t, err)
	assert.Equal(t, int32(1), posts.Load())
	_, _, err = c.Incidents().List(ctx(t), nil)
	require.Error(t, err)
	assert.Equal(t, int32(4), gets.Load(), "a GET is retried")
}

func TestRateLimitedThenSuccessWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: 5 * time.Second}))
	var times []time.Time
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		times = append(times, time.Now())
		if len(times) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-RateLimit-Limit", "100")
			w.Header().Set("X-RateLimit-Rule", "d8fb9d4c1b6d1010b6e3a8e4bd4bcb2d")
			writeJSON(w, 429, string(testdata(t, "error_429.json")))
			return
		}
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Reset", "1798000000")
		w.Header().Set("X-RateLimit-Rule", "d8fb9d4c1b6d1010b6e3a8e4bd4bcb2d")
		writeJSON(w, 200, `{"result":[]}`)
	})
	_, resp, err := c.Incidents().List(ctx(t), nil)
	require.NoError(t, err)
	require.Len(t, times, 2)
	assert.GreaterOrEqual(t, times[1].Sub(times[0]), 900*time.Millisecond, "waited the Retry-After")
	assert.Equal(t, RateLimit{Limit: 100, Reset: time.Unix(1798000000, 0).UTC(), Rule: "d8fb9d4c1b6d1010b6e3a8e4bd4bcb2d"}, resp.RateLimit)
}

func TestRateLimitPastTheDeadline(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: time.Hour}))
	var calls atomic.Int32
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "600")
		writeJSON(w, 429, string(testdata(t, "error_429.json")))
	})
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err := c.Incidents().List(cctx, nil)
	require.ErrorIs(t, err, ErrRateLimited)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 600*time.Second, apiErr.RetryAfter)
	assert.Less(t, time.Since(start), 2*time.Second, "no sleeping into the deadline")
	assert.Equal(t, int32(1), calls.Load())

	// The client remembers the host asked for a pause: the next call is not
	// even sent while it lasts.
	_, _, err = c.Incidents().List(cctx, nil)
	require.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, int32(1), calls.Load())
}

func TestSecretsNeverAppearInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	const pass = "hunter2-very-secret"
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux := setup(t, WithBasicAuth("svc", pass), WithLogger(logger))
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		// An instance that echoes what it got (a misconfigured proxy, a debug page).
		writeJSON(w, 400, `{"error":{"message":"Bad request from svc:`+pass+`","detail":"Authorization: `+r.Header.Get("Authorization")+`"},"status":"failure"}`)
	})
	mux.HandleFunc("/api/now/v2/table/problem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><title>Login</title><body>password=" + pass + "</body></html>"))
	})
	_, _, err1 := c.Incidents().List(ctx(t), &ListOptions{Query: "short_descriptionLIKE" + pass})
	require.Error(t, err1)
	_, _, err2 := c.Problems().List(ctx(t), nil)
	require.Error(t, err2)
	var apiErr *Error
	require.ErrorAs(t, err2, &apiErr)
	for _, s := range []string{err1.Error(), err2.Error(), apiErr.Body, logs.String()} {
		assert.NotContains(t, s, pass)
		assert.NotContains(t, s, "aHVudGVy", "no base64 of the credentials either") // base64("hunter...")
	}
	assert.Contains(t, err1.Error(), "REDACTED")
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	c, err := NewClient("http://127.0.0.1:1", WithRetry(RetryPolicy{MaxRetries: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}))
	require.NoError(t, err)
	_, _, err = c.Incidents().List(ctx(t), nil)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.ErrorIs(t, err, ErrInstanceUnavailable)
	assert.True(t, strings.HasPrefix(err.Error(), "servicenow: GET api/now/v2/table/incident"), err.Error())

	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = c.Incidents().List(cctx, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, ErrInstanceUnavailable))
}
