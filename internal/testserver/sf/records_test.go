package sf

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

func TestCreateAssignsServerFieldsAndNormalises(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("é", 300)
	inc := h.mustCreate("/incidents", map[string]any{
		"title":       "  Disk full on web01 \t",
		"description": "line one\r\nline two\rline three",
		"priority":    2,
		"category":    "  hardware  ",
		"assignee":    "",
		"resolved_at": "2026-11-28T18:04:05.123456+01:00",
		"source":      "servicenow",
		"external_id": " sys-1 ",
		"attributes":  map[string]any{"u_tier": "gold", "gone": nil},
	})
	assert.Regexp(t, `^inc_[0-9A-Z]{26}$`, inc["id"])
	assert.Equal(t, "SF-INC-1001", inc["number"])
	assert.Equal(t, "Disk full on web01", inc["title"], "title is trimmed")
	assert.Equal(t, "line one\nline two\nline three", inc["description"], "CRLF and CR become LF")
	assert.Equal(t, "hardware", inc["category"], "short text is trimmed")
	assert.Nil(t, inc["assignee"], "an empty string is stored as null")
	assert.Equal(t, "2026-11-28T17:04:05.123Z", inc["resolved_at"], "times are UTC with milliseconds")
	assert.Equal(t, " sys-1 ", inc["external_id"], "external_id is kept verbatim")
	assert.Equal(t, "new", inc["state"], "state defaults to new")
	assert.Equal(t, map[string]any{"u_tier": "gold"}, inc["attributes"], "null attributes are dropped")
	assert.EqualValues(t, 1, inc["version"])
	assert.Equal(t, "2026-11-28T17:04:05.123Z", inc["created_at"])
	assert.Equal(t, inc["created_at"], inc["updated_at"])
	assert.Equal(t, "sync-bot", inc["updated_by"], "updated_by is the token's subject")
	assert.Nil(t, inc["deleted_at"])

	truncated := h.mustCreate("/incidents", map[string]any{"title": long})
	assert.Equal(t, strings.Repeat("é", 255), truncated["title"], "titles are truncated to 255 characters")
	assert.Equal(t, "SF-INC-1002", truncated["number"], "numbers count up per module")
	assert.Greater(t, truncated["id"], inc["id"], "ids sort in creation order")

	ci := h.mustCreate("/cmdb/cis", map[string]any{"name": "web01"})
	assert.Regexp(t, `^ci_`, ci["id"])
	assert.NotContains(t, ci, "number", "CIs have no number")
	assert.Equal(t, "cmdb_ci", ci["class"])
	assert.Equal(t, "stackflow", ci["source"], "source defaults to stackflow")
}

func TestEveryModuleRoundTrips(t *testing.T) {
	h := newHarness(t)
	ci := h.mustCreate("/cmdb/cis", map[string]any{"name": "db01", "class": "cmdb_ci_linux_server", "operational_status": "operational", "install_status": "installed", "ip_address": "10.0.0.5"})
	ci2 := h.mustCreate("/cmdb/cis", map[string]any{"name": "app01"})
	cases := []struct {
		name, path, prefix string
		body               map[string]any
	}{
		{"an incident", "/incidents", "inc_", map[string]any{"title": "t", "impact": 1, "urgency": 3, "ci_id": ci["id"]}},
		{"a problem", "/problems", "prb_", map[string]any{"title": "t", "state": "root_cause_analysis", "known_error": true, "workaround": "reboot"}},
		{"a change", "/changes", "chg_", map[string]any{"title": "t", "type": "emergency", "risk": "high", "planned_start": "2026-12-01T10:00:00.000Z", "planned_end": "2026-12-01T11:00:00.000Z"}},
		{"a service request", "/service-requests", "req_", map[string]any{"title": "t", "approval": "approved", "due_date": "2026-12-24T00:00:00.000Z"}},
		{"a relationship", "/cmdb/relationships", "rel_", map[string]any{"parent_id": ci["id"], "child_id": ci2["id"], "type": "Depends on::Used by"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.mustCreate(tc.path, tc.body)
			assert.True(t, strings.HasPrefix(rec["id"].(string), tc.prefix))
			got := h.get(tc.path + "/" + rec["id"].(string))
			require.Equal(t, http.StatusOK, got.status)
			assert.Equal(t, rec, got.decode(t), "GET returns what POST returned")
			assert.Equal(t, `"1"`, got.header.Get("ETag"))
			for k, v := range tc.body {
				assert.EqualValues(t, v, rec[k], "field %s", k)
			}
		})
	}
}

