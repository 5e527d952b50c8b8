package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// maxRetriesPerRun bounds how many dead-letter entries one run retries.
const maxRetriesPerRun = 500

// retryDue retries the dead-letter entries of a stream whose time has come:
// each source record is read again by id (the entry keeps the key, not the
// payload) and processed like a page. The cursor does not move.
func (r *tableRun) retryDue(ctx context.Context, stream string) error {
	if r.plan != nil {
		return nil
	}
	var due []DLQEntry
	if err := r.s.store.View(ctx, func(tx ReadTx) error {
		var err error
		due, err = tx.DueDLQ(stream, r.now, maxRetriesPerRun)
		return err
	}); err != nil {
		return err
	}
	if len(due) == 0 {
		return nil
	}
	toSN := stream == streamToSN(r.table())
	o := newPageOut(stream, toSN)
	o.src.Retried += len(due)
	ids := make([]string, len(due))
	for i, e := range due {
		ids[i] = e.SourceID
	}
	if toSN {
		var page []stackflow.Record
		for _, id := range ids {
			rec, _, err := r.sfRecords().Get(r.ctxSF, id)
			switch {
			case err == nil:
				page = append(page, *rec)
			case isNotFound(err):
				r.gone(ctx, o, id)
			default:
				if classOf(err) == classRun {
					return err
				}
				r.fail(ctx, o, id, err)
			}
		}
		if len(page) > 0 {
			if err := r.processSFPage(ctx, o, page, pageRetry); err != nil {
				return err
			}
		}
	} else {
		batch, err := snBatch(r.ctxSN, r.snTable(), "sys_id", ids, r.tm.ServiceNowFields())
		if err != nil {
			return err
		}
		byID := snByID(batch)
		var page []servicenow.Record
		for _, id := range ids {
			if rec, ok := byID[id]; ok {
				page = append(page, rec)
			} else {
				r.gone(ctx, o, id)
			}
		}
		if len(page) > 0 {
			if err := r.processSNPage(ctx, o, page, pageRetry); err != nil {
				return err
			}
		}
	}
	return r.commit(ctx, o, nil)
}

// gone closes the dead-letter entry of a source record that no longer
// exists: it is marked permanent with the reason, never silently dropped.
func (r *tableRun) gone(ctx context.Context, o *pageOut, id string) {
	r.fail(ctx, o, id, classified{errors.New("the source record no longer exists (deleted, or hidden by an ACL); its deletion is handled by the delete scan"), classPermanent})
}

// DLQ returns a table's dead-letter entries (retryable and permanent), of
// both directions, for operators and metrics; each entry's Stream says
// which direction ("incident/servicenow->stackflow").
func (s *Syncer) DLQ(ctx context.Context, table string) ([]DLQEntry, error) {
	if _, ok := s.tables[table]; !ok {
		return nil, fmt.Errorf("%w: %s", ErrTableNotSynced, table)
	}
	var out []DLQEntry
	err := s.store.View(ctx, func(tx ReadTx) error {
		for _, id := range []string{streamToSF(table), streamToSN(table)} {
			es, err := tx.DLQEntries(id)
			if err != nil {
				return err
			}
			out = append(out, es...)
		}
		return nil
	})
	return out, err
}
