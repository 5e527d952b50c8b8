package boltstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stackflow-tech/snowsync/syncer"
)

// tx is the syncer.Tx (and ReadTx) over one bbolt transaction. bbolt reads
// a read-write transaction's own writes natively. Every write checks its
// input and reads what it needs before it changes anything, so a
// validation error (ErrInvalid, syncer.ErrDuplicatePair) leaves the
// transaction consistent; a storage error in the middle of a write is kept
// in failed, and Update rolls back on it even if fn ignored it.
type tx struct {
	writable bool
	done     bool
	failed   error

	streams, pairs, idxSF, dlq, dlqDue, intents, conflicts *bolt.Bucket
}

var (
	_ syncer.Tx         = (*tx)(nil)
	_ syncer.SFIDReader = (*tx)(nil)
)

func newTx(btx *bolt.Tx, writable bool) (*tx, error) {
	t := &tx{writable: writable}
	for _, b := range []struct {
		name []byte
		dst  **bolt.Bucket
	}{
		{bktStreams, &t.streams}, {bktPairs, &t.pairs}, {bktIdxSF, &t.idxSF}, {bktDLQ, &t.dlq},
		{bktDLQDue, &t.dlqDue}, {bktIntents, &t.intents}, {bktConflicts, &t.conflicts},
	} {
		if *b.dst = btx.Bucket(b.name); *b.dst == nil {
			return nil, fmt.Errorf("%w: bucket %s is missing", ErrCorrupt, b.name)
		}
	}
	if writable {
		// Keys that mostly grow at the end (new StackFlow ids, retry
		// times, conflict sequences) pack pages fuller than bbolt's 50%
		// default; the fill percent lives on this transaction's handle.
		t.idxSF.FillPercent = 0.9
		t.pairs.FillPercent = 0.9 // a first load writes sys_ids in order within each second
		t.dlqDue.FillPercent = 0.9
		t.conflicts.FillPercent = 0.9
	}
	return t, nil
}

// finish marks the transaction over: later calls return ErrTxDone instead
// of touching a closed bbolt transaction.
func (t *tx) finish() { t.done = true }

func (t *tx) usable() error {
	if t.done {
		return ErrTxDone
	}
	return nil
}

func (t *tx) writeOK(op string) error {
	if t.done {
		return ErrTxDone
	}
	if !t.writable {
		return fmt.Errorf("%w: %s in a read-only View", ErrInvalid, op)
	}
	return nil
}

// fail records a storage error of a write; Update then rolls back.
func (t *tx) fail(err error) error {
	if t.failed == nil {
		t.failed = err
	}
	return err
}

func (t *tx) put(b *bolt.Bucket, k, v []byte) error {
	if err := b.Put(k, v); err != nil {
		return t.fail(fmt.Errorf("boltstore: write: %w", err))
	}
	return nil
}

func (t *tx) del(b *bolt.Bucket, k []byte) error {
	if err := b.Delete(k); err != nil {
		return t.fail(fmt.Errorf("boltstore: delete: %w", err))
	}
	return nil
}

func decode[T any](what string, k, v []byte) (*T, error) {
	x := new(T)
	if err := json.Unmarshal(v, x); err != nil {
		return nil, fmt.Errorf("%w: %s %q: %w", ErrCorrupt, what, k, err)
	}
	return x, nil
}

func encode(what string, x any) ([]byte, error) {
	v, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be encoded: %w", ErrInvalid, what, err)
	}
	return v, nil
}

// Stream implements syncer.ReadTx.
func (t *tx) Stream(id string) (*syncer.StreamState, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("Stream", "stream id", id); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, nil
	}
	v := t.streams.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	return decode[syncer.StreamState]("stream", []byte(id), v)
}

