package sf

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Directions of a table or field mapping.
const (
	DirectionBidirectional = "bidirectional"
	DirectionToStackFlow   = "to_stackflow"
	DirectionReadOnly      = "read_only"
)

// Auth methods of the ServiceNow configuration.
const (
	AuthOAuth = "oauth"
	AuthBasic = "basic_auth"
)

// TableMapping maps a ServiceNow table to a StackFlow module.
type TableMapping struct {
	Table     string `json:"table"`
	Module    string `json:"module"`
	Direction string `json:"direction"`
}

// FieldMapping maps one ServiceNow field to one StackFlow field.
type FieldMapping struct {
	Table           string `json:"table"`
	ServiceNowField string `json:"servicenow_field"`
	StackFlowField  string `json:"stackflow_field"`
	Direction       string `json:"direction"`
}

// IntegrationConfig is the saved ServiceNow configuration of the
// Integration Hub, secrets included (the API never returns them). Its
// String and LogValue methods redact the secrets.
type IntegrationConfig struct {
	InstanceURL             string
	AuthMethod              string // AuthOAuth or AuthBasic
	ClientID                string
	ClientSecret            string
	Username                string
	Password                string
	IncidentSync            bool
	CMDBSync                bool
	SyncIntervalMinutes     int
	CMDBSyncIntervalMinutes int
	TableMappings           []TableMapping
	Filters                 map[string]string // encoded query per table
	FieldMappings           []FieldMapping
	UpdatedAt               time.Time
	UpdatedBy               string
}

// String describes the configuration with its secrets redacted.
func (c IntegrationConfig) String() string {
	return fmt.Sprintf("IntegrationConfig{InstanceURL:%s AuthMethod:%s ClientID:%s ClientSecret:%s Username:%s Password:%s}",
		c.InstanceURL, c.AuthMethod, c.ClientID, redacted(c.ClientSecret), c.Username, redacted(c.Password))
}

// LogValue logs the configuration with its secrets redacted.
func (c IntegrationConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("instance_url", c.InstanceURL),
		slog.String("auth_method", c.AuthMethod),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redacted(c.ClientSecret)),
		slog.String("username", c.Username),
		slog.String("password", redacted(c.Password)),
	)
}

var _ slog.LogValuer = IntegrationConfig{}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

func (c IntegrationConfig) clone() IntegrationConfig {
	c.TableMappings = slices.Clone(c.TableMappings)
	c.FieldMappings = slices.Clone(c.FieldMappings)
	c.Filters = maps.Clone(c.Filters)
	return c
}

// DefaultTableMappings are the guide's table mappings.
func DefaultTableMappings() []TableMapping {
	return []TableMapping{
		{Table: "incident", Module: Incidents, Direction: DirectionBidirectional},
		{Table: "problem", Module: Problems, Direction: DirectionBidirectional},
		{Table: "change_request", Module: Changes, Direction: DirectionBidirectional},
		{Table: "sc_request", Module: ServiceRequests, Direction: DirectionToStackFlow},
		{Table: "cmdb_ci", Module: CMDBCIs, Direction: DirectionReadOnly},
		{Table: "cmdb_rel_ci", Module: CMDBRelationships, Direction: DirectionToStackFlow},
	}
}

var (
	tablePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	snFieldPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	directions     = []string{DirectionBidirectional, DirectionToStackFlow, DirectionReadOnly}
)

// moduleForTable returns the module a ServiceNow table may map to.
func moduleForTable(table string) string {
	switch {
	case table == "incident":
		return Incidents
	case table == "problem":
		return Problems
	case table == "change_request":
		return Changes
	case table == "sc_request":
		return ServiceRequests
	case table == "cmdb_ci" || strings.HasPrefix(table, "cmdb_ci_"):
		return CMDBCIs
	case table == "cmdb_rel_ci":
		return CMDBRelationships
	}
	return ""
}

func isCMDBTable(table string) bool {
	m := moduleForTable(table)
	return m == CMDBCIs || m == CMDBRelationships
}

// configFields are the writable fields of the configuration.
var configFields = map[string]bool{
	"instance_url": true, "auth_method": true, "client_id": true, "client_secret": true, "username": true,
	"password": true, "incident_sync": true, "cmdb_sync": true, "sync_interval_minutes": true,
	"cmdb_sync_interval_minutes": true, "table_mappings": true, "filters": true, "field_mappings": true,
}

