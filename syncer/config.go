package syncer

import (
	"errors"
	"fmt"
	"golang.org/x/time/rate"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// Defaults from the integration guide and the sync design.
const (
	DefaultSyncInterval      = 5 * time.Minute  // incidents, problems, changes, requests ("every 5 minutes")
	DefaultCMDBSyncInterval  = time.Hour        // cmdb_ci and cmdb_rel_ci ("every 1 hour")
	DefaultSafetyLag         = 15 * time.Second // sweeps stop this far behind the server's clock
	DefaultOverlap           = 10 * time.Minute // each sweep re-reads this much before its cursor
	DefaultPageSize          = 1000
	DefaultLeaseTTL          = 2 * time.Minute
	DefaultDeepReread        = 6 * time.Hour
	DefaultDeleteScan        = 15 * time.Minute
	DefaultReconcileTasks    = 24 * time.Hour
	DefaultReconcileCMDB     = 7 * 24 * time.Hour
	DefaultMassDeleteRatio   = 0.02 // a sweep may delete at most 2% of a table's pairs...
	DefaultMassDeleteMin     = 500  // ...or this many, whichever is larger
	DefaultLoopWrites        = 12   // more sync writes than this to one pair...
	DefaultLoopWindow        = 10 * time.Minute
	DefaultRetryMin          = time.Minute // dead-letter backoff: 1 min doubling...
	DefaultRetryMax          = 6 * time.Hour
	DefaultPermanentAfter    = 24 * time.Hour // ...and permanent after a day of failures
	DefaultConflictSkew      = 2 * time.Minute
	DefaultMaxStreamsRunning = 2
	DefaultWriteConcurrency  = 4
)

// Config configures a Syncer. The zero values of the optional fields take
// the defaults above; Validate reports every problem at once.
type Config struct {
	// ServiceNow and StackFlow are the two clients. Give each the rate
	// limiter of its host: every stream of the syncer shares it.
	ServiceNow *servicenow.Client
	StackFlow  *stackflow.Client
	// Store keeps the sync state (syncer/boltstore by default, NewMemStore
	// for tests, syncer/pgstore for several replicas).
	Store Store

	// Tables says which tables sync, in which direction, how often and with
	// which filter. Nil means DefaultTables().
	Tables []TableConfig
	// IncidentSync and CMDBSync are the guide's switches; nil means on.
	// IncidentSync turns off incident, CMDBSync turns off cmdb_ci and
	// cmdb_rel_ci, whatever Tables says.
	IncidentSync *bool
	CMDBSync     *bool
	// Mapping holds field mappings, custom mappers and mapping defaults;
	// its table list is built from Tables.
	Mapping mapping.Config

	// Timing of the sweeps (defaults above).
	SafetyLag          time.Duration
	Overlap            time.Duration
	PageSize           int
	DeepRereadInterval time.Duration
	// DeleteScanInterval between reads of sys_audit_delete.
	DeleteScanInterval time.Duration
	// ConflictSkew: edits closer than this are concurrent (ownership latest).
	ConflictSkew time.Duration

	// Deletes and guards.
	MassDeleteRatio float64
	MassDeleteMin   int
	LoopWrites      int
	LoopWindow      time.Duration

	// Dead-letter queue backoff.
	RetryMin       time.Duration
	RetryMax       time.Duration
	PermanentAfter time.Duration

	// Scheduling and replicas.
	ReplicaID         string // lease holder name; default host-pid-random
	LeaseTTL          time.Duration
	MaxStreamsRunning int
	// WriteConcurrency is how many records of a page a stream writes at
	// once (default 4; 1 writes one at a time). Each new or changed ticket
	// of a bidirectional table costs one or two round trips, so on a real
	// network this, not the CPU, bounds a first load: 4 in flight make it
	// about 4 times faster. Outcomes still commit per page, in page order,
	// and every request still waits for the host's rate limiter. CMDB
	// tables already write 500 records a request and gain nothing from it.
	WriteConcurrency int
	// ServiceNowBudget, when set, is the instance's request rate for the
	// integration user, which replicas sharing a store (see Replicas)
	// split: Run sets the budget's limiter (the one given to the
	// ServiceNow client) to the part of the rate that matches this
	// replica's share of the tables, and to all of it when alone. Without
	// it, give each replica's limiter the rate divided by the number of
	// replicas, or the whole rate and let the instance's 429s pace them.
	ServiceNowBudget *RateBudget

	// Logger receives structured logs (nil discards); Observer progress,
	// per-record events and metrics (nil ignores).
	Logger   *slog.Logger
	Observer Observer
	// Now is the local clock (nil: time.Now). Cursors never use it: they use
	// each server's own clock.
	Now func() time.Time
}

// RateBudget is a request rate shared by replicas (Config.ServiceNowBudget).
type RateBudget struct {
	// Limiter is the one the client was given (servicenow.WithRateLimiter).
	Limiter *rate.Limiter
	// Rate is the whole budget, in requests per second.
	Rate rate.Limit
}

// TableConfig is one table's sync settings.
type TableConfig struct {
	// Table is the ServiceNow table.
	Table string
	// Module overrides the StackFlow module (custom tables need one).
	Module string
	// Enabled turns the table on.
	Enabled bool
	// Direction: bidirectional, to_stackflow or read_only, where the table
	// allows it. Empty: the guide's default for the table.
	Direction mapping.Direction
	// Filter is an encoded query limiting which ServiceNow records sync. A
	// filter admits records: once paired, a record stays tracked even when
	// it stops matching (an incident that closes still syncs its closure).
	// Relative terms such as sys_updated_on>=javascript:gs.hoursAgoStart(1)
	// bound the first load only; later sweeps rely on the stored cursor.
	Filter string
	// Interval between scheduled runs; zero: 5 minutes (60 for CMDB tables).
	Interval time.Duration
	// ReconcileInterval between full id and version comparisons; zero:
	// daily for tasks, weekly for CMDB tables.
	ReconcileInterval time.Duration
	// PropagateDeletes soft-deletes the StackFlow record when its
	// ServiceNow record is deleted; nil means true.
	PropagateDeletes *bool
	// Ownership overrides the conflict rule of individual keys.
	Ownership map[string]mapping.Ownership
	// DefaultSide wins "latest" conflicts whose edits are closer than
	// ConflictSkew; zero means ServiceNow.
	DefaultSide mapping.Side
}

// Bool returns a pointer to b, for Config's optional switches.
func Bool(b bool) *bool { return &b }

// DefaultTables returns the guide's table mapping: incident, problem and
// change_request both ways; sc_request, cmdb_ci and cmdb_rel_ci from
// ServiceNow to StackFlow; every 5 minutes for tasks and every hour for the
// CMDB.
func DefaultTables() []TableConfig {
	return []TableConfig{
		{Table: "incident", Enabled: true, Direction: mapping.Bidirectional},
		{Table: "problem", Enabled: true, Direction: mapping.Bidirectional},
		{Table: "change_request", Enabled: true, Direction: mapping.Bidirectional},
		{Table: "sc_request", Enabled: true, Direction: mapping.ToStackFlow},
		{Table: "cmdb_ci", Enabled: true, Direction: mapping.ReadOnly},
		{Table: "cmdb_rel_ci", Enabled: true, Direction: mapping.ToStackFlow},
	}
}

func isCMDB(table string) bool { return table == "cmdb_rel_ci" || strings.HasPrefix(table, "cmdb_ci") }

// ConfigError lists every problem Validate found.
type ConfigError struct {
	Problems []ConfigProblem
}

// ConfigProblem is one invalid setting: the field (as in the guide's Field
// Reference where there is one), and what is wrong and how to fix it.
type ConfigProblem struct {
	Field   string
	Message string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "syncer: invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Message)
	}
	return b.String()
}

