package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migration is one step of the schema's history. Steps are applied in
// version order, each once, inside one transaction with the record of it.
// Never edit a released step: add a new one.
type migration struct {
	version     int
	description string
	sql         string // {s} stands for the quoted schema name
}

// migrations is the schema's history; the last version is the one this
// code reads and writes.
var migrations = []migration{
	{version: 1, description: "streams, pairs, dead-letter queue, intents, conflicts, leases", sql: `
CREATE TABLE {s}.leases (
	grp         text COLLATE "C" PRIMARY KEY,
	holder      text NOT NULL,
	token       bigint NOT NULL CHECK (token > 0),
	expires     timestamptz NOT NULL,
	released    boolean NOT NULL DEFAULT false,
	acquired_at timestamptz NOT NULL,
	renewed_at  timestamptz NOT NULL,
	released_at timestamptz
);
COMMENT ON TABLE {s}.leases IS 'snowsync: one lease per group (table), times by the database clock; a released lease keeps its row so tokens only grow';

CREATE TABLE {s}.streams (
	id         text COLLATE "C" PRIMARY KEY,
	state      jsonb NOT NULL,
	updated_at timestamptz NOT NULL
);
COMMENT ON TABLE {s}.streams IS 'snowsync: stream cursors and run state (syncer.StreamState as JSON)';

CREATE TABLE {s}.pairs (
	tbl             text COLLATE "C" NOT NULL,
	sn_id           text COLLATE "C" NOT NULL,
	sf_id           text COLLATE "C" NOT NULL,
	snap_sn         jsonb,
	snap_sf         jsonb,
	hash_sn         text NOT NULL,
	ver_sn          bigint NOT NULL,
	ver_sf          bigint NOT NULL,
	updated_sn      timestamptz NOT NULL,
	updated_sf      timestamptz NOT NULL,
	origin          text NOT NULL,
	backref_pending boolean NOT NULL,
	pending         jsonb,
	tombstone       jsonb,
	first_synced    timestamptz NOT NULL,
	last_synced     timestamptz NOT NULL,
	writes          timestamptz[],
	PRIMARY KEY (tbl, sn_id)
);
CREATE UNIQUE INDEX pairs_sf_id ON {s}.pairs (tbl, sf_id) WHERE sf_id <> '';
COMMENT ON TABLE {s}.pairs IS 'snowsync: linked ServiceNow and StackFlow records with the last synced values of each side';

CREATE TABLE {s}.dlq (
	stream       text COLLATE "C" NOT NULL,
	source_id    text COLLATE "C" NOT NULL,
	permanent    boolean NOT NULL,
	deferred     boolean NOT NULL,
	attempts     bigint NOT NULL,
	next_attempt timestamptz NOT NULL,
	last_error   text NOT NULL,
	first_failed timestamptz NOT NULL,
	PRIMARY KEY (stream, source_id)
);
CREATE INDEX dlq_due ON {s}.dlq (stream, next_attempt, source_id) WHERE NOT permanent;
COMMENT ON TABLE {s}.dlq IS 'snowsync: dead-letter queue, keyed by source record (the key, not the payload)';

CREATE TABLE {s}.intents (
	stream    text COLLATE "C" NOT NULL,
	source_id text COLLATE "C" NOT NULL,
	attempt   bigint NOT NULL,
	created   timestamptz NOT NULL,
	PRIMARY KEY (stream, source_id)
);
COMMENT ON TABLE {s}.intents IS 'snowsync: creates about to be sent, looked up before creating again';

CREATE TABLE {s}.conflicts (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tbl       text COLLATE "C" NOT NULL,
	at        timestamptz NOT NULL,
	sn_id     text NOT NULL,
	sf_id     text NOT NULL,
	key       text NOT NULL,
	sn_value  text NOT NULL,
	sf_value  text NOT NULL,
	winner    text NOT NULL,
	rule      text NOT NULL,
	logged_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conflicts_tbl_seq ON {s}.conflicts (tbl, seq);
COMMENT ON TABLE {s}.conflicts IS 'snowsync: append-only log of losing field values, newest has the highest seq';

CREATE TABLE {s}.replicas (
	holder      text COLLATE "C" PRIMARY KEY,
	alive_until timestamptz NOT NULL,
	seen_at     timestamptz NOT NULL
);
COMMENT ON TABLE {s}.replicas IS 'snowsync: live replicas (heartbeats, database clock); syncer.Run deals the tables among them';
`},
	{version: 2, description: "the tables each replica syncs", sql: `
ALTER TABLE {s}.replicas ADD COLUMN tables text[] COLLATE "C";
COMMENT ON COLUMN {s}.replicas.tables IS 'snowsync: the tables the replica enables, sorted; NULL: unknown (every table)';
`},
}

