package syncer

import (
	"errors"

	"github.com/stackflow-tech/snowsync/servicenow"
)

// deleteEvidence sorts paired records that a reconciliation sweep no longer
// sees into those with positive evidence of deletion (gone) and those that
// may only be hidden from the integration user (unseen).
//
// A record the user cannot see is not a record that was deleted: a read ACL
// makes the list leave it out and a read by sys_id answer 404, exactly as if
// it were gone. So absence alone never deletes. The evidence, in order:
//
//   - sys_audit_delete, when the user can read it: a row whose documentkey
//     is the record's sys_id. When the audit is readable it alone decides.
//   - Otherwise the Aggregate API's count of the sys_ids: the instance
//     applies read ACLs to the rows it returns, after the query and its
//     count, so a hidden record still counts and a count of 0 means the
//     record is gone. (ServiceNow documents that sysparm_limit applies
//     before ACL filtering; the fakes model counts that way. See
//     docs/servicenow-wire.md.) If the Aggregate API is refused too,
//     nothing is deleted.
func (r *tableRun) deleteEvidence(ids []string) (gone, unseen []string, err error) {
	audited, err := r.auditedDeletes(ids)
	if err == nil {
		for _, id := range ids {
			if audited[id] {
				gone = append(gone, id)
			} else {
				unseen = append(unseen, id)
			}
		}
		return gone, unseen, nil
	}
	if !errors.Is(err, servicenow.ErrForbidden) {
		return nil, nil, err
	}
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		n, err := r.countIDs(chunk)
		if errors.Is(err, servicenow.ErrForbidden) {
			r.addError("reconcile " + r.table() + ": cannot confirm deletes: the integration user can read neither sys_audit_delete nor the Aggregate API (grant read on sys_audit_delete); missing records are kept")
			return gone, append(unseen, ids[start:]...), nil
		}
		if err != nil {
			return nil, nil, err
		}
		switch {
		case n == 0:
			gone = append(gone, chunk...)
		case n >= len(chunk):
			unseen = append(unseen, chunk...)
		default: // some of each: ask one by one
			for _, id := range chunk {
				n, err := r.countIDs([]string{id})
				if err != nil {
					return nil, nil, err
				}
				if n == 0 {
					gone = append(gone, id)
				} else {
					unseen = append(unseen, id)
				}
			}
		}
	}
	return gone, unseen, nil
}

// auditedDeletes returns which of ids have a sys_audit_delete row.
func (r *tableRun) auditedDeletes(ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	audit := r.s.sn.Table("sys_audit_delete")
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		q, err := servicenow.NewQuery().In("documentkey", chunk...).Build()
		if err != nil {
			return nil, err
		}
		for rec, err := range audit.All(r.ctxSN, &servicenow.ListOptions{Query: q, Fields: []string{"documentkey"}, Limit: maxIDsPerQuery * 2}) {
			if err != nil {
				return nil, err
			}
			out[rec.Get("documentkey")] = true
		}
	}
	return out, nil
}

// countIDs counts the table's records with these sys_ids, hidden ones
// included (see deleteEvidence).
func (r *tableRun) countIDs(ids []string) (int, error) {
	q, err := servicenow.NewQuery().In("sys_id", ids...).Build()
	if err != nil {
		return 0, err
	}
	n, _, err := r.snTable().Count(r.ctxSN, q)
	return n, err
}
