package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
)

// writeKind is one kind of state write, with a seed that makes it change
// something and a check that it did not.
type writeKind struct {
	name      string
	seed      func(tx syncer.Tx) error
	write     func(tx syncer.Tx) error
	unchanged func(t *testing.T, tx syncer.ReadTx)
}

var seededPair = &syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_1", SnapSN: map[string]string{"state": "1"}}

func writeKinds() []writeKind {
	return []writeKind{
		{
			name: "PutPair",
			seed: func(tx syncer.Tx) error { return tx.PutPair(seededPair) },
			write: func(tx syncer.Tx) error {
				return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_stale"})
			},
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				p, err := tx.PairBySN("incident", "sn1")
				require.NoError(t, err)
				require.NotNil(t, p)
				assert.Equal(t, "inc_1", p.SFID)
			},
		},
		{
			name:  "DeletePair",
			seed:  func(tx syncer.Tx) error { return tx.PutPair(seededPair) },
			write: func(tx syncer.Tx) error { return tx.DeletePair("incident", "sn1") },
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				p, err := tx.PairBySN("incident", "sn1")
				require.NoError(t, err)
				assert.NotNil(t, p)
			},
		},
		{
			name: "PutStream",
			seed: func(tx syncer.Tx) error {
				return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{ID: "a"}})
			},
			write: func(tx syncer.Tx) error {
				return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{ID: "stale"}})
			},
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				st, err := tx.Stream("incident/sn")
				require.NoError(t, err)
				require.NotNil(t, st)
				assert.Equal(t, "a", st.Cursor.ID)
			},
		},
		{
			name: "PutDLQ",
			seed: func(tx syncer.Tx) error {
				return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "s1", Attempts: 1, NextAttempt: t0})
			},
			write: func(tx syncer.Tx) error {
				return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "s1", Attempts: 9, NextAttempt: t0})
			},
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				e, err := tx.DLQEntry("incident/sn", "s1")
				require.NoError(t, err)
				require.NotNil(t, e)
				assert.Equal(t, 1, e.Attempts)
			},
		},
		{
			name: "DeleteDLQ",
			seed: func(tx syncer.Tx) error {
				return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "s1", NextAttempt: t0})
			},
			write: func(tx syncer.Tx) error { return tx.DeleteDLQ("incident/sn", "s1") },
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				e, err := tx.DLQEntry("incident/sn", "s1")
				require.NoError(t, err)
				assert.NotNil(t, e)
			},
		},
		{
			name: "PutIntent",
			seed: func(tx syncer.Tx) error {
				return tx.PutIntent(&syncer.Intent{Stream: "incident/sf", SourceID: "inc_1", Attempt: 1})
			},
			write: func(tx syncer.Tx) error {
				return tx.PutIntent(&syncer.Intent{Stream: "incident/sf", SourceID: "inc_1", Attempt: 7})
			},
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				i, err := tx.Intent("incident/sf", "inc_1")
				require.NoError(t, err)
				require.NotNil(t, i)
				assert.Equal(t, 1, i.Attempt)
			},
		},
		{
			name: "DeleteIntent",
			seed: func(tx syncer.Tx) error {
				return tx.PutIntent(&syncer.Intent{Stream: "incident/sf", SourceID: "inc_1"})
			},
			write: func(tx syncer.Tx) error { return tx.DeleteIntent("incident/sf", "inc_1") },
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				i, err := tx.Intent("incident/sf", "inc_1")
				require.NoError(t, err)
				assert.NotNil(t, i)
			},
		},
		{
			name:  "AddConflict",
			seed:  func(tx syncer.Tx) error { return tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "seed"}) },
			write: func(tx syncer.Tx) error { return tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "stale"}) },
			unchanged: func(t *testing.T, tx syncer.ReadTx) {
				c, err := tx.Conflicts("incident", 0)
				require.NoError(t, err)
				require.Len(t, c, 1)
				assert.Equal(t, "seed", c[0].Key)
			},
		},
	}
}

