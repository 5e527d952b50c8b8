package syncer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// Syncer keeps ServiceNow and StackFlow in sync. Create it with New; run it
// with Run (the scheduler), or drive it with SyncOnce, SyncRecent, Plan.
// Safe for concurrent use; one table never runs twice at the same time.
type Syncer struct {
	cfg     Config
	sn      *servicenow.Client
	sf      *stackflow.Client
	store   Store
	maps    *mapping.Mapping
	log     *slog.Logger
	obs     Observer
	holder  string
	tables  map[string]TableConfig
	order   []TableConfig
	filters map[string]tableFilter
	lookups lookupCache

	mu      sync.Mutex
	running map[string]bool
	probed  map[string]error
	last    map[string]*Report
	owned   map[string]Lease
	// handOff holds the tables Run gave to another replica while they
	// were running: the run stops at its next page boundary.
	handOff map[string]bool
	trigger chan string
	// classCache holds cmdb_ci's class hierarchy for the delete scan.
	classCache   []string
	classCacheAt time.Time

	// crashHook, set by tests, simulates a crash at named points; crashMu
	// makes its calls one at a time (a page's writes run concurrently).
	crashHook func(point string) error
	crashMu   sync.Mutex
}

// tableFilter is a table's filter in its two forms: as given (the first
// load) and without relative time terms (every later sweep, whose stored
// cursor replaces them).
type tableFilter struct {
	initial     string
	incremental string
	fields      []string
}

// ErrTableNotSynced is returned for a table that is not enabled.
var ErrTableNotSynced = errors.New("syncer: table not enabled")

// New checks cfg (see Config.Validate) and returns a Syncer. It does no I/O.
func New(cfg Config) (*Syncer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	maps, err := mapping.New(cfg.mappingConfig())
	if err != nil {
		return nil, err
	}
	s := &Syncer{
		cfg: cfg, sn: cfg.ServiceNow, sf: cfg.StackFlow, store: cfg.Store, maps: maps,
		log: cfg.Logger, obs: cfg.Observer, holder: cfg.ReplicaID,
		tables: map[string]TableConfig{}, filters: map[string]tableFilter{},
		running: map[string]bool{}, probed: map[string]error{}, last: map[string]*Report{},
		trigger: make(chan string, 64),
	}
	if s.holder == "" {
		s.holder = defaultReplicaID()
	}
	s.order = cfg.enabledTables()
	for _, t := range s.order {
		if _, ok := maps.Table(t.Table); !ok {
			return nil, fmt.Errorf("syncer: table %s has no mapping", t.Table)
		}
		s.tables[t.Table] = t
		f, err := splitFilter(t.Filter)
		if err != nil {
			return nil, &ConfigError{Problems: []ConfigProblem{{Field: "filters." + t.Table, Message: err.Error()}}}
		}
		s.filters[t.Table] = f
	}
	return s, nil
}

func defaultReplicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// ReplicaID returns the name this syncer holds leases under.
func (s *Syncer) ReplicaID() string { return s.holder }

// Tables returns the enabled tables, in the order runs visit them.
func (s *Syncer) Tables() []string {
	out := make([]string, len(s.order))
	for i, t := range s.order {
		out[i] = t.Table
	}
	return out
}

// Mapping returns the field mapping in use.
func (s *Syncer) Mapping() *mapping.Mapping { return s.maps }

// splitFilter parses a filter and derives its incremental form: a relative
// time term (javascript:gs.hoursAgoStart(1) and the like) is true for every
// record a cursor sweep reads, so it is dropped, with the whole ^OR chain it
// belongs to; a group left with no condition makes the filter match
// everything.
func splitFilter(filter string) (tableFilter, error) {
	if filter == "" {
		return tableFilter{}, nil
	}
	q, err := servicenow.ParseQuery(filter)
	if err != nil {
		return tableFilter{}, err
	}
	rel := map[string]bool{}
	for _, t := range q.RelativeTimeTerms() {
		rel[t.String()] = true
	}
	out := &servicenow.Query{}
	for _, g := range q.Groups {
		var kept []servicenow.Term
		var chain []servicenow.Term
		chainRel := false
		flush := func() {
			if !chainRel {
				kept = append(kept, chain...)
			}
			chain, chainRel = nil, false
		}
		for _, t := range g.Terms {
			if !t.Or {
				flush()
			}
			chain = append(chain, t)
			if rel[t.String()] {
				chainRel = true
			}
		}
		flush()
		hasFilter := false
		for _, t := range kept {
			if t.IsFilter() {
				hasFilter = true
			}
		}
		if !hasFilter {
			// This group now matches every record, and so does the union.
			return tableFilter{initial: filter, fields: q.RootFields()}, nil
		}
		out.Groups = append(out.Groups, servicenow.Group{Terms: kept})
	}
	inc, err := out.Build()
	if err != nil {
		return tableFilter{}, err
	}
	return tableFilter{initial: filter, incremental: inc, fields: q.RootFields()}, nil
}

