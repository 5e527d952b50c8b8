package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/storetest"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// manualClock is a settable clock for lease expiry.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock { return &manualClock{now: t0} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// openAt opens the store at path and closes it when the test ends.
func openAt(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openTemp opens a new store in the test's temporary directory.
func openTemp(t *testing.T, opts ...Option) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "state.db"), opts...)
}

// reopen closes s and opens its file again.
func reopen(t *testing.T, s *Store, opts ...Option) *Store {
	t.Helper()
	require.NoError(t, s.Close())
	return openAt(t, s.Path(), opts...)
}

func mustLease(t *testing.T, s syncer.Store, group string) syncer.Lease {
	t.Helper()
	l, err := s.AcquireLease(context.Background(), group, "test", time.Hour)
	require.NoError(t, err)
	return l
}

func mustUpdate(t *testing.T, s syncer.Store, l syncer.Lease, fn func(syncer.Tx) error) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), l, fn))
}

func mustView(t *testing.T, s syncer.Store, fn func(syncer.ReadTx) error) {
	t.Helper()
	require.NoError(t, s.View(context.Background(), fn))
}

// bucketLen counts the keys of one bucket.
func bucketLen(t *testing.T, s *Store, name []byte) int {
	t.Helper()
	n := 0
	require.NoError(t, s.db.View(func(btx *bolt.Tx) error {
		n = btx.Bucket(name).Stats().KeyN
		return nil
	}))
	return n
}

func pair(table, sn, sf string) *syncer.Pair {
	return &syncer.Pair{
		Table: table, SNID: sn, SFID: sf,
		SnapSN: map[string]string{"state": "2", "short_description": "VPN down"},
		SnapSF: map[string]string{"state": "in_progress", "title": "VPN down"},
		VerSN:  3, VerSF: 4, UpdatedSN: t0, UpdatedSF: t0.Add(time.Second), Origin: "servicenow",
		FirstSynced: t0, LastSynced: t0.Add(time.Minute), Writes: []time.Time{t0},
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Factory{
		Open: func(t *testing.T) syncer.Store {
			s, err := Open(filepath.Join(t.TempDir(), "state.db"))
			require.NoError(t, err)
			return s
		},
		Reopen: func(t *testing.T, s syncer.Store) syncer.Store {
			b := s.(*Store)
			require.NoError(t, b.Close())
			s2, err := Open(b.Path())
			require.NoError(t, err)
			return s2
		},
	})
}

func TestOpenWhileAnotherHoldsTheFileFailsFast(t *testing.T) {
	first := openTemp(t)
	_, err := Open(first.Path(), WithOpenTimeout(100*time.Millisecond))
	require.ErrorIs(t, err, ErrLocked)
	assert.Contains(t, err.Error(), "another snowsync process holds "+first.Path())

	require.NoError(t, first.Close())
	second, err := Open(first.Path(), WithOpenTimeout(100*time.Millisecond))
	require.NoError(t, err, "the lock goes with Close")
	require.NoError(t, second.Close())
}

func TestOpenCreatesAPrivateFile(t *testing.T) {
	s := openTemp(t)
	fi, err := os.Stat(s.Path())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	size, err := s.Size()
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), size)
	assert.Positive(t, size)
}

// setMeta rewrites a meta key of a closed store file.
func setMeta(t *testing.T, path string, key, value []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bktMeta).Put(key, value) }))
	require.NoError(t, db.Close())
}

