package syncer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
)

// MassDeleteError stops a sweep that would delete more than the guard
// allows: an ACL change or a mistyped filter makes everything look deleted,
// and propagating that is the worst thing a sync can do.
type MassDeleteError struct {
	Table   string
	Deletes int
	Pairs   int
	Limit   int
}

func (e *MassDeleteError) Error() string {
	return fmt.Sprintf("syncer: %s: mass-delete guard: this sweep would delete %d of %d paired records (limit %d); nothing was deleted. "+
		"If the deletes are real, raise MassDeleteRatio/MassDeleteMin for one run", e.Table, e.Deletes, e.Pairs, e.Limit)
}

// maintenance runs the slow layers of a table when they are due: the
// delete scan, the deep re-read and the reconciliation sweep.
func (r *tableRun) maintenance(ctx context.Context) error {
	if r.plan != nil {
		return nil
	}
	st, err := r.streamState(ctx, streamToSF(r.table()))
	if err != nil {
		return err
	}
	if r.now.Sub(st.LastDeleteScan) >= r.s.cfg.DeleteScanInterval {
		if err := r.scanDeletes(ctx); err != nil {
			return err
		}
	}
	if r.now.Sub(st.LastDeepReread) >= r.s.cfg.DeepRereadInterval && st.Initialized && !st.LastDeepReread.IsZero() {
		if err := r.deepReread(ctx); err != nil {
			return err
		}
	}
	if r.now.Sub(st.LastReconcile) >= r.tc.ReconcileInterval && st.Initialized {
		if st.LastReconcile.IsZero() {
			// The first load just finished: start the clocks instead.
			return r.commit(ctx, newPageOut(streamToSF(r.table()), false), func(st *StreamState) {
				st.LastReconcile, st.LastDeepReread = r.now, r.now
			})
		}
		if err := r.reconcile(ctx); err != nil {
			return err
		}
	}
	return nil
}

// massDeleteLimit is the largest number of deletes one sweep may apply.
func (r *tableRun) massDeleteLimit(pairs int) int {
	return max(r.s.cfg.MassDeleteMin, int(math.Ceil(r.s.cfg.MassDeleteRatio*float64(pairs))))
}

func (r *tableRun) countPairs(ctx context.Context) (int, error) {
	n := 0
	err := r.s.store.View(ctx, func(tx ReadTx) error {
		var err error
		n, err = tx.CountPairs(r.table())
		return err
	})
	return n, err
}

// classes returns the table and, for cmdb_ci, every class below it: deletes
// are audited under a record's real class, never under cmdb_ci.
func (r *tableRun) classes(ctx context.Context) ([]string, error) {
	if r.table() != "cmdb_ci" {
		return []string{r.table()}, nil
	}
	r.s.mu.Lock()
	cached, at := r.s.classCache, r.s.classCacheAt
	r.s.mu.Unlock()
	if cached != nil && r.now.Sub(at) < 24*time.Hour {
		return cached, nil
	}
	children := map[string][]string{}
	for rec, err := range r.s.sn.Table("sys_db_object").All(r.ctxSN, &servicenow.ListOptions{Query: "super_class.nameSTARTSWITHcmdb", Fields: []string{"name", "super_class.name"}, Limit: 1000}) {
		if err != nil {
			return nil, err
		}
		children[rec.Get("super_class.name")] = append(children[rec.Get("super_class.name")], rec.Get("name"))
	}
	out := []string{"cmdb_ci"}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	r.s.mu.Lock()
	r.s.classCache, r.s.classCacheAt = out, r.now
	r.s.mu.Unlock()
	return out, nil
}

// auditRow is one sys_audit_delete row.
type auditRow struct {
	cur Cursor
	key string // the deleted record's sys_id
}

