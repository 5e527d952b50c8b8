package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stackflow-tech/snowsync/syncer"
)

// cleanupTimeout bounds a rollback or a lease release that runs after the
// caller's context has ended.
const cleanupTimeout = 10 * time.Second

// MinLeaseTTL is the shortest lease AcquireLease grants: the database
// clock counts in microseconds, and a lease must outlive a round trip to
// be of any use.
const MinLeaseTTL = time.Millisecond

// Store is the syncer.Store on PostgreSQL, for one or several replicas
// sharing state: its tables live in one schema (see WithSchema), and
// leases with fencing tokens decide which replica writes which group. It
// is safe for concurrent use. Do not call the Store's own methods from
// inside an Update callback: the Update holds its group's lease row, so a
// nested AcquireLease, ReleaseLease, ClaimDueDLQ or Update of the same
// group waits for it forever.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	schema  string
	q       queries
	closed  chan struct{}

	// skipLeaseLock leaves out Update's first statement (lock and check
	// the lease row), so tests can show that every write statement checks
	// the fence by itself.
	skipLeaseLock bool
}

var (
	_ syncer.Store    = (*Store)(nil)
	_ syncer.Replicas = (*Store)(nil)
)

// Open connects to PostgreSQL with connString (a postgres:// URL or
// key=value pairs, as pgxpool.ParseConfig takes, pool settings such as
// pool_max_conns included), migrates the store's schema to this version
// (see the package doc), and returns the store. Close closes the pool.
// The connection string is never quoted in errors: it may hold a
// password.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	if connString == "" {
		return nil, fmt.Errorf("%w: Open: the connection string is empty", ErrInvalid)
	}
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// Not wrapped: pgx's message quotes the string, with the password
		// redacted only as far as it can parse it.
		return nil, fmt.Errorf("%w: Open: the connection string cannot be parsed (not shown, it may hold a password): "+
			"use postgres://user:password@host:port/database?options or key=value pairs", ErrInvalid)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open pool: %w", err)
	}
	s, err := open(ctx, pool, true, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// OpenPool is Open on a pool the caller made and keeps: Close leaves the
// pool open. Behind PgBouncer in transaction mode, build the pool with
// default_query_exec_mode=exec (or simple_protocol) unless PgBouncer
// tracks prepared statements (1.21 and later, max_prepared_statements).
func OpenPool(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: OpenPool: the pool is nil", ErrInvalid)
	}
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	return open(ctx, pool, false, o)
}

func applyOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func open(ctx context.Context, pool *pgxpool.Pool, own bool, o options) (*Store, error) {
	if err := migrate(ctx, pool, o.schema); err != nil {
		return nil, err
	}
	return &Store{pool: pool, ownPool: own, schema: o.schema, q: buildQueries(o.schema), closed: make(chan struct{})}, nil
}

// Schema returns the PostgreSQL schema the store's tables are in.
func (s *Store) Schema() string { return s.schema }

// Pool returns the store's connection pool, for health checks and
// metrics (pool.Stat). Do not write to the store's tables through it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool (unless it came from OpenPool), after waiting for
// connections in use to come back. Later calls return syncer.ErrClosed;
// closing twice is harmless.
func (s *Store) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// wrap maps an error of the pool or of a statement, naming the operation;
// once the store is closed, errors become syncer.ErrClosed.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.isClosed() {
		return syncer.ErrClosed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

func (s *Store) ready(ctx context.Context) error {
	if s.isClosed() {
		return syncer.ErrClosed
	}
	return ctx.Err()
}

