package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/syncer"
)

// fileConfig is the YAML file as written. The ServiceNow settings and the
// sync settings use the integration guide's Field Reference names (the
// Integration Hub's JSON names). Secrets are never written in the file:
// each has a *_env (an environment variable) and a *_file (a file, e.g. a
// mounted Kubernetes or Docker secret) form.
type fileConfig struct {
	ServiceNow              serviceNowSection          `yaml:"servicenow"`
	StackFlow               stackFlowSection           `yaml:"stackflow"`
	IncidentSync            *bool                      `yaml:"incident_sync"`
	CMDBSync                *bool                      `yaml:"cmdb_sync"`
	SyncIntervalMinutes     int                        `yaml:"sync_interval_minutes"`
	CMDBSyncIntervalMinutes int                        `yaml:"cmdb_sync_interval_minutes"`
	TableMappings           []tableMapping             `yaml:"table_mappings"`
	Filters                 map[string]string          `yaml:"filters"`
	FieldMappings           []mapping.FieldMappingSpec `yaml:"field_mappings"`
	StatePath               string                     `yaml:"state_path"`
	StatePostgresURL        string                     `yaml:"state_postgres_url"`
	StatePostgresURLEnv     string                     `yaml:"state_postgres_url_env"`
	StatePostgresURLFile    string                     `yaml:"state_postgres_url_file"`
	StatePostgresSchema     string                     `yaml:"state_postgres_schema"`
	ListenAddress           string                     `yaml:"listen_address"`
	LogLevel                string                     `yaml:"log_level"`
	WriteConcurrency        int                        `yaml:"write_concurrency"`
}

type serviceNowSection struct {
	InstanceURL      string    `yaml:"instance_url"`
	AuthMethod       string    `yaml:"auth_method"`
	ClientID         string    `yaml:"client_id"`
	ClientSecret     string    `yaml:"client_secret"`
	ClientSecretEnv  string    `yaml:"client_secret_env"`
	ClientSecretFile string    `yaml:"client_secret_file"`
	Username         string    `yaml:"username"`
	Password         string    `yaml:"password"`
	PasswordEnv      string    `yaml:"password_env"`
	PasswordFile     string    `yaml:"password_file"`
	TokenFile        string    `yaml:"token_file"`
	RateLimit        rateLimit `yaml:"rate_limit"`
}

type stackFlowSection struct {
	BaseURL           string    `yaml:"base_url"`
	Token             string    `yaml:"token"`
	TokenEnv          string    `yaml:"token_env"`
	TokenFile         string    `yaml:"token_file"`
	WebhookSecret     string    `yaml:"webhook_secret"`
	WebhookSecretEnv  string    `yaml:"webhook_secret_env"`
	WebhookSecretFile string    `yaml:"webhook_secret_file"`
	RateLimit         rateLimit `yaml:"rate_limit"`
}

type tableMapping struct {
	Table     string `yaml:"table"`
	Module    string `yaml:"module"`
	Direction string `yaml:"direction"`
}

// rateLimit paces every request to one host (retries included).
type rateLimit struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
}

// Defaults of the settings the guide does not give.
const (
	defaultListen     = "127.0.0.1:8080"
	defaultStatePath  = "snowsync.db"
	defaultSNRate     = 20 // requests per second to one ServiceNow instance
	defaultSNBurst    = 5
	defaultSFRate     = 25
	defaultSFBurst    = 10
	secretFileMaxSize = 64 << 10
)

// secret is a credential. It keeps its value in a closure, so that no
// formatting of it or of a struct holding it (%v, %+v, %#v, slog) can show
// the value: only Value does.
type secret struct{ value func() string }

func newSecret(s string) secret {
	if s == "" {
		return secret{}
	}
	return secret{func() string { return s }}
}

// Value returns the secret.
func (s secret) Value() string {
	if s.value == nil {
		return ""
	}
	return s.value()
}

// IsSet reports whether the secret has a value.
func (s secret) IsSet() bool { return s.value != nil }

func (s secret) String() string {
	if !s.IsSet() {
		return `""`
	}
	return "REDACTED"
}

// GoString is String, so %#v shows no secret either.
func (s secret) GoString() string { return s.String() }

