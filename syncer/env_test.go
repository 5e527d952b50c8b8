package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a syncer between a fake ServiceNow and a fake StackFlow that share
// one manual clock.
type env struct {
	t     testing.TB
	clock *testserver.ManualClock
	sn    *servicenowtest.Server
	sf    *stackflowtest.Server
	snc   *servicenow.Client
	sfc   *stackflow.Client
	store syncer.Store
	cfg   syncer.Config
	s     *syncer.Syncer
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, mod func(*syncer.Config)) *env { return newEnvTB(t, mod) }

func newEnvTB(t testing.TB, mod func(*syncer.Config)) *env {
	t.Helper()
	clock := testserver.NewManualClock(start)
	e := &env{t: t, clock: clock}
	e.sn = servicenowtest.NewServer(t, servicenowtest.WithClock(clock))
	e.sf = stackflowtest.NewServer(t, stackflowtest.WithClock(clock))
	retry := servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond})
	var err error
	e.snc, err = servicenow.NewClient(e.sn.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword), servicenow.WithHTTPClient(e.sn.Client()), retry)
	require.NoError(t, err)
	e.sfc, err = stackflow.NewClient(e.sf.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken), stackflow.WithHTTPClient(e.sf.Client()),
		stackflow.WithRetry(stackflow.RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}))
	require.NoError(t, err)
	e.store = syncer.NewMemStore()
	e.cfg = syncer.Config{ServiceNow: e.snc, StackFlow: e.sfc, Store: e.store, Now: clock.Now, ReplicaID: "test"}
	if mod != nil {
		mod(&e.cfg)
	}
	e.restart()
	return e
}

// restart builds a new Syncer on the same store (a process restart).
func (e *env) restart() {
	e.t.Helper()
	s, err := syncer.New(e.cfg)
	require.NoError(e.t, err)
	e.s = s
}

// tick moves both servers' clock past the safety lag.
func (e *env) tick() { e.clock.Advance(time.Minute) }

func (e *env) sync(table string) *syncer.Report {
	e.t.Helper()
	e.tick()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := e.s.SyncOnce(ctx, table)
	require.NoError(e.t, err, "sync %s", table)
	return rep
}
