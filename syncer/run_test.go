package syncer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/syncer"
)

// recorder is an Observer that keeps what it sees.
type recorder struct {
	mu       sync.Mutex
	started  []string
	finished []*syncer.Report
	progress map[string]int
	events   map[syncer.Outcome]int
}

func (r *recorder) RunStarted(table string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, table)
}

func (r *recorder) Progress(stream string, done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.progress == nil {
		r.progress = map[string]int{}
	}
	r.progress[stream] = done
}

func (r *recorder) Record(ev syncer.RecordEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = map[syncer.Outcome]int{}
	}
	r.events[ev.Outcome]++
}

func (r *recorder) RunFinished(rep *syncer.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = append(r.finished, rep)
}

func (r *recorder) finishedTables() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, rep := range r.finished {
		out[rep.Table]++
	}
	return out
}

func TestRunSchedulesTriggersAndStopsCleanly(t *testing.T) {
	obs := &recorder{}
	e := newEnv(t, func(c *syncer.Config) { c.Observer = obs })
	for i := range 3 {
		_, err := e.sn.Insert("incident", map[string]string{"short_description": fmt.Sprintf("inc %d", i)})
		require.NoError(t, err)
	}
	_, err := e.sn.Seed("cmdb_ci_linux_server", map[string]any{"name": "lnx-1"})
	require.NoError(t, err)
	e.tick()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()

	// Every table runs once at start.
	require.Eventually(t, func() bool { return len(obs.finishedTables()) == 6 }, 10*time.Second, 5*time.Millisecond)
	n, _ := e.sf.Count("incidents", false)
	assert.Equal(t, 3, n)
	n, _ = e.sf.Count("cmdb_cis", false)
	assert.Equal(t, 1, n)

	// A manual trigger runs a table at once (the guide's sync-cmdb).
	before := obs.finishedTables()["cmdb_ci"]
	_, err = e.sn.Seed("cmdb_ci_linux_server", map[string]any{"name": "lnx-2"})
	require.NoError(t, err)
	e.tick()
	require.NoError(t, e.s.Trigger("cmdb_ci"))
	require.Eventually(t, func() bool { return obs.finishedTables()["cmdb_ci"] > before }, 10*time.Second, 5*time.Millisecond)
	n, _ = e.sf.Count("cmdb_cis", false)
	assert.Equal(t, 2, n)
	require.Error(t, e.s.Trigger("u_nope"))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "a graceful stop returns nil")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	// The leases were given back: another replica can take every table at once.
	for _, table := range e.s.Tables() {
		l, err := e.store.AcquireLease(context.Background(), table, "another-replica", time.Minute)
		require.NoError(t, err, table)
		require.NoError(t, e.store.ReleaseLease(context.Background(), l))
	}
	assert.Positive(t, obs.events[syncer.OutcomeCreated])
}

func TestSameSecondBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("12,000 records: run without -short")
	}
	e := newEnv(t, func(c *syncer.Config) {
		c.Tables = []syncer.TableConfig{{Table: "cmdb_ci", Enabled: true}}
	})
	rows := make([]map[string]any, 12000)
	for i := range rows {
		rows[i] = map[string]any{"name": fmt.Sprintf("ci-%05d", i), "sys_updated_on": "2026-03-02 08:59:59"}
	}
	_, err := e.sn.Seed("cmdb_ci_linux_server", rows...)
	require.NoError(t, err)
	rep := e.sync("cmdb_ci")
	assert.Equal(t, 12000, rep.ToStackFlow.Fetched, "every record read, none twice: %s", rep)
	assert.Equal(t, 12000, rep.ToStackFlow.Created)
	n, _ := e.sf.Count("cmdb_cis", false)
	assert.Equal(t, 12000, n)
	rep = e.sync("cmdb_ci")
	assert.Zero(t, writes(rep), "the overlap re-read finds nothing new: %s", rep)
	e.clock.Advance(15 * time.Minute) // past the overlap window of the last sweep
	e.sync("cmdb_ci")
	rep = e.sync("cmdb_ci")
	assert.Zero(t, writes(rep), rep.String())
	assert.Equal(t, int64(1), rep.CallsServiceNow, "an idle cycle is one request")
	assert.Zero(t, rep.CallsStackFlow, "and none to StackFlow for a one-way table")
}

func TestASecondRunOfATableIsRefusedWithErrBusy(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.sn.Insert("incident", map[string]string{"short_description": "Mail down"})
	require.NoError(t, err)
	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	syncer.SetCrashHook(e.s, func(point string) error {
		if point == "before-commit" {
			once.Do(func() { close(inside); <-release })
		}
		return nil
	})
	e.tick()
	done := make(chan error, 1)
	go func() {
		_, err := e.s.SyncOnce(context.Background(), "incident")
		done <- err
	}()
	<-inside
	_, err = e.s.SyncOnce(context.Background(), "incident")
	require.ErrorIs(t, err, syncer.ErrBusy)
	close(release)
	require.NoError(t, <-done)
}

func TestReplicasSplitTheServiceNowBudgetByTheirShareOfTables(t *testing.T) {
	e := newEnv(t, func(c *syncer.Config) { c.LeaseTTL = 5 * time.Second })
	budget := func() *syncer.RateBudget {
		return &syncer.RateBudget{Limiter: rate.NewLimiter(1, 1), Rate: 12}
	}
	start := func(id string, b *syncer.RateBudget) (stop func()) {
		cfg := e.cfg
		cfg.ReplicaID, cfg.ServiceNowBudget = id, b
		s, err := syncer.New(cfg)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = s.Run(ctx)
		}()
		return func() { cancel(); <-done }
	}
	a, b := budget(), budget()
	stopA := start("replica-a", a)
	stopB := start("replica-b", b)
	// Six tables, three each: half the budget each.
	require.Eventually(t, func() bool { return a.Limiter.Limit() == 6 && b.Limiter.Limit() == 6 }, 10*time.Second, 10*time.Millisecond,
		"a %v, b %v", a.Limiter.Limit(), b.Limiter.Limit())
	stopB()
	assert.Equal(t, rate.Limit(12), b.Limiter.Limit(), "a stopped replica's limiter gets the whole budget back")
	require.Eventually(t, func() bool { return a.Limiter.Limit() == 12 }, 10*time.Second, 10*time.Millisecond, "alone, all of it")
	stopA()

	_, err := syncer.New(syncer.Config{ServiceNow: e.snc, StackFlow: e.sfc, Store: e.store, ServiceNowBudget: &syncer.RateBudget{Rate: 10}})
	require.ErrorContains(t, err, "ServiceNowBudget: needs the ServiceNow client's limiter")
}