// fingerprint identifies what a stream's cursor was built for: the table,
// its direction and its filter.
func (s *Syncer) fingerprint(tc TableConfig, tm *mapping.TableMap) string {
	sum := sha256.Sum256([]byte(tc.Table + "\x00" + string(tm.Direction()) + "\x00" + tc.Filter))
	return hex.EncodeToString(sum[:8])
}

// module returns the StackFlow module of a table mapping.
func (s *Syncer) module(tm *mapping.TableMap) stackflow.Module {
	m := tm.Module()
	for _, mod := range stackflow.Modules() {
		if string(mod) == m || strings.TrimPrefix(mod.Path(), "/") == m {
			return mod
		}
	}
	return stackflow.Module(m)
}

func (s *Syncer) crash(point string) error {
	if s.crashHook == nil {
		return nil
	}
	s.crashMu.Lock()
	defer s.crashMu.Unlock()
	return s.crashHook(point)
}

// SyncOnce runs one cycle of a table, both directions: it reads what
// changed since the last run, writes what must change, retries due
// dead-letter entries, and, when they are due, scans deletes and
// reconciles. It returns the run's report; the error is the one that
// stopped the run early, if any (also in Report.Err).
func (s *Syncer) SyncOnce(ctx context.Context, table string) (*Report, error) {
	tc, ok := s.tables[table]
	if !ok {
		return nil, fmt.Errorf("%w: %s (enabled: %s)", ErrTableNotSynced, table, strings.Join(s.Tables(), ", "))
	}
	rep := s.runTable(ctx, tc, runFull, 0, true)
	return rep, rep.Err
}

// SyncRecent syncs the n most recently updated records of a table from
// ServiceNow to StackFlow, as the guide's "Sync 10 Recent Incidents" does,
// without moving any cursor.
func (s *Syncer) SyncRecent(ctx context.Context, table string, n int) (*Report, error) {
	tc, ok := s.tables[table]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTableNotSynced, table)
	}
	if n < 1 || n > 10000 {
		return nil, fmt.Errorf("syncer: SyncRecent: n must be between 1 and 10000 (got %d)", n)
	}
	rep := s.runTable(ctx, tc, runRecent, n, true)
	return rep, rep.Err
}

// Plan is a dry run of a table: it reads both sides like SyncOnce and
// returns the writes it would make, per side, without making them or
// changing any state.
func (s *Syncer) Plan(ctx context.Context, table string) (*Plan, error) {
	tc, ok := s.tables[table]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTableNotSynced, table)
	}
	plan := &Plan{Table: table}
	rep := s.runTableWith(ctx, tc, runFull, 0, false, plan, "")
	return plan, rep.Err
}

// ResetStream forgets a table's cursors (both directions), so the next run
// reads everything again, for instance after its filter changed. Pairs,
// snapshots and dead-letter entries are kept: the re-read finds echoes and
// writes only real differences.
func (s *Syncer) ResetStream(ctx context.Context, table string) error {
	if _, ok := s.tables[table]; !ok {
		return fmt.Errorf("%w: %s", ErrTableNotSynced, table)
	}
	l, err := s.store.AcquireLease(ctx, table, s.holder, s.cfg.LeaseTTL)
	if err != nil {
		return err
	}
	defer func() { _ = s.store.ReleaseLease(context.WithoutCancel(ctx), l) }()
	return s.store.Update(ctx, l, func(tx Tx) error {
		for _, id := range []string{streamToSF(table), streamToSN(table)} {
			st, err := tx.Stream(id)
			if err != nil {
				return err
			}
			if st == nil {
				continue
			}
			st.Cursor, st.TrackCursor, st.Initialized, st.Fingerprint = Cursor{}, Cursor{}, false, ""
			if err := tx.PutStream(st); err != nil {
				return err
			}
		}
		return nil
	})
}