// AcquireLease implements syncer.Store. It takes the lease on group for
// holder, or renews it when holder already has it (same token, new
// expiry). A new holder, or the same one after its lease expired or was
// released, gets the group's next token: tokens only grow, across
// releases, restarts and replicas. Expiry is the database's
// clock_timestamp() plus ttl, and Lease.Expires is that instant by the
// database clock: compare it with the local clock only with the skew
// between the two in mind. While an Update of the group runs, AcquireLease
// waits for it. Another holder's live lease gives syncer.ErrLeaseHeld.
func (s *Store) AcquireLease(ctx context.Context, group, holder string, ttl time.Duration) (syncer.Lease, error) {
	if err := s.ready(ctx); err != nil {
		return syncer.Lease{}, err
	}
	switch {
	case group == "":
		return syncer.Lease{}, fmt.Errorf("%w: AcquireLease: the group is empty", ErrInvalid)
	case holder == "":
		return syncer.Lease{}, fmt.Errorf("%w: AcquireLease: the holder is empty", ErrInvalid)
	case ttl < MinLeaseTTL:
		return syncer.Lease{}, fmt.Errorf("%w: AcquireLease: ttl %s is shorter than %s", ErrInvalid, ttl, MinLeaseTTL)
	}
	if err := errors.Join(checkID("AcquireLease", "group", group), checkID("AcquireLease", "holder", holder)); err != nil {
		return syncer.Lease{}, err
	}
	var l syncer.Lease
	err := s.pool.QueryRow(ctx, s.q.acquireLease, group, holder, ttl.Microseconds()).Scan(&l.Token, &l.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		var cur string
		var until time.Time
		if err := s.pool.QueryRow(ctx, s.q.leaseHolder, group).Scan(&cur, &until); err != nil {
			return syncer.Lease{}, fmt.Errorf("%w: group %q (%w)", syncer.ErrLeaseHeld, group, s.wrap("read lease holder", err))
		}
		return syncer.Lease{}, fmt.Errorf("%w: %q holds %q until %s (database clock)",
			syncer.ErrLeaseHeld, cur, group, until.UTC().Format(time.RFC3339Nano))
	}
	if err != nil {
		return syncer.Lease{}, s.wrap("acquire lease "+group, err)
	}
	l.Group, l.Holder, l.Expires = group, holder, l.Expires.UTC()
	return l, nil
}

// ReleaseLease implements syncer.Store. It frees l's group at once if l
// still holds it (the row stays, marked released, so the next holder's
// token is higher), and does nothing otherwise. It runs even when ctx has
// ended, since releasing is what a graceful stop does last.
func (s *Store) ReleaseLease(ctx context.Context, l syncer.Lease) error {
	if s.isClosed() {
		return syncer.ErrClosed
	}
	if l.Group == "" || l.Holder == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := s.pool.Exec(ctx, s.q.releaseLease, l.Group, l.Holder, l.Token)
	return s.wrap("release lease "+l.Group, err)
}

// Heartbeat implements syncer.Replicas: holder, which syncs tables, is
// alive for ttl from now by the database clock. It returns the live
// replicas, sorted by holder.
func (s *Store) Heartbeat(ctx context.Context, holder string, tables []string, ttl time.Duration) ([]syncer.Replica, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if holder == "" {
		return nil, fmt.Errorf("%w: Heartbeat: the holder is empty", ErrInvalid)
	}
	if ttl < MinLeaseTTL {
		return nil, fmt.Errorf("%w: Heartbeat: ttl %s is shorter than %s", ErrInvalid, ttl, MinLeaseTTL)
	}
	if err := checkID("Heartbeat", "holder", holder); err != nil {
		return nil, err
	}
	ts := slices.Clone(tables)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if ts == nil {
		ts = []string{} // none, not unknown
	}
	rows, err := s.pool.Query(ctx, s.q.heartbeat, holder, ttl.Microseconds(), ts)
	if err != nil {
		return nil, s.wrap("heartbeat", err)
	}
	live, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (syncer.Replica, error) {
		var r syncer.Replica
		err := row.Scan(&r.Holder, &r.Tables)
		return r, err
	})
	if err != nil {
		return nil, s.wrap("heartbeat", err)
	}
	return live, nil
}

