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
	ra := syncer.Replica{Holder: "replica-a", Tables: []string{"cmdb_ci", "incident"}}
	rb := syncer.Replica{Holder: "replica-b", Tables: []string{}}
	live, err := a.Heartbeat(ctx, "replica-a", []string{"incident", "cmdb_ci", "incident"}, 2*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []syncer.Replica{ra}, live, "tables sorted, once each")
	live, err = b.Heartbeat(ctx, "replica-b", nil, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []syncer.Replica{ra, rb}, live, "no tables is none, not unknown")

	// A row of a replica that did not say (an older version) reads as unknown.
	_, err = adminPool(t, db).Exec(ctx, "INSERT INTO "+schema+".replicas (holder, alive_until, seen_at) VALUES ('replica-old', now() + interval '1 hour', now())")
	require.NoError(t, err)
	live, err = b.Heartbeat(ctx, "replica-b", nil, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []syncer.Replica{ra, rb, {Holder: "replica-old"}}, live)
	_, err = adminPool(t, db).Exec(ctx, "DELETE FROM "+schema+".replicas WHERE holder = 'replica-old'")
	require.NoError(t, err)

	// a stops heartbeating: once its time is up, it is gone.
	waitDBPast(t, a, dbNow(t, a).Add(2*time.Second))
	live, err = b.Heartbeat(ctx, "replica-b", nil, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []syncer.Replica{rb}, live)

	// A graceful stop leaves at once; a heartbeat replaces the tables.
	live, err = a.Heartbeat(ctx, "replica-a", []string{"problem"}, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []syncer.Replica{{Holder: "replica-a", Tables: []string{"problem"}}, rb}, live)
	require.NoError(t, a.Leave(ctx, "replica-a"))
	live, err = b.Heartbeat(ctx, "replica-b", nil, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []syncer.Replica{rb}, live)

	_, err = a.Heartbeat(ctx, "", nil, 10*time.Second)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = a.Heartbeat(ctx, "replica-a", nil, 0)
	assert.ErrorIs(t, err, ErrInvalid)
}

// BenchmarkReplicasUnderRateLimit syncs a backlog of 4 tables with 1 and
// 3 replicas when ServiceNow's rate limit is the bound:
//
//	go test -run '^$' -bench ReplicasUnderRateLimit -benchtime 1x ./syncer/pgstore/
func BenchmarkReplicasUnderRateLimit(b *testing.B) {
	db := testDB(b)
	for _, c := range []struct {
		name     string
		replicas int
		split    replicatest.Split
	}{
		{"1-replica", 1, replicatest.SplitWhole},
		{"3-replicas-budget-by-tables", 3, replicatest.SplitByTables},
		{"3-replicas-evenly", 3, replicatest.SplitEvenly},
		{"3-replicas-whole-each", 3, replicatest.SplitWhole},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				schema := newSchema()
				res := replicatest.Throughput(b, func() syncer.Store { return openStore(b, db, WithSchema(schema)) },
					replicatest.ThroughputConfig{Replicas: c.replicas, PerTable: 1000, Limit: 10, PageSize: 50, Split: c.split})
				b.ReportMetric(res.RecordsPerSecond(), "records/s")
				b.ReportMetric(float64(res.SNRequests)/res.Elapsed.Seconds(), "sn-req/s")
				b.ReportMetric(float64(res.SNRateLimited), "sn-429s")
				b.Logf("%s: %s", c.name, res)
			}
		})
	}
}
