package stackflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// MaxBulkUpsert is how many records one bulk-upsert request may carry.
const MaxBulkUpsert = 500

// BulkUpsertOptions shape a BulkUpsert.
type BulkUpsertOptions struct {
	// BatchSize is how many records go into one request, 1..MaxBulkUpsert;
	// 0 means MaxBulkUpsert.
	BatchSize int
	// SkipRecords leaves BulkUpsertResult.Record nil instead of decoding the
	// stored record of every result, for callers that need only the ids and
	// statuses (a bulk load of many records).
	SkipRecords bool
}

// UpsertStatus is what a bulk upsert did with one record.
type UpsertStatus string

// The statuses of a bulk upsert result.
const (
	// UpsertCreated: no live record had the (source, external_id); one was created.
	UpsertCreated UpsertStatus = "created"
	// UpsertUpdated: the record with the key was changed.
	UpsertUpdated UpsertStatus = "updated"
	// UpsertUnchanged: the record already held every given value; nothing
	// was written (no version bump, no webhook).
	UpsertUnchanged UpsertStatus = "unchanged"
	// UpsertError: the record was refused; see the result's Err.
	UpsertError UpsertStatus = "error"
)

// BulkUpsertResult is the outcome of one record of a bulk upsert.
type BulkUpsertResult[T any] struct {
	// Index is the record's position in the input.
	Index int
	// ID is the id of the created or matched record ("" when none matched).
	ID     string
	Status UpsertStatus
	// Err says why the record was refused when Status is UpsertError: a
	// *RecordError from StackFlow (validation_failed with details, or
	// duplicate_external_id), or an *InvalidInputError found before sending
	// (no source or external_id, a body that does not encode).
	Err error
	// Record is the record as stored after the upsert; nil on error.
	Record *T
}

// BulkUpsert creates or updates records keyed by (source, external_id):
// a record whose key no live record has is created, the others are updated
// like a PATCH (fields left out are kept, attributes merged). Every record
// needs Source and ExternalID; one without them gets an UpsertError result
// and is not sent.
//
// The records are sent in requests of at most BatchSize (default and
// maximum 500), one after the other, each with its own Idempotency-Key.
// Since an upsert by key cannot duplicate, each request is retried like a
// read (on 429, 5xx, timeouts and resets), with the same key, so a retried
// request answers what the first one did.
//
// The results are in input order, one per record, each with its Index.
// Per-record failures do not fail the call. When a whole request fails (an
// error answer, or no answer after the retries), BulkUpsert stops and
// returns the results of the records before that request together with a
// *BulkUpsertError saying which batch failed and why. The Response is the
// last request's.
//
// StackFlow API docs: POST /{module}/bulk-upsert
func (s *Service[T, B]) BulkUpsert(ctx context.Context, records []B, opts *BulkUpsertOptions) ([]BulkUpsertResult[T], *Response, error) {
	if err := s.module.check(); err != nil {
		return nil, nil, err
	}
	size := MaxBulkUpsert
	skipRecords := opts != nil && opts.SkipRecords
	if opts != nil && opts.BatchSize != 0 {
		if opts.BatchSize < 0 || opts.BatchSize > MaxBulkUpsert {
			return nil, nil, &InvalidInputError{Field: "BatchSize", Reason: fmt.Sprintf("%d is out of range: 1..%d (0 for %d)", opts.BatchSize, MaxBulkUpsert, MaxBulkUpsert)}
		}
		size = opts.BatchSize
	}
	results := make([]BulkUpsertResult[T], len(records))
	type pending struct {
		index int
		body  json.RawMessage
	}
	type batch struct {
		first, last int // input index range, sent or not
		items       []pending
	}
	var batches []batch
	cur := batch{first: 0}
	for i, rec := range records {
		results[i].Index = i
		body, err := encodeUpsert(rec)
		if err != nil {
			results[i].Status, results[i].Err = UpsertError, err
			continue
		}
		cur.items = append(cur.items, pending{index: i, body: body})
		if len(cur.items) == size {
			cur.last = i
			batches = append(batches, cur)
			cur = batch{first: i + 1}
		}
	}
	if len(cur.items) > 0 {
		cur.last = len(records) - 1
		batches = append(batches, cur)
	}

	var last *Response
	for bi, b := range batches {
		// The records are encoded already (compact, valid JSON): join them.
		n := len(`{"records":[]}`)
		for _, p := range b.items {
			n += len(p.body) + 1
		}
		data := make([]byte, 0, n)
		data = append(data, `{"records":[`...)
		for j, p := range b.items {
			if j > 0 {
				data = append(data, ',')
			}
			data = append(data, p.body...)
		}
		data = append(data, "]}"...)
		key, err := newIdempotencyKey()
		if err != nil {
			return results[:b.first], last, &BulkUpsertError{Batch: bi, Batches: len(batches), First: b.first, Last: b.last, Err: err}
		}
		var got []BulkUpsertResult[T]
		resp, err := s.c.do(ctx, call{
			method: http.MethodPost, path: s.path("bulk-upsert"), body: data, class: httpx.Keyed,
			header: http.Header{"Idempotency-Key": {key}}, idempotencyKey: key,
			decode: func(r io.Reader) error {
				got = nil
				var err error
				got, err = decodeBulkResults[T](r, len(b.items), skipRecords)
				return err
			},
		})
		if resp != nil {
			last = resp
		}
		if err != nil {
			return results[:b.first], last, &BulkUpsertError{Batch: bi, Batches: len(batches), First: b.first, Last: b.last, Err: err}
		}
		for j, r := range got {
			r.Index = b.items[j].index
			results[r.Index] = r
		}
	}
	return results, last, nil
}

