package snow

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

// Ordering says in what order a list comes back when the query has no
// ORDERBY.
type Ordering int

const (
	// OrderShuffled returns rows in a different pseudo-random order on every
	// request (seeded, so a test run is reproducible): a client that pages
	// without ORDERBY sees duplicates and gaps, as it may on a real instance.
	OrderShuffled Ordering = iota
	// OrderInsertion returns rows in the order they were inserted.
	OrderInsertion
)

// Build is what sys_properties says about the instance version.
type Build struct {
	Name string // glide.buildname, e.g. "Zurich"
	Tag  string // glide.buildtag, e.g. "glide-zurich-07-01-2025__patch2"
	War  string // glide.war
}

// DefaultBuild is the version a fake reports unless told otherwise.
var DefaultBuild = Build{
	Name: "Zurich",
	Tag:  "glide-zurich-07-01-2025__patch2-10-15-2025",
	War:  "glide-zurich-07-01-2025__patch2-10-15-2025_10-20-2025_1410.zip",
}

// AdminSysID is the sys_id of the out-of-box admin user.
const AdminSysID = "6816f79cc0a8016401c5a33be04be441"

// DefaultMaxBodyBytes is glide.rest.max_content_length (10 MB).
const DefaultMaxBodyBytes = 10 << 20

type config struct {
	clock       testserver.Clock
	seed        uint64
	users       []User
	clients     []OAuthClient
	clientCreds bool
	invalidMode InvalidQueryMode
	ordering    Ordering
	rateRules   []RateLimitRule
	acls        []ACL
	noDefACLs   bool
	dataPolicy  bool
	gzip        bool
	build       Build
	maxBody     int64
	tables      []Table
	tls         bool
}

// Option configures a Server.
type Option func(*config) error

// WithClock sets the clock every timestamp, token expiry and rate-limit
// window is read from (default: a testserver.ManualClock at
// 2026-01-01 00:00:00 UTC, which only moves when told to).
func WithClock(c testserver.Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("snow: WithClock: nil clock")
		}
		cfg.clock = c
		return nil
	}
}

// WithSeed seeds the random source behind sys_ids, tokens and the shuffled
// order of unordered lists (default 1).
func WithSeed(seed uint64) Option {
	return func(cfg *config) error { cfg.seed = seed; return nil }
}

// WithUser adds a user (a sys_user row, its roles and its password). A user
// named "admin" replaces the default admin's password and roles.
func WithUser(u User) Option {
	return func(cfg *config) error {
		if err := u.validate(); err != nil {
			return err
		}
		cfg.users = append(cfg.users, u)
		return nil
	}
}

// WithOAuthClient registers an OAuth application (oauth_entity).
func WithOAuthClient(c OAuthClient) Option {
	return func(cfg *config) error {
		if c.ClientID == "" || c.ClientSecret == "" {
			return errors.New("snow: WithOAuthClient: ClientID and ClientSecret are required")
		}
		cfg.clients = append(cfg.clients, c)
		return nil
	}
}

// WithClientCredentialsGrant turns on the client_credentials grant
// (glide.oauth.inbound.client.credential.grant_type.enabled; off by default).
func WithClientCredentialsGrant(on bool) Option {
	return func(cfg *config) error { cfg.clientCreds = on; return nil }
}

// WithInvalidQueryMode sets what happens to invalid query parts (default
// InvalidQueryIgnore).
func WithInvalidQueryMode(m InvalidQueryMode) Option {
	return func(cfg *config) error {
		if m < InvalidQueryIgnore || m > InvalidQueryForbidden {
			return fmt.Errorf("snow: WithInvalidQueryMode: unknown mode %d", int(m))
		}
		cfg.invalidMode = m
		return nil
	}
}

// WithOrdering sets the order of lists without ORDERBY (default OrderShuffled).
func WithOrdering(o Ordering) Option {
	return func(cfg *config) error {
		if o != OrderShuffled && o != OrderInsertion {
			return fmt.Errorf("snow: WithOrdering: unknown ordering %d", int(o))
		}
		cfg.ordering = o
		return nil
	}
}

// WithRateLimit adds a rate limit rule (sys_rate_limit_rules).
func WithRateLimit(r RateLimitRule) Option {
	return func(cfg *config) error {
		if err := r.validate(); err != nil {
			return err
		}
		cfg.rateRules = append(cfg.rateRules, r)
		return nil
	}
}

// WithACL adds an access rule.
func WithACL(a ACL) Option {
	return func(cfg *config) error {
		if err := a.validate(); err != nil {
			return err
		}
		cfg.acls = append(cfg.acls, a)
		return nil
	}
}

