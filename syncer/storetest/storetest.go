// Package storetest is the conformance suite every syncer.Store must pass:
// leases and fencing, transactional all-or-nothing updates, pair
// uniqueness on both ids, the dead-letter queue's order, intents, the
// conflict log and durability across a reopen.
//
// A store package runs it from its tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Factory{
//			Open: func(t *testing.T) syncer.Store { return openTempStore(t) },
//		})
//	}
package storetest

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

// Factory opens stores for the suite.
type Factory struct {
	// Open returns a new, empty store; the suite closes it.
	Open func(t *testing.T) syncer.Store
	// Reopen closes s and opens the same durable state again. Nil skips the
	// durability check (in-memory stores).
	Reopen func(t *testing.T, s syncer.Store) syncer.Store
}

// ms truncates to milliseconds: stores must keep times at least that precise.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, f Factory) {
	t.Run("leases", func(t *testing.T) { testLeases(t, f) })
	t.Run("fencing", func(t *testing.T) { testFencing(t, f) })
	t.Run("all or nothing", func(t *testing.T) { testAtomic(t, f) })
	t.Run("pairs", func(t *testing.T) { testPairs(t, f) })
	t.Run("pair uniqueness", func(t *testing.T) { testPairUniqueness(t, f) })
	t.Run("StackFlow ids in bulk", func(t *testing.T) { testSFIDReader(t, f) })
	t.Run("streams", func(t *testing.T) { testStreams(t, f) })
	t.Run("dead-letter queue", func(t *testing.T) { testDLQ(t, f) })
	t.Run("intents", func(t *testing.T) { testIntents(t, f) })
	t.Run("conflicts", func(t *testing.T) { testConflicts(t, f) })
	t.Run("read your writes", func(t *testing.T) { testReadYourWrites(t, f) })
	t.Run("concurrent updates", func(t *testing.T) { testConcurrent(t, f) })
	if f.Reopen != nil {
		t.Run("durable", func(t *testing.T) { testDurable(t, f) })
	}
}

func open(t *testing.T, f Factory) syncer.Store {
	t.Helper()
	s := f.Open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func lease(t *testing.T, s syncer.Store, group string) syncer.Lease {
	t.Helper()
	l, err := s.AcquireLease(context.Background(), group, "suite", time.Minute)
	require.NoError(t, err)
	return l
}

func update(t *testing.T, s syncer.Store, l syncer.Lease, fn func(syncer.Tx) error) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), l, fn))
}

func view(t *testing.T, s syncer.Store, fn func(syncer.ReadTx) error) {
	t.Helper()
	require.NoError(t, s.View(context.Background(), fn))
}

func testLeases(t *testing.T, f Factory) {
	s := open(t, f)
	ctx := context.Background()
	a, err := s.AcquireLease(ctx, "incident", "replica-a", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "incident", a.Group)
	assert.Equal(t, "replica-a", a.Holder)
	assert.Positive(t, a.Token)
	assert.True(t, a.Expires.After(time.Now().Add(30*time.Second)), "expiry is about ttl ahead")

	_, err = s.AcquireLease(ctx, "incident", "replica-b", time.Minute)
	require.ErrorIs(t, err, syncer.ErrLeaseHeld, "another holder cannot take a live lease")

	renewed, err := s.AcquireLease(ctx, "incident", "replica-a", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, a.Token, renewed.Token, "a renewal keeps the token")

	other, err := s.AcquireLease(ctx, "problem", "replica-b", time.Minute)
	require.NoError(t, err, "groups are independent")
	assert.Equal(t, "problem", other.Group)

	require.NoError(t, s.ReleaseLease(ctx, renewed))
	b, err := s.AcquireLease(ctx, "incident", "replica-b", time.Minute)
	require.NoError(t, err, "a released lease is free at once")
	assert.Greater(t, b.Token, a.Token, "a new holder gets a higher token")
	require.NoError(t, s.ReleaseLease(ctx, a), "releasing a lease that moved on is harmless")
	_, err = s.AcquireLease(ctx, "incident", "replica-a", time.Minute)
	require.ErrorIs(t, err, syncer.ErrLeaseHeld, "the stale release did not free b's lease")

	short, err := s.AcquireLease(ctx, "change_request", "replica-a", 50*time.Millisecond)
	require.NoError(t, err)
	waitPast(short.Expires)
	c, err := s.AcquireLease(ctx, "change_request", "replica-c", time.Minute)
	require.NoError(t, err, "an expired lease can be taken")
	assert.Greater(t, c.Token, short.Token)
}