// schemaVersion is the version this code reads and writes.
func schemaVersion() int { return migrations[len(migrations)-1].version }

// migrationsTable records the applied steps, one row each.
const migrationsTable = "pgstore_migrations"

// storeTables are the tables migrations create, for Stats.
var storeTables = []string{"streams", "pairs", "dlq", "intents", "conflicts", "leases", "replicas"}

// migrateLockKey is the key of the transaction-scoped advisory lock that
// serialises migrations of one schema: the FNV-1a hash of the schema name
// under a snowsync prefix.
func migrateLockKey(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("snowsync/pgstore migrate " + schema)) // hash writes never fail
	return int64(h.Sum64())
}

// SQLSTATE codes the store handles.
const (
	codeUndefinedTable    = "42P01"
	codeInvalidSchemaName = "3F000"
	codeDuplicateTable    = "42P07"
	codeDuplicateObject   = "42710"
	codeUniqueViolation   = "23505"
)

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// migrate brings the schema to schemaVersion. When it is already there, it
// only reads the version (no DDL, no lock: a role without CREATE can open a
// migrated schema). Otherwise one transaction takes
// pg_advisory_xact_lock on the schema's key, so replicas opening at once
// wait for each other, reads the version again, creates the schema and
// the version table if missing, applies the missing steps and records
// them. The lock is transaction-scoped: it ends with the transaction, and
// works behind PgBouncer in transaction mode.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	qs := pgx.Identifier{schema}.Sanitize()
	v, err := appliedVersion(ctx, pool, qs)
	switch {
	case err == nil && v == schemaVersion():
		return nil
	case err == nil && v > schemaVersion():
		return tooNew(schema, v)
	case err != nil && pgCode(err) != codeUndefinedTable && pgCode(err) != codeInvalidSchemaName:
		return fmt.Errorf("pgstore: read the schema version of %s: %w", schema, err)
	}

	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("pgstore: migrate %s: %w", schema, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // after Commit, a no-op
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey(schema)); err != nil {
		return fmt.Errorf("pgstore: migrate %s: take the migration lock: %w", schema, err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: migrate %s: %w", schema, err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+qs); err != nil {
			return fmt.Errorf("pgstore: create schema %s (the role needs CREATE on the database, or create the schema for it): %w", schema, err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+qs+`.`+migrationsTable+` (
	version     integer PRIMARY KEY,
	description text NOT NULL,
	applied_at  timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("pgstore: migrate %s: create %s: %w", schema, migrationsTable, err)
	}
	if v, err = appliedVersion(ctx, tx, qs); err != nil {
		return fmt.Errorf("pgstore: read the schema version of %s: %w", schema, err)
	}
	if v > schemaVersion() {
		return tooNew(schema, v)
	}
	for _, m := range migrations {
		if m.version <= v {
			continue
		}
		if _, err := tx.Exec(ctx, strings.ReplaceAll(m.sql, "{s}", qs)); err != nil {
			if c := pgCode(err); c == codeDuplicateTable || c == codeDuplicateObject {
				return fmt.Errorf("%w: schema %s, step %d (%s): %w; choose another schema with WithSchema",
					ErrSchemaConflict, schema, m.version, m.description, err)
			}
			return fmt.Errorf("pgstore: migrate %s to version %d (%s): %w", schema, m.version, m.description, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+qs+"."+migrationsTable+" (version, description) VALUES ($1, $2)",
			m.version, m.description); err != nil {
			return fmt.Errorf("pgstore: migrate %s: record version %d: %w", schema, m.version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate %s: commit: %w", schema, err)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// appliedVersion returns the highest applied step, 0 for none.
func appliedVersion(ctx context.Context, q querier, quotedSchema string) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+quotedSchema+"."+migrationsTable).Scan(&v)
	return v, err
}

func tooNew(schema string, v int) error {
	return fmt.Errorf("%w: schema %s is at version %d, this snowsync knows up to %d: upgrade snowsync",
		ErrSchemaTooNew, schema, v, schemaVersion())
}
