package boltstore

import "errors"

// Errors returned by Open and by the store. Closed stores return
// syncer.ErrClosed; fencing and uniqueness errors are syncer's
// (syncer.ErrLeaseHeld, syncer.ErrFenced, syncer.ErrDuplicatePair).
var (
	// ErrLocked is returned by Open when another process (or another Store
	// in this one) holds the file's exclusive lock past the open timeout.
	// Stop the other snowsync process, or give each one its own file.
	ErrLocked = errors.New("boltstore: store file is locked")

	// ErrSchemaTooNew is returned by Open for a file written by a newer
	// snowsync whose layout this version does not know. Upgrade snowsync;
	// never downgrade it in place.
	ErrSchemaTooNew = errors.New("boltstore: store schema is newer than this snowsync supports")

	// ErrNotStore is returned by Open for a file that is not a snowsync
	// store: not a bbolt file at all, or a bbolt file of another program.
	ErrNotStore = errors.New("boltstore: not a snowsync store file")

	// ErrCorrupt is returned when a stored value cannot be decoded or an
	// index points nowhere. Restore the file from a backup.
	ErrCorrupt = errors.New("boltstore: store file is corrupt")

	// ErrInvalid is returned for bad input: a record without its key
	// fields, an id containing a NUL byte (ids are joined with NUL in keys),
	// a non-positive lease ttl, a nil callback, or a bad Option.
	ErrInvalid = errors.New("boltstore: invalid argument")

	// ErrTxDone is returned when a Tx or ReadTx is used after the Update or
	// View that handed it out has returned.
	ErrTxDone = errors.New("boltstore: transaction used after its Update or View returned")
)
