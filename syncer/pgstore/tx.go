package pgstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/stackflow-tech/snowsync/syncer"
)

// MaxIDLen is the longest id (group, holder, table, ServiceNow or StackFlow
// id, stream, source id) the store takes, in bytes: two of them must fit
// in one B-tree index entry, which PostgreSQL caps at about 2.7 kB.
const MaxIDLen = 1000

// pairsPageSize is how many pairs Pairs reads per query: it reads a page,
// then calls fn for each, so fn may use the transaction.
const pairsPageSize = 500

// tx is the syncer.Tx (and ReadTx) over one PostgreSQL transaction. Every
// write checks its input before it sends anything, so a validation error
// (ErrInvalid, a syncer.ErrDuplicatePair within the current batch of
// pairs) leaves the transaction usable. A statement that fails aborts the
// PostgreSQL transaction; its error is kept in failed, and Update returns
// it (and rolls back) even if fn ignored it. So is a fenced write.
//
// PutPair batches: consecutive puts are written by one statement (see
// flush) when anything else is called on the transaction, when the batch
// is full, or before the commit.
var _ syncer.SFIDReader = (*tx)(nil)

type tx struct {
	s        *Store
	ctx      context.Context
	pgtx     pgx.Tx
	writable bool
	fence    []any // group, holder, token: $1..$3 of every write
	pairs    pairBatch
	done     bool
	failed   error
}

var _ syncer.Tx = (*tx)(nil)

// live reports whether the transaction can still be used.
func (t *tx) live() error {
	if t.done {
		return ErrTxDone
	}
	if t.failed != nil {
		return fmt.Errorf("pgstore: the transaction failed earlier and will roll back: %w", t.failed)
	}
	return nil
}

// usable is live, then writes the batched pairs, so what comes next (a
// read, another kind of write) sees them and runs after them.
func (t *tx) usable() error {
	if err := t.live(); err != nil {
		return err
	}
	return t.flush()
}

func (t *tx) writeOK(op string) error {
	if t.done {
		return ErrTxDone
	}
	if !t.writable {
		return fmt.Errorf("%w: %s in a read-only View", ErrInvalid, op)
	}
	return t.usable()
}

// fail records a statement's error: the PostgreSQL transaction is aborted.
func (t *tx) fail(err error) error {
	if t.failed == nil {
		t.failed = err
	}
	return err
}

// read wraps a failed read; the PostgreSQL transaction is aborted by it too.
func (t *tx) read(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return t.fail(t.s.wrap(op, err))
}

// write runs one fenced statement; args follow the three fence parameters.
func (t *tx) write(op string, q string, args ...any) error {
	var held bool
	if err := t.pgtx.QueryRow(t.ctx, q, append(t.fence[:3:3], args...)...).Scan(&held); err != nil {
		return t.fail(t.s.wrap(op, err))
	}
	if !held {
		return t.fail(t.fencedErr(op))
	}
	return nil
}

func (t *tx) fencedErr(op string) error {
	return fmt.Errorf("%w (group %q, holder %q, token %d): %s", syncer.ErrFenced, t.fence[0], t.fence[1], t.fence[2], op)
}

// checkText rejects text PostgreSQL cannot hold: a NUL byte, invalid UTF-8.
func checkText(op, what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s: %s contains a NUL byte, which PostgreSQL text cannot hold", ErrInvalid, op, what)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s: %s is not valid UTF-8", ErrInvalid, op, what)
	}
	return nil
}

// checkID is checkText plus the MaxIDLen bound.
func checkID(op, what, id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("%w: %s: %s is %d bytes long, more than %d", ErrInvalid, op, what, len(id), MaxIDLen)
	}
	return checkText(op, what, id)
}

// checkMap checks the keys and values of a snapshot.
func checkMap(op, what string, m map[string]string) error {
	for k, v := range m {
		if err := checkText(op, what+" key "+fmt.Sprintf("%q", k), k); err != nil {
			return err
		}
		if err := checkText(op, what+"["+fmt.Sprintf("%q", k)+"]", v); err != nil {
			return err
		}
	}
	return nil
}

