package syncer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// ConfigChangedError says a stream's stored cursor was built for another
// filter or mapping. The syncer refuses to guess whether the cursor still
// covers what the new configuration selects; ResetStream starts the stream
// over (pairs are kept, so the re-read mostly finds echoes).
type ConfigChangedError struct {
	Stream string
}

func (e *ConfigChangedError) Error() string {
	return "syncer: " + e.Stream + ": the filter or field mapping changed since the stream's cursor was stored; call ResetStream (or run the daemon with -reset) to sync it again from the start"
}

// snSweep reads the ServiceNow table with a keyset walk from the stream's
// cursor (minus the overlap) up to the server's time minus the safety lag,
// and syncs every page to StackFlow. The main sweep applies the table's
// filter (its admission rule); the tracking sweep reads without it and
// only follows records already paired, so a record that stops matching the
// filter (an incident that closes) still syncs.
func (r *tableRun) snSweep(ctx context.Context, track bool) error {
	stream := streamToSF(r.table())
	st, err := r.streamState(ctx, stream)
	if err != nil {
		return err
	}
	if st.Fingerprint != "" && st.Fingerprint != r.s.fingerprint(r.tc, r.tm) {
		return &ConfigChangedError{Stream: stream}
	}
	cur, swept := st.Cursor, st.SweptTo
	filter := r.s.filters[r.table()].incremental
	if !st.Initialized {
		filter = r.s.filters[r.table()].initial
	}
	if track {
		cur, swept, filter = st.TrackCursor, st.TrackSweptTo, ""
	}
	start := overlapStart(cur, swept, r.s.cfg.Overlap)
	// The sweep's upper bound comes from the instance's clock (the first
	// page's Date header) minus the safety lag, fixed for the whole sweep:
	// records written during the sweep wait for the next one. Pages are in
	// sys_updated_on order, so the first record past the bound ends it.
	// Pages are read ahead of their processing (one page, in another
	// goroutine), so reading and writing overlap; they are processed and
	// committed strictly in order.
	opts := servicenow.KeysetOptions{
		Query:                filter,
		Fields:               r.tm.ServiceNowFields(),
		Limit:                r.s.cfg.PageSize,
		After:                servicenow.Cursor{UpdatedOn: servicenow.NewTime(start.Time), SysID: start.ID},
		ExcludeReferenceLink: true,
	}
	mode := pageMain
	if track {
		mode = pageTrack
	}
	var hi time.Time
	done := 0
	for page, err := range r.readAhead(opts) {
		if err != nil {
			return err
		}
		hi = page.hi
		if len(page.recs) == 0 {
			continue
		}
		o := newPageOut(stream, false)
		if err := r.processSNPage(ctx, o, page.recs, mode); err != nil {
			return err
		}
		last, err := metaSN(page.recs[len(page.recs)-1])
		if err != nil {
			return err
		}
		next := Cursor{Time: last.updated, ID: last.id}
		err = r.commit(ctx, o, func(st *StreamState) {
			if track {
				st.TrackCursor = st.TrackCursor.Max(next)
			} else {
				st.Cursor = st.Cursor.Max(next)
			}
		})
		if err != nil {
			return err
		}
		done += len(page.recs)
		r.s.obs.Progress(stream, done, page.total)
	}
	if hi.IsZero() || r.plan != nil {
		return nil
	}
	// The sweep is complete up to hi. The first complete sweep initialises
	// the stream, and a filtered stream's tracking sweep starts from its bound.
	return r.commit(ctx, newPageOut(stream, false), func(st *StreamState) {
		if track {
			st.TrackSweptTo = maxTime(st.TrackSweptTo, hi)
			return
		}
		st.SweptTo = maxTime(st.SweptTo, hi)
		if !st.Initialized {
			st.Initialized = true
			st.Fingerprint = r.s.fingerprint(r.tc, r.tm)
			if st.TrackCursor.IsZero() {
				st.TrackCursor = Cursor{Time: hi}
			}
		}
	})
}