// waitPast waits until the store's expiry has surely passed (stores may use
// their own clock, such as the database's, so leave a margin).
func waitPast(t time.Time) {
	time.Sleep(time.Until(t) + 150*time.Millisecond)
}

func testFencing(t *testing.T, f Factory) {
	s := open(t, f)
	ctx := context.Background()
	a, err := s.AcquireLease(ctx, "incident", "replica-a", 50*time.Millisecond)
	require.NoError(t, err)
	update(t, s, a, func(tx syncer.Tx) error {
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: t0, ID: "a"}})
	})
	waitPast(a.Expires)
	err = s.Update(ctx, a, func(tx syncer.Tx) error {
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: t0, ID: "expired"}})
	})
	require.ErrorIs(t, err, syncer.ErrFenced, "an expired lease writes nothing")

	b, err := s.AcquireLease(ctx, "incident", "replica-b", time.Minute)
	require.NoError(t, err)
	err = s.Update(ctx, a, func(tx syncer.Tx) error {
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: t0, ID: "stale"}})
	})
	require.ErrorIs(t, err, syncer.ErrFenced, "the paused holder's stale token commits nothing")
	forged := a
	forged.Expires = time.Now().Add(time.Hour)
	err = s.Update(ctx, forged, func(tx syncer.Tx) error { return tx.DeletePair("incident", "x") })
	require.ErrorIs(t, err, syncer.ErrFenced, "the store checks its own record, not the caller's expiry")
	update(t, s, b, func(tx syncer.Tx) error {
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: t0, ID: "b"}})
	})
	view(t, s, func(tx syncer.ReadTx) error {
		st, err := tx.Stream("incident/sn")
		require.NoError(t, err)
		assert.Equal(t, "b", st.Cursor.ID)
		return nil
	})
	require.NoError(t, s.ReleaseLease(ctx, b))
	err = s.Update(ctx, b, func(tx syncer.Tx) error { return nil })
	require.ErrorIs(t, err, syncer.ErrFenced, "a released lease writes nothing")
}

func testAtomic(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	boom := errors.New("boom")
	err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutStream(&syncer.StreamState{ID: "incident/sn"}))
		require.NoError(t, tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "sf1"}))
		require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "sn2", NextAttempt: t0}))
		require.NoError(t, tx.PutIntent(&syncer.Intent{Stream: "incident/sn", SourceID: "sn3"}))
		require.NoError(t, tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "state"}))
		return boom
	})
	require.ErrorIs(t, err, boom)
	view(t, s, func(tx syncer.ReadTx) error {
		st, _ := tx.Stream("incident/sn")
		assert.Nil(t, st)
		p, _ := tx.PairBySN("incident", "sn1")
		assert.Nil(t, p)
		p, _ = tx.PairBySF("incident", "sf1")
		assert.Nil(t, p)
		e, _ := tx.DLQEntry("incident/sn", "sn2")
		assert.Nil(t, e)
		i, _ := tx.Intent("incident/sn", "sn3")
		assert.Nil(t, i)
		c, _ := tx.Conflicts("incident", 10)
		assert.Empty(t, c)
		return nil
	})
}

// testSFIDReader checks SFIDsBySN, for stores whose ReadTx has it, against
// PairBySN: the resolver uses either.
func testSFIDReader(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	update(t, s, l, func(tx syncer.Tx) error {
		for i := range 5 {
			p := samplePair(i)
			if i == 3 {
				p.SFID = "" // not created in StackFlow yet
			}
			if err := tx.PutPair(p); err != nil {
				return err
			}
		}
		r, ok := tx.(syncer.SFIDReader)
		if !ok {
			return nil
		}
		// Inside the Update, the puts are visible.
		got, err := r.SFIDsBySN("incident", []string{"sn000", "sn004"})
		assert.Equal(t, map[string]string{"sn000": "inc_000", "sn004": "inc_004"}, got)
		return err
	})
	view(t, s, func(tx syncer.ReadTx) error {
		r, ok := tx.(syncer.SFIDReader)
		if !ok {
			t.Log("the store's ReadTx does not implement syncer.SFIDReader (optional): nothing to check")
			return nil
		}
		got, err := r.SFIDsBySN("incident", []string{"sn001", "sn002", "sn003", "sn999"})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"sn001": "inc_001", "sn002": "inc_002"}, got, "no pair and no StackFlow id yet are both left out")
		got, err = r.SFIDsBySN("problem", []string{"sn001"})
		require.NoError(t, err)
		assert.Empty(t, got, "per table")
		got, err = r.SFIDsBySN("incident", nil)
		require.NoError(t, err)
		assert.Empty(t, got)
		return nil
	})
}

