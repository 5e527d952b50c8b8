package syncer

import (
	"context"
	"fmt"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// epoch starts a StackFlow sweep from the beginning: with updated_since
// the list is in (updated_at, id) order, which the cursor needs.
var epoch = time.Unix(0, 0).UTC()

// sfSweep reads the StackFlow module's changes (soft deletes included) in
// (updated_at, id) order from the stream's cursor minus the overlap, up to
// StackFlow's time minus the safety lag, and syncs every page to ServiceNow.
func (r *tableRun) sfSweep(ctx context.Context) error {
	stream := streamToSN(r.table())
	st, err := r.streamState(ctx, stream)
	if err != nil {
		return err
	}
	if st.Fingerprint != "" && st.Fingerprint != r.s.fingerprint(r.tc, r.tm) {
		return &ConfigChangedError{Stream: stream}
	}
	var hi time.Time // from the first answer's Date header, fixed for the sweep
	since := epoch
	if !st.Cursor.IsZero() {
		since = overlapStart(st.Cursor, st.SweptTo, r.s.cfg.Overlap).Time
	}
	opts := &stackflow.ListOptions{UpdatedSince: since, IncludeDeleted: true, Limit: min(r.s.cfg.PageSize, stackflow.MaxPageSize)}
	done := 0
	for {
		recs, resp, err := r.sfRecords().List(r.ctxSF, opts)
		if err != nil {
			return err
		}
		if hi.IsZero() {
			hi = r.s.serverClock(resp.ServerTime, r.s.sf.ServerTime).Add(-r.s.cfg.SafetyLag)
		}
		var page []stackflow.Record
		beyond := false
		for _, rec := range recs {
			m, err := metaSF(*rec)
			if err != nil {
				return fmt.Errorf("syncer: %s: %w", stream, err)
			}
			if m.updated.After(hi) {
				beyond = true // left for the next sweep
				break
			}
			page = append(page, *rec)
		}
		if len(page) > 0 {
			o := newPageOut(stream, true)
			if err := r.processSFPage(ctx, o, page, pageMain); err != nil {
				return err
			}
			last, _ := metaSF(page[len(page)-1])
			next := Cursor{Time: last.updated, ID: last.id}
			if err := r.commit(ctx, o, func(st *StreamState) {
				st.Cursor = st.Cursor.Max(next)
				st.Fingerprint = r.s.fingerprint(r.tc, r.tm)
				st.Initialized = true
			}); err != nil {
				return err
			}
			done += len(page)
			r.s.obs.Progress(stream, done, -1)
		}
		if beyond || !resp.HasMore || resp.NextCursor == "" {
			if r.plan != nil || hi.IsZero() {
				return nil
			}
			return r.commit(ctx, newPageOut(stream, true), func(st *StreamState) { st.SweptTo = maxTime(st.SweptTo, hi) })
		}
		opts.Cursor = resp.NextCursor
		if err := r.s.crash("mid-page"); err != nil {
			return err
		}
	}
}

// sfItem is one StackFlow record of a page on its way to ServiceNow.
type sfItem struct {
	sf   sfSide
	pair *Pair
}

// processSFPage syncs one page of StackFlow records to ServiceNow.
func (r *tableRun) processSFPage(ctx context.Context, o *pageOut, recs []stackflow.Record, mode pageMode) error {
	ids := make([]string, 0, len(recs))
	for _, rec := range recs {
		ids = append(ids, rec.ID())
	}
	_, pairs, err := r.loadPairs(ctx, nil, ids)
	if err != nil {
		return err
	}
	var changed, fresh []sfItem
	for _, rec := range recs {
		o.src.Fetched++
		id := rec.ID()
		p := pairs[id]
		m, err := metaSF(rec)
		if err != nil {
			r.fail(ctx, o, id, classified{err, classPermanent})
			continue
		}
		switch {
		case p != nil && p.Tombstone != nil:
			o.src.Skipped++
			o.settled(id)
			continue
		case m.deleted:
			if p != nil {
				// Deleted on StackFlow: the pair is tombstoned so nothing
				// resurrects it; the ServiceNow record is left alone.
				r.tombstone(p, "stackflow")
				o.pairs[p.SNID] = p
				o.event(r.table(), id, p.SNID, OutcomeDeleted, nil)
			}
			o.src.Skipped++
			o.settled(id)
			continue
		case p != nil && m.ver <= p.VerSF && p.Pending == nil && mode != pageRetry:
			o.src.Unchanged++
			continue
		}
		sf, err := r.readSF(rec)
		if err != nil {
			r.fail(ctx, o, id, err)
			continue
		}
		if p != nil && !r.crashedWrites(p) && sf.proj.Hash() == canonHash(p.SnapSF) && !p.BackrefPending && mode != pageRetry {
			// (A pair with writes in flight at a crash goes the full way:
			// see processSNPage.)
			p.VerSF, p.UpdatedSF, p.Pending = m.ver, m.updated, nil
			o.pairs[p.SNID] = p
			o.src.Echoes++
			o.event(r.table(), id, p.SNID, OutcomeEcho, nil)
			o.settled(id)
			continue
		}
		if p != nil {
			changed = append(changed, sfItem{sf: sf, pair: p})
		} else if err := checkExternalID(sf.meta.externalID); err != nil {
			// An id from the other side goes into a query: one that is
			// not a sys_id is this record's failure, never the page's.
			r.fail(ctx, o, id, classified{fmt.Errorf("StackFlow record %s: %w", id, err), classPermanent})
		} else {
			fresh = append(fresh, sfItem{sf: sf})
		}
	}
	if len(changed)+len(fresh) == 0 {
		return nil
	}
	// One batched read of the ServiceNow side: the paired records, records
	// named by external_id, and records whose correlation_id points back.
	var snIDs, corr []string
	for _, it := range changed {
		snIDs = append(snIDs, it.pair.SNID)
	}
	for _, it := range fresh {
		if it.sf.meta.externalID != "" {
			snIDs = append(snIDs, it.sf.meta.externalID)
		} else {
			corr = append(corr, it.sf.meta.id)
		}
	}
	fields := r.tm.ServiceNowFields()
	byID, err := snBatch(r.ctxSN, r.snTable(), "sys_id", snIDs, fields)
	if err != nil {
		return err
	}
	current := snByID(byID)
	byCorr := map[string][]servicenow.Record{}
	if len(corr) > 0 {
		batch, err := snBatch(r.ctxSN, r.snTable(), "correlation_id", corr, fields)
		if err != nil {
			return err
		}
		byCorr = snByField(batch, "correlation_id")
	}
	one := func(o *pageOut, it sfItem) error {
		id := it.sf.meta.id
		var err error
		switch ext := it.sf.meta.externalID; {
		case it.pair != nil:
			err = r.syncChangedToSN(ctx, o, it, current)
		case ext != "":
			err = r.linkByExternalID(ctx, o, it, current[ext])
		default:
			err = r.createOrLinkSN(ctx, o, it, byCorr[id])
		}
		if err != nil {
			if classOf(err) == classRun {
				return err
			}
			r.fail(ctx, o, id, err)
			return nil
		}
		o.settleUnlessFailed(id)
		if it.pair == nil {
			o.intentDel[id] = true
		}
		return nil
	}
	// Paired records and plain creates are written concurrently; records
	// that link to an existing ServiceNow record go one at a time after
	// them (two may name the same record; see syncToSF).
	link := func(it sfItem) bool {
		return it.pair == nil && (it.sf.meta.externalID != "" || len(byCorr[it.sf.meta.id]) > 0)
	}
	return writeItems(r, o, append(changed, fresh...), link, one)
}

func (r *tableRun) syncChangedToSN(ctx context.Context, o *pageOut, it sfItem, current map[string]servicenow.Record) error {
	p := it.pair
	rec, ok := current[p.SNID]
	if !ok {
		// Not visible in the batch: deleted, or hidden by an ACL. Ask for it
		// by id to tell.
		got, _, err := r.snTable().Get(r.ctxSN, p.SNID, &servicenow.GetOptions{Fields: r.tm.ServiceNowFields(), ExcludeReferenceLink: true})
		switch {
		case err == nil:
			rec = *got
		case isNotFound(err):
			r.tombstone(p, "servicenow")
			r.logConflicts(o, p, deleteVsEdit("deleted", "edited"))
			o.pairs[p.SNID] = p
			o.src.Skipped++
			return nil
		default:
			return err
		}
	}
	sn, err := r.readSN(rec)
	if err != nil {
		return err
	}
	sf := it.sf
	if p.BackrefPending {
		if err := r.backref(ctx, p, &sf, sn); err != nil {
			return err
		}
	}
	before := o.toSF.Updated + o.toSN.Updated
	if err := r.syncPair(ctx, o, p, sn, sf); err != nil {
		return err
	}
	o.pairs[p.SNID] = p
	if o.toSF.Updated+o.toSN.Updated == before {
		o.src.Unchanged++
		o.event(r.table(), it.sf.meta.id, p.SNID, OutcomeUnchanged, nil)
	} else {
		o.event(r.table(), it.sf.meta.id, p.SNID, OutcomeUpdated, nil)
	}
	return nil
}

// linkByExternalID pairs a StackFlow record that already names its
// ServiceNow twin (imported earlier, or its pair was lost).
func (r *tableRun) linkByExternalID(ctx context.Context, o *pageOut, it sfItem, rec servicenow.Record) error {
	if rec == nil {
		if it.sf.meta.source == "servicenow" {
			// A copy the sync made whose pair was never stored (a crash
			// between the create and the commit): it follows its source
			// when there is evidence the source was deleted.
			gone, _, err := r.deleteEvidence([]string{it.sf.meta.externalID})
			if err != nil {
				return err
			}
			if len(gone) == 1 {
				return r.orphanFollowsSource(ctx, o, it)
			}
		}
		return classified{fmt.Errorf("StackFlow record %s names ServiceNow %s %s, which does not exist or is hidden", it.sf.meta.id, r.table(), it.sf.meta.externalID), classPermanent}
	}
	var taken *Pair
	if err := r.s.store.View(ctx, func(tx ReadTx) error {
		var err error
		taken, err = tx.PairBySN(r.table(), it.sf.meta.externalID)
		return err
	}); err != nil {
		return err
	}
	if taken != nil && taken.SFID != it.sf.meta.id {
		return classified{fmt.Errorf("duplicate correlation: ServiceNow %s is already paired with StackFlow %s, and %s names it too", taken.SNID, taken.SFID, it.sf.meta.id), classPermanent}
	}
	sn, err := r.readSN(rec)
	if err != nil {
		return err
	}
	origin := "servicenow"
	if it.sf.meta.source == "stackflow" {
		origin = "stackflow"
	}
	p := &Pair{Table: r.table(), SNID: sn.meta.id, SFID: it.sf.meta.id, Origin: origin, FirstSynced: r.now}
	if err := r.syncPair(ctx, o, p, sn, it.sf); err != nil {
		return err
	}
	o.pairs[p.SNID] = p
	o.src.Linked++
	o.event(r.table(), it.sf.meta.id, p.SNID, OutcomeLinked, nil)
	return nil
}

// orphanFollowsSource handles a StackFlow copy of a ServiceNow record that
// was deleted before the sync stored the pair: the pair is stored as a
// tombstone (nothing resurrects it) and, where deletes propagate, the copy
// is soft-deleted like any paired record whose source went away.
func (r *tableRun) orphanFollowsSource(ctx context.Context, o *pageOut, it sfItem) error {
	p := &Pair{Table: r.table(), SNID: it.sf.meta.externalID, SFID: it.sf.meta.id, Origin: "servicenow", FirstSynced: r.now}
	setSF(p, it.sf)
	if r.tc.PropagateDeletes == nil || *r.tc.PropagateDeletes {
		if err := r.sfDelete(ctx, p.SFID, p.SNID); err != nil && !isNotFound(err) {
			return err
		}
		o.toSF.Deleted++
	}
	r.tombstone(p, "servicenow")
	o.pairs[p.SNID] = p
	o.event(r.table(), p.SFID, p.SNID, OutcomeDeleted, nil)
	return nil
}

// createOrLinkSN links a native StackFlow record to the ServiceNow record
// whose correlation_id names it, or creates that record: a create intent is
// stored first, the create carries correlation_id, and an ambiguous failure
// is followed by another lookup before anything else.
func (r *tableRun) createOrLinkSN(ctx context.Context, o *pageOut, it sfItem, hits []servicenow.Record) error {
	sfID := it.sf.meta.id
	switch {
	case len(hits) >= 2:
		return classified{fmt.Errorf("duplicate correlation: %d ServiceNow %s records carry correlation_id %s; remove the extra ones", len(hits), r.table(), sfID), classPermanent}
	case len(hits) == 1:
		sn, err := r.readSN(hits[0])
		if err != nil {
			return err
		}
		p := &Pair{Table: r.table(), SNID: sn.meta.id, SFID: sfID, Origin: "stackflow", FirstSynced: r.now, BackrefPending: it.sf.meta.externalID == ""}
		sf := it.sf
		if p.BackrefPending {
			if err := r.backref(ctx, p, &sf, sn); err != nil {
				return err
			}
		}
		if err := r.syncPair(ctx, o, p, sn, sf); err != nil {
			return err
		}
		o.pairs[p.SNID] = p
		o.src.Linked++
		o.event(r.table(), sfID, p.SNID, OutcomeLinked, nil)
		return nil
	}
	body, err := r.tm.NewServiceNow(it.sf.proj, sfID, r.res)
	if err != nil {
		return err
	}
	if r.plan == nil {
		if err := r.s.store.Update(ctx, r.currentLease(), func(tx Tx) error {
			prev, err := tx.Intent(o.stream, sfID)
			if err != nil {
				return err
			}
			in := &Intent{Stream: o.stream, SourceID: sfID, Attempt: 1, Created: r.now}
			if prev != nil {
				in.Attempt = prev.Attempt + 1
			}
			return tx.PutIntent(in)
		}); err != nil {
			return err
		}
	}
	rec, err := r.snCreate(ctx, sfID, body)
	if err != nil && classOf(err) == classAmbiguous {
		again, lerr := snBatch(r.ctxSN, r.snTable(), "correlation_id", []string{sfID}, r.tm.ServiceNowFields())
		if lerr != nil {
			return lerr
		}
		if len(again) == 1 {
			for _, v := range again {
				rec, err = &v, nil
			}
		}
	}
	if err != nil {
		return err
	}
	o.toSN.Created++
	if rec == nil { // dry run
		o.event(r.table(), sfID, "", OutcomeCreated, nil)
		return nil
	}
	sn, err := r.readSN(*rec)
	if err != nil {
		return err
	}
	p := &Pair{Table: r.table(), SNID: sn.meta.id, SFID: sfID, Origin: "stackflow", FirstSynced: r.now, LastSynced: r.now, BackrefPending: true}
	setSN(p, sn)
	setSF(p, it.sf)
	r.noteWrite(p)
	r.createdBases(p, sn, it.sf, sideSN)
	o.pairs[p.SNID] = p
	sf := it.sf
	err = r.backref(ctx, p, &sf, sn)
	if err == nil {
		err = r.syncPair(ctx, o, p, sn, sf)
	}
	if err != nil {
		// The pair is stored (with the back-write pending if that failed);
		// the record is dead-lettered and its retry finishes the job.
		if classOf(err) == classRun {
			return err
		}
		r.fail(ctx, o, sfID, err)
	}
	o.event(r.table(), sfID, p.SNID, OutcomeCreated, nil)
	return nil
}