// cleanText makes an error message storable: NUL bytes and invalid UTF-8
// become U+FFFD, as encoding/json (and so boltstore) does with the latter.
// Only diagnostic text goes through it; data is checked, never altered.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// jsonArg encodes v as a JSON text parameter; a nil map or pointer becomes
// SQL NULL. Text, not bytes, so the simple protocol (PgBouncer) casts it to
// jsonb instead of sending a bytea.
func jsonArg(what string, v any, isNil bool) (any, error) {
	if isNil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be encoded: %w", ErrInvalid, what, err)
	}
	if bytes.Contains(b, []byte(`\u0000`)) {
		return nil, fmt.Errorf("%w: %s contains a NUL character, which PostgreSQL jsonb cannot hold", ErrInvalid, what)
	}
	return string(b), nil
}

func decodeJSON[T any](what string, b []byte) (*T, error) {
	if b == nil {
		return nil, nil
	}
	x := new(T)
	if err := json.Unmarshal(b, x); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
	}
	return x, nil
}

// utc drops the location pgx gives scanned times (time.Local).
func utc(ts ...*time.Time) {
	for _, t := range ts {
		*t = t.UTC()
	}
}

// Stream implements syncer.ReadTx.
func (t *tx) Stream(id string) (*syncer.StreamState, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("Stream", "stream id", id); err != nil {
		return nil, err
	}
	var b []byte
	if err := t.pgtx.QueryRow(t.ctx, t.s.q.stream, id).Scan(&b); err != nil {
		return nil, t.read("read stream "+id, err)
	}
	return decodeJSON[syncer.StreamState]("stream "+id, b)
}

// PutStream implements syncer.Tx. The state is stored as one JSON
// document, so fields the engine adds later are kept without a migration;
// LastError is stored as valid UTF-8 (see cleanText).
func (t *tx) PutStream(s *syncer.StreamState) error {
	if err := t.writeOK("PutStream"); err != nil {
		return err
	}
	if s == nil || s.ID == "" {
		return fmt.Errorf("%w: PutStream: stream without id", ErrInvalid)
	}
	if err := errors.Join(checkID("PutStream", "stream id", s.ID), checkText("PutStream", "cursor id", s.Cursor.ID),
		checkText("PutStream", "track cursor id", s.TrackCursor.ID), checkText("PutStream", "audit cursor id", s.AuditCursor.ID),
		checkText("PutStream", "fingerprint", s.Fingerprint)); err != nil {
		return err
	}
	for k := range s.Missing {
		if err := checkText("PutStream", "Missing key", k); err != nil {
			return err
		}
	}
	c := *s
	c.LastError = cleanText(s.LastError)
	doc, err := jsonArg("stream "+s.ID, &c, false)
	if err != nil {
		return err
	}
	return t.write("put stream "+s.ID, t.s.q.putStream, s.ID, doc)
}

// scanPair reads one row of pairColumns.
func scanPair(row pgx.Row) (*syncer.Pair, error) {
	var (
		p                          syncer.Pair
		snapSN, snapSF, pend, tomb []byte
		writes                     []time.Time
	)
	if err := row.Scan(&p.Table, &p.SNID, &p.SFID, &snapSN, &snapSF, &p.VerSN, &p.VerSF, &p.UpdatedSN, &p.UpdatedSF, &p.Origin,
		&p.BackrefPending, &pend, &tomb, &p.FirstSynced, &p.LastSynced, &writes, &p.HashSN); err != nil {
		return nil, err
	}
	utc(&p.UpdatedSN, &p.UpdatedSF, &p.FirstSynced, &p.LastSynced)
	for i := range writes {
		writes[i] = writes[i].UTC()
	}
	p.Writes = writes
	what := "pair " + p.Table + "/" + p.SNID
	sn, err := decodeJSON[map[string]string](what+" snap_sn", snapSN)
	if err != nil {
		return nil, err
	}
	sf, err := decodeJSON[map[string]string](what+" snap_sf", snapSF)
	if err != nil {
		return nil, err
	}
	if sn != nil {
		p.SnapSN = *sn
	}
	if sf != nil {
		p.SnapSF = *sf
	}
	if p.Pending, err = decodeJSON[syncer.PendingWrite](what+" pending", pend); err != nil {
		return nil, err
	}
	if p.Tombstone, err = decodeJSON[syncer.Tombstone](what+" tombstone", tomb); err != nil {
		return nil, err
	}
	return &p, nil
}

// pairRead runs a query for at most one pair.
func (t *tx) pairRead(op, q string, args ...any) (*syncer.Pair, error) {
	p, err := scanPair(t.pgtx.QueryRow(t.ctx, q, args...))
	if errors.Is(err, ErrCorrupt) {
		return nil, err
	}
	if err != nil {
		return nil, t.read(op, err)
	}
	return p, nil
}

