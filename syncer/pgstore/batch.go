package pgstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
)

// pairBatchMax is the most pairs one putPairs statement writes; PutPair
// flushes a full batch before it takes another pair.
const pairBatchMax = 1000

type pairKey struct{ table, id string }

// pairBatch holds the pairs PutPair took and has not written yet, encoded
// at the time of the put (the caller may reuse its Pair), as the columns of
// one putPairs statement. Each (table, ServiceNow id) appears once: a
// second put replaces the first in place. bySF maps the StackFlow ids of
// the batch to their ServiceNow ids, so a duplicate within the batch is
// refused at once.
type pairBatch struct {
	pos  map[pairKey]int    // (table, ServiceNow id) -> index
	bySF map[pairKey]string // (table, StackFlow id) -> ServiceNow id

	tbl, snID, sfID, origin, hashSN       []string
	snapSN, snapSF, pending, tomb, writes []*string
	verSN, verSF                          []int64
	updSN, updSF, firstSynced, lastSynced []time.Time
	backref                               []bool
}

func (b *pairBatch) len() int { return len(b.tbl) }

func (b *pairBatch) reset() { *b = pairBatch{} }

// heldBy returns the ServiceNow id of the batched pair holding sfID.
func (b *pairBatch) heldBy(table, sfID string) (string, bool) {
	sn, ok := b.bySF[pairKey{table, sfID}]
	return sn, ok
}

// add puts an encoded pair in the batch, replacing an earlier put of the
// same pair and moving its StackFlow id.
func (b *pairBatch) add(p *syncer.Pair, snapSN, snapSF, pending, tomb *string) {
	if b.pos == nil {
		b.pos, b.bySF = map[pairKey]int{}, map[pairKey]string{}
	}
	k := pairKey{p.Table, p.SNID}
	i, again := b.pos[k]
	if again {
		if old := b.sfID[i]; old != "" && b.bySF[pairKey{p.Table, old}] == p.SNID {
			delete(b.bySF, pairKey{p.Table, old})
		}
	} else {
		i = b.len()
		b.pos[k] = i
		b.tbl, b.snID, b.sfID, b.origin, b.hashSN = append(b.tbl, ""), append(b.snID, ""), append(b.sfID, ""), append(b.origin, ""), append(b.hashSN, "")
		b.snapSN, b.snapSF, b.pending, b.tomb, b.writes = append(b.snapSN, nil), append(b.snapSF, nil), append(b.pending, nil), append(b.tomb, nil), append(b.writes, nil)
		b.verSN, b.verSF = append(b.verSN, 0), append(b.verSF, 0)
		b.updSN, b.updSF, b.firstSynced, b.lastSynced = append(b.updSN, time.Time{}), append(b.updSF, time.Time{}), append(b.firstSynced, time.Time{}), append(b.lastSynced, time.Time{})
		b.backref = append(b.backref, false)
	}
	if p.SFID != "" {
		b.bySF[pairKey{p.Table, p.SFID}] = p.SNID
	}
	b.tbl[i], b.snID[i], b.sfID[i], b.origin[i], b.hashSN[i] = p.Table, p.SNID, p.SFID, p.Origin, p.HashSN
	b.snapSN[i], b.snapSF[i], b.pending[i], b.tomb[i], b.writes[i] = snapSN, snapSF, pending, tomb, timesLiteral(p.Writes)
	b.verSN[i], b.verSF[i] = p.VerSN, p.VerSF
	b.updSN[i], b.updSF[i], b.firstSynced[i], b.lastSynced[i] = p.UpdatedSN, p.UpdatedSF, p.FirstSynced, p.LastSynced
	b.backref[i] = p.BackrefPending
}

// args returns the putPairs parameters after the fence's.
func (b *pairBatch) args() []any {
	return []any{b.tbl, b.snID, b.sfID, b.snapSN, b.snapSF, b.verSN, b.verSF, b.updSN, b.updSF, b.origin,
		b.backref, b.pending, b.tomb, b.firstSynced, b.lastSynced, b.writes, b.hashSN}
}

// timesLiteral encodes a pair's write times as a timestamptz[] literal (an
// array column cannot be one element of an unnest argument), in UTC to the
// microsecond, truncated as pgx truncates single times; nil for a nil slice.
func timesLiteral(ts []time.Time) *string {
	if ts == nil {
		return nil
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, t := range ts {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('"')
		sb.WriteString(t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00"))
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	s := sb.String()
	return &s
}

// flush writes the batched pairs in one fenced statement. A fenced batch,
// a duplicate StackFlow id (against a pair outside the batch) and a
// failed statement all fail the transaction: the puts that were accepted
// cannot be written.
func (t *tx) flush() error {
	if t.pairs.len() == 0 {
		return nil
	}
	n := t.pairs.len()
	var (
		held                      bool
		dupTable, dupSF, want, by *string
		written                   int64
	)
	err := t.pgtx.QueryRow(t.ctx, t.s.q.putPairs, append(t.fence[:3:3], t.pairs.args()...)...).
		Scan(&held, &dupTable, &dupSF, &want, &by, &written)
	t.pairs.reset()
	switch {
	case err != nil && pgCode(err) == codeUniqueViolation:
		return t.fail(fmt.Errorf("%w: writing %d pairs: a StackFlow id is paired twice (by a concurrent transaction, or taken in this batch before its pair moved off it): %w",
			syncer.ErrDuplicatePair, n, err))
	case err != nil:
		return t.fail(t.s.wrap(fmt.Sprintf("write %d pairs", n), err))
	case !held:
		return t.fail(t.fencedErr(fmt.Sprintf("write %d pairs", n)))
	case by != nil:
		return t.fail(fmt.Errorf("%w: StackFlow id %s of %s is already paired with %s, so %s cannot have it (nothing of this Update is written)",
			syncer.ErrDuplicatePair, *dupSF, *dupTable, *by, *want))
	case written != int64(n):
		return t.fail(fmt.Errorf("pgstore: write %d pairs: %d written", n, written))
	}
	return nil
}
