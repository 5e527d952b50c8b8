package syncer_test

import (
	"testing"

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
