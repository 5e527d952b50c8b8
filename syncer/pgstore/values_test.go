package pgstore

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
)

func TestPairRoundTrip(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	berlin := time.FixedZone("CET", 3600)
	cases := []struct {
		name      string
		put, want *syncer.Pair
	}{
		{
			name: "a pair with nothing but its ids keeps nil maps, zero times and no writes",
			put:  &syncer.Pair{Table: "incident", SNID: "bare"},
			want: &syncer.Pair{Table: "incident", SNID: "bare"},
		},
		{
			name: "empty maps and an empty write list stay empty, not nil",
			put:  &syncer.Pair{Table: "incident", SNID: "empty", SnapSN: map[string]string{}, SnapSF: map[string]string{}, Writes: []time.Time{}},
			want: &syncer.Pair{Table: "incident", SNID: "empty", SnapSN: map[string]string{}, SnapSF: map[string]string{}, Writes: []time.Time{}},
		},
		{
			name: "a one-way pair keeps only the hash of its ServiceNow side",
			put:  &syncer.Pair{Table: "cmdb_ci", SNID: "ci1", SFID: "ci_1", HashSN: "sha256:9f86d081", SnapSF: map[string]string{"name": "web01"}},
			want: &syncer.Pair{Table: "cmdb_ci", SNID: "ci1", SFID: "ci_1", HashSN: "sha256:9f86d081", SnapSF: map[string]string{"name": "web01"}},
		},
		{
			name: "times come back in UTC at the same instant, to the microsecond",
			put: &syncer.Pair{Table: "incident", SNID: "times", UpdatedSN: time.Date(2026, 11, 28, 11, 0, 0, 123456789, berlin),
				Writes: []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC)}},
			want: &syncer.Pair{Table: "incident", SNID: "times", UpdatedSN: time.Date(2026, 11, 28, 10, 0, 0, 123456000, time.UTC),
				Writes: []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 999_999_000, time.UTC)}},
		},
		{
			name: "values with quotes, backslashes, newlines and non-Latin text are kept exactly",
			put: &syncer.Pair{Table: "incident", SNID: "text", SFID: "inc_ü", Origin: "stackflow",
				SnapSN: map[string]string{"description": "line 1\nline \"2\" \\ 'three'", "title": "Störung – 網路 🚨", "": "empty key"},
				VerSN:  -1, VerSF: 1 << 62},
			want: &syncer.Pair{Table: "incident", SNID: "text", SFID: "inc_ü", Origin: "stackflow",
				SnapSN: map[string]string{"description": "line 1\nline \"2\" \\ 'three'", "title": "Störung – 網路 🚨", "": "empty key"},
				VerSN:  -1, VerSF: 1 << 62},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustUpdate(t, s, l, func(tx syncer.Tx) error { return tx.PutPair(tc.put) })
			mustView(t, s, func(tx syncer.ReadTx) error {
				got, err := tx.PairBySN(tc.want.Table, tc.want.SNID)
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return nil
			})
		})
	}
}

// TestStoredShape: what an operator sees in psql: snapshots as queryable
// JSON, times as timestamptz, ids as text.
func TestStoredShape(t *testing.T) {
	db := testDB(t)
	s := openStore(t, db, WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "9d38", SFID: "inc_42", UpdatedSN: t0,
			SnapSN: map[string]string{"state": "2"}, Tombstone: &syncer.Tombstone{Side: "servicenow", VerSN: 3}})
	})
	var state, side string
	var updated time.Time
	require.NoError(t, adminPool(t, db).QueryRow(context.Background(),
		"SELECT snap_sn->>'state', tombstone->>'side', updated_sn FROM "+s.Schema()+".pairs WHERE tbl = 'incident' AND sf_id = 'inc_42'").
		Scan(&state, &side, &updated))
	assert.Equal(t, "2", state)
	assert.Equal(t, "servicenow", side)
	assert.True(t, t0.Equal(updated))
}

