package pgstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
)

func TestPutPairBatches(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	n := 2*pairBatchMax + 3

	t.Run("more pairs than one batch holds, each put twice", func(t *testing.T) {
		mustUpdate(t, s, l, func(tx syncer.Tx) error {
			for i := range n {
				p := &syncer.Pair{Table: "incident", SNID: fmt.Sprintf("sn%05d", i), SFID: fmt.Sprintf("inc_%d", i), VerSN: 1}
				if err := tx.PutPair(p); err != nil {
					return err
				}
				p.VerSN, p.SFID = 2, fmt.Sprintf("inc_%d_b", i)
				if err := tx.PutPair(p); err != nil {
					return err
				}
			}
			reused := &syncer.Pair{Table: "other", SNID: "sn1", SnapSN: map[string]string{"state": "1"}, VerSN: 1}
			if err := tx.PutPair(reused); err != nil {
				return err
			}
			reused.VerSN, reused.SnapSN["state"] = 99, "changed after the put"
			return nil
		})
		mustView(t, s, func(tx syncer.ReadTx) error {
			c, err := tx.CountPairs("incident")
			require.NoError(t, err)
			assert.Equal(t, n, c)
			p, err := tx.PairBySN("other", "sn1")
			require.NoError(t, err)
			assert.Equal(t, &syncer.Pair{Table: "other", SNID: "sn1", SnapSN: map[string]string{"state": "1"}, VerSN: 1}, p,
				"the batch took the pair as it was when put")
			for _, i := range []int{0, pairBatchMax - 1, pairBatchMax, n - 1} {
				p, err := tx.PairBySN("incident", fmt.Sprintf("sn%05d", i))
				require.NoError(t, err)
				require.NotNil(t, p)
				assert.Equal(t, int64(2), p.VerSN, "the last put wins")
				assert.Equal(t, fmt.Sprintf("inc_%d_b", i), p.SFID)
				old, err := tx.PairBySF("incident", fmt.Sprintf("inc_%d", i))
				require.NoError(t, err)
				assert.Nil(t, old, "the first put's StackFlow id is free")
			}
			return nil
		})
	})

	t.Run("an id moves from one pair to another in one batch", func(t *testing.T) {
		mustUpdate(t, s, l, func(tx syncer.Tx) error {
			require.NoError(t, tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn00000", SFID: "moved"}))
			return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn00001", SFID: "inc_0_b"})
		})
		mustView(t, s, func(tx syncer.ReadTx) error {
			p, err := tx.PairBySF("incident", "inc_0_b")
			require.NoError(t, err)
			require.NotNil(t, p)
			assert.Equal(t, "sn00001", p.SNID)
			return nil
		})
	})

	t.Run("an id taken in a batch before its stored pair moves off it", func(t *testing.T) {
		err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
			require.NoError(t, tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn00003", SFID: "moved"}), "held by a stored pair: found at the write")
			return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn00000", SFID: "elsewhere"})
		})
		require.ErrorIs(t, err, syncer.ErrDuplicatePair, "the same outcome as putting them one at a time")
		mustView(t, s, func(tx syncer.ReadTx) error {
			p, err := tx.PairBySF("incident", "moved")
			require.NoError(t, err)
			require.NotNil(t, p)
			assert.Equal(t, "sn00000", p.SNID, "nothing of the Update was written")
			return nil
		})
	})
}

// TestDuplicateOfAStoredPair: a StackFlow id a stored pair holds is found
// when the batch is written; the Update fails whatever fn does.
func TestDuplicateOfAStoredPair(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_1"})
	})

	var putErr, nextErr error
	err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
		require.NoError(t, tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{ID: "moved"}}))
		putErr = tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn2", SFID: "inc_1"})
		_, nextErr = tx.Stream("incident/sn")
		return nil
	})
	require.NoError(t, putErr, "PutPair only batches")
	require.ErrorIs(t, nextErr, syncer.ErrDuplicatePair, "the next call writes the batch and reports it")
	assert.Contains(t, nextErr.Error(), "sn1")
	require.ErrorIs(t, err, syncer.ErrDuplicatePair)
	mustView(t, s, func(tx syncer.ReadTx) error {
		st, err := tx.Stream("incident/sn")
		require.NoError(t, err)
		assert.Nil(t, st, "nothing of the Update was written")
		p, err := tx.PairBySN("incident", "sn2")
		require.NoError(t, err)
		assert.Nil(t, p)
		return nil
	})

	err = s.Update(context.Background(), l, func(tx syncer.Tx) error {
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn3", SFID: "inc_1"})
	})
	require.ErrorIs(t, err, syncer.ErrDuplicatePair, "found at commit when nothing else follows the put")
}

func TestTimesLiteral(t *testing.T) {
	assert.Nil(t, timesLiteral(nil))
	assert.Equal(t, "{}", *timesLiteral([]time.Time{}))
	cet := time.FixedZone("CET", 3600)
	got := timesLiteral([]time.Time{time.Date(2026, 11, 28, 11, 0, 0, 123456789, cet), {}})
	assert.Equal(t, `{"2026-11-28T10:00:00.123456Z","0001-01-01T00:00:00Z"}`, *got, "UTC, truncated to the microsecond")
}