func TestOpenRefusesFilesItCannotUse(t *testing.T) {
	newStore := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "state.db")
		s, err := Open(p)
		require.NoError(t, err)
		require.NoError(t, s.Close())
		return p
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T) string
		want    error
		says    string
	}{
		{
			name: "a store written by a newer snowsync",
			prepare: func(t *testing.T) string {
				p := newStore(t)
				setMeta(t, p, metaSchemaVersion, []byte("2"))
				return p
			},
			want: ErrSchemaTooNew, says: "schema version 2, this snowsync knows up to 1: upgrade snowsync",
		},
		{
			name: "a store whose schema version is unreadable",
			prepare: func(t *testing.T) string {
				p := newStore(t)
				setMeta(t, p, metaSchemaVersion, []byte("two"))
				return p
			},
			want: ErrNotStore, says: `unreadable schema version "two"`,
		},
		{
			name: "a bbolt file of another program",
			prepare: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "other.db")
				db, err := bolt.Open(p, 0o600, nil)
				require.NoError(t, err)
				require.NoError(t, db.Update(func(btx *bolt.Tx) error { _, err := btx.CreateBucket([]byte("config")); return err }))
				require.NoError(t, db.Close())
				return p
			},
			want: ErrNotStore, says: "without snowsync's meta bucket",
		},
		{
			name: "a file that is not a bbolt file",
			prepare: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "notes.txt")
				require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte("not a database\n"), 1000), 0o600))
				return p
			},
			want: ErrNotStore, says: "not a snowsync store file",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.prepare(t)
			before, err := os.ReadFile(p)
			require.NoError(t, err)
			s, err := Open(p)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tc.says)
			after, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.Equal(t, before, after, "a refused file is left untouched")
			again, err := Open(p)
			require.ErrorIs(t, err, tc.want, "a refused open releases the lock")
			assert.Nil(t, again)
		})
	}
}

func TestOpenRejectsBadArguments(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		path string
		opts []Option
		want error
	}{
		{name: "an empty path", path: "", want: ErrInvalid},
		{name: "a zero open timeout", path: filepath.Join(dir, "a.db"), opts: []Option{WithOpenTimeout(0)}, want: ErrInvalid},
		{name: "a nil clock", path: filepath.Join(dir, "b.db"), opts: []Option{WithClock(nil)}, want: ErrInvalid},
		{name: "a directory that does not exist", path: filepath.Join(dir, "missing", "c.db"), want: os.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.path, tc.opts...)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, s)
		})
	}
}

// state is everything the tests write, read back through a ReadTx.
type state struct {
	Streams   map[string]*syncer.StreamState
	Pairs     map[string][]*syncer.Pair
	BySF      map[string]*syncer.Pair
	DLQ       map[string][]syncer.DLQEntry
	Due       map[string][]syncer.DLQEntry
	Intents   map[string]*syncer.Intent
	Conflicts map[string][]syncer.Conflict
}

func readState(t *testing.T, s syncer.Store, tables, streams, sfIDs, sourceIDs []string, dueAt time.Time) state {
	t.Helper()
	st := state{Streams: map[string]*syncer.StreamState{}, Pairs: map[string][]*syncer.Pair{}, BySF: map[string]*syncer.Pair{},
		DLQ: map[string][]syncer.DLQEntry{}, Due: map[string][]syncer.DLQEntry{}, Intents: map[string]*syncer.Intent{},
		Conflicts: map[string][]syncer.Conflict{}}
	mustView(t, s, func(tx syncer.ReadTx) error {
		for _, table := range tables {
			require.NoError(t, tx.Pairs(table, func(p *syncer.Pair) bool { st.Pairs[table] = append(st.Pairs[table], p); return true }))
			for _, sf := range sfIDs {
				p, err := tx.PairBySF(table, sf)
				require.NoError(t, err)
				st.BySF[table+"/"+sf] = p
			}
			c, err := tx.Conflicts(table, 0)
			require.NoError(t, err)
			st.Conflicts[table] = c
		}
		for _, stream := range streams {
			x, err := tx.Stream(stream)
			require.NoError(t, err)
			st.Streams[stream] = x
			all, err := tx.DLQEntries(stream)
			require.NoError(t, err)
			st.DLQ[stream] = all
			due, err := tx.DueDLQ(stream, dueAt, 0)
			require.NoError(t, err)
			st.Due[stream] = due
			for _, id := range sourceIDs {
				i, err := tx.Intent(stream, id)
				require.NoError(t, err)
				st.Intents[stream+"/"+id] = i
			}
		}
		return nil
	})
	return st
}