func TestStreamRoundTrip(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	st := &syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: time.Date(2026, 11, 28, 10, 0, 0, 1, time.UTC), ID: "a"},
		Missing: map[string]int{}, LastError: "bad \x00 byte and \xff"}
	mustUpdate(t, s, l, func(tx syncer.Tx) error { return tx.PutStream(st) })
	mustView(t, s, func(tx syncer.ReadTx) error {
		got, err := tx.Stream("incident/sn")
		require.NoError(t, err)
		assert.Equal(t, st.Cursor, got.Cursor, "stream state is a JSON document: nanoseconds kept")
		assert.Nil(t, got.Missing, "an empty Missing map comes back nil (omitempty)")
		assert.Equal(t, "bad \uFFFD byte and \uFFFD", got.LastError, "an error message is stored as valid UTF-8")
		return nil
	})
	assert.Equal(t, "bad \x00 byte and \xff", st.LastError, "the caller's record is not changed")
}

func TestDLQLastErrorIsCleaned(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sn", SourceID: "s1", LastError: "502 <html>\x00\xfe</html>"})
	})
	mustView(t, s, func(tx syncer.ReadTx) error {
		e, err := tx.DLQEntry("incident/sn", "s1")
		require.NoError(t, err)
		assert.Equal(t, "502 <html>\uFFFD\uFFFD</html>", e.LastError)
		return nil
	})
}

func TestBadInputIsRefusedAndTheTransactionGoesOn(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	long := strings.Repeat("x", MaxIDLen+1)
	cases := []struct {
		name  string
		write func(tx syncer.Tx) error
	}{
		{"a nil pair", func(tx syncer.Tx) error { return tx.PutPair(nil) }},
		{"a pair without a ServiceNow id", func(tx syncer.Tx) error { return tx.PutPair(&syncer.Pair{Table: "incident"}) }},
		{"a ServiceNow id with a NUL byte", func(tx syncer.Tx) error { return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "a\x00b"}) }},
		{"a StackFlow id over MaxIDLen", func(tx syncer.Tx) error { return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "a", SFID: long}) }},
		{"a snapshot value that is not UTF-8", func(tx syncer.Tx) error {
			return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "a", SnapSN: map[string]string{"title": "\xff"}})
		}},
		{"a snapshot value with a NUL byte", func(tx syncer.Tx) error {
			return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "a", SnapSF: map[string]string{"title": "a\x00"}})
		}},
		{"a pending value with a NUL byte", func(tx syncer.Tx) error {
			return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "a", Pending: &syncer.PendingWrite{SN: map[string]string{"k": "\x00"}}})
		}},
		{"a stream without an id", func(tx syncer.Tx) error { return tx.PutStream(&syncer.StreamState{}) }},
		{"a cursor id with a NUL byte", func(tx syncer.Tx) error {
			return tx.PutStream(&syncer.StreamState{ID: "s", Cursor: syncer.Cursor{ID: "\x00"}})
		}},
		{"a dead-letter entry without a source id", func(tx syncer.Tx) error { return tx.PutDLQ(&syncer.DLQEntry{Stream: "s"}) }},
		{"an intent without a stream", func(tx syncer.Tx) error { return tx.PutIntent(&syncer.Intent{SourceID: "x"}) }},
		{"a nil conflict", func(tx syncer.Tx) error { return tx.AddConflict(nil) }},
		{"a conflict value with a NUL byte", func(tx syncer.Tx) error {
			return tx.AddConflict(&syncer.Conflict{Table: "incident", SNValue: "\x00"})
		}},
		{"a delete with an id over MaxIDLen", func(tx syncer.Tx) error { return tx.DeletePair("incident", long) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustUpdate(t, s, l, func(tx syncer.Tx) error {
				require.ErrorIs(t, tc.write(tx), ErrInvalid)
				return tx.PutStream(&syncer.StreamState{ID: "after/" + tc.name})
			})
			mustView(t, s, func(tx syncer.ReadTx) error {
				st, err := tx.Stream("after/" + tc.name)
				require.NoError(t, err)
				assert.NotNil(t, st, "the refused write left the transaction usable")
				return nil
			})
		})
	}
}

func TestDuplicatePairLeavesTheTransactionUsable(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_1"}))
		err := tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn2", SFID: "inc_1"})
		require.ErrorIs(t, err, syncer.ErrDuplicatePair)
		assert.Contains(t, err.Error(), "sn1", "the error names the pair that holds the id")
		return tx.PutDLQ(&syncer.DLQEntry{Stream: "incident/sf", SourceID: "inc_1", Permanent: true, LastError: err.Error()})
	})
	mustView(t, s, func(tx syncer.ReadTx) error {
		e, err := tx.DLQEntry("incident/sf", "inc_1")
		require.NoError(t, err)
		assert.NotNil(t, e, "the engine can record the duplicate and go on")
		return nil
	})
}

