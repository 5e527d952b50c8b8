package stackflow

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pager serves /cmdb/cis as pages of ids: each cursor names the next
// page's first index.
func pager(t *testing.T, mux *http.ServeMux, total, size int) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	mux.HandleFunc("GET /cmdb/cis", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		start := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			_, err := fmt.Sscanf(c, "at-%d", &start)
			require.NoError(t, err)
		}
		assert.Equal(t, "servicenow", r.URL.Query().Get("source"), "the filters go with every page")
		end := min(start+size, total)
		var recs []string
		for i := start; i < end; i++ {
			recs = append(recs, fmt.Sprintf(`{"id":"ci_%03d","name":"host%d"}`, i, i))
		}
		next := "null"
		if end < total {
			next = fmt.Sprintf(`"at-%d"`, end)
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"data":[%s],"next_cursor":%s,"has_more":%t}`, strings.Join(recs, ","), next, end < total))
	})
	return &calls
}

func TestAllWalksEveryPageLazily(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	calls := pager(t, mux, 25, 10)
	opts := &ListOptions{Source: "servicenow"}
	seq := c.CIs.All(ctxT(t), opts)
	assert.Zero(t, calls.Load(), "nothing is fetched before the first iteration")

	var ids []string
	for ci, err := range seq {
		require.NoError(t, err)
		ids = append(ids, ci.ID)
	}
	require.Len(t, ids, 25)
	assert.Equal(t, "ci_000", ids[0])
	assert.Equal(t, "ci_024", ids[24])
	assert.EqualValues(t, 3, calls.Load())
	assert.Empty(t, opts.Cursor, "the caller's options are not changed")

	n := 0
	for _, err := range seq {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 25, n, "ranging twice starts over")
	assert.EqualValues(t, 6, calls.Load())
}

func TestAllStopsOnBreak(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	calls := pager(t, mux, 25, 10)
	n := 0
	for _, err := range c.CIs.All(ctxT(t), &ListOptions{Source: "servicenow"}) {
		require.NoError(t, err)
		n++
		if n == 12 {
			break
		}
	}
	assert.EqualValues(t, 2, calls.Load(), "no page is fetched after the break")
}

func TestAllYieldsAnErrorOnce(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	var calls atomic.Int32
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeJSON(w, http.StatusOK, `{"data":[`+incidentJSON+`],"next_cursor":"c2","has_more":true}`)
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "bad cursor")
	})
	var got []error
	recs := 0
	for inc, err := range c.Incidents.All(ctxT(t), nil) {
		if err != nil {
			got = append(got, err)
			assert.Nil(t, inc)
			continue
		}
		recs++
	}
	assert.Equal(t, 1, recs)
	require.Len(t, got, 1)
	assert.ErrorIs(t, got[0], ErrBadRequest)
}

func TestAllRefusesACursorThatDoesNotMove(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"data":[],"next_cursor":"same","has_more":true}`)
	})
	var errs []error
	for _, err := range c.Incidents.All(ctxT(t), &ListOptions{Cursor: "same"}) {
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "does not move")
}

func TestAPageWithoutCursorIsRefused(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"data":[],"next_cursor":null,"has_more":true}`)
	})
	_, _, err := c.Incidents.List(ctxT(t), nil)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "no next_cursor")
}
