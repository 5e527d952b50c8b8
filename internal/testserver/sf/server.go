package sf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

// Roles a token can hold.
const (
	RoleViewer     = "viewer"      // read the modules
	RoleAgent      = "agent"       // read and write the modules
	RoleSuperAdmin = "super_admin" // everything, Integration Hub included
)

// Defaults of a new Server.
const (
	DefaultBasePath        = "/prod/api"
	DefaultRateLimit       = 100000
	DefaultRateLimitWindow = time.Minute
	maxBodyBytes           = 16 << 20
	idempotencyTTL         = 24 * time.Hour
	maxBulk                = 500
	maxLimit               = 1000
	defaultLimit           = 100
	maxExternalIDs         = 100
)

// config is what the options set.
type config struct {
	clock          testserver.Clock
	basePath       string
	rateLimit      int
	rateWindow     time.Duration
	tokens         []tokenOption
	runner         JobRunner
	snClient       *http.Client
	webhookClient  *http.Client
	webhookTries   int
	webhookBackoff time.Duration
	allowHTTP      bool
}

type tokenOption struct {
	token, subject string
	roles          []string
}

// Option configures a Server.
type Option func(*config) error

// WithClock sets the clock every timestamp comes from (default: the wall
// clock). Use a *testserver.ManualClock to pin and move time.
func WithClock(c testserver.Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("sf: WithClock: nil clock")
		}
		cfg.clock = c
		return nil
	}
}

// WithBasePath serves the API under p (default "/prod/api", so that the
// guide's URLs work as written). "" serves it at the root.
func WithBasePath(p string) Option {
	return func(cfg *config) error {
		p = strings.TrimRight(p, "/")
		if p != "" && !strings.HasPrefix(p, "/") {
			return fmt.Errorf("sf: WithBasePath(%q): must start with /", p)
		}
		cfg.basePath = p
		return nil
	}
}

// WithRateLimit allows limit requests per token in each fixed window of
// the given length, measured on the server's clock (default 100,000 per
// minute).
func WithRateLimit(limit int, window time.Duration) Option {
	return func(cfg *config) error {
		if limit < 1 || window <= 0 {
			return fmt.Errorf("sf: WithRateLimit(%d, %s): need limit >= 1 and window > 0", limit, window)
		}
		cfg.rateLimit, cfg.rateWindow = limit, window
		return nil
	}
}

// WithToken registers a bearer token at start; see Server.AddToken.
func WithToken(token, subject string, roles ...string) Option {
	return func(cfg *config) error {
		if err := checkToken(token, subject, roles); err != nil {
			return err
		}
		cfg.tokens = append(cfg.tokens, tokenOption{token: token, subject: subject, roles: roles})
		return nil
	}
}

// WithJobRunner sets the function that runs sync jobs; see JobRunner.
func WithJobRunner(run JobRunner) Option {
	return func(cfg *config) error {
		cfg.runner = run
		return nil
	}
}

// WithServiceNowClient sets the HTTP client Test Connection uses to call
// ServiceNow (default: a client with a 30 s timeout). Tests pass the fake
// ServiceNow's client, e.g. an httptest TLS server's Client().
func WithServiceNowClient(c *http.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("sf: WithServiceNowClient: nil client")
		}
		cfg.snClient = c
		return nil
	}
}

// WithWebhookClient sets the HTTP client webhook deliveries use (default: a
// client with a 10 s timeout).
func WithWebhookClient(c *http.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("sf: WithWebhookClient: nil client")
		}
		cfg.webhookClient = c
		return nil
	}
}

// WithWebhookRetry sets how many times a delivery is attempted in all
// (default 4) and the wait before the first retry, doubled for each later
// one (default 50 ms; real time, not the server's clock).
func WithWebhookRetry(attempts int, backoff time.Duration) Option {
	return func(cfg *config) error {
		if attempts < 1 || backoff < 0 {
			return fmt.Errorf("sf: WithWebhookRetry(%d, %s): need attempts >= 1 and backoff >= 0", attempts, backoff)
		}
		cfg.webhookTries, cfg.webhookBackoff = attempts, backoff
		return nil
	}
}

// WithHTTPInstanceURLs lets the ServiceNow configuration use http:// instance
// URLs, for fakes served without TLS. The real service requires https.
func WithHTTPInstanceURLs() Option {
	return func(cfg *config) error {
		cfg.allowHTTP = true
		return nil
	}
}