func samplePair(i int) *syncer.Pair {
	return &syncer.Pair{
		Table:       "incident",
		SNID:        fmt.Sprintf("sn%03d", i),
		SFID:        fmt.Sprintf("inc_%03d", i),
		SnapSN:      map[string]string{"state": "2", "title": "VPN down", "empty": ""},
		SnapSF:      map[string]string{"state": "in_progress", "title": "VPN down"},
		VerSN:       int64(i),
		VerSF:       int64(i + 1),
		UpdatedSN:   ms(t0.Add(time.Duration(i) * time.Second)),
		UpdatedSF:   ms(t0.Add(time.Duration(i)*time.Second + 123*time.Millisecond)),
		Origin:      "servicenow",
		FirstSynced: ms(t0),
		LastSynced:  ms(t0.Add(time.Minute)),
		Writes:      []time.Time{ms(t0), ms(t0.Add(time.Second))},
	}
}

func testPairs(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	update(t, s, l, func(tx syncer.Tx) error {
		for i := 3; i >= 1; i-- {
			require.NoError(t, tx.PutPair(samplePair(i)))
		}
		other := samplePair(9)
		other.Table = "problem"
		return tx.PutPair(other)
	})
	view(t, s, func(tx syncer.ReadTx) error {
		p, err := tx.PairBySN("incident", "sn002")
		require.NoError(t, err)
		require.NotNil(t, p)
		assert.Equal(t, samplePair(2), p, "every field round-trips")
		q, err := tx.PairBySF("incident", "inc_002")
		require.NoError(t, err)
		assert.Equal(t, p, q)
		none, err := tx.PairBySN("problem", "sn002")
		require.NoError(t, err)
		assert.Nil(t, none, "pairs are per table")
		none, _ = tx.PairBySF("incident", "")
		assert.Nil(t, none)
		var ids []string
		require.NoError(t, tx.Pairs("incident", func(p *syncer.Pair) bool { ids = append(ids, p.SNID); return true }))
		assert.Equal(t, []string{"sn001", "sn002", "sn003"}, ids, "in ServiceNow id order")
		ids = nil
		require.NoError(t, tx.Pairs("incident", func(p *syncer.Pair) bool { ids = append(ids, p.SNID); return len(ids) < 2 }))
		assert.Equal(t, []string{"sn001", "sn002"}, ids, "iteration stops when fn says so")
		n, err := tx.CountPairs("incident")
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		return nil
	})
	// Changing a pair's StackFlow id frees the old one; tombstones round-trip.
	update(t, s, l, func(tx syncer.Tx) error {
		p, _ := tx.PairBySN("incident", "sn001")
		p.SFID = "inc_new"
		p.Tombstone = &syncer.Tombstone{At: ms(t0), Side: "servicenow", VerSN: 4, VerSF: 5}
		p.Pending = &syncer.PendingWrite{At: ms(t0), SN: map[string]string{"state": "6"}, SF: map[string]string{"state": "resolved"}, Written: map[string]string{"state": "servicenow"}}
		p.BackrefPending = true
		require.NoError(t, tx.PutPair(p))
		require.NoError(t, tx.DeletePair("incident", "sn003"))
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn004", SFID: "inc_001"})
	})
	view(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySF("incident", "inc_new")
		require.NotNil(t, p)
		assert.Equal(t, "sn001", p.SNID)
		assert.True(t, p.BackrefPending)
		assert.Equal(t, &syncer.Tombstone{At: ms(t0), Side: "servicenow", VerSN: 4, VerSF: 5}, p.Tombstone)
		assert.Equal(t, &syncer.PendingWrite{At: ms(t0), SN: map[string]string{"state": "6"}, SF: map[string]string{"state": "resolved"}, Written: map[string]string{"state": "servicenow"}}, p.Pending)
		p, _ = tx.PairBySF("incident", "inc_001")
		require.NotNil(t, p)
		assert.Equal(t, "sn004", p.SNID, "the freed id went to another pair")
		p, _ = tx.PairBySN("incident", "sn003")
		assert.Nil(t, p)
		p, _ = tx.PairBySF("incident", "inc_003")
		assert.Nil(t, p, "a deleted pair leaves no index behind")
		return nil
	})
	// Mutating what a read returned does not change the store.
	view(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySN("incident", "sn002")
		p.SnapSN["state"] = "mutated"
		return nil
	})
	view(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySN("incident", "sn002")
		assert.Equal(t, "2", p.SnapSN["state"])
		return nil
	})
}

