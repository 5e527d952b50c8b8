package stackflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// IntegrationsService is StackFlow's Integration Hub. Its calls need a
// token with the super_admin role.
type IntegrationsService struct {
	// ServiceNow is the ServiceNow integration.
	ServiceNow *ServiceNowIntegrationService
}

// ServiceNowIntegrationService configures, tests and triggers StackFlow's
// own ServiceNow integration (Admin → Integration Hub → ServiceNow).
type ServiceNowIntegrationService struct {
	c *Client
}

// AuthMethod is how StackFlow authenticates to ServiceNow.
type AuthMethod string

// The auth methods of the Integration Hub.
const (
	// AuthOAuth uses the OAuth password grant: it needs ClientID,
	// ClientSecret, Username and Password.
	AuthOAuth AuthMethod = "oauth"
	// AuthBasic uses HTTP Basic auth: it needs Username and Password.
	AuthBasic AuthMethod = "basic_auth"
)

// Direction is which way a table or field syncs.
type Direction string

// The sync directions.
const (
	// DirectionBidirectional syncs both ways (not allowed for CMDB tables).
	DirectionBidirectional Direction = "bidirectional"
	// DirectionToStackFlow syncs ServiceNow to StackFlow only.
	DirectionToStackFlow Direction = "to_stackflow"
	// DirectionReadOnly syncs ServiceNow to StackFlow only, and the StackFlow
	// copies are read-only for users.
	DirectionReadOnly Direction = "read_only"
)

// Defaults of the configuration, after the integration guide's Field
// Reference.
const (
	DefaultSyncIntervalMinutes     = 5
	DefaultCMDBSyncIntervalMinutes = 60
)

// TableMapping maps a ServiceNow table to a StackFlow module.
type TableMapping struct {
	Table     string    `json:"table"`
	Module    Module    `json:"module"`
	Direction Direction `json:"direction"`
}

// FieldMapping maps a ServiceNow field (dot-walks allowed, e.g.
// caller_id.email) of a mapped table to a writable StackFlow field or
// "attributes.<key>".
type FieldMapping struct {
	Table           string    `json:"table"`
	ServiceNowField string    `json:"servicenow_field"`
	StackFlowField  string    `json:"stackflow_field"`
	Direction       Direction `json:"direction"`
}

// DefaultTableMappings returns the integration guide's table mapping, which
// StackFlow applies when a configuration gives none: incident, problem and
// change_request bidirectional; sc_request and cmdb_rel_ci to StackFlow;
// cmdb_ci read-only.
func DefaultTableMappings() []TableMapping {
	return []TableMapping{
		{Table: "incident", Module: ModuleIncidents, Direction: DirectionBidirectional},
		{Table: "problem", Module: ModuleProblems, Direction: DirectionBidirectional},
		{Table: "change_request", Module: ModuleChanges, Direction: DirectionBidirectional},
		{Table: "sc_request", Module: ModuleServiceRequests, Direction: DirectionToStackFlow},
		{Table: "cmdb_ci", Module: ModuleCIs, Direction: DirectionReadOnly},
		{Table: "cmdb_rel_ci", Module: ModuleRelationships, Direction: DirectionToStackFlow},
	}
}