var configReadOnly = map[string]bool{
	"client_secret_set": true, "password_set": true, "updated_at": true, "updated_by": true,
}

// parseConfig validates a PUT body against the stored configuration (for
// secrets that are kept) and returns the new configuration.
func parseConfig(body map[string]any, stored *IntegrationConfig, allowHTTP bool) (IntegrationConfig, []Detail) {
	var ds []Detail
	bad := func(field, format string, args ...any) {
		ds = append(ds, Detail{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, k := range slices.Sorted(maps.Keys(body)) {
		switch {
		case configReadOnly[k]:
			bad(k, "read-only field")
		case !configFields[k]:
			bad(k, "unknown field")
		}
	}
	cfg := IntegrationConfig{
		IncidentSync: true, CMDBSync: true, SyncIntervalMinutes: 5, CMDBSyncIntervalMinutes: 60,
		TableMappings: DefaultTableMappings(), Filters: map[string]string{}, FieldMappings: []FieldMapping{},
	}

	// instance_url
	switch v := body["instance_url"].(type) {
	case nil:
		bad("instance_url", "is required")
	case string:
		u, err := url.Parse(strings.TrimSpace(v))
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("instance_url", "must be an absolute https URL, e.g. https://acme.service-now.com")
		case u.Scheme == "http" && !allowHTTP:
			bad("instance_url", "must use https")
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			bad("instance_url", "must not have a query, fragment or user info")
		default:
			cfg.InstanceURL = strings.TrimRight(u.String(), "/")
		}
	default:
		bad("instance_url", "must be a string")
	}

	// auth_method
	switch v := body["auth_method"].(type) {
	case nil:
		bad("auth_method", "is required")
	case string:
		if v != AuthOAuth && v != AuthBasic {
			bad("auth_method", "must be one of oauth, basic_auth")
		} else {
			cfg.AuthMethod = v
		}
	default:
		bad("auth_method", "must be one of oauth, basic_auth")
	}

	// credentials
	str := func(field string, max int, trim bool, keep string, keepWhenAbsent bool) string {
		v, present := body[field]
		if !present {
			if keepWhenAbsent {
				return keep
			}
			return ""
		}
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			if trim {
				x = strings.TrimSpace(x)
			}
			if utf8.RuneCountInString(x) > max {
				bad(field, "must be at most %d characters", max)
				return ""
			}
			return x
		}
		bad(field, "must be a string or null")
		return ""
	}
	var keepSecret, keepPassword string
	if stored != nil {
		keepSecret, keepPassword = stored.ClientSecret, stored.Password
	}
	cfg.ClientID = str("client_id", 255, true, "", false)
	cfg.ClientSecret = str("client_secret", 1024, false, keepSecret, true)
	cfg.Username = str("username", 255, true, "", false)
	cfg.Password = str("password", 1024, false, keepPassword, true)
	need := func(field, value, method string) {
		if value == "" && !hasField(ds, field) {
			bad(field, "is required when auth_method is %s", method)
		}
	}
	switch cfg.AuthMethod {
	case AuthOAuth:
		need("client_id", cfg.ClientID, AuthOAuth)
		need("client_secret", cfg.ClientSecret, AuthOAuth)
		need("username", cfg.Username, AuthOAuth)
		need("password", cfg.Password, AuthOAuth)
	case AuthBasic:
		need("username", cfg.Username, AuthBasic)
		need("password", cfg.Password, AuthBasic)
	}

	// toggles and intervals
	boolean := func(field string, dst *bool) {
		if v, ok := body[field]; ok {
			if b, ok := v.(bool); ok {
				*dst = b
			} else {
				bad(field, "must be true or false")
			}
		}
	}
	boolean("incident_sync", &cfg.IncidentSync)
	boolean("cmdb_sync", &cfg.CMDBSync)
	interval := func(field string, max int64, dst *int) {
		v, ok := body[field]
		if !ok {
			return
		}
		n, isInt := toInt(v)
		if !isInt || n < 1 || n > max {
			bad(field, "must be an integer 1..%d (minutes)", max)
			return
		}
		*dst = int(n)
	}
	interval("sync_interval_minutes", 1440, &cfg.SyncIntervalMinutes)
	interval("cmdb_sync_interval_minutes", 10080, &cfg.CMDBSyncIntervalMinutes)

	// table_mappings
	if v, ok := body["table_mappings"]; ok {
		cfg.TableMappings = parseTableMappings(v, bad)
	}
	tables := map[string]string{}
	for _, tm := range cfg.TableMappings {
		tables[tm.Table] = tm.Module
	}

	// filters
	if v, ok := body["filters"]; ok {
		switch fs := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(fs)) {
				field := "filters." + k
				if !tablePattern.MatchString(k) {
					bad(field, "must be keyed by a ServiceNow table name")
					continue
				}
				q, isStr := fs[k].(string)
				if !isStr || strings.TrimSpace(q) == "" {
					bad(field, "must be a non-empty encoded query string")
					continue
				}
				cfg.Filters[k] = q
			}
		default:
			bad("filters", "must be an object of table name to encoded query")
		}
	}

	// field_mappings
	if v, ok := body["field_mappings"]; ok {
		cfg.FieldMappings = parseFieldMappings(v, tables, bad)
	}
	return cfg, ds
}

