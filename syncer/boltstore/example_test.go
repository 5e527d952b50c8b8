package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "snowsync-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "state.db")

	store, err := boltstore.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = store.Close() }()

	// A second instance on the same file fails fast.
	_, err = boltstore.Open(path, boltstore.WithOpenTimeout(100*time.Millisecond))
	fmt.Println("second open locked out:", errors.Is(err, boltstore.ErrLocked))

	ctx := context.Background()
	lease, err := store.AcquireLease(ctx, "incident", "replica-1", time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The record's outcome and the cursor past it commit together.
	err = store.Update(ctx, lease, func(tx syncer.Tx) error {
		if err := tx.PutPair(&syncer.Pair{Table: "incident", SNID: "9d385017c611228701d22104cc95c371", SFID: "inc_42"}); err != nil {
			return err
		}
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{ID: "9d385017c611228701d22104cc95c371"}})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = store.View(ctx, func(tx syncer.ReadTx) error {
		p, err := tx.PairBySF("incident", "inc_42")
		if err != nil {
			return err
		}
		fmt.Println("paired with", p.SNID)
		return nil
	})
	// Output:
	// second open locked out: true
	// paired with 9d385017c611228701d22104cc95c371
}