// ServiceNowConfig is the ServiceNow integration's configuration, the
// guide's Field Reference.
//
// Secrets are write-only: Put sends ClientSecret and Password when they are
// not empty, and Get never returns them (it sets ClientSecretSet and
// PasswordSet instead). A Put without a secret keeps the stored one;
// ClearClientSecret and ClearPassword remove it. String, LogValue, GoString
// and JSON encoding never show the secrets.
//
// Zero values mean the documented defaults: IncidentSync and CMDBSync nil
// mean true, intervals 0 mean DefaultSyncIntervalMinutes and
// DefaultCMDBSyncIntervalMinutes, nil TableMappings means
// DefaultTableMappings.
type ServiceNowConfig struct {
	// InstanceURL is the instance, e.g. https://acme.service-now.com (https
	// only; plain http is accepted by Validate for loopback test instances).
	InstanceURL string     `json:"instance_url"`
	AuthMethod  AuthMethod `json:"auth_method"`
	ClientID    string     `json:"client_id,omitempty"`
	// ClientSecret is the OAuth client secret: sent on Put, never read back.
	ClientSecret string `json:"-"`
	Username     string `json:"username,omitempty"`
	// Password is the integration user's password: sent on Put, never read
	// back.
	Password string `json:"-"`
	// ClientSecretSet and PasswordSet say whether StackFlow holds a secret
	// (read-only: set by Get and Put).
	ClientSecretSet bool `json:"client_secret_set"`
	PasswordSet     bool `json:"password_set"`
	// ClearClientSecret and ClearPassword make Put remove the stored secret.
	ClearClientSecret bool `json:"-"`
	ClearPassword     bool `json:"-"`

	// IncidentSync enables incident sync; nil means the default, true.
	IncidentSync *bool `json:"incident_sync,omitempty"`
	// CMDBSync enables CMDB CI sync; nil means the default, true.
	CMDBSync *bool `json:"cmdb_sync,omitempty"`
	// SyncIntervalMinutes is the polling interval, 1..1440; 0 means 5.
	SyncIntervalMinutes int `json:"sync_interval_minutes,omitempty"`
	// CMDBSyncIntervalMinutes is the CMDB polling interval, 1..10080; 0
	// means 60.
	CMDBSyncIntervalMinutes int `json:"cmdb_sync_interval_minutes,omitempty"`
	// TableMappings say which table syncs to which module and how; nil
	// means DefaultTableMappings.
	TableMappings []TableMapping `json:"table_mappings,omitempty"`
	// Filters is an encoded query per ServiceNow table, ANDed to every read
	// of it, e.g. {"cmdb_ci": "active=true^sys_updated_on>=javascript:gs.hoursAgoStart(1)"}.
	Filters map[string]string `json:"filters,omitempty"`
	// FieldMappings are custom field mappings on top of the built-in ones.
	FieldMappings []FieldMapping `json:"field_mappings,omitempty"`

	// UpdatedAt and UpdatedBy say who saved the configuration last
	// (read-only).
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// IncidentSyncEnabled reports IncidentSync with its default.
func (c *ServiceNowConfig) IncidentSyncEnabled() bool {
	return c.IncidentSync == nil || *c.IncidentSync
}

// CMDBSyncEnabled reports CMDBSync with its default.
func (c *ServiceNowConfig) CMDBSyncEnabled() bool { return c.CMDBSync == nil || *c.CMDBSync }

func redactedIf(s string, set bool) string {
	if s != "" || set {
		return httpx.Redacted
	}
	return ""
}

// String describes the configuration without its secrets.
func (c ServiceNowConfig) String() string {
	return fmt.Sprintf("ServiceNowConfig{InstanceURL:%s AuthMethod:%s ClientID:%s ClientSecret:%s Username:%s Password:%s IncidentSync:%t CMDBSync:%t}",
		c.InstanceURL, c.AuthMethod, c.ClientID, redactedIf(c.ClientSecret, c.ClientSecretSet), c.Username,
		redactedIf(c.Password, c.PasswordSet), c.IncidentSyncEnabled(), c.CMDBSyncEnabled())
}

// GoString is String, so that %#v does not show the secrets either.
func (c ServiceNowConfig) GoString() string { return c.String() }

// LogValue logs the configuration without its secrets.
func (c ServiceNowConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("instance_url", c.InstanceURL),
		slog.String("auth_method", string(c.AuthMethod)),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redactedIf(c.ClientSecret, c.ClientSecretSet)),
		slog.String("username", c.Username),
		slog.String("password", redactedIf(c.Password, c.PasswordSet)),
		slog.Bool("incident_sync", c.IncidentSyncEnabled()),
		slog.Bool("cmdb_sync", c.CMDBSyncEnabled()),
	)
}

