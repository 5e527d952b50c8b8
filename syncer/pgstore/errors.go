package pgstore

import "errors"

// Errors returned by Open and by the store. A closed store returns
// syncer.ErrClosed; lease, fencing and uniqueness errors are syncer's
// (syncer.ErrLeaseHeld, syncer.ErrFenced, syncer.ErrDuplicatePair).
// Errors from PostgreSQL itself are wrapped and keep their
// *pgconn.PgError for errors.As.
var (
	// ErrInvalid is returned for bad input: an empty connection string or
	// one that cannot be parsed, a bad schema name, a record without its
	// key fields, text PostgreSQL cannot store (a NUL byte, invalid
	// UTF-8), an id longer than MaxIDLen, a lease ttl under a
	// millisecond, a nil callback, a write in a View, or a bad Option.
	ErrInvalid = errors.New("pgstore: invalid argument")

	// ErrSchemaTooNew is returned by Open when the schema was migrated by
	// a newer snowsync than this one. Upgrade snowsync; never downgrade
	// it against the same schema.
	ErrSchemaTooNew = errors.New("pgstore: database schema is newer than this snowsync supports")

	// ErrSchemaConflict is returned by Open when the schema already holds
	// tables that pgstore did not create (another program's, in the same
	// schema). Open leaves them untouched; choose another schema with
	// WithSchema.
	ErrSchemaConflict = errors.New("pgstore: the schema holds tables pgstore did not create")

	// ErrCorrupt is returned when a stored value cannot be decoded.
	ErrCorrupt = errors.New("pgstore: stored value is corrupt")

	// ErrTxDone is returned when a Tx or ReadTx is used after the Update
	// or View that handed it out has returned.
	ErrTxDone = errors.New("pgstore: transaction used after its Update or View returned")
)