func TestViewIsReadOnlyAndTxDiesWithItsCallback(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	var kept syncer.ReadTx
	mustView(t, s, func(tx syncer.ReadTx) error {
		w, ok := tx.(syncer.Tx)
		require.True(t, ok)
		require.ErrorIs(t, w.PutStream(&syncer.StreamState{ID: "x"}), ErrInvalid, "a View cannot write")
		kept = tx
		return nil
	})
	_, err := kept.Stream("x")
	require.ErrorIs(t, err, ErrTxDone)
	var keptTx syncer.Tx
	mustUpdate(t, s, l, func(tx syncer.Tx) error { keptTx = tx; return nil })
	require.ErrorIs(t, keptTx.PutStream(&syncer.StreamState{ID: "x"}), ErrTxDone)
	require.ErrorIs(t, s.View(context.Background(), nil), ErrInvalid)
	require.ErrorIs(t, s.Update(context.Background(), l, nil), ErrInvalid)
}

// TestPairsPages: Pairs reads in pages, in byte order of the ServiceNow
// id, and fn may write through the transaction while it walks.
func TestPairsPages(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	n := 2*pairsPageSize + 17
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		for i := range n {
			if err := tx.PutPair(&syncer.Pair{Table: "incident", SNID: fmt.Sprintf("sn%05d", i), SFID: fmt.Sprintf("inc_%d", i)}); err != nil {
				return err
			}
		}
		// Byte order, not a locale's: upper case sorts before lower case.
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "SN-upper"})
	})
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		var ids []string
		require.NoError(t, tx.Pairs("incident", func(p *syncer.Pair) bool {
			ids = append(ids, p.SNID)
			p.VerSN++
			require.NoError(t, tx.PutPair(p))
			return true
		}))
		require.Len(t, ids, n+1)
		assert.Equal(t, "SN-upper", ids[0])
		assert.Equal(t, fmt.Sprintf("sn%05d", n-1), ids[n])
		return nil
	})
	mustView(t, s, func(tx syncer.ReadTx) error {
		count := 0
		require.NoError(t, tx.Pairs("incident", func(p *syncer.Pair) bool {
			assert.Equal(t, int64(1), p.VerSN, "%s updated once", p.SNID)
			count++
			return count < pairsPageSize+3
		}))
		assert.Equal(t, pairsPageSize+3, count, "iteration stops when fn says so, across a page boundary")
		return nil
	})
}

// TestRecordTypesHaveNoUnmappedFields fails when a syncer record type
// gains a field pgstore does not store in a column: add the column in a
// new migration, to the statements and to the scan, then here.
func TestRecordTypesHaveNoUnmappedFields(t *testing.T) {
	mapped := map[reflect.Type][]string{
		reflect.TypeFor[syncer.Pair](): {"Table", "SNID", "SFID", "SnapSN", "SnapSF", "HashSN", "VerSN", "VerSF", "UpdatedSN", "UpdatedSF",
			"Origin", "BackrefPending", "Pending", "Tombstone", "FirstSynced", "LastSynced", "Writes"},
		reflect.TypeFor[syncer.DLQEntry](): {"Stream", "SourceID", "Permanent", "Deferred", "Attempts", "NextAttempt", "LastError", "FirstFailed"},
		reflect.TypeFor[syncer.Intent]():   {"Stream", "SourceID", "Attempt", "Created"},
		reflect.TypeFor[syncer.Conflict](): {"Time", "Table", "SNID", "SFID", "Key", "SNValue", "SFValue", "Winner", "Rule"},
		reflect.TypeFor[syncer.Lease]():    {"Group", "Holder", "Token", "Expires"},
	}
	for typ, fields := range mapped {
		var have []string
		for i := range typ.NumField() {
			have = append(have, typ.Field(i).Name)
		}
		assert.ElementsMatch(t, fields, have, "%s: the fields pgstore stores in columns", typ)
	}
}
