package stackflowtest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stackflow-tech/snowsync/internal/testserver/sf"
)

// Module identifiers.
const (
	Incidents         = sf.Incidents
	Problems          = sf.Problems
	Changes           = sf.Changes
	ServiceRequests   = sf.ServiceRequests
	CMDBCIs           = sf.CMDBCIs
	CMDBRelationships = sf.CMDBRelationships
)

// Roles a token can hold.
const (
	RoleViewer     = sf.RoleViewer     // read the modules
	RoleAgent      = sf.RoleAgent      // read and write the modules
	RoleSuperAdmin = sf.RoleSuperAdmin // everything, Integration Hub included
)

// Job types and statuses.
const (
	JobSyncCMDB      = sf.JobSyncCMDB
	JobSyncIncidents = sf.JobSyncIncidents
	JobQueued        = sf.JobQueued
	JobRunning       = sf.JobRunning
	JobSucceeded     = sf.JobSucceeded
	JobFailed        = sf.JobFailed
)

// Fault kinds; see Fault.
const (
	FaultStatus          = testserver.FaultStatus
	FaultDelay           = testserver.FaultDelay
	FaultReset           = testserver.FaultReset
	FaultResetAfterWrite = testserver.FaultResetAfterWrite
	FaultDelayAfterWrite = testserver.FaultDelayAfterWrite
	FaultTruncate        = testserver.FaultTruncate
	FaultResetMidBody    = testserver.FaultResetMidBody
)

// DefaultToken is the bearer token every Server accepts unless
// WithoutDefaultToken is given: subject DefaultSubject, role super_admin.
const (
	DefaultToken   = "stackflowtest-token"
	DefaultSubject = "stackflowtest"
)

type (
	// Record is a stored record as tests see it.
	Record = sf.Record
	// Job is a manual sync job of the Integration Hub.
	Job = sf.Job
	// JobCounts are what a sync job did.
	JobCounts = sf.JobCounts
	// JobRunner runs sync jobs; see WithJobRunner.
	JobRunner = sf.JobRunner
	// IntegrationConfig is the saved ServiceNow configuration.
	IntegrationConfig = sf.IntegrationConfig
	// TableMapping maps a ServiceNow table to a StackFlow module.
	TableMapping = sf.TableMapping
	// FieldMapping maps a ServiceNow field to a StackFlow field.
	FieldMapping = sf.FieldMapping
	// Delivery is the outcome of one webhook delivery.
	Delivery = sf.Delivery
	// APIError is what the test-side methods return for bad input.
	APIError = sf.APIError
	// Detail names one bad field of an APIError.
	Detail = sf.Detail
	// Clock is the time source of the server.
	Clock = testserver.Clock
	// ManualClock is a Clock that moves only when told to.
	ManualClock = testserver.ManualClock
	// Fault is an injected misbehaviour; see AddFault.
	Fault = testserver.Fault
	// FaultKind says what a Fault does.
	FaultKind = testserver.FaultKind
	// LoggedRequest is one request the server received.
	LoggedRequest = testserver.LoggedRequest
)

// NewManualClock returns a ManualClock set to t.
func NewManualClock(t time.Time) *ManualClock { return testserver.NewManualClock(t) }

// config collects the options.
type config struct {
	fake           []sf.Option
	noDefaultToken bool
}

// Option configures a Server.
type Option func(*config)

// WithClock sets the clock every timestamp comes from (default: the wall
// clock); pass a *ManualClock to pin and move time.
func WithClock(c Clock) Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithClock(c)) }
}

// WithToken registers another bearer token for subject with the given roles
// (RoleViewer, RoleAgent, RoleSuperAdmin).
func WithToken(token, subject string, roles ...string) Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithToken(token, subject, roles...)) }
}

// WithoutDefaultToken leaves DefaultToken out, for tests of 401 answers.
func WithoutDefaultToken() Option {
	return func(cfg *config) { cfg.noDefaultToken = true }
}

