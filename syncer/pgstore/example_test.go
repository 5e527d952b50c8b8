package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/pgstore"
)

// Two replicas share one database. Each tries to take the lease on a table
// before syncing it; only one gets it, and only its writes land.
func Example() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, os.Getenv("SNOWSYNC_DATABASE_URL"), pgstore.WithSchema("tenant_acme"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = store.Close() }()

	lease, err := store.AcquireLease(ctx, "incident", "replica-1", 30*time.Second)
	if errors.Is(err, syncer.ErrLeaseHeld) {
		fmt.Println("another replica syncs incident; try again later")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = store.ReleaseLease(ctx, lease) }()

	// The record's outcome and the cursor past it commit together, and
	// only while this replica holds the lease.
	err = store.Update(ctx, lease, func(tx syncer.Tx) error {
		if err := tx.PutPair(&syncer.Pair{Table: "incident", SNID: "9d385017c611228701d22104cc95c371", SFID: "inc_42"}); err != nil {
			return err
		}
		return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{ID: "9d385017c611228701d22104cc95c371"}})
	})
	if errors.Is(err, syncer.ErrFenced) {
		fmt.Println("the lease moved to another replica: stop syncing incident")
		return
	}
	if err != nil {
		fmt.Println(err)
	}
}

// Workers of the lease holder share the dead-letter retries: each due
// entry goes to exactly one of them, and comes due again if its worker
// dies before settling it.
func ExampleStore_ClaimDueDLQ() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, os.Getenv("SNOWSYNC_DATABASE_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = store.Close() }()
	lease, err := store.AcquireLease(ctx, "incident", "replica-1", 30*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	entries, err := store.ClaimDueDLQ(ctx, lease, "incident/sn", time.Now(), 50, 5*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range entries {
		retryErr := retry(ctx, e.SourceID) // re-read the record and sync it
		err := store.Update(ctx, lease, func(tx syncer.Tx) error {
			if retryErr == nil {
				return tx.DeleteDLQ(e.Stream, e.SourceID)
			}
			e.Attempts++
			e.LastError = retryErr.Error()
			e.NextAttempt = time.Now().Add(time.Duration(e.Attempts) * time.Minute)
			return tx.PutDLQ(&e)
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
}

func retry(context.Context, string) error { return nil }
