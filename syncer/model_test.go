package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

// The randomised model test of the sync invariants (sync-design §10b): it
// interleaves human edits on both fakes, syncs, injected faults (429, 5xx,
// resets, lost answers, HTML, truncated bodies) and crashes at every named
// crash point, then drives the system to quiescence and checks convergence,
// no lost update, no duplicate, no echo and bounded writes. rapid prints the
// seed of a failure and keeps it under testdata/rapid to replay it first.

// humanWrite is one edit a person made, for the lost-update check.
type humanWrite struct {
	at    time.Time
	side  mapping.Side
	id    string // the record's id on that side
	key   string // mapping key (the StackFlow field)
	value string // in that side's own terms
}

type model struct {
	t       *rapid.T
	clock   *testserver.ManualClock
	sn      *servicenowtest.Server
	sf      *stackflowtest.Server
	snc     *servicenow.Client
	sfc     *stackflow.Client
	store   *syncer.MemStore
	cfg     syncer.Config
	s       *syncer.Syncer
	tm      *mapping.TableMap
	snIDs   []string
	sfIDs   []string
	writes  []humanWrite
	human   int // human writes and creates
	synced  int // sync writes
	cursors map[string]syncer.Cursor
}

var snFieldValues = map[string][]string{
	"short_description": {"Mail down", "VPN flaps", "Disk full", "  Printer jam  "},
	"description":       {"first line\r\nsecond line", "nothing", "", "see attachment"},
	"impact":            {"1", "2", "3"},
	"urgency":           {"1", "2", "3"},
	"state":             {"1", "2", "3"},
	"category":          {"network", "hardware", "software", "inquiry"},
}

var sfFieldValues = map[string][]any{
	"title":       {"Mail down", "VPN flaps", "Disk full", "Printer jam"},
	"description": {"first line\nsecond line", "nothing", nil, "see attachment"},
	"impact":      {1, 2, 3},
	"urgency":     {1, 2, 3},
	"state":       {"new", "in_progress", "on_hold"},
	"category":    {"network", "hardware", "software", "inquiry"},
}

// snKeys maps ServiceNow fields to mapping keys (StackFlow fields).
var snKeys = map[string]string{"short_description": "title", "description": "description", "impact": "impact", "urgency": "urgency", "state": "state", "category": "category"}

func newModel(t *rapid.T) *model {
	clock := testserver.NewManualClock(start)
	m := &model{t: t, clock: clock, cursors: map[string]syncer.Cursor{}}
	var err error
	m.sn, err = servicenowtest.Start(servicenowtest.WithClock(clock), servicenowtest.WithSeed(uint64(rapid.Uint32().Draw(t, "seed"))))
	require.NoError(t, err)
	m.sf, err = stackflowtest.Start(stackflowtest.WithClock(clock))
	require.NoError(t, err)
	fast := time.Millisecond
	m.snc, err = servicenow.NewClient(m.sn.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword),
		servicenow.WithHTTPClient(&http.Client{Transport: m.sn.Transport()}),
		servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 2, WaitMin: fast, WaitMax: fast}))
	require.NoError(t, err)
	m.sfc, err = stackflow.NewClient(m.sf.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken),
		stackflow.WithHTTPClient(&http.Client{Transport: &testserver.HandlerTransport{Handler: m.sf.Handler()}}),
		stackflow.WithRetry(stackflow.RetryPolicy{MaxRetries: 2, WaitMin: fast, WaitMax: fast}))
	require.NoError(t, err)
	m.store = syncer.NewMemStore()
	m.store.Now = clock.Now
	m.cfg = syncer.Config{ServiceNow: m.snc, StackFlow: m.sfc, Store: m.store, Now: clock.Now, ReplicaID: "model",
		Tables:   []syncer.TableConfig{{Table: "incident", Enabled: true}},
		PageSize: rapid.SampledFrom([]int{2, 3, 1000}).Draw(t, "page size"), LeaseTTL: time.Hour,
		Mapping: mapping.Config{}}
	m.restart()
	tm, ok := m.s.Mapping().Table("incident")
	require.True(t, ok)
	m.tm = tm
	return m
}

