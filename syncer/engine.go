package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// tableRun is one run of one table: both directions, with one lease.
type tableRun struct {
	s     *Syncer
	tc    TableConfig
	tm    *mapping.TableMap
	lease Lease
	// leaseAt is when lease was last granted, on this process's monotonic
	// clock: renewals go by it, whatever the store's clock says.
	leaseAt time.Time
	// scheduled: started by Run, which may hand the table to another
	// replica at a page boundary.
	scheduled bool
	rep       *Report
	ctxSN     context.Context // counts ServiceNow calls
	ctxSF     context.Context // counts StackFlow calls
	res       *resolver
	plan      *Plan // non-nil: dry run, nothing is written anywhere
	now       time.Time
	// mu guards rep's lists and the lease while a page's records are
	// written concurrently (writeEach).
	mu sync.Mutex
}

// addError adds a line to the run's report.
func (r *tableRun) addError(msg string) {
	r.mu.Lock()
	r.rep.Errors = append(r.rep.Errors, msg)
	r.mu.Unlock()
}

// addConflicts adds conflict log entries to the run's report.
func (r *tableRun) addConflicts(cs []Conflict) {
	if len(cs) == 0 {
		return
	}
	r.mu.Lock()
	r.rep.Conflicts = append(r.rep.Conflicts, cs...)
	r.mu.Unlock()
}

// currentLease is the lease the run's store writes are fenced with.
func (r *tableRun) currentLease() Lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lease
}

func (r *tableRun) table() string { return r.tc.Table }

func (r *tableRun) snTable() *servicenow.Table[servicenow.Record] {
	return r.s.sn.Table(r.tc.Table)
}

func (r *tableRun) sfRecords() *stackflow.RecordsService {
	return r.s.sf.Records(r.s.module(r.tm))
}

func (r *tableRun) oneWay() bool { return r.tm.Direction() != mapping.Bidirectional }

// pageOut collects the outcomes of one page, committed together with the
// cursor that moves past them.
type pageOut struct {
	pairs     map[string]*Pair // by sn id
	dlqPut    map[string]*DLQEntry
	dlqDel    map[string]bool
	intentDel map[string]bool
	conflicts []Conflict
	// toSF and toSN count writes by target side; src points at the counts
	// of the stream's own direction (fetched, echoes, failures...).
	toSF, toSN Counts
	src        *Counts
	events     []RecordEvent
	stream     string
}

func newPageOut(stream string, toServiceNow bool) *pageOut {
	o := &pageOut{pairs: map[string]*Pair{}, dlqPut: map[string]*DLQEntry{}, dlqDel: map[string]bool{}, intentDel: map[string]bool{}, stream: stream}
	o.src = &o.toSF
	if toServiceNow {
		o.src = &o.toSN
	}
	return o
}

func (o *pageOut) event(table, source, target string, outcome Outcome, err error) {
	o.events = append(o.events, RecordEvent{Stream: o.stream, Table: table, SourceID: source, TargetID: target, Outcome: outcome, Err: err})
}

// sub returns an empty outcome of the same stream and direction, for one
// record written concurrently with others (see writeEach).
func (o *pageOut) sub() *pageOut { return newPageOut(o.stream, o.src == &o.toSN) }

// merge adds the outcome of one record (from sub) to the page's.
func (o *pageOut) merge(s *pageOut) {
	for id, p := range s.pairs {
		o.pairs[id] = p
	}
	for id := range s.dlqDel {
		o.settled(id)
	}
	for id, e := range s.dlqPut {
		o.dlqPut[id] = e
		delete(o.dlqDel, id)
	}
	for id := range s.intentDel {
		o.intentDel[id] = true
	}
	o.conflicts = append(o.conflicts, s.conflicts...)
	o.toSF.add(s.toSF)
	o.toSN.add(s.toSN)
	o.events = append(o.events, s.events...)
}

// writeEach runs write for items 0..n-1 of a page, up to
// Config.WriteConcurrency at a time, so the round trips of independent
// records overlap. Each item writes into its own outcome, merged into o in
// item order once all are done, so the page commits the same outcome
// whatever the timing. write handles a record's own failure (dead-letters
// it) and returns only errors that stop the run; after one, items not yet
// started are left for the next run, and the lowest-numbered error is
// returned. Items must be independent records: none may read another's
// outcome. A dry run writes one item at a time, in order.
func (r *tableRun) writeEach(o *pageOut, n int, write func(o *pageOut, i int) error) error {
	workers := r.s.cfg.WriteConcurrency
	if r.plan != nil || workers <= 1 || n <= 1 {
		for i := range n {
			if err := write(o, i); err != nil {
				return err
			}
		}
		return nil
	}
	subs := make([]*pageOut, n)
	errs := make([]error, n)
	var stop atomic.Bool
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := range n {
		sem <- struct{}{}
		if stop.Load() {
			<-sem
			break
		}
		subs[i] = o.sub()
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := write(subs[i], i); err != nil {
				errs[i] = err
				stop.Store(true)
			}
		}()
	}
	wg.Wait()
	for _, s := range subs {
		if s != nil {
			o.merge(s)
		}
	}
	return firstErr(errs)
}