func TestCommittedUpdatesSurviveCloseAndReopen(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		for i := range 20 {
			require.NoError(t, tx.PutPair(pair("incident", fmt.Sprintf("sn%02d", i), fmt.Sprintf("inc_%02d", i))))
			require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: fmt.Sprintf("s%02d", i), Attempts: i,
				NextAttempt: t0.Add(time.Duration(20-i) * time.Minute), Permanent: i%5 == 0, LastError: "503", FirstFailed: t0}))
			require.NoError(t, tx.AddConflict(&syncer.Conflict{Time: t0.Add(time.Duration(i) * time.Second), Table: "incident", Key: fmt.Sprintf("k%d", i)}))
		}
		require.NoError(t, tx.PutPair(pair("problem", "sn01", "prb_01")))
		require.NoError(t, tx.PutIntent(&syncer.Intent{Stream: "incident/sf", SourceID: "inc_99", Attempt: 1, Created: t0}))
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: t0, ID: "sn19"}, Initialized: true,
			Missing: map[string]int{"sn07": 1}})
	})
	tables, streams := []string{"incident", "problem"}, []string{"incident/sn", "incident/sf"}
	sfIDs, sources := []string{"inc_00", "inc_19", "prb_01"}, []string{"inc_99"}
	before := readState(t, s, tables, streams, sfIDs, sources, t0.Add(time.Hour))
	require.Len(t, before.Pairs["incident"], 20, "precondition: the state was written")
	require.Len(t, before.Due["incident/sn"], 16, "precondition: four entries are permanent")
	tokenBefore := l.Token

	s = reopen(t, s)
	after := readState(t, s, tables, streams, sfIDs, sources, t0.Add(time.Hour))
	assert.Equal(t, before, after)
	l2, err := s.AcquireLease(context.Background(), "incident", "other", time.Minute)
	require.ErrorIs(t, err, syncer.ErrLeaseHeld, "the lease itself is durable state")
	assert.Zero(t, l2)
	require.NoError(t, s.ReleaseLease(context.Background(), l))
	l3 := mustLease(t, s, "incident")
	assert.Greater(t, l3.Token, tokenBefore)
}

func TestCommittedUpdateIsInTheFileBeforeClose(t *testing.T) {
	// A copy of the file taken right after Update returns is what a crash
	// (kill -9, power loss after the fsync) leaves behind: Close never ran.
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(pair("incident", "sn1", "inc_1")))
		return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "sn2", NextAttempt: t0})
	})
	raw, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	require.NoError(t, os.WriteFile(crashed, raw, 0o600))

	c := openAt(t, crashed)
	mustView(t, c, func(tx syncer.ReadTx) error {
		p, err := tx.PairBySF("incident", "inc_1")
		require.NoError(t, err)
		assert.Equal(t, pair("incident", "sn1", "inc_1"), p)
		due, err := tx.DueDLQ("incident/sn", t0, 10)
		require.NoError(t, err)
		require.Len(t, due, 1)
		assert.Equal(t, "sn2", due[0].SourceID)
		return nil
	})
}

func TestFailedUpdateLeavesNothing(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(pair("incident", "sn1", "inc_1")))
		return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "sn1", NextAttempt: t0})
	})
	boom := errors.New("boom")
	err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
		p := pair("incident", "sn1", "inc_changed")
		require.NoError(t, tx.PutPair(p))
		require.NoError(t, tx.PutPair(pair("incident", "sn2", "inc_2")))
		require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "sn1", NextAttempt: t0.Add(time.Hour)}))
		require.NoError(t, tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "sn3", Permanent: true}))
		require.NoError(t, tx.PutIntent(&syncer.Intent{Stream: "incident/sn", SourceID: "sn4"}))
		require.NoError(t, tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "state"}))
		require.NoError(t, tx.PutStream(&syncer.StreamState{ID: "incident/sn"}))
		return boom
	})
	require.ErrorIs(t, err, boom)

	s = reopen(t, s)
	mustView(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySF("incident", "inc_1")
		require.NotNil(t, p, "the old StackFlow id still finds the pair")
		assert.Equal(t, "sn1", p.SNID)
		p, _ = tx.PairBySF("incident", "inc_changed")
		assert.Nil(t, p)
		n, _ := tx.CountPairs("incident")
		assert.Equal(t, 1, n)
		due, _ := tx.DueDLQ("incident/sn", t0, 0)
		require.Len(t, due, 1, "the entry is still due at its old time")
		all, _ := tx.DLQEntries("incident/sn")
		assert.Len(t, all, 1)
		i, _ := tx.Intent("incident/sn", "sn4")
		assert.Nil(t, i)
		c, _ := tx.Conflicts("incident", 0)
		assert.Empty(t, c)
		st, _ := tx.Stream("incident/sn")
		assert.Nil(t, st)
		return nil
	})
	assert.Equal(t, 1, bucketLen(t, s, bktIdxSF), "no index entry of the rolled back writes")
	assert.Equal(t, 1, bucketLen(t, s, bktDLQDue))
}