// scanDeletes reads sys_audit_delete for the table's classes after the
// stream's audit cursor and soft-deletes the paired StackFlow records.
func (r *tableRun) scanDeletes(ctx context.Context) error {
	stream := streamToSF(r.table())
	st, err := r.streamState(ctx, stream)
	if err != nil {
		return err
	}
	classes, err := r.classes(ctx)
	if err != nil {
		return err
	}
	var rows []auditRow
	audit := r.s.sn.Table("sys_audit_delete")
	for start := 0; start < len(classes); start += maxIDsPerQuery {
		q, err := servicenow.NewQuery().In("tablename", classes[start:min(start+maxIDsPerQuery, len(classes))]...).Build()
		if err != nil {
			return err
		}
		after := servicenow.Cursor{UpdatedOn: servicenow.NewTime(st.AuditCursor.Time), SysID: st.AuditCursor.ID}
		for rec, err := range audit.Keyset(r.ctxSN, servicenow.KeysetOptions{Query: q, Fields: []string{"documentkey", "tablename"}, After: after, Limit: r.s.cfg.PageSize, NoCount: true}) {
			if err != nil {
				if errors.Is(err, servicenow.ErrForbidden) {
					// Reading the audit usually needs admin; reconciliation
					// still finds deletes, only later.
					r.addError("deletes: cannot read sys_audit_delete (grant the integration user read on it); relying on reconciliation")
					return r.commit(ctx, newPageOut(stream, false), func(st *StreamState) { st.LastDeleteScan = r.now })
				}
				return err
			}
			ts, id, _ := rec.KeysetKey()
			rows = append(rows, auditRow{cur: Cursor{Time: ts.Time, ID: id}, key: rec.Get("documentkey")})
		}
	}
	slices.SortFunc(rows, func(a, b auditRow) int {
		if a.cur.Less(b.cur) {
			return -1
		}
		if b.cur.Less(a.cur) {
			return 1
		}
		return 0
	})
	keys := make([]string, len(rows))
	for i, row := range rows {
		keys[i] = row.key
	}
	pairs, _, err := r.loadPairs(ctx, keys, nil)
	if err != nil {
		return err
	}
	var victims []*Pair
	for _, row := range rows {
		if p := pairs[row.key]; p != nil && p.Tombstone == nil {
			victims = append(victims, p)
			pairs[row.key] = nil // one delete per record
		}
	}
	// The limit is at least MassDeleteMin: below it no count is needed
	// (counting walks every pair of the table).
	if len(victims) > r.s.cfg.MassDeleteMin {
		total, err := r.countPairs(ctx)
		if err != nil {
			return err
		}
		if limit := r.massDeleteLimit(total); len(victims) > limit {
			return &MassDeleteError{Table: r.table(), Deletes: len(victims), Pairs: total, Limit: limit}
		}
	}
	o := newPageOut(stream, false)
	if err := r.applyDeletes(ctx, o, victims); err != nil {
		return err
	}
	last := st.AuditCursor
	if len(rows) > 0 {
		last = last.Max(rows[len(rows)-1].cur)
	}
	return r.commit(ctx, o, func(st *StreamState) {
		st.AuditCursor = st.AuditCursor.Max(last)
		st.LastDeleteScan = r.now
	})
}

// applyDeletes tombstones pairs deleted on ServiceNow and, where enabled,
// soft-deletes their StackFlow records.
func (r *tableRun) applyDeletes(ctx context.Context, o *pageOut, victims []*Pair) error {
	propagate := r.tc.PropagateDeletes == nil || *r.tc.PropagateDeletes
	for _, p := range victims {
		if propagate && p.SFID != "" {
			if err := r.sfDelete(ctx, p.SFID, p.SNID); err != nil && !isNotFound(err) {
				if classOf(err) == classRun {
					return err
				}
				r.fail(ctx, o, p.SNID, err)
				continue
			}
			o.toSF.Deleted++
		}
		r.tombstone(p, "servicenow")
		o.pairs[p.SNID] = p
		o.event(r.table(), p.SNID, p.SFID, OutcomeDeleted, nil)
	}
	return nil
}

// versions walks sys_id and sys_mod_count of the table (all of it, or the
// records updated in [since, until) when those are set), in sys_id order.
func (r *tableRun) versions(ctx context.Context, since, until time.Time) (map[string]int64, int, error) {
	seen := map[string]int64{}
	total := -1
	q := servicenow.NewQuery()
	if !since.IsZero() {
		q = q.AtOrAfter("sys_updated_on", since)
	}
	if !until.IsZero() {
		q = q.Before("sys_updated_on", until)
	}
	query, err := q.OrderBy("sys_id").Build()
	if err != nil {
		return nil, 0, err
	}
	for rec, err := range r.snTable().All(r.ctxSN, &servicenow.ListOptions{Query: query, Fields: []string{"sys_id", "sys_mod_count"}, Limit: max(r.s.cfg.PageSize, 1000),
		OnPage: func(resp *servicenow.Response) {
			if total < 0 {
				total = resp.TotalCount
			}
		}}) {
		if err != nil {
			return nil, 0, err
		}
		n, _ := rec.Int("sys_mod_count")
		seen[rec.SysID()] = int64(n)
	}
	return seen, total, nil
}