// WithRateLimit allows limit requests per token per window (default
// 100,000 per minute) on the server's clock.
func WithRateLimit(limit int, window time.Duration) Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithRateLimit(limit, window)) }
}

// WithBasePath serves the API under p (default "/prod/api", as in
// https://acme.stackflow-tech.com/prod/api).
func WithBasePath(p string) Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithBasePath(p)) }
}

// WithJobRunner plugs in the code that runs sync jobs started through
// POST /integrations/servicenow/sync-cmdb and sync-incidents (for example a
// real syncer). Without one, jobs fail at once with an error saying so.
func WithJobRunner(run JobRunner) Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithJobRunner(run)) }
}

// WithServiceNowClient sets the HTTP client Test Connection calls
// ServiceNow with, e.g. a fake ServiceNow's httptest client.
func WithServiceNowClient(c *http.Client) Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithServiceNowClient(c)) }
}

// WithHTTPInstanceURLs accepts http:// ServiceNow instance URLs (the real
// service requires https), for fakes served without TLS.
func WithHTTPInstanceURLs() Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithHTTPInstanceURLs()) }
}

// WithWebhookRetry sets how often a webhook delivery is attempted in all
// and the first backoff (doubled each time).
func WithWebhookRetry(attempts int, backoff time.Duration) Option {
	return func(cfg *config) { cfg.fake = append(cfg.fake, sf.WithWebhookRetry(attempts, backoff)) }
}

// Server is a fake StackFlow on an httptest server. Its methods are safe
// for concurrent use.
type Server struct {
	// URL is the root of the httptest server, e.g. http://127.0.0.1:41234.
	URL string
	// Token is DefaultToken, or "" with WithoutDefaultToken.
	Token string

	fake *sf.Server
	ts   *httptest.Server
}

// NewServer starts a fake StackFlow for the test and closes it when the
// test ends. It fails the test on a bad option.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("stackflowtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake StackFlow outside a test (examples, demos); the
// caller must Close it.
func Start(opts ...Option) (*Server, error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	fakeOpts := cfg.fake
	token := ""
	if !cfg.noDefaultToken {
		token = DefaultToken
		fakeOpts = append([]sf.Option{sf.WithToken(DefaultToken, DefaultSubject, RoleSuperAdmin)}, fakeOpts...)
	}
	fake, err := sf.New(fakeOpts...)
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(fake)
	return &Server{URL: ts.URL, Token: token, fake: fake, ts: ts}, nil
}

// Close shuts the server down and waits for its background work (jobs,
// webhook deliveries).
func (s *Server) Close() {
	s.ts.Close()
	s.fake.Close()
}