var (
	_ fmt.Stringer   = ServiceNowConfig{}
	_ fmt.GoStringer = ServiceNowConfig{}
	_ slog.LogValuer = ServiceNowConfig{}
)

// configInput is the wire form of a Put.
type configInput struct {
	InstanceURL             string             `json:"instance_url"`
	AuthMethod              AuthMethod         `json:"auth_method"`
	ClientID                *string            `json:"client_id,omitempty"`
	ClientSecret            json.RawMessage    `json:"client_secret,omitempty"`
	Username                *string            `json:"username,omitempty"`
	Password                json.RawMessage    `json:"password,omitempty"`
	IncidentSync            *bool              `json:"incident_sync,omitempty"`
	CMDBSync                *bool              `json:"cmdb_sync,omitempty"`
	SyncIntervalMinutes     int                `json:"sync_interval_minutes,omitempty"`
	CMDBSyncIntervalMinutes int                `json:"cmdb_sync_interval_minutes,omitempty"`
	TableMappings           *[]TableMapping    `json:"table_mappings,omitempty"`
	Filters                 *map[string]string `json:"filters,omitempty"`
	FieldMappings           *[]FieldMapping    `json:"field_mappings,omitempty"`
}

func secretJSON(v string, clear bool) (json.RawMessage, error) {
	switch {
	case clear:
		return json.RawMessage("null"), nil
	case v == "":
		return nil, nil
	}
	return json.Marshal(v)
}

func (c *ServiceNowConfig) putBody() ([]byte, error) {
	in := configInput{
		InstanceURL: strings.TrimSpace(c.InstanceURL), AuthMethod: c.AuthMethod,
		IncidentSync: c.IncidentSync, CMDBSync: c.CMDBSync,
		SyncIntervalMinutes: c.SyncIntervalMinutes, CMDBSyncIntervalMinutes: c.CMDBSyncIntervalMinutes,
	}
	if c.ClientID != "" {
		in.ClientID = &c.ClientID
	}
	if c.Username != "" {
		in.Username = &c.Username
	}
	var err error
	if in.ClientSecret, err = secretJSON(c.ClientSecret, c.ClearClientSecret); err != nil {
		return nil, err
	}
	if in.Password, err = secretJSON(c.Password, c.ClearPassword); err != nil {
		return nil, err
	}
	// A nil list or map is left out (StackFlow applies its default); an
	// empty one is sent as such.
	if c.TableMappings != nil {
		in.TableMappings = &c.TableMappings
	}
	if c.Filters != nil {
		in.Filters = &c.Filters
	}
	if c.FieldMappings != nil {
		in.FieldMappings = &c.FieldMappings
	}
	return json.Marshal(in)
}

var (
	tablePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	snFieldPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
)

