// Package boltstore is the embedded, default syncer.Store: all sync state
// in one file, on go.etcd.io/bbolt (pure Go, no cgo, fully serialisable
// ACID transactions).
//
//	store, err := boltstore.Open("/var/lib/snowsync/state.db")
//	if err != nil { ... } // boltstore.ErrLocked: another process has the file
//	defer store.Close()
//
// # Durability
//
// Every Update is one bbolt read-write transaction, committed with an
// fsync before Update returns: once it has returned, a crash of the
// process or the machine cannot lose it, and a transaction that did not
// return nil leaves nothing behind. Update first checks the lease record
// (holder, fencing token, expiry by the store's clock, see WithClock) and
// returns syncer.ErrFenced without running fn when it no longer holds.
// The lease cannot move while fn runs: AcquireLease and ReleaseLease are
// transactions too, and wait for the Update. Updates run one at a time; Views run alongside them on a consistent
// snapshot. A commit with its fsync costs about a millisecond on an SSD,
// so batch the outcomes of a page of records into one Update, as the
// syncer does. WithNoSync drops the fsync, for benchmarks and tests only.
//
// # One process
//
// bbolt takes an exclusive lock on the file, so a second process (or a
// second Store in the same process) cannot open it: Open waits up to the
// open timeout (WithOpenTimeout, default one second) and fails with
// ErrLocked, "another snowsync process holds <path>". Run one snowsync
// process per file, and keep the file on a local disk: never on a network
// file system, where locks and fsync are not to be trusted. Several
// replicas share state through syncer/pgstore instead.
//
// Do not call the Store from inside an Update or View callback (a nested
// Update or AcquireLease waits for the outer one forever); read and write
// through the Tx the callback receives. A Tx is for the callback's
// goroutine only, and is dead once the callback returns (ErrTxDone).
//
// # File layout
//
// Buckets, with keys joined by a NUL byte (ids may not contain one, and may
// be at most MaxIDLen bytes); values are the syncer types as JSON:
//
//	meta       "format" → "snowsync-state", "schema_version" → "1"
//	streams    stream id → StreamState
//	pairs      table \x00 ServiceNow id → Pair
//	idx_sf     table \x00 StackFlow id → ServiceNow id (unique per table)
//	dlq        stream \x00 source id → DLQEntry
//	dlq_due    stream \x00 next attempt \x00 source id → empty, for
//	           retryable entries only: DueDLQ walks it in time order
//	intents    stream \x00 source id → Intent
//	conflicts  table \x00 sequence (big-endian) → Conflict: newest first
//	           is a reverse walk
//	leases     group → holder, fencing token, expiry; a released lease
//	           keeps its token, so tokens only grow, across reopens too
//
// The next attempt time in a dlq_due key is 12 bytes that sort in time
// order: the Unix seconds with the sign bit flipped, then the nanoseconds,
// big-endian. PutPair, DeletePair, PutDLQ and DeleteDLQ keep idx_sf and
// dlq_due in step with their records inside the same transaction.
//
// Open creates the buckets of a new file and checks the schema version of
// an existing one: it refuses a file of a newer snowsync (ErrSchemaTooNew)
// and a file that is not a snowsync store (ErrNotStore), leaving both
// untouched. Records read are fresh copies the caller may change. Times
// keep their instant and their UTC offset, not their *time.Location (a
// time in UTC comes back in UTC); an empty StreamState.Missing map comes
// back nil.
//
// # Backups and size
//
// Backup writes a consistent copy of the file while the store is in use;
// restore by putting the copy in place of the file while snowsync is
// stopped. Copying the file with cp while snowsync runs is not safe; after
// a clean stop it is. bbolt never shrinks its file: space freed by deletes
// is reused by later writes, not returned. CompactTo writes a compacted
// copy to reclaim it. Size reports the file's size; 100,000 incident pairs
// with a dozen fields a side take about 210 MB.
package boltstore