// overlapStart is where a sweep starts: the overlap before the later of
// the cursor and the last complete sweep's bound (a late commit can only
// hide just behind what was already read).
func overlapStart(cur Cursor, swept time.Time, overlap time.Duration) Cursor {
	if cur.IsZero() {
		return Cursor{}
	}
	return Cursor{Time: maxTime(cur.Time, swept).Add(-overlap)}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// snPage is one page of a sweep, with the sweep's bound and the count of
// records the first page reported (-1 when unknown).
type snPage struct {
	recs  []servicenow.Record
	hi    time.Time
	total int
}

// readAhead walks the keyset in another goroutine, one page ahead of the
// consumer, and stops at the first record past the sweep's bound. The last
// page it yields may be empty (it still carries the bound). Stopping the
// iteration early stops the walk and waits for the goroutine.
func (r *tableRun) readAhead(opts servicenow.KeysetOptions) iter.Seq2[snPage, error] {
	return func(yield func(snPage, error) bool) {
		ctx, cancel := context.WithCancel(r.ctxSN)
		type item struct {
			p   snPage
			err error
		}
		ch := make(chan item, 1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ch)
			send := func(it item) bool {
				select {
				case ch <- it:
					return true
				case <-ctx.Done():
					return false
				}
			}
			var hi time.Time
			expect, total := -1, -1
			o := opts
			o.OnPage = func(resp *servicenow.Response) {
				expect = resp.Returned
				if total < 0 && resp.TotalCount >= 0 {
					total = resp.TotalCount
				}
				if hi.IsZero() {
					hi = r.s.serverClock(resp.ServerTime, r.s.sn.ServerTime).Add(-r.s.cfg.SafetyLag).Truncate(time.Second)
				}
			}
			var recs []servicenow.Record
			for rec, err := range r.snTable().Keyset(ctx, o) {
				if err != nil {
					send(item{err: err})
					return
				}
				if ts, _ := rec.Time("sys_updated_on"); ts.After(hi) {
					break // left for the next sweep
				}
				recs = append(recs, *rec)
				if err := r.s.crash("mid-page"); err != nil {
					send(item{err: err})
					return
				}
				if len(recs) == expect {
					if !send(item{p: snPage{recs: recs, hi: hi, total: total}}) {
						return
					}
					recs = nil
				}
			}
			send(item{p: snPage{recs: recs, hi: hi, total: total}})
		}()
		defer func() {
			cancel()
			for range ch {
			}
			wg.Wait()
		}()
		for it := range ch {
			if !yield(it.p, it.err) || it.err != nil {
				return
			}
		}
	}
}

// streamState loads a stream's state (a zero state when it never ran).
func (r *tableRun) streamState(ctx context.Context, id string) (*StreamState, error) {
	var st *StreamState
	err := r.s.store.View(ctx, func(tx ReadTx) error {
		var err error
		st, err = tx.Stream(id)
		return err
	})
	if st == nil {
		st = &StreamState{ID: id}
	}
	return st, err
}

// pageMode says where a page comes from.
type pageMode int

const (
	pageMain  pageMode = iota // the main sweep: new records are admitted
	pageTrack                 // the tracking sweep: only paired records are followed
	pageRetry                 // a dead-letter retry: processed even when the version was seen
)

// snItem is one ServiceNow record of a page on its way to StackFlow.
type snItem struct {
	sn   snSide
	pair *Pair
}