func testPairUniqueness(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	update(t, s, l, func(tx syncer.Tx) error { return tx.PutPair(samplePair(1)) })
	err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
		dup := samplePair(2)
		dup.SFID = "inc_001"
		return tx.PutPair(dup)
	})
	require.ErrorIs(t, err, syncer.ErrDuplicatePair, "two pairs may not share a StackFlow id")
	err = s.Update(context.Background(), l, func(tx syncer.Tx) error {
		a := samplePair(5)
		b := samplePair(6)
		b.SFID = a.SFID
		require.NoError(t, tx.PutPair(a))
		return tx.PutPair(b)
	})
	require.ErrorIs(t, err, syncer.ErrDuplicatePair, "also within one transaction")
	view(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySN("incident", "sn002")
		assert.Nil(t, p)
		p, _ = tx.PairBySN("incident", "sn005")
		assert.Nil(t, p, "the failed transaction left nothing")
		return nil
	})
	update(t, s, l, func(tx syncer.Tx) error {
		p := samplePair(1)
		p.SnapSN = map[string]string{"state": "7"}
		return tx.PutPair(p)
	})
	view(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySN("incident", "sn001")
		assert.Equal(t, map[string]string{"state": "7"}, p.SnapSN, "re-putting a pair replaces it")
		n, _ := tx.CountPairs("incident")
		assert.Equal(t, 1, n)
		return nil
	})
}

func testStreams(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	st := &syncer.StreamState{
		ID: "incident/sn", Cursor: syncer.Cursor{Time: ms(t0), ID: "abc"}, TrackCursor: syncer.Cursor{Time: ms(t0.Add(-time.Hour)), ID: "t"},
		AuditCursor: syncer.Cursor{Time: ms(t0.Add(-time.Minute)), ID: "d"}, SweptTo: ms(t0.Add(time.Hour)), TrackSweptTo: ms(t0.Add(2 * time.Hour)),
		Fingerprint: "fp1", Initialized: true,
		LastRun: ms(t0), LastSuccess: ms(t0), LastError: "x", LastReconcile: ms(t0), LastDeepReread: ms(t0), LastDeleteScan: ms(t0.Add(time.Second)),
		Missing: map[string]int{"sn9": 1},
	}
	update(t, s, l, func(tx syncer.Tx) error { return tx.PutStream(st) })
	view(t, s, func(tx syncer.ReadTx) error {
		got, err := tx.Stream("incident/sn")
		require.NoError(t, err)
		assert.Equal(t, st, got)
		none, err := tx.Stream("nope")
		require.NoError(t, err)
		assert.Nil(t, none)
		return nil
	})
	err := s.Update(context.Background(), l, func(tx syncer.Tx) error { return tx.PutStream(&syncer.StreamState{}) })
	require.Error(t, err, "a stream needs an id")
}

func testDLQ(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	update(t, s, l, func(tx syncer.Tx) error {
		for i, next := range []time.Duration{3 * time.Minute, time.Minute, 2 * time.Minute, time.Hour} {
			require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: fmt.Sprintf("s%d", i), Attempts: i + 1,
				NextAttempt: ms(t0.Add(next)), LastError: "503", FirstFailed: ms(t0)}))
		}
		require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "perm", Permanent: true, NextAttempt: ms(t0), LastError: "403 ACL"}))
		return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sf", SourceID: "other", NextAttempt: ms(t0)})
	})
	view(t, s, func(tx syncer.ReadTx) error {
		due, err := tx.DueDLQ("incident/sn", t0.Add(150*time.Second), 10)
		require.NoError(t, err)
		var ids []string
		for _, e := range due {
			ids = append(ids, e.SourceID)
		}
		assert.Equal(t, []string{"s1", "s2"}, ids, "due retryable entries, earliest first; not permanent, not future, not other streams")
		due, _ = tx.DueDLQ("incident/sn", t0.Add(24*time.Hour), 2)
		assert.Len(t, due, 2, "limit")
		e, err := tx.DLQEntry("incident/sn", "s1")
		require.NoError(t, err)
		assert.Equal(t, &syncer.DLQEntry{Stream: "incident/sn", SourceID: "s1", Attempts: 2, NextAttempt: ms(t0.Add(time.Minute)), LastError: "503", FirstFailed: ms(t0)}, e)
		all, _ := tx.DLQEntries("incident/sn")
		assert.Len(t, all, 5)
		assert.Equal(t, "perm", all[0].SourceID, "in source id order")
		return nil
	})
	update(t, s, l, func(tx syncer.Tx) error { return tx.DeleteDLQ("incident/sn", "s1") })
	view(t, s, func(tx syncer.ReadTx) error {
		e, _ := tx.DLQEntry("incident/sn", "s1")
		assert.Nil(t, e)
		return nil
	})
}

