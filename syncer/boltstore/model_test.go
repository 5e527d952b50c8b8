package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"

	"github.com/stackflow-tech/snowsync/syncer"
)

// The property test drives the bbolt store and syncer.MemStore (the model)
// with the same random transactions, and checks after every step that
// every read agrees and that the bbolt indexes match their records. Small
// id sets make collisions (duplicate StackFlow ids, moved ids, equal
// retry times, tables that prefix each other) common.
var (
	mTables  = []string{"incident", "incident_task", "problem"}
	mSNIDs   = []string{"a", "b", "c", "d"}
	mSFIDs   = []string{"", "x", "y", "z"}
	mStreams = []string{"incident/sn", "incident/sn2", "problem/sf"}
	mSources = []string{"a", "b", "c"}
	mNows    = []time.Duration{-time.Minute, 0, 2 * time.Minute, 10 * time.Minute}
)

type modelOp struct {
	Kind      string
	Table     string
	SN, SF    string
	Stream    string
	Source    string
	Permanent bool
	At        time.Duration
	N         int
}

func (o modelOp) String() string { return fmt.Sprintf("%+v", struct{ modelOp }{o}) }

var opKinds = []string{"put_pair", "put_pair", "put_pair", "delete_pair", "put_dlq", "put_dlq", "delete_dlq",
	"put_intent", "delete_intent", "add_conflict", "put_stream", "read_pairs", "read_due"}

func genOp() *rapid.Generator[modelOp] {
	return rapid.Custom(func(t *rapid.T) modelOp {
		return modelOp{
			Kind:      rapid.SampledFrom(opKinds).Draw(t, "kind"),
			Table:     rapid.SampledFrom(mTables).Draw(t, "table"),
			SN:        rapid.SampledFrom(mSNIDs).Draw(t, "sn"),
			SF:        rapid.SampledFrom(mSFIDs).Draw(t, "sf"),
			Stream:    rapid.SampledFrom(mStreams).Draw(t, "stream"),
			Source:    rapid.SampledFrom(mSources).Draw(t, "source"),
			Permanent: rapid.IntRange(0, 3).Draw(t, "permanent") == 0,
			At:        time.Duration(rapid.IntRange(0, 4).Draw(t, "at")) * time.Minute,
			N:         rapid.IntRange(0, 3).Draw(t, "n"),
		}
	})
}

func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, syncer.ErrDuplicatePair):
		return "duplicate pair"
	default:
		return "error"
	}
}

// apply runs one op in tx and returns what a caller would observe: the
// op's outcome, and reads of what it touched (so read-your-writes is
// compared too).
func apply(tx syncer.Tx, o modelOp) ([]any, error) {
	var err error
	var seen []any
	switch o.Kind {
	case "put_pair":
		p := &syncer.Pair{Table: o.Table, SNID: o.SN, SFID: o.SF, VerSN: int64(o.N), UpdatedSN: t0.Add(o.At),
			SnapSN: map[string]string{"state": fmt.Sprint(o.N)}, Origin: "servicenow"}
		if o.N == 0 {
			p.Tombstone = &syncer.Tombstone{At: t0, Side: "stackflow"}
			p.SnapSN = nil
		}
		err = tx.PutPair(p)
	case "delete_pair":
		err = tx.DeletePair(o.Table, o.SN)
	case "put_dlq":
		err = tx.PutDLQ(&syncer.DLQEntry{Stream: o.Stream, SourceID: o.Source, Permanent: o.Permanent, Attempts: o.N,
			NextAttempt: t0.Add(o.At), LastError: "503", FirstFailed: t0})
	case "delete_dlq":
		err = tx.DeleteDLQ(o.Stream, o.Source)
	case "put_intent":
		err = tx.PutIntent(&syncer.Intent{Stream: o.Stream, SourceID: o.Source, Attempt: o.N, Created: t0.Add(o.At)})
	case "delete_intent":
		err = tx.DeleteIntent(o.Stream, o.Source)
	case "add_conflict":
		err = tx.AddConflict(&syncer.Conflict{Time: t0.Add(o.At), Table: o.Table, SNID: o.SN, SFID: o.SF, Key: fmt.Sprint("k", o.N)})
	case "put_stream":
		st := &syncer.StreamState{ID: o.Stream, Cursor: syncer.Cursor{Time: t0.Add(o.At), ID: o.Source}, Initialized: o.Permanent}
		if o.N > 0 {
			st.Missing = map[string]int{o.Source: o.N}
		}
		err = tx.PutStream(st)
	case "read_pairs":
		var ids []string
		err = tx.Pairs(o.Table, func(p *syncer.Pair) bool { ids = append(ids, p.SNID); return o.N == 0 || len(ids) < o.N })
		n, cerr := tx.CountPairs(o.Table)
		seen = append(seen, ids, n, errClass(cerr))
	case "read_due":
		due, derr := tx.DueDLQ(o.Stream, t0.Add(o.At), o.N)
		seen = append(seen, due, errClass(derr))
	}
	seen = append([]any{o.Kind, errClass(err)}, seen...)
	p, perr := tx.PairBySN(o.Table, o.SN)
	q, qerr := tx.PairBySF(o.Table, o.SF)
	e, eerr := tx.DLQEntry(o.Stream, o.Source)
	i, ierr := tx.Intent(o.Stream, o.Source)
	seen = append(seen, p, q, e, i, errClass(errors.Join(perr, qerr, eerr, ierr)))
	return seen, err
}