// requeue puts source records in the dead-letter queue, due now, so the
// next retry pass syncs them (a missed update or create).
func (r *tableRun) requeue(o *pageOut, ids []string, why string) {
	for _, id := range ids {
		o.dlqPut[id] = &DLQEntry{Stream: o.stream, SourceID: id, Deferred: true, NextAttempt: r.now, FirstFailed: r.now, LastError: why}
		delete(o.dlqDel, id)
	}
}

// deepReread compares the versions of records updated since one
// DeepRereadInterval before the previous re-read, up to where the
// stream has read, with the stored ones: a
// cheap catch-all for writes that committed late, behind the cursor. It
// finds late updates (a newer version than the synced one) and late
// creates (records the filter admits that have no pair); both are queued
// for the retry pass that follows. Records past the cursor are the
// stream's, not its.
func (r *tableRun) deepReread(ctx context.Context) error {
	stream := streamToSF(r.table())
	st, err := r.streamState(ctx, stream)
	if err != nil {
		return err
	}
	// The window reaches one interval behind the previous re-read, so
	// consecutive windows overlap: a write that becomes visible up to
	// DeepRereadInterval after its sys_updated_on is always inside one.
	since := r.now
	if !st.LastDeepReread.IsZero() && st.LastDeepReread.Before(since) {
		since = st.LastDeepReread
	}
	until := st.Cursor.Time
	if st.SweptTo.After(until) {
		until = st.SweptTo
	}
	seen, _, err := r.versions(ctx, since.Add(-r.s.cfg.DeepRereadInterval).UTC(), until)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	pairs, _, err := r.loadPairs(ctx, ids, nil)
	if err != nil {
		return err
	}
	var missed, unpaired []string
	for id, ver := range seen {
		switch p := pairs[id]; {
		case p == nil:
			unpaired = append(unpaired, id)
		case p.Tombstone == nil && ver > p.VerSN:
			missed = append(missed, id)
		}
	}
	if f := r.s.filters[r.table()].incremental; f != "" && len(unpaired) > 0 {
		unpaired = r.filterAdmitted(ctx, unpaired, f)
	}
	slices.Sort(missed)
	slices.Sort(unpaired)
	o := newPageOut(stream, false)
	r.requeue(o, missed, "deep re-read: a newer version than the synced one")
	r.requeue(o, unpaired, "deep re-read: a record created behind the cursor")
	if err := r.commit(ctx, o, func(st *StreamState) { st.LastDeepReread = r.now }); err != nil {
		return err
	}
	return r.retryDue(ctx, stream)
}