// Leave implements syncer.Replicas: holder is no longer alive. Like
// ReleaseLease, it runs even when ctx has ended.
func (s *Store) Leave(ctx context.Context, holder string) error {
	if s.isClosed() {
		return syncer.ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := s.pool.Exec(ctx, s.q.leave, holder)
	return s.wrap("leave", err)
}

// lockLease is Update's first statement: it locks l's lease row for the
// transaction and checks it by the database clock.
func (s *Store) lockLease(ctx context.Context, tx pgx.Tx, l syncer.Lease) error {
	var (
		holder   string
		token    int64
		released bool
		expires  time.Time
		live     bool
	)
	err := tx.QueryRow(ctx, s.q.lockLease, l.Group).Scan(&holder, &token, &released, &expires, &live)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w (group %q, holder %q, token %d): the group has no lease", syncer.ErrFenced, l.Group, l.Holder, l.Token)
	}
	if err != nil {
		return s.wrap("check lease "+l.Group, err)
	}
	switch {
	case holder != l.Holder || token != l.Token:
		return fmt.Errorf("%w (group %q, holder %q, token %d): %q has it with token %d", syncer.ErrFenced, l.Group, l.Holder, l.Token, holder, token)
	case released:
		return fmt.Errorf("%w (group %q, holder %q, token %d): the lease was released", syncer.ErrFenced, l.Group, l.Holder, l.Token)
	case !live:
		return fmt.Errorf("%w (group %q, holder %q, token %d): the lease expired at %s (database clock)",
			syncer.ErrFenced, l.Group, l.Holder, l.Token, expires.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// View implements syncer.Store: fn runs in a read-only REPEATABLE READ
// transaction, so every read sees one consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(syncer.ReadTx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: View: fn is nil", ErrInvalid)
	}
	pgtx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.wrap("begin view", err)
	}
	t := &tx{s: s, ctx: ctx, pgtx: pgtx}
	defer func() {
		t.done = true
		s.rollback(ctx, pgtx)
	}()
	if err := fn(t); err != nil {
		return err
	}
	return t.failed
}

// Update implements syncer.Store: one READ COMMITTED transaction that
// first locks the group's lease row (FOR NO KEY UPDATE) and checks it
// (holder, token, not released, not expired by the database clock),
// returning syncer.ErrFenced without running fn when it does not hold.
// The lock makes a takeover, a renewal, a release and every other Update
// of the group wait for this one, so Updates of one group are
// serialisable and a stale holder cannot commit after a new one took
// over. Every write statement also checks the fence itself, against
// clock_timestamp(), so a lease that expires while fn runs fences the
// next write. An error from fn, a fenced write, or a failed statement
// (even one fn ignored: PostgreSQL aborts the transaction on it) rolls
// everything back.
func (s *Store) Update(ctx context.Context, l syncer.Lease, fn func(syncer.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: Update: fn is nil", ErrInvalid)
	}
	if l.Group == "" || l.Holder == "" || l.Token <= 0 {
		return fmt.Errorf("%w (group %q, holder %q, token %d): not a lease from AcquireLease", syncer.ErrFenced, l.Group, l.Holder, l.Token)
	}
	pgtx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return s.wrap("begin update", err)
	}
	committed := false
	t := &tx{s: s, ctx: ctx, pgtx: pgtx, writable: true, fence: []any{l.Group, l.Holder, l.Token}}
	defer func() {
		t.done = true
		if !committed {
			s.rollback(ctx, pgtx)
		}
	}()
	if !s.skipLeaseLock {
		if err := s.lockLease(ctx, pgtx, l); err != nil {
			return err
		}
	}
	ferr := fn(t)
	if ferr == nil && t.failed == nil {
		_ = t.flush() // its error is in t.failed
	}
	t.done = true
	switch {
	case t.failed != nil && ferr != nil && !errors.Is(ferr, t.failed):
		return errors.Join(ferr, t.failed)
	case t.failed != nil:
		return t.failed
	case ferr != nil:
		return ferr
	}
	if err := pgtx.Commit(ctx); err != nil {
		return s.wrap("commit", err)
	}
	committed = true
	return nil
}

// rollback ends a transaction, even when ctx has ended; a connection it
// cannot roll back is closed by pgx, not returned to the pool.
func (s *Store) rollback(ctx context.Context, pgtx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = pgtx.Rollback(ctx) // nothing to report: the caller gets the error that caused it
}