// PutStream implements syncer.Tx.
func (t *tx) PutStream(s *syncer.StreamState) error {
	if err := t.writeOK("PutStream"); err != nil {
		return err
	}
	if s == nil || s.ID == "" {
		return fmt.Errorf("%w: PutStream: stream without id", ErrInvalid)
	}
	if err := checkID("PutStream", "stream id", s.ID); err != nil {
		return err
	}
	v, err := encode("stream "+s.ID, s)
	if err != nil {
		return err
	}
	return t.put(t.streams, []byte(s.ID), v)
}

// PairBySN implements syncer.ReadTx.
func (t *tx) PairBySN(table, snID string) (*syncer.Pair, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkID("PairBySN", "table", table), checkID("PairBySN", "ServiceNow id", snID)); err != nil {
		return nil, err
	}
	k := key2(table, snID)
	v := t.pairs.Get(k)
	if v == nil {
		return nil, nil
	}
	return decode[syncer.Pair]("pair", k, v)
}

// SFIDsBySN implements syncer.SFIDReader: it decodes only the StackFlow
// ids.
func (t *tx) SFIDsBySN(table string, snIDs []string) (map[string]string, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("SFIDsBySN", "table", table); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(snIDs))
	for _, id := range snIDs {
		if err := checkID("SFIDsBySN", "ServiceNow id", id); err != nil {
			return nil, err
		}
		k := key2(table, id)
		v := t.pairs.Get(k)
		if v == nil {
			continue
		}
		sfID, err := oldSFID(k, v)
		if err != nil {
			return nil, err
		}
		if sfID != "" {
			out[id] = sfID
		}
	}
	return out, nil
}

// PairBySF implements syncer.ReadTx, through the idx_sf index.
func (t *tx) PairBySF(table, sfID string) (*syncer.Pair, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkID("PairBySF", "table", table), checkID("PairBySF", "StackFlow id", sfID)); err != nil {
		return nil, err
	}
	if sfID == "" {
		return nil, nil
	}
	ik := key2(table, sfID)
	sn := t.idxSF.Get(ik)
	if sn == nil {
		return nil, nil
	}
	k := key2(table, string(sn))
	v := t.pairs.Get(k)
	if v == nil {
		return nil, fmt.Errorf("%w: idx_sf %q points to missing pair %q", ErrCorrupt, ik, k)
	}
	p, err := decode[syncer.Pair]("pair", k, v)
	if err != nil {
		return nil, err
	}
	if p.SFID != sfID {
		return nil, fmt.Errorf("%w: idx_sf %q points to pair %q whose StackFlow id is %q", ErrCorrupt, ik, k, p.SFID)
	}
	return p, nil
}

// Pairs implements syncer.ReadTx. In an Update, fn may write pairs while
// the walk goes on; pairs it adds after the current one may or may not be
// visited.
func (t *tx) Pairs(table string, fn func(*syncer.Pair) bool) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := checkID("Pairs", "table", table); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: Pairs: fn is nil", ErrInvalid)
	}
	pre := prefix(table)
	c := t.pairs.Cursor()
	k, v := c.Seek(pre)
	for hasPrefix(k, pre) {
		p, err := decode[syncer.Pair]("pair", k, v)
		if err != nil {
			return err
		}
		if !t.writable {
			if !fn(p) {
				return nil
			}
			k, v = c.Next()
			continue
		}
		// fn may change the bucket under the cursor: find our place again.
		cur := bytes.Clone(k)
		if !fn(p) {
			return nil
		}
		if err := t.usable(); err != nil {
			return err
		}
		if k, v = c.Seek(cur); bytes.Equal(k, cur) {
			k, v = c.Next()
		}
	}
	return nil
}

// CountPairs implements syncer.ReadTx. It walks the table's keys without
// decoding the values.
func (t *tx) CountPairs(table string) (int, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	if err := checkID("CountPairs", "table", table); err != nil {
		return 0, err
	}
	pre := prefix(table)
	n := 0
	c := t.pairs.Cursor()
	for k, _ := c.Seek(pre); hasPrefix(k, pre); k, _ = c.Next() {
		n++
	}
	return n, nil
}