// processSNPage syncs one page of ServiceNow records to StackFlow. It
// returns an error only for failures of the run (the host, the lease, a
// crash); a record's own failure dead-letters it and the page goes on.
func (r *tableRun) processSNPage(ctx context.Context, o *pageOut, recs []servicenow.Record, mode pageMode) error {
	track := mode == pageTrack
	ids := make([]string, 0, len(recs))
	for _, rec := range recs {
		ids = append(ids, rec.SysID())
	}
	pairs, _, err := r.loadPairs(ctx, ids, nil)
	if err != nil {
		return err
	}
	var todo []snItem
	for _, rec := range recs {
		o.src.Fetched++
		id := rec.SysID()
		p := pairs[id]
		m, err := metaSN(rec)
		if err != nil {
			r.fail(ctx, o, id, classified{err, classPermanent})
			continue
		}
		if p != nil && p.Tombstone != nil {
			o.src.Skipped++
			o.event(r.table(), id, p.SFID, OutcomeSkipped, nil)
			o.settled(id)
			continue
		}
		if p != nil && m.ver <= p.VerSN && p.Pending == nil && mode != pageRetry {
			o.src.Unchanged++
			o.event(r.table(), id, p.SFID, OutcomeUnchanged, nil)
			continue
		}
		sn, err := r.readSN(rec)
		if err != nil {
			r.fail(ctx, o, id, err)
			continue
		}
		if p != nil && !r.crashedWrites(p) && sn.proj.Hash() == snHash(p) && mode != pageRetry {
			// An echo of our own write, or a change to fields we do not map.
			// A pair with writes in flight at a crash never takes this
			// shortcut: whether they landed is known only by reading the
			// other side (recoverPending), and a write that landed and was
			// then undone here looks exactly like one that never landed.
			// (A write this run tried and saw fail did not land.)
			p.VerSN, p.UpdatedSN, p.Pending = m.ver, m.updated, nil
			o.pairs[id] = p
			o.src.Echoes++
			o.event(r.table(), id, p.SFID, OutcomeEcho, nil)
			o.settled(id)
			continue
		}
		if p == nil && track {
			o.src.Skipped++ // not admitted by the filter
			continue
		}
		todo = append(todo, snItem{sn: sn, pair: p})
	}
	if len(todo) == 0 {
		return nil
	}
	recsTodo := make([]servicenow.Record, len(todo))
	for i, it := range todo {
		recsTodo[i] = it.sn.rec
	}
	if err := r.res.prefetch(recsTodo); err != nil {
		return err
	}
	if r.oneWay() {
		return r.upsertOneWay(ctx, o, todo)
	}
	return r.syncToSF(ctx, o, todo)
}

// syncToSF handles changed and new ServiceNow records of a bidirectional
// table: one batched read of the paired StackFlow records (and the lookup
// of unpaired ones by external_id), then a merge and the writes per record.
func (r *tableRun) syncToSF(ctx context.Context, o *pageOut, todo []snItem) error {
	ext := make([]string, 0, len(todo))
	for _, it := range todo {
		ext = append(ext, it.sn.meta.id)
	}
	found, err := sfByExternalID(r.ctxSF, r.sfRecords(), ext)
	if err != nil {
		return err
	}
	one := func(o *pageOut, it snItem) error {
		id := it.sn.meta.id
		var err error
		if it.pair != nil {
			err = r.syncChangedToSF(ctx, o, it, found[id])
		} else {
			err = r.createOrLinkSF(ctx, o, it, found[id])
		}
		if err != nil {
			if classOf(err) == classRun {
				return err
			}
			r.fail(ctx, o, id, err)
			return nil
		}
		o.settleUnlessFailed(id)
		return nil
	}
	// Paired records and plain creates are independent of each other and
	// are written concurrently. A new record that may link to an existing
	// StackFlow record (found by external_id, or named by its
	// correlation_id) is linked afterwards, one at a time: two of them may
	// point at the same record, and linkToSF must see every pair made.
	link := func(it snItem) bool {
		return it.pair == nil && (len(found[it.sn.meta.id]) > 0 || it.sn.meta.corr != "")
	}
	return writeItems(r, o, todo, link, one)
}