// Trigger asks Run to sync a table now (a manual trigger, the guide's
// "sync-cmdb"). It does not wait; an unknown table is an error.
func (s *Syncer) Trigger(table string) error {
	if _, ok := s.tables[table]; !ok {
		return fmt.Errorf("%w: %s", ErrTableNotSynced, table)
	}
	select {
	case s.trigger <- table:
	default: // a trigger is already pending
	}
	return nil
}

// LastReport returns the report of a table's latest run, or nil.
func (s *Syncer) LastReport(table string) *Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[table]
}

type runMode int

const (
	runFull runMode = iota
	runRecent
	runRecord
)

// errHandedOff stops a run Run gave to another replica (see handingOff).
var errHandedOff = errors.New("syncer: table handed to another replica")

// handingOff reports whether Run gave the table to another replica while
// it was running here.
func (s *Syncer) handingOff(table string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handOff[table]
}

// ErrBusy is returned when the table is running already in this process
// (a SyncOnce while Run or another SyncOnce syncs it): wait for that run,
// or call Trigger, which queues one.
var ErrBusy = errors.New("syncer: the table is already running")

func (s *Syncer) runTable(ctx context.Context, tc TableConfig, mode runMode, n int, release bool) *Report {
	return s.runTableWith(ctx, tc, mode, n, release, nil, "")
}

func (s *Syncer) runTableWith(ctx context.Context, tc TableConfig, mode runMode, n int, release bool, plan *Plan, recordID string) *Report {
	rep := &Report{Table: tc.Table, Started: s.cfg.Now()}
	s.mu.Lock()
	if s.running[tc.Table] {
		s.mu.Unlock()
		rep.Err = ErrBusy
		return rep
	}
	s.running[tc.Table] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, tc.Table)
		if plan == nil {
			s.last[tc.Table] = rep
		}
		s.mu.Unlock()
	}()
	s.obs.RunStarted(tc.Table)
	tm, _ := s.maps.Table(tc.Table)
	ctxSN, ctxSF, cSN, cSF := countingContexts(ctx)
	r := &tableRun{s: s, tc: tc, tm: tm, rep: rep, ctxSN: ctxSN, ctxSF: ctxSF, plan: plan, now: s.cfg.Now()}
	r.res = &resolver{s: s, ctx: ctxSN}
	// Run's own runs keep the lease between runs (release is false); so
	// does Plan, which holds none.
	r.scheduled = !release && plan == nil
	err := func() error {
		if plan == nil {
			l, err := s.store.AcquireLease(ctx, tc.Table, s.holder, s.cfg.LeaseTTL)
			if err != nil {
				return err
			}
			r.lease, r.leaseAt = l, time.Now()
			defer func() {
				if release || s.handingOff(tc.Table) {
					_ = s.store.ReleaseLease(context.WithoutCancel(ctx), r.lease)
					s.mu.Lock()
					delete(s.owned, tc.Table)
					s.mu.Unlock()
				} else {
					s.rememberLease(r.lease)
				}
			}()
		}
		if err := s.probe(ctxSN, r); err != nil {
			return err
		}
		switch mode {
		case runRecent:
			return r.syncRecent(ctx, n)
		case runRecord:
			return r.syncOneSF(ctx, recordID)
		}
		return r.run(ctx)
	}()
	rep.CallsServiceNow, rep.CallsStackFlow = cSN.Load(), cSF.Load()
	rep.Duration = s.cfg.Now().Sub(rep.Started)
	if errors.Is(err, errHandedOff) {
		// Everything up to the last page is committed; the new owner
		// goes on from there.
		rep.HandedOff, err = true, nil
		s.log.LogAttrs(ctx, slog.LevelInfo, "table handed to another replica", slog.String("table", tc.Table))
		s.obs.RunFinished(rep)
		return rep
	}
	rep.Err = err
	if plan == nil && !errors.Is(err, ErrLeaseHeld) {
		s.noteRun(ctx, r, err)
	}
	if err != nil && !errors.Is(err, ErrLeaseHeld) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "sync run failed", slog.String("table", tc.Table), slog.String("error", err.Error()))
	} else if err == nil {
		level := slog.LevelInfo
		if mode == runRecord {
			level = slog.LevelDebug // one record, from a webhook: frequent
		}
		s.log.LogAttrs(ctx, level, "sync run", slog.String("table", tc.Table),
			slog.Int("to_stackflow", rep.ToStackFlow.Writes()), slog.Int("to_servicenow", rep.ToServiceNow.Writes()),
			slog.Int64("calls_servicenow", rep.CallsServiceNow), slog.Int64("calls_stackflow", rep.CallsStackFlow),
			slog.Duration("duration", rep.Duration))
	}
	s.obs.RunFinished(rep)
	return rep
}