// encodeUpsert checks one bulk-upsert record for its key and encodes it.
func encodeUpsert[B input](rec B) (json.RawMessage, error) {
	source, extID := rec.upsertKey()
	switch {
	case source == "" && extID == "":
		return nil, &InvalidInputError{Field: "source, external_id", Reason: "a bulk upsert record needs both: it is matched on (source, external_id)"}
	case source == "":
		return nil, &InvalidInputError{Field: "source", Reason: "a bulk upsert record needs a source (e.g. servicenow)"}
	case extID == "":
		return nil, &InvalidInputError{Field: "external_id", Reason: "a bulk upsert record needs an external_id (the ServiceNow sys_id)"}
	}
	return rec.encode()
}

// bulkResultHead is one bulk-upsert result without its record.
type bulkResultHead struct {
	Index  *int         `json:"index"`
	ID     *string      `json:"id"`
	Status UpsertStatus `json:"status"`
	Error  *RecordError `json:"error"`
}

// decodeBulkResults reads {"results": [...]} and returns one result per
// record of the request, in request order.
func decodeBulkResults[T any](r io.Reader, n int, skipRecords bool) ([]BulkUpsertResult[T], error) {
	var heads []bulkResultHead
	var records []json.RawMessage // nil when skipping: the decoder skips them, copying nothing
	if skipRecords {
		var body struct {
			Results []bulkResultHead `json:"results"`
		}
		if err := decodeJSON(r, &body); err != nil {
			return nil, err
		}
		heads = body.Results
	} else {
		var body struct {
			Results []struct {
				bulkResultHead
				Record json.RawMessage `json:"record"`
			} `json:"results"`
		}
		if err := decodeJSON(r, &body); err != nil {
			return nil, err
		}
		heads = make([]bulkResultHead, len(body.Results))
		records = make([]json.RawMessage, len(body.Results))
		for i, res := range body.Results {
			heads[i], records[i] = res.bulkResultHead, res.Record
		}
	}
	if len(heads) != n {
		return nil, fmt.Errorf("the answer holds %d results for %d records", len(heads), n)
	}
	out := make([]BulkUpsertResult[T], n)
	seen := make([]bool, n)
	for ri, res := range heads {
		if res.Index == nil || *res.Index < 0 || *res.Index >= n || seen[*res.Index] {
			return nil, errors.New("the answer's result indexes do not match the records sent")
		}
		i := *res.Index
		seen[i] = true
		o := BulkUpsertResult[T]{Status: res.Status, ID: deref(res.ID)}
		switch res.Status {
		case UpsertCreated, UpsertUpdated, UpsertUnchanged:
			if !skipRecords && len(records[ri]) > 0 && !bytes.Equal(bytes.TrimSpace(records[ri]), []byte("null")) {
				rec, err := decodeRecord[T](bytes.NewReader(records[ri]))
				if err != nil {
					return nil, fmt.Errorf("result %d: %w", i, err)
				}
				o.Record = rec
			}
		case UpsertError:
			if res.Error != nil {
				o.Err = res.Error
			} else {
				o.Err = &RecordError{Message: "refused without a reason"}
			}
		default:
			return nil, fmt.Errorf("result %d has the unknown status %q", i, res.Status)
		}
		out[i] = o
	}
	return out, nil
}