// oldSFID reads only the StackFlow id of the stored pair at k.
func oldSFID(k, v []byte) (string, error) {
	var old struct {
		SFID string `json:"sf_id"`
	}
	if err := json.Unmarshal(v, &old); err != nil {
		return "", fmt.Errorf("%w: pair %q: %w", ErrCorrupt, k, err)
	}
	return old.SFID, nil
}

// PutPair implements syncer.Tx. It keeps idx_sf in step: a changed
// StackFlow id drops the old index entry, and a StackFlow id that indexes
// another pair of the table is refused with syncer.ErrDuplicatePair.
func (t *tx) PutPair(p *syncer.Pair) error {
	if err := t.writeOK("PutPair"); err != nil {
		return err
	}
	if p == nil || p.Table == "" || p.SNID == "" {
		return fmt.Errorf("%w: PutPair: pair without table or ServiceNow id", ErrInvalid)
	}
	if err := errors.Join(checkID("PutPair", "table", p.Table), checkID("PutPair", "ServiceNow id", p.SNID),
		checkID("PutPair", "StackFlow id", p.SFID)); err != nil {
		return err
	}
	k := key2(p.Table, p.SNID)
	var oldSF string
	if v := t.pairs.Get(k); v != nil {
		var err error
		if oldSF, err = oldSFID(k, v); err != nil {
			return err
		}
	}
	var ik []byte
	if p.SFID != "" {
		ik = key2(p.Table, p.SFID)
		if holder := t.idxSF.Get(ik); holder != nil && string(holder) != p.SNID {
			return fmt.Errorf("%w: StackFlow id %s of %s is already paired with %s", syncer.ErrDuplicatePair, p.SFID, p.Table, holder)
		}
	}
	v, err := encode("pair "+string(k), msPair(p))
	if err != nil {
		return err
	}
	if oldSF != "" && oldSF != p.SFID {
		if err := t.del(t.idxSF, key2(p.Table, oldSF)); err != nil {
			return err
		}
	}
	if err := t.put(t.pairs, k, v); err != nil {
		return err
	}
	if ik != nil && oldSF != p.SFID {
		return t.put(t.idxSF, ik, []byte(p.SNID))
	}
	return nil
}

// msPair returns p with its own times cut to milliseconds (as the Store
// contract allows): shorter to store, and sync times need no more.
func msPair(p *syncer.Pair) *syncer.Pair {
	c := *p
	c.FirstSynced = c.FirstSynced.Truncate(time.Millisecond)
	c.LastSynced = c.LastSynced.Truncate(time.Millisecond)
	c.UpdatedSN = c.UpdatedSN.Truncate(time.Millisecond)
	c.UpdatedSF = c.UpdatedSF.Truncate(time.Millisecond)
	if len(c.Writes) > 0 {
		c.Writes = make([]time.Time, len(p.Writes))
		for i, w := range p.Writes {
			c.Writes[i] = w.Truncate(time.Millisecond)
		}
	}
	return &c
}

// DeletePair implements syncer.Tx, and drops the pair's idx_sf entry.
// Deleting a pair that does not exist is not an error.
func (t *tx) DeletePair(table, snID string) error {
	if err := t.writeOK("DeletePair"); err != nil {
		return err
	}
	if err := errors.Join(checkID("DeletePair", "table", table), checkID("DeletePair", "ServiceNow id", snID)); err != nil {
		return err
	}
	k := key2(table, snID)
	v := t.pairs.Get(k)
	if v == nil {
		return nil
	}
	sf, err := oldSFID(k, v)
	if err != nil {
		return err
	}
	if sf != "" {
		if err := t.del(t.idxSF, key2(table, sf)); err != nil {
			return err
		}
	}
	return t.del(t.pairs, k)
}

