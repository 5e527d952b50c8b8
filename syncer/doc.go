// Package syncer keeps ServiceNow and StackFlow in sync: incidents,
// problems and changes both ways; service requests, CIs and CI
// relationships from ServiceNow; incrementally, on a schedule, and correct
// under the failures real peers have. It composes the servicenow and
// stackflow clients with the mapping package; sync-design.md is its design.
//
//	store, _ := boltstore.Open("snowsync.db")
//	s, err := syncer.New(syncer.Config{
//		ServiceNow: sn, StackFlow: sf, Store: store,
//		Tables: syncer.DefaultTables(),
//	})
//	report, err := s.SyncOnce(ctx, "incident") // one cycle, both directions
//	err = s.Run(ctx)                           // the scheduler, until ctx ends
//	plan, err := s.Plan(ctx, "cmdb_ci")        // dry run: what would be written
//
// # Streams and cursors
//
// Each table syncs as one stream per direction. A stream reads its source
// with a keyset cursor on (sys_updated_on, sys_id) (StackFlow: (updated_at,
// id)), never offsets, up to a bound fixed at the start of the sweep from
// the source's own clock (its Date header) minus SafetyLag, so records
// written during a sweep wait for the next one. Each sweep re-reads Overlap
// before where the last one ended, to catch late commits; re-read records
// whose version was already synced cost nothing. A sweep ends only on an
// empty page (a page ACLs shortened is not the end), every page's order is
// checked, and the cursor moves only past records whose outcome is
// committed: applied, recognised as an echo, or in the dead-letter queue.
//
// # Filters
//
// A table's filter is an encoded query. It admits records: once paired, a
// record stays tracked (a tracking sweep reads without the filter), so an
// incident that closes and stops matching active=true still syncs its
// closure. Relative terms such as
// sys_updated_on>=javascript:gs.hoursAgoStart(1) bound the first load only;
// later sweeps rely on the stored cursor. Before a filter is used, a probe
// checks whether the instance silently drops conditions on unknown fields,
// and a filter that would then match the whole table is refused
// (FilterError). A changed filter stops the table (ConfigChangedError)
// until ResetStream.
//
// # Deciding per record
//
// Each pair keeps a snapshot of both sides: the mapped fields as each side
// stored them after the last sync, in its own terms. A record whose
// version was already synced is skipped; one whose projection equals its
// snapshot is an echo of our own write and costs no write; otherwise a
// field-level three-way merge with the mapping's ownership rules decides
// what to write to either side, and losing values go to the conflict log.
// Only changed fields are written (PATCH). Writes that change more than
// they sent (ServiceNow's derived priority and defaults) flow back in a
// second round. Creates are idempotent: a lookup by external_id (StackFlow)
// or correlation_id (ServiceNow) comes first and again after an ambiguous
// failure, StackFlow creates carry a stable Idempotency-Key, and one-way
// tables use bulk upserts. Relationships whose CIs have not synced yet are
// deferred, not failed.
//
// A page's records are independent, so up to WriteConcurrency of them are
// written at once (their round trips, not the CPU, bound a first load of a
// bidirectional table); new records that may link to an existing record
// on the other side go one at a time after them. Each record's outcome is
// kept apart and merged in page order, and the page commits only when all
// are done, so the committed state does not depend on the timing.
//
// # Failures
//
// A host failure (unavailable, rate limited, unauthorized) stops the run and
// moves no cursor. A record's own failure puts it in the dead-letter queue,
// with backoff when a retry may help and as permanent, with the reason,
// when the target refused it; one bad record never stops the others. A pair
// written too often in a short time is quarantined (the loop breaker).
// Writes about to be sent are noted in the store first, so that after a
// crash they are recognised as our own; every state change of a page
// commits in one store transaction with its cursor, fenced by the stream's
// lease. A crash anywhere repeats work and never loses or duplicates it.
//
// # Deletes
//
// ServiceNow deletes are read from sys_audit_delete (under each CI's real
// class) and become soft deletes in StackFlow where PropagateDeletes is on;
// a periodic reconciliation compares ids and versions to catch what every
// other layer missed. Deleted pairs keep a tombstone so stale updates never
// resurrect them. The mass-delete guard stops a sweep that would delete
// more than MassDeleteRatio of a table (MassDeleteError).
//
// # State
//
// The Store interface holds it all; NewMemStore is for tests, and
// syncer/boltstore (embedded, the default) and syncer/pgstore (several
// replicas) are durable. syncer/storetest is the conformance suite.
//
// # Replicas
//
// Every write to the state is fenced by the lease of its table, so a table
// has one writer however many processes run. With a store several
// processes share (one that implements Replicas, as pgstore does), Run
// deals the tables among the live replicas, hands them over at page
// boundaries when replicas come and go, and takes over a dead replica's
// tables once its leases expire; before every write to ServiceNow or
// StackFlow a run checks its lease on the local monotonic clock.
// Config.ServiceNowBudget splits the instance's request rate by each
// replica's share of the tables. syncer/replicatest holds the scenarios
// (spread, takeover, pause, graceful stop) a shared store must pass.
//
// # Reporting
//
// Every run returns a Report (per direction: fetched, created, updated,
// echoes skipped, conflicts, deferred, dead-lettered, deleted; API calls per
// side; duration); an Observer sees progress and every record's outcome;
// logs go to the configured slog.Logger.
package syncer