// parseTableMappings checks the table_mappings array.
func parseTableMappings(v any, bad func(field, format string, args ...any)) []TableMapping {
	items, ok := v.([]any)
	if !ok {
		bad("table_mappings", "must be an array")
		return nil
	}
	if len(items) > 50 {
		bad("table_mappings", "must hold at most 50 mappings")
		return nil
	}
	out := []TableMapping{}
	seen := map[string]int{}
	for i, it := range items {
		at := fmt.Sprintf("table_mappings[%d]", i)
		obj, ok := it.(map[string]any)
		if !ok {
			bad(at, "must be an object with table, module and direction")
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if k != "table" && k != "module" && k != "direction" {
				bad(at+"."+k, "unknown field")
			}
		}
		table, _ := obj["table"].(string)
		module, _ := obj["module"].(string)
		dir, _ := obj["direction"].(string)
		okRow := true
		switch {
		case table == "":
			bad(at+".table", "is required")
			okRow = false
		case !tablePattern.MatchString(table):
			bad(at+".table", "must be a ServiceNow table name")
			okRow = false
		case moduleForTable(table) == "":
			bad(at+".table", "is not a table StackFlow can sync (incident, problem, change_request, sc_request, cmdb_ci or a cmdb_ci_* class, cmdb_rel_ci)")
			okRow = false
		default:
			if j, dup := seen[table]; dup {
				bad(at+".table", "duplicates table_mappings[%d]", j)
				okRow = false
			}
			seen[table] = i
		}
		switch {
		case module == "":
			bad(at+".module", "is required")
			okRow = false
		case moduleByID[module] == nil || moduleByID[module].id != module:
			bad(at+".module", "must be one of incidents, problems, changes, service_requests, cmdb_cis, cmdb_relationships")
			okRow = false
		case okRow && moduleForTable(table) != module:
			bad(at+".module", "table %s maps to module %s", table, moduleForTable(table))
			okRow = false
		}
		switch {
		case !slices.Contains(directions, dir):
			bad(at+".direction", "must be one of bidirectional, to_stackflow, read_only")
			okRow = false
		case dir == DirectionBidirectional && isCMDBTable(table):
			bad(at+".direction", "CMDB tables sync from ServiceNow only: use to_stackflow or read_only")
			okRow = false
		}
		if okRow {
			out = append(out, TableMapping{Table: table, Module: module, Direction: dir})
		}
	}
	return out
}