// Validate checks the configuration as StackFlow will, and returns every
// problem at once as a *ValidationError naming each bad field with the
// API's JSON path (e.g. "table_mappings[2].direction"), or nil. Secrets
// StackFlow already holds (ClientSecretSet, PasswordSet on a configuration
// read with Get) count as given.
func (c *ServiceNowConfig) Validate() error {
	var ps []FieldError
	bad := func(field, format string, args ...any) {
		ps = append(ps, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	switch raw := strings.TrimSpace(c.InstanceURL); {
	case raw == "":
		bad("instance_url", "is required (e.g. https://acme.service-now.com)")
	default:
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("instance_url", "must be an absolute https URL, e.g. https://acme.service-now.com")
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			bad("instance_url", "must use https")
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			bad("instance_url", "must not have a query, fragment or user info")
		}
	}

	var needs []string
	switch c.AuthMethod {
	case "":
		bad("auth_method", "is required: oauth or basic_auth")
	case AuthOAuth:
		needs = []string{"client_id", "client_secret", "username", "password"}
	case AuthBasic:
		needs = []string{"username", "password"}
	default:
		bad("auth_method", "must be oauth or basic_auth, not %q", c.AuthMethod)
	}
	have := map[string]bool{
		"client_id":     strings.TrimSpace(c.ClientID) != "",
		"client_secret": (c.ClientSecret != "" || c.ClientSecretSet) && !c.ClearClientSecret,
		"username":      strings.TrimSpace(c.Username) != "",
		"password":      (c.Password != "" || c.PasswordSet) && !c.ClearPassword,
	}
	lengths := map[string]int{
		"client_id": utf8.RuneCountInString(strings.TrimSpace(c.ClientID)), "client_secret": utf8.RuneCountInString(c.ClientSecret),
		"username": utf8.RuneCountInString(strings.TrimSpace(c.Username)), "password": utf8.RuneCountInString(c.Password),
	}
	maxLen := map[string]int{"client_id": 255, "client_secret": 1024, "username": 255, "password": 1024}
	for _, f := range []string{"client_id", "client_secret", "username", "password"} {
		switch {
		case lengths[f] > maxLen[f]:
			bad(f, "must be at most %d characters", maxLen[f])
		case slices.Contains(needs, f) && !have[f]:
			bad(f, "is required when auth_method is %s", c.AuthMethod)
		}
	}

	if n := c.SyncIntervalMinutes; n < 0 || n > 1440 {
		bad("sync_interval_minutes", "must be 1..1440 minutes (0 for the default, %d)", DefaultSyncIntervalMinutes)
	}
	if n := c.CMDBSyncIntervalMinutes; n < 0 || n > 10080 {
		bad("cmdb_sync_interval_minutes", "must be 1..10080 minutes (0 for the default, %d)", DefaultCMDBSyncIntervalMinutes)
	}

	mappings := c.TableMappings
	if mappings == nil {
		mappings = DefaultTableMappings()
	}
	if len(mappings) > 50 {
		bad("table_mappings", "must hold at most 50 mappings")
	}
	// Only rows without problems count as mapped tables for field_mappings,
	// as StackFlow reads them.
	tables := map[string]Module{}
	seen := map[string]int{}
	for i, tm := range mappings {
		at := fmt.Sprintf("table_mappings[%d]", i)
		want := moduleForTable(tm.Table)
		okRow := true
		switch {
		case tm.Table == "":
			bad(at+".table", "is required")
			okRow = false
		case !tablePattern.MatchString(tm.Table):
			bad(at+".table", "must be a ServiceNow table name (lower case, digits, _)")
			okRow = false
		case want == "":
			bad(at+".table", "is not a table StackFlow can sync (incident, problem, change_request, sc_request, cmdb_ci or a cmdb_ci_* class, cmdb_rel_ci)")
			okRow = false
		default:
			if j, dup := seen[tm.Table]; dup {
				bad(at+".table", "duplicates table_mappings[%d]", j)
				okRow = false
			}
			seen[tm.Table] = i
		}
		switch {
		case tm.Module == "":
			bad(at+".module", "is required")
			okRow = false
		case !tm.Module.Valid():
			bad(at+".module", "must be one of %v", Modules())
			okRow = false
		case okRow && tm.Module != want:
			bad(at+".module", "table %s maps to module %s", tm.Table, want)
			okRow = false
		}
		switch tm.Direction {
		case DirectionBidirectional:
			if want == ModuleCIs || want == ModuleRelationships {
				bad(at+".direction", "CMDB tables sync from ServiceNow only: use to_stackflow or read_only")
				okRow = false
			}
		case DirectionToStackFlow, DirectionReadOnly:
		default:
			bad(at+".direction", "must be bidirectional, to_stackflow or read_only")
			okRow = false
		}
		if okRow {
			tables[tm.Table] = tm.Module
		}
	}

	for _, table := range slices.Sorted(maps.Keys(c.Filters)) {
		field := "filters." + table
		if !tablePattern.MatchString(table) {
			bad(field, "must be keyed by a ServiceNow table name")
			continue
		}
		if strings.TrimSpace(c.Filters[table]) == "" {
			bad(field, "must be a non-empty encoded query")
		}
	}

	if len(c.FieldMappings) > 500 {
		bad("field_mappings", "must hold at most 500 mappings")
	}
	for i, fm := range c.FieldMappings {
		at := fmt.Sprintf("field_mappings[%d]", i)
		module, mapped := tables[fm.Table]
		if !mapped {
			bad(at+".table", "must be a table of table_mappings")
		}
		if !snFieldPattern.MatchString(fm.ServiceNowField) {
			bad(at+".servicenow_field", "must be a ServiceNow column name (dot-walks allowed, e.g. caller_id.email)")
		}
		switch attr, isAttr := strings.CutPrefix(fm.StackFlowField, "attributes."); {
		case isAttr:
			if attr == "" || utf8.RuneCountInString(attr) > 128 {
				bad(at+".stackflow_field", "attribute keys must be 1..128 characters")
			}
		case fm.StackFlowField == "":
			bad(at+".stackflow_field", "is required")
		case mapped && !slices.Contains(module.WritableFields(), fm.StackFlowField):
			bad(at+".stackflow_field", "is not a writable field of module %s (or attributes.<key>)", module)
		}
		switch fm.Direction {
		case DirectionBidirectional, DirectionToStackFlow, DirectionReadOnly:
		default:
			bad(at+".direction", "must be bidirectional, to_stackflow or read_only")
		}
	}
	if len(ps) > 0 {
		return &ValidationError{What: "ServiceNow configuration", Problems: ps}
	}
	return nil
}

// integrationPath is the Integration Hub path of the ServiceNow integration.
const integrationPath = "integrations/servicenow"

func (s *ServiceNowIntegrationService) config(ctx context.Context, cl call) (*ServiceNowConfig, *Response, error) {
	var cfg *ServiceNowConfig
	cl.decode = func(r io.Reader) error {
		cfg = new(ServiceNowConfig)
		if err := decodeJSON(r, cfg); err != nil {
			return err
		}
		if cfg.InstanceURL == "" {
			return errors.New("the answer is not a configuration (no instance_url)")
		}
		return nil
	}
	resp, err := s.c.do(ctx, cl)
	if err != nil {
		return nil, resp, err
	}
	return cfg, resp, nil
}

// Get returns the saved configuration, defaults filled in and secrets
// masked (ClientSecretSet, PasswordSet). It fails with ErrNotFound until a
// configuration was saved.
//
// StackFlow API docs: GET /integrations/servicenow
func (s *ServiceNowIntegrationService) Get(ctx context.Context) (*ServiceNowConfig, *Response, error) {
	return s.config(ctx, call{method: http.MethodGet, path: integrationPath, class: httpx.Idempotent})
}

// Put saves the whole configuration and returns it as stored (defaults
// filled in, secrets masked). It runs Validate first and sends nothing when
// that finds problems; StackFlow's own refusal is an *Error matching
// ErrValidation whose Details name every bad field.
//
// StackFlow API docs: PUT /integrations/servicenow
func (s *ServiceNowIntegrationService) Put(ctx context.Context, cfg *ServiceNowConfig) (*ServiceNowConfig, *Response, error) {
	if cfg == nil {
		return nil, nil, &InvalidInputError{Field: "cfg", Reason: "the configuration is nil"}
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	body, err := cfg.putBody()
	if err != nil {
		return nil, nil, &InvalidInputError{Field: "cfg", Reason: "cannot be encoded: " + err.Error()}
	}
	s.c.secrets.Add(cfg.ClientSecret, cfg.Password)
	return s.config(ctx, call{method: http.MethodPut, path: integrationPath, body: body, class: httpx.Idempotent})
}

// TestConnectionResult is the outcome of Test Connection. Problems on the
// ServiceNow side (unreachable, wrong credentials, unknown user) are
// reported here with OK false, not as errors.
type TestConnectionResult struct {
	// OK is true when StackFlow authenticated, found the user and can read
	// every mapped table.
	OK bool `json:"ok"`
	// ServiceNowVersion is e.g. "Yokohama (glide-yokohama-12-18-2024__patch3)";
	// "" when the user may not read sys_properties.
	ServiceNowVersion string `json:"servicenow_version"`
	// User is the integration user; nil when authentication failed or the
	// user was not found.
	User *TestConnectionUser `json:"user"`
	// Tables says what StackFlow can do with each mapped table.
	Tables []TableAccess `json:"tables"`
	// Error says why OK is false (nil when OK, or when only a table is
	// unreadable).
	Error *TestConnectionError `json:"error"`
}

// TestConnectionUser is the ServiceNow integration user Test Connection found.
type TestConnectionUser struct {
	UserName string   `json:"user_name"`
	SysID    string   `json:"sys_id"`
	Roles    []string `json:"roles"`
}

// TableAccess is what Test Connection found for one mapped table: Read is a
// successful one-row read; Write is inferred from the user's roles.
type TableAccess struct {
	Table string `json:"table"`
	Read  bool   `json:"read"`
	Write bool   `json:"write"`
}

// TestConnectionError is why Test Connection failed: Code is one of
// unreachable, instance_unavailable, auth_failed, user_not_found,
// ambiguous_user, unexpected_response.
type TestConnectionError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Test runs Test Connection against the saved configuration: StackFlow
// authenticates to ServiceNow, looks up the integration user, reads the
// version and one row of every mapped table. Nothing is written, so it is
// retried like a read.
//
// StackFlow API docs: POST /integrations/servicenow/test
func (s *ServiceNowIntegrationService) Test(ctx context.Context) (*TestConnectionResult, *Response, error) {
	var res *TestConnectionResult
	resp, err := s.c.do(ctx, call{
		method: http.MethodPost, path: integrationPath + "/test", class: httpx.Idempotent,
		decode: func(r io.Reader) error {
			res = new(TestConnectionResult)
			return decodeJSON(r, res)
		},
	})
	if err != nil {
		return nil, resp, err
	}
	return res, resp, nil
}

// JobType is the kind of a manual sync job.
type JobType string

// The job types.
const (
	JobSyncCMDB      JobType = "sync_cmdb"
	JobSyncIncidents JobType = "sync_incidents"
)

// JobStatus is where a job is: queued → running → succeeded or failed.
type JobStatus string

// The job statuses.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
)

// Job is a manual sync started from the Integration Hub.
type Job struct {
	ID     string    `json:"job_id"`
	Type   JobType   `json:"type"`
	Status JobStatus `json:"status"`
	// Limit is the requested incident count of a sync_incidents job; 0
	// otherwise.
	Limit      int        `json:"limit"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Counts     JobCounts  `json:"counts"`
	// Errors are the first (at most 100) errors the job reported; a job with
	// any error is failed.
	Errors []JobError `json:"errors"`
}

// Done reports whether the job has finished (succeeded or failed).
func (j *Job) Done() bool { return j.Status == JobSucceeded || j.Status == JobFailed }

// JobCounts are what a sync job did.
type JobCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// JobError is one error a sync job reported.
type JobError struct {
	Message string `json:"message"`
}

func (s *ServiceNowIntegrationService) job(ctx context.Context, cl call) (*Job, *Response, error) {
	var j *Job
	cl.decode = func(r io.Reader) error {
		j = new(Job)
		if err := decodeJSON(r, j); err != nil {
			return err
		}
		if j.ID == "" {
			return errors.New("the answer is not a job (no job_id)")
		}
		return nil
	}
	resp, err := s.c.do(ctx, cl)
	if err != nil {
		return nil, resp, err
	}
	return j, resp, nil
}

// SyncCMDB starts a manual CMDB sync and returns the queued job; follow it
// with Job or WaitJob. It fails with ErrNotFound when nothing is
// configured and ErrValidation when CMDB sync is disabled. Starting a job
// is not retried after a failure that may have reached StackFlow (it could
// start two).
//
// StackFlow API docs: POST /integrations/servicenow/sync-cmdb
func (s *ServiceNowIntegrationService) SyncCMDB(ctx context.Context) (*Job, *Response, error) {
	return s.job(ctx, call{method: http.MethodPost, path: integrationPath + "/sync-cmdb", class: httpx.NonIdempotent})
}

// MaxSyncIncidents is the largest limit SyncIncidents takes.
const MaxSyncIncidents = 100

// SyncIncidents starts "Sync N Recent Incidents": a job importing the limit
// most recently updated ServiceNow incidents (1..MaxSyncIncidents; 0 means
// StackFlow's default, 10). Like SyncCMDB it is not retried after a failure
// that may have reached StackFlow.
//
// StackFlow API docs: POST /integrations/servicenow/sync-incidents
func (s *ServiceNowIntegrationService) SyncIncidents(ctx context.Context, limit int) (*Job, *Response, error) {
	if limit < 0 || limit > MaxSyncIncidents {
		return nil, nil, &InvalidInputError{Field: "limit", Reason: fmt.Sprintf("%d is out of range: 1..%d (0 for the default, 10)", limit, MaxSyncIncidents)}
	}
	cl := call{method: http.MethodPost, path: integrationPath + "/sync-incidents", class: httpx.NonIdempotent}
	if limit > 0 {
		cl.body = []byte(fmt.Sprintf(`{"limit":%d}`, limit))
	}
	return s.job(ctx, cl)
}

// Job returns a sync job by id (StackFlow keeps jobs for 7 days).
//
// StackFlow API docs: GET /integrations/servicenow/jobs/{job_id}
func (s *ServiceNowIntegrationService) Job(ctx context.Context, id string) (*Job, *Response, error) {
	if err := validJobID(id); err != nil {
		return nil, nil, err
	}
	return s.job(ctx, call{method: http.MethodGet, path: integrationPath + "/jobs/" + url.PathEscape(id), class: httpx.Idempotent})
}

func validJobID(id string) error {
	if id == "" {
		return &InvalidInputError{Field: "id", Reason: "the job id is empty"}
	}
	if len(id) > 128 || strings.ContainsAny(id, "/?#%\\") || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return &InvalidInputError{Field: "id", Reason: fmt.Sprintf("%q is not a job id", id)}
	}
	return nil
}

// DefaultJobPoll is how often WaitJob polls when given no interval.
const DefaultJobPoll = 2 * time.Second

// WaitJob polls a job every poll (DefaultJobPoll when 0) until it has
// finished or ctx ends. A succeeded job is returned with a nil error; a
// failed one with a *JobFailedError. When ctx ends first, the last state
// seen (possibly nil) is returned with ctx's error. Failed polls are
// retried by the client's retry policy; an error that remains ends the
// wait.
func (s *ServiceNowIntegrationService) WaitJob(ctx context.Context, id string, poll time.Duration) (*Job, error) {
	if poll < 0 {
		return nil, &InvalidInputError{Field: "poll", Reason: "the poll interval is negative"}
	}
	if poll == 0 {
		poll = DefaultJobPoll
	}
	if err := validJobID(id); err != nil {
		return nil, err
	}
	var last *Job
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("stackflow: waiting for job %s: %w", id, ctx.Err())
		case <-timer.C:
		}
		j, _, err := s.Job(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("stackflow: waiting for job %s: %w", id, ctx.Err())
			}
			return last, err
		}
		last = j
		switch j.Status {
		case JobSucceeded:
			return j, nil
		case JobFailed:
			return j, &JobFailedError{Job: j}
		}
		timer.Reset(poll)
	}
}