func TestValidationNamesEveryBadField(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		path string
		body map[string]any
		want map[string]string
	}{
		{"bad incident fields", "/incidents", map[string]any{
			"title": "   ", "state": "open", "priority": 6, "impact": 0, "urgency": "high", "category": strings.Repeat("x", 256),
			"resolved_at": "yesterday", "ci_id": "ci_nope", "id": "inc_x", "version": 3, "colour": "red", "attributes": []any{1},
		}, map[string]string{
			"title": "must not be empty", "state": "must be one of new, in_progress, on_hold, resolved, closed, canceled",
			"priority": "must be 1..5", "impact": "must be 1..3", "urgency": "must be an integer",
			"category": "must be at most 255 characters", "resolved_at": "must be an RFC 3339 date-time, e.g. 2026-11-28T17:04:05.123Z",
			"ci_id": `no CI with id "ci_nope"`, "id": "read-only field", "version": "read-only field", "colour": "unknown field",
			"attributes": "must be an object",
		}},
		{"a problem with a non-boolean known_error", "/problems", map[string]any{"title": "t", "known_error": "yes", "source": "Service Now"},
			map[string]string{"known_error": "must be true or false", "source": "must match ^[a-z][a-z0-9_]{0,31}$"}},
		{"a change ending before it starts", "/changes", map[string]any{"title": "t", "planned_start": "2026-12-01T11:00:00Z", "planned_end": "2026-12-01T10:00:00Z"},
			map[string]string{"planned_end": "must not be before planned_start"}},
		{"a CI without a name", "/cmdb/cis", map[string]any{"class": "Linux Server", "operational_status": "up"},
			map[string]string{"name": "is required", "class": "must match ^[a-z][a-z0-9_]*$", "operational_status": "must be one of operational, non_operational, repair_in_progress, dr_standby, ready, retired"}},
		{"a relationship to unknown CIs", "/cmdb/relationships", map[string]any{"parent_id": "ci_a", "type": ""},
			map[string]string{"parent_id": `no CI with id "ci_a"`, "child_id": "is required", "type": "must not be empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(call{method: http.MethodPost, path: tc.path, body: tc.body, invalid: true})
			require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
			assert.Equal(t, CodeValidationFailed, r.errCode(t))
			assert.Equal(t, tc.want, r.details(t))
		})
	}
	n, err := h.srv.Count(Incidents, true)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing was created")
}

func TestMalformedBodiesAreBadRequests(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"malformed JSON", call{method: http.MethodPost, path: "/incidents", raw: `{"title": "x",`}, 400, CodeBadRequest},
		{"a JSON array body", call{method: http.MethodPost, path: "/incidents", raw: `[{"title": "x"}]`}, 400, CodeBadRequest},
		{"trailing data", call{method: http.MethodPost, path: "/incidents", raw: `{"title": "x"} {}`}, 400, CodeBadRequest},
		{"an XML content type", call{method: http.MethodPost, path: "/incidents", raw: `<title/>`, header: map[string]string{"Content-Type": "application/xml"}}, 400, CodeBadRequest},
		{"a wrong method", call{method: http.MethodPut, path: "/incidents", body: map[string]any{"title": "x"}}, 405, CodeMethodNotAllowed},
		{"an unknown path", call{method: http.MethodGet, path: "/tickets"}, 404, CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.invalid = true
			r := h.do(tc.c)
			assert.Equal(t, tc.status, r.status, "body: %s", r.body)
			assert.Equal(t, tc.code, r.errCode(t))
			assert.NotEmpty(t, r.header.Get("X-Request-Id"))
		})
	}
	assert.Equal(t, "GET, POST", h.do(call{method: http.MethodPut, path: "/incidents", body: map[string]any{}, invalid: true}).header.Get("Allow"))
}