// parseFieldMappings checks the field_mappings array against the tables.
func parseFieldMappings(v any, tables map[string]string, bad func(field, format string, args ...any)) []FieldMapping {
	items, ok := v.([]any)
	if !ok {
		bad("field_mappings", "must be an array")
		return nil
	}
	if len(items) > 500 {
		bad("field_mappings", "must hold at most 500 mappings")
		return nil
	}
	out := []FieldMapping{}
	for i, it := range items {
		at := fmt.Sprintf("field_mappings[%d]", i)
		obj, ok := it.(map[string]any)
		if !ok {
			bad(at, "must be an object with table, servicenow_field, stackflow_field and direction")
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			switch k {
			case "table", "servicenow_field", "stackflow_field", "direction":
			default:
				bad(at+"."+k, "unknown field")
			}
		}
		fm := FieldMapping{}
		fm.Table, _ = obj["table"].(string)
		fm.ServiceNowField, _ = obj["servicenow_field"].(string)
		fm.StackFlowField, _ = obj["stackflow_field"].(string)
		fm.Direction, _ = obj["direction"].(string)
		okRow := true
		module, mapped := tables[fm.Table]
		if !mapped {
			bad(at+".table", "must be a table of table_mappings")
			okRow = false
		}
		if !snFieldPattern.MatchString(fm.ServiceNowField) {
			bad(at+".servicenow_field", "must be a ServiceNow column name (dot-walks allowed)")
			okRow = false
		}
		switch attr, isAttr := strings.CutPrefix(fm.StackFlowField, "attributes."); {
		case isAttr:
			if attr == "" || utf8.RuneCountInString(attr) > maxAttrKey {
				bad(at+".stackflow_field", "attribute keys must be 1..128 characters")
				okRow = false
			}
		case fm.StackFlowField == "":
			bad(at+".stackflow_field", "is required")
			okRow = false
		case mapped && moduleByID[module].byName[fm.StackFlowField] == nil:
			bad(at+".stackflow_field", "is not a writable field of module %s (or attributes.<key>)", module)
			okRow = false
		}
		if !slices.Contains(directions, fm.Direction) {
			bad(at+".direction", "must be one of bidirectional, to_stackflow, read_only")
			okRow = false
		}
		if okRow {
			out = append(out, fm)
		}
	}
	return out
}

