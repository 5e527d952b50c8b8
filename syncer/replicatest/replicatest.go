// Package replicatest runs several syncer replicas on one shared Store
// against the fake ServiceNow and StackFlow, and checks what a Store shared
// by replicas must guarantee (see syncer.Replicas): every table synced by
// exactly one replica, a dead replica's tables taken over within the lease
// time, and a replica paused past its lease committing and writing nothing
// when it wakes up, with no duplicate and no lost update at the end.
//
// syncer/pgstore runs it on PostgreSQL; syncer runs it on a MemStore shared
// in one process. A Store implementation for several replicas can run it
// too:
//
//	func TestReplicas(t *testing.T) {
//		replicatest.Run(t, func(t *testing.T) func() syncer.Store {
//			db := newDatabase(t)
//			return func() syncer.Store { return openHandle(t, db) }
//		})
//	}
package replicatest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

// Open creates a new, empty store for the replicas of one scenario and
// returns the function that opens a handle on it: each replica opens its
// own (as separate processes would), and every handle sees the same state.
// Handles must implement syncer.Replicas; Run closes the ones it opens.
type Open func(t *testing.T) (handle func() syncer.Store)

// LeaseTTL is the lease time the replicas use: the shortest Config allows.
const LeaseTTL = 5 * time.Second

// Run runs the scenarios, each as a subtest on fresh fakes and a fresh
// store.
func Run(t *testing.T, open Open) {
	t.Run("spread", func(t *testing.T) { testSpread(t, open(t)) })
	t.Run("takeover", func(t *testing.T) { testTakeover(t, open(t)) })
	t.Run("pause", func(t *testing.T) { testPause(t, open(t)) })
	t.Run("graceful stop", func(t *testing.T) { testGracefulStop(t, open(t)) })
	t.Run("different tables", func(t *testing.T) { testDifferentTables(t, open(t)) })
}

type handle = func() syncer.Store

// tables are the six the guide syncs, with their StackFlow modules.
var tables = []struct{ table, module string }{
	{"incident", "incidents"},
	{"problem", "problems"},
	{"change_request", "changes"},
	{"sc_request", "service_requests"},
	{"cmdb_ci", "cmdb_cis"},
	{"cmdb_rel_ci", "cmdb_relationships"},
}

// world is the fakes with some records in every table.
type world struct {
	t     *testing.T
	clock *testserver.ManualClock
	sn    *servicenowtest.Server
	sf    *stackflowtest.Server
	// incidents seeded, by sys_id.
	incidents []string
	stopTick  func()
}

func newWorld(t *testing.T) *world {
	// The fakes run on a manual clock that a ticker moves a second per
	// 20ms, so sweeps (which stay SafetyLag behind the server's clock)
	// see new records quickly. Leases use the store's real clock.
	clock := testserver.NewManualClock(time.Now().UTC().Add(-time.Hour).Truncate(time.Second))
	w := &world{t: t, clock: clock}
	w.sn = servicenowtest.NewServer(t, servicenowtest.WithClock(clock))
	w.sf = stackflowtest.NewServer(t, stackflowtest.WithClock(clock))
	ts := clock.Now().Add(-time.Hour).Format(time.DateTime)
	var err error
	w.incidents, err = w.sn.Seed("incident", rows(12, func(i int) map[string]any {
		return map[string]any{"short_description": fmt.Sprintf("incident %d", i), "impact": "2", "urgency": "2", "sys_updated_on": ts}
	})...)
	require.NoError(t, err)
	for _, tb := range []string{"problem", "change_request", "sc_request"} {
		_, err := w.sn.Seed(tb, rows(8, func(i int) map[string]any {
			return map[string]any{"short_description": fmt.Sprintf("%s %d", tb, i), "sys_updated_on": ts}
		})...)
		require.NoError(t, err)
	}
	cis, err := w.sn.Seed("cmdb_ci_linux_server", rows(10, func(i int) map[string]any {
		return map[string]any{"name": fmt.Sprintf("host-%02d", i), "install_status": "1", "sys_updated_on": ts}
	})...)
	require.NoError(t, err)
	_, err = w.sn.Seed("cmdb_rel_ci", rows(9, func(i int) map[string]any {
		return map[string]any{"parent": cis[i], "child": cis[i+1], "type": "1a9cb166f1571100a92eb60da2bce5c5", "sys_updated_on": ts}
	})...)
	require.NoError(t, err)

	w.stopTick = runClock(clock, 20*time.Millisecond, time.Second)
	t.Cleanup(w.stopTick)
	return w
}