func TestStorageErrorRollsBackEvenWhenIgnored(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	err := s.Update(context.Background(), l, func(stx syncer.Tx) error {
		require.NoError(t, stx.PutPair(pair("incident", "sn1", "inc_1")))
		bt := stx.(*tx)
		_ = bt.put(bt.streams, nil, []byte("{}")) // bbolt refuses an empty key: a write failed half way
		return nil
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "key required")
	mustView(t, s, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySN("incident", "sn1")
		assert.Nil(t, p, "nothing of the failed transaction was committed")
		return nil
	})
}

func TestLeasesFollowTheStoreClock(t *testing.T) {
	clock := newManualClock()
	s := openTemp(t, WithClock(clock.Now))
	ctx := context.Background()
	a, err := s.AcquireLease(ctx, "incident", "replica-a", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(time.Minute), a.Expires)
	mustUpdate(t, s, a, func(tx syncer.Tx) error { return nil })

	clock.Advance(59 * time.Second)
	renewed, err := s.AcquireLease(ctx, "incident", "replica-a", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, a.Token, renewed.Token, "a renewal keeps the token")
	assert.Equal(t, t0.Add(119*time.Second), renewed.Expires)
	_, err = s.AcquireLease(ctx, "incident", "replica-b", time.Minute)
	require.ErrorIs(t, err, syncer.ErrLeaseHeld)
	assert.Contains(t, err.Error(), `"replica-a" holds "incident"`)

	clock.Advance(time.Minute)
	err = s.Update(ctx, renewed, func(tx syncer.Tx) error { return tx.PutStream(&syncer.StreamState{ID: "late"}) })
	require.ErrorIs(t, err, syncer.ErrFenced, "expired by the store's clock")
	b, err := s.AcquireLease(ctx, "incident", "replica-b", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, a.Token+1, b.Token)

	clock.Advance(2 * time.Minute)
	again, err := s.AcquireLease(ctx, "incident", "replica-b", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, b.Token+1, again.Token, "the same holder after expiry gets a new token")
	err = s.Update(ctx, b, func(tx syncer.Tx) error { return nil })
	require.ErrorIs(t, err, syncer.ErrFenced, "its old token is fenced")

	require.NoError(t, s.ReleaseLease(ctx, again))
	s = reopen(t, s, WithClock(clock.Now))
	c, err := s.AcquireLease(ctx, "incident", "replica-c", time.Minute)
	require.NoError(t, err, "a released lease is free after a reopen")
	assert.Equal(t, again.Token+1, c.Token, "the token counter survives release and reopen")
}