// configJSON is the masked wire form of the configuration.
type configJSON struct {
	InstanceURL             string            `json:"instance_url"`
	AuthMethod              string            `json:"auth_method"`
	ClientID                *string           `json:"client_id"`
	ClientSecretSet         bool              `json:"client_secret_set"`
	Username                *string           `json:"username"`
	PasswordSet             bool              `json:"password_set"`
	IncidentSync            bool              `json:"incident_sync"`
	CMDBSync                bool              `json:"cmdb_sync"`
	SyncIntervalMinutes     int               `json:"sync_interval_minutes"`
	CMDBSyncIntervalMinutes int               `json:"cmdb_sync_interval_minutes"`
	TableMappings           []TableMapping    `json:"table_mappings"`
	Filters                 map[string]string `json:"filters"`
	FieldMappings           []FieldMapping    `json:"field_mappings"`
	UpdatedAt               string            `json:"updated_at"`
	UpdatedBy               string            `json:"updated_by"`
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (c IntegrationConfig) masked() configJSON {
	out := configJSON{
		InstanceURL: c.InstanceURL, AuthMethod: c.AuthMethod,
		ClientID: nullIfEmpty(c.ClientID), ClientSecretSet: c.ClientSecret != "",
		Username: nullIfEmpty(c.Username), PasswordSet: c.Password != "",
		IncidentSync: c.IncidentSync, CMDBSync: c.CMDBSync,
		SyncIntervalMinutes: c.SyncIntervalMinutes, CMDBSyncIntervalMinutes: c.CMDBSyncIntervalMinutes,
		TableMappings: c.TableMappings, Filters: c.Filters, FieldMappings: c.FieldMappings,
		UpdatedAt: c.UpdatedAt.UTC().Format(timeLayout), UpdatedBy: c.UpdatedBy,
	}
	if out.TableMappings == nil {
		out.TableMappings = []TableMapping{}
	}
	if out.FieldMappings == nil {
		out.FieldMappings = []FieldMapping{}
	}
	if out.Filters == nil {
		out.Filters = map[string]string{}
	}
	return out
}

// routeIntegration serves /integrations/servicenow/...; the caller checked
// the role.
func (s *Server) routeIntegration(rc *reqCtx, rest string) {
	method := rc.r.Method
	switch {
	case rest == "" || rest == "/":
		switch method {
		case http.MethodGet:
			s.handleGetConfig(rc)
		case http.MethodPut:
			s.handlePutConfig(rc)
		default:
			rc.notAllowed("GET, PUT")
		}
	case rest == "/test":
		if method != http.MethodPost {
			rc.notAllowed("POST")
			return
		}
		s.handleTest(rc)
	case rest == "/sync-cmdb" || rest == "/sync-incidents":
		if method != http.MethodPost {
			rc.notAllowed("POST")
			return
		}
		s.handleSync(rc, rest == "/sync-incidents")
	case strings.HasPrefix(rest, "/jobs/") && strings.Count(rest, "/") == 2 && len(rest) > len("/jobs/"):
		if method != http.MethodGet {
			rc.notAllowed("GET")
			return
		}
		s.handleGetJob(rc, strings.TrimPrefix(rest, "/jobs/"))
	default:
		rc.fail(errorf(http.StatusNotFound, CodeNotFound, "no such path: %s", rc.rel))
	}
}

func errNotConfigured() *APIError {
	return errorf(http.StatusNotFound, CodeNotFound, "the ServiceNow integration is not configured; PUT /integrations/servicenow first")
}

func (s *Server) handleGetConfig(rc *reqCtx) {
	s.mu.Lock()
	c := s.snConfig
	var out configJSON
	if c != nil {
		out = c.clone().masked()
	}
	s.mu.Unlock()
	if c == nil {
		rc.fail(errNotConfigured())
		return
	}
	rc.sendJSON(http.StatusOK, out)
}

func (s *Server) handlePutConfig(rc *reqCtx) {
	body, apiErr := rc.readBody(false)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	s.mu.Lock()
	cfg, ds := parseConfig(body, s.snConfig, s.cfg.allowHTTP)
	if len(ds) > 0 {
		s.mu.Unlock()
		rc.fail(validationError(ds))
		return
	}
	cfg.UpdatedAt, cfg.UpdatedBy = s.now(), rc.tok.subject
	s.snConfig = &cfg
	out := cfg.clone().masked()
	s.mu.Unlock()
	rc.sendJSON(http.StatusOK, out)
}

// ConfigureServiceNow saves the ServiceNow configuration as the given user
// would through PUT /integrations/servicenow (same validation; omitted
// secrets keep the stored ones, zero toggles and intervals are taken
// literally except that a zero interval means the default).
func (s *Server) ConfigureServiceNow(c IntegrationConfig, as string) (IntegrationConfig, error) {
	body := map[string]any{
		"instance_url": c.InstanceURL, "auth_method": c.AuthMethod,
		"incident_sync": c.IncidentSync, "cmdb_sync": c.CMDBSync,
	}
	put := func(k, v string) {
		if v != "" {
			body[k] = v
		}
	}
	put("client_id", c.ClientID)
	put("client_secret", c.ClientSecret)
	put("username", c.Username)
	put("password", c.Password)
	if c.SyncIntervalMinutes != 0 {
		body["sync_interval_minutes"] = c.SyncIntervalMinutes
	}
	if c.CMDBSyncIntervalMinutes != 0 {
		body["cmdb_sync_interval_minutes"] = c.CMDBSyncIntervalMinutes
	}
	if c.TableMappings != nil {
		tms := make([]any, len(c.TableMappings))
		for i, tm := range c.TableMappings {
			tms[i] = map[string]any{"table": tm.Table, "module": tm.Module, "direction": tm.Direction}
		}
		body["table_mappings"] = tms
	}
	if c.Filters != nil {
		fs := map[string]any{}
		for k, v := range c.Filters {
			fs[k] = v
		}
		body["filters"] = fs
	}
	if c.FieldMappings != nil {
		fms := make([]any, len(c.FieldMappings))
		for i, fm := range c.FieldMappings {
			fms[i] = map[string]any{"table": fm.Table, "servicenow_field": fm.ServiceNowField,
				"stackflow_field": fm.StackFlowField, "direction": fm.Direction}
		}
		body["field_mappings"] = fms
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, ds := parseConfig(body, s.snConfig, s.cfg.allowHTTP)
	if len(ds) > 0 {
		return IntegrationConfig{}, validationError(ds)
	}
	cfg.UpdatedAt, cfg.UpdatedBy = s.now(), as
	s.snConfig = &cfg
	return cfg.clone(), nil
}

// ServiceNowConfig returns the saved configuration, secrets included, and
// whether there is one.
func (s *Server) ServiceNowConfig() (IntegrationConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snConfig == nil {
		return IntegrationConfig{}, false
	}
	return s.snConfig.clone(), true
}
