package syncer

import (
	"context"
	"errors"
	"time"
)

// Store keeps the sync state: stream cursors, pairs with both sides'
// snapshots, the dead-letter queue, create intents, the conflict log and
// stream leases. Everything one record's outcome touches commits in one
// Update, together with the cursor that moves past it, so a crash repeats
// work and never loses or duplicates it.
//
// Implementations: NewMemStore (tests), syncer/boltstore (embedded, the
// default) and syncer/pgstore (several replicas). syncer/storetest holds
// the conformance suite every implementation must pass.
type Store interface {
	// AcquireLease takes the lease on group (a table: both directions of
	// its sync) for holder, or renews it when holder already has it. A new
	// holder gets a higher token than any before it. When another holder's
	// lease has not expired, it returns ErrLeaseHeld.
	AcquireLease(ctx context.Context, group, holder string, ttl time.Duration) (Lease, error)
	// ReleaseLease gives the lease back early (graceful stop). Releasing a
	// lease that moved on is not an error.
	ReleaseLease(ctx context.Context, l Lease) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(ReadTx) error) error
	// Update runs fn in a read-write transaction that commits only if the
	// lease l still holds (same holder and token, not expired): otherwise
	// it returns ErrFenced and nothing is written. An error from fn rolls
	// everything back.
	Update(ctx context.Context, l Lease, fn func(Tx) error) error
	// Close releases the store's resources.
	Close() error
}

// Replicas is implemented by stores that several processes share
// (syncer/pgstore; MemStore for replicas in one process). With it, Run
// spreads the tables across the live replicas, each table to one of the
// replicas that enable it, and moves a table when its replica leaves or
// dies; without it, Run syncs every table whose lease it can get.
type Replicas interface {
	// Heartbeat records holder, which syncs tables, as alive for ttl from
	// now (by the store's clock) and returns every live replica sorted by
	// holder, holder included.
	Heartbeat(ctx context.Context, holder string, tables []string, ttl time.Duration) ([]Replica, error)
	// Leave removes holder from the live replicas at once (graceful stop).
	Leave(ctx context.Context, holder string) error
}

// Replica is a live replica as its last heartbeat described it.
type Replica struct {
	Holder string
	// Tables it syncs, sorted. Nil means unknown (a replica of a version
	// that did not say): it is taken to sync every table.
	Tables []string
}

// Lease is the right to write one group's state, with the fencing token
// every Update checks.
type Lease struct {
	Group   string
	Holder  string
	Token   int64
	Expires time.Time
}

// Store errors.
var (
	// ErrLeaseHeld: another holder has the lease and it has not expired.
	ErrLeaseHeld = errors.New("syncer: lease held by another replica")
	// ErrFenced: the lease moved on (expired and taken, or released); the
	// holder of the stale token must stop writing.
	ErrFenced = errors.New("syncer: lease lost (fenced): another replica owns this stream now")
	// ErrDuplicatePair: a pair would share a ServiceNow or StackFlow id
	// with another pair of the same table.
	ErrDuplicatePair = errors.New("syncer: duplicate pair")
)

// ReadTx reads sync state.
type ReadTx interface {
	// Stream returns a stream's state, or nil when it never ran.
	Stream(id string) (*StreamState, error)
	// PairBySN returns the pair of a ServiceNow record, or nil.
	PairBySN(table, snID string) (*Pair, error)
	// PairBySF returns the pair of a StackFlow record, or nil.
	PairBySF(table, sfID string) (*Pair, error)
	// Pairs calls fn for every pair of table, in ServiceNow id order,
	// until fn returns false.
	Pairs(table string, fn func(*Pair) bool) error
	// CountPairs counts the pairs of table (tombstoned ones included).
	CountPairs(table string) (int, error)
	// DLQEntry returns the dead-letter entry of a source record, or nil.
	DLQEntry(stream, sourceID string) (*DLQEntry, error)
	// DueDLQ returns up to limit retryable entries of stream whose next
	// attempt is at or before now, earliest first.
	DueDLQ(stream string, now time.Time, limit int) ([]DLQEntry, error)
	// DLQEntries returns every entry of stream (retryable and permanent),
	// in source id order.
	DLQEntries(stream string) ([]DLQEntry, error)
	// Intent returns the pending create intent of a source record, or nil.
	Intent(stream, sourceID string) (*Intent, error)
	// Conflicts returns the most recent conflicts of table, newest first.
	Conflicts(table string, limit int) ([]Conflict, error)
}