// withDefaults returns c with every zero optional field at its default.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Tables == nil {
		c.Tables = DefaultTables()
	}
	def(&c.SafetyLag, DefaultSafetyLag)
	def(&c.Overlap, DefaultOverlap)
	def(&c.DeepRereadInterval, DefaultDeepReread)
	def(&c.DeleteScanInterval, DefaultDeleteScan)
	def(&c.ConflictSkew, DefaultConflictSkew)
	def(&c.LoopWindow, DefaultLoopWindow)
	def(&c.RetryMin, DefaultRetryMin)
	def(&c.RetryMax, DefaultRetryMax)
	def(&c.PermanentAfter, DefaultPermanentAfter)
	def(&c.LeaseTTL, DefaultLeaseTTL)
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MassDeleteRatio == 0 {
		c.MassDeleteRatio = DefaultMassDeleteRatio
	}
	if c.MassDeleteMin == 0 {
		c.MassDeleteMin = DefaultMassDeleteMin
	}
	if c.LoopWrites == 0 {
		c.LoopWrites = DefaultLoopWrites
	}
	if c.MaxStreamsRunning == 0 {
		c.MaxStreamsRunning = DefaultMaxStreamsRunning
	}
	if c.WriteConcurrency == 0 {
		c.WriteConcurrency = DefaultWriteConcurrency
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
	tables := make([]TableConfig, len(c.Tables))
	copy(tables, c.Tables)
	for i := range tables {
		t := &tables[i]
		if t.Interval == 0 {
			if isCMDB(t.Table) {
				t.Interval = DefaultCMDBSyncInterval
			} else {
				t.Interval = DefaultSyncInterval
			}
		}
		if t.ReconcileInterval == 0 {
			if isCMDB(t.Table) {
				t.ReconcileInterval = DefaultReconcileCMDB
			} else {
				t.ReconcileInterval = DefaultReconcileTasks
			}
		}
		if c.IncidentSync != nil && !*c.IncidentSync && t.Table == "incident" {
			t.Enabled = false
		}
		if c.CMDBSync != nil && !*c.CMDBSync && isCMDB(t.Table) {
			t.Enabled = false
		}
	}
	c.Tables = tables
	return c
}

