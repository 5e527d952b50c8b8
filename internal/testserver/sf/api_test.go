package sf

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

func TestTestSideEditsBehaveLikeAUser(t *testing.T) {
	h := newHarness(t)
	seeded, err := h.srv.Seed("service-requests",
		map[string]any{"title": "Laptop", "requested_for": "ann", "source": "servicenow", "external_id": "r1"},
		map[string]any{"title": "Phone", "due_date": t0.Add(48 * time.Hour)},
	)
	require.NoError(t, err)
	require.Len(t, seeded, 2)
	assert.Equal(t, "SF-REQ-1001", seeded[0].Number)
	assert.Equal(t, "seed", seeded[0].UpdatedBy)
	assert.Equal(t, "2026-11-30T17:04:05.123Z", seeded[1].Fields["due_date"], "time.Time values are accepted")

	h.clock.Advance(time.Minute)
	up, err := h.srv.Update(ServiceRequests, seeded[0].ID, map[string]any{"state": "work_in_progress", "priority": 2}, "jane.doe")
	require.NoError(t, err)
	assert.EqualValues(t, 2, up.Version)
	assert.Equal(t, "jane.doe", up.UpdatedBy)
	assert.Equal(t, t0.Add(time.Minute), up.UpdatedAt)
	assert.Equal(t, int64(2), up.Fields["priority"])

	api := h.get("/service-requests/" + seeded[0].ID)
	require.Equal(t, http.StatusOK, api.status)
	enc, err := json.Marshal(up)
	require.NoError(t, err)
	assert.JSONEq(t, string(api.body), string(enc), "Record marshals to the wire form")

	_, err = h.srv.Update(ServiceRequests, seeded[0].ID, map[string]any{"state": "done"}, "jane.doe")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnprocessableEntity, apiErr.Status)
	assert.Equal(t, []Detail{{Field: "state", Message: "must be one of open, work_in_progress, closed_complete, closed_incomplete, closed_skipped"}}, apiErr.Details)

	require.NoError(t, h.srv.Delete(ServiceRequests, seeded[1].ID, "jane.doe"))
	recs, err := h.srv.Records(ServiceRequests)
	require.NoError(t, err)
	require.Len(t, recs, 2, "Records includes deleted records")
	assert.True(t, recs[1].Deleted())
	n, err := h.srv.Count(ServiceRequests, false)
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	_, err = h.srv.Records("tickets")
	assert.ErrorContains(t, err, "unknown module")
	_, ok := h.srv.Record(Incidents, "inc_missing")
	assert.False(t, ok)
	assert.True(t, IsStatus(h.srv.Delete(Incidents, "inc_missing", "x"), http.StatusNotFound))
	_, err = h.srv.Create(Incidents, map[string]any{"title": "t"}, "")
	assert.Error(t, err, "the acting user is required")

	p, err := APIPath(CMDBCIs)
	require.NoError(t, err)
	assert.Equal(t, "/cmdb/cis", p)
	assert.Equal(t, []string{Incidents, Problems, Changes, ServiceRequests, CMDBCIs, CMDBRelationships}, Modules())
}

func TestRecordsCannotBeAlteredThroughInspection(t *testing.T) {
	h := newHarness(t)
	r, err := h.srv.Create(Incidents, map[string]any{"title": "t", "attributes": map[string]any{"k": []any{1, 2}}}, "u")
	require.NoError(t, err)
	r.Fields["title"] = "changed"
	r.Attributes["k"] = "changed"
	again, ok := h.srv.Record(Incidents, r.ID)
	require.True(t, ok)
	assert.Equal(t, "t", again.Fields["title"])
	assert.Equal(t, []any{json.Number("1"), json.Number("2")}, again.Attributes["k"])
}

func TestTheContractCatchesAWrongResponse(t *testing.T) {
	h := newHarness(t)
	h.srv.Faults().Add(testserver.Fault{
		Method: http.MethodGet, Path: h.srv.BasePath() + "/incidents", Kind: testserver.FaultStatus, Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: `{"data":[],"has_more":false}`,
	})
	r := h.get("/incidents")
	require.Equal(t, http.StatusOK, r.status)
	vs := h.tr.Unexpected()
	require.Len(t, vs, 1, "a response without X-Request-Id, rate-limit headers and next_cursor breaks the contract")
	assert.Equal(t, "response", string(vs[0].Kind))
	h.tr.Reset() // the violation was the point of this test
}

func TestOptionsAreValidated(t *testing.T) {
	cases := []struct {
		name string
		opt  Option
	}{
		{"a nil clock", WithClock(nil)},
		{"a relative base path", WithBasePath("prod/api")},
		{"a zero rate limit", WithRateLimit(0, time.Minute)},
		{"a token without a subject", WithToken("t", "")},
		{"a nil ServiceNow client", WithServiceNowClient(nil)},
		{"a nil webhook client", WithWebhookClient(nil)},
		{"zero webhook attempts", WithWebhookRetry(0, time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opt)
			assert.Error(t, err)
		})
	}
	s, err := New(WithBasePath(""))
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, "", s.BasePath(), "the API may be served at the root")
}
