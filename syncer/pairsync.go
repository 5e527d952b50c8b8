package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// snSide is the current ServiceNow state of a pair: the record, its
// system fields and its canonical projection.
type snSide struct {
	rec  servicenow.Record
	meta snMeta
	proj mapping.Canon
}

// sfSide is the current StackFlow state of a pair.
type sfSide struct {
	rec  stackflow.Record
	meta sfMeta
	proj mapping.Canon
}

func (r *tableRun) readSN(rec servicenow.Record) (snSide, error) {
	m, err := metaSN(rec)
	if err != nil {
		return snSide{}, err
	}
	proj, err := r.tm.ProjectServiceNow(rec)
	if err != nil {
		return snSide{}, err
	}
	return snSide{rec: rec, meta: m, proj: proj}, nil
}

func (r *tableRun) readSF(rec stackflow.Record) (sfSide, error) {
	m, err := metaSF(rec)
	if err != nil {
		return sfSide{}, err
	}
	proj, err := r.tm.ProjectStackFlow(rec)
	if err != nil {
		return sfSide{}, err
	}
	return sfSide{rec: rec, meta: m, proj: proj}, nil
}

// errLoop quarantines a pair the loop breaker caught.
type errLoop struct{ writes int }

func (e errLoop) Error() string {
	return fmt.Sprintf("loop breaker: %d sync writes to this pair within the loop window with no end in sight; quarantined (check for an automation that rewrites the record on both sides)", e.writes)
}

// syncPair three-way merges a pair whose sides are both known and writes
// what the merge decided, to either side. p is updated in place (the caller
// puts it in the page's outcomes). Its snapshots are the merge's bases; nil
// bases (a first sync) let the ownership rules decide every field.
//
// A write can change more than it sent: ServiceNow's business rules derive
// fields (priority from impact and urgency, defaults on create) and
// StackFlow normalises what it stores (titles trimmed and cut). So after
// writing, a second merge round runs with the values from before the write
// as bases: what the target stored differently from what it had becomes a
// change of that side, which flows back unless the mapping declares the two
// values equivalent (a known, lossy normalisation). Two rounds at most, so
// nothing can ping-pong.
func (r *tableRun) syncPair(ctx context.Context, o *pageOut, p *Pair, sn snSide, sf sfSide) error {
	baseSN, baseSF := recoverPending(p, sn.proj, sf.proj)
	wrote := false
	for round := 0; round < 2; round++ {
		in := mapping.MergeInput{
			BaseSN: baseSN, CurSN: sn.proj, BaseSF: baseSF, CurSF: sf.proj,
			Origin: sideOf(p.Origin), UpdatedSN: sn.meta.updated, UpdatedSF: sf.meta.updated,
			Skew: r.s.cfg.ConflictSkew, Resolver: r.res,
		}
		res, err := r.tm.Merge(in)
		if err != nil {
			return err
		}
		if len(res.ToStackFlow) == 0 && len(res.ToServiceNow) == 0 {
			r.logConflicts(o, p, res.Conflicts)
			break
		}
		if r.loopBroken(p) {
			return classified{errLoop{len(p.Writes)}, classPermanent}
		}
		// The losing values are logged before the writes that overwrite
		// them go out: a crash after a write must not lose them.
		if err := r.notePending(ctx, o, p, baseSN, baseSF, sn.proj, sf.proj, res); err != nil {
			return err
		}
		newSN, newSF := sn, sf
		if len(res.ToStackFlow) > 0 {
			body, err := r.tm.StackFlowBody(res.ToStackFlow)
			if err != nil {
				return err
			}
			rec, err := r.sfUpdate(ctx, p.SFID, p.SNID, body, sf.meta.ver)
			if err != nil {
				return err
			}
			if rec != nil {
				if newSF, err = r.readSF(*rec); err != nil {
					return err
				}
			}
			o.toSF.Updated++
		}
		if len(res.ToServiceNow) > 0 {
			body, err := r.tm.ServiceNowBody(res.ToServiceNow, sn.proj, r.res)
			if err != nil {
				return err
			}
			rec, err := r.snUpdate(ctx, p.SNID, p.SFID, body)
			if err != nil {
				return err
			}
			if rec != nil {
				if newSN, err = r.readSN(*rec); err != nil {
					return err
				}
			}
			o.toSN.Updated++
		}
		wrote = true
		baseSN, baseSF = sn.proj, sf.proj // what each side held before this round
		sn, sf = newSN, newSF
		if r.plan != nil {
			break
		}
	}
	setSN(p, sn)
	setSF(p, sf)
	p.Pending = nil
	p.LastSynced = r.now
	if wrote {
		r.noteWrite(p)
	}
	return nil
}