func TestPatchUpdatesOnlyGivenFieldsAndBumpsVersion(t *testing.T) {
	h := newHarness(t)
	inc := h.mustCreate("/incidents", map[string]any{"title": "t", "priority": 3, "category": "net", "attributes": map[string]any{"a": 1, "b": 2}})
	id := inc["id"].(string)
	h.clock.Advance(1500 * time.Millisecond)

	r := h.do(call{method: http.MethodPatch, path: "/incidents/" + id, token: adminToken,
		body: map[string]any{"priority": 1, "category": nil, "attributes": map[string]any{"b": nil, "c": "x"}}})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	got := r.decode(t)
	assert.EqualValues(t, 1, got["priority"])
	assert.Nil(t, got["category"], "null clears a field")
	assert.Equal(t, "t", got["title"], "omitted fields are kept")
	assert.Equal(t, map[string]any{"a": float64(1), "c": "x"}, got["attributes"], "attributes are merged key by key")
	assert.EqualValues(t, 2, got["version"])
	assert.Equal(t, "2026-11-28T17:04:06.623Z", got["updated_at"])
	assert.Equal(t, "admin@example.com", got["updated_by"])
	assert.Equal(t, `"2"`, r.header.Get("ETag"))

	h.clock.Advance(time.Second)
	same := h.patch("/incidents/"+id, map[string]any{"priority": 1, "title": " t "})
	require.Equal(t, http.StatusOK, same.status)
	assert.EqualValues(t, 2, same.decode(t)["version"], "a PATCH that changes nothing does not bump version")
	assert.Equal(t, "2026-11-28T17:04:06.623Z", same.decode(t)["updated_at"])

	bad := h.do(call{method: http.MethodPatch, path: "/incidents/" + id, body: map[string]any{"title": nil, "state": nil}, invalid: true})
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	assert.Equal(t, map[string]string{"title": "is required and cannot be null", "state": "must be one of new, in_progress, on_hold, resolved, closed, canceled"}, bad.details(t))

	missing := h.patch("/incidents/inc_00000000000000000000000000", map[string]any{"priority": 1})
	assert.Equal(t, http.StatusNotFound, missing.status)
	assert.Equal(t, CodeNotFound, missing.errCode(t))
}

func TestIfMatch(t *testing.T) {
	h := newHarness(t)
	id := h.mustCreate("/problems", map[string]any{"title": "t"})["id"].(string)
	require.Equal(t, http.StatusOK, h.patch("/problems/"+id, map[string]any{"priority": 2}).status) // now version 2

	cases := []struct {
		name    string
		ifMatch string
		status  int
		code    string
	}{
		{"a stale version", "1", 409, CodeVersionConflict},
		{"a stale ETag", `"1"`, 409, CodeVersionConflict},
		{"a stale weak ETag", `W/"1"`, 409, CodeVersionConflict},
		{"a malformed header", `"2`, 400, CodeBadRequest},
		{"the current ETag", `"2"`, 200, ""},
		{"the current bare version", "3", 200, ""},
		{"a wildcard", "*", 200, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(call{method: http.MethodPatch, path: "/problems/" + id, body: map[string]any{"priority": 1 + i%5},
				header: map[string]string{"If-Match": tc.ifMatch}, invalid: tc.status == 400})
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			if tc.code != "" {
				assert.Equal(t, tc.code, r.errCode(t))
			}
		})
	}
	rec, ok := h.srv.Record(Problems, id)
	require.True(t, ok)
	assert.EqualValues(t, 5, rec.Version, "only the three matching PATCHes wrote")

	del := h.do(call{method: http.MethodDelete, path: "/problems/" + id, header: map[string]string{"If-Match": "4"}})
	assert.Equal(t, http.StatusConflict, del.status, "DELETE honours If-Match too")
}