// PairBySN implements syncer.ReadTx.
func (t *tx) PairBySN(table, snID string) (*syncer.Pair, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkID("PairBySN", "table", table), checkID("PairBySN", "ServiceNow id", snID)); err != nil {
		return nil, err
	}
	return t.pairRead("read pair "+table+"/"+snID, t.s.q.pairBySN, table, snID)
}

// SFIDsBySN implements syncer.SFIDReader: one query for all of snIDs.
func (t *tx) SFIDsBySN(table string, snIDs []string) (map[string]string, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("SFIDsBySN", "table", table); err != nil {
		return nil, err
	}
	for _, id := range snIDs {
		if err := checkID("SFIDsBySN", "ServiceNow id", id); err != nil {
			return nil, err
		}
	}
	out := make(map[string]string, len(snIDs))
	if len(snIDs) == 0 {
		return out, nil
	}
	rows, err := t.pgtx.Query(t.ctx, t.s.q.sfIDsBySN, table, snIDs)
	if err != nil {
		return nil, t.read("read StackFlow ids of "+table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var sn, sf string
		if err := rows.Scan(&sn, &sf); err != nil {
			return nil, t.read("read StackFlow ids of "+table, err)
		}
		out[sn] = sf
	}
	if err := rows.Err(); err != nil {
		return nil, t.read("read StackFlow ids of "+table, err)
	}
	return out, nil
}

// PairBySF implements syncer.ReadTx, through the unique index on
// (table, StackFlow id).
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
	return t.pairRead("read pair "+table+" by StackFlow id "+sfID, t.s.q.pairBySF, table, sfID)
}

// Pairs implements syncer.ReadTx. It reads pairsPageSize pairs at a time
// in ServiceNow id order (byte order: the id columns use the C collation)
// and calls fn for each, so fn may read and write through the transaction;
// in an Update, pairs fn adds after the current one may or may not be
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
	after := ""
	for {
		page, err := t.pairsPage(table, after)
		if err != nil {
			return err
		}
		for _, p := range page {
			if !fn(p) {
				return nil
			}
			if err := t.usable(); err != nil {
				return err
			}
		}
		if len(page) < pairsPageSize {
			return nil
		}
		after = page[len(page)-1].SNID
	}
}

func (t *tx) pairsPage(table, after string) ([]*syncer.Pair, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	rows, err := t.pgtx.Query(t.ctx, t.s.q.pairsPage, table, after, pairsPageSize)
	if err != nil {
		return nil, t.read("list pairs of "+table, err)
	}
	defer rows.Close()
	var page []*syncer.Pair
	for rows.Next() {
		p, err := scanPair(rows)
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		if err != nil {
			return nil, t.read("list pairs of "+table, err)
		}
		page = append(page, p)
	}
	if err := rows.Err(); err != nil {
		return nil, t.read("list pairs of "+table, err)
	}
	return page, nil
}

// CountPairs implements syncer.ReadTx.
func (t *tx) CountPairs(table string) (int, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	if err := checkID("CountPairs", "table", table); err != nil {
		return 0, err
	}
	var n int64
	if err := t.pgtx.QueryRow(t.ctx, t.s.q.countPairs, table).Scan(&n); err != nil {
		return 0, t.read("count pairs of "+table, err)
	}
	return int(n), nil
}

