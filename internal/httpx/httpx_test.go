package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scripted answers request n (0-based) with replies[n], the last reply
// repeating, and records when each request arrived.
type scripted struct {
	mu      sync.Mutex
	replies []func(w http.ResponseWriter, r *http.Request)
	times   []time.Time
	bodies  []string
	auth    []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.times)
	s.times = append(s.times, time.Now())
	b, _ := io.ReadAll(r.Body)
	s.bodies = append(s.bodies, string(b))
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	reply := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()
	reply(w, r)
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.times)
}

func status(code int, hdr ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"status":%d}`, code)
	}
}

func reset(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }

func newTestClient(h http.Handler, mod func(*Config)) *Client {
	cfg := Config{
		Base:  &testserver.HandlerTransport{Handler: h},
		Retry: Retry{MaxRetries: 4, WaitMin: 100 * time.Millisecond, WaitMax: 30 * time.Second},
	}
	if mod != nil {
		mod(&cfg)
	}
	return NewClient(cfg)
}

func do(t *testing.T, c *Client, ctx context.Context, method string, class RetryClass) (*http.Response, error) {
	t.Helper()
	resp, err := c.Do(ctx, Request{Method: method, URL: "http://sn.example/api/now/table/incident", Body: []byte(`{"a":"b"}`), Class: class})
	if resp != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cases := []struct {
		name      string
		method    string
		class     RetryClass
		first     func(http.ResponseWriter, *http.Request)
		wantCalls int
	}{
		{"a GET is retried after a 500", "GET", Idempotent, status(500), 2},
		{"a GET is retried after a 502", "GET", Idempotent, status(502), 2},
		{"a GET is retried after a 503", "GET", Idempotent, status(503), 2},
		{"a GET is retried after a 504", "GET", Idempotent, status(504), 2},
		{"a GET is retried after a reset", "GET", Idempotent, reset, 2},
		{"a GET is not retried after a 404", "GET", Idempotent, status(404), 1},
		{"a GET is not retried after a 400", "GET", Idempotent, status(400), 1},
		{"a DELETE is retried after a 503", "DELETE", Idempotent, status(503), 2},
		{"a POST is not replayed after a 500", "POST", NonIdempotent, status(500), 1},
		{"a POST is not replayed after a 502", "POST", NonIdempotent, status(502), 1},
		{"a POST is not replayed after a 503", "POST", NonIdempotent, status(503), 1},
		{"a POST is not replayed after a reset", "POST", NonIdempotent, reset, 1},
		{"a POST is retried after a 429", "POST", NonIdempotent, status(429, "Retry-After", "1"), 2},
		{"a PATCH is not replayed after a 504", "PATCH", NonIdempotent, status(504), 1},
		{"a keyed POST is retried after a 500", "POST", Keyed, status(500), 2},
		{"a keyed POST is retried after a reset", "POST", Keyed, reset, 2},
		{"a NoRetry GET is sent once", "GET", NoRetry, status(503), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := &scripted{replies: []func(http.ResponseWriter, *http.Request){tc.first, status(200)}}
				c := newTestClient(s, nil)
				resp, err := do(t, c, context.Background(), tc.method, tc.class)
				assert.Equal(t, tc.wantCalls, s.count())
				if tc.wantCalls == 2 {
					require.NoError(t, err)
					assert.Equal(t, 200, resp.StatusCode)
					assert.Equal(t, `{"a":"b"}`, s.bodies[1], "the body is sent again whole")
				}
			})
		})
	}

	t.Run("a POST is retried after a dial error", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if calls.Add(1) == 1 {
				return nil, dialErr
			}
			return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}}, nil
		})
		synctest.Test(t, func(t *testing.T) {
			c := NewClient(Config{Base: rt, Retry: Retry{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: time.Second}})
			resp, err := do(t, c, context.Background(), "POST", NonIdempotent)
			require.NoError(t, err)
			assert.Equal(t, 201, resp.StatusCode)
			assert.Equal(t, int32(2), calls.Load())
		})
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRetryWaits(t *testing.T) {
	t.Parallel()
	t.Run("429 then success waits the Retry-After", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(429, "Retry-After", "7"), status(200)}}
			c := newTestClient(s, nil)
			resp, err := do(t, c, context.Background(), "GET", Idempotent)
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode)
			require.Equal(t, 2, s.count())
			assert.Equal(t, 7*time.Second, s.times[1].Sub(s.times[0]))
		})
	})
	t.Run("X-RateLimit-Reset is used when Retry-After is absent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reset := time.Now().Add(12 * time.Second).Unix()
			s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(429, "X-RateLimit-Reset", fmt.Sprint(reset)), status(200)}}
			c := newTestClient(s, nil)
			_, err := do(t, c, context.Background(), "GET", Idempotent)
			require.NoError(t, err)
			require.Equal(t, 2, s.count())
			assert.InDelta(t, 12, s.times[1].Sub(s.times[0]).Seconds(), 1)
		})
	})
	t.Run("a long Retry-After is capped at WaitMax", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(429, "Retry-After", "3600"), status(200)}}
			c := newTestClient(s, func(c *Config) { c.Retry.WaitMax = 5 * time.Second })
			_, err := do(t, c, context.Background(), "GET", Idempotent)
			require.NoError(t, err)
			assert.Equal(t, 5*time.Second, s.times[1].Sub(s.times[0]))
		})
	})
	t.Run("a wait past the deadline returns the 429 at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(429, "Retry-After", "20"), status(200)}}
			c := newTestClient(s, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			resp, err := do(t, c, ctx, "GET", Idempotent)
			require.NoError(t, err)
			assert.Equal(t, 429, resp.StatusCode)
			assert.Equal(t, 1, s.count())
			assert.Equal(t, time.Duration(0), time.Since(start))
		})
	})
	t.Run("exponential backoff grows and stays under the cap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(503)}}
			c := newTestClient(s, func(c *Config) { c.Retry = Retry{MaxRetries: 4, WaitMin: time.Second, WaitMax: 3 * time.Second} })
			resp, err := do(t, c, context.Background(), "GET", Idempotent)
			require.NoError(t, err)
			assert.Equal(t, 503, resp.StatusCode, "an exhausted retry returns the last response")
			require.Equal(t, 5, s.count())
			bounds := [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}, {1500 * time.Millisecond, 3 * time.Second}, {1500 * time.Millisecond, 3 * time.Second}}
			for i, b := range bounds {
				d := s.times[i+1].Sub(s.times[i])
				assert.GreaterOrEqual(t, d, b[0], "wait %d", i)
				assert.LessOrEqual(t, d, b[1], "wait %d", i)
			}
		})
	})
	t.Run("cancelling the context stops the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(503, "Retry-After", "10"), status(200)}}
			c := newTestClient(s, nil)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(3*time.Second, cancel)
			_, err := do(t, c, ctx, "GET", Idempotent)
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, 1, s.count())
		})
	})
}

func TestGatePausesOtherRequests(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var paths []string
		var times []time.Time
		first := true
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			times = append(times, time.Now())
			limited := first && r.URL.Path == "/a"
			first = first && !limited
			mu.Unlock()
			if limited {
				w.Header().Set("Retry-After", "5")
				w.WriteHeader(429)
				return
			}
			w.WriteHeader(200)
		})
		c := newTestClient(h, nil)
		resp, err := c.Do(context.Background(), Request{Method: "GET", URL: "http://x/a", Class: Idempotent})
		require.NoError(t, err)
		resp.Body.Close()
		start := time.Now()
		// /a is done; a request to /b made right after the 429 would have to wait too.
		assert.False(t, c.Gate().PausedUntil().After(start), "the pause is over once the retry ran")

		// A 429 seen by one request holds a concurrent one.
		first = true
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Do(context.Background(), Request{Method: "GET", URL: "http://x/a", Class: Idempotent})
			if err == nil {
				r.Body.Close()
			}
		}()
		synctest.Wait()
		t0 := time.Now()
		r, err := c.Do(context.Background(), Request{Method: "GET", URL: "http://x/b", Class: Idempotent})
		require.NoError(t, err)
		r.Body.Close()
		assert.Equal(t, 5*time.Second, time.Since(t0), "the other request waited for the host's pause")
		wg.Wait()
	})
}

func TestLimiterSpendsATokenPerAttempt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(503), status(503), status(200)}}
		lim := rate.NewLimiter(rate.Every(time.Second), 1)
		c := newTestClient(s, func(c *Config) {
			c.Limiter = lim
			c.Retry = Retry{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: time.Millisecond}
		})
		start := time.Now()
		_, err := do(t, c, context.Background(), "GET", Idempotent)
		require.NoError(t, err)
		assert.Equal(t, 3, s.count())
		assert.InDelta(t, 2.0, time.Since(start).Seconds(), 0.01, "three attempts spend three tokens at 1/s")
	})
}

func TestHandleRetriesGarbledBodies(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"result":[`) },
			func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"result":[]}`) },
		}}
		c := newTestClient(s, nil)
		var got []string
		handle := func(resp *http.Response) error {
			b, _ := io.ReadAll(resp.Body)
			if !bytes.HasSuffix(b, []byte("}")) {
				return &RetryableError{Err: errors.New("truncated")}
			}
			got = append(got, string(b))
			return nil
		}
		_, err := c.Do(context.Background(), Request{Method: "GET", URL: "http://x/a", Class: Idempotent, Handle: handle})
		require.NoError(t, err)
		assert.Equal(t, []string{`{"result":[]}`}, got)
		assert.Equal(t, 2, s.count())

		// A POST with a garbled body is not replayed: it may have written.
		s2 := &scripted{replies: s.replies}
		c2 := newTestClient(s2, nil)
		_, err = c2.Do(context.Background(), Request{Method: "POST", URL: "http://x/a", Class: NonIdempotent, Handle: handle})
		require.EqualError(t, err, "truncated")
		assert.Equal(t, 1, s2.count())

		// A final (non-retryable) Handle error ends the call at once.
		s3 := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(200)}}
		c3 := newTestClient(s3, nil)
		boom := errors.New("bad shape")
		_, err = c3.Do(context.Background(), Request{Method: "GET", URL: "http://x/a", Class: Idempotent, Handle: func(*http.Response) error { return boom }})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, 1, s3.count())
	})
}

func TestOnRetryHook(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(502), reset, status(200)}}
		type call struct {
			attempt int
			status  int
			err     bool
		}
		var calls []call
		c := newTestClient(s, func(c *Config) {
			c.OnRetry = func(ctx context.Context, attempt int, resp *http.Response, err error) {
				calls = append(calls, call{attempt, statusOf(resp), err != nil})
			}
		})
		_, err := do(t, c, context.Background(), "GET", Idempotent)
		require.NoError(t, err)
		assert.Equal(t, []call{{1, 502, false}, {2, 0, true}}, calls)
	})
}

// refreshingSource hands out tok-1, tok-2, ... and counts invalidations.
type refreshingSource struct {
	mu          sync.Mutex
	n           int
	invalidated int
	fail        error
}

func (s *refreshingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil && s.invalidated > 0 {
		return nil, s.fail
	}
	if s.n == 0 || s.invalidated >= s.n {
		s.n++
	}
	return &oauth2.Token{AccessToken: fmt.Sprintf("tok-%d", s.n), TokenType: "Bearer"}, nil
}

func (s *refreshingSource) Invalidate(*oauth2.Token) {
	s.mu.Lock()
	s.invalidated++
	s.mu.Unlock()
}

func TestTokenTransportRefreshesOnceOn401(t *testing.T) {
	t.Parallel()
	t.Run("401 then success with a fresh token", func(t *testing.T) {
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(401), status(200)}}
		src := &refreshingSource{}
		c := newTestClient(s, func(c *Config) {
			c.Auth = func(next http.RoundTripper) http.RoundTripper { return &TokenTransport{Source: src, Next: next} }
		})
		resp, err := do(t, c, context.Background(), "POST", NonIdempotent)
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-2"}, s.auth)
		assert.Equal(t, []string{`{"a":"b"}`, `{"a":"b"}`}, s.bodies)
	})
	t.Run("a second 401 is returned", func(t *testing.T) {
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(401)}}
		src := &refreshingSource{}
		c := newTestClient(s, func(c *Config) {
			c.Auth = func(next http.RoundTripper) http.RoundTripper { return &TokenTransport{Source: src, Next: next} }
		})
		resp, err := do(t, c, context.Background(), "GET", Idempotent)
		require.NoError(t, err)
		assert.Equal(t, 401, resp.StatusCode)
		assert.Equal(t, 2, s.count(), "one forced refresh, one more send, no loop")
	})
	t.Run("a failed refresh is the error", func(t *testing.T) {
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(401)}}
		boom := errors.New("refresh refused")
		src := &refreshingSource{fail: boom}
		c := newTestClient(s, func(c *Config) {
			c.Retry.MaxRetries = 0
			c.Auth = func(next http.RoundTripper) http.RoundTripper { return &TokenTransport{Source: src, Next: next} }
		})
		_, err := do(t, c, context.Background(), "GET", Idempotent)
		require.ErrorIs(t, err, boom)
	})
}

func TestBasicAuthTransport(t *testing.T) {
	t.Parallel()
	s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(200)}}
	tr := &BasicAuthTransport{Username: "svc", Password: "hunter22", Next: &testserver.HandlerTransport{Handler: s}}
	c := NewClient(Config{Base: tr})
	_, err := do(t, c, context.Background(), "GET", Idempotent)
	require.NoError(t, err)
	assert.Equal(t, "Basic c3ZjOmh1bnRlcjIy", s.auth[0])
	assert.NotContains(t, tr.String(), "hunter22")
	assert.NotContains(t, fmt.Sprintf("%v %+v", tr, tr), "hunter22")
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("credentials followed a redirect to another host: %q", r.Header.Get("Authorization"))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			w.WriteHeader(200)
		}
	}))
	defer srv.Close()
	c := NewClient(Config{Base: &BasicAuthTransport{Username: "u", Password: "secret-pw", Next: srv.Client().Transport}})
	// Both servers listen on 127.0.0.1 with different ports: the host:port differs.
	_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/away", Class: Idempotent})
	require.ErrorIs(t, err, ErrCrossHostRedirect)
	resp, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/here", Class: Idempotent})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/final", resp.Request.URL.Path)
	srv.Client().CloseIdleConnections()
	other.Client().CloseIdleConnections()
}

func TestLoggingIsRedacted(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){reset, status(200)}}
		secrets := &Secrets{}
		secrets.Add("s3cr3t-pass")
		c := newTestClient(s, func(c *Config) {
			c.Logger = logger
			c.Secrets = secrets
			c.Base = &BasicAuthTransport{Username: "u", Password: "s3cr3t-pass", Next: c.Base}
		})
		resp, err := c.Do(context.Background(), Request{Method: "GET", URL: "http://x/oauth?refresh_token=rt-123456&q=s3cr3t-pass", Class: Idempotent})
		require.NoError(t, err)
		resp.Body.Close()
		s.replies = []func(http.ResponseWriter, *http.Request){reset}
		c.cfg.Retry.MaxRetries = 0
		_, err = c.Do(context.Background(), Request{Method: "GET", URL: "http://x/oauth?refresh_token=rt-123456&q=s3cr3t-pass", Class: Idempotent})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "rt-123456", "errors are redacted too")
		out := buf.String()
		assert.Contains(t, out, "http request")
		assert.Contains(t, out, "http retry")
		assert.NotContains(t, out, "rt-123456")
		assert.NotContains(t, out, "s3cr3t-pass")
		assert.NotContains(t, out, "c3ZjO", "no auth header values")
	})
}

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		hdr  http.Header
		want time.Duration
		ok   bool
	}{
		{"seconds", http.Header{"Retry-After": {"30"}}, 30 * time.Second, true},
		{"an HTTP date", http.Header{"Retry-After": {"Sat, 28 Nov 2026 12:00:42 GMT"}}, 42 * time.Second, true},
		{"a date in the past is zero", http.Header{"Retry-After": {"Sat, 28 Nov 2026 11:00:00 GMT"}}, 0, true},
		{"X-RateLimit-Reset as a unix timestamp", http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Add(90 * time.Second).Unix())}}, 90 * time.Second, true},
		{"Retry-After wins over the reset", http.Header{"Retry-After": {"5"}, "X-Ratelimit-Reset": {fmt.Sprint(now.Add(time.Hour).Unix())}}, 5 * time.Second, true},
		{"garbage Retry-After falls back to the reset", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Reset": {fmt.Sprint(now.Add(time.Minute).Unix())}}, time.Minute, true},
		{"negative seconds are ignored", http.Header{"Retry-After": {"-5"}}, 0, false},
		{"a seconds-until-reset value is not a timestamp", http.Header{"X-Ratelimit-Reset": {"60"}}, 0, true},
		{"nothing", http.Header{}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := RetryAfter(tc.hdr, now)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseLink(t *testing.T) {
	t.Parallel()
	captured := `<https://dev130168.service-now.com/api/now/v2/table/incident?query=number%3DINC0000040&display_value=True&sysparm_limit=1&sysparm_offset=0>;rel="first",<https://dev130168.service-now.com/api/now/v2/table/incident?query=number%3DINC0000040&display_value=True&sysparm_limit=1&sysparm_offset=-1>;rel="prev",<https://dev130168.service-now.com/api/now/v2/table/incident?query=number%3DINC0000040&display_value=True&sysparm_limit=1&sysparm_offset=1>;rel="next",<https://dev130168.service-now.com/api/now/v2/table/incident?query=number%3DINC0000040&display_value=True&sysparm_limit=1&sysparm_offset=66>;rel="last"`
	l := ParseLink(captured)
	require.Len(t, l, 4)
	for rel, want := range map[string]int{"first": 0, "prev": -1, "next": 1, "last": 66} {
		n, ok := QueryInt(l[rel], "sysparm_offset")
		assert.True(t, ok, rel)
		assert.Equal(t, want, n, rel)
	}
	lim, _ := QueryInt(l["next"], "sysparm_limit")
	assert.Equal(t, 1, lim)

	spaced := ParseLink(`<https://a/x?page=2>; rel="next last", <https://a/x?page=1>; rel=prev; title="a,b"`)
	assert.Equal(t, Links{"next": "https://a/x?page=2", "last": "https://a/x?page=2", "prev": "https://a/x?page=1"}, spaced)
	assert.Empty(t, ParseLink(""))
	assert.Empty(t, ParseLink("garbage, more garbage"))
	assert.Equal(t, Links{"next": "u"}, ParseLink(`junk,<u>;rel=next,<v`))
}