// TestTakenLeaseCommitsNothing: replica A's lease expired and was taken,
// by another replica or by A itself after a restart (same holder name, so
// only the token tells the leases apart); whatever the old lease writes,
// nothing lands. Update's first check stops it before fn runs; with that
// check left out, every write statement fences itself.
func TestTakenLeaseCommitsNothing(t *testing.T) {
	db := testDB(t)
	for i, w := range writeKinds() {
		taker := []string{"replica-b", "replica-a"}[i%2]
		t.Run(w.name+" after "+taker+" took the lease", func(t *testing.T) {
			s := openStore(t, db, WithSchema(newSchema()))
			ctx := context.Background()
			a := mustLease(t, s, "incident", "replica-a", 200*time.Millisecond)
			mustUpdate(t, s, a, w.seed)
			waitDBPast(t, s, a.Expires)
			b := mustLease(t, s, "incident", taker, time.Minute)
			require.Greater(t, b.Token, a.Token)

			called := false
			err := s.Update(ctx, a, func(tx syncer.Tx) error { called = true; return w.write(tx) })
			require.ErrorIs(t, err, syncer.ErrFenced)
			assert.False(t, called, "the lease check comes before fn")

			s.skipLeaseLock = true
			var writeErr error
			err = s.Update(ctx, a, func(tx syncer.Tx) error {
				writeErr = w.write(tx)
				if writeErr == nil { // PutPair batches: the next call writes the batch
					_, writeErr = tx.Stream("incident/sn")
				}
				return nil // fn ignores the error: Update must not
			})
			s.skipLeaseLock = false
			require.ErrorIs(t, writeErr, syncer.ErrFenced, "the statement itself checks the fencing token")
			require.ErrorIs(t, err, syncer.ErrFenced)

			mustView(t, s, func(tx syncer.ReadTx) error { w.unchanged(t, tx); return nil })
			mustUpdate(t, s, b, w.write) // the new holder writes
		})
	}
}

// TestLeaseExpiringMidUpdate: a lease that expires while fn runs fences
// the next write, and the Update commits none of its writes.
func TestLeaseExpiringMidUpdate(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	a := mustLease(t, s, "incident", "replica-a", 300*time.Millisecond)
	var late error
	err := s.Update(context.Background(), a, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_1"}))
		n, err := tx.CountPairs("incident")
		require.NoError(t, err, "the batch is written while the lease is live")
		require.Equal(t, 1, n)
		waitDBPast(t, s, a.Expires)
		require.NoError(t, tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn2", SFID: "inc_2"}), "batched")
		late = tx.PutIntent(&syncer.Intent{Stream: "incident/sn", SourceID: "sn3"})
		return nil
	})
	require.ErrorIs(t, late, syncer.ErrFenced)
	require.ErrorIs(t, err, syncer.ErrFenced)
	mustView(t, s, func(tx syncer.ReadTx) error {
		n, err := tx.CountPairs("incident")
		require.NoError(t, err)
		assert.Zero(t, n, "not even the write made while the lease was live")
		return nil
	})
}

// TestTakeoverWaitsForUpdateInFlight: Update holds the lease row, so a
// replica taking over an expired lease waits for the Update's commit and
// then sees its writes; it never runs alongside it.
func TestTakeoverWaitsForUpdateInFlight(t *testing.T) {
	db := testDB(t)
	s := openStore(t, db, WithSchema(newSchema()))
	admin := adminPool(t, db)
	ctx := context.Background()
	a := mustLease(t, s, "incident", "replica-a", 300*time.Millisecond)

	written, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(ctx, a, func(tx syncer.Tx) error {
			if err := tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{ID: "written-by-a"}}); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	<-written
	waitDBPast(t, s, a.Expires)

	type result struct {
		l   syncer.Lease
		err error
	}
	takeover := make(chan result, 1)
	go func() {
		l, err := s.AcquireLease(ctx, "incident", "replica-b", time.Minute)
		takeover <- result{l, err}
	}()
	waitUntil(t, "the takeover waits on the lease row", func() bool { return lockWaiters(t, admin) == 1 })
	select {
	case r := <-takeover:
		t.Fatalf("the takeover did not wait for the Update: %+v", r)
	default:
	}
	releaseOnce.Do(func() { close(release) })
	require.NoError(t, <-updated, "A wrote while its lease was live, and nobody could take it before the commit")
	r := <-takeover
	require.NoError(t, r.err)
	assert.Equal(t, a.Token+1, r.l.Token)
	mustView(t, s, func(tx syncer.ReadTx) error {
		st, err := tx.Stream("incident/sn")
		require.NoError(t, err)
		require.NotNil(t, st)
		assert.Equal(t, "written-by-a", st.Cursor.ID, "B starts from A's committed state")
		return nil
	})
	require.ErrorIs(t, s.Update(ctx, a, func(syncer.Tx) error { return nil }), syncer.ErrFenced)
}

