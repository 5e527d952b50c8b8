package syncer_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/replicatest"
)

// sharedMem is a handle on a MemStore shared by replicas in one process;
// closing a handle leaves the store open for the others.
type sharedMem struct{ *syncer.MemStore }

func (sharedMem) Close() error { return nil }

func TestReplicasOnOneMemStore(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-replica scenarios take about a minute; run without -short")
	}
	t.Parallel()
	replicatest.Run(t, func(t *testing.T) func() syncer.Store {
		st := syncer.NewMemStore()
		return func() syncer.Store { return sharedMem{st} }
	})
}

func TestDealGivesEachTableToAReplicaThatEnablesIt(t *testing.T) {
	all := []string{"change_request", "cmdb_ci", "cmdb_rel_ci", "incident", "problem", "sc_request"}
	same := []syncer.Replica{{Holder: "a", Tables: all}, {Holder: "b", Tables: all}, {Holder: "c", Tables: all}}
	assert.Equal(t, map[string]string{"change_request": "a", "cmdb_ci": "b", "cmdb_rel_ci": "c", "incident": "a", "problem": "b", "sc_request": "c"},
		syncer.Deal(same), "the same tables everywhere: a round robin")

	mixed := []syncer.Replica{
		{Holder: "a", Tables: []string{"change_request", "incident", "problem", "sc_request"}},
		{Holder: "b", Tables: []string{"change_request", "cmdb_ci", "cmdb_rel_ci", "sc_request"}},
	}
	assert.Equal(t, map[string]string{"change_request": "a", "cmdb_ci": "b", "cmdb_rel_ci": "b", "incident": "a", "problem": "a", "sc_request": "b"},
		syncer.Deal(mixed), "every table on a replica that enables it, shares evened out by the shared ones")

	unknown := []syncer.Replica{{Holder: "a", Tables: []string{"incident"}}, {Holder: "old"}}
	assert.Equal(t, map[string]string{"incident": "a"}, syncer.Deal(unknown), "a replica that did not say its tables may take any")
	unknown = []syncer.Replica{{Holder: "a", Tables: []string{"incident", "problem"}}, {Holder: "old"}}
	assert.Equal(t, map[string]string{"incident": "a", "problem": "old"}, syncer.Deal(unknown))

	assert.Empty(t, syncer.Deal(nil))
	assert.Empty(t, syncer.Deal([]syncer.Replica{{Holder: "a", Tables: []string{}}}), "no tables, nothing dealt")
}