func (r *tableRun) syncChangedToSF(ctx context.Context, o *pageOut, it snItem, hits []stackflow.Record) error {
	p := it.pair
	var cur *stackflow.Record
	for i := range hits {
		if hits[i].ID() == p.SFID {
			cur = &hits[i]
		}
	}
	if cur == nil {
		// Not found by external_id (a record created on StackFlow whose
		// back-write is pending): read it by id.
		rec, _, err := r.sfRecords().Get(r.ctxSF, p.SFID)
		switch {
		case err == nil:
			cur = rec
		case isNotFound(err):
		default:
			return err
		}
	}
	if cur == nil || isDeletedSF(*cur) {
		// Edited on ServiceNow, deleted on StackFlow: a delete against an
		// edit is a conflict, never a silent resurrection.
		r.tombstone(p, "stackflow")
		r.logConflicts(o, p, deleteVsEdit("edited", "deleted"))
		o.pairs[p.SNID] = p
		o.src.Skipped++
		o.event(r.table(), p.SNID, p.SFID, OutcomeSkipped, nil)
		return nil
	}
	sf, err := r.readSF(*cur)
	if err != nil {
		return err
	}
	if p.BackrefPending {
		if err := r.backref(ctx, p, &sf, it.sn); err != nil {
			return err
		}
	}
	before := o.toSF.Updated + o.toSN.Updated
	if err := r.syncPair(ctx, o, p, it.sn, sf); err != nil {
		return err
	}
	o.pairs[p.SNID] = p
	if o.toSF.Updated+o.toSN.Updated == before {
		o.src.Unchanged++
		o.event(r.table(), p.SNID, p.SFID, OutcomeUnchanged, nil)
	} else {
		o.event(r.table(), p.SNID, p.SFID, OutcomeUpdated, nil)
	}
	return nil
}

// createOrLinkSF links a new ServiceNow record to the StackFlow record that
// already carries its sys_id, or creates one (idempotently).
func (r *tableRun) createOrLinkSF(ctx context.Context, o *pageOut, it snItem, hits []stackflow.Record) error {
	id := it.sn.meta.id
	var live []stackflow.Record
	deleted := false
	for _, h := range hits {
		if isDeletedSF(h) {
			deleted = true
		} else {
			live = append(live, h)
		}
	}
	if len(live) == 0 && !deleted && it.sn.meta.corr != "" {
		// Created by us from a StackFlow record whose back-write of
		// external_id did not happen (a crash between the two): that record
		// is the twin, not a reason to create another.
		rec, _, err := r.sfRecords().Get(r.ctxSF, it.sn.meta.corr)
		switch {
		case err == nil && isDeletedSF(*rec):
			deleted = true
		case err == nil && (rec.ExternalID() == "" || rec.ExternalID() == id):
			live = append(live, *rec)
		case err == nil:
			// The StackFlow record is another ServiceNow record's twin:
			// this one is a duplicate (a ServiceNow create that landed
			// after the restarted sync looked for it). Copying it would
			// make one ticket two.
			return classified{fmt.Errorf("duplicate correlation: ServiceNow %s %s and %s both name StackFlow record %s (correlation_id); %s was not copied: delete the duplicate ServiceNow record or clear its correlation_id",
				r.table(), id, rec.ExternalID(), it.sn.meta.corr, id), classPermanent}
		case err != nil && !isNotFound(err):
			return err
		}
	}
	switch {
	case len(live) >= 2:
		return classified{fmt.Errorf("duplicate correlation: %d StackFlow records carry external_id %s; remove the extra ones", len(live), id), classPermanent}
	case len(live) == 1:
		return r.linkToSF(ctx, o, it, live[0])
	case deleted:
		// The StackFlow record was deleted before we paired it: do not
		// create it again.
		o.src.Skipped++
		o.event(r.table(), id, "", OutcomeSkipped, nil)
		return nil
	}
	if !r.admit(it.sn.rec) {
		o.src.Skipped++
		return nil
	}
	body, err := r.tm.NewStackFlow(it.sn.proj, it.sn.rec, r.res)
	if err != nil {
		return err
	}
	rec, err := r.sfCreate(ctx, id, body, idempotencyKey(r.table(), id))
	if err != nil && classOf(err) == classAmbiguous {
		// The create may have happened: look before anything else.
		again, lerr := sfByExternalID(r.ctxSF, r.sfRecords(), []string{id})
		if lerr != nil {
			return lerr
		}
		if hits := again[id]; len(hits) == 1 {
			rec, err = &hits[0], nil
		}
	}
	if err != nil {
		return err
	}
	p := &Pair{Table: r.table(), SNID: id, Origin: "servicenow", FirstSynced: r.now, LastSynced: r.now}
	setSN(p, it.sn)
	if rec != nil {
		sf, err := r.readSF(*rec)
		if err != nil {
			return err
		}
		p.SFID = sf.meta.id
		setSF(p, sf)
		r.noteWrite(p)
		r.createdBases(p, it.sn, sf, sideSF)
		o.pairs[id] = p
		if err := r.syncPair(ctx, o, p, it.sn, sf); err != nil {
			// The pair is stored with the created side's expected values as
			// its base: the retry finds the difference again.
			if classOf(err) == classRun {
				return err
			}
			r.fail(ctx, o, id, err)
		}
	}
	o.toSF.Created++
	o.event(r.table(), id, p.SFID, OutcomeCreated, nil)
	return nil
}