func FuzzParseLink(f *testing.F) {
	f.Add(`<https://x/a?sysparm_limit=1&sysparm_offset=0>;rel="first",<https://x/a?sysparm_offset=-1>;rel="prev"`)
	f.Add(`<u>; rel="next last"; title=",;"`)
	f.Add(`<<>>;;rel==,,<`)
	f.Fuzz(func(t *testing.T, h string) {
		links := ParseLink(h)
		for rel, target := range links {
			if rel == "" || strings.ContainsAny(rel, " \t") {
				t.Fatalf("bad rel %q", rel)
			}
			if strings.Contains(target, ">") {
				t.Fatalf("target %q runs past its bracket", target)
			}
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("30", "")
	f.Add("Sat, 28 Nov 2026 12:00:42 GMT", "")
	f.Add("", "1796000000")
	f.Add("-1", "99999999999999999999")
	f.Fuzz(func(t *testing.T, ra, reset string) {
		now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		d, ok := RetryAfter(http.Header{"Retry-After": {ra}, "X-Ratelimit-Reset": {reset}}, now)
		if d < 0 {
			t.Fatalf("negative wait %v", d)
		}
		if !ok && d != 0 {
			t.Fatalf("no value but wait %v", d)
		}
	})
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://admin:pw123@acme.service-now.com/oauth_token.do?grant_type=refresh_token&refresh_token=abcdef&client_secret=shh&sysparm_query=active%3Dtrue")
	got := RedactURL(u)
	assert.NotContains(t, got, "pw123")
	assert.NotContains(t, got, "abcdef")
	assert.NotContains(t, got, "shh")
	assert.Contains(t, got, "sysparm_query=active%3Dtrue")
	assert.Contains(t, got, "grant_type=refresh_token")
	assert.Equal(t, "", RedactURL(nil))

	h := http.Header{"Authorization": {"Bearer x"}, "Cookie": {"a=b"}, "Accept": {"application/json"}}
	rh := RedactHeader(h)
	assert.Equal(t, Redacted, rh.Get("Authorization"))
	assert.Equal(t, Redacted, rh.Get("Cookie"))
	assert.Equal(t, "application/json", rh.Get("Accept"))
	assert.Equal(t, "Bearer x", h.Get("Authorization"), "the original is untouched")

	var s Secrets
	s.Add("pw", "hunter2-long", "")
	s.AddRotating("tok-aaaa")
	assert.Equal(t, "user REDACTED said pw; token REDACTED", s.Redact("user hunter2-long said pw; token tok-aaaa"))
	for i := range 40 {
		s.AddRotating(fmt.Sprintf("rotated-token-%02d", i))
	}
	assert.Equal(t, "REDACTED", s.Redact("hunter2-long"), "fixed secrets are never evicted")
	assert.Equal(t, "REDACTED", s.Redact("rotated-token-39"))
	var nilSecrets *Secrets
	assert.Equal(t, "x", nilSecrets.Redact("x"))
}

func TestReadCapped(t *testing.T) {
	t.Parallel()
	b, trunc, err := ReadCapped(strings.NewReader("hello world"), 5)
	require.NoError(t, err)
	assert.True(t, trunc)
	assert.Equal(t, "hello", string(b))
	b, trunc, err = ReadCapped(strings.NewReader("hi"), 5)
	require.NoError(t, err)
	assert.False(t, trunc)
	assert.Equal(t, "hi", string(b))
}

func TestExpBackoffBounds(t *testing.T) {
	t.Parallel()
	for attempt := range 10 {
		d := ExpBackoff(time.Second, 10*time.Second, attempt)
		full := min(time.Second<<attempt, 10*time.Second)
		assert.GreaterOrEqual(t, d, full/2)
		assert.LessOrEqual(t, d, full)
	}
	assert.Equal(t, time.Duration(0), ExpBackoff(0, time.Second, 3))
	assert.Equal(t, []RetryClass{Idempotent, Idempotent, NonIdempotent, NonIdempotent, Idempotent}, []RetryClass{ClassOf("GET"), ClassOf("DELETE"), ClassOf("POST"), ClassOf("PATCH"), ClassOf("PUT")})
}

func TestCallCounterCountsEveryAttempt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(503), status(200)}}
		c := newTestClient(s, nil)
		var n CallCounter
		ctx := WithCallCounter(context.Background(), &n)
		_, err := do(t, c, ctx, "GET", Idempotent)
		require.NoError(t, err)
		_, err = do(t, c, context.Background(), "GET", Idempotent)
		require.NoError(t, err)
		assert.Equal(t, int64(2), n.Load(), "a retried call counts twice; calls without the counter do not count")
	})
}

