package pgstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/replicatest"
)

// TestReplicas runs three syncer replicas on one database, each with its
// own pool, against the fakes: spread, takeover, pause and graceful stop.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-replica scenarios take about a minute; run without -short")
	}
	db := testDB(t)
	replicatest.Run(t, func(t *testing.T) func() syncer.Store {
		schema := newSchema()
		return func() syncer.Store { return openStore(t, db, WithSchema(schema)) }
	})
}

func TestHeartbeatListsTheLiveReplicas(t *testing.T) {
	db := testDB(t)
	schema := newSchema()
	a, b := openStore(t, db, WithSchema(schema)), openStore(t, db, WithSchema(schema))
	ctx := t.Context()
	live, err := a.Heartbeat(ctx, "replica-a", 2*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []string{"replica-a"}, live)
	live, err = b.Heartbeat(ctx, "replica-b", 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []string{"replica-a", "replica-b"}, live)

	// a stops heartbeating: once its time is up, it is gone.
	waitDBPast(t, a, dbNow(t, a).Add(2*time.Second))
	live, err = b.Heartbeat(ctx, "replica-b", 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []string{"replica-b"}, live)

	// A graceful stop leaves at once.
	_, err = a.Heartbeat(ctx, "replica-a", 10*time.Second)
	require.NoError(t, err)
	require.NoError(t, a.Leave(ctx, "replica-a"))
	live, err = b.Heartbeat(ctx, "replica-b", 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []string{"replica-b"}, live)

	_, err = a.Heartbeat(ctx, "", 10*time.Second)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = a.Heartbeat(ctx, "replica-a", 0)
	assert.ErrorIs(t, err, ErrInvalid)
}