// ClaimDueDLQ claims up to limit retryable dead-letter entries of stream
// that are due at now (NextAttempt at or before it), earliest first, for
// the holder of lease l, and returns them as they were before the claim.
// Claiming moves each entry's NextAttempt to now+hold in the same
// statement, so no other claim gets it until the hold ends: workers of
// one replica, or replicas sharing a lease's work, can call it at the same
// time and each due entry goes to exactly one of them (SELECT ... FOR
// UPDATE SKIP LOCKED: a claim skips the rows another claim is taking
// instead of waiting). The worker then settles each entry with an Update:
// DeleteDLQ when the retry succeeded, PutDLQ with the next attempt when
// it failed. A worker that dies leaves its entries to come due again when
// the hold ends: delivery is at least once, and the retry must be
// idempotent (the record is re-read, so it is).
//
// The claim is fenced like every write: a stale lease claims nothing and
// gets syncer.ErrFenced. Claims share-lock the lease row, so they run side
// by side but wait for (and are waited for by) Updates, takeovers and
// renewals of the group. The engine's own DLQ retry reads DueDLQ in its
// Update instead; ClaimDueDLQ is for spreading retries over workers.
func (s *Store) ClaimDueDLQ(ctx context.Context, l syncer.Lease, stream string, now time.Time, limit int, hold time.Duration) ([]syncer.DLQEntry, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	switch {
	case stream == "":
		return nil, fmt.Errorf("%w: ClaimDueDLQ: the stream is empty", ErrInvalid)
	case limit <= 0:
		return nil, fmt.Errorf("%w: ClaimDueDLQ: limit %d must be positive", ErrInvalid, limit)
	case hold <= 0:
		return nil, fmt.Errorf("%w: ClaimDueDLQ: hold %s must be positive: it keeps other claims off the entries", ErrInvalid, hold)
	}
	if err := checkID("ClaimDueDLQ", "stream", stream); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.claimDueDLQ, l.Group, l.Holder, l.Token, stream, now, limit, now.Add(hold))
	if err != nil {
		return nil, s.wrap("claim dead-letter entries of "+stream, err)
	}
	defer rows.Close()
	var (
		out  []syncer.DLQEntry
		held bool
	)
	for rows.Next() {
		// The left join's columns are NULL when nothing was due.
		var (
			rowHeld                  bool
			st, sourceID, lastErr    *string
			permanent, deferred      *bool
			attempts                 *int64
			nextAttempt, firstFailed *time.Time
		)
		if err := rows.Scan(&rowHeld, &st, &sourceID, &permanent, &deferred, &attempts, &nextAttempt, &lastErr, &firstFailed); err != nil {
			return nil, s.wrap("claim dead-letter entries of "+stream, err)
		}
		held = rowHeld
		if sourceID == nil {
			continue
		}
		out = append(out, syncer.DLQEntry{Stream: *st, SourceID: *sourceID, Permanent: *permanent, Deferred: *deferred,
			Attempts: int(*attempts), NextAttempt: nextAttempt.UTC(), LastError: *lastErr, FirstFailed: firstFailed.UTC()})
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("claim dead-letter entries of "+stream, err)
	}
	if !held {
		return nil, fmt.Errorf("%w (group %q, holder %q, token %d): claim of %s's dead-letter entries", syncer.ErrFenced, l.Group, l.Holder, l.Token, stream)
	}
	return out, nil
}

// TableStats is the size of one of the store's tables.
type TableStats struct {
	Name string
	// Rows is an exact count.
	Rows int64
	// TotalBytes is TableBytes plus IndexBytes.
	TotalBytes int64
	// TableBytes is the table with its TOAST data (large JSON values).
	TableBytes int64
	// IndexBytes is the table's indexes.
	IndexBytes int64
}

// Stats is the size of the store's tables, for capacity planning and
// benchmark reports.
type Stats struct {
	Schema     string
	Tables     []TableStats
	TotalBytes int64
}

// Stats counts the rows of each of the store's tables and measures them
// on disk (pg_total_relation_size, pg_table_size, pg_indexes_size). The
// counts read whole tables: call it for reports, not in a hot loop.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	if err := s.ready(ctx); err != nil {
		return Stats{}, err
	}
	st := Stats{Schema: s.schema}
	rows, err := s.pool.Query(ctx, s.q.stats)
	if err != nil {
		return Stats{}, s.wrap("stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ts TableStats
		if err := rows.Scan(&ts.Name, &ts.Rows, &ts.TotalBytes, &ts.TableBytes, &ts.IndexBytes); err != nil {
			return Stats{}, s.wrap("stats", err)
		}
		st.Tables = append(st.Tables, ts)
		st.TotalBytes += ts.TotalBytes
	}
	if err := rows.Err(); err != nil {
		return Stats{}, s.wrap("stats", err)
	}
	return st, nil
}

// Size returns the bytes the store's tables and indexes take on disk
// (Stats' TotalBytes). PostgreSQL reuses the space of deleted rows after
// VACUUM (autovacuum does it) but does not return it to the operating
// system without VACUUM FULL.
func (s *Store) Size(ctx context.Context) (int64, error) {
	st, err := s.Stats(ctx)
	return st.TotalBytes, err
}
