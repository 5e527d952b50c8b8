package syncer

import (
	"context"
	"errors"
	"sync"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// Plan is what a dry run would write, per side.
type Plan struct {
	Table string
	// Writes in the order the run would make them.
	Writes []PlannedWrite
}

// PlannedWrite is one write a dry run did not make.
type PlannedWrite struct {
	Side   string // "servicenow" or "stackflow"
	Op     string // create, update, upsert, delete
	ID     string // target record id ("" for creates)
	Source string // source record id
	Fields map[string]any
}

// Count returns how many planned writes match side and op ("" for any).
func (p *Plan) Count(side, op string) int {
	n := 0
	for _, w := range p.Writes {
		if (side == "" || w.Side == side) && (op == "" || w.Op == op) {
			n++
		}
	}
	return n
}

func (r *tableRun) planWrite(side, op, id, source string, fields map[string]any) {
	r.plan.Writes = append(r.plan.Writes, PlannedWrite{Side: side, Op: op, ID: id, Source: source, Fields: fields})
}

// The write helpers return a nil record and no error in a dry run.

func (r *tableRun) sfCreate(ctx context.Context, source string, body map[string]any, key string) (*stackflow.Record, error) {
	if r.plan != nil {
		r.planWrite("stackflow", "create", "", source, body)
		return nil, nil
	}
	if err := r.beforeWrite(ctx); err != nil {
		return nil, err
	}
	rec, _, err := r.sfRecords().Create(r.ctxSF, stackflow.Fields(body), &stackflow.CreateOptions{IdempotencyKey: key})
	if cerr := r.s.crash("after-write"); cerr != nil {
		return nil, cerr
	}
	return rec, err
}

func (r *tableRun) sfUpdate(ctx context.Context, id, source string, body map[string]any, ifVersion int64) (*stackflow.Record, error) {
	if r.plan != nil {
		r.planWrite("stackflow", "update", id, source, body)
		return nil, nil
	}
	if err := r.beforeWrite(ctx); err != nil {
		return nil, err
	}
	rec, _, err := r.sfRecords().Update(r.ctxSF, id, stackflow.Fields(body), &stackflow.UpdateOptions{IfVersion: ifVersion})
	if cerr := r.s.crash("after-write"); cerr != nil {
		return nil, cerr
	}
	return rec, err
}

func (r *tableRun) sfDelete(ctx context.Context, id, source string) error {
	if r.plan != nil {
		r.planWrite("stackflow", "delete", id, source, nil)
		return nil
	}
	if err := r.beforeWrite(ctx); err != nil {
		return err
	}
	_, err := r.sfRecords().Delete(r.ctxSF, id)
	if cerr := r.s.crash("after-write"); cerr != nil {
		return cerr
	}
	return err
}

// bulkParallel is how many bulk-upsert requests one page sends at once.
const bulkParallel = 2

func (r *tableRun) sfBulkUpsert(ctx context.Context, sources []string, bodies []map[string]any) ([]stackflow.BulkUpsertResult[stackflow.Record], error) {
	if r.plan != nil {
		for i, b := range bodies {
			r.planWrite("stackflow", "upsert", "", sources[i], b)
		}
		return nil, nil
	}
	if err := r.beforeWrite(ctx); err != nil {
		return nil, err
	}
	in := make([]stackflow.Fields, len(bodies))
	for i, b := range bodies {
		in[i] = stackflow.Fields(b)
	}
	// The page goes out in requests of at most 500, a few at a time: an
	// upsert by (source, external_id) may run in any order.
	results := make([]stackflow.BulkUpsertResult[stackflow.Record], len(in))
	errs := make([]error, (len(in)+stackflow.MaxBulkUpsert-1)/stackflow.MaxBulkUpsert)
	sem := make(chan struct{}, bulkParallel)
	var wg sync.WaitGroup
	for b := range errs {
		lo, hi := b*stackflow.MaxBulkUpsert, min((b+1)*stackflow.MaxBulkUpsert, len(in))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, _, err := r.sfRecords().BulkUpsert(r.ctxSF, in[lo:hi], &stackflow.BulkUpsertOptions{SkipRecords: true})
			errs[b] = err
			copy(results[lo:hi], res)
		}()
	}
	wg.Wait()
	if cerr := r.s.crash("after-write"); cerr != nil {
		return nil, cerr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

func (r *tableRun) snCreate(ctx context.Context, source string, body servicenow.Fields) (*servicenow.Record, error) {
	if r.plan != nil {
		r.planWrite("servicenow", "create", "", source, anyFields(body))
		return nil, nil
	}
	if err := r.beforeWrite(ctx); err != nil {
		return nil, err
	}
	rec, _, err := r.snTable().Create(r.ctxSN, body, &servicenow.WriteOptions{Fields: r.tm.ServiceNowFields(), ExcludeReferenceLink: true})
	if cerr := r.s.crash("after-write"); cerr != nil {
		return nil, cerr
	}
	return rec, err
}

func (r *tableRun) snUpdate(ctx context.Context, id, source string, body servicenow.Fields) (*servicenow.Record, error) {
	if r.plan != nil {
		r.planWrite("servicenow", "update", id, source, anyFields(body))
		return nil, nil
	}
	if err := r.beforeWrite(ctx); err != nil {
		return nil, err
	}
	rec, _, err := r.snTable().Update(r.ctxSN, id, body, &servicenow.WriteOptions{Fields: r.tm.ServiceNowFields(), ExcludeReferenceLink: true})
	if cerr := r.s.crash("after-write"); cerr != nil {
		return nil, cerr
	}
	return rec, err
}

// beforeWrite runs before every write to either side: the lease must
// still be ours (see renewLease).
func (r *tableRun) beforeWrite(ctx context.Context) error {
	if err := r.s.crash("before-write"); err != nil {
		return err
	}
	return r.renewLease(ctx)
}

func anyFields(f servicenow.Fields) map[string]any {
	out := make(map[string]any, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}