// Server is the fake StackFlow: an http.Handler serving the API of
// stackflow/openapi.yaml from memory. Create it with New and Close it when
// done. Safe for concurrent use.
type Server struct {
	cfg     config
	log     *testserver.RequestLog
	faults  *testserver.Faults
	limiter *testserver.RateLimiter
	handler http.Handler
	reqSeq  atomic.Uint64

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // jobs and webhook workers

	mu        sync.Mutex // guards everything below, and the stores
	closed    bool
	ids       idGen
	stores    map[string]*store
	tokens    map[string]*token
	idem      map[string]*idemEntry
	idemSwept time.Time
	snConfig  *IntegrationConfig
	jobs      map[string]*job
	jobQueue  []*job
	working   bool
	hooks     *dispatcher
}

// New returns a Server; it serves HTTP through ServeHTTP (see Start for an
// httptest server).
func New(opts ...Option) (*Server, error) {
	cfg := config{
		clock:          testserver.RealClock{},
		basePath:       DefaultBasePath,
		rateLimit:      DefaultRateLimit,
		rateWindow:     DefaultRateLimitWindow,
		webhookTries:   4,
		webhookBackoff: 50 * time.Millisecond,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.snClient == nil {
		cfg.snClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.webhookClient == nil {
		cfg.webhookClient = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:     cfg,
		log:     testserver.NewRequestLog(cfg.clock),
		faults:  &testserver.Faults{},
		limiter: testserver.NewRateLimiter(cfg.clock, cfg.rateLimit, cfg.rateWindow),
		ctx:     ctx,
		cancel:  cancel,
		stores:  map[string]*store{},
		tokens:  map[string]*token{},
		idem:    map[string]*idemEntry{},
		jobs:    map[string]*job{},
	}
	for _, m := range modules {
		s.stores[m.id] = newStore(m)
	}
	for _, t := range cfg.tokens {
		s.tokens[t.token] = &token{subject: t.subject, roles: t.roles}
	}
	s.hooks = newDispatcher(s)
	s.handler = s.log.Middleware(s.faults.Middleware(http.HandlerFunc(s.serve)))
	return s, nil
}

// Start serves s on a new httptest server. The caller closes both: the
// httptest server first, then s.
func (s *Server) Start() *httptest.Server {
	return httptest.NewServer(s)
}

// ServeHTTP serves the API: request log, then faults, then the fake.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// BasePath returns the path prefix the API is served under ("/prod/api").
func (s *Server) BasePath() string { return s.cfg.basePath }

// Log returns the log of every request served.
func (s *Server) Log() *testserver.RequestLog { return s.log }

// Faults returns the fault injector; fault paths are full URL paths, base
// path included (see ErrorFault for a helper).
func (s *Server) Faults() *testserver.Faults { return s.faults }

// Clock returns the server's clock.
func (s *Server) Clock() testserver.Clock { return s.cfg.clock }

// Close stops the server's background work: it cancels running jobs and
// pending webhook deliveries and waits for them to end. Requests served
// after Close still work, but start no background work.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// now is the server's current time, truncated to milliseconds.
func (s *Server) now() time.Time {
	return s.cfg.clock.Now().UTC().Truncate(time.Millisecond)
}

// ErrorFault returns a fault that answers matching requests with status
// and a contract-shaped error body (code chosen from the status, the usual
// headers, Retry-After: 1 on 429 and 503). path is relative to the base
// path ("/incidents"); method "" matches any. times follows
// testserver.Fault.Times (0 = once, negative = always). Add it with
// s.Faults().Add.
func (s *Server) ErrorFault(method, path string, status, times int) testserver.Fault {
	code := map[int]string{
		400: CodeBadRequest, 401: CodeUnauthorized, 403: CodeForbidden, 404: CodeNotFound,
		409: CodeVersionConflict, 413: CodePayloadTooLarge, 422: CodeValidationFailed,
		429: CodeRateLimited, 503: CodeUnavailable,
	}[status]
	if code == "" {
		code = CodeInternal
	}
	id := fmt.Sprintf("req_fault%d", status)
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Request-Id", id)
	h.Set("Date", s.cfg.clock.Now().UTC().Format(http.TimeFormat))
	h.Set("X-RateLimit-Limit", fmt.Sprint(s.cfg.rateLimit))
	h.Set("X-RateLimit-Remaining", fmt.Sprint(s.cfg.rateLimit))
	h.Set("X-RateLimit-Reset", fmt.Sprint(s.cfg.clock.Now().Truncate(s.cfg.rateWindow).Add(s.cfg.rateWindow).Unix()))
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="stackflow"`)
	}
	body := fmt.Sprintf(`{"error":{"code":%q,"message":"injected fault: %d %s","request_id":%q}}`,
		code, status, http.StatusText(status), id)
	return testserver.Fault{
		Method: method, Path: s.cfg.basePath + path, Times: times,
		Kind: testserver.FaultStatus, Status: status, Header: h, Body: body,
	}
}