func (m *model) close() {
	m.sn.Close()
	m.sf.Close()
}

func (m *model) restart() {
	s, err := syncer.New(m.cfg)
	require.NoError(m.t, err)
	m.s = s
}

func (m *model) snCreate(t *rapid.T) {
	fields := map[string]string{}
	for _, f := range sortedKeys(snFieldValues) {
		if f != "state" && rapid.Bool().Draw(t, "set "+f) {
			fields[f] = rapid.SampledFrom(snFieldValues[f]).Draw(t, f)
		}
	}
	rec, err := m.sn.Insert("incident", fields)
	require.NoError(t, err)
	m.snIDs = append(m.snIDs, rec["sys_id"])
	m.human++
}

func (m *model) sfCreate(t *rapid.T) {
	fields := map[string]any{"title": rapid.SampledFrom(sfFieldValues["title"]).Draw(t, "title"), "state": "new"}
	rec, err := m.sf.Create("incidents", fields, "agent.smith")
	require.NoError(t, err)
	m.sfIDs = append(m.sfIDs, rec.ID)
	m.human++
}

func (m *model) snEdit(t *rapid.T) {
	if len(m.snRecords()) == 0 {
		t.Skip("no ServiceNow incident yet")
	}
	recs := m.snRecords()
	rec := rapid.SampledFrom(recs).Draw(t, "sn record")
	field := rapid.SampledFrom(sortedKeys(snFieldValues)).Draw(t, "sn field")
	value := rapid.SampledFrom(snFieldValues[field]).Draw(t, "sn value")
	w := humanWrite{at: m.clock.Now(), side: mapping.ServiceNow, id: rec["sys_id"], key: snKeys[field], value: value}
	full := m.snCurrent(rec["sys_id"])
	if cur, err := m.tm.ProjectServiceNow(full); err == nil && canonEqual(m.tm, w, full, nil, cur[w.key]) {
		t.Skip("not a change (in canonical terms)")
	}
	if m.backToSnapshot(w, full, nil) {
		t.Skip("an A-B-A edit (back to the synced value) is no change to a state-based sync")
	}
	if _, err := m.sn.Update("incident", rec["sys_id"], map[string]string{field: value}); err != nil {
		t.Skipf("the instance refused the edit: %v", err)
	}
	m.writes = append(m.writes, humanWrite{at: m.clock.Now(), side: mapping.ServiceNow, id: rec["sys_id"], key: snKeys[field], value: value})
	m.human++
}

