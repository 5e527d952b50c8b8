package servicenowtest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stackflow-tech/snowsync/internal/testserver/snow"
)

// Default credentials of the built-in admin user.
const (
	AdminUser     = "admin"
	AdminPassword = "admin"
	// AdminSysID is the sys_id of the built-in admin user.
	AdminSysID = snow.AdminSysID
)

// Types shared with the fake. They are aliases, so values built with them
// go straight to the server's methods.
type (
	// Record is one row: column name to raw value, every value a string.
	Record = snow.Record
	// User is a sys_user row with its password and roles.
	User = snow.User
	// OAuthClient is an OAuth application registry entry.
	OAuthClient = snow.OAuthClient
	// ACL is an access rule (deny, hidden rows, hidden fields).
	ACL = snow.ACL
	// Operation is what an ACL guards.
	Operation = snow.Operation
	// RateLimitRule is a sys_rate_limit_rules entry.
	RateLimitRule = snow.RateLimitRule
	// InvalidQueryMode says what happens to invalid sysparm_query parts.
	InvalidQueryMode = snow.InvalidQueryMode
	// Ordering is the order of lists without ORDERBY.
	Ordering = snow.Ordering
	// Build is the version the instance reports in sys_properties.
	Build = snow.Build
	// Table defines a user table for DefineTable.
	Table = snow.Table
	// Field defines a column.
	Field = snow.Field
	// FieldType is a column's dictionary type.
	FieldType = snow.FieldType
	// Choice is one entry of a choice list.
	Choice = snow.Choice
	// WriteOption adjusts a test-side write.
	WriteOption = snow.WriteOption
	// Clock is the time source of the server.
	Clock = testserver.Clock
	// ManualClock is a Clock that moves only when told to.
	ManualClock = testserver.ManualClock
	// Fault is one injected misbehaviour.
	Fault = testserver.Fault
	// FaultKind says what a fault does.
	FaultKind = testserver.FaultKind
	// LoggedRequest is one request the server received.
	LoggedRequest = testserver.LoggedRequest
)

// Operations an ACL can guard.
const (
	OpRead   = snow.OpRead
	OpCreate = snow.OpCreate
	OpWrite  = snow.OpWrite
	OpDelete = snow.OpDelete
)

// Invalid-query regimes.
const (
	InvalidQueryIgnore    = snow.InvalidQueryIgnore
	InvalidQueryNoRows    = snow.InvalidQueryNoRows
	InvalidQueryForbidden = snow.InvalidQueryForbidden
)

// Orders of lists without ORDERBY.
const (
	OrderShuffled  = snow.OrderShuffled
	OrderInsertion = snow.OrderInsertion
)

// Column types for DefineTable and AddFields.
const (
	TypeString    = snow.TypeString
	TypeInteger   = snow.TypeInteger
	TypeDecimal   = snow.TypeDecimal
	TypeBoolean   = snow.TypeBoolean
	TypeDateTime  = snow.TypeDateTime
	TypeDate      = snow.TypeDate
	TypeReference = snow.TypeReference
	TypeJournal   = snow.TypeJournal
	TypeList      = snow.TypeList
)

// Fault kinds.
const (
	FaultStatus          = testserver.FaultStatus
	FaultDelay           = testserver.FaultDelay
	FaultReset           = testserver.FaultReset
	FaultResetAfterWrite = testserver.FaultResetAfterWrite
	FaultDelayAfterWrite = testserver.FaultDelayAfterWrite
	FaultTruncate        = testserver.FaultTruncate
	FaultResetMidBody    = testserver.FaultResetMidBody
)

// NewManualClock returns a ManualClock set to t.
func NewManualClock(t time.Time) *ManualClock { return testserver.NewManualClock(t) }

// Option configures a Server.
type Option = snow.Option

// WithClock sets the server's clock. By default the server runs on a
// ManualClock at 2026-01-01 00:00:00 UTC that Advance and SetTime move.
func WithClock(c Clock) Option { return snow.WithClock(c) }

// WithSeed seeds sys_ids, tokens and the shuffled order of unordered lists.
func WithSeed(seed uint64) Option { return snow.WithSeed(seed) }

// WithUser adds a user with a password and roles.
func WithUser(u User) Option { return snow.WithUser(u) }

// WithOAuthClient registers an OAuth application for /oauth_token.do.
func WithOAuthClient(c OAuthClient) Option { return snow.WithOAuthClient(c) }