// writeItems writes a page's items with write: the ones link says may
// link to an existing record on the other side go one at a time, in page
// order, after the others, which go through writeEach.
func writeItems[T any](r *tableRun, o *pageOut, items []T, link func(T) bool, write func(*pageOut, T) error) error {
	var free, links []T
	for _, it := range items {
		if link(it) {
			links = append(links, it)
		} else {
			free = append(free, it)
		}
	}
	if err := r.writeEach(o, len(free), func(o *pageOut, i int) error { return write(o, free[i]) }); err != nil {
		return err
	}
	for _, it := range links {
		if err := write(o, it); err != nil {
			return err
		}
	}
	return nil
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// settled marks a source record as done: its dead-letter entry (if any) goes.
func (o *pageOut) settled(sourceID string) {
	o.dlqDel[sourceID] = true
	delete(o.dlqPut, sourceID)
}

// settleUnlessFailed settles a record unless it was dead-lettered in this
// page (a write that half succeeded keeps its entry).
func (o *pageOut) settleUnlessFailed(sourceID string) {
	if _, failed := o.dlqPut[sourceID]; !failed {
		o.settled(sourceID)
	}
}

// fail dead-letters a source record, or marks it deferred.
func (r *tableRun) fail(ctx context.Context, o *pageOut, sourceID string, err error) {
	cls := classOf(err)
	prev := r.dlqEntry(ctx, o.stream, sourceID)
	e := &DLQEntry{Stream: o.stream, SourceID: sourceID, Attempts: 1, FirstFailed: r.now, LastError: shortErr(err)}
	if prev != nil {
		e.Attempts = prev.Attempts + 1
		e.FirstFailed = prev.FirstFailed
	}
	deferred := errors.Is(err, mapping.ErrUnresolved)
	switch {
	case cls == classPermanent:
		e.Permanent = true
	case r.now.Sub(e.FirstFailed) >= r.s.cfg.PermanentAfter:
		e.Permanent = true
		e.LastError = "gave up after " + r.s.cfg.PermanentAfter.String() + ": " + e.LastError
	case deferred:
		e.Deferred = true
		e.NextAttempt = r.now.Add(time.Millisecond) // try again next run, not in this one
	default:
		e.NextAttempt = r.now.Add(backoff(r.s.cfg.RetryMin, r.s.cfg.RetryMax, e.Attempts))
	}
	o.dlqPut[sourceID] = e
	delete(o.dlqDel, sourceID)
	if deferred && !e.Permanent {
		o.src.Deferred++
		o.event(r.table(), sourceID, "", OutcomeDeferred, err)
	} else {
		o.src.DeadLettered++
		o.event(r.table(), sourceID, "", OutcomeDeadLettered, err)
		r.addError(fmt.Sprintf("%s %s: %s", o.stream, sourceID, e.LastError))
	}
	r.s.log.LogAttrs(ctx, slog.LevelDebug, "record failed", slog.String("stream", o.stream), slog.String("id", sourceID),
		slog.Bool("permanent", e.Permanent), slog.Bool("deferred", e.Deferred), slog.String("error", e.LastError))
}

// backoff is min·2^(attempt-1), capped, with full jitter above half.
func backoff(minWait, maxWait time.Duration, attempt int) time.Duration {
	d := minWait
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	half := d / 2
	return half + rand.N(d-half+1)
}

func (r *tableRun) dlqEntry(ctx context.Context, stream, id string) *DLQEntry {
	var e *DLQEntry
	_ = r.s.store.View(ctx, func(tx ReadTx) error {
		e, _ = tx.DLQEntry(stream, id)
		return nil
	})
	return e
}

// commit writes a page's outcomes and the new cursor in one transaction.
func (r *tableRun) commit(ctx context.Context, o *pageOut, update func(st *StreamState)) error {
	if r.plan != nil {
		r.report(o)
		return nil
	}
	if err := r.s.crash("before-commit"); err != nil {
		return err
	}
	if err := r.renewLease(ctx); err != nil {
		return err
	}
	err := r.s.store.Update(ctx, r.currentLease(), func(tx Tx) error {
		for _, p := range o.pairs {
			if err := tx.PutPair(p); err != nil {
				return err
			}
		}
		for id := range o.dlqDel {
			if err := tx.DeleteDLQ(o.stream, id); err != nil {
				return err
			}
		}
		for _, e := range o.dlqPut {
			if err := tx.PutDLQ(e); err != nil {
				return err
			}
		}
		for id := range o.intentDel {
			if err := tx.DeleteIntent(o.stream, id); err != nil {
				return err
			}
		}
		for i := range o.conflicts {
			if err := tx.AddConflict(&o.conflicts[i]); err != nil {
				return err
			}
		}
		if update != nil {
			st, err := tx.Stream(o.stream)
			if err != nil {
				return err
			}
			if st == nil {
				st = &StreamState{ID: o.stream}
			}
			update(st)
			return tx.PutStream(st)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.report(o)
	if err := r.s.crash("after-commit"); err != nil {
		return err
	}
	if r.scheduled && r.s.handingOff(r.table()) {
		return errHandedOff
	}
	return nil
}

// report adds a committed page's outcomes to the run's report and tells
// the observer.
func (r *tableRun) report(o *pageOut) {
	for _, ev := range o.events {
		r.s.obs.Record(ev)
	}
	r.rep.ToStackFlow.add(o.toSF)
	r.rep.ToServiceNow.add(o.toSN)
}

// renewLease renews the lease when half its time is gone, so a long run
// keeps it; a lease lost to another replica stops the run (ErrFenced).
//
// Every write to ServiceNow or StackFlow is preceded by it too: a replica
// that was paused past its lease (a long GC, a stopped VM, a partition)
// finds the lease gone and writes nothing, instead of repeating what the
// new owner did.
func (r *tableRun) renewLease(ctx context.Context) error {
	if r.plan != nil {
		return nil
	}
	// One renewal at a time; concurrent writers of a page wait for it.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lease.Token == 0 {
		return nil
	}
	// The local monotonic clock decides: the lease's Expires is the
	// store's clock (the database's, for pgstore), which may be skewed.
	if time.Since(r.leaseAt) < r.s.cfg.LeaseTTL/2 {
		return nil
	}
	l, err := r.s.store.AcquireLease(ctx, r.lease.Group, r.lease.Holder, r.s.cfg.LeaseTTL)
	if err != nil {
		if errors.Is(err, ErrLeaseHeld) {
			return ErrFenced
		}
		return err
	}
	if l.Token != r.lease.Token {
		return ErrFenced
	}
	r.lease, r.leaseAt = l, time.Now()
	return nil
}

// loadPairs reads the pairs of a page in one transaction.
func (r *tableRun) loadPairs(ctx context.Context, bySN []string, bySF []string) (sn map[string]*Pair, sf map[string]*Pair, err error) {
	sn, sf = map[string]*Pair{}, map[string]*Pair{}
	err = r.s.store.View(ctx, func(tx ReadTx) error {
		for _, id := range bySN {
			p, err := tx.PairBySN(r.table(), id)
			if err != nil {
				return err
			}
			if p != nil {
				sn[id] = p
			}
		}
		for _, id := range bySF {
			p, err := tx.PairBySF(r.table(), id)
			if err != nil {
				return err
			}
			if p != nil {
				sf[id] = p
			}
		}
		return nil
	})
	return sn, sf, err
}

// loopBroken reports whether a pair has had too many sync writes lately;
// such a pair is quarantined instead of written again.
func (r *tableRun) loopBroken(p *Pair) bool {
	if p == nil {
		return false
	}
	n := 0
	for _, t := range p.Writes {
		if r.now.Sub(t) <= r.s.cfg.LoopWindow {
			n++
		}
	}
	return n >= r.s.cfg.LoopWrites
}

// noteWrite records a sync write on a pair (bounded to the loop window).
// A one-way table cannot loop (nothing it writes comes back), so its pairs
// keep no write times: a large CMDB's state stays small.
func (r *tableRun) noteWrite(p *Pair) {
	if r.oneWay() {
		p.Writes = nil
		return
	}
	kept := p.Writes[:0]
	for _, t := range p.Writes {
		if r.now.Sub(t) <= r.s.cfg.LoopWindow {
			kept = append(kept, t)
		}
	}
	p.Writes = append(kept, r.now)
}

// logConflicts records mapping conflicts for the page's commit.
func (r *tableRun) logConflicts(o *pageOut, p *Pair, cs []mapping.Conflict) {
	entries := r.conflictEntries(p, cs)
	o.conflicts = append(o.conflicts, entries...)
	r.addConflicts(entries)
	o.src.Conflicts += len(entries)
}

// conflictEntries turns mapping conflicts into conflict log entries.
func (r *tableRun) conflictEntries(p *Pair, cs []mapping.Conflict) []Conflict {
	out := make([]Conflict, 0, len(cs))
	for _, c := range cs {
		winner := ""
		if c.Winner != 0 {
			winner = sideName(c.Winner)
		}
		out = append(out, Conflict{Time: r.now, Table: r.table(), SNID: p.SNID, SFID: p.SFID, Key: c.Key,
			SNValue: c.ServiceNow, SFValue: c.StackFlow, Winner: winner, Rule: c.Rule})
	}
	return out
}

var errCrash = errors.New("syncer: simulated crash")