// linkToSF pairs a ServiceNow record with the StackFlow record found for
// it, then merges them with no base: ownership decides every field.
func (r *tableRun) linkToSF(ctx context.Context, o *pageOut, it snItem, hit stackflow.Record) error {
	sf, err := r.readSF(hit)
	if err != nil {
		return err
	}
	// The StackFlow record may be another ServiceNow record's twin already
	// (a record copied with its correlation_id, say): two pairs must never
	// share it.
	other := ""
	for _, p := range o.pairs {
		if p.SFID == sf.meta.id && p.SNID != it.sn.meta.id {
			other = p.SNID
		}
	}
	if other == "" {
		var taken *Pair
		if err := r.s.store.View(ctx, func(tx ReadTx) error {
			var err error
			taken, err = tx.PairBySF(r.table(), sf.meta.id)
			return err
		}); err != nil {
			return err
		}
		if taken != nil && taken.SNID != it.sn.meta.id {
			other = taken.SNID
		}
	}
	if other != "" {
		return classified{fmt.Errorf("duplicate correlation: StackFlow %s is already paired with ServiceNow %s, and %s points at it too (correlation_id); clear the correlation of one of them", sf.meta.id, other, it.sn.meta.id), classPermanent}
	}
	origin := "servicenow"
	if sf.meta.source == "stackflow" {
		origin = "stackflow"
	}
	p := &Pair{Table: r.table(), SNID: it.sn.meta.id, SFID: sf.meta.id, Origin: origin, FirstSynced: r.now}
	if sf.meta.externalID == "" {
		p.BackrefPending = true
		if err := r.backref(ctx, p, &sf, it.sn); err != nil {
			return err
		}
	}
	if err := r.syncPair(ctx, o, p, it.sn, sf); err != nil {
		return err
	}
	o.pairs[p.SNID] = p
	o.src.Linked++
	o.event(r.table(), p.SNID, p.SFID, OutcomeLinked, nil)
	return nil
}

