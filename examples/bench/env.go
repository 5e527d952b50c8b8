package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
)

// benchStart is where the manual clock of sections 3 and 4 starts.
var benchStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// notDue is an interval that no measured cycle reaches: the delete scan,
// deep re-read and reconciliation are maintenance with costs of their own,
// measured apart.
const notDue = 10_000 * time.Hour

// syncEnv is a syncer between in-process fakes, with a bbolt store in a
// temporary directory.
type syncEnv struct {
	clock *servicenowtest.ManualClock // nil: the fakes follow the wall clock
	sn    *servicenowtest.Server
	sf    *stackflowtest.Server
	store *boltstore.Store
	s     *syncer.Syncer
	cfg   syncer.Config
	dir   string
}

// envOptions shape a syncEnv.
type envOptions struct {
	manualClock bool
	tables      []syncer.TableConfig
	pageSize    int
	snLimiter   *rate.Limiter
}

// newSyncEnv starts the fakes and builds the syncer. Close it.
func newSyncEnv(o envOptions) (_ *syncEnv, err error) {
	e := &syncEnv{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	var clock servicenowtest.Clock = wallClock{}
	now := time.Now
	if o.manualClock {
		e.clock = servicenowtest.NewManualClock(benchStart)
		clock, now = e.clock, e.clock.Now
	}
	if e.sn, err = servicenowtest.Start(servicenowtest.WithClock(clock), servicenowtest.WithSeed(1)); err != nil {
		return nil, err
	}
	// The fake StackFlow's default limit (100,000 requests a minute) would
	// throttle a 100,000-record bidirectional load on a clock that stands still.
	if e.sf, err = stackflowtest.Start(stackflowtest.WithClock(clock), stackflowtest.WithRateLimit(1<<30, time.Minute)); err != nil {
		return nil, err
	}
	snOpts := []servicenow.Option{
		servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword),
		servicenow.WithHTTPClient(e.sn.Client()),
	}
	if o.snLimiter != nil {
		snOpts = append(snOpts, servicenow.WithRateLimiter(o.snLimiter))
	}
	snc, err := servicenow.NewClient(e.sn.URL(), snOpts...)
	if err != nil {
		return nil, err
	}
	sfc, err := stackflow.NewClient(e.sf.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken), stackflow.WithHTTPClient(e.sf.Client()))
	if err != nil {
		return nil, err
	}
	if e.dir, err = os.MkdirTemp("", "snowsync-bench-"); err != nil {
		return nil, err
	}
	if e.store, err = boltstore.Open(filepath.Join(e.dir, "state.db")); err != nil {
		return nil, err
	}
	tables := make([]syncer.TableConfig, len(o.tables))
	for i, t := range o.tables {
		t.ReconcileInterval = notDue
		tables[i] = t
	}
	e.cfg = syncer.Config{
		ServiceNow: snc, StackFlow: sfc, Store: e.store, Tables: tables, Now: now, ReplicaID: "bench",
		PageSize: o.pageSize, DeleteScanInterval: notDue, DeepRereadInterval: notDue,
	}
	if e.s, err = syncer.New(e.cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// close stops everything and removes the store.
func (e *syncEnv) close() {
	if e.store != nil {
		_ = e.store.Close()
	}
	if e.sn != nil {
		e.sn.Close()
	}
	if e.sf != nil {
		e.sf.Close()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// quietStep moves the clock past the overlap and the safety lag, so the
// next sweep re-reads nothing the previous one read.
const quietStep = syncer.DefaultOverlap + syncer.DefaultSafetyLag + time.Minute

// advance moves the shared manual clock.
func (e *syncEnv) advance(d time.Duration) {
	if e.clock != nil {
		e.clock.Advance(d)
	}
}

// syncOnce runs one cycle of table and fails on any error or per-record
// problem.
func (e *syncEnv) syncOnce(ctx context.Context, table string) (*syncer.Report, error) {
	rep, err := e.s.SyncOnce(ctx, table)
	if err != nil {
		return rep, fmt.Errorf("sync %s: %w", table, err)
	}
	if len(rep.Errors) > 0 {
		return rep, fmt.Errorf("sync %s: %d records failed, first: %s", table, len(rep.Errors), rep.Errors[0])
	}
	return rep, nil
}

// sfIDs maps the ServiceNow sys_id of every record of a StackFlow module to
// the StackFlow id.
func (e *syncEnv) sfIDs(module string) (map[string]string, error) {
	recs, err := e.sf.Records(module)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]string, len(recs))
	for _, r := range recs {
		ids[r.ExternalID] = r.ID
	}
	return ids, nil
}