// DLQEntry implements syncer.ReadTx.
func (t *tx) DLQEntry(stream, sourceID string) (*syncer.DLQEntry, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkID("DLQEntry", "stream", stream), checkID("DLQEntry", "source id", sourceID)); err != nil {
		return nil, err
	}
	k := key2(stream, sourceID)
	v := t.dlq.Get(k)
	if v == nil {
		return nil, nil
	}
	return decode[syncer.DLQEntry]("dead-letter entry", k, v)
}

// DueDLQ implements syncer.ReadTx by walking dlq_due, which holds the
// retryable entries only, in next-attempt order: it reads only the
// entries it returns.
func (t *tx) DueDLQ(stream string, now time.Time, limit int) ([]syncer.DLQEntry, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("DueDLQ", "stream", stream); err != nil {
		return nil, err
	}
	pre := prefix(stream)
	until := appendTime(nil, now)
	var out []syncer.DLQEntry
	c := t.dlqDue.Cursor()
	for k, _ := c.Seek(pre); hasPrefix(k, pre) && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
		tm, sid, ok := splitDueKey(k, pre)
		if !ok {
			return nil, fmt.Errorf("%w: malformed dlq_due key %q", ErrCorrupt, k)
		}
		if bytes.Compare(tm, until) > 0 {
			break
		}
		ek := key2(stream, sid)
		v := t.dlq.Get(ek)
		if v == nil {
			return nil, fmt.Errorf("%w: dlq_due %q points to missing entry %q", ErrCorrupt, k, ek)
		}
		e, err := decode[syncer.DLQEntry]("dead-letter entry", ek, v)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, nil
}

// DLQEntries implements syncer.ReadTx.
func (t *tx) DLQEntries(stream string) ([]syncer.DLQEntry, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("DLQEntries", "stream", stream); err != nil {
		return nil, err
	}
	pre := prefix(stream)
	var out []syncer.DLQEntry
	c := t.dlq.Cursor()
	for k, v := c.Seek(pre); hasPrefix(k, pre); k, v = c.Next() {
		e, err := decode[syncer.DLQEntry]("dead-letter entry", k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, nil
}

// oldDue returns the dlq_due key of the stored entry at k, or nil when it
// has none (no entry, or a permanent one).
func oldDue(k, v []byte, stream, sourceID string) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	var old struct {
		Permanent   bool      `json:"permanent"`
		NextAttempt time.Time `json:"next_attempt"`
	}
	if err := json.Unmarshal(v, &old); err != nil {
		return nil, fmt.Errorf("%w: dead-letter entry %q: %w", ErrCorrupt, k, err)
	}
	if old.Permanent {
		return nil, nil
	}
	return dueKey(stream, old.NextAttempt, sourceID), nil
}

// PutDLQ implements syncer.Tx. It keeps dlq_due in step: a retryable
// entry is indexed at its NextAttempt, a permanent one is not, and a
// changed NextAttempt or class drops the old index entry.
func (t *tx) PutDLQ(e *syncer.DLQEntry) error {
	if err := t.writeOK("PutDLQ"); err != nil {
		return err
	}
	if e == nil || e.Stream == "" || e.SourceID == "" {
		return fmt.Errorf("%w: PutDLQ: entry without stream or source id", ErrInvalid)
	}
	if err := errors.Join(checkID("PutDLQ", "stream", e.Stream), checkID("PutDLQ", "source id", e.SourceID)); err != nil {
		return err
	}
	k := key2(e.Stream, e.SourceID)
	oldKey, err := oldDue(k, t.dlq.Get(k), e.Stream, e.SourceID)
	if err != nil {
		return err
	}
	v, err := encode("dead-letter entry "+string(k), e)
	if err != nil {
		return err
	}
	var newKey []byte
	if !e.Permanent {
		newKey = dueKey(e.Stream, e.NextAttempt, e.SourceID)
	}
	if oldKey != nil && !bytes.Equal(oldKey, newKey) {
		if err := t.del(t.dlqDue, oldKey); err != nil {
			return err
		}
	}
	if newKey != nil && !bytes.Equal(oldKey, newKey) {
		if err := t.put(t.dlqDue, newKey, []byte{}); err != nil {
			return err
		}
	}
	return t.put(t.dlq, k, v)
}

// DeleteDLQ implements syncer.Tx, and drops the entry's dlq_due key.
// Deleting an entry that does not exist is not an error.
func (t *tx) DeleteDLQ(stream, sourceID string) error {
	if err := t.writeOK("DeleteDLQ"); err != nil {
		return err
	}
	if err := errors.Join(checkID("DeleteDLQ", "stream", stream), checkID("DeleteDLQ", "source id", sourceID)); err != nil {
		return err
	}
	k := key2(stream, sourceID)
	v := t.dlq.Get(k)
	if v == nil {
		return nil
	}
	oldKey, err := oldDue(k, v, stream, sourceID)
	if err != nil {
		return err
	}
	if oldKey != nil {
		if err := t.del(t.dlqDue, oldKey); err != nil {
			return err
		}
	}
	return t.del(t.dlq, k)
}

// Intent implements syncer.ReadTx.
func (t *tx) Intent(stream, sourceID string) (*syncer.Intent, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkID("Intent", "stream", stream), checkID("Intent", "source id", sourceID)); err != nil {
		return nil, err
	}
	k := key2(stream, sourceID)
	v := t.intents.Get(k)
	if v == nil {
		return nil, nil
	}
	return decode[syncer.Intent]("intent", k, v)
}