// notePending stores, before the writes of a merge round go out, what both
// sides will hold for the written keys once they land. The pair keeps its
// old snapshots (the bases) until the page commits.
func (r *tableRun) notePending(ctx context.Context, o *pageOut, p *Pair, baseSN, baseSF, curSN, curSF mapping.Canon, res *mapping.MergeResult) error {
	if r.plan != nil {
		r.logConflicts(o, p, res.Conflicts)
		return nil
	}
	conflicts := r.conflictEntries(p, res.Conflicts)
	pw := &PendingWrite{At: r.now, SN: map[string]string{}, SF: map[string]string{}, Written: map[string]string{}}
	for k, v := range res.ToStackFlow {
		pw.SF[k], pw.SN[k], pw.Written[k] = v, curSN[k], "stackflow"
	}
	for k, v := range res.ToServiceNow {
		pw.SN[k] = v
		if _, both := res.ToStackFlow[k]; both {
			pw.Written[k] = "both"
		} else {
			pw.SF[k], pw.Written[k] = curSF[k], "servicenow"
		}
	}
	stored := ClonePair(p)
	stored.SnapSN, stored.SnapSF, stored.Pending = baseSN, baseSF, pw
	err := r.s.store.Update(ctx, r.currentLease(), func(tx Tx) error {
		for i := range conflicts {
			if err := tx.AddConflict(&conflicts[i]); err != nil {
				return err
			}
		}
		return tx.PutPair(stored)
	})
	if err != nil {
		return err
	}
	r.addConflicts(conflicts)
	o.src.Conflicts += len(conflicts)
	return nil
}

// crashedWrites reports whether the pair notes writes that an earlier run
// sent and never saw the outcome of (it crashed or lost its lease between
// the write and the commit). Writes this run sent are known: they landed
// and committed, or failed and are dead-lettered. (Stores may keep times to
// the millisecond only, hence the truncation.)
func (r *tableRun) crashedWrites(p *Pair) bool {
	return p.Pending != nil && p.Pending.At.Before(r.now.Truncate(time.Millisecond))
}

// recoverPending returns the merge bases of a pair. When writes were in
// flight at a crash, a key whose write landed (the written side holds the
// pending value) was converged at the pending values: both bases take them,
// so only later changes count. A write that did not land leaves the old
// bases, and the merge decides again.
func recoverPending(p *Pair, curSN, curSF mapping.Canon) (baseSN, baseSF mapping.Canon) {
	baseSN, baseSF = p.SnapSN, p.SnapSF
	pw := p.Pending
	if pw == nil || baseSN == nil || baseSF == nil {
		return baseSN, baseSF
	}
	baseSN, baseSF = mapping.Canon(baseSN).Clone(), mapping.Canon(baseSF).Clone()
	for k, side := range pw.Written {
		landedSN := curSN[k] == pw.SN[k]
		landedSF := curSF[k] == pw.SF[k]
		landed := (side == "servicenow" && landedSN) || (side == "stackflow" && landedSF) || (side == "both" && landedSN && landedSF)
		if landed {
			baseSN[k], baseSF[k] = pw.SN[k], pw.SF[k]
		}
	}
	return baseSN, baseSF
}

func setSN(p *Pair, s snSide) {
	p.SnapSN, p.VerSN, p.UpdatedSN = s.proj, s.meta.ver, s.meta.updated
}

func setSF(p *Pair, s sfSide) {
	p.SnapSF, p.VerSF, p.UpdatedSF = s.proj, s.meta.ver, s.meta.updated
}

// classified forces a class on an error.
type classified struct {
	err   error
	class errClass
}

func (c classified) Error() string { return c.err.Error() }
func (c classified) Unwrap() error { return c.err }

func classOf(err error) errClass {
	var c classified
	if errors.As(err, &c) {
		return c.class
	}
	return classify(err)
}

// tombstone marks a pair deleted on one side.
func (r *tableRun) tombstone(p *Pair, side string) {
	p.Tombstone = &Tombstone{At: r.now, Side: side, VerSN: p.VerSN, VerSF: p.VerSF}
}

// createdBases sets the snapshots of a pair just created on one side so
// that what the created side filled in by itself (defaults, derived fields)
// shows up as a change of that side and flows back: the created side's base
// is the source's values as it was asked to store them. The version stays
// the created one; a dead-letter retry re-merges regardless.
func (r *tableRun) createdBases(p *Pair, sn snSide, sf sfSide, created mapping.Side) {
	p.SnapSN, p.SnapSF = sn.proj, sf.proj
	if r.plan != nil {
		return
	}
	var base mapping.Canon
	var err error
	if created == sideSN {
		base, err = r.tm.ConvertToServiceNow(sf.proj, r.res)
	} else {
		base, err = r.tm.ConvertToStackFlow(sn.proj, r.res)
	}
	if err != nil {
		return // nothing to compare with; the next change will merge
	}
	if created == sideSN {
		p.SnapSN = base
	} else {
		p.SnapSF = base
	}
}