// WithClientCredentialsGrant turns the client_credentials grant on (off by default).
func WithClientCredentialsGrant(on bool) Option { return snow.WithClientCredentialsGrant(on) }

// WithInvalidQueryMode sets the invalid-query regime (default: ignore).
func WithInvalidQueryMode(m InvalidQueryMode) Option { return snow.WithInvalidQueryMode(m) }

// WithOrdering sets the order of lists without ORDERBY (default: shuffled).
func WithOrdering(o Ordering) Option { return snow.WithOrdering(o) }

// WithRateLimit adds a rate limit rule.
func WithRateLimit(r RateLimitRule) Option { return snow.WithRateLimit(r) }

// WithACL adds an access rule.
func WithACL(a ACL) Option { return snow.WithACL(a) }

// WithDataPolicy switches the incident resolution data policy (on by default).
func WithDataPolicy(on bool) Option { return snow.WithDataPolicy(on) }

// WithBuild sets the version reported in sys_properties.
func WithBuild(b Build) Option { return snow.WithBuild(b) }

// WithTable defines a user table.
func WithTable(t Table) Option { return snow.WithTable(t) }

// WithTLS serves HTTPS; connect with Server.Client, which trusts the
// server's certificate.
func WithTLS() Option { return snow.WithTLS() }

// WithGzipResponses gzips answers for clients that accept it.
func WithGzipResponses(on bool) Option { return snow.WithGzipResponses(on) }

// Server is a running fake ServiceNow instance. Its methods are safe for
// concurrent use.
type Server struct {
	tb testing.TB
	s  *snow.Server
}

// NewServer starts a fake instance on a local httptest server and closes it
// when the test ends. Connect to URL with Basic auth (AdminUser /
// AdminPassword, or a user added with WithUser) or with a token from
// URL+"/oauth_token.do". A bad option fails the test.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	return &Server{tb: tb, s: snow.NewTest(tb, opts...)}
}

// Start starts a fake instance outside a test (for examples, benchmarks
// or a local demo). The caller must Close it. Advance and SetTime do
// nothing on it when its clock is not a *ManualClock.
func Start(opts ...Option) (*Server, error) {
	s, err := snow.Start(opts...)
	if err != nil {
		return nil, err
	}
	return &Server{s: s}, nil
}

// URL is the instance URL, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.s.URL() }

// Client returns an HTTP client that reaches the server (and trusts its
// certificate under WithTLS).
func (s *Server) Client() *http.Client { return s.s.Client() }

// Transport returns a RoundTripper that serves requests in process, with no
// sockets, for tests in testing/synctest bubbles. Any URL host works.
func (s *Server) Transport() http.RoundTripper { return s.s.Transport() }

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.s }

// Close stops the server early; it is also called when the test ends.
func (s *Server) Close() { s.s.Close() }

// Seed loads rows as a data import would (system columns kept when given,
// filled when not; no data policies). It returns the new sys_ids.
func (s *Server) Seed(table string, rows ...map[string]any) ([]string, error) {
	return s.s.Seed(table, rows...)
}

// SeedJSON loads rows from a Table API body or an array of objects.
func (s *Server) SeedJSON(table string, data []byte) ([]string, error) {
	return s.s.SeedJSON(table, data)
}

// Records returns every row of table and of the tables extending it.
func (s *Server) Records(table string) []Record { return s.s.Records(table) }

// Record returns one row by sys_id.
func (s *Server) Record(table, sysID string) (Record, bool) { return s.s.Record(table, sysID) }

// Insert creates a row as a person in the UI would (business rules run).
func (s *Server) Insert(table string, values map[string]string, opts ...WriteOption) (Record, error) {
	return s.s.Insert(table, values, opts...)
}

// Update changes a row as a person in the UI would.
func (s *Server) Update(table, sysID string, values map[string]string, opts ...WriteOption) (Record, error) {
	return s.s.Update(table, sysID, values, opts...)
}

// Delete removes a row (with its sys_audit_delete row).
func (s *Server) Delete(table, sysID string, opts ...WriteOption) error {
	return s.s.Delete(table, sysID, opts...)
}

// BulkUpdate applies values to every row of table matching an encoded
// query, all in the same second (an update job or an import), and returns
// how many rows changed.
func (s *Server) BulkUpdate(table, query string, values map[string]string, opts ...WriteOption) (int, error) {
	return s.s.BulkUpdate(table, query, values, opts...)
}