// WithoutDefaultACLs drops the built-in rules (sys_properties and
// sys_audit_delete readable by admin only, system tables writable by admin
// only).
func WithoutDefaultACLs() Option {
	return func(cfg *config) error { cfg.noDefACLs = true; return nil }
}

// WithDataPolicy switches the incident resolution data policy (resolving or
// closing without close_code and close_notes gets 403; on by default).
func WithDataPolicy(on bool) Option {
	return func(cfg *config) error { cfg.dataPolicy = on; return nil }
}

// WithGzipResponses makes the fake gzip response bodies when the client
// sends Accept-Encoding: gzip, as real instances do (off by default).
func WithGzipResponses(on bool) Option {
	return func(cfg *config) error { cfg.gzip = on; return nil }
}

// WithBuild sets the version reported in sys_properties.
func WithBuild(b Build) Option {
	return func(cfg *config) error { cfg.build = b; return nil }
}

// WithMaxBodyBytes sets the largest request body accepted (default 10 MB).
func WithMaxBodyBytes(n int64) Option {
	return func(cfg *config) error {
		if n <= 0 {
			return errors.New("snow: WithMaxBodyBytes: limit must be positive")
		}
		cfg.maxBody = n
		return nil
	}
}

// WithTable defines a user table (see DefineTable).
func WithTable(t Table) Option {
	return func(cfg *config) error { cfg.tables = append(cfg.tables, t); return nil }
}

// WithTLS makes NewTest start an HTTPS server (clients must then use
// Server.Client or trust its certificate).
func WithTLS() Option {
	return func(cfg *config) error { cfg.tls = true; return nil }
}

// Server is a fake ServiceNow instance: an http.Handler over in-memory
// tables. All methods are safe for concurrent use.
type Server struct {
	mu        sync.RWMutex // guards everything below except where noted
	cfg       config
	schema    *schema
	fams      map[*tableDef]*family
	seq       uint64
	version   uint64
	rng       *rand.Rand
	passwords map[string]string
	acls      []ACL

	sortMu    sync.Mutex
	sortCache map[string]*sortEntry
	authCache atomic.Pointer[authCache]

	oauthMu sync.Mutex
	oauth   oauthState

	rateMu   sync.Mutex
	rates    []*rateRule
	requests atomic.Uint64

	zones       sync.Map // time zone name → *time.Location (LoadLocation reads files)
	hibernating atomic.Bool
	log         *testserver.RequestLog
	faults      *testserver.Faults
	handler     http.Handler
	core        http.Handler
	http        *httptest.Server
}

type sortEntry struct {
	version uint64
	rows    []*record
	primary []string // the first order key's value of each row, in order
}