func TestUniquenessPerModuleAndSource(t *testing.T) {
	h := newHarness(t)
	first := h.mustCreate("/incidents", map[string]any{"title": "a", "source": "servicenow", "external_id": "sys1"})

	dup := h.post("/incidents", map[string]any{"title": "b", "source": "servicenow", "external_id": "sys1"})
	require.Equal(t, http.StatusConflict, dup.status, "body: %s", dup.body)
	assert.Equal(t, CodeDuplicateExternalID, dup.errCode(t))
	assert.Contains(t, string(dup.body), first["id"].(string), "the error names the record holding the key")

	h.mustCreate("/incidents", map[string]any{"title": "c", "source": "stackflow", "external_id": "sys1"}) // other source
	h.mustCreate("/problems", map[string]any{"title": "d", "source": "servicenow", "external_id": "sys1"}) // other module
	other := h.mustCreate("/incidents", map[string]any{"title": "e", "source": "servicenow", "external_id": "sys2"})

	clash := h.patch("/incidents/"+other["id"].(string), map[string]any{"external_id": "sys1"})
	require.Equal(t, http.StatusConflict, clash.status)
	assert.Equal(t, CodeDuplicateExternalID, clash.errCode(t))

	require.Equal(t, http.StatusNoContent, h.do(call{method: http.MethodDelete, path: "/incidents/" + first["id"].(string)}).status)
	again := h.mustCreate("/incidents", map[string]any{"title": "f", "source": "servicenow", "external_id": "sys1"})
	assert.NotEqual(t, first["id"], again["id"], "deleting a record frees its key")
}

func TestSoftDeleteAndIncludeDeleted(t *testing.T) {
	h := newHarness(t)
	keep := h.mustCreate("/changes", map[string]any{"title": "keep"})
	gone := h.mustCreate("/changes", map[string]any{"title": "gone"})
	goneID := gone["id"].(string)
	h.clock.Advance(time.Minute)

	r := h.do(call{method: http.MethodDelete, path: "/changes/" + goneID})
	require.Equal(t, http.StatusNoContent, r.status)
	assert.Empty(t, r.body)
	assert.NotEmpty(t, r.header.Get("X-RateLimit-Remaining"))

	ids := func(path string) []any {
		var out []any
		for _, d := range h.get(path).decode(t)["data"].([]any) {
			out = append(out, d.(map[string]any)["id"])
		}
		return out
	}
	assert.Equal(t, []any{keep["id"]}, ids("/changes"), "deleted records are hidden")
	assert.Equal(t, []any{keep["id"], goneID}, ids("/changes?include_deleted=true"))

	one := h.get("/changes/" + goneID).decode(t)
	assert.Equal(t, "2026-11-28T17:05:05.123Z", one["deleted_at"], "GET still returns a deleted record")
	assert.EqualValues(t, 2, one["version"], "a delete is a write")

	again := h.do(call{method: http.MethodDelete, path: "/changes/" + goneID})
	assert.Equal(t, http.StatusNoContent, again.status, "deleting twice is a no-op")
	rec, _ := h.srv.Record(Changes, goneID)
	assert.EqualValues(t, 2, rec.Version)

	p := h.patch("/changes/"+goneID, map[string]any{"title": "back"})
	assert.Equal(t, http.StatusNotFound, p.status, "a deleted record cannot be updated")
}

