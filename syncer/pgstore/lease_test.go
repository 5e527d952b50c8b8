package pgstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
)

func TestTwoHoldersRacing(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	race := func(round int) (winners []syncer.Lease) {
		const n = 8
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			held int
		)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				l, err := s.AcquireLease(context.Background(), "incident", fmt.Sprintf("replica-%d-%d", round, i), time.Minute)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, l)
				case assert.ErrorIs(t, err, syncer.ErrLeaseHeld):
					held++
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, n-1, held, "every loser is told the lease is held")
		return winners
	}

	first := race(1)
	require.Len(t, first, 1, "exactly one of the racing replicas gets a free lease")
	assert.Equal(t, int64(1), first[0].Token)

	require.NoError(t, s.ReleaseLease(context.Background(), first[0]))
	second := race(2)
	require.Len(t, second, 1, "and exactly one gets it again after a release")
	assert.Equal(t, int64(2), second[0].Token, "the next holder's token is higher")
}

func TestLeaseExpiryByTheDatabaseClock(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	ctx := context.Background()
	const ttl = 250 * time.Millisecond

	before := dbNow(t, s)
	a := mustLease(t, s, "incident", "replica-a", ttl)
	after := dbNow(t, s)
	assert.False(t, a.Expires.Before(before.Add(ttl)), "expiry is the database clock at the grant plus ttl: %s is before %s", a.Expires, before.Add(ttl))
	assert.False(t, a.Expires.After(after.Add(ttl)), "expiry is the database clock at the grant plus ttl: %s is after %s", a.Expires, after.Add(ttl))
	assert.Equal(t, time.UTC, a.Expires.Location())

	waitDBPast(t, s, a.Expires)
	err := s.Update(ctx, a, func(syncer.Tx) error { return nil })
	require.ErrorIs(t, err, syncer.ErrFenced, "past its expiry by the database clock the lease writes nothing")
	assert.Contains(t, err.Error(), "expired")

	b := mustLease(t, s, "incident", "replica-b", time.Minute)
	assert.Equal(t, a.Token+1, b.Token, "an expired lease goes to the next holder with the next token")

	_, err = s.AcquireLease(ctx, "incident", "replica-a", time.Minute)
	require.ErrorIs(t, err, syncer.ErrLeaseHeld)
	assert.Contains(t, err.Error(), `"replica-b"`, "the error names the holder")
	assert.Contains(t, err.Error(), "database clock")

	c := mustLease(t, s, "problem", "replica-c", ttl)
	waitDBPast(t, s, c.Expires)
	again := mustLease(t, s, "problem", "replica-c", time.Minute)
	assert.Equal(t, c.Token+1, again.Token, "a holder coming back after its own lease expired gets a new token")
	err = s.Update(ctx, c, func(syncer.Tx) error { return nil })
	require.ErrorIs(t, err, syncer.ErrFenced, "so its old lease is fenced")
}

func TestLeaseRenewal(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	a := mustLease(t, s, "incident", "replica-a", time.Minute)
	renewed := mustLease(t, s, "incident", "replica-a", 2*time.Minute)
	assert.Equal(t, a.Token, renewed.Token, "a live holder renewing keeps its token")
	assert.True(t, renewed.Expires.After(a.Expires), "and gets a later expiry")
	mustUpdate(t, s, a, func(tx syncer.Tx) error {
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn"})
	})
}

func TestTokensNeverGoBack(t *testing.T) {
	db := testDB(t)
	schema := newSchema()
	s := openStore(t, db, WithSchema(schema))
	ctx := context.Background()
	var last int64
	for i := range 4 {
		l := mustLease(t, s, "incident", fmt.Sprintf("replica-%d", i%2), time.Minute)
		assert.Greater(t, l.Token, last, "round %d", i)
		last = l.Token
		require.NoError(t, s.ReleaseLease(ctx, l))
	}
	require.NoError(t, s.Close())
	s = openStore(t, db, WithSchema(schema))
	l := mustLease(t, s, "incident", "replica-9", time.Minute)
	assert.Equal(t, last+1, l.Token, "not even across a reopen")

	var released bool
	var holder string
	require.NoError(t, adminPool(t, db).QueryRow(ctx, "SELECT holder, released FROM "+schema+".leases WHERE grp = 'incident'").Scan(&holder, &released))
	assert.Equal(t, "replica-9", holder)
	assert.False(t, released)
	require.NoError(t, s.ReleaseLease(ctx, l))
	require.NoError(t, adminPool(t, db).QueryRow(ctx, "SELECT holder, released FROM "+schema+".leases WHERE grp = 'incident'").Scan(&holder, &released))
	assert.True(t, released, "a release keeps the row, marked released")
	assert.Equal(t, "replica-9", holder, "and the last holder, for operators")
}

func TestAcquireLeaseRejectsBadInput(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	cases := []struct {
		name, group, holder string
		ttl                 time.Duration
	}{
		{name: "an empty group", holder: "a", ttl: time.Minute},
		{name: "an empty holder", group: "incident", ttl: time.Minute},
		{name: "a zero ttl", group: "incident", holder: "a"},
		{name: "a ttl under a millisecond", group: "incident", holder: "a", ttl: 500 * time.Microsecond},
		{name: "a group with a NUL byte", group: "inci\x00dent", holder: "a", ttl: time.Minute},
		{name: "a holder that is not UTF-8", group: "incident", holder: "\xff", ttl: time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AcquireLease(context.Background(), tc.group, tc.holder, tc.ttl)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestUpdateRejectsAZeroLease(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	called := false
	err := s.Update(context.Background(), syncer.Lease{}, func(syncer.Tx) error { called = true; return nil })
	require.ErrorIs(t, err, syncer.ErrFenced)
	assert.False(t, called)
	err = s.Update(context.Background(), syncer.Lease{Group: "never-leased", Holder: "a", Token: 1}, func(syncer.Tx) error { called = true; return nil })
	require.ErrorIs(t, err, syncer.ErrFenced, "a group nobody ever leased")
	assert.False(t, called)
}