// New builds a fake instance. It does no I/O; serve it with ServeHTTP, or
// use NewTest to start an httptest server.
func New(opts ...Option) (*Server, error) {
	cfg := config{
		clock:      testserver.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		seed:       1,
		dataPolicy: true,
		build:      DefaultBuild,
		maxBody:    DefaultMaxBodyBytes,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	s := &Server{
		cfg:       cfg,
		schema:    &schema{tables: map[string]*tableDef{}},
		fams:      map[*tableDef]*family{},
		rng:       rand.New(rand.NewPCG(cfg.seed, 0x5eed)),
		passwords: map[string]string{},
		sortCache: map[string]*sortEntry{},
		log:       testserver.NewRequestLog(cfg.clock),
		faults:    &testserver.Faults{},
	}
	s.oauth.init(cfg.seed)
	for _, t := range builtinTables() {
		if _, err := s.schema.define(t); err != nil {
			return nil, fmt.Errorf("snow: built-in table %s: %w", t.Name, err)
		}
	}
	for _, t := range cfg.tables {
		if _, err := s.schema.define(t); err != nil {
			return nil, err
		}
	}
	if !cfg.noDefACLs {
		s.acls = defaultACLs()
	}
	s.acls = append(s.acls, cfg.acls...)
	for _, c := range cfg.clients {
		s.oauth.addClient(c)
	}
	for _, r := range cfg.rateRules {
		s.rates = append(s.rates, s.newRateRule(r))
	}
	if err := s.seedDefaults(); err != nil {
		return nil, err
	}
	for _, u := range cfg.users {
		if _, err := s.AddUser(u); err != nil {
			return nil, err
		}
	}
	s.core = http.HandlerFunc(s.serveCore)
	s.handler = s.log.Middleware(s.gzipMiddleware(s.faults.Middleware(s.core)))
	return s, nil
}

// NewTest builds a fake, serves it with httptest (HTTPS with WithTLS) and
// closes it when the test ends. A failing option fails the test.
func NewTest(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("snow.NewTest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start builds a fake and serves it with httptest on a loopback port
// (HTTPS with WithTLS). The caller must Close it.
func Start(opts ...Option) (*Server, error) {
	s, err := New(opts...)
	if err != nil {
		return nil, err
	}
	if s.cfg.tls {
		s.http = httptest.NewTLSServer(s)
	} else {
		s.http = httptest.NewServer(s)
	}
	return s, nil
}

// Close stops the httptest server started by NewTest, if any.
func (s *Server) Close() {
	if s.http != nil {
		s.http.CloseClientConnections()
		s.http.Close()
	}
}

// URL is the base URL of the server started by NewTest ("" otherwise).
// Clients use it as the instance URL: URL()+"/api/now/table/incident".
func (s *Server) URL() string {
	if s.http == nil {
		return ""
	}
	return s.http.URL
}

// Client returns an *http.Client that reaches the server: the httptest
// client (trusting its certificate) when started by NewTest, otherwise a
// client whose transport calls the handler in process.
func (s *Server) Client() *http.Client {
	if s.http != nil {
		return s.http.Client()
	}
	return &http.Client{Transport: s.Transport()}
}

// Transport returns an http.RoundTripper that serves requests in process,
// with no sockets (for testing/synctest bubbles). Any URL host works.
func (s *Server) Transport() http.RoundTripper {
	return &testserver.HandlerTransport{Handler: s}
}

// ServeHTTP serves one request through the request log, gzip and fault
// injection layers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Clock returns the server's clock.
func (s *Server) Clock() testserver.Clock { return s.cfg.clock }

// Now returns the server's current time, in UTC.
func (s *Server) Now() time.Time { return s.cfg.clock.Now().UTC() }

// Faults returns the fault list applied to incoming requests.
func (s *Server) Faults() *testserver.Faults { return s.faults }

// Log returns the log of every request served.
func (s *Server) Log() *testserver.RequestLog { return s.log }

// Requests returns every request served so far, oldest first.
func (s *Server) Requests() []testserver.LoggedRequest { return s.log.Requests() }

// Hibernate makes every request, oauth_token.do included, get the HTML
// "Instance Hibernating page" with 200, until Hibernate(false).
func (s *Server) Hibernate(on bool) { s.hibernating.Store(on) }

// SetInvalidQueryMode changes the invalid-query regime.
func (s *Server) SetInvalidQueryMode(m InvalidQueryMode) {
	s.mu.Lock()
	s.cfg.invalidMode = m
	s.mu.Unlock()
}

// SetOrdering changes the order of lists without ORDERBY.
func (s *Server) SetOrdering(o Ordering) {
	s.mu.Lock()
	s.cfg.ordering = o
	s.mu.Unlock()
}

// SetDataPolicy switches the incident resolution data policy.
func (s *Server) SetDataPolicy(on bool) {
	s.mu.Lock()
	s.cfg.dataPolicy = on
	s.mu.Unlock()
}

// SetClientCredentialsGrant switches the client_credentials grant.
func (s *Server) SetClientCredentialsGrant(on bool) {
	s.oauthMu.Lock()
	s.cfg.clientCreds = on
	s.oauthMu.Unlock()
}

// DefineTable adds a user-defined table. Its rows get the system columns
// (sys_id, sys_created_on, ...) and, with a NumberPrefix, a "number".
func (s *Server) DefineTable(t Table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	td, err := s.schema.define(t)
	if err != nil {
		return err
	}
	s.addDBObject(td)
	s.bump()
	return nil
}

// AddFields adds columns (custom u_ fields, for example) to an existing
// table; stored rows get the new columns' defaults.
func (s *Server) AddFields(table string, fields ...Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.schema.tables[table]
	if t == nil {
		return fmt.Errorf("snow: AddFields: unknown table %q", table)
	}
	old := map[*tableDef][]string{}
	for _, d := range t.root.descendants() {
		names := make([]string, len(d.cols))
		for i, c := range d.cols {
			names[i] = c.name
		}
		old[d] = names
	}
	if _, err := s.schema.addFields(table, fields); err != nil {
		return err
	}
	s.migrate(t.root, old)
	return nil
}

// Tables returns the names of every table the fake knows, sorted.
func (s *Server) Tables() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.schema.names()
}