func TestIdempotentCreateUnderRetry(t *testing.T) {
	h := newHarness(t)
	body := map[string]any{"title": "from retry", "source": "servicenow", "external_id": "sys-r"}
	// The first attempt is written but its answer is lost.
	h.srv.Faults().Add(testserver.Fault{Method: http.MethodPost, Path: h.srv.BasePath() + "/incidents", Kind: testserver.FaultResetAfterWrite})
	err := h.doErr(call{method: http.MethodPost, path: "/incidents", body: body, header: map[string]string{"Idempotency-Key": "key-1"}})
	require.Error(t, err, "the connection was dropped after the write")
	n, err := h.srv.Count(Incidents, false)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the lost attempt did write")

	retry := h.do(call{method: http.MethodPost, path: "/incidents", header: map[string]string{"Idempotency-Key": "key-1"},
		raw: "{\n  \"external_id\": \"sys-r\", \"source\": \"servicenow\", \"title\": \"from retry\"\n}"})
	require.Equal(t, http.StatusCreated, retry.status, "body: %s", retry.body)
	assert.Equal(t, "true", retry.header.Get("Idempotent-Replayed"))

	again := h.do(call{method: http.MethodPost, path: "/incidents", body: body, header: map[string]string{"Idempotency-Key": "key-1"}})
	assert.Equal(t, retry.body, again.body, "every replay returns the same body")

	recs, err := h.srv.Records(Incidents)
	require.NoError(t, err)
	require.Len(t, recs, 1, "one record, not two")
	assert.Equal(t, recs[0].ID, retry.decode(t)["id"])

	reused := h.do(call{method: http.MethodPost, path: "/incidents", body: map[string]any{"title": "other"}, header: map[string]string{"Idempotency-Key": "key-1"}})
	require.Equal(t, http.StatusUnprocessableEntity, reused.status)
	assert.Equal(t, CodeIdempotencyKeyReused, reused.errCode(t))

	otherUser := h.do(call{method: http.MethodPost, path: "/incidents", token: adminToken, body: map[string]any{"title": "x"}, header: map[string]string{"Idempotency-Key": "key-1"}})
	assert.Equal(t, http.StatusCreated, otherUser.status, "keys are scoped to the token's subject")

	h.clock.Advance(25 * time.Hour)
	expired := h.do(call{method: http.MethodPost, path: "/incidents", body: map[string]any{"title": "later"}, header: map[string]string{"Idempotency-Key": "key-1"}})
	assert.Equal(t, http.StatusCreated, expired.status, "keys expire after 24 hours")
	assert.Empty(t, expired.header.Get("Idempotent-Replayed"))

	badKey := h.do(call{method: http.MethodPost, path: "/incidents", body: body, header: map[string]string{"Idempotency-Key": "has space"}, invalid: true})
	assert.Equal(t, http.StatusBadRequest, badKey.status)
}