// TestConcurrentUpdatesAcrossPools: one lease used from several goroutines
// through two stores (two pools, as two processes of one holder would):
// Updates of one group are serialisable, so no increment is lost.
func TestConcurrentUpdatesAcrossPools(t *testing.T) {
	db := testDB(t)
	schema := newSchema()
	stores := []*Store{openStore(t, db, WithSchema(schema)), openStore(t, db, WithSchema(schema))}
	l := mustLease(t, stores[0], "incident", "replica-a", time.Minute)
	const workers, rounds = 6, 15
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := range rounds {
				err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
					st, err := tx.Stream("incident/sn")
					if err != nil {
						return err
					}
					if st == nil {
						st = &syncer.StreamState{ID: "incident/sn"}
					}
					if st.Missing == nil {
						st.Missing = map[string]int{}
					}
					st.Missing["n"]++
					st.Missing[fmt.Sprintf("w%d", w)]++
					if err := tx.PutStream(st); err != nil {
						return err
					}
					return tx.PutPair(&syncer.Pair{Table: "incident", SNID: fmt.Sprintf("w%d-%d", w, i), SFID: fmt.Sprintf("sf-w%d-%d", w, i)})
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	mustView(t, stores[1], func(tx syncer.ReadTx) error {
		st, err := tx.Stream("incident/sn")
		require.NoError(t, err)
		require.NotNil(t, st)
		assert.Equal(t, workers*rounds, st.Missing["n"], "no lost increment")
		for w := range workers {
			assert.Equal(t, rounds, st.Missing[fmt.Sprintf("w%d", w)])
		}
		n, err := tx.CountPairs("incident")
		require.NoError(t, err)
		assert.Equal(t, workers*rounds, n)
		return nil
	})
}

// TestIgnoredStatementErrorRollsBack: two groups' Updates race to pair the
// same StackFlow id (a misconfiguration: two groups writing one table).
// The loser's insert waits on the winner's uncommitted row, then hits the
// unique index; PostgreSQL aborts its transaction, and Update returns
// ErrDuplicatePair and commits none of its writes even though fn ignored
// the error.
func TestIgnoredStatementErrorRollsBack(t *testing.T) {
	db := testDB(t)
	s := openStore(t, db, WithSchema(newSchema()))
	admin := adminPool(t, db)
	ctx := context.Background()
	g1 := mustLease(t, s, "g1", "replica-a", time.Minute)
	g2 := mustLease(t, s, "g2", "replica-a", time.Minute)

	inserted, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, g1, func(tx syncer.Tx) error {
			if err := tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_x"}); err != nil {
				return err
			}
			if _, err := tx.CountPairs("incident"); err != nil { // writes the batch
				return err
			}
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted
	var putErr error
	second := make(chan error, 1)
	go func() {
		second <- s.Update(ctx, g2, func(tx syncer.Tx) error {
			if err := tx.PutStream(&syncer.StreamState{ID: "g2/sn", Cursor: syncer.Cursor{ID: "moved"}}); err != nil {
				return err
			}
			putErr = tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn2", SFID: "inc_x"})
			if putErr == nil {
				_, putErr = tx.PairBySN("incident", "sn2") // writes the batch
			}
			return nil
		})
	}()
	waitUntil(t, "the second insert waits on the first's row", func() bool { return lockWaiters(t, admin) == 1 })
	releaseOnce.Do(func() { close(release) })
	require.NoError(t, <-first)
	err := <-second
	require.ErrorIs(t, putErr, syncer.ErrDuplicatePair)
	require.ErrorIs(t, err, syncer.ErrDuplicatePair)
	mustView(t, s, func(tx syncer.ReadTx) error {
		p, err := tx.PairBySF("incident", "inc_x")
		require.NoError(t, err)
		require.NotNil(t, p)
		assert.Equal(t, "sn1", p.SNID)
		st, err := tx.Stream("g2/sn")
		require.NoError(t, err)
		assert.Nil(t, st, "the loser's earlier write rolled back with it")
		return nil
	})
}

func TestUpdateRollsBackOnPanicAndCancel(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)

	assert.PanicsWithValue(t, "boom", func() {
		_ = s.Update(context.Background(), l, func(tx syncer.Tx) error {
			require.NoError(t, tx.PutStream(&syncer.StreamState{ID: "incident/sn"}))
			panic("boom")
		})
	})

	ctx, cancel := context.WithCancel(context.Background())
	err := s.Update(ctx, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1"}))
		cancel()
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn2"})
	})
	require.ErrorIs(t, err, context.Canceled)

	mustView(t, s, func(tx syncer.ReadTx) error {
		st, err := tx.Stream("incident/sn")
		require.NoError(t, err)
		assert.Nil(t, st, "a panicking fn commits nothing")
		n, err := tx.CountPairs("incident")
		require.NoError(t, err)
		assert.Zero(t, n, "a cancelled Update commits nothing")
		return nil
	})
	mustUpdate(t, s, l, func(tx syncer.Tx) error { return tx.PutStream(&syncer.StreamState{ID: "incident/sn"}) })
}

func TestFnErrorWins(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	boom := errors.New("boom")
	err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutStream(&syncer.StreamState{ID: "incident/sn"}))
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, boom, err, "fn's error comes back as it is")
}
