package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
)

// appliedMigrations reads the version table of schema.
func appliedMigrations(t *testing.T, admin *pgxpool.Pool, schema string) (versions []int, appliedAt []time.Time) {
	t.Helper()
	rows, err := admin.Query(context.Background(), "SELECT version, applied_at FROM "+schema+"."+migrationsTable+" ORDER BY version")
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var v int
		var at time.Time
		require.NoError(t, rows.Scan(&v, &at))
		versions = append(versions, v)
		appliedAt = append(appliedAt, at)
	}
	require.NoError(t, rows.Err())
	return versions, appliedAt
}

func allVersions() []int {
	var vs []int
	for _, m := range migrations {
		vs = append(vs, m.version)
	}
	return vs
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	db := testDB(t)
	admin := adminPool(t, db)
	schema := newSchema()
	s := openStore(t, db, WithSchema(schema))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_1"})
	})
	versions, at := appliedMigrations(t, admin, schema)
	assert.Equal(t, allVersions(), versions)

	s2 := openStore(t, db, WithSchema(schema))
	versions2, at2 := appliedMigrations(t, admin, schema)
	assert.Equal(t, versions, versions2, "a second open applies nothing")
	assert.Equal(t, at, at2)
	mustView(t, s2, func(tx syncer.ReadTx) error {
		p, err := tx.PairBySF("incident", "inc_1")
		require.NoError(t, err)
		assert.NotNil(t, p, "and keeps the data")
		return nil
	})
}

func TestOpenConcurrently(t *testing.T) {
	db := testDB(t)
	schema := newSchema()
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = Open(context.Background(), db, WithSchema(schema))
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "replica %d", i)
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	versions, _ := appliedMigrations(t, adminPool(t, db), schema)
	assert.Equal(t, allVersions(), versions, "each step applied once")
	l := mustLease(t, stores[0], "incident", "replica-a", time.Minute)
	mustUpdate(t, stores[n-1], l, func(tx syncer.Tx) error { return tx.PutStream(&syncer.StreamState{ID: "incident/sn"}) })
}

// TestOpenTakesTheMigrationLockOnlyToMigrate: a schema being migrated
// makes other opens of it wait on the advisory lock; a migrated schema
// opens without touching the lock.
func TestOpenTakesTheMigrationLockOnlyToMigrate(t *testing.T) {
	db := testDB(t)
	admin := adminPool(t, db)
	migrated := newSchema()
	openStore(t, db, WithSchema(migrated))
	fresh := newSchema()
	ctx := context.Background()

	holder, err := admin.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = holder.Rollback(context.Background()) })
	for _, schema := range []string{migrated, fresh} {
		_, err = holder.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey(schema))
		require.NoError(t, err)
	}

	quick, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := Open(quick, db, WithSchema(migrated))
	require.NoError(t, err, "a migrated schema does not wait for the lock")
	require.NoError(t, s.Close())

	opened := make(chan error, 1)
	go func() {
		s, err := Open(ctx, db, WithSchema(fresh))
		if err == nil {
			err = s.Close()
		}
		opened <- err
	}()
	waitUntil(t, "the open waits for the migration lock", func() bool { return lockWaiters(t, admin) == 1 })
	select {
	case err := <-opened:
		t.Fatalf("Open did not wait for the migration lock: %v", err)
	default:
	}
	require.NoError(t, holder.Rollback(ctx))
	require.NoError(t, <-opened)
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	db := testDB(t)
	schema := newSchema()
	require.NoError(t, openStore(t, db, WithSchema(schema)).Close())
	_, err := adminPool(t, db).Exec(context.Background(), "INSERT INTO "+schema+"."+migrationsTable+" (version, description) VALUES (999, 'from the future')")
	require.NoError(t, err)
	_, err = Open(context.Background(), db, WithSchema(schema))
	require.ErrorIs(t, err, ErrSchemaTooNew)
	assert.Contains(t, err.Error(), "999")
	assert.Contains(t, err.Error(), "upgrade snowsync")
}