// upsertOneWay writes a page of a one-way table (sc_request, CMDB) with
// bulk upserts keyed by (source, external_id): safe to repeat, 500 records a
// request.
func (r *tableRun) upsertOneWay(ctx context.Context, o *pageOut, todo []snItem) error {
	var bodies []map[string]any
	var items []snItem
	for _, it := range todo {
		if it.pair == nil && !r.admit(it.sn.rec) {
			o.src.Skipped++
			continue
		}
		body, err := r.tm.NewStackFlow(it.sn.proj, it.sn.rec, r.res)
		if err != nil {
			r.fail(ctx, o, it.sn.meta.id, err)
			continue
		}
		if it.pair != nil && r.loopBroken(it.pair) {
			r.fail(ctx, o, it.sn.meta.id, classified{errLoop{len(it.pair.Writes)}, classPermanent})
			continue
		}
		bodies = append(bodies, body)
		items = append(items, it)
	}
	if len(bodies) == 0 {
		return nil
	}
	sources := make([]string, len(items))
	for i, it := range items {
		sources[i] = it.sn.meta.id
	}
	results, err := r.sfBulkUpsert(ctx, sources, bodies)
	if err != nil {
		return err
	}
	if r.plan != nil {
		o.toSF.Updated += len(items)
		return nil
	}
	for i, res := range results {
		it := items[i]
		id := it.sn.meta.id
		if res.Status == stackflow.UpsertError {
			r.fail(ctx, o, id, classified{res.Err, classPermanent})
			continue
		}
		p := it.pair
		if p == nil {
			p = &Pair{Table: r.table(), SNID: id, Origin: "servicenow", FirstSynced: r.now}
		}
		p.SFID = res.ID
		// A one-way table never merges: the pair keeps the version and the
		// hash of the ServiceNow side (to tell echoes and re-reads), not the
		// values, and nothing of the StackFlow side.
		p.SnapSN, p.SnapSF, p.HashSN = nil, nil, it.sn.proj.Hash()
		p.VerSN, p.UpdatedSN = it.sn.meta.ver, it.sn.meta.updated
		p.LastSynced = r.now
		switch res.Status {
		case stackflow.UpsertCreated:
			o.toSF.Created++
			r.noteWrite(p)
			o.event(r.table(), id, p.SFID, OutcomeCreated, nil)
		case stackflow.UpsertUpdated:
			o.toSF.Updated++
			r.noteWrite(p)
			o.event(r.table(), id, p.SFID, OutcomeUpdated, nil)
		default:
			o.src.Unchanged++
			o.event(r.table(), id, p.SFID, OutcomeUnchanged, nil)
		}
		o.pairs[id] = p
		o.settled(id)
	}
	return nil
}

// admit reports whether a new record passes the table's admission rule.
// The main sweep already applied the filter on the server; this is the
// hook for filters evaluated locally (none yet), kept so one place decides.
func (r *tableRun) admit(servicenow.Record) bool { return true }

// backref writes external_id and external_number onto a StackFlow record
// created from... StackFlow, once its ServiceNow twin exists. It is not a
// mapped field, so the write causes no echo.
func (r *tableRun) backref(ctx context.Context, p *Pair, sf *sfSide, sn snSide) error {
	body := map[string]any{"external_id": p.SNID}
	if sn.meta.number != "" {
		body["external_number"] = sn.meta.number
	}
	rec, err := r.sfUpdate(ctx, p.SFID, p.SNID, body, 0)
	if err != nil {
		return err
	}
	if rec != nil {
		fresh, err := r.readSF(*rec)
		if err != nil {
			return err
		}
		// The current side moves on (a new version); the snapshot, the
		// merge's base, does not: external_id is not a mapped field.
		*sf = fresh
		p.VerSF, p.UpdatedSF = fresh.meta.ver, fresh.meta.updated
	}
	p.BackrefPending = false
	return nil
}

func isDeletedSF(r stackflow.Record) bool {
	d, ok := r.Get("deleted_at")
	return ok && d != nil && d != ""
}

func isNotFound(err error) bool {
	return errors.Is(err, servicenow.ErrNotFound) || errors.Is(err, stackflow.ErrNotFound)
}

// snHash is the hash of a pair's ServiceNow snapshot.
func snHash(p *Pair) string {
	if p.HashSN != "" {
		return p.HashSN
	}
	return canonHash(p.SnapSN)
}

func canonHash(m map[string]string) string {
	if m == nil {
		return ""
	}
	return mapping.Canon(m).Hash()
}

// ruleDeleteVsEdit is the conflict rule of a record edited on one side and
// deleted on the other: the delete stands and the edit is logged.
const ruleDeleteVsEdit = "delete vs edit: kept deleted"

func deleteVsEdit(sn, sf string) []mapping.Conflict {
	return []mapping.Conflict{{Key: "(record)", ServiceNow: sn, StackFlow: sf, Rule: ruleDeleteVsEdit}}
}
