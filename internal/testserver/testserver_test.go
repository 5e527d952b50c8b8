package testserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stack builds log → faults → handler, the order both fakes use.
func stack(t *testing.T, h http.Handler) (*RequestLog, *Faults, *atomic.Int64, http.Handler) {
	t.Helper()
	var calls atomic.Int64
	log := NewRequestLog(NewManualClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
	faults := &Faults{}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h.ServeHTTP(w, r)
	})
	return log, faults, &calls, log.Middleware(faults.Middleware(inner))
}

var okJSON = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"result":[{"a":"1"},{"a":"2"}]}`)
})

func get(t *testing.T, rt http.RoundTripper, method, url string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("payload"))
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestFaultsOverRealSockets(t *testing.T) {
	t.Parallel()
	log, faults, calls, h := stack(t, okJSON)
	srv := httptest.NewServer(h)
	defer srv.Close()
	rt := srv.Client().Transport

	faults.Add(Fault{Method: "GET", Path: "/api", Kind: FaultStatus, Status: 503, Body: "busy", Skip: 1})
	_, body, err := get(t, rt, "GET", srv.URL+"/api/x")
	require.NoError(t, err)
	assert.Contains(t, body, `"a":"1"`, "the first match is skipped")
	resp, body, err := get(t, rt, "GET", srv.URL+"/api/x")
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, "busy", body)
	assert.Equal(t, int64(1), calls.Load(), "a status fault does not reach the handler")
	assert.Equal(t, 0, faults.Pending())

	faults.Add(Fault{Kind: FaultReset})
	_, _, err = get(t, rt, "POST", srv.URL+"/api/x")
	require.Error(t, err)
	assert.Equal(t, int64(1), calls.Load(), "a reset happens before the handler")

	faults.Add(Fault{Kind: FaultResetAfterWrite})
	_, _, err = get(t, rt, "POST", srv.URL+"/api/x")
	require.Error(t, err)
	assert.Equal(t, int64(2), calls.Load(), "reset-after-write runs the handler")

	faults.Add(Fault{Kind: FaultTruncate, TruncateAt: 10, Body: `,"error":{}}`})
	resp, body, err = get(t, rt, "GET", srv.URL+"/api/x")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, `{"result":,"error":{}}`, body)

	faults.Add(Fault{Kind: FaultResetMidBody, TruncateAt: 5})
	_, body, err = get(t, rt, "GET", srv.URL+"/api/x")
	require.Error(t, err, "the body read fails")
	assert.True(t, strings.HasPrefix(`{"result"`, body))

	reqs := log.Requests()
	require.Len(t, reqs, 6)
	assert.Equal(t, "status", reqs[1].Fault)
	assert.Equal(t, 503, reqs[1].Status)
	assert.Equal(t, "payload", string(reqs[2].Body))
	assert.Equal(t, "reset", reqs[2].Fault)
	assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), reqs[0].Time)
	assert.Equal(t, 2, log.Count(func(r LoggedRequest) bool { return r.Method == "POST" }))
}

func TestHandlerTransport(t *testing.T) {
	t.Parallel()
	_, faults, calls, h := stack(t, okJSON)
	rt := &HandlerTransport{Handler: h}

	resp, body, err := get(t, rt, "GET", "http://fake/api/x")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, `{"result":[{"a":"1"},{"a":"2"}]}`, body)

	faults.Add(Fault{Kind: FaultReset})
	_, _, err = get(t, rt, "GET", "http://fake/api/x")
	require.ErrorIs(t, err, syscall.ECONNRESET)

	faults.Add(Fault{Kind: FaultResetAfterWrite})
	_, _, err = get(t, rt, "POST", "http://fake/api/x")
	require.ErrorIs(t, err, syscall.ECONNRESET)
	assert.Equal(t, int64(2), calls.Load())

	faults.Add(Fault{Kind: FaultResetMidBody, TruncateAt: 4})
	_, body, err = get(t, rt, "GET", "http://fake/api/x")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, `{"re`, body)

	faults.Add(Fault{Kind: FaultDelay, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://fake/api/x", nil)
	_, err = rt.RoundTrip(req)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
}

func TestFaultTimes(t *testing.T) {
	t.Parallel()
	_, faults, _, h := stack(t, okJSON)
	rt := &HandlerTransport{Handler: h}
	faults.Add(Fault{Kind: FaultStatus, Status: 429, Times: 2})
	faults.Add(Fault{Kind: FaultStatus, Status: 500, Times: -1, Match: func(r *http.Request) bool { return r.Method == "DELETE" }})
	for i, want := range []int{429, 429, 200} {
		resp, _, err := get(t, rt, "GET", "http://fake/x")
		require.NoError(t, err)
		assert.Equal(t, want, resp.StatusCode, "request %d", i)
	}
	for range 3 {
		resp, _, err := get(t, rt, "DELETE", "http://fake/x")
		require.NoError(t, err)
		assert.Equal(t, 500, resp.StatusCode)
	}
	assert.Equal(t, 1, faults.Pending())
	assert.Equal(t, 5, faults.Fired())
	faults.Clear()
	assert.Equal(t, 0, faults.Pending())
}

func TestRateLimiterWindows(t *testing.T) {
	t.Parallel()
	clock := NewManualClock(time.Date(2026, 1, 1, 10, 59, 58, 0, time.UTC))
	l := NewRateLimiter(clock, 2, time.Hour)
	ok, rem, reset := l.Take("u")
	assert.True(t, ok)
	assert.Equal(t, 1, rem)
	assert.Equal(t, time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC), reset)
	ok, _, _ = l.Take("u")
	assert.True(t, ok)
	ok, rem, _ = l.Take("u")
	assert.False(t, ok)
	assert.Equal(t, 0, rem)
	ok, _, _ = l.Take("other")
	assert.True(t, ok, "keys are counted apart")
	clock.Advance(2 * time.Second)
	ok, _, _ = l.Take("u")
	assert.True(t, ok, "a new window starts on the hour")
}

func TestManualClock(t *testing.T) {
	t.Parallel()
	c := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)))
	assert.Equal(t, time.UTC, c.Now().Location())
	assert.Equal(t, 23, c.Now().Hour())
	assert.Equal(t, 0, c.Advance(time.Hour).Hour())
	assert.WithinDuration(t, time.Now(), RealClock{}.Now(), time.Minute)
}
