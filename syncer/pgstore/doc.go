// Package pgstore is the syncer.Store on PostgreSQL, for running snowsync
// on several replicas (for availability, or many tenants) that share their
// sync state. It uses github.com/jackc/pgx/v5 and its pool; PostgreSQL 13
// or later.
//
//	store, err := pgstore.Open(ctx, "postgres://snowsync:secret@db:5432/ops?pool_max_conns=8",
//		pgstore.WithSchema("tenant_acme"))
//	if err != nil { ... }
//	defer store.Close()
//
// OpenPool takes a *pgxpool.Pool the application already has.
//
// # Schema
//
// The tables live in one schema (WithSchema, default "snowsync"); several
// tenants or deployments share a database with a schema each. Ids are text
// in the C collation, so they sort and compare byte by byte, as in
// boltstore:
//
//	streams    id → state (syncer.StreamState as jsonb: fields the engine
//	           adds need no migration), updated_at
//	pairs      (tbl, sn_id) primary key; sf_id with a unique index on
//	           (tbl, sf_id) where sf_id <> ''; snap_sn, snap_sf, pending,
//	           tombstone as jsonb; hash_sn; versions; times as timestamptz;
//	           writes as timestamptz[]
//	dlq        (stream, source_id) primary key; permanent, deferred,
//	           attempts, next_attempt, last_error, first_failed; partial
//	           index dlq_due on (stream, next_attempt, source_id) of the
//	           retryable entries
//	intents    (stream, source_id) primary key; attempt, created
//	conflicts  seq identity primary key (newest first is seq descending),
//	           tbl, at, ids, key, both values, winner, rule; index on
//	           (tbl, seq)
//	leases     grp primary key; holder, token, expires, released,
//	           acquired_at, renewed_at, released_at
//	replicas   holder primary key; alive_until, seen_at, tables (the
//	           heartbeats of syncer.Run and the tables each replica
//	           enables, see syncer.Replicas; migration 2)
//	pgstore_migrations  version, description, applied_at
//
// Operators can query the state directly, for example
// SELECT sn_id, snap_sn->>'state' FROM snowsync.pairs WHERE tbl = 'incident'.
// Write to it only through snowsync: the fencing below protects writes
// that go through the store.
//
// # Migrations
//
// Open brings the schema to this version. When it is there already, Open
// only reads pgstore_migrations: no DDL and no lock, so a role with USAGE
// on the schema and SELECT, INSERT, UPDATE, DELETE on its tables can open
// a schema an administrator migrated. Otherwise one transaction takes
// pg_advisory_xact_lock on a key derived from the schema name, reads the
// version again, creates the schema (the role then needs CREATE on the
// database) and the version table if missing, applies each missing step
// and records it, and commits. Replicas that open at once wait for the
// first and then find nothing to do; a step that fails rolls back whole.
// The lock is transaction-scoped, so it is released by the commit and
// works behind PgBouncer in transaction mode, unlike a session-level
// advisory lock. Open refuses a schema migrated by a newer snowsync
// (ErrSchemaTooNew) and a schema with tables pgstore did not create
// (ErrSchemaConflict), leaving both untouched.
//
// # Leases and fencing
//
// One lease row per group (a table, both directions of its sync) holds
// the holder, a fencing token and an expiry computed from the database's
// clock_timestamp(), never the caller's clock. AcquireLease is one
// INSERT ... ON CONFLICT DO UPDATE that takes a free, released or expired
// lease (the next token) or renews the holder's own live lease (same
// token). A release keeps the row, marked released, so tokens only grow.
//
// Update's first statement locks the group's lease row for the
// transaction (SELECT ... FOR NO KEY UPDATE) and checks holder, token,
// released and expiry; a stale lease gets syncer.ErrFenced before fn runs.
// While an Update holds the row, a takeover, a renewal, a release and the
// group's other Updates wait for it: a stale holder can never commit after
// a new holder took over, and Updates of one group are serialisable (a
// read-modify-write of a stream row loses no increment, even from several
// processes). Besides, every state-writing statement carries the fence
// itself (a CTE that joins the lease row on group, holder, token, not
// released and expires > clock_timestamp()) and reports whether it held,
// so a lease that expires while fn runs fences the next write, and the
// Update returns ErrFenced and commits nothing. Keep Updates much shorter
// than the lease TTL: a renewal waits for the Update in progress. A
// Lease's Expires is by the database clock; compare it with the local
// clock only with their skew in mind.
//
// # Transactions
//
// Update runs at READ COMMITTED behind the lease row lock; View at
// REPEATABLE READ, read-only, so its reads share one snapshot. A failed
// statement aborts a PostgreSQL transaction, so after one (or a fenced
// write) the Tx refuses further calls and Update returns that error and
// rolls back even if fn ignored it. Input errors (ErrInvalid) are caught
// before anything is sent and leave the transaction usable.
//
// PutPair batches: consecutive puts are written together, by one statement
// that checks the fence and the StackFlow ids for the whole batch, when
// any other method of the Tx is called, when 1,000 pairs are waiting, or
// at commit. That is what makes a page of 1,000 outcomes
// cost one round trip instead of 1,000. A StackFlow id held by another
// pair of the same batch is refused by PutPair at once, leaving the
// transaction usable; one held by a stored pair is found when the batch is
// written, and the call that writes it (or Update, at commit) returns
// syncer.ErrDuplicatePair and the Update fails.
//
// # Work for several workers
//
// ClaimDueDLQ hands out due dead-letter entries with SELECT ... FOR UPDATE
// SKIP LOCKED, moving each claimed entry's next attempt to the end of a
// hold, so concurrent claimers each get different entries. The engine
// does not use it yet (it reads DueDLQ inside its Update); it is there for
// spreading retries over workers. Sharding a backfill by sys_id range
// would use the same pattern and is not implemented.
//
// # PgBouncer
//
// The store keeps no session state: no session advisory locks, no
// temporary tables, no SET. Behind PgBouncer in transaction mode, either
// run PgBouncer 1.21 or later with max_prepared_statements, or add
// default_query_exec_mode=exec (or simple_protocol) to the connection
// string, since pgx otherwise prepares and caches statements per
// connection. The tests run the conformance suite in both modes.
//
// # Values
//
// Times come back in UTC at the same instant, to the microsecond
// (timestamptz); the stream state and the pending write and tombstone of a
// pair are JSON, which keeps nanoseconds and offsets. An empty
// StreamState.Missing map comes back nil. PostgreSQL text cannot hold a
// NUL byte or invalid UTF-8: ids and values containing them are refused
// with ErrInvalid (never altered), except error messages (LastError),
// where they become U+FFFD. Ids are at most MaxIDLen bytes.
//
// # Size
//
// Stats counts each table's rows and measures it on disk; Size is the
// total. 100,000 incident pairs with a dozen fields a side take about
// 130 MB. PostgreSQL's autovacuum makes the space of deleted rows
// reusable; VACUUM FULL returns it to the operating system.
package pgstore