func (m *model) sfEdit(t *rapid.T) {
	recs, err := m.sf.Records("incidents")
	require.NoError(t, err)
	var live []stackflowtest.Record
	for _, r := range recs {
		if !r.Deleted() {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		t.Skip("no StackFlow incident yet")
	}
	rec := rapid.SampledFrom(live).Draw(t, "sf record")
	field := rapid.SampledFrom(sortedKeys(sfFieldValues)).Draw(t, "sf field")
	value := rapid.SampledFrom(sfFieldValues[field]).Draw(t, "sf value")
	if fmt.Sprint(rec.Fields[field]) == fmt.Sprint(value) {
		t.Skip("not a change")
	}
	wv := ""
	if value != nil {
		wv = fmt.Sprint(value)
	}
	sw := humanWrite{side: mapping.StackFlow, id: rec.ID, key: field, value: wv}
	if cur, err := m.tm.ProjectStackFlow(sfRecordOf(rec)); err == nil && canonEqual(m.tm, sw, nil, sfRecordOf(rec), cur[field]) {
		t.Skip("not a change (in canonical terms)")
	}
	if m.backToSnapshot(sw, nil, sfRecordOf(rec)) {
		t.Skip("an A-B-A edit (back to the synced value) is no change to a state-based sync")
	}
	if _, err := m.sf.Update("incidents", rec.ID, map[string]any{field: value}, "agent.smith"); err != nil {
		t.Skipf("StackFlow refused the edit: %v", err)
	}
	v := ""
	if value != nil {
		v = fmt.Sprint(value)
	}
	m.writes = append(m.writes, humanWrite{at: m.clock.Now(), side: mapping.StackFlow, id: rec.ID, key: field, value: v})
	m.human++
}

// backToSnapshot reports whether a write would set a field back to the
// value the syncer last synced for that side: between two sweeps such an
// edit is invisible to a state-based sync (A-B-A), by design. The same
// holds for the value a write of the syncer's was carrying when it crashed
// (the pair's pending write): after the crash, a person's edit to exactly
// that value cannot be told from the write having landed.
func (m *model) backToSnapshot(w humanWrite, sn servicenow.Record, sf stackflow.Record) bool {
	var p *syncer.Pair
	_ = m.store.View(context.Background(), func(tx syncer.ReadTx) error {
		if w.side == mapping.ServiceNow {
			p, _ = tx.PairBySN("incident", w.id)
		} else {
			p, _ = tx.PairBySF("incident", w.id)
		}
		return nil
	})
	if p == nil {
		return false
	}
	snap := p.SnapSN[w.key]
	if w.side == mapping.StackFlow {
		snap = p.SnapSF[w.key]
	}
	if canonEqual(m.tm, w, sn, sf, snap) {
		return true
	}
	if pw := p.Pending; pw != nil && pw.Written[w.key] != "" {
		pending := pw.SN[w.key]
		if w.side == mapping.StackFlow {
			pending = pw.SF[w.key]
		}
		return canonEqual(m.tm, w, sn, sf, pending)
	}
	return false
}

// snCurrent returns a ServiceNow record as the syncer reads it, from the
// fake's store (no request, so no queued fault is used up): dot-walked
// fields are empty, since the model never sets references.
func (m *model) snCurrent(id string) servicenow.Record {
	raw, ok := m.sn.Record("incident", id)
	if !ok {
		return nil
	}
	out := servicenow.Record{}
	for _, f := range m.tm.ServiceNowFields() {
		out[f] = servicenow.Value{Value: raw[f]}
	}
	return out
}

func sfRecordOf(r stackflowtest.Record) stackflow.Record {
	out := stackflow.Record{"id": r.ID, "source": r.Source, "version": float64(r.Version)}
	for k, v := range r.Fields {
		out[k] = v
	}
	return out
}

func (m *model) advance(t *rapid.T) {
	m.clock.Advance(time.Duration(rapid.IntRange(1, 600).Draw(t, "seconds")) * time.Second)
}

// faults queues a few misbehaviours on either fake.
func (m *model) faults(t *rapid.T) {
	n := rapid.IntRange(1, 3).Draw(t, "faults")
	for range n {
		switch rapid.IntRange(0, 7).Draw(t, "fault") {
		case 0:
			m.sn.AddFault(servicenowtest.RateLimitedFault(time.Millisecond, 100, m.clock.Now().Add(time.Hour)))
		case 1:
			m.sn.AddFault(servicenowtest.Fault{Kind: servicenowtest.FaultStatus, Status: 503, Body: `{"error":{"message":"busy"},"status":"failure"}`,
				Header: http.Header{"Content-Type": {"application/json"}}})
		case 2:
			m.sn.AddFault(servicenowtest.Fault{Kind: servicenowtest.FaultReset})
		case 3:
			m.sn.AddFault(servicenowtest.Fault{Method: "POST", Kind: servicenowtest.FaultResetAfterWrite})
		case 4:
			m.sn.AddFault(servicenowtest.TransactionCancelledFault(30))
		case 5:
			m.sf.AddFault(stackflowtest.Fault{Kind: stackflowtest.FaultReset})
		case 6:
			m.sf.AddFault(stackflowtest.Fault{Method: rapid.SampledFrom([]string{"POST", "PATCH"}).Draw(t, "sf method"), Kind: stackflowtest.FaultResetAfterWrite})
		case 7:
			m.sn.AddFault(servicenowtest.HibernatingFault())
		}
	}
}

func (m *model) sync(t *rapid.T) {
	m.clock.Advance(time.Minute)
	rep, err := m.s.SyncOnce(context.Background(), "incident")
	if rep != nil {
		m.synced += rep.ToStackFlow.Writes() + rep.ToServiceNow.Writes()
		t.Logf("%s conflicts=%v", rep, rep.Conflicts)
	}
	if err != nil && !errors.Is(err, syncer.ErrCrash) {
		t.Logf("sync stopped: %v", err) // faults may stop a run; the next one goes on
	}
}

func (m *model) syncCrash(t *rapid.T) {
	point := rapid.SampledFrom([]string{"before-write", "after-write", "mid-page", "before-commit", "after-commit"}).Draw(t, "crash point")
	visit := rapid.IntRange(1, 4).Draw(t, "crash visit")
	n := 0
	syncer.SetCrashHook(m.s, func(p string) error {
		if p == point {
			n++
			if n == visit {
				return syncer.ErrCrash
			}
		}
		return nil
	})
	m.sync(t)
	m.restart() // the crashed process is gone; a new one starts on the committed state
}

func (m *model) snRecords() []servicenowtest.Record { return m.sn.Records("incident") }

// check holds after every step: no duplicate on either side, cursors never
// go back.
func (m *model) check(t *rapid.T) {
	seen := map[string]string{}
	recs, err := m.sf.Records("incidents")
	require.NoError(t, err)
	for _, r := range recs {
		if r.ExternalID == "" {
			continue
		}
		if other, dup := seen[r.ExternalID]; dup {
			t.Fatalf("duplicate: StackFlow %s and %s both carry external_id %s", other, r.ID, r.ExternalID)
		}
		seen[r.ExternalID] = r.ID
	}
	corr := map[string]string{}
	for _, r := range m.snRecords() {
		if c := r["correlation_id"]; c != "" {
			if other, dup := corr[c]; dup {
				t.Fatalf("duplicate: ServiceNow %s and %s both carry correlation_id %s", other, r["sys_id"], c)
			}
			corr[c] = r["sys_id"]
		}
	}
	_ = m.store.View(context.Background(), func(tx syncer.ReadTx) error {
		for _, id := range []string{"incident/servicenow->stackflow", "incident/stackflow->servicenow"} {
			st, _ := tx.Stream(id)
			if st == nil {
				continue
			}
			if prev, ok := m.cursors[id]; ok && st.Cursor.Less(prev) {
				t.Fatalf("cursor of %s went back from %v to %v", id, prev, st.Cursor)
			}
			if st.Cursor.Time.After(m.clock.Now()) {
				t.Fatalf("cursor of %s is ahead of the server clock", id)
			}
			m.cursors[id] = st.Cursor
		}
		return nil
	})
}

// quiesce turns faults off and syncs until a cycle writes nothing, then
// checks the end-state invariants.
func (m *model) quiesce(t *rapid.T) {
	m.sn.ClearFaults()
	m.sf.ClearFaults()
	syncer.SetCrashHook(m.s, nil)
	m.clock.Advance(2 * time.Hour) // dead-letter backoffs expire
	quiet := false
	for i := 0; i < 8 && !quiet; i++ {
		m.clock.Advance(time.Hour)
		rep, err := m.s.SyncOnce(context.Background(), "incident")
		require.NoError(t, err, "a fault-free cycle succeeds")
		t.Logf("quiesce: %s conflicts=%v errors=%v", rep, rep.Conflicts, rep.Errors)
		m.synced += rep.ToStackFlow.Writes() + rep.ToServiceNow.Writes()
		quiet = rep.ToStackFlow.Writes()+rep.ToServiceNow.Writes() == 0
	}
	require.True(t, quiet, "no quiescence after 8 fault-free cycles: a loop")
	rep, err := m.s.SyncOnce(context.Background(), "incident")
	require.NoError(t, err)
	require.Zero(t, rep.ToStackFlow.Writes()+rep.ToServiceNow.Writes(), "no echo: a further cycle writes nothing: %s", rep)

	// Convergence and the bijection: every record on each side is paired
	// with exactly one on the other, and their mapped fields agree.
	pairsBySN := map[string]*syncer.Pair{}
	require.NoError(t, m.store.View(context.Background(), func(tx syncer.ReadTx) error {
		return tx.Pairs("incident", func(p *syncer.Pair) bool { pairsBySN[p.SNID] = p; return true })
	}))
	sfRecs, _, err := m.sfc.Records(stackflow.ModuleIncidents).List(context.Background(), &stackflow.ListOptions{Limit: 1000, IncludeDeleted: true})
	require.NoError(t, err)
	sfByID := map[string]stackflow.Record{}
	for _, r := range sfRecs {
		sfByID[r.ID()] = *r
	}
	snRecs, _, err := m.snc.Table("incident").List(context.Background(), &servicenow.ListOptions{Fields: m.tm.ServiceNowFields(), Limit: 1000, ExcludeReferenceLink: true})
	require.NoError(t, err)
	// Records the target refused for good are accounted for: in the
	// dead-letter queue, permanent, with a reason.
	dlq, err := m.s.DLQ(context.Background(), "incident")
	require.NoError(t, err)
	refused := map[string]bool{}
	for _, e := range dlq {
		require.True(t, e.Permanent, "after quiescence only permanent entries remain: %+v", e)
		require.NotEmpty(t, e.LastError)
		refused[e.SourceID] = true
	}
	live := 0
	for _, r := range sfByID {
		if !refused[r.ID()] {
			live++
		}
	}
	synced := 0
	for _, rec := range snRecs {
		if !refused[rec.SysID()] {
			synced++
		}
	}
	require.Equal(t, synced, live, "as many incidents on each side (refused ones aside)")
	res := &noResolver{}
	snByID := map[string]servicenow.Record{}
	for _, rec := range snRecs {
		snByID[rec.SysID()] = *rec
	}
	for _, rec := range snRecs {
		if refused[rec.SysID()] {
			continue
		}
		p := pairsBySN[rec.SysID()]
		require.NotNil(t, p, "ServiceNow incident %s is paired", rec.SysID())
		sf, ok := sfByID[p.SFID]
		require.True(t, ok, "its StackFlow twin %s exists", p.SFID)
		snC, err := m.tm.ProjectServiceNow(*rec)
		require.NoError(t, err)
		sfC, err := m.tm.ProjectStackFlow(sf)
		require.NoError(t, err)
		diff, err := m.tm.Converged(snC, sfC, res)
		require.NoError(t, err)
		require.Empty(t, diff, "pair %s/%s converged: sn=%v sf=%v", p.SNID, p.SFID, snC, sfC)
		require.Equal(t, snC.Hash(), syncer.CanonHash(p.SnapSN), "the ServiceNow snapshot is the current projection")
		require.Equal(t, sfC.Hash(), syncer.CanonHash(p.SnapSF), "the StackFlow snapshot is the current projection")
	}

	// No lost update: the last human write to each field of each record
	// is the final value, or it is in the conflict log as the loser.
	var conflicts []syncer.Conflict
	require.NoError(t, m.store.View(context.Background(), func(tx syncer.ReadTx) error {
		conflicts, err = tx.Conflicts("incident", 0)
		return err
	}))
	// The latest writes to each field of each record (several when they
	// happened in the same instant: concurrent).
	latest := map[string][]humanWrite{}
	perSide := map[string]map[mapping.Side]humanWrite{}
	for _, w := range m.writes { // in the order they were made
		snID := w.id
		if w.side == mapping.StackFlow {
			for _, p := range pairsBySN {
				if p.SFID == w.id {
					snID = p.SNID
				}
			}
		}
		k := snID + "\x00" + w.key
		if perSide[k] == nil {
			perSide[k] = map[mapping.Side]humanWrite{}
		}
		perSide[k][w.side] = w // a later write of the same side supersedes
	}
	for k, sides := range perSide {
		a, okA := sides[mapping.ServiceNow]
		b, okB := sides[mapping.StackFlow]
		switch {
		case !okB || (okA && a.at.After(b.at)):
			latest[k] = []humanWrite{a}
		case !okA || b.at.After(a.at):
			latest[k] = []humanWrite{b}
		default:
			latest[k] = []humanWrite{a, b} // the same instant: concurrent
		}
	}
	for k, ws := range latest {
		snID := k[:strings.IndexByte(k, 0)]
		p := pairsBySN[snID]
		if p == nil && (refused[snID] || refused[ws[0].id]) {
			continue
		}
		require.NotNil(t, p, "record %s of %+v", snID, ws)
		snFinal, sfFinal := snByID[p.SNID], sfByID[p.SFID]
		kept := false
		for _, w := range ws {
			final := p.SnapSN[w.key]
			if w.side == mapping.StackFlow {
				final = p.SnapSF[w.key]
			}
			if canonEqual(m.tm, w, snFinal, sfFinal, final) {
				kept = true
			}
		}
		for _, w := range ws {
			final := p.SnapSN[w.key]
			if w.side == mapping.StackFlow {
				final = p.SnapSF[w.key]
			}
			if canonEqual(m.tm, w, snFinal, sfFinal, final) || (kept && len(ws) > 1 && loggedLoss(m.tm, conflicts, snID, w, snFinal, sfFinal)) {
				continue
			}
			require.True(t, loggedLoss(m.tm, conflicts, snID, w, snFinal, sfFinal),
				"lost update: %s wrote %s=%q on %s at %s; final %q, not in the conflict log %v", w.side, w.key, w.value, w.id, w.at, final, conflicts)
		}
	}

	// Writes are bounded: a human write causes at most a write to the
	// other side and a derived write back (priority).
	require.LessOrEqual(t, m.synced, 3*m.human+len(snRecs), "sync writes %d for %d human writes", m.synced, m.human)
}

// canonEqual compares a human write with a canonical value of its side:
// the write's value goes into a copy of that side's final record, which is
// projected (a projection needs every mapped field).
func canonEqual(tm *mapping.TableMap, w humanWrite, snFinal servicenow.Record, sfFinal stackflow.Record, canon string) bool {
	var c mapping.Canon
	var err error
	if w.side == mapping.ServiceNow {
		rec := servicenow.Record{}
		for k, v := range snFinal {
			rec[k] = v
		}
		rec[fieldOf(w.key)] = servicenow.Value{Value: w.value}
		c, err = tm.ProjectServiceNow(rec)
	} else {
		rec := map[string]any{}
		for k, v := range sfFinal {
			rec[k] = v
		}
		switch {
		case w.value == "":
			rec[w.key] = nil
		case w.key == "impact" || w.key == "urgency":
			rec[w.key] = float64(w.value[0] - '0')
		default:
			rec[w.key] = w.value
		}
		c, err = tm.ProjectStackFlow(rec)
	}
	return err == nil && c[w.key] == canon
}

// loggedLoss reports whether a write's value is in the conflict log as a
// loser of its record and key.
func loggedLoss(tm *mapping.TableMap, conflicts []syncer.Conflict, snID string, w humanWrite, snFinal servicenow.Record, sfFinal stackflow.Record) bool {
	for _, c := range conflicts {
		if c.SNID != snID || c.Key != w.key {
			continue
		}
		lost := c.SNValue
		if w.side == mapping.StackFlow {
			lost = c.SFValue
		}
		if canonEqual(tm, w, snFinal, sfFinal, lost) {
			return true
		}
	}
	return false
}

func fieldOf(key string) string {
	for f, k := range snKeys {
		if k == key {
			return f
		}
	}
	return key
}

type noResolver struct{}

func (noResolver) StackFlowID(table, sysID string) (string, error)  { return "", mapping.ErrUnresolved }
func (noResolver) ServiceNowID(module, sfID string) (string, error) { return "", mapping.ErrUnresolved }
func (noResolver) LookupServiceNow(table, field, value string) (string, error) {
	return "", nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestModelInvariants(t *testing.T) {
	if testing.Short() {
		t.Skip("the randomised model test runs without -short")
	}
	rapid.Check(t, func(t *rapid.T) {
		m := newModel(t)
		defer m.close()
		t.Repeat(map[string]func(*rapid.T){
			"":          m.check,
			"snCreate":  m.snCreate,
			"sfCreate":  m.sfCreate,
			"snEdit":    m.snEdit,
			"sfEdit":    m.sfEdit,
			"advance":   m.advance,
			"faults":    m.faults,
			"sync":      m.sync,
			"syncCrash": m.syncCrash,
		})
		m.quiesce(t)
	})
}