// PutIntent implements syncer.Tx.
func (t *tx) PutIntent(i *syncer.Intent) error {
	if err := t.writeOK("PutIntent"); err != nil {
		return err
	}
	if i == nil || i.Stream == "" || i.SourceID == "" {
		return fmt.Errorf("%w: PutIntent: intent without stream or source id", ErrInvalid)
	}
	if err := errors.Join(checkID("PutIntent", "stream", i.Stream), checkID("PutIntent", "source id", i.SourceID)); err != nil {
		return err
	}
	k := key2(i.Stream, i.SourceID)
	v, err := encode("intent "+string(k), i)
	if err != nil {
		return err
	}
	return t.put(t.intents, k, v)
}

// DeleteIntent implements syncer.Tx. Deleting an intent that does not
// exist is not an error.
func (t *tx) DeleteIntent(stream, sourceID string) error {
	if err := t.writeOK("DeleteIntent"); err != nil {
		return err
	}
	if err := errors.Join(checkID("DeleteIntent", "stream", stream), checkID("DeleteIntent", "source id", sourceID)); err != nil {
		return err
	}
	return t.del(t.intents, key2(stream, sourceID))
}

// Conflicts implements syncer.ReadTx: a reverse cursor walk over the
// table's sequence keys, newest first; limit <= 0 means all.
func (t *tx) Conflicts(table string, limit int) ([]syncer.Conflict, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("Conflicts", "table", table); err != nil {
		return nil, err
	}
	pre := prefix(table)
	c := t.conflicts.Cursor()
	var k, v []byte
	if k, _ = c.Seek(prefixEnd(table)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	var out []syncer.Conflict
	for ; hasPrefix(k, pre) && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
		x, err := decode[syncer.Conflict]("conflict", k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, *x)
	}
	return out, nil
}

// AddConflict implements syncer.Tx. Conflicts are keyed by table and the
// bucket's sequence, so they keep the order they were added in.
func (t *tx) AddConflict(c *syncer.Conflict) error {
	if err := t.writeOK("AddConflict"); err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("%w: AddConflict: nil conflict", ErrInvalid)
	}
	if err := checkID("AddConflict", "table", c.Table); err != nil {
		return err
	}
	v, err := encode("conflict", c)
	if err != nil {
		return err
	}
	seq, err := t.conflicts.NextSequence()
	if err != nil {
		return t.fail(fmt.Errorf("boltstore: conflict sequence: %w", err))
	}
	return t.put(t.conflicts, seqKey(c.Table, seq), v)
}