func testIntents(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	update(t, s, l, func(tx syncer.Tx) error {
		return tx.PutIntent(&syncer.Intent{Stream: "incident/sf", SourceID: "inc_1", Attempt: 2, Created: ms(t0)})
	})
	view(t, s, func(tx syncer.ReadTx) error {
		i, err := tx.Intent("incident/sf", "inc_1")
		require.NoError(t, err)
		assert.Equal(t, &syncer.Intent{Stream: "incident/sf", SourceID: "inc_1", Attempt: 2, Created: ms(t0)}, i)
		return nil
	})
	update(t, s, l, func(tx syncer.Tx) error { return tx.DeleteIntent("incident/sf", "inc_1") })
	view(t, s, func(tx syncer.ReadTx) error {
		i, _ := tx.Intent("incident/sf", "inc_1")
		assert.Nil(t, i)
		return nil
	})
}

func testConflicts(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	for i := range 5 {
		update(t, s, l, func(tx syncer.Tx) error {
			return tx.AddConflict(&syncer.Conflict{Time: ms(t0.Add(time.Duration(i) * time.Second)), Table: "incident", SNID: "sn1", SFID: "inc_1",
				Key: fmt.Sprintf("k%d", i), SNValue: "a", SFValue: "b", Winner: "servicenow", Rule: "latest"})
		})
	}
	update(t, s, l, func(tx syncer.Tx) error { return tx.AddConflict(&syncer.Conflict{Table: "problem", Key: "x"}) })
	view(t, s, func(tx syncer.ReadTx) error {
		c, err := tx.Conflicts("incident", 3)
		require.NoError(t, err)
		require.Len(t, c, 3)
		assert.Equal(t, "k4", c[0].Key, "newest first")
		assert.Equal(t, "k2", c[2].Key)
		assert.Equal(t, syncer.Conflict{Time: ms(t0.Add(4 * time.Second)), Table: "incident", SNID: "sn1", SFID: "inc_1", Key: "k4", SNValue: "a", SFValue: "b", Winner: "servicenow", Rule: "latest"}, c[0])
		all, _ := tx.Conflicts("incident", 0)
		assert.Len(t, all, 5)
		return nil
	})
}

func testReadYourWrites(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	update(t, s, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(samplePair(1)))
		p, err := tx.PairBySF("incident", "inc_001")
		require.NoError(t, err)
		require.NotNil(t, p, "a pair written in the transaction is visible in it")
		require.NoError(t, tx.DeletePair("incident", "sn001"))
		p, _ = tx.PairBySN("incident", "sn001")
		assert.Nil(t, p)
		require.NoError(t, tx.PutStream(&syncer.StreamState{ID: "x", Fingerprint: "f"}))
		st, _ := tx.Stream("x")
		require.NotNil(t, st)
		require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "x", SourceID: "y", NextAttempt: t0}))
		due, _ := tx.DueDLQ("x", t0, 10)
		assert.Len(t, due, 1)
		return nil
	})
}

func testConcurrent(t *testing.T, f Factory) {
	s := open(t, f)
	l := lease(t, s, "incident")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
					st, err := tx.Stream("counter")
					if err != nil {
						return err
					}
					if st == nil {
						st = &syncer.StreamState{ID: "counter", Missing: map[string]int{}}
					}
					if st.Missing == nil {
						st.Missing = map[string]int{}
					}
					st.Missing["n"]++
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
	view(t, s, func(tx syncer.ReadTx) error {
		st, _ := tx.Stream("counter")
		assert.Equal(t, 100, st.Missing["n"], "updates are serialisable: no lost increment")
		n, _ := tx.CountPairs("incident")
		assert.Equal(t, 100, n)
		return nil
	})
}

func testDurable(t *testing.T, f Factory) {
	s := f.Open(t)
	l := lease(t, s, "incident")
	update(t, s, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(samplePair(1)))
		require.NoError(t, tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: ms(t0), ID: "z"}}))
		require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "q", NextAttempt: ms(t0)}))
		return tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "k"})
	})
	s = f.Reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })
	view(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySF("incident", "inc_001")
		assert.Equal(t, samplePair(1), p)
		st, _ := tx.Stream("incident/sn")
		require.NotNil(t, st)
		assert.Equal(t, "z", st.Cursor.ID)
		e, _ := tx.DLQEntry("incident/sn", "q")
		assert.NotNil(t, e)
		c, _ := tx.Conflicts("incident", 0)
		assert.Len(t, c, 1)
		return nil
	})
	l2, err := s.AcquireLease(context.Background(), "incident", "suite", time.Minute)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, l2.Token, l.Token, "tokens never go back after a reopen")
}