// mappingConfig builds the mapping configuration from the tables.
func (c Config) mappingConfig() mapping.Config {
	mc := c.tableMappings(nil)
	ciSynced := false
	for _, t := range c.Tables {
		ciSynced = ciSynced || (t.Enabled && strings.HasPrefix(t.Table, "cmdb_ci"))
	}
	if ciSynced {
		return mc
	}
	// With the CMDB not synced, a ticket's CI can never be paired: leave
	// the reference out instead of deferring the ticket forever (unless
	// the user chose the key's ownership).
	m, err := mapping.New(mc)
	if err != nil {
		return mc // Validate and New report the error
	}
	noCI := map[string]bool{}
	for _, t := range mc.Tables {
		tm, ok := m.Table(t.Table)
		if _, set := t.Ownership["ci_id"]; ok && !set {
			_, has := tm.Key("ci_id")
			noCI[t.Table] = has
		}
	}
	return c.tableMappings(noCI)
}

// tableMappings is the mapping configuration of the enabled tables; the
// tables in noCI do not sync their ci_id key.
func (c Config) tableMappings(noCI map[string]bool) mapping.Config {
	mc := c.Mapping
	mc.Tables = nil
	for _, t := range c.Tables {
		if !t.Enabled {
			continue
		}
		own := t.Ownership
		if noCI[t.Table] {
			own = maps.Clone(own)
			if own == nil {
				own = map[string]mapping.Ownership{}
			}
			own["ci_id"] = mapping.OwnNone
		}
		mc.Tables = append(mc.Tables, mapping.TableConfig{
			Table:       t.Table,
			Module:      t.Module,
			Enabled:     true,
			Direction:   t.Direction,
			Ownership:   own,
			DefaultSide: t.DefaultSide,
		})
	}
	return mc
}