// reconcile compares the whole table's ids and versions with the pairs:
// missed updates and creates are requeued, records absent from two sweeps
// in a row and gone when asked by id are deleted (under the mass-delete
// guard), and a count mismatch is reported.
func (r *tableRun) reconcile(ctx context.Context) error {
	stream := streamToSF(r.table())
	seen, total, err := r.versions(ctx, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	if total >= 0 && total != len(seen) {
		r.addError(fmt.Sprintf("reconcile %s: saw %d of %d records: ACLs hide records from the integration user; hidden records are kept, never deleted", r.table(), len(seen), total))
	}
	st, err := r.streamState(ctx, stream)
	if err != nil {
		return err
	}
	missing := map[string]int{}
	var absent, missed []string
	paired := map[string]bool{}
	if err := r.s.store.View(ctx, func(tx ReadTx) error {
		return tx.Pairs(r.table(), func(p *Pair) bool {
			paired[p.SNID] = true
			if p.Tombstone != nil {
				return true
			}
			ver, ok := seen[p.SNID]
			switch {
			case !ok:
				missing[p.SNID] = st.Missing[p.SNID] + 1
				if missing[p.SNID] >= 2 {
					absent = append(absent, p.SNID)
				}
			case ver > p.VerSN:
				missed = append(missed, p.SNID)
			}
			return true
		})
	}); err != nil {
		return err
	}
	var unpaired []string
	for id := range seen {
		if !paired[id] {
			unpaired = append(unpaired, id)
		}
	}
	if f := r.s.filters[r.table()].incremental; f != "" && len(unpaired) > 0 {
		// Only records the filter admits count as missed creates.
		unpaired = r.filterAdmitted(ctx, unpaired, f)
	}
	// Absent is not deleted: an ACL may hide the record. Only positive
	// evidence deletes (see deleteEvidence).
	var gone []*Pair
	if len(absent) > 0 {
		pairs, _, err := r.loadPairs(ctx, absent, nil)
		if err != nil {
			return err
		}
		goneIDs, unseen, err := r.deleteEvidence(absent)
		if err != nil {
			return err
		}
		for _, id := range goneIDs {
			if pairs[id] != nil {
				gone = append(gone, pairs[id])
			}
		}
		if len(unseen) > 0 {
			r.addError(fmt.Sprintf("reconcile %s: %d paired records are not visible to the integration user and have no evidence of deletion (hidden by ACLs?): kept, not deleted; first: %s", r.table(), len(unseen), unseen[0]))
		}
	}
	pairCount := len(paired)
	if limit := r.massDeleteLimit(pairCount); len(gone) > limit {
		return &MassDeleteError{Table: r.table(), Deletes: len(gone), Pairs: pairCount, Limit: limit}
	}
	o := newPageOut(stream, false)
	if err := r.applyDeletes(ctx, o, gone); err != nil {
		return err
	}
	r.requeue(o, missed, "reconciliation: a version the sync missed")
	r.requeue(o, unpaired, "reconciliation: a record the sync never paired")
	if n := len(missed) + len(unpaired) + len(gone); n > 0 {
		r.addError(fmt.Sprintf("reconcile %s repaired %d records (%d missed updates, %d missed creates, %d deletes): an earlier layer missed them", r.table(), n, len(missed), len(unpaired), len(gone)))
	}
	for _, p := range gone {
		delete(missing, p.SNID)
	}
	if err := r.commit(ctx, o, func(st *StreamState) {
		st.Missing = missing
		st.LastReconcile = r.now
		st.LastDeepReread = r.now
	}); err != nil {
		return err
	}
	return r.retryDue(ctx, stream)
}

// filterAdmitted keeps the ids the filter matches.
func (r *tableRun) filterAdmitted(ctx context.Context, ids []string, filter string) []string {
	f, err := servicenow.ParseQuery(filter)
	if err != nil {
		return nil
	}
	var out []string
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		q, err := f.And(servicenow.NewQuery().In("sys_id", ids[start:min(start+maxIDsPerQuery, len(ids))]...)).Build()
		if err != nil {
			continue
		}
		for rec, err := range r.snTable().All(r.ctxSN, &servicenow.ListOptions{Query: q, Fields: []string{"sys_id"}, Limit: maxIDsPerQuery * 2}) {
			if err != nil {
				break
			}
			out = append(out, rec.SysID())
		}
	}
	return out
}

// ScanDeletes runs the delete scan of a table now, whatever its schedule.
func (s *Syncer) ScanDeletes(ctx context.Context, table string) (*Report, error) {
	return s.maintain(ctx, table, (*tableRun).scanDeletes)
}

// Reconcile runs the reconciliation sweep of a table now.
func (s *Syncer) Reconcile(ctx context.Context, table string) (*Report, error) {
	return s.maintain(ctx, table, (*tableRun).reconcile)
}

func (s *Syncer) maintain(ctx context.Context, table string, fn func(*tableRun, context.Context) error) (*Report, error) {
	tc, ok := s.tables[table]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTableNotSynced, table)
	}
	rep := &Report{Table: table, Started: s.now()}
	tm, _ := s.maps.Table(table)
	ctxSN, ctxSF, cSN, cSF := countingContexts(ctx)
	r := &tableRun{s: s, tc: tc, tm: tm, rep: rep, ctxSN: ctxSN, ctxSF: ctxSF, now: s.now()}
	r.res = &resolver{s: s, ctx: ctxSN}
	l, err := s.store.AcquireLease(ctx, table, s.holder, s.cfg.LeaseTTL)
	if err != nil {
		return rep, err
	}
	r.lease = l
	defer func() { _ = s.store.ReleaseLease(context.WithoutCancel(ctx), r.lease) }()
	rep.Err = fn(r, ctx)
	rep.CallsServiceNow, rep.CallsStackFlow = cSN.Load(), cSF.Load()
	rep.Duration = s.now().Sub(rep.Started)
	return rep, rep.Err
}