// LogValue keeps the secret out of logs.
func (s secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// config is a checked configuration, ready to build the daemon from.
type config struct {
	sn struct {
		url, auth, clientID, username string
		clientSecret, password        secret
		tokenFile                     string
		limit                         rate.Limit
		burst                         int
	}
	sf struct {
		baseURL       string
		token         secret
		webhookSecret secret
		limit         rate.Limit
		burst         int
	}
	// sync holds the tables, switches, filters and field mappings; the
	// clients, the store and the observer are added by the daemon.
	sync      syncer.Config
	statePath string
	// pgURL, when set, keeps the state in PostgreSQL (syncer/pgstore)
	// instead of statePath, so several daemons can share it; pgSchema is
	// its schema ("" for pgstore's default).
	pgURL    secret
	pgSchema string
	// snLimiter paces the ServiceNow client (made by serve).
	snLimiter *rate.Limiter
	listen    string
	logLevel  slog.Level
}

// LogValue describes the configuration for the start-up log, without
// secrets.
func (c *config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("servicenow", c.sn.url), slog.String("auth_method", c.sn.auth), slog.String("username", c.sn.username),
		slog.String("stackflow", c.sf.baseURL), slog.Bool("webhooks", c.sf.webhookSecret.IsSet()),
		slog.String("state", c.stateName()), slog.String("listen_address", c.listen),
	)
}

// stateName says where the state is kept, without the connection string.
func (c *config) stateName() string {
	if c.pgURL.IsSet() {
		schema := c.pgSchema
		if schema == "" {
			schema = "snowsync"
		}
		return "postgresql (schema " + schema + ")"
	}
	return c.statePath
}

// problem is one invalid setting, named by its path in the YAML file.
type problem struct{ field, msg string }

// configError lists every problem of a configuration file.
type configError struct {
	path     string
	problems []problem
}

func (e *configError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration %s (%d problems):", e.path, len(e.problems))
	for _, p := range e.problems {
		fmt.Fprintf(&b, "\n  - %s: %s", p.field, p.msg)
	}
	return b.String()
}

// overrides replace settings of the file after it is read: the -demo
// endpoints and the -listen and -state flags.
type overrides struct {
	snURL, snUser      string
	snPassword         secret
	sfURL              string
	sfToken, sfWebhook secret
	listen, statePath  string
}

// loadConfig reads and checks a configuration file. Every problem is
// reported at once, each with its field, in a *configError.
func loadConfig(path string, getenv func(string) string, ov overrides) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &configError{path: path, problems: []problem{{"file", err.Error()}}}
	}
	return parseConfig(path, data, getenv, ov)
}

func parseConfig(path string, data []byte, getenv func(string) string, ov overrides) (*config, error) {
	v := &validator{getenv: getenv, dir: filepath.Dir(path)}
	var fc fileConfig
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		v.add("yaml", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, &configError{path: path, problems: v.problems}
	}
	if len(root.Content) > 0 {
		v.decode(root.Content[0], "", reflect.ValueOf(&fc).Elem())
	}
	c := v.check(&fc, ov)
	if len(v.problems) > 0 {
		return nil, &configError{path: path, problems: v.problems}
	}
	return c, nil
}

// validator collects problems while decoding and checking.
type validator struct {
	getenv   func(string) string
	dir      string
	problems []problem
}

func (v *validator) add(field, format string, args ...any) {
	v.problems = append(v.problems, problem{field, fmt.Sprintf(format, args...)})
}

var yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// decode reads node into dst field by field, so that every unknown key,
// duplicated key and badly typed value is reported with its path
// (servicenow.auth_method, table_mappings[2].direction), not just the
// first one.
func (v *validator) decode(node *yaml.Node, path string, dst reflect.Value) {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	t := dst.Type()
	switch {
	case reflect.PointerTo(t).Implements(yamlUnmarshaler) || t.Kind() == reflect.Map:
	case t.Kind() == reflect.Struct && node.Kind == yaml.MappingNode:
		fields := map[string]int{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			fields[name] = i
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, val := node.Content[i].Value, node.Content[i+1]
			at := join(path, key)
			if line, dup := seen[key]; dup {
				v.add(at, "given twice (lines %d and %d)", line, node.Content[i].Line)
				continue
			}
			seen[key] = node.Content[i].Line
			fi, ok := fields[key]
			if !ok {
				v.add(at, "unknown setting (line %d): check the spelling", node.Content[i].Line)
				continue
			}
			v.decode(val, at, dst.Field(fi))
		}
		return
	case t.Kind() == reflect.Slice && node.Kind == yaml.SequenceNode:
		out := reflect.MakeSlice(t, len(node.Content), len(node.Content))
		for i, item := range node.Content {
			v.decode(item, fmt.Sprintf("%s[%d]", path, i), out.Index(i))
		}
		dst.Set(out)
		return
	case t.Kind() == reflect.Pointer && node.Tag != "!!null":
		p := reflect.New(t.Elem())
		before := len(v.problems)
		v.decode(node, path, p.Elem())
		if len(v.problems) == before {
			dst.Set(p) // a bad value leaves the setting at its default
		}
		return
	}
	if err := node.Decode(dst.Addr().Interface()); err != nil {
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msg = strings.Join(te.Errors, "; ")
		}
		v.add(path, "%s", strings.TrimPrefix(msg, "yaml: "))
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// envName is what an environment variable name looks like.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secretOf reads the secret named field (e.g. "servicenow.password") from
// its _env or _file form. A secret written in the file itself is an error
// that names the field and never repeats the value.
func (v *validator) secretOf(field, literal, env, file string, required bool, why string) secret {
	short := field[strings.LastIndex(field, ".")+1:]
	if literal != "" {
		v.add(field, "a secret must not be written in the configuration file: name an environment variable with %s_env or a file with %s_file", short, short)
		return secret{}
	}
	switch {
	case env != "" && file != "":
		v.add(field+"_env", "give %s_env or %s_file, not both", short, short)
	case env != "":
		if !envName.MatchString(env) {
			v.add(field+"_env", "%q is not an environment variable name", env)
			return secret{}
		}
		s := v.getenv(env)
		if s == "" {
			v.add(field+"_env", "the environment variable %s is not set (or empty)", env)
		}
		return newSecret(s)
	case file != "":
		if !filepath.IsAbs(file) {
			file = filepath.Join(v.dir, file)
		}
		fi, err := os.Stat(file)
		if err != nil {
			v.add(field+"_file", "%v", err)
			return secret{}
		}
		if fi.Size() > secretFileMaxSize {
			v.add(field+"_file", "%s is %d bytes: not a secret", file, fi.Size())
			return secret{}
		}
		b, err := os.ReadFile(file)
		if err != nil {
			v.add(field+"_file", "%v", err)
			return secret{}
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			v.add(field+"_file", "%s is empty", file)
		}
		return newSecret(s)
	case required:
		v.add(field, "is required %s: set %s_env (an environment variable) or %s_file (a file)", why, short, short)
	}
	return secret{}
}

func (v *validator) rateLimit(field string, r rateLimit, defRate float64, defBurst int) (rate.Limit, int) {
	if r.RequestsPerSecond < 0 {
		v.add(field+".requests_per_second", "must be positive (default %v)", defRate)
	}
	if r.Burst < 0 {
		v.add(field+".burst", "must be positive (default %d)", defBurst)
	}
	rps, burst := r.RequestsPerSecond, r.Burst
	if rps == 0 {
		rps = defRate
	}
	if burst == 0 {
		burst = defBurst
	}
	return rate.Limit(rps), burst
}

// check validates the decoded file and builds the configuration.
func (v *validator) check(fc *fileConfig, ov overrides) *config {
	c := &config{}
	sn := fc.ServiceNow
	if ov.snURL != "" {
		sn = serviceNowSection{InstanceURL: ov.snURL, AuthMethod: string(stackflow.AuthBasic), Username: ov.snUser, RateLimit: sn.RateLimit}
	}
	c.sn.url, c.sn.auth, c.sn.clientID, c.sn.username = strings.TrimSpace(sn.InstanceURL), sn.AuthMethod, sn.ClientID, sn.Username
	c.sn.tokenFile = sn.TokenFile
	if c.sn.url == "" {
		v.add("servicenow.instance_url", "is required, e.g. https://acme.service-now.com")
	} else if _, err := servicenow.NewClient(c.sn.url); err != nil {
		v.add("servicenow.instance_url", "%v", err)
	}
	oauth := false
	switch sn.AuthMethod {
	case string(stackflow.AuthOAuth):
		oauth = true
	case string(stackflow.AuthBasic):
	case "":
		v.add("servicenow.auth_method", "is required: oauth or basic_auth")
	default:
		v.add("servicenow.auth_method", "must be oauth or basic_auth, not %q", sn.AuthMethod)
	}
	if oauth && strings.TrimSpace(sn.ClientID) == "" {
		v.add("servicenow.client_id", "is required with auth_method oauth: System OAuth > Application Registry")
	}
	if sn.AuthMethod != "" && strings.TrimSpace(sn.Username) == "" {
		v.add("servicenow.username", "is required with auth_method %s: the integration user", sn.AuthMethod)
	}
	c.sn.clientSecret = v.secretOf("servicenow.client_secret", sn.ClientSecret, sn.ClientSecretEnv, sn.ClientSecretFile, oauth, "with auth_method oauth")
	if ov.snURL != "" {
		c.sn.password = ov.snPassword
	} else {
		c.sn.password = v.secretOf("servicenow.password", sn.Password, sn.PasswordEnv, sn.PasswordFile, sn.AuthMethod != "", "for the integration user")
	}
	if !oauth && sn.TokenFile != "" {
		v.add("servicenow.token_file", "keeps OAuth tokens: it needs auth_method oauth")
	} else if sn.TokenFile != "" {
		if !filepath.IsAbs(sn.TokenFile) {
			c.sn.tokenFile = filepath.Join(v.dir, sn.TokenFile)
		}
		if fi, err := os.Stat(filepath.Dir(c.sn.tokenFile)); err != nil || !fi.IsDir() {
			v.add("servicenow.token_file", "the directory of %s does not exist", c.sn.tokenFile)
		}
	}
	c.sn.limit, c.sn.burst = v.rateLimit("servicenow.rate_limit", sn.RateLimit, defaultSNRate, defaultSNBurst)

	sf := fc.StackFlow
	c.sf.baseURL = strings.TrimSpace(sf.BaseURL)
	if ov.sfURL != "" {
		c.sf.baseURL = ov.sfURL
		c.sf.token = ov.sfToken
	} else {
		c.sf.token = v.secretOf("stackflow.token", sf.Token, sf.TokenEnv, sf.TokenFile, true, "(a bearer token with the agent role)")
	}
	if c.sf.baseURL == "" {
		v.add("stackflow.base_url", "is required, e.g. https://acme.stackflow-tech.com/prod/api")
	} else if _, err := stackflow.NewClient(c.sf.baseURL, stackflow.WithToken("x")); err != nil {
		v.add("stackflow.base_url", "%v", err)
	}
	if ov.sfWebhook.IsSet() {
		c.sf.webhookSecret = ov.sfWebhook
	} else {
		c.sf.webhookSecret = v.secretOf("stackflow.webhook_secret", sf.WebhookSecret, sf.WebhookSecretEnv, sf.WebhookSecretFile, false, "")
	}
	c.sf.limit, c.sf.burst = v.rateLimit("stackflow.rate_limit", sf.RateLimit, defaultSFRate, defaultSFBurst)

	c.statePath = fc.StatePath
	if c.statePath == "" {
		c.statePath = defaultStatePath
	}
	if !filepath.IsAbs(c.statePath) {
		c.statePath = filepath.Join(v.dir, c.statePath)
	}
	if ov.statePath != "" {
		c.statePath = ov.statePath
	}
	c.pgURL = v.secretOf("state_postgres_url", fc.StatePostgresURL, fc.StatePostgresURLEnv, fc.StatePostgresURLFile, false, "")
	c.pgSchema = fc.StatePostgresSchema
	switch {
	case c.pgURL.IsSet() && fc.StatePath != "":
		v.add("state_path", "give state_path (one daemon, a bbolt file) or state_postgres_url_env / _file (several daemons sharing PostgreSQL), not both")
	case c.pgSchema != "" && !c.pgURL.IsSet() && fc.StatePostgresURLEnv == "" && fc.StatePostgresURLFile == "":
		v.add("state_postgres_schema", "needs state_postgres_url_env or state_postgres_url_file")
	case c.pgURL.IsSet():
	default:
		if fi, err := os.Stat(filepath.Dir(c.statePath)); err != nil || !fi.IsDir() {
			v.add("state_path", "the directory of %s does not exist", c.statePath)
		}
	}
	c.listen = fc.ListenAddress
	if ov.listen != "" {
		c.listen = ov.listen
	}
	if c.listen == "" {
		c.listen = defaultListen
	}
	if _, port, err := net.SplitHostPort(c.listen); err != nil || port == "" {
		v.add("listen_address", "%q is not host:port, e.g. 127.0.0.1:8080", c.listen)
	}
	switch strings.ToLower(fc.LogLevel) {
	case "", "info":
		c.logLevel = slog.LevelInfo
	case "debug":
		c.logLevel = slog.LevelDebug
	case "warn", "warning":
		c.logLevel = slog.LevelWarn
	case "error":
		c.logLevel = slog.LevelError
	default:
		v.add("log_level", "must be debug, info, warn or error, not %q", fc.LogLevel)
	}
	v.checkSync(fc, c)
	return c
}

// connectionFields are the Hub's fields this file keeps under servicenow:
// checked above, so the Hub's own checks of them are left out.
var connectionFields = []string{"instance_url", "auth_method", "client_id", "client_secret", "username", "password"}

// checkSync checks the sync settings with the Integration Hub's rules
// (stackflow.ServiceNowConfig.Validate) and the syncer's own
// (syncer.Config.Validate, which includes every field mapping), and builds
// the syncer's table configuration with syncer.FromIntegration.
func (v *validator) checkSync(fc *fileConfig, c *config) {
	hub := &stackflow.ServiceNowConfig{
		InstanceURL: "https://checked.separately", AuthMethod: stackflow.AuthBasic, Username: "x", PasswordSet: true,
		IncidentSync: fc.IncidentSync, CMDBSync: fc.CMDBSync,
		SyncIntervalMinutes: fc.SyncIntervalMinutes, CMDBSyncIntervalMinutes: fc.CMDBSyncIntervalMinutes,
		Filters: fc.Filters,
	}
	for _, tm := range fc.TableMappings {
		hub.TableMappings = append(hub.TableMappings, stackflow.TableMapping{
			Table: tm.Table, Module: stackflow.Module(tm.Module), Direction: stackflow.Direction(tm.Direction)})
	}
	if fc.TableMappings != nil && len(fc.TableMappings) == 0 {
		v.add("table_mappings", "is empty: leave it out for the guide's six tables, or list the tables to sync")
	}
	badRow := map[int]bool{}
	if err := hub.Validate(); err != nil {
		var ve *stackflow.ValidationError
		if !errors.As(err, &ve) {
			v.add("table_mappings", "%v", err)
			return
		}
		for _, p := range ve.Problems {
			if slices.Contains(connectionFields, p.Field) {
				continue
			}
			v.add(p.Field, "%s", p.Message)
			var i int
			if _, err := fmt.Sscanf(p.Field, "table_mappings[%d]", &i); err == nil {
				badRow[i] = true
			}
		}
	}
	// The syncer checks what is left: filters (parsed), field mappings
	// (against the tables), directions.
	good := *hub
	good.TableMappings = nil
	for i, tm := range hub.TableMappings {
		if !badRow[i] {
			good.TableMappings = append(good.TableMappings, tm)
		}
	}
	if hub.TableMappings != nil && good.TableMappings == nil {
		return
	}
	mapped := map[string]bool{}
	for _, tm := range good.TableMappings {
		mapped[tm.Table] = true
	}
	if good.TableMappings == nil {
		for _, tm := range stackflow.DefaultTableMappings() {
			mapped[tm.Table] = true
		}
	}
	good.Filters = map[string]string{}
	for table, f := range hub.Filters {
		switch {
		case !mapped[table]:
			if !slices.ContainsFunc(hub.TableMappings, func(tm stackflow.TableMapping) bool { return tm.Table == table }) {
				v.add("filters."+table, "%s is not in table_mappings: the filter would do nothing", table)
			}
		case strings.TrimSpace(f) != "":
			good.Filters[table] = f
		}
	}
	sc, err := syncer.FromIntegration(&good)
	if err != nil {
		v.syncerProblems(err)
		return
	}
	sc.Mapping.FieldMappings = fc.FieldMappings
	sc.WriteConcurrency = fc.WriteConcurrency // 0: the syncer's default
	v.syncerProblems(sc.Validate())
	c.sync = sc
}

// syncerProblems adds the problems of a syncer.ConfigError, leaving out
// the clients and store the daemon adds later.
func (v *validator) syncerProblems(err error) {
	if err == nil {
		return
	}
	var ce *syncer.ConfigError
	if !errors.As(err, &ce) {
		v.add("sync", "%v", err)
		return
	}
	for _, p := range ce.Problems {
		field := p.Field
		switch {
		case field == "ServiceNow" || field == "StackFlow" || field == "Store":
			continue // the daemon builds these
		case field == "Tables":
			field = "table_mappings"
		case field == "WriteConcurrency":
			field = "write_concurrency"
		case strings.HasPrefix(field, "field_mappings.."):
			continue // a table-level problem, reported as table_mappings
		}
		v.add(field, "%s", p.Message)
	}
}

// intervalOf returns a table's sync interval.
func (c *config) intervalOf(table string) time.Duration {
	for _, t := range c.sync.Tables {
		if t.Table == table && t.Interval > 0 {
			return t.Interval
		}
	}
	if strings.HasPrefix(table, "cmdb_") {
		return syncer.DefaultCMDBSyncInterval
	}
	return syncer.DefaultSyncInterval
}