func TestBulkUpsertMixedResults(t *testing.T) {
	h := newHarness(t)
	existing := h.mustCreate("/cmdb/cis", map[string]any{"name": "web01", "source": "servicenow", "external_id": "s1", "ip_address": "10.0.0.1"})
	same := h.mustCreate("/cmdb/cis", map[string]any{"name": "web02", "source": "servicenow", "external_id": "s2"})
	h.clock.Advance(time.Second)

	r := h.do(call{method: http.MethodPost, path: "/cmdb/cis/bulk-upsert", invalid: true, body: map[string]any{"records": []any{
		map[string]any{"source": "servicenow", "external_id": "s1", "ip_address": "10.0.0.9"},              // updated
		map[string]any{"source": "servicenow", "external_id": "s2", "name": "  web02 "},                    // unchanged
		map[string]any{"source": "servicenow", "external_id": "s3", "name": "db01", "class": "cmdb_ci_db"}, // created
		map[string]any{"source": "servicenow", "external_id": "s4", "install_status": "lost"},              // error
		map[string]any{"source": "servicenow", "name": "no key"},                                           // error
		"not an object", // error
	}}})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	results := r.decode(t)["results"].([]any)
	require.Len(t, results, 6)
	status := func(i int) string { return results[i].(map[string]any)["status"].(string) }
	res := func(i int) map[string]any { return results[i].(map[string]any) }
	assert.Equal(t, []string{"updated", "unchanged", "created", "error", "error", "error"},
		[]string{status(0), status(1), status(2), status(3), status(4), status(5)})
	for i := range results {
		assert.EqualValues(t, i, res(i)["index"], "results are in request order")
	}
	assert.Equal(t, existing["id"], res(0)["id"])
	assert.EqualValues(t, 2, res(0)["record"].(map[string]any)["version"])
	assert.Equal(t, "10.0.0.9", res(0)["record"].(map[string]any)["ip_address"])
	assert.Equal(t, same["id"], res(1)["id"])
	assert.EqualValues(t, 1, res(1)["record"].(map[string]any)["version"], "unchanged does not bump version")
	assert.Equal(t, "cmdb_ci_db", res(2)["record"].(map[string]any)["class"])
	assert.Nil(t, res(3)["record"])
	e3 := res(3)["error"].(map[string]any)
	assert.Equal(t, CodeValidationFailed, e3["code"])
	assert.Equal(t, []any{
		map[string]any{"field": "install_status", "message": "must be one of installed, on_order, in_maintenance, pending_install, pending_repair, in_stock, retired, stolen, absent"},
		map[string]any{"field": "name", "message": "is required"},
	}, e3["details"])
	assert.Equal(t, []any{map[string]any{"field": "external_id", "message": "is required in a bulk upsert"}}, res(4)["error"].(map[string]any)["details"])
	assert.Nil(t, res(0)["error"])

	n, err := h.srv.Count(CMDBCIs, false)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the valid records applied, the invalid ones did not")

	tooMany := make([]any, 501)
	for i := range tooMany {
		tooMany[i] = map[string]any{"source": "servicenow", "external_id": fmt.Sprint("k", i), "name": "n"}
	}
	big := h.do(call{method: http.MethodPost, path: "/cmdb/cis/bulk-upsert", body: map[string]any{"records": tooMany}, invalid: true})
	require.Equal(t, http.StatusUnprocessableEntity, big.status)
	assert.Equal(t, map[string]string{"records": "must hold at most 500 records (got 501)"}, big.details(t))
	n, _ = h.srv.Count(CMDBCIs, false)
	assert.Equal(t, 3, n, "nothing of an oversized batch applies")
}

func TestRolesGuardWrites(t *testing.T) {
	h := newHarness(t)
	id := h.mustCreate("/incidents", map[string]any{"title": "t"})["id"].(string)
	cases := []struct {
		name   string
		c      call
		status int
	}{
		{"a viewer reads", call{method: http.MethodGet, path: "/incidents/" + id, token: viewerToken}, 200},
		{"a viewer cannot create", call{method: http.MethodPost, path: "/incidents", token: viewerToken, body: map[string]any{"title": "x"}}, 403},
		{"a viewer cannot bulk upsert", call{method: http.MethodPost, path: "/incidents/bulk-upsert", token: viewerToken, body: map[string]any{"records": []any{}}}, 403},
		{"a viewer cannot delete", call{method: http.MethodDelete, path: "/incidents/" + id, token: viewerToken}, 403},
		{"an agent cannot read the Integration Hub", call{method: http.MethodGet, path: "/integrations/servicenow", token: agentToken}, 403},
		{"a super_admin writes", call{method: http.MethodPatch, path: "/incidents/" + id, token: adminToken, body: map[string]any{"priority": 2}}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.c)
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			if tc.status == 403 {
				assert.Equal(t, CodeForbidden, r.errCode(t))
			}
		})
	}
}

func TestBulkUpsertReplaysWithIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	body := map[string]any{"records": []any{map[string]any{"source": "servicenow", "external_id": "k1", "title": "t"}}}
	key := map[string]string{"Idempotency-Key": "batch-7"}
	first := h.do(call{method: http.MethodPost, path: "/incidents/bulk-upsert", body: body, header: key})
	require.Equal(t, http.StatusOK, first.status)
	assert.Empty(t, first.header.Get("Idempotent-Replayed"))
	h.clock.Advance(time.Second)
	again := h.do(call{method: http.MethodPost, path: "/incidents/bulk-upsert", body: body, header: key})
	require.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.body, again.body, "the first results, created included, come back")
	fresh := h.post("/incidents/bulk-upsert", body)
	assert.Contains(t, string(fresh.body), `"status":"unchanged"`, "without the key the batch is applied again")
}
