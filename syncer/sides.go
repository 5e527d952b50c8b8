package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/internal/httpx"
	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// The two sides, as mapping names them, and as stored in Pair.Origin.
const (
	sideSN = mapping.ServiceNow
	sideSF = mapping.StackFlow
)

func sideName(s mapping.Side) string {
	if s == sideSF {
		return "stackflow"
	}
	return "servicenow"
}

func sideOf(name string) mapping.Side {
	if name == "stackflow" {
		return sideSF
	}
	return sideSN
}

// Stream names: one per table and direction.
func streamToSF(table string) string { return table + "/servicenow->stackflow" }
func streamToSN(table string) string { return table + "/stackflow->servicenow" }

// maxIDsPerQuery bounds sys_idIN / correlation_idIN lists and StackFlow's
// repeated external_id filter (its maximum is 100).
const maxIDsPerQuery = 100

// checkExternalID refuses a StackFlow external_id that cannot be a
// ServiceNow sys_id: sys_ids are 32 hex digits; anything beyond letters,
// digits, '_' and '-', or longer than 32 characters, would change the
// meaning of the encoded query it is put into (',' splits an IN list, '^'
// starts a new term, "javascript:" is evaluated by the instance).
func checkExternalID(id string) error {
	if id == "" {
		return nil
	}
	bad := len(id) > 32
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("external_id %q is not a ServiceNow sys_id (32 hex digits): correct or clear the record's external_id in StackFlow", truncate(id, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// snMeta reads the system fields of a ServiceNow record.
type snMeta struct {
	id      string
	ver     int64
	updated time.Time
	class   string
	corr    string // correlation_id, when it names a StackFlow record (correlation_display "StackFlow")
	number  string
}

// correlationDisplay marks ServiceNow records whose correlation_id is a
// StackFlow id (the syncer writes both when it creates a record).
const correlationDisplay = "StackFlow"

func metaSN(r servicenow.Record) (snMeta, error) {
	m := snMeta{id: r.SysID(), class: r.Get("sys_class_name"), number: r.Get("number")}
	if r.Get("correlation_display") == correlationDisplay {
		m.corr = r.Get("correlation_id")
	}
	if m.id == "" {
		return m, errors.New("the record has no sys_id")
	}
	n, err := r.Int("sys_mod_count")
	if err != nil {
		return m, err
	}
	m.ver = int64(n)
	t, err := r.Time("sys_updated_on")
	if err != nil {
		return m, err
	}
	m.updated = t.Time
	return m, nil
}

// sfMeta reads the common fields of a StackFlow record.
type sfMeta struct {
	id         string
	ver        int64
	updated    time.Time
	deleted    bool
	source     string
	externalID string
}

func metaSF(r stackflow.Record) (sfMeta, error) {
	m := sfMeta{id: r.ID(), source: r.String("source"), externalID: r.String("external_id")}
	if m.id == "" {
		return m, errors.New("the record has no id")
	}
	v, ok := r.Int("version")
	if !ok {
		return m, fmt.Errorf("record %s has no version", m.id)
	}
	m.ver = v
	t, err := time.Parse(time.RFC3339Nano, r.String("updated_at"))
	if err != nil {
		return m, fmt.Errorf("record %s: updated_at %q: %w", m.id, r.String("updated_at"), err)
	}
	m.updated = t.UTC()
	if d, ok := r.Get("deleted_at"); ok && d != nil && d != "" {
		m.deleted = true
	}
	return m, nil
}

// snBatch fetches ServiceNow records by sys_id, 100 per request.
func snBatch(ctx context.Context, t *servicenow.Table[servicenow.Record], field string, ids []string, fields []string) (map[string]servicenow.Record, error) {
	out := make(map[string]servicenow.Record, len(ids))
	ids = uniq(ids)
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		q, err := servicenow.NewQuery().In(field, chunk...).OrderBy("sys_id").Build()
		if err != nil {
			return nil, err
		}
		for rec, err := range t.All(ctx, &servicenow.ListOptions{Query: q, Fields: fields, Limit: maxIDsPerQuery * 2, ExcludeReferenceLink: true}) {
			if err != nil {
				return nil, err
			}
			key := rec.Get(field)
			if field == "sys_id" {
				key = rec.SysID()
			}
			out[key+"\x00"+rec.SysID()] = *rec
		}
	}
	return out, nil
}

// snByID indexes a batch result by sys_id.
func snByID(batch map[string]servicenow.Record) map[string]servicenow.Record {
	out := make(map[string]servicenow.Record, len(batch))
	for _, r := range batch {
		out[r.SysID()] = r
	}
	return out
}

// snByField groups a batch result by the field it was fetched by.
func snByField(batch map[string]servicenow.Record, field string) map[string][]servicenow.Record {
	out := map[string][]servicenow.Record{}
	for _, r := range batch {
		out[r.Get(field)] = append(out[r.Get(field)], r)
	}
	return out
}

// sfByExternalID fetches StackFlow records (soft-deleted included) by
// external_id, 100 per request, grouped by external_id.
func sfByExternalID(ctx context.Context, svc *stackflow.RecordsService, ids []string) (map[string][]stackflow.Record, error) {
	out := map[string][]stackflow.Record{}
	ids = uniq(ids)
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		for rec, err := range svc.All(ctx, &stackflow.ListOptions{ExternalIDs: chunk, IncludeDeleted: true, Limit: 1000}) {
			if err != nil {
				return nil, err
			}
			ext := rec.String("external_id")
			out[ext] = append(out[ext], *rec)
		}
	}
	return out, nil
}

func uniq(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

// idempotencyKey is the StackFlow Idempotency-Key of the create for one
// ServiceNow record: the same across retries and restarts, so a create whose
// answer was lost is not repeated (within StackFlow's 24 hours; the lookup
// by external_id covers the rest).
func idempotencyKey(table, sysID string) string {
	sum := sha256.Sum256([]byte("snowsync\x00" + table + "\x00" + sysID))
	return "snowsync-" + hex.EncodeToString(sum[:16])
}

// errClass says what a failed call means for the record and for the run.
type errClass int

const (
	// classRun: the host or the credentials failed (unavailable, rate
	// limited past the deadline, unauthorized, context ended): stop the
	// run, move no cursor, retry next run. Not the record's fault.
	classRun errClass = iota
	// classRetry: the record failed in a way a later attempt may fix (a
	// version conflict, a reference not synced yet): dead-letter it with
	// backoff.
	classRetry
	// classPermanent: the target refused the record (validation, ACL,
	// data policy, value not mapped): dead-letter it as permanent.
	classPermanent
	// classAmbiguous: a write whose outcome is unknown (transport error,
	// 5xx after a POST): look the record up before doing anything else.
	classAmbiguous
)

func classify(err error) errClass {
	switch {
	case err == nil:
		return classRetry
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrFenced), errors.Is(err, errCrash):
		return classRun
	case errors.Is(err, mapping.ErrUnresolved):
		return classRetry
	}
	var ve *mapping.ValueError
	if errors.As(err, &ve) {
		return classPermanent
	}
	var sn *servicenow.Error
	if errors.As(err, &sn) {
		switch {
		case sn.StatusCode == 401, sn.StatusCode == 429, errors.Is(sn, servicenow.ErrInstanceUnavailable):
			return classRun
		case sn.StatusCode >= 500:
			return classAmbiguous
		case sn.StatusCode == 409:
			return classRetry
		}
		return classPermanent
	}
	var sf *stackflow.Error
	if errors.As(err, &sf) {
		switch {
		case sf.StatusCode == 401, sf.StatusCode == 429:
			return classRun
		case errors.Is(sf, stackflow.ErrVersionConflict):
			return classRetry
		case sf.StatusCode >= 500, sf.StatusCode < 300 && errors.Is(sf, stackflow.ErrUnavailable):
			// A 2xx whose body was cut short or garbled: the write
			// probably landed, its answer did not.
			return classAmbiguous
		}
		return classPermanent
	}
	var snT *servicenow.TransportError
	var sfT *stackflow.TransportError
	if errors.As(err, &snT) || errors.As(err, &sfT) {
		return classAmbiguous
	}
	var oauth *servicenow.OAuthError
	if errors.As(err, &oauth) {
		return classRun
	}
	if errors.Is(err, servicenow.ErrInstanceUnavailable) || errors.Is(err, stackflow.ErrUnavailable) {
		return classRun
	}
	return classRetry
}

// countingContexts returns ctx with a call counter for each side.
func countingContexts(ctx context.Context) (sn, sf context.Context, cSN, cSF *httpx.CallCounter) {
	cSN, cSF = &httpx.CallCounter{}, &httpx.CallCounter{}
	return httpx.WithCallCounter(ctx, cSN), httpx.WithCallCounter(ctx, cSF), cSN, cSF
}

// shortErr renders an error on one line for the dead-letter queue.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