var errAbort = errors.New("model: abort")

// runTx runs ops in one Update. A failed op ends the transaction unless
// ignoreErrs; abort makes fn fail at the end, so everything rolls back.
func runTx(s syncer.Store, l syncer.Lease, ops []modelOp, ignoreErrs, abort bool) ([]any, string) {
	var trace []any
	err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
		for _, o := range ops {
			seen, err := apply(tx, o)
			trace = append(trace, seen)
			if err != nil && !ignoreErrs {
				return err
			}
		}
		if abort {
			return errAbort
		}
		return nil
	})
	if errors.Is(err, errAbort) {
		return trace, "aborted"
	}
	return trace, errClass(err)
}

// snapshot reads everything the model test can have written.
func snapshot(t require.TestingT, s syncer.Store) []any {
	var out []any
	read := func(label string, v any, err error) {
		require.NoError(t, err, label)
		out = append(out, label, v)
	}
	require.NoError(t, s.View(context.Background(), func(tx syncer.ReadTx) error {
		for _, table := range mTables {
			var all []*syncer.Pair
			err := tx.Pairs(table, func(p *syncer.Pair) bool { all = append(all, p); return true })
			read("pairs "+table, all, err)
			n, err := tx.CountPairs(table)
			read("count "+table, n, err)
			for _, sn := range mSNIDs {
				p, err := tx.PairBySN(table, sn)
				read("by sn "+table+"/"+sn, p, err)
			}
			for _, sf := range mSFIDs {
				p, err := tx.PairBySF(table, sf)
				read("by sf "+table+"/"+sf, p, err)
			}
			for _, limit := range []int{0, 2} {
				c, err := tx.Conflicts(table, limit)
				read(fmt.Sprint("conflicts ", table, limit), c, err)
			}
		}
		for _, stream := range mStreams {
			st, err := tx.Stream(stream)
			read("stream "+stream, st, err)
			all, err := tx.DLQEntries(stream)
			read("dlq "+stream, all, err)
			for _, now := range mNows {
				for _, limit := range []int{0, 2} {
					due, err := tx.DueDLQ(stream, t0.Add(now), limit)
					read(fmt.Sprint("due ", stream, now, limit), due, err)
				}
			}
			for _, src := range mSources {
				e, err := tx.DLQEntry(stream, src)
				read("dlq entry "+stream+"/"+src, e, err)
				i, err := tx.Intent(stream, src)
				read("intent "+stream+"/"+src, i, err)
			}
		}
		return nil
	}))
	return out
}