// PutPair implements syncer.Tx. It checks the pair and adds it to the
// transaction's batch; the batch is written by one statement when anything
// else is called on the transaction, when it holds pairBatchMax pairs, or
// at commit, and that statement checks the fence and the StackFlow ids'
// uniqueness for the whole batch. A StackFlow id that another pair of the
// current batch (the puts since the transaction's last other call) holds
// is refused at once with syncer.ErrDuplicatePair, leaving the transaction
// usable. One that a stored pair holds (including one this transaction
// wrote in an earlier batch) is found when the batch is written: the call
// that writes it (or Update, at commit) returns syncer.ErrDuplicatePair,
// and the Update fails.
func (t *tx) PutPair(p *syncer.Pair) error {
	if t.done {
		return ErrTxDone
	}
	if !t.writable {
		return fmt.Errorf("%w: PutPair in a read-only View", ErrInvalid)
	}
	if err := t.live(); err != nil {
		return err
	}
	if p == nil || p.Table == "" || p.SNID == "" {
		return fmt.Errorf("%w: PutPair: pair without table or ServiceNow id", ErrInvalid)
	}
	if err := errors.Join(checkID("PutPair", "table", p.Table), checkID("PutPair", "ServiceNow id", p.SNID),
		checkID("PutPair", "StackFlow id", p.SFID), checkText("PutPair", "origin", p.Origin), checkText("PutPair", "HashSN", p.HashSN),
		checkMap("PutPair", "SnapSN", p.SnapSN), checkMap("PutPair", "SnapSF", p.SnapSF)); err != nil {
		return err
	}
	what := "pair " + p.Table + "/" + p.SNID
	if p.Pending != nil {
		if err := errors.Join(checkMap("PutPair", "Pending.SN", p.Pending.SN), checkMap("PutPair", "Pending.SF", p.Pending.SF),
			checkMap("PutPair", "Pending.Written", p.Pending.Written)); err != nil {
			return err
		}
	}
	if p.Tombstone != nil {
		if err := checkText("PutPair", "Tombstone.Side", p.Tombstone.Side); err != nil {
			return err
		}
	}
	snapSN, err := jsonArg(what+" SnapSN", p.SnapSN, p.SnapSN == nil)
	if err != nil {
		return err
	}
	snapSF, err := jsonArg(what+" SnapSF", p.SnapSF, p.SnapSF == nil)
	if err != nil {
		return err
	}
	pending, err := jsonArg(what+" Pending", p.Pending, p.Pending == nil)
	if err != nil {
		return err
	}
	tomb, err := jsonArg(what+" Tombstone", p.Tombstone, p.Tombstone == nil)
	if err != nil {
		return err
	}
	if p.SFID != "" {
		if holder, ok := t.pairs.heldBy(p.Table, p.SFID); ok && holder != p.SNID {
			return fmt.Errorf("%w: StackFlow id %s of %s is already paired with %s", syncer.ErrDuplicatePair, p.SFID, p.Table, holder)
		}
	}
	if t.pairs.len() >= pairBatchMax {
		if err := t.flush(); err != nil {
			return err
		}
	}
	t.pairs.add(p, strPtr(snapSN), strPtr(snapSF), strPtr(pending), strPtr(tomb))
	return nil
}

// strPtr turns jsonArg's result (nil or a string) into a nullable text.
func strPtr(v any) *string {
	if v == nil {
		return nil
	}
	s := v.(string)
	return &s
}

// DeletePair implements syncer.Tx. Deleting a pair that does not exist is
// not an error.
func (t *tx) DeletePair(table, snID string) error {
	if err := t.writeOK("DeletePair"); err != nil {
		return err
	}
	if err := errors.Join(checkID("DeletePair", "table", table), checkID("DeletePair", "ServiceNow id", snID)); err != nil {
		return err
	}
	return t.write("delete pair "+table+"/"+snID, t.s.q.deletePair, table, snID)
}

// scanDLQ reads one row of dlqColumns.
func scanDLQ(row pgx.Row) (syncer.DLQEntry, error) {
	var (
		e        syncer.DLQEntry
		attempts int64
	)
	err := row.Scan(&e.Stream, &e.SourceID, &e.Permanent, &e.Deferred, &attempts, &e.NextAttempt, &e.LastError, &e.FirstFailed)
	e.Attempts = int(attempts)
	utc(&e.NextAttempt, &e.FirstFailed)
	return e, err
}

// DLQEntry implements syncer.ReadTx.
func (t *tx) DLQEntry(stream, sourceID string) (*syncer.DLQEntry, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkID("DLQEntry", "stream", stream), checkID("DLQEntry", "source id", sourceID)); err != nil {
		return nil, err
	}
	e, err := scanDLQ(t.pgtx.QueryRow(t.ctx, t.s.q.dlqEntry, stream, sourceID))
	if err != nil {
		return nil, t.read("read dead-letter entry "+stream+"/"+sourceID, err)
	}
	return &e, nil
}