// runClock advances clock by step every tick until the returned stop is
// called (more than once is fine).
func runClock(clock *testserver.ManualClock, every, step time.Duration) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				clock.Advance(step)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

func rows(n int, f func(i int) map[string]any) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// replica is one syncer process: its own clients, store handle and Run.
type replica struct {
	name    string
	s       *syncer.Syncer
	store   *gatedStore
	http    *gate
	obs     *observer
	cancel  context.CancelFunc
	stopped chan struct{}
}

func (w *world) start(t *testing.T, open handle, name string) *replica {
	t.Helper()
	return w.startWith(t, open, name, nil)
}

// startWith starts a replica that enables only the tables in only (every
// table when only is empty).
func (w *world) startWith(t *testing.T, open handle, name string, only []string) *replica {
	t.Helper()
	inner := open()
	_, ok := inner.(syncer.Replicas)
	require.True(t, ok, "the store must implement syncer.Replicas")
	r := &replica{name: name, store: &gatedStore{inner: inner, g: newGate()}, http: newGate(), obs: &observer{runs: map[string]int{}}, stopped: make(chan struct{})}
	r.store.httpGate = r.http
	retry := servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond})
	snc, err := servicenow.NewClient(w.sn.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword),
		servicenow.WithHTTPClient(&http.Client{Transport: &gatedTransport{g: r.http, next: w.sn.Client().Transport}}), retry)
	require.NoError(t, err)
	sfc, err := stackflow.NewClient(w.sf.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken),
		stackflow.WithHTTPClient(&http.Client{Transport: &gatedTransport{g: r.http, next: w.sf.Client().Transport}}),
		stackflow.WithRetry(stackflow.RetryPolicy{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}))
	require.NoError(t, err)
	var tcs []syncer.TableConfig
	for _, tb := range tables {
		if len(only) == 0 || slices.Contains(only, tb.table) {
			tcs = append(tcs, syncer.TableConfig{Table: tb.table, Enabled: true, Interval: time.Minute})
		}
	}
	r.s, err = syncer.New(syncer.Config{
		ServiceNow: snc, StackFlow: sfc, Store: r.store, Tables: tcs,
		ReplicaID: name, LeaseTTL: LeaseTTL, Observer: r.obs,
		SafetyLag: 5 * time.Second, Overlap: time.Minute,
		Logger: slog.New(slog.NewTextHandler(tlog{t, name}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	triggered := make(chan struct{})
	go func() {
		// Runs come every 300ms instead of every minute: Run decides
		// which of the triggered tables are this replica's.
		defer close(triggered)
		tk := time.NewTicker(300 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				for _, tb := range tables {
					_ = r.s.Trigger(tb.table)
				}
			}
		}
	}()
	go func() {
		defer close(r.stopped)
		_ = r.s.Run(ctx)
		<-triggered
	}()
	t.Cleanup(func() {
		r.store.g.open()
		r.http.open()
		r.stop()
		_ = inner.Close()
	})
	return r
}

// tlog writes a replica's warnings to the test log.
type tlog struct {
	t    *testing.T
	name string
}

func (l tlog) Write(p []byte) (int, error) {
	l.t.Logf("%s: %s", l.name, strings.TrimSpace(string(p)))
	return len(p), nil
}

// stop cancels Run and waits for it.
func (r *replica) stop() {
	r.cancel()
	<-r.stopped
}

// kill makes the replica's store and HTTP calls fail from now on (a dead
// process writes nothing, releases nothing) and stops its Run.
func (r *replica) kill() {
	r.store.dead.Store(true)
	r.http.dead.Store(true)
	r.stop()
}

// observer counts a replica's successful runs per table.
type observer struct {
	syncer.NopObserver
	mu   sync.Mutex
	runs map[string]int
	last map[string]time.Time
}

func (o *observer) RunFinished(r *syncer.Report) {
	if r.Err != nil || r.HandedOff {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.runs[r.Table]++
	if o.last == nil {
		o.last = map[string]time.Time{}
	}
	o.last[r.Table] = time.Now()
}

func (o *observer) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps(o.runs)
}

func (o *observer) ranSince(table string, t time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last[table].After(t)
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ownersBetween runs the replicas for a while and returns, per table, the
// replicas that completed a run of it in that window.
func ownersBetween(reps []*replica, d time.Duration) map[string][]string {
	before := make([]map[string]int, len(reps))
	for i, r := range reps {
		before[i] = r.obs.snapshot()
	}
	time.Sleep(d)
	owners := map[string][]string{}
	for i, r := range reps {
		for table, n := range r.obs.snapshot() {
			if n > before[i][table] {
				owners[table] = append(owners[table], r.name)
			}
		}
	}
	return owners
}

// settle waits until every table has been synced by exactly one replica
// in a window of two seconds, and returns that assignment.
func settle(t *testing.T, reps []*replica, within time.Duration) map[string][]string {
	t.Helper()
	deadline := time.Now().Add(within)
	var owners map[string][]string
	for time.Now().Before(deadline) {
		owners = ownersBetween(reps, 2*time.Second)
		ok := len(owners) == len(tables)
		for _, o := range owners {
			ok = ok && len(o) == 1
		}
		if ok {
			return owners
		}
	}
	t.Fatalf("the tables did not settle on one replica each within %s; last window: %v", within, owners)
	return nil
}

func testSpread(t *testing.T, open handle) {
	w := newWorld(t)
	reps := []*replica{w.start(t, open, "replica-a"), w.start(t, open, "replica-b"), w.start(t, open, "replica-c")}
	owners := settle(t, reps, 4*LeaseTTL)
	share := map[string]int{}
	for _, o := range owners {
		share[o[0]]++
	}
	assert.Equal(t, map[string]int{"replica-a": 2, "replica-b": 2, "replica-c": 2}, share, "each replica syncs a fair share: %v", owners)
	w.checkConsistent(t)
}

// testDifferentTables runs two replicas whose configurations enable
// different, overlapping tables (a rolling change of the configuration):
// every table is synced, by one replica, one that enables it.
func testDifferentTables(t *testing.T, open handle) {
	w := newWorld(t)
	enabled := map[string][]string{
		"replica-a": {"incident", "problem", "change_request", "sc_request"},
		"replica-b": {"change_request", "sc_request", "cmdb_ci", "cmdb_rel_ci"},
	}
	reps := []*replica{w.startWith(t, open, "replica-a", enabled["replica-a"]), w.startWith(t, open, "replica-b", enabled["replica-b"])}
	owners := settle(t, reps, 4*LeaseTTL)
	share := map[string]int{}
	for table, o := range owners {
		assert.Contains(t, enabled[o[0]], table, "%s runs on a replica that enables it: %v", table, owners)
		share[o[0]]++
	}
	assert.Equal(t, map[string]int{"replica-a": 3, "replica-b": 3}, share, "the shared tables even the shares out: %v", owners)
	w.checkConsistent(t)
}

func testTakeover(t *testing.T, open handle) {
	w := newWorld(t)
	reps := []*replica{w.start(t, open, "replica-a"), w.start(t, open, "replica-b"), w.start(t, open, "replica-c")}
	owners := settle(t, reps, 4*LeaseTTL)
	var lost []string
	for table, o := range owners {
		if o[0] == "replica-c" {
			lost = append(lost, table)
		}
	}
	require.NotEmpty(t, lost)
	killed := time.Now()
	reps[2].kill()
	// A new incident arrives while its replica may be the dead one.
	inc, err := w.sn.Insert("incident", map[string]string{"short_description": "after the kill"})
	require.NoError(t, err)
	deadline := killed.Add(3 * LeaseTTL)
	for _, table := range lost {
		for !reps[0].obs.ranSince(table, killed) && !reps[1].obs.ranSince(table, killed) {
			require.True(t, time.Now().Before(deadline), "%s was not taken over within %s", table, 3*LeaseTTL)
			time.Sleep(50 * time.Millisecond)
		}
	}
	took := time.Since(killed)
	t.Logf("takeover of %s after a kill: %s (lease %s)", strings.Join(lost, ", "), took.Round(10*time.Millisecond), LeaseTTL)
	owners = settle(t, reps[:2], 4*LeaseTTL)
	share := map[string]int{}
	for _, o := range owners {
		share[o[0]]++
	}
	assert.Equal(t, map[string]int{"replica-a": 3, "replica-b": 3}, share, "the survivors share the tables: %v", owners)
	w.waitSynced(t, "incidents", inc["sys_id"])
	w.checkConsistent(t)
}

func testGracefulStop(t *testing.T, open handle) {
	w := newWorld(t)
	reps := []*replica{w.start(t, open, "replica-a"), w.start(t, open, "replica-b")}
	owners := settle(t, reps, 4*LeaseTTL)
	var theirs []string
	for table, o := range owners {
		if o[0] == "replica-b" {
			theirs = append(theirs, table)
		}
	}
	stopped := time.Now()
	reps[1].stop()
	for _, table := range theirs {
		for !reps[0].obs.ranSince(table, stopped) {
			require.True(t, time.Now().Before(stopped.Add(LeaseTTL)), "%s was not taken over before the lease would have run out: a graceful stop gives leases back", table)
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("hand-over after a graceful stop: %s", time.Since(stopped).Round(10*time.Millisecond))
	w.checkConsistent(t)
}

func testPause(t *testing.T, open handle) {
	w := newWorld(t)
	reps := []*replica{w.start(t, open, "replica-a"), w.start(t, open, "replica-b"), w.start(t, open, "replica-c")}
	owners := settle(t, reps, 4*LeaseTTL)
	a := reps[0]
	if owners["incident"][0] != "replica-a" {
		// Pause the incident's owner, whoever it is.
		for _, r := range reps {
			if r.name == owners["incident"][0] {
				a = r
			}
		}
	}
	// Freeze the owner of incident at the worst moment: about to commit.
	// Its next store Update blocks and, from then on, so do all its API
	// and store calls (heartbeats too).
	a.store.freezeOnUpdate.Store(true)
	deadline := time.Now().Add(2 * LeaseTTL)
	for !a.store.frozen.Load() {
		require.True(t, time.Now().Before(deadline), "the replica never committed")
		time.Sleep(5 * time.Millisecond)
	}
	paused := time.Now()
	// Edit on both sides while it sleeps.
	edited := w.incidents[:4]
	for i, id := range edited {
		if i%2 == 0 {
			_, err := w.sn.Update("incident", id, map[string]string{"description": fmt.Sprintf("edited in ServiceNow during the pause %d", i)})
			require.NoError(t, err)
		} else {
			rec := w.sfByExt(t, "incidents", id)
			_, err := w.sf.Update("incidents", rec.ID, map[string]any{"description": fmt.Sprintf("edited in StackFlow during the pause %d", i)}, "agent.smith")
			require.NoError(t, err)
		}
	}
	others := []*replica{}
	for _, r := range reps {
		if r != a {
			others = append(others, r)
		}
	}
	for !others[0].obs.ranSince("incident", paused) && !others[1].obs.ranSince("incident", paused) {
		require.True(t, time.Now().Before(paused.Add(3*LeaseTTL)), "incident was not taken over from the paused replica")
		time.Sleep(50 * time.Millisecond)
	}
	// Wait for the edits to land (the new owner syncs them).
	for i, id := range edited {
		want := fmt.Sprintf("edited in ServiceNow during the pause %d", i)
		if i%2 == 1 {
			want = fmt.Sprintf("edited in StackFlow during the pause %d", i)
		}
		w.waitField(t, id, want)
	}
	// Wake it up: its stale run must not write to either side, and the
	// store must refuse every commit under the stale lease.
	staleTokens := a.store.tokensSeen()
	a.store.resetAfter()
	writesBefore := a.http.writes.Load()
	a.store.g.open()
	a.http.open()
	time.Sleep(LeaseTTL)
	stale := 0
	for _, u := range a.store.updatesAfter() {
		if staleTokens[u.lease.Group] != nil && staleTokens[u.lease.Group][u.lease.Token] {
			stale++
			assert.ErrorIs(t, u.err, syncer.ErrFenced, "a commit under the lease held before the pause (%s token %d) must be fenced", u.lease.Group, u.lease.Token)
		}
	}
	assert.NotZero(t, stale, "the commit frozen by the pause went to the store when the replica woke up")
	staleWrites := a.http.writesBeforeLease.Load()
	assert.Zero(t, staleWrites, "the paused replica wrote to an API after waking up before it held a lease again")
	t.Logf("paused replica: %d commits under its old lease, all fenced; %d API writes after waking (all under a new lease); %d commits tried", stale, a.http.writes.Load()-writesBefore, len(a.store.updatesAfter()))
	// The edits survive, nothing is duplicated.
	for i, id := range edited {
		want := fmt.Sprintf("edited in ServiceNow during the pause %d", i)
		if i%2 == 1 {
			want = fmt.Sprintf("edited in StackFlow during the pause %d", i)
		}
		w.waitField(t, id, want)
	}
	w.checkConsistent(t)
}

// sfByExt returns the one StackFlow record of module with external_id id.
func (w *world) sfByExt(t *testing.T, module, id string) stackflowtest.Record {
	t.Helper()
	recs, err := w.sf.Records(module)
	require.NoError(t, err)
	var hits []stackflowtest.Record
	for _, r := range recs {
		if r.ExternalID == id {
			hits = append(hits, r)
		}
	}
	require.Len(t, hits, 1, "StackFlow %s records for %s", module, id)
	return hits[0]
}

// waitSynced waits until the ServiceNow record id has its StackFlow twin.
func (w *world) waitSynced(t *testing.T, module, id string) {
	t.Helper()
	deadline := time.Now().Add(3 * LeaseTTL)
	for {
		recs, err := w.sf.Records(module)
		require.NoError(t, err)
		for _, r := range recs {
			if r.ExternalID == id {
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "%s %s never reached StackFlow", module, id)
		time.Sleep(50 * time.Millisecond)
	}
}

// waitField waits until an incident's description is want on both sides.
func (w *world) waitField(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(4 * LeaseTTL)
	for {
		sn, _ := w.sn.Record("incident", id)
		sf := w.sfByExt(t, "incidents", id)
		if sn["description"] == want && sf.Fields["description"] == want {
			return
		}
		require.True(t, time.Now().Before(deadline), "incident %s: want description %q on both sides, ServiceNow has %q, StackFlow %v", id, want, sn["description"], sf.Fields["description"])
		time.Sleep(50 * time.Millisecond)
	}
}

// checkConsistent checks that every ServiceNow record of every table has
// exactly one StackFlow twin and StackFlow holds nothing else.
func (w *world) checkConsistent(t *testing.T) {
	t.Helper()
	for _, tb := range tables {
		var want []string
		for _, r := range w.sn.Records(tb.table) {
			want = append(want, r["sys_id"])
		}
		sort.Strings(want)
		deadline := time.Now().Add(4 * LeaseTTL)
		for {
			recs, err := w.sf.Records(tb.module)
			require.NoError(t, err)
			var got []string
			for _, r := range recs {
				got = append(got, r.ExternalID)
			}
			sort.Strings(got)
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				assert.Equal(t, want, got, "%s: one StackFlow record per ServiceNow record, no duplicates", tb.table)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// gate blocks calls while closed, fails them once dead, and counts writes.
type gate struct {
	mu       sync.Mutex
	ch       chan struct{} // closed while the gate is open
	dead     atomic.Bool
	writes   atomic.Int64
	leaseSet atomic.Bool // a lease was granted after the gate last opened
	// writesBeforeLease counts writes sent after the gate reopened and
	// before the replica held a lease again.
	writesBeforeLease atomic.Int64
	reopened          atomic.Bool
}

func newGate() *gate {
	g := &gate{ch: make(chan struct{})}
	close(g.ch)
	return g
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.ch:
		g.ch = make(chan struct{})
	default:
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.ch:
	default:
		g.leaseSet.Store(false)
		g.reopened.Store(true)
		close(g.ch)
	}
}

func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	if g.dead.Load() {
		return errors.New("replicatest: this replica is dead")
	}
	return nil
}

type gatedTransport struct {
	g    *gate
	next http.RoundTripper
}

func (t *gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.g.wait(req.Context()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
	default:
		t.g.writes.Add(1)
		if t.g.reopened.Load() && !t.g.leaseSet.Load() {
			t.g.writesBeforeLease.Add(1)
		}
	}
	return t.next.RoundTrip(req)
}

// gatedStore wraps a replica's store handle: calls block while the gate is
// closed and fail once the replica is dead; it remembers the leases it
// granted and the commits tried after resetAfter.
type gatedStore struct {
	inner syncer.Store
	g     *gate
	dead  atomic.Bool
	// http is told when a lease is granted (see gate.leaseSet).
	httpGate *gate

	// freezeOnUpdate: the next Update closes the store and HTTP gates
	// and blocks (frozen tells it happened).
	freezeOnUpdate atomic.Bool
	frozen         atomic.Bool

	mu     sync.Mutex
	tokens map[string]map[int64]bool
	after  []update
}

type update struct {
	lease syncer.Lease
	err   error
}

var errDead = errors.New("replicatest: this replica is dead")

func (s *gatedStore) check(ctx context.Context) error {
	if err := s.g.wait(ctx); err != nil {
		return err
	}
	if s.dead.Load() {
		return errDead
	}
	return nil
}

func (s *gatedStore) tokensSeen() map[string]map[int64]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[int64]bool{}
	for g, m := range s.tokens {
		out[g] = map[int64]bool{}
		for tok := range m {
			out[g][tok] = true
		}
	}
	return out
}

func (s *gatedStore) resetAfter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.after = []update{}
}

func (s *gatedStore) updatesAfter() []update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.after)
}

func (s *gatedStore) AcquireLease(ctx context.Context, group, holder string, ttl time.Duration) (syncer.Lease, error) {
	if err := s.check(ctx); err != nil {
		return syncer.Lease{}, err
	}
	l, err := s.inner.AcquireLease(ctx, group, holder, ttl)
	if err == nil {
		s.mu.Lock()
		if s.tokens == nil {
			s.tokens = map[string]map[int64]bool{}
		}
		if s.tokens[group] == nil {
			s.tokens[group] = map[int64]bool{}
		}
		fresh := !s.tokens[group][l.Token]
		s.tokens[group][l.Token] = true
		s.mu.Unlock()
		if fresh && s.httpGate != nil {
			s.httpGate.leaseSet.Store(true)
		}
	}
	return l, err
}

func (s *gatedStore) ReleaseLease(ctx context.Context, l syncer.Lease) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.inner.ReleaseLease(ctx, l)
}

func (s *gatedStore) View(ctx context.Context, fn func(syncer.ReadTx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.inner.View(ctx, fn)
}

func (s *gatedStore) Update(ctx context.Context, l syncer.Lease, fn func(syncer.Tx) error) error {
	if s.freezeOnUpdate.CompareAndSwap(true, false) {
		s.g.close()
		s.httpGate.close()
		s.frozen.Store(true)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	err := s.inner.Update(ctx, l, fn)
	s.mu.Lock()
	if s.after != nil {
		s.after = append(s.after, update{lease: l, err: err})
	}
	s.mu.Unlock()
	return err
}

func (s *gatedStore) Close() error { return nil }

func (s *gatedStore) Heartbeat(ctx context.Context, holder string, tables []string, ttl time.Duration) ([]syncer.Replica, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.inner.(syncer.Replicas).Heartbeat(ctx, holder, tables, ttl)
}

func (s *gatedStore) Leave(ctx context.Context, holder string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.inner.(syncer.Replicas).Leave(ctx, holder)
}