// BaseURL is the URL a StackFlow client takes: URL plus the base path,
// e.g. http://127.0.0.1:41234/prod/api.
func (s *Server) BaseURL() string { return s.URL + s.fake.BasePath() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Handler returns the server's http.Handler, for in-process transports
// (testing/synctest bubbles cannot use sockets).
func (s *Server) Handler() http.Handler { return s.fake }

// Clock returns the server's clock.
func (s *Server) Clock() Clock { return s.fake.Clock() }

// Seed creates records in a module as the user "seed", with the API's
// field names and validation; see Create.
func (s *Server) Seed(module string, records ...map[string]any) ([]Record, error) {
	return s.fake.Seed(module, records...)
}

// Create adds a record as user would in the StackFlow UI: the same
// validation and normalisation as the API, a version and updated_at of its
// own, and webhooks. fields uses the API's JSON names (title, priority,
// source, external_id, attributes, ...) with Go values.
func (s *Server) Create(module string, fields map[string]any, user string) (Record, error) {
	return s.fake.Create(module, fields, user)
}

// Update edits a record as user would in the UI (only the given fields; nil
// clears one).
func (s *Server) Update(module, id string, fields map[string]any, user string) (Record, error) {
	return s.fake.Update(module, id, fields, user)
}

// Delete soft-deletes a record as user would in the UI.
func (s *Server) Delete(module, id, user string) error { return s.fake.Delete(module, id, user) }

// Records returns every record of a module, deleted ones included, in
// creation order.
func (s *Server) Records(module string) ([]Record, error) { return s.fake.Records(module) }

// Record returns one record and whether it exists.
func (s *Server) Record(module, id string) (Record, bool) { return s.fake.Record(module, id) }

// Count returns how many records a module holds.
func (s *Server) Count(module string, includeDeleted bool) (int, error) {
	return s.fake.Count(module, includeDeleted)
}

// Requests returns every request the server received, oldest first.
func (s *Server) Requests() []LoggedRequest { return s.fake.Log().Requests() }

// RequestCount counts the received requests that match (all when nil).
func (s *Server) RequestCount(match func(LoggedRequest) bool) int { return s.fake.Log().Count(match) }

// ResetRequests forgets the received requests.
func (s *Server) ResetRequests() { s.fake.Log().Reset() }

// InjectError makes the next times requests (0 = once, negative = all)
// with method ("" = any) to paths starting with path (relative to the base
// path, e.g. "/incidents") fail with status and a StackFlow error body.
func (s *Server) InjectError(method, path string, status, times int) {
	s.fake.Faults().Add(s.fake.ErrorFault(method, path, status, times))
}

// AddFault queues any fault; its Path is relative to the base path.
func (s *Server) AddFault(f Fault) {
	f.Path = s.fake.BasePath() + f.Path
	s.fake.Faults().Add(f)
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() { s.fake.Faults().Clear() }

// AddToken registers a bearer token; see WithToken.
func (s *Server) AddToken(token, subject string, roles ...string) error {
	return s.fake.AddToken(token, subject, roles...)
}

// ExpireToken makes a token expire at t on the server's clock.
func (s *Server) ExpireToken(token string, t time.Time) error { return s.fake.ExpireToken(token, t) }

// RemoveToken revokes a token.
func (s *Server) RemoveToken(token string) { s.fake.RemoveToken(token) }

// Subscribe sends every record event to url, signed with secret, and
// returns the subscription id.
func (s *Server) Subscribe(url, secret string) (string, error) { return s.fake.Subscribe(url, secret) }

// Unsubscribe stops a subscription.
func (s *Server) Unsubscribe(id string) { s.fake.Unsubscribe(id) }

// FlushWebhooks waits until every queued webhook was delivered or given up on.
func (s *Server) FlushWebhooks(ctx context.Context) error { return s.fake.FlushWebhooks(ctx) }

// Deliveries returns the outcome of every finished webhook delivery.
func (s *Server) Deliveries() []Delivery { return s.fake.Deliveries() }

// ConfigureServiceNow saves the Integration Hub's ServiceNow configuration
// as user, with the validation of PUT /integrations/servicenow.
func (s *Server) ConfigureServiceNow(c IntegrationConfig, user string) (IntegrationConfig, error) {
	return s.fake.ConfigureServiceNow(c, user)
}

// ServiceNowConfig returns the saved configuration (secrets included).
func (s *Server) ServiceNowConfig() (IntegrationConfig, bool) { return s.fake.ServiceNowConfig() }

// StartJob queues a sync job as the Integration Hub's buttons do.
func (s *Server) StartJob(jobType string, limit int) (Job, error) {
	return s.fake.StartJob(jobType, limit)
}

// Job returns a job by id.
func (s *Server) Job(id string) (Job, bool) { return s.fake.Job(id) }

// WaitJob waits until a job finished or ctx ends.
func (s *Server) WaitJob(ctx context.Context, id string) (Job, error) { return s.fake.WaitJob(ctx, id) }

// IsValidationError reports whether err is a 422 from a test-side method,
// and returns its details.
func IsValidationError(err error) ([]Detail, bool) {
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusUnprocessableEntity {
		return e.Details, true
	}
	return nil, false
}
