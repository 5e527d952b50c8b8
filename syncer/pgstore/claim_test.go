package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
)

// seedDLQ writes n retryable entries of incident/sn due at t0+i seconds,
// plus entries no claim may take: a permanent one, one due later, and one
// of another stream.
func seedDLQ(t *testing.T, s *Store, l syncer.Lease, n int) {
	t.Helper()
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		for i := range n {
			if err := tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: fmt.Sprintf("s%04d", i), Attempts: 1,
				NextAttempt: t0.Add(time.Duration(i) * time.Second), LastError: "503", FirstFailed: t0}); err != nil {
				return err
			}
		}
		return errors.Join(
			tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "permanent", Permanent: true, NextAttempt: t0, LastError: "403 ACL"}),
			tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "later", NextAttempt: t0.Add(24 * time.Hour)}),
			tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sf", SourceID: "other-stream", NextAttempt: t0}),
		)
	})
}

// TestClaimDueDLQExactlyOnce: concurrent claimers (each a worker with its
// own connection) split the due entries between them; each entry goes to
// exactly one.
func TestClaimDueDLQExactlyOnce(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	const due, claimers, batch = 240, 6, 7
	seedDLQ(t, s, l, due)
	now := t0.Add(time.Hour)

	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		byWho   = make([]int, claimers)
		wg      sync.WaitGroup
	)
	start := make(chan struct{})
	for c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				got, err := s.ClaimDueDLQ(context.Background(), l, "incident/sn", now, batch, 10*time.Minute)
				if !assert.NoError(t, err) || len(got) == 0 {
					return
				}
				assert.LessOrEqual(t, len(got), batch)
				mu.Lock()
				for _, e := range got {
					claimed[e.SourceID]++
				}
				byWho[c] += len(got)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()

	require.Len(t, claimed, due, "every due entry was claimed, and nothing else")
	for id, n := range claimed {
		assert.Equal(t, 1, n, "entry %s was handed out %d times", id, n)
	}
	assert.NotContains(t, claimed, "permanent")
	assert.NotContains(t, claimed, "later")
	assert.NotContains(t, claimed, "other-stream")
	total := 0
	for _, n := range byWho {
		total += n
	}
	assert.Equal(t, due, total)
}

func TestClaimDueDLQHoldsEntries(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	seedDLQ(t, s, l, 5)
	ctx := context.Background()
	now := t0.Add(10 * time.Second)
	const hold = 5 * time.Minute

	got, err := s.ClaimDueDLQ(ctx, l, "incident/sn", now, 3, hold)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, syncer.DLQEntry{Stream: "incident/sn", SourceID: "s0000", Attempts: 1, NextAttempt: t0, LastError: "503", FirstFailed: t0}, got[0],
		"entries come back as they were before the claim")
	assert.True(t, slices.IsSortedFunc(got, func(a, b syncer.DLQEntry) int { return a.NextAttempt.Compare(b.NextAttempt) }), "earliest first")

	mustView(t, s, func(tx syncer.ReadTx) error {
		e, err := tx.DLQEntry("incident/sn", "s0000")
		require.NoError(t, err)
		assert.Equal(t, now.Add(hold), e.NextAttempt, "a claim moves the entry's next attempt to the end of the hold")
		due, err := tx.DueDLQ("incident/sn", now, 0)
		require.NoError(t, err)
		var ids []string
		for _, e := range due {
			ids = append(ids, e.SourceID)
		}
		assert.Equal(t, []string{"s0003", "s0004"}, ids, "held entries are not due")
		return nil
	})
	rest, err := s.ClaimDueDLQ(ctx, l, "incident/sn", now, 10, hold)
	require.NoError(t, err)
	assert.Len(t, rest, 2, "the next claim gets only what is left")
	none, err := s.ClaimDueDLQ(ctx, l, "incident/sn", now, 10, hold)
	require.NoError(t, err)
	assert.Empty(t, none)
	again, err := s.ClaimDueDLQ(ctx, l, "incident/sn", now.Add(hold), 10, hold)
	require.NoError(t, err)
	assert.Len(t, again, 5, "when the hold ends, unsettled entries are due again (at least once)")

	mustUpdate(t, s, l, func(tx syncer.Tx) error { return tx.DeleteDLQ("incident/sn", "s0000") })
	settled, err := s.ClaimDueDLQ(ctx, l, "incident/sn", now.Add(24*time.Hour), 10, hold)
	require.NoError(t, err)
	for _, e := range settled {
		assert.NotEqual(t, "s0000", e.SourceID, "a settled entry is gone")
	}
}

func TestClaimDueDLQFenced(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	a := mustLease(t, s, "incident", "replica-a", 200*time.Millisecond)
	seedDLQ(t, s, a, 3)
	waitDBPast(t, s, a.Expires)
	_ = mustLease(t, s, "incident", "replica-b", time.Minute)

	got, err := s.ClaimDueDLQ(context.Background(), a, "incident/sn", t0.Add(time.Hour), 10, time.Minute)
	require.ErrorIs(t, err, syncer.ErrFenced)
	assert.Empty(t, got)
	_, err = s.ClaimDueDLQ(context.Background(), a, "incident/sf", t0.Add(time.Hour), 10, time.Minute)
	require.ErrorIs(t, err, syncer.ErrFenced, "fenced even when nothing is due")
	mustView(t, s, func(tx syncer.ReadTx) error {
		due, err := tx.DueDLQ("incident/sn", t0.Add(time.Hour), 0)
		require.NoError(t, err)
		assert.Len(t, due, 3, "a fenced claim moves nothing")
		return nil
	})
}

func TestClaimDueDLQRejectsBadInput(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	cases := []struct {
		name, stream string
		limit        int
		hold         time.Duration
	}{
		{name: "an empty stream", limit: 1, hold: time.Minute},
		{name: "a zero limit", stream: "incident/sn", hold: time.Minute},
		{name: "a zero hold, which would hand entries out twice", stream: "incident/sn", limit: 1},
		{name: "a stream with a NUL byte", stream: "incident\x00", limit: 1, hold: time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ClaimDueDLQ(context.Background(), l, tc.stream, t0, tc.limit, tc.hold)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

// TestClaimDueDLQSkipsLockedRows: entries another transaction has locked
// (a claim still in flight) are skipped, not waited for.
func TestClaimDueDLQSkipsLockedRows(t *testing.T) {
	db := testDB(t)
	s := openStore(t, db, WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	seedDLQ(t, s, l, 6)
	ctx := context.Background()

	other, err := adminPool(t, db).Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Rollback(context.Background()) })
	_, err = other.Exec(ctx, "SELECT 1 FROM "+s.Schema()+".dlq WHERE source_id IN ('s0000', 's0001', 's0002') FOR UPDATE")
	require.NoError(t, err)

	// A claim that waited on the locked rows would block until the
	// deadline and fail.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	got, err := s.ClaimDueDLQ(ctx, l, "incident/sn", t0.Add(time.Hour), 3, time.Minute)
	require.NoError(t, err)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.SourceID)
	}
	assert.Equal(t, []string{"s0003", "s0004", "s0005"}, ids, "the earliest entries are locked elsewhere: the claim takes the next ones")
}