// checkIndexes checks idx_sf and dlq_due against the records: one index
// key per indexed record, each pointing at a record that matches it.
func checkIndexes(s *Store) error {
	return s.db.View(func(btx *bolt.Tx) error {
		pairs, idx := btx.Bucket(bktPairs), btx.Bucket(bktIdxSF)
		want := 0
		if err := pairs.ForEach(func(k, v []byte) error {
			p, err := decode[syncer.Pair]("pair", k, v)
			if err != nil {
				return err
			}
			if p.SFID == "" {
				return nil
			}
			want++
			if got := idx.Get(key2(p.Table, p.SFID)); string(got) != p.SNID {
				return fmt.Errorf("pair %q: idx_sf says %q", k, got)
			}
			return nil
		}); err != nil {
			return err
		}
		if n := idx.Stats().KeyN; n != want {
			return fmt.Errorf("idx_sf has %d keys for %d pairs with a StackFlow id", n, want)
		}
		dlq, due := btx.Bucket(bktDLQ), btx.Bucket(bktDLQDue)
		want = 0
		if err := dlq.ForEach(func(k, v []byte) error {
			e, err := decode[syncer.DLQEntry]("entry", k, v)
			if err != nil {
				return err
			}
			if e.Permanent {
				return nil
			}
			want++
			if due.Get(dueKey(e.Stream, e.NextAttempt, e.SourceID)) == nil {
				return fmt.Errorf("entry %q has no dlq_due key at %s", k, e.NextAttempt)
			}
			return nil
		}); err != nil {
			return err
		}
		if n := due.Stats().KeyN; n != want {
			return fmt.Errorf("dlq_due has %d keys for %d retryable entries", n, want)
		}
		return nil
	})
}

func TestMatchesTheMemStoreModel(t *testing.T) {
	dir := t.TempDir()
	var files atomic.Int64
	clock := func() time.Time { return t0 }
	rapid.Check(t, func(rt *rapid.T) {
		path := filepath.Join(dir, fmt.Sprintf("model-%d.db", files.Add(1)))
		s, err := Open(path, WithClock(clock), WithNoSync())
		require.NoError(rt, err)
		rt.Cleanup(func() { _ = s.Close() })
		model := syncer.NewMemStore()
		model.Now = clock
		ctx := context.Background()
		ls, err := s.AcquireLease(ctx, "all", "model", time.Hour)
		require.NoError(rt, err)
		lm, err := model.AcquireLease(ctx, "all", "model", time.Hour)
		require.NoError(rt, err)

		rt.Repeat(map[string]func(*rapid.T){
			"update": func(rt *rapid.T) {
				ops := rapid.SliceOfN(genOp(), 1, 6).Draw(rt, "ops")
				ignoreErrs := rapid.Bool().Draw(rt, "ignore errors")
				abort := rapid.IntRange(0, 4).Draw(rt, "abort") == 0
				gotTrace, gotRes := runTx(s, ls, ops, ignoreErrs, abort)
				wantTrace, wantRes := runTx(model, lm, ops, ignoreErrs, abort)
				require.Equal(rt, wantRes, gotRes, "transaction outcome")
				require.Equal(rt, wantTrace, gotTrace, "reads inside the transaction")
			},
			"reopen": func(rt *rapid.T) {
				require.NoError(rt, s.Close())
				s, err = Open(path, WithClock(clock), WithNoSync())
				require.NoError(rt, err)
			},
			"": func(rt *rapid.T) {
				require.NoError(rt, checkIndexes(s))
				require.Equal(rt, snapshot(rt, model), snapshot(rt, s))
			},
		})
	})
}

// TestModelCheckCatchesAStaleIndex makes sure the invariant check can fail:
// a dangling idx_sf key and a dlq_due key of a permanent entry are found.
func TestModelCheckCatchesAStaleIndex(t *testing.T) {
	s := openTemp(t)
	l := mustLease(t, s, "incident")
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(pair("incident", "sn1", "inc_1")))
		return tx.PutDLQ(&syncer.DLQEntry{Stream: "s", SourceID: "a", Permanent: true, NextAttempt: t0})
	})
	require.NoError(t, checkIndexes(s))
	require.NoError(t, s.db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bktIdxSF).Put(key2("incident", "inc_old"), []byte("sn1")) }))
	require.ErrorContains(t, checkIndexes(s), "idx_sf has 2 keys for 1 pairs")
	require.NoError(t, s.db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bktIdxSF).Delete(key2("incident", "inc_old")) }))
	require.NoError(t, s.db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(bktDLQDue).Put(dueKey("s", t0, "a"), []byte{})
	}))
	require.ErrorContains(t, checkIndexes(s), "dlq_due has 1 keys for 0 retryable entries")
	require.True(t, bytes.HasPrefix(dueKey("s", t0, "a"), prefix("s")))
}