// SFIDReader is implemented by a ReadTx that can read the StackFlow ids
// of many pairs at once without decoding them whole: the resolver looks up
// the CIs of every relationship and ticket it syncs, a page at a time, and
// uses it when it is there.
type SFIDReader interface {
	// SFIDsBySN returns the StackFlow id of each pair (table, snID) that
	// exists and has one, keyed by snID.
	SFIDsBySN(table string, snIDs []string) (map[string]string, error)
}

// Tx reads and writes sync state inside Store.Update.
type Tx interface {
	ReadTx
	PutStream(s *StreamState) error
	// PutPair inserts or replaces the pair keyed by (Table, SNID). If
	// another pair of the table already holds SNID or SFID it returns
	// ErrDuplicatePair. A pair may change its SFID. A store that batches
	// writes (pgstore) may report a clash with a stored pair at a later
	// call of the same Tx or when Update commits instead; either way
	// nothing of the transaction is written.
	PutPair(p *Pair) error
	DeletePair(table, snID string) error
	PutDLQ(e *DLQEntry) error
	DeleteDLQ(stream, sourceID string) error
	PutIntent(i *Intent) error
	DeleteIntent(stream, sourceID string) error
	AddConflict(c *Conflict) error
}

// Cursor is a position in one side's change order: the last record
// processed, by (update time, id).
type Cursor struct {
	Time time.Time `json:"time"`
	ID   string    `json:"id"`
}

// IsZero reports whether the cursor is at the start.
func (c Cursor) IsZero() bool { return c.Time.IsZero() && c.ID == "" }

// Less reports whether c sorts before d.
func (c Cursor) Less(d Cursor) bool {
	if !c.Time.Equal(d.Time) {
		return c.Time.Before(d.Time)
	}
	return c.ID < d.ID
}

// Max returns the later of c and d.
func (c Cursor) Max(d Cursor) Cursor {
	if c.Less(d) {
		return d
	}
	return c
}

// StreamState is the durable state of one stream (one table, one direction).
type StreamState struct {
	ID string `json:"id"`
	// Cursor is the main sweep's position; TrackCursor the tracking sweep's
	// (filtered streams re-read every change of linked records without the
	// filter, so closures still flow); AuditCursor the position in
	// sys_audit_delete.
	Cursor      Cursor `json:"cursor"`
	TrackCursor Cursor `json:"track_cursor"`
	AuditCursor Cursor `json:"audit_cursor"`
	// SweptTo and TrackSweptTo are the upper bounds of the last complete
	// sweeps: everything up to them was read, so the overlap re-read starts
	// from the later of them and the cursor, not from an old cursor.
	SweptTo      time.Time `json:"swept_to"`
	TrackSweptTo time.Time `json:"track_swept_to"`
	// Fingerprint identifies the filter and mapping the cursors were built
	// with; a stream whose configuration changed refuses to run on them.
	Fingerprint string `json:"fingerprint"`
	// Initialized is set after the first complete sweep (the initial load).
	Initialized    bool      `json:"initialized"`
	LastRun        time.Time `json:"last_run"`
	LastSuccess    time.Time `json:"last_success"`
	LastError      string    `json:"last_error,omitempty"`
	LastReconcile  time.Time `json:"last_reconcile"`
	LastDeepReread time.Time `json:"last_deep_reread"`
	LastDeleteScan time.Time `json:"last_delete_scan"`
	// Missing counts, per source id, consecutive reconciliation sweeps that
	// did not see a paired record: a delete is confirmed only after two.
	Missing map[string]int `json:"missing,omitempty"`
}

