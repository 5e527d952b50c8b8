package pgstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/internal/pgtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

var schemaSeq atomic.Int64

// newSchema returns a schema name no other store of this test binary uses.
func newSchema() string { return fmt.Sprintf("t%d", schemaSeq.Add(1)) }

// openStore opens a store on connString and closes it when the test ends.
func openStore(t testing.TB, connString string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), connString, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testDB returns a connection string to a fresh database.
func testDB(t testing.TB) string {
	t.Helper()
	return pgtest.Database(t)
}

// adminPool is a pool on the test database for checks behind the store's back.
func adminPool(t testing.TB, connString string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), connString)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func mustLease(t testing.TB, s syncer.Store, group, holder string, ttl time.Duration) syncer.Lease {
	t.Helper()
	l, err := s.AcquireLease(context.Background(), group, holder, ttl)
	require.NoError(t, err)
	return l
}

func mustUpdate(t testing.TB, s syncer.Store, l syncer.Lease, fn func(syncer.Tx) error) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), l, fn))
}

func mustView(t testing.TB, s syncer.Store, fn func(syncer.ReadTx) error) {
	t.Helper()
	require.NoError(t, s.View(context.Background(), fn))
}

// dbNow reads the database clock.
func dbNow(t testing.TB, s *Store) time.Time {
	t.Helper()
	var now time.Time
	require.NoError(t, s.pool.QueryRow(context.Background(), "SELECT clock_timestamp()").Scan(&now))
	return now.UTC()
}

// waitDBPast waits until the database clock is past ts.
func waitDBPast(t testing.TB, s *Store, ts time.Time) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !dbNow(t, s).After(ts) {
		select {
		case <-deadline.C:
			t.Fatalf("the database clock did not pass %s", ts)
		case <-tick.C:
		}
	}
}

// waitUntil polls cond until it holds (a state the test waits for, not a
// timing assertion).
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting until %s", what)
		case <-tick.C:
		}
	}
}

// lockWaiters counts the sessions of the database blocked on a lock.
func lockWaiters(t testing.TB, admin *pgxpool.Pool) int {
	t.Helper()
	var n int
	require.NoError(t, admin.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n))
	return n
}