func TestLeaseArgumentsAreChecked(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	cases := []struct {
		name          string
		group, holder string
		ttl           time.Duration
	}{
		{name: "an empty group", group: "", holder: "a", ttl: time.Minute},
		{name: "an empty holder", group: "incident", holder: "", ttl: time.Minute},
		{name: "a zero ttl", group: "incident", holder: "a", ttl: 0},
		{name: "a negative ttl", group: "incident", holder: "a", ttl: -time.Second},
		{name: "a group too long for a key", group: strings.Repeat("g", MaxIDLen+1), holder: "a", ttl: time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AcquireLease(ctx, tc.group, tc.holder, tc.ttl)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	require.NoError(t, s.ReleaseLease(ctx, syncer.Lease{}), "releasing the zero lease is harmless")
	err := s.Update(ctx, syncer.Lease{Group: "incident", Holder: "a", Token: 1}, func(tx syncer.Tx) error { return nil })
	require.ErrorIs(t, err, syncer.ErrFenced, "a lease never acquired is fenced")
}

func TestReleaseWorksWithACancelledContext(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, s.ReleaseLease(ctx, l))
	_, err := s.AcquireLease(context.Background(), "incident", "other", time.Minute)
	require.NoError(t, err, "the lease was released")
	require.ErrorIs(t, s.View(ctx, func(syncer.ReadTx) error { return nil }), context.Canceled)
	require.ErrorIs(t, s.Update(ctx, l, func(syncer.Tx) error { return nil }), context.Canceled)
	_, err = s.AcquireLease(ctx, "problem", "a", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
}

func TestBadRecordsAndIDsAreRefused(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	long := strings.Repeat("x", MaxIDLen+1)
	cases := []struct {
		name  string
		write func(tx syncer.Tx) error
	}{
		{"a nil pair", func(tx syncer.Tx) error { return tx.PutPair(nil) }},
		{"a pair without table", func(tx syncer.Tx) error { return tx.PutPair(&syncer.Pair{SNID: "sn1"}) }},
		{"a pair without ServiceNow id", func(tx syncer.Tx) error { return tx.PutPair(&syncer.Pair{Table: "incident"}) }},
		{"a table with a NUL byte", func(tx syncer.Tx) error { return tx.PutPair(pair("inc\x00ident", "sn1", "")) }},
		{"a ServiceNow id with a NUL byte", func(tx syncer.Tx) error { return tx.PutPair(pair("incident", "sn\x001", "")) }},
		{"a StackFlow id with a NUL byte", func(tx syncer.Tx) error { return tx.PutPair(pair("incident", "sn1", "inc\x00")) }},
		{"a ServiceNow id too long for a key", func(tx syncer.Tx) error { return tx.PutPair(pair("incident", long, "")) }},
		{"a time JSON cannot hold", func(tx syncer.Tx) error {
			p := pair("incident", "sn1", "inc_1")
			p.LastSynced = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			return tx.PutPair(p)
		}},
		{"a stream without id", func(tx syncer.Tx) error { return tx.PutStream(&syncer.StreamState{}) }},
		{"a stream id too long for a key", func(tx syncer.Tx) error { return tx.PutStream(&syncer.StreamState{ID: long}) }},
		{"a nil dead-letter entry", func(tx syncer.Tx) error { return tx.PutDLQ(nil) }},
		{"a dead-letter entry without source id", func(tx syncer.Tx) error { return tx.PutDLQ(&syncer.DLQEntry{Stream: "s"}) }},
		{"a stream with a NUL byte", func(tx syncer.Tx) error { return tx.PutDLQ(&syncer.DLQEntry{Stream: "s\x00", SourceID: "a"}) }},
		{"an intent without stream", func(tx syncer.Tx) error { return tx.PutIntent(&syncer.Intent{SourceID: "a"}) }},
		{"a nil conflict", func(tx syncer.Tx) error { return tx.AddConflict(nil) }},
		{"a read with a NUL byte", func(tx syncer.Tx) error { _, err := tx.PairBySN("incident", "a\x00b"); return err }},
		{"a delete with a NUL byte", func(tx syncer.Tx) error { return tx.DeleteDLQ("s", "a\x00b") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var inner error
			err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
				inner = tc.write(tx)
				return nil // the error alone must not poison the transaction
			})
			require.NoError(t, err, "a refused write leaves the transaction usable")
			require.ErrorIs(t, inner, ErrInvalid)
		})
	}
	assert.Equal(t, 0, bucketLen(t, s, bktPairs), "no refused record was written")
	assert.Equal(t, 0, bucketLen(t, s, bktStreams))
}

func TestTransactionsAreScoped(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	var kept syncer.Tx
	mustUpdate(t, s, l, func(tx syncer.Tx) error { kept = tx; return nil })
	require.ErrorIs(t, kept.PutPair(pair("incident", "sn1", "")), ErrTxDone)
	_, err := kept.PairBySN("incident", "sn1")
	require.ErrorIs(t, err, ErrTxDone)

	err = s.View(context.Background(), func(rtx syncer.ReadTx) error {
		return rtx.(syncer.Tx).PutStream(&syncer.StreamState{ID: "x"})
	})
	require.ErrorIs(t, err, ErrInvalid, "a View cannot write")
	require.ErrorIs(t, s.View(context.Background(), nil), ErrInvalid)
	require.ErrorIs(t, s.Update(context.Background(), l, nil), ErrInvalid)
}