func TestOpenRefusesAnotherProgramsSchema(t *testing.T) {
	db := testDB(t)
	admin := adminPool(t, db)
	ctx := context.Background()
	schema := newSchema()
	_, err := admin.Exec(ctx, "CREATE SCHEMA "+schema+"; CREATE TABLE "+schema+".pairs (id int); INSERT INTO "+schema+".pairs VALUES (42)")
	require.NoError(t, err)

	_, err = Open(ctx, db, WithSchema(schema))
	require.ErrorIs(t, err, ErrSchemaConflict)
	assert.Contains(t, err.Error(), "WithSchema")

	var id int
	require.NoError(t, admin.QueryRow(ctx, "SELECT id FROM "+schema+".pairs").Scan(&id))
	assert.Equal(t, 42, id, "the other program's table is untouched")
	var exists bool
	require.NoError(t, admin.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", schema+"."+migrationsTable).Scan(&exists))
	assert.False(t, exists, "and the failed migration left nothing behind")
}

// TestOpenWithALeastPrivilegeRole: a role that may only use the tables
// opens a migrated schema (Open reads the version, no DDL), and gets a
// clear error for a schema it would have to create.
func TestOpenWithALeastPrivilegeRole(t *testing.T) {
	db := testDB(t)
	admin := adminPool(t, db)
	ctx := context.Background()
	schema := newSchema()
	require.NoError(t, openStore(t, db, WithSchema(schema)).Close())

	role, password := "snowsync_app_"+schema+"_"+fmt.Sprint(time.Now().UnixNano()), "app-password"
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD '"+password+"'"); err != nil {
		if pgCode(err) == "42501" {
			t.Skipf("the test server's role may not CREATE ROLE (%v); the throwaway cluster can", err)
		}
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		_, err := admin.Exec(context.Background(), "DROP OWNED BY "+role+"; DROP ROLE "+role)
		assert.NoError(t, err)
	})
	_, err := admin.Exec(ctx, fmt.Sprintf(`REVOKE CREATE ON SCHEMA public FROM PUBLIC;
		GRANT USAGE ON SCHEMA %[1]s TO %[2]s;
		GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %[1]s TO %[2]s`, schema, role))
	require.NoError(t, err)

	cfg, err := pgxpool.ParseConfig(db)
	require.NoError(t, err)
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, password
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	s, err := OpenPool(ctx, pool, WithSchema(schema))
	require.NoError(t, err, "a migrated schema needs no DDL")
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		return tx.AddConflict(&syncer.Conflict{Table: "incident", Key: "state"})
	})
	require.NoError(t, s.Close())

	_, err = OpenPool(ctx, pool, WithSchema(newSchema()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "needs CREATE on the database", "the error says what privilege is missing")
}

func TestOpenRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, conn string
		opts       []Option
	}{
		{name: "an empty connection string", conn: ""},
		{name: "a connection string that does not parse", conn: "postgres://app:hunter2@db.example:notaport/state"},
		{name: "key=value pairs that do not parse", conn: "host=db password='hunter2"},
		{name: "an upper-case schema", conn: "postgres://localhost/x", opts: []Option{WithSchema("Tenant")}},
		{name: "a schema starting with a digit", conn: "postgres://localhost/x", opts: []Option{WithSchema("1tenant")}},
		{name: "a schema with a quote", conn: "postgres://localhost/x", opts: []Option{WithSchema(`a"b`)}},
		{name: "an empty schema", conn: "postgres://localhost/x", opts: []Option{WithSchema("")}},
		{name: "a schema PostgreSQL reserves", conn: "postgres://localhost/x", opts: []Option{WithSchema("pg_tenant")}},
		{name: "a schema name over 63 characters", conn: "postgres://localhost/x", opts: []Option{WithSchema(strings.Repeat("a", 64))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, tc.conn, tc.opts...)
			require.ErrorIs(t, err, ErrInvalid)
			assert.NotContains(t, err.Error(), "hunter2", "a password never appears in an error")
		})
	}
	_, err := OpenPool(ctx, nil)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestOpenUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = Open(context.Background(), "postgres://app:hunter2@"+addr+"/state?connect_timeout=5&sslmode=disable")
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrInvalid)
	assert.NotContains(t, err.Error(), "hunter2")
}