// AsUser makes a test-side write as the given user_name.
func AsUser(userName string) WriteOption { return snow.AsUser(userName) }

// At stamps a test-side write with t (a late commit when t is in the past).
func At(t time.Time) WriteOption { return snow.At(t) }

// WithoutSysFields makes an update that leaves sys_updated_on and
// sys_mod_count alone (autoSysFields(false)).
func WithoutSysFields() WriteOption { return snow.WithoutSysFields() }

// WithoutBusinessRules makes a test-side write that skips business rules and
// data policies (setWorkflow(false)).
func WithoutBusinessRules() WriteOption { return snow.WithoutBusinessRules() }

// Requests returns every request the server received, oldest first.
func (s *Server) Requests() []LoggedRequest { return s.s.Requests() }

// ResetRequests forgets the logged requests.
func (s *Server) ResetRequests() { s.s.Log().Reset() }

// AddFault queues a fault for matching requests.
func (s *Server) AddFault(f Fault) { s.s.Faults().Add(f) }

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() { s.s.Faults().Clear() }

// Hibernate makes every request get the HTML hibernation page (200) until
// Hibernate(false).
func (s *Server) Hibernate(on bool) { s.s.Hibernate(on) }

// Now returns the server's time.
func (s *Server) Now() time.Time { return s.s.Now() }

// Advance moves the server's clock forward. It fails the test when the
// server was given a Clock that is not a *ManualClock.
func (s *Server) Advance(d time.Duration) {
	if c, ok := s.s.Clock().(*ManualClock); ok {
		c.Advance(d)
		return
	}
	if s.tb == nil {
		return
	}
	s.tb.Helper()
	s.tb.Errorf("servicenowtest: Advance: the server's clock is a %T, not a *ManualClock", s.s.Clock())
}

// SetTime sets the server's clock (see Advance).
func (s *Server) SetTime(t time.Time) {
	if c, ok := s.s.Clock().(*ManualClock); ok {
		c.Set(t)
		return
	}
	if s.tb == nil {
		return
	}
	s.tb.Helper()
	s.tb.Errorf("servicenowtest: SetTime: the server's clock is a %T, not a *ManualClock", s.s.Clock())
}

// AddUser creates or updates a user.
func (s *Server) AddUser(u User) (Record, error) { return s.s.AddUser(u) }

// AddOAuthClient registers an OAuth application.
func (s *Server) AddOAuthClient(c OAuthClient) { s.s.AddOAuthClient(c) }

// RevokeToken revokes an OAuth access or refresh token.
func (s *Server) RevokeToken(token string) bool { return s.s.RevokeToken(token) }

// AddACL adds an access rule.
func (s *Server) AddACL(a ACL) error { return s.s.AddACL(a) }

// AddRateLimit adds a rate limit rule.
func (s *Server) AddRateLimit(r RateLimitRule) error { return s.s.AddRateLimit(r) }

// SetInvalidQueryMode changes the invalid-query regime.
func (s *Server) SetInvalidQueryMode(m InvalidQueryMode) { s.s.SetInvalidQueryMode(m) }

// SetOrdering changes the order of lists without ORDERBY.
func (s *Server) SetOrdering(o Ordering) { s.s.SetOrdering(o) }

// DefineTable adds a user table.
func (s *Server) DefineTable(t Table) error { return s.s.DefineTable(t) }

// AddFields adds columns (custom u_ fields) to a table.
func (s *Server) AddFields(table string, fields ...Field) error {
	return s.s.AddFields(table, fields...)
}

// HibernatingFault answers with the HTML hibernation page.
func HibernatingFault() Fault { return snow.HibernatingFault() }

// TransactionCancelledFault cuts the answer after cutAt bytes and appends
// the "Transaction cancelled" error object.
func TransactionCancelledFault(cutAt int) Fault { return snow.TransactionCancelledFault(cutAt) }

// ErrorFault answers with status and a ServiceNow error envelope.
func ErrorFault(status int, message, detail string) Fault {
	return snow.ErrorFault(status, message, detail)
}

// RateLimitedFault answers 429 with Retry-After and X-RateLimit-* headers.
func RateLimitedFault(retryAfter time.Duration, limit int, reset time.Time) Fault {
	return snow.RateLimitedFault(retryAfter, limit, reset)
}