func TestClosedStoreSaysSo(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")
	ctx := context.Background()
	require.ErrorIs(t, s.View(ctx, func(syncer.ReadTx) error { return nil }), syncer.ErrClosed)
	require.ErrorIs(t, s.Update(ctx, l, func(syncer.Tx) error { return nil }), syncer.ErrClosed)
	_, err := s.AcquireLease(ctx, "incident", "a", time.Minute)
	require.ErrorIs(t, err, syncer.ErrClosed)
	require.ErrorIs(t, s.ReleaseLease(ctx, l), syncer.ErrClosed)
}

func TestPairsWalkWhileWriting(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		for i := range 50 {
			require.NoError(t, tx.PutPair(pair("incident", fmt.Sprintf("sn%02d", i), fmt.Sprintf("inc_%02d", i))))
		}
		return nil
	})
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		var seen []string
		require.NoError(t, tx.Pairs("incident", func(p *syncer.Pair) bool {
			seen = append(seen, p.SNID)
			if p.SNID < "sn25" {
				p.Tombstone = &syncer.Tombstone{At: t0, Side: "servicenow"}
				p.SFID = "moved_" + p.SFID // rewrite the pair and its index entry
				require.NoError(t, tx.PutPair(p))
			} else {
				require.NoError(t, tx.DeletePair(p.Table, p.SNID))
			}
			return true
		}))
		assert.Len(t, seen, 50, "every pair visited once, whatever fn wrote")
		assert.IsIncreasing(t, seen)
		return nil
	})
	mustView(t, s, func(tx syncer.ReadTx) error {
		n, _ := tx.CountPairs("incident")
		assert.Equal(t, 25, n)
		p, _ := tx.PairBySF("incident", "moved_inc_03")
		require.NotNil(t, p)
		assert.NotNil(t, p.Tombstone)
		p, _ = tx.PairBySF("incident", "inc_03")
		assert.Nil(t, p)
		return nil
	})
	assert.Equal(t, 25, bucketLen(t, s, bktIdxSF))
}

func TestDeadLetterIndexFollowsEachEntry(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	put := func(e syncer.DLQEntry) {
		t.Helper()
		mustUpdate(t, s, l, func(tx syncer.Tx) error { return tx.PutDLQ(&e) })
	}
	dueIDs := func(now time.Time) []string {
		t.Helper()
		var ids []string
		mustView(t, s, func(tx syncer.ReadTx) error {
			due, err := tx.DueDLQ("incident/sn", now, 0)
			require.NoError(t, err)
			for _, e := range due {
				ids = append(ids, e.SourceID)
			}
			return nil
		})
		return ids
	}
	put(syncer.DLQEntry{Stream: "incident/sn", SourceID: "a", NextAttempt: t0.Add(time.Minute)})
	put(syncer.DLQEntry{Stream: "incident/sn", SourceID: "b", NextAttempt: t0.Add(2 * time.Minute)})
	put(syncer.DLQEntry{Stream: "incident/sn", SourceID: "c", NextAttempt: t0.Add(time.Minute)})
	put(syncer.DLQEntry{Stream: "incident/snx", SourceID: "z", NextAttempt: t0})
	assert.Equal(t, []string{"a", "c", "b"}, dueIDs(t0.Add(time.Hour)), "by time, ties by source id, one stream only")
	assert.Equal(t, []string{"a", "c"}, dueIDs(t0.Add(time.Minute)), "due at exactly now")
	assert.Empty(t, dueIDs(t0.Add(time.Minute-time.Nanosecond)))

	put(syncer.DLQEntry{Stream: "incident/sn", SourceID: "a", NextAttempt: t0.Add(3 * time.Minute), Attempts: 2})
	assert.Equal(t, []string{"c", "b", "a"}, dueIDs(t0.Add(time.Hour)), "a moved to its new time")
	put(syncer.DLQEntry{Stream: "incident/sn", SourceID: "b", NextAttempt: t0.Add(2 * time.Minute), Permanent: true})
	assert.Equal(t, []string{"c", "a"}, dueIDs(t0.Add(time.Hour)), "a permanent entry is never due")
	put(syncer.DLQEntry{Stream: "incident/sn", SourceID: "b", NextAttempt: time.Time{}})
	assert.Equal(t, []string{"b", "c", "a"}, dueIDs(t0.Add(time.Hour)), "made retryable again, with a zero time")
	mustUpdate(t, s, l, func(tx syncer.Tx) error { return tx.DeleteDLQ("incident/sn", "c") })
	assert.Equal(t, []string{"b", "a"}, dueIDs(t0.Add(time.Hour)))
	assert.Equal(t, 3, bucketLen(t, s, bktDLQDue), "one index key per retryable entry, no stale ones")
}