// TestSchemasAreIsolated: two tenants in one database, each in its own
// schema, have their own leases, tokens and state.
func TestSchemasAreIsolated(t *testing.T) {
	db := testDB(t)
	a := openStore(t, db, WithSchema(newSchema()))
	b := openStore(t, db, WithSchema(newSchema()))
	la := mustLease(t, a, "incident", "tenant-a", time.Minute)
	lb := mustLease(t, b, "incident", "tenant-b", time.Minute)
	assert.Equal(t, int64(1), la.Token)
	assert.Equal(t, int64(1), lb.Token, "the same group is free in another schema")
	mustUpdate(t, a, la, func(tx syncer.Tx) error {
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn1", SFID: "inc_1"})
	})
	mustUpdate(t, b, lb, func(tx syncer.Tx) error {
		return tx.PutPair(&syncer.Pair{Table: "incident", SNID: "sn2", SFID: "inc_1"})
	})
	require.ErrorIs(t, b.Update(context.Background(), la, func(syncer.Tx) error { return nil }), syncer.ErrFenced,
		"a lease of one schema writes nothing in another")
	mustView(t, b, func(tx syncer.ReadTx) error {
		p, err := tx.PairBySF("incident", "inc_1")
		require.NoError(t, err)
		require.NotNil(t, p)
		assert.Equal(t, "sn2", p.SNID, "each tenant's pairs are its own, ids may repeat across tenants")
		return nil
	})
}

func TestClosedStore(t *testing.T) {
	db := testDB(t)
	s := openStore(t, db, WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")
	ctx := context.Background()
	_, err := s.AcquireLease(ctx, "incident", "replica-a", time.Minute)
	require.ErrorIs(t, err, syncer.ErrClosed)
	require.ErrorIs(t, s.ReleaseLease(ctx, l), syncer.ErrClosed)
	require.ErrorIs(t, s.View(ctx, func(syncer.ReadTx) error { return nil }), syncer.ErrClosed)
	require.ErrorIs(t, s.Update(ctx, l, func(syncer.Tx) error { return nil }), syncer.ErrClosed)
	_, err = s.ClaimDueDLQ(ctx, l, "incident/sn", t0, 1, time.Minute)
	require.ErrorIs(t, err, syncer.ErrClosed)
	_, err = s.Stats(ctx)
	require.ErrorIs(t, err, syncer.ErrClosed)

	pool := adminPool(t, db)
	p, err := OpenPool(ctx, pool, WithSchema(newSchema()))
	require.NoError(t, err)
	require.NoError(t, p.Close())
	require.NoError(t, pool.Ping(ctx), "Close leaves a caller's pool open")
}

func TestStats(t *testing.T) {
	s := openStore(t, testDB(t), WithSchema(newSchema()))
	l := mustLease(t, s, "incident", "replica-a", time.Minute)
	mustUpdate(t, s, l, func(tx syncer.Tx) error {
		for i := range 20 {
			if err := tx.PutPair(&syncer.Pair{Table: "incident", SNID: fmt.Sprintf("sn%d", i), SFID: fmt.Sprintf("inc_%d", i),
				SnapSN: map[string]string{"short_description": "VPN down"}}); err != nil {
				return err
			}
		}
		return errors.Join(tx.PutStream(&syncer.StreamState{ID: "incident/sn"}), tx.AddConflict(&syncer.Conflict{Table: "incident"}))
	})
	st, err := s.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, s.Schema(), st.Schema)
	rows := map[string]int64{}
	var sum int64
	for _, ts := range st.Tables {
		rows[ts.Name] = ts.Rows
		assert.Positive(t, ts.TotalBytes, ts.Name)
		assert.Equal(t, ts.TotalBytes, ts.TableBytes+ts.IndexBytes, ts.Name)
		sum += ts.TotalBytes
	}
	assert.Equal(t, map[string]int64{"streams": 1, "pairs": 20, "dlq": 0, "intents": 0, "conflicts": 1, "leases": 1, "replicas": 0}, rows)
	assert.Equal(t, sum, st.TotalBytes)
	size, err := s.Size(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, size, sum, "Size is the total (a later call may see the tables grown)")
}