// Validate checks the configuration and returns a *ConfigError listing
// every problem, or nil.
func (c Config) Validate() error {
	c = c.withDefaults()
	var ps []ConfigProblem
	add := func(field, format string, args ...any) {
		ps = append(ps, ConfigProblem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.ServiceNow == nil {
		add("ServiceNow", "the ServiceNow client is missing (servicenow.NewClient)")
	}
	if c.StackFlow == nil {
		add("StackFlow", "the StackFlow client is missing (stackflow.NewClient)")
	}
	if c.Store == nil {
		add("Store", "the state store is missing (boltstore.Open, or syncer.NewMemStore for tests)")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"SafetyLag", c.SafetyLag}, {"Overlap", c.Overlap}, {"DeepRereadInterval", c.DeepRereadInterval}, {"DeleteScanInterval", c.DeleteScanInterval},
		{"ConflictSkew", c.ConflictSkew}, {"LoopWindow", c.LoopWindow}, {"RetryMin", c.RetryMin},
		{"RetryMax", c.RetryMax}, {"PermanentAfter", c.PermanentAfter}, {"LeaseTTL", c.LeaseTTL}} {
		if d.v < 0 {
			add(d.name, "must not be negative (got %s)", d.v)
		}
	}
	if c.SafetyLag > 0 && c.SafetyLag < 2*time.Second {
		add("SafetyLag", "%s is too small: ServiceNow time stamps have one-second precision; use at least 2s (default 15s)", c.SafetyLag)
	}
	if c.RetryMax < c.RetryMin {
		add("RetryMax", "is below RetryMin")
	}
	if b := c.ServiceNowBudget; b != nil && (b.Limiter == nil || b.Rate <= 0 || b.Rate == rate.Inf) {
		add("ServiceNowBudget", "needs the ServiceNow client's limiter and a positive, finite rate")
	}
	if c.LeaseTTL > 0 && c.LeaseTTL < 5*time.Second {
		add("LeaseTTL", "%s is too short to renew between pages; use at least 5s", c.LeaseTTL)
	}
	if c.PageSize < 1 || c.PageSize > 10000 {
		add("PageSize", "must be between 1 and 10000 (got %d); 500-2000 keeps requests well under ServiceNow's 60 s limit", c.PageSize)
	}
	if c.MassDeleteRatio < 0 || c.MassDeleteRatio > 1 {
		add("MassDeleteRatio", "must be between 0 and 1 (got %v)", c.MassDeleteRatio)
	}
	if c.MassDeleteMin < 0 {
		add("MassDeleteMin", "must not be negative")
	}
	if c.LoopWrites < 2 {
		add("LoopWrites", "must be at least 2 (got %d)", c.LoopWrites)
	}
	if c.MaxStreamsRunning < 1 {
		add("MaxStreamsRunning", "must be at least 1")
	}
	if c.WriteConcurrency < 1 || c.WriteConcurrency > 64 {
		add("WriteConcurrency", "must be between 1 and 64 (got %d); ServiceNow limits concurrent API transactions per node, so keep it small", c.WriteConcurrency)
	}
	seen := map[string]bool{}
	enabled := 0
	for i, t := range c.Tables {
		field := fmt.Sprintf("Tables[%d]", i)
		if t.Table == "" {
			add(field+".Table", "the table name is empty")
			continue
		}
		field = "Tables[" + t.Table + "]"
		if seen[t.Table] {
			add(field, "the table is listed twice")
		}
		seen[t.Table] = true
		if t.Enabled {
			enabled++
		}
		if t.Interval < time.Minute {
			add(field+".Interval", "sync_interval_minutes must be at least 1 (got %s)", t.Interval)
		}
		if t.ReconcileInterval < time.Hour {
			add(field+".ReconcileInterval", "must be at least an hour (got %s)", t.ReconcileInterval)
		}
		if t.Filter != "" {
			if q, err := servicenow.ParseQuery(t.Filter); err != nil {
				add("filters."+t.Table, "%v", err)
			} else if q.HasOrderBy() {
				add("filters."+t.Table, "a filter must not sort (ORDERBY): the sync reads in its own order")
			}
		}
	}
	if enabled == 0 {
		add("Tables", "no table is enabled: nothing would sync (check incident_sync and cmdb_sync)")
	}
	if _, err := mapping.New(c.mappingConfig()); err != nil {
		var me *mapping.ConfigError
		if errors.As(err, &me) {
			for _, p := range me.Problems {
				ps = append(ps, ConfigProblem{Field: "field_mappings." + p.Table + "." + p.Field, Message: p.String()})
			}
		} else {
			add("Mapping", "%v", err)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Field < ps[j].Field })
	return &ConfigError{Problems: ps}
}

// enabledTables returns the enabled tables in dependency order (CIs before
// their relationships).
func (c Config) enabledTables() []TableConfig {
	var out []TableConfig
	for _, t := range c.Tables {
		if t.Enabled {
			out = append(out, t)
		}
	}
	// Dependencies first: CIs, then the relationships between them, then
	// the tickets that point at CIs (so a first load defers nothing).
	rank := func(t string) int {
		switch {
		case strings.HasPrefix(t, "cmdb_ci"):
			return 0
		case t == "cmdb_rel_ci":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b TableConfig) int { return rank(a.Table) - rank(b.Table) })
	return out
}