func TestConflictsNewestFirstAcrossTables(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	for i := range 6 {
		table := []string{"incident", "problem", "incidentx"}[i%3]
		mustUpdate(t, s, l, func(tx syncer.Tx) error {
			return tx.AddConflict(&syncer.Conflict{Table: table, Key: fmt.Sprintf("k%d", i)})
		})
	}
	s = reopen(t, s)
	keys := func(table string, limit int) []string {
		var out []string
		mustView(t, s, func(tx syncer.ReadTx) error {
			c, err := tx.Conflicts(table, limit)
			require.NoError(t, err)
			for _, x := range c {
				out = append(out, x.Key)
			}
			return nil
		})
		return out
	}
	assert.Equal(t, []string{"k3", "k0"}, keys("incident", 0))
	assert.Equal(t, []string{"k5"}, keys("incidentx", 1), "the last table in key order")
	assert.Equal(t, []string{"k4", "k1"}, keys("problem", 10))
	assert.Empty(t, keys("change_request", 0))
}

func TestBackupIsAUsableStore(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(pair("incident", "sn1", "inc_1")))
		return tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "state"})
	})
	var buf bytes.Buffer
	n, err := s.Backup(context.Background(), &buf)
	require.NoError(t, err)
	assert.Equal(t, int64(buf.Len()), n)
	mustUpdate(t, s, l, func(tx syncer.Tx) error { return tx.DeletePair("incident", "sn1") })

	restored := filepath.Join(t.TempDir(), "restored.db")
	require.NoError(t, os.WriteFile(restored, buf.Bytes(), 0o600))
	r := openAt(t, restored)
	mustView(t, r, func(tx syncer.ReadTx) error {
		p, _ := tx.PairBySF("incident", "inc_1")
		assert.Equal(t, pair("incident", "sn1", "inc_1"), p, "the backup holds the state as of the backup")
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Backup(ctx, &bytes.Buffer{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestCompactToShrinksAndKeepsEverything(t *testing.T) {
	s := openTemp(t, WithNoSync())
	l := mustLease(t, s, "incident")
	for b := range 5 {
		mustUpdate(t, s, l, func(tx syncer.Tx) error {
			for i := range 400 {
				require.NoError(t, tx.PutPair(pair("incident", fmt.Sprintf("sn%d-%03d", b, i), fmt.Sprintf("inc%d-%03d", b, i))))
			}
			return nil
		})
	}
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		for b := range 5 {
			for i := range 400 {
				if b > 0 || i >= 10 {
					require.NoError(t, tx.DeletePair("incident", fmt.Sprintf("sn%d-%03d", b, i)))
				}
			}
		}
		return tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "before"})
	})
	dst := filepath.Join(t.TempDir(), "compact.db")
	require.NoError(t, s.CompactTo(context.Background(), dst))
	require.Error(t, s.CompactTo(context.Background(), dst), "an existing file is never overwritten")

	big, err := s.Size()
	require.NoError(t, err)
	c := openAt(t, dst)
	small, err := c.Size()
	require.NoError(t, err)
	assert.Less(t, small, big/2)
	want := readState(t, s, []string{"incident"}, nil, []string{"inc0-005", "inc1-005"}, nil, t0)
	assert.Equal(t, want, readState(t, c, []string{"incident"}, nil, []string{"inc0-005", "inc1-005"}, nil, t0))
	// The conflict sequence moved over too: a new conflict sorts after the old.
	cl := mustLease(t, c, "incident")
	mustUpdate(t, c, cl, func(tx syncer.Tx) error { return tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "after"}) })
	mustView(t, c, func(tx syncer.ReadTx) error {
		cs, _ := tx.Conflicts("incident", 0)
		require.Len(t, cs, 2)
		assert.Equal(t, "after", cs[0].Key)
		return nil
	})
}