func TestWaitHintOnlyOnRateLimitsAndUnavailable(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	reset := fmt.Sprint(now.Add(time.Hour).Unix())
	resp := func(code int, h ...string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	d, ok := WaitHint(resp(429, "X-RateLimit-Reset", reset), now)
	assert.True(t, ok)
	assert.Equal(t, time.Hour, d, "a 429 without Retry-After waits for the reset")
	_, ok = WaitHint(resp(503, "X-RateLimit-Reset", reset), now)
	assert.False(t, ok, "a 503 only honours Retry-After: the reset rides on every StackFlow answer")
	d, ok = WaitHint(resp(503, "Retry-After", "7", "X-RateLimit-Reset", reset), now)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, d)
	_, ok = WaitHint(resp(500, "X-RateLimit-Reset", reset), now)
	assert.False(t, ok)
	_, ok = WaitHint(nil, now)
	assert.False(t, ok)
}

func TestA500WithAResetHeaderBacksOffExponentially(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		reset := fmt.Sprint(time.Now().Add(time.Hour).Unix())
		s := &scripted{replies: []func(http.ResponseWriter, *http.Request){status(500, "X-RateLimit-Reset", reset), status(200)}}
		c := newTestClient(s, nil)
		_, err := do(t, c, context.Background(), "GET", Idempotent)
		require.NoError(t, err)
		assert.Less(t, s.times[1].Sub(s.times[0]), time.Second, "not until the rate-limit window ends")
		assert.True(t, c.Gate().PausedUntil().IsZero(), "a 500 does not pause the host")
	})
}