// noteRun stores when the table last ran and how it ended, for health
// checks.
func (s *Syncer) noteRun(ctx context.Context, r *tableRun, runErr error) {
	if r.lease.Token == 0 || errors.Is(runErr, ErrFenced) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	_ = s.store.Update(ctx, r.lease, func(tx Tx) error {
		ids := []string{streamToSF(r.table())}
		if !r.oneWay() {
			ids = append(ids, streamToSN(r.table()))
		}
		for _, id := range ids {
			st, err := tx.Stream(id)
			if err != nil {
				return err
			}
			if st == nil {
				st = &StreamState{ID: id}
			}
			st.LastRun = r.rep.Started
			if runErr == nil {
				st.LastSuccess, st.LastError = r.rep.Started, ""
			} else {
				st.LastError = shortErr(runErr)
			}
			if err := tx.PutStream(st); err != nil {
				return err
			}
		}
		return nil
	})
}

// run is one full cycle of a table.
func (r *tableRun) run(ctx context.Context) error {
	if err := r.snSweep(ctx, false); err != nil {
		return err
	}
	if r.s.filters[r.table()].incremental != "" {
		if err := r.snSweep(ctx, true); err != nil {
			return err
		}
	}
	if err := r.retryDue(ctx, streamToSF(r.table())); err != nil {
		return err
	}
	if !r.oneWay() {
		if err := r.sfSweep(ctx); err != nil {
			return err
		}
		if err := r.retryDue(ctx, streamToSN(r.table())); err != nil {
			return err
		}
	}
	return r.maintenance(ctx)
}

// syncRecent processes the n latest ServiceNow records.
func (r *tableRun) syncRecent(ctx context.Context, n int) error {
	q := r.s.filters[r.table()].initial
	q = joinQuery(q, "ORDERBYDESCsys_updated_on")
	recs, _, err := r.snTable().List(r.ctxSN, &servicenow.ListOptions{Query: q, Fields: r.tm.ServiceNowFields(), Limit: n, ExcludeReferenceLink: true, NoCount: true})
	if err != nil {
		return err
	}
	page := make([]servicenow.Record, len(recs))
	for i, rec := range recs {
		page[i] = *rec
	}
	o := newPageOut(streamToSF(r.table()), false)
	if err := r.processSNPage(ctx, o, page, pageMain); err != nil {
		return err
	}
	return r.commit(ctx, o, nil)
}

// syncOneSF processes one StackFlow record, without moving any cursor.
func (r *tableRun) syncOneSF(ctx context.Context, id string) error {
	rec, _, err := r.sfRecords().Get(r.ctxSF, id)
	if err != nil {
		return err
	}
	o := newPageOut(streamToSN(r.table()), true)
	if err := r.processSFPage(ctx, o, []stackflow.Record{*rec}, pageMain); err != nil {
		return err
	}
	return r.commit(ctx, o, nil)
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	return a + "^" + b
}

// now returns the syncer's local time (never used for cursors).
func (s *Syncer) now() time.Time { return s.cfg.Now() }

// serverClock returns a server's time: the answer's Date header, else the
// client's estimate, else the local clock (a server that sends no Date).
func (s *Syncer) serverClock(date time.Time, estimate func() (time.Time, bool)) time.Time {
	if !date.IsZero() {
		return date
	}
	if t, ok := estimate(); ok {
		return t
	}
	return s.now()
}

// SyncStackFlowRecord syncs one StackFlow record now, outside the schedule:
// what a StackFlow webhook ("incident.updated") calls for. module is the
// StackFlow module ("incidents"); the record's table must be bidirectional.
func (s *Syncer) SyncStackFlowRecord(ctx context.Context, module, id string) (*Report, error) {
	table := tableForModule(module)
	tc, ok := s.tables[table]
	if !ok {
		return nil, fmt.Errorf("%w: module %s", ErrTableNotSynced, module)
	}
	tm, _ := s.maps.Table(table)
	if tm.Direction() != mapping.Bidirectional {
		return nil, fmt.Errorf("syncer: %s syncs from ServiceNow only; StackFlow changes to it are not synced back", table)
	}
	rep := s.runTableWith(ctx, tc, runRecord, 0, true, nil, id)
	return rep, rep.Err
}
