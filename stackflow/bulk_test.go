package stackflow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoBulk answers a bulk upsert with "created" for every record, in
// reverse order (the client must place results by index), and fails the
// request numbers in failOn with a 422.
func echoBulk(t *testing.T, mux *http.ServeMux, failOn int32) (*recorder, *atomic.Int32) {
	t.Helper()
	var rec recorder
	var calls atomic.Int32
	mux.HandleFunc("POST /cmdb/cis/bulk-upsert", func(w http.ResponseWriter, r *http.Request) {
		body := rec.add(r)
		n := calls.Add(1)
		if n == failOn {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "records must hold at most 500 records")
			return
		}
		var in struct {
			Records []map[string]any `json:"records"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &in))
		var res []string
		for i := len(in.Records) - 1; i >= 0; i-- {
			id := fmt.Sprintf("ci_%v", in.Records[i]["external_id"])
			res = append(res, fmt.Sprintf(`{"index":%d,"id":%q,"status":"created","error":null,"record":{"id":%q,"name":"n"}}`, i, id, id))
		}
		writeJSON(w, http.StatusOK, `{"results":[`+strings.Join(res, ",")+`]}`)
	})
	return &rec, &calls
}

func cis(n int) []CIInput {
	out := make([]CIInput, n)
	for i := range out {
		out[i] = CIInput{Source: Ptr("servicenow"), ExternalID: Ptr(fmt.Sprint("e", i)), Name: Ptr(fmt.Sprint("host", i))}
	}
	return out
}

func TestBulkUpsertSendsRecordsAndPlacesResultsByIndex(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	rec, calls := echoBulk(t, mux, 0)
	in := cis(3)
	in[1].ExternalID = nil // refused before sending
	res, resp, err := c.CIs.BulkUpsert(ctxT(t), in, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, calls.Load())
	req, body := rec.get(0)
	assert.Regexp(t, `^[0-9a-f]{32}$`, req.Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"records":[{"source":"servicenow","external_id":"e0","name":"host0"},
		{"source":"servicenow","external_id":"e2","name":"host2"}]}`, body)
	require.Len(t, res, 3)
	for i, r := range res {
		assert.Equal(t, i, r.Index)
	}
	assert.Equal(t, UpsertCreated, res[0].Status)
	assert.Equal(t, "ci_e0", res[0].ID)
	assert.Equal(t, "ci_e0", res[0].Record.ID)
	assert.Equal(t, UpsertError, res[1].Status)
	var in1 *InvalidInputError
	require.ErrorAs(t, res[1].Err, &in1)
	assert.Equal(t, "external_id", in1.Field)
	assert.Equal(t, "ci_e2", res[2].ID)
}

func TestBulkUpsertSplitsIntoBatches(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	rec, calls := echoBulk(t, mux, 0)
	res, _, err := c.CIs.BulkUpsert(ctxT(t), cis(1100), nil)
	require.NoError(t, err)
	assert.EqualValues(t, 3, calls.Load())
	var sizes []int
	keys := map[string]bool{}
	for i := 0; i < rec.count(); i++ {
		req, body := rec.get(i)
		var in struct {
			Records []json.RawMessage `json:"records"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &in))
		sizes = append(sizes, len(in.Records))
		keys[req.Header.Get("Idempotency-Key")] = true
	}
	assert.Equal(t, []int{500, 500, 100}, sizes)
	assert.Len(t, keys, 3, "each request has its own key")
	require.Len(t, res, 1100)
	for i, r := range res {
		require.Equal(t, i, r.Index)
		require.Equal(t, fmt.Sprint("ci_e", i), r.ID, "result %d belongs to record %d", i, i)
	}

	_, _, err = c.CIs.BulkUpsert(ctxT(t), cis(10), &BulkUpsertOptions{BatchSize: 4})
	require.NoError(t, err)
	assert.EqualValues(t, 6, calls.Load(), "10 records in batches of 4 are 3 more requests")
}

func TestAFailedBatchStopsWithTheResultsSoFar(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	_, calls := echoBulk(t, mux, 2)
	in := cis(10)
	in[3].Source = nil
	res, _, err := c.CIs.BulkUpsert(ctxT(t), in, &BulkUpsertOptions{BatchSize: 3})
	require.Error(t, err)
	var be *BulkUpsertError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, 1, be.Batch)
	assert.Equal(t, 3, be.Batches, "nine valid records in batches of three")
	assert.Equal(t, 3, be.First, "the second batch starts after the first three records")
	assert.Equal(t, 6, be.Last, "and holds records 4..6, with record 3 refused locally")
	assert.ErrorIs(t, err, ErrValidation, "the cause stays visible")
	assert.Contains(t, err.Error(), "batch 2 of 3 (records 3..6)")
	assert.EqualValues(t, 2, calls.Load(), "no batch is sent after the failed one")
	require.Len(t, res, 3, "the results of the records before the failed batch")
	for i, r := range res {
		assert.Equal(t, i, r.Index)
		assert.Equal(t, UpsertCreated, r.Status)
	}
}

func TestBulkUpsertChecksItsInput(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	_, calls := echoBulk(t, mux, 0)
	_, _, err := c.CIs.BulkUpsert(ctxT(t), cis(2), &BulkUpsertOptions{BatchSize: 501})
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
	assert.Equal(t, "BatchSize", in.Field)

	res, resp, err := c.CIs.BulkUpsert(ctxT(t), nil, nil)
	require.NoError(t, err)
	assert.Empty(t, res)
	assert.Nil(t, resp)

	rawRes, _, err := c.Records(ModuleCIs).BulkUpsert(ctxT(t), []Fields{{"name": "x"}, nil, {"source": "servicenow", "external_id": "e1", "bad": make(chan int)}}, nil)
	require.NoError(t, err)
	require.Len(t, rawRes, 3)
	for _, r := range rawRes {
		assert.Equal(t, UpsertError, r.Status)
		require.ErrorAs(t, r.Err, &in)
	}
	assert.Zero(t, calls.Load(), "records refused locally are never sent")
}

func TestBulkUpsertRefusesAGarbledAnswer(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	mux.HandleFunc("POST /cmdb/cis/bulk-upsert", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"results":[{"index":0,"id":"ci_1","status":"created","error":null,"record":null},
			{"index":0,"id":"ci_2","status":"created","error":null,"record":null}]}`)
	})
	res, _, err := c.CIs.BulkUpsert(ctxT(t), cis(2), nil)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "indexes do not match")
	assert.Empty(t, res)
}

func TestBulkUpsertSkipRecordsKeepsIDsAndStatusesOnly(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	_, _ = echoBulk(t, mux, 0)
	res, _, err := c.CIs.BulkUpsert(ctxT(t), cis(2), &BulkUpsertOptions{SkipRecords: true})
	require.NoError(t, err)
	require.Len(t, res, 2)
	for i, r := range res {
		assert.Equal(t, UpsertCreated, r.Status)
		assert.Equal(t, fmt.Sprintf("ci_e%d", i), r.ID)
		assert.Nil(t, r.Record, "SkipRecords must leave Record nil")
	}
}