// Pair links one ServiceNow record and one StackFlow record, with the last
// synced canonical values of each side, in that side's own terms.
type Pair struct {
	Table string `json:"table"`
	SNID  string `json:"sn_id"`
	SFID  string `json:"sf_id"`
	// SnapSN and SnapSF are the canonical projections of each side as that
	// side stored them after the last sync; VerSN (sys_mod_count) and VerSF
	// (version) their versions.
	SnapSN map[string]string `json:"snap_sn,omitempty"`
	SnapSF map[string]string `json:"snap_sf,omitempty"`
	// HashSN, when set, stands for SnapSN's hash: one-way tables keep only
	// the hash of the ServiceNow side (no merge ever needs its values),
	// which keeps a large CMDB's state small.
	HashSN    string    `json:"hash_sn,omitempty"`
	VerSN     int64     `json:"ver_sn,omitzero"`
	VerSF     int64     `json:"ver_sf,omitzero"`
	UpdatedSN time.Time `json:"updated_sn,omitzero"`
	UpdatedSF time.Time `json:"updated_sf,omitzero"`
	// Origin is the side the record was first created on: "servicenow" or
	// "stackflow".
	Origin string `json:"origin"`
	// BackrefPending: the StackFlow record still lacks external_id (the
	// back-write after a create in ServiceNow has not succeeded yet).
	BackrefPending bool `json:"backref_pending,omitempty"`
	// Pending records writes about to be sent, stored before they go out:
	// after a crash between a write and the commit of its outcome, the next
	// run recognises the write as its own (an echo) instead of as a person's
	// change.
	Pending     *PendingWrite `json:"pending,omitempty"`
	Tombstone   *Tombstone    `json:"tombstone,omitempty"`
	FirstSynced time.Time     `json:"first_synced,omitzero"`
	LastSynced  time.Time     `json:"last_synced,omitzero"`
	// Writes are the times of recent sync writes to either side, for the
	// loop breaker (bounded).
	Writes []time.Time `json:"writes,omitempty"`
}

// PendingWrite is what a pair's two sides hold, for the keys being written,
// once the writes in flight land: each side in its own terms. Written says
// which side each key is written to ("servicenow", "stackflow" or "both").
type PendingWrite struct {
	At      time.Time         `json:"at"`
	SN      map[string]string `json:"sn"`
	SF      map[string]string `json:"sf"`
	Written map[string]string `json:"written"`
}

// Tombstone records that a pair's record was deleted.
type Tombstone struct {
	At    time.Time `json:"at"`
	Side  string    `json:"side"` // where the delete happened
	VerSN int64     `json:"ver_sn"`
	VerSF int64     `json:"ver_sf"`
}

// DLQEntry is a source record whose sync failed, keyed by stream and source
// id. The entry holds the key, not the payload: a retry re-reads the record.
type DLQEntry struct {
	Stream      string    `json:"stream"`
	SourceID    string    `json:"source_id"`
	Permanent   bool      `json:"permanent"`
	Deferred    bool      `json:"deferred,omitempty"` // waiting for a reference, not failed
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
	FirstFailed time.Time `json:"first_failed"`
}

// Intent records that a create is about to be sent, so that recovery
// looks the record up before creating it again.
type Intent struct {
	Stream   string    `json:"stream"`
	SourceID string    `json:"source_id"`
	Attempt  int       `json:"attempt"`
	Created  time.Time `json:"created"`
}

// Conflict is one losing value of a field edited on both sides (or a
// one-way target's edit that was reverted), kept so a human can restore it.
type Conflict struct {
	Time    time.Time `json:"time"`
	Table   string    `json:"table"`
	SNID    string    `json:"sn_id"`
	SFID    string    `json:"sf_id"`
	Key     string    `json:"key"`
	SNValue string    `json:"sn_value"`
	SFValue string    `json:"sf_value"`
	Winner  string    `json:"winner"`
	Rule    string    `json:"rule"`
}

// ClonePair returns a deep copy of p, so stores never share mutable state
// with callers.
func ClonePair(p *Pair) *Pair {
	if p == nil {
		return nil
	}
	c := *p
	c.SnapSN = cloneMap(p.SnapSN)
	c.SnapSF = cloneMap(p.SnapSF)
	if p.Tombstone != nil {
		t := *p.Tombstone
		c.Tombstone = &t
	}
	if p.Pending != nil {
		c.Pending = &PendingWrite{At: p.Pending.At, SN: cloneMap(p.Pending.SN), SF: cloneMap(p.Pending.SF), Written: cloneMap(p.Pending.Written)}
	}
	c.Writes = append([]time.Time(nil), p.Writes...)
	return &c
}

// CloneStream returns a deep copy of s.
func CloneStream(s *StreamState) *StreamState {
	if s == nil {
		return nil
	}
	c := *s
	if s.Missing != nil {
		c.Missing = make(map[string]int, len(s.Missing))
		for k, v := range s.Missing {
			c.Missing[k] = v
		}
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
