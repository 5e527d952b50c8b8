package pgstore

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/storetest"
)

// TestConformance runs the suite with each store in its own schema of one
// database, through Open.
func TestConformance(t *testing.T) {
	db := testDB(t)
	storetest.Run(t, storetest.Factory{
		Open: func(t *testing.T) syncer.Store {
			s, err := Open(t.Context(), db, WithSchema(newSchema()))
			require.NoError(t, err)
			return s
		},
		Reopen: func(t *testing.T, s syncer.Store) syncer.Store {
			p := s.(*Store)
			require.NoError(t, p.Close())
			s2, err := Open(t.Context(), db, WithSchema(p.Schema()))
			require.NoError(t, err)
			return s2
		},
	})
}

// TestConformancePgBouncerModes runs the suite through OpenPool, on pools
// in the query modes that work behind PgBouncer in transaction mode (no
// prepared statement outlives its transaction). Closing a store leaves
// the caller's pool open for the reopen.
func TestConformancePgBouncerModes(t *testing.T) {
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(testDB(t))
			require.NoError(t, err)
			cfg.ConnConfig.DefaultQueryExecMode = mode
			pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			storetest.Run(t, storetest.Factory{
				Open: func(t *testing.T) syncer.Store {
					s, err := OpenPool(t.Context(), pool, WithSchema(newSchema()))
					require.NoError(t, err)
					return s
				},
				Reopen: func(t *testing.T, s syncer.Store) syncer.Store {
					p := s.(*Store)
					require.NoError(t, p.Close())
					s2, err := OpenPool(t.Context(), pool, WithSchema(p.Schema()))
					require.NoError(t, err)
					return s2
				},
			})
		})
	}
}
