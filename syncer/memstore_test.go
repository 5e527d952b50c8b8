package syncer_test

import (
	"testing"

	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/storetest"
)

func TestMemStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Factory{Open: func(t *testing.T) syncer.Store { return syncer.NewMemStore() }})
}