func (t *tx) dlqList(op, q string, args ...any) ([]syncer.DLQEntry, error) {
	rows, err := t.pgtx.Query(t.ctx, q, args...)
	if err != nil {
		return nil, t.read(op, err)
	}
	defer rows.Close()
	var out []syncer.DLQEntry
	for rows.Next() {
		e, err := scanDLQ(rows)
		if err != nil {
			return nil, t.read(op, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, t.read(op, err)
	}
	return out, nil
}

// limitArg is LIMIT's parameter: NULL (no limit) for limit <= 0.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return int64(limit)
}

// DueDLQ implements syncer.ReadTx through the partial index on
// (stream, next attempt, source id) of the retryable entries: earliest
// first, ties in source id order; limit <= 0 means all.
func (t *tx) DueDLQ(stream string, now time.Time, limit int) ([]syncer.DLQEntry, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("DueDLQ", "stream", stream); err != nil {
		return nil, err
	}
	return t.dlqList("read due dead-letter entries of "+stream, t.s.q.dueDLQ, stream, now, limitArg(limit))
}

// DLQEntries implements syncer.ReadTx.
func (t *tx) DLQEntries(stream string) ([]syncer.DLQEntry, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("DLQEntries", "stream", stream); err != nil {
		return nil, err
	}
	return t.dlqList("read dead-letter entries of "+stream, t.s.q.dlqEntries, stream)
}

// PutDLQ implements syncer.Tx. LastError is stored as valid UTF-8 (see
// cleanText).
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
	return t.write("put dead-letter entry "+e.Stream+"/"+e.SourceID, t.s.q.putDLQ,
		e.Stream, e.SourceID, e.Permanent, e.Deferred, int64(e.Attempts), e.NextAttempt, cleanText(e.LastError), e.FirstFailed)
}

// DeleteDLQ implements syncer.Tx. Deleting an entry that does not exist is
// not an error.
func (t *tx) DeleteDLQ(stream, sourceID string) error {
	if err := t.writeOK("DeleteDLQ"); err != nil {
		return err
	}
	if err := errors.Join(checkID("DeleteDLQ", "stream", stream), checkID("DeleteDLQ", "source id", sourceID)); err != nil {
		return err
	}
	return t.write("delete dead-letter entry "+stream+"/"+sourceID, t.s.q.deleteDLQ, stream, sourceID)
}

// Intent implements syncer.ReadTx.
func (t *tx) Intent(stream, sourceID string) (*syncer.Intent, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := errors.Join(checkID("Intent", "stream", stream), checkID("Intent", "source id", sourceID)); err != nil {
		return nil, err
	}
	var (
		i       syncer.Intent
		attempt int64
	)
	if err := t.pgtx.QueryRow(t.ctx, t.s.q.intent, stream, sourceID).Scan(&i.Stream, &i.SourceID, &attempt, &i.Created); err != nil {
		return nil, t.read("read intent "+stream+"/"+sourceID, err)
	}
	i.Attempt = int(attempt)
	utc(&i.Created)
	return &i, nil
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
	return t.write("put intent "+i.Stream+"/"+i.SourceID, t.s.q.putIntent, i.Stream, i.SourceID, int64(i.Attempt), i.Created)
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
	return t.write("delete intent "+stream+"/"+sourceID, t.s.q.deleteIntent, stream, sourceID)
}

// Conflicts implements syncer.ReadTx: newest first (the order they were
// added in, by an identity column); limit <= 0 means all.
func (t *tx) Conflicts(table string, limit int) ([]syncer.Conflict, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkID("Conflicts", "table", table); err != nil {
		return nil, err
	}
	op := "read conflicts of " + table
	rows, err := t.pgtx.Query(t.ctx, t.s.q.conflicts, table, limitArg(limit))
	if err != nil {
		return nil, t.read(op, err)
	}
	defer rows.Close()
	var out []syncer.Conflict
	for rows.Next() {
		var c syncer.Conflict
		if err := rows.Scan(&c.Time, &c.Table, &c.SNID, &c.SFID, &c.Key, &c.SNValue, &c.SFValue, &c.Winner, &c.Rule); err != nil {
			return nil, t.read(op, err)
		}
		utc(&c.Time)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, t.read(op, err)
	}
	return out, nil
}

// AddConflict implements syncer.Tx.
func (t *tx) AddConflict(c *syncer.Conflict) error {
	if err := t.writeOK("AddConflict"); err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("%w: AddConflict: nil conflict", ErrInvalid)
	}
	if err := errors.Join(checkID("AddConflict", "table", c.Table), checkText("AddConflict", "ServiceNow id", c.SNID),
		checkText("AddConflict", "StackFlow id", c.SFID), checkText("AddConflict", "key", c.Key),
		checkText("AddConflict", "ServiceNow value", c.SNValue), checkText("AddConflict", "StackFlow value", c.SFValue),
		checkText("AddConflict", "winner", c.Winner), checkText("AddConflict", "rule", c.Rule)); err != nil {
		return err
	}
	return t.write("add conflict of "+c.Table, t.s.q.addConflict,
		c.Time, c.Table, c.SNID, c.SFID, c.Key, c.SNValue, c.SFValue, c.Winner, c.Rule)
}
