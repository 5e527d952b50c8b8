package stackflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListSendsTheFiltersAndReadsThePage(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, http.StatusOK, `{"data":[`+incidentJSON+`],"next_cursor":"c2","has_more":true}`)
	})
	since := time.Date(2026, 11, 28, 18, 4, 5, 123456789, time.FixedZone("CET", 3600))
	incs, resp, err := c.Incidents.List(ctxT(t), &ListOptions{
		Source: "servicenow", ExternalIDs: []string{"a,b", "c"}, UpdatedSince: since,
		IncludeDeleted: true, Limit: 50, Cursor: "c1",
	})
	require.NoError(t, err)
	req, _ := rec.get(0)
	assert.Equal(t, "cursor=c1&external_id=a%2Cb&external_id=c&include_deleted=true&limit=50&source=servicenow&updated_since=2026-11-28T17%3A04%3A05.123Z",
		req.URL.RawQuery, "external_id repeats, commas stay in values, the time is UTC with milliseconds")
	require.Len(t, incs, 1)
	assert.Equal(t, "c2", resp.NextCursor)
	assert.True(t, resp.HasMore)

	inc := incs[0]
	assert.Equal(t, "inc_01JD0001", inc.ID)
	assert.Equal(t, "SF-INC-1001", inc.Number)
	assert.Equal(t, "46d44a5f2f2a3010b8b6f7d6f699b6a6", inc.ExternalID)
	assert.Equal(t, IncidentStateInProgress, inc.State)
	assert.Equal(t, 2, inc.Priority)
	assert.Equal(t, LevelHigh, inc.Impact)
	assert.Equal(t, "", inc.Subcategory, "null is the zero value")
	assert.Nil(t, inc.ResolvedAt)
	assert.False(t, inc.IsDeleted())
	assert.EqualValues(t, 4, inc.Version)
	assert.Equal(t, time.Date(2026, 11, 28, 17, 4, 5, 123e6, time.UTC), inc.CreatedAt.UTC())
	assert.Equal(t, map[string]any{"sn_sys_class": "incident", "reopen_count": json.Number("3")}, inc.Attributes)
}

func TestTheGuidesLookupIsOneCall(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, http.StatusOK, `{"data":[],"next_cursor":null,"has_more":false}`)
	})
	incs, resp, err := c.Incidents.List(ctxT(t), &ListOptions{Source: "servicenow", ExternalIDs: []string{"SN_SYS_ID"}})
	require.NoError(t, err)
	assert.Empty(t, incs)
	assert.False(t, resp.HasMore)
	req, _ := rec.get(0)
	assert.Equal(t, "/prod/api/incidents?external_id=SN_SYS_ID&source=servicenow", req.RequestURI)
}

func TestListFailsOnABadCursor(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /changes", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, "bad_request", "the cursor does not match the filters")
	})
	_, resp, err := c.Changes.List(ctxT(t), &ListOptions{Cursor: "zzz"})
	require.ErrorIs(t, err, ErrBadRequest)
	require.NotNil(t, resp, "the response comes with the error")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestListOptionsAreCheckedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint("sys", i)
	}
	cases := []struct {
		name  string
		opts  ListOptions
		field string
	}{
		{"more than 100 external ids", ListOptions{ExternalIDs: many}, "ExternalIDs"},
		{"an empty external id", ListOptions{ExternalIDs: []string{"a", ""}}, "ExternalIDs[1]"},
		{"a limit above 1000", ListOptions{Limit: 1001}, "Limit"},
		{"a negative limit", ListOptions{Limit: -1}, "Limit"},
		{"a source with capitals", ListOptions{Source: "ServiceNow"}, "Source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.Incidents.List(ctxT(t), &tc.opts)
			var in *InvalidInputError
			require.ErrorAs(t, err, &in)
			assert.Equal(t, tc.field, in.Field)
		})
	}
	assert.Zero(t, calls.Load(), "nothing was sent")
}

func TestGetDecodesEveryModule(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /cmdb/relationships/rel_1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"id":"rel_1","source":"servicenow","external_id":"e1","external_number":null,"parent_id":"ci_1",
			"child_id":"ci_2","type":"Depends on::Used by","attributes":{},"version":1,"created_at":"2026-11-28T17:04:05.000Z",
			"updated_at":"2026-11-28T17:04:05.000Z","updated_by":"sync","deleted_at":"2026-11-29T08:00:00.000Z"}`)
	})
	mux.HandleFunc("GET /service-requests/req_1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"id":"req_1","number":"SF-REQ-1","source":"stackflow","external_id":null,"external_number":null,
			"title":"New laptop","description":null,"state":"work_in_progress","approval":"approved","requested_for":"jane",
			"priority":3,"due_date":"2026-12-01T09:00:00.000Z","attributes":{},"version":2,"created_at":"2026-11-28T17:04:05.000Z",
			"updated_at":"2026-11-28T17:04:05.000Z","updated_by":"jane","deleted_at":null}`)
	})
	rel, _, err := c.Relationships.Get(ctxT(t), "rel_1")
	require.NoError(t, err)
	assert.Equal(t, "ci_1", rel.ParentID)
	assert.Equal(t, "Depends on::Used by", rel.Type)
	assert.True(t, rel.IsDeleted())
	req, _, err := c.ServiceRequests.Get(ctxT(t), "req_1")
	require.NoError(t, err)
	assert.Equal(t, ApprovalApproved, req.Approval)
	assert.Equal(t, ServiceRequestStateWorkInProgress, req.State)
	require.NotNil(t, req.DueDate)
	assert.Equal(t, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), req.DueDate.UTC())
}

func TestGetFailsOnAnUnknownRecord(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /incidents/inc_404", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no incident inc_404")
	})
	inc, _, err := c.Incidents.Get(ctxT(t), "inc_404")
	require.ErrorIs(t, err, ErrNotFound)
	assert.Nil(t, inc)
}

func TestIDsAreCheckedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	for _, id := range []string{"", "inc/../../admin", "inc 1", "inc?x=1", strings.Repeat("x", 65)} {
		_, _, err := c.Incidents.Get(ctxT(t), id)
		var in *InvalidInputError
		require.ErrorAs(t, err, &in, "id %q", id)
		assert.Equal(t, "id", in.Field)
		_, err = c.Incidents.Delete(ctxT(t), id)
		require.ErrorAs(t, err, &in)
		_, _, err = c.Incidents.Update(ctxT(t), id, IncidentInput{}, nil)
		require.ErrorAs(t, err, &in)
	}
	_, _, err := c.Integrations.ServiceNow.Job(ctxT(t), "")
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
	assert.Zero(t, calls.Load())
}

func TestCreateSendsTheBodyAndAnIdempotencyKey(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("POST /incidents", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		w.Header().Set("ETag", `"1"`)
		writeJSON(w, http.StatusCreated, incidentJSON)
	})
	resolved := time.Date(2026, 11, 28, 18, 0, 0, 123456789, time.FixedZone("CET", 3600))
	inc, resp, err := c.Incidents.Create(ctxT(t), IncidentInput{
		Source: Ptr("servicenow"), ExternalID: Ptr("46d44a5f"), Title: Ptr("Disk full"),
		State: Ptr(IncidentStateResolved), Priority: Ptr(2), Impact: Ptr(LevelLow), ResolvedAt: &resolved,
		Attributes: map[string]any{"sn_sys_class": "incident"},
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, "inc_01JD0001", inc.ID)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	req, body := rec.get(0)
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"source":"servicenow","external_id":"46d44a5f","title":"Disk full","state":"resolved","priority":2,
		"impact":3,"resolved_at":"2026-11-28T17:00:00.123Z","attributes":{"sn_sys_class":"incident"}}`, body)
	assert.Regexp(t, `^[0-9a-f]{32}$`, req.Header.Get("Idempotency-Key"), "a random 128-bit key")
	assert.Equal(t, 18, resolved.Hour(), "the caller's value is not changed")

	_, _, err = c.Incidents.Create(ctxT(t), IncidentInput{Title: Ptr("again")}, nil)
	require.NoError(t, err)
	req2, _ := rec.get(1)
	assert.NotEqual(t, req.Header.Get("Idempotency-Key"), req2.Header.Get("Idempotency-Key"), "each call has its own key")

	_, _, err = c.Incidents.Create(ctxT(t), IncidentInput{Title: Ptr("mine")}, &CreateOptions{IdempotencyKey: "import-46d44a5f-run-7"})
	require.NoError(t, err)
	req3, _ := rec.get(2)
	assert.Equal(t, "import-46d44a5f-run-7", req3.Header.Get("Idempotency-Key"))
}

func TestCreateRefusesABadKeyAndReportsAConflict(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("POST /cmdb/cis", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeError(w, http.StatusConflict, "duplicate_external_id", "a live CI already has source servicenow and external_id e1")
	})
	_, _, err := c.CIs.Create(ctxT(t), CIInput{Name: Ptr("web01")}, &CreateOptions{IdempotencyKey: "has space"})
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
	assert.Equal(t, "IdempotencyKey", in.Field)
	assert.Zero(t, calls.Load())

	_, _, err = c.CIs.Create(ctxT(t), CIInput{Name: Ptr("web01"), Source: Ptr("servicenow"), ExternalID: Ptr("e1")}, nil)
	require.ErrorIs(t, err, ErrDuplicateExternalID)
	assert.EqualValues(t, 1, calls.Load(), "a 409 is not retried")
}

func TestUpdateSendsOnlyTheChangesAndIfMatch(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("PATCH /problems/prb_1", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.Header.Get("If-Match") == `"3"` {
			writeError(w, http.StatusConflict, "version_conflict", "the record is at version 4")
			return
		}
		writeJSON(w, http.StatusOK, strings.Replace(strings.Replace(incidentJSON, "inc_01JD0001", "prb_1", 1), "SF-INC", "SF-PRB", 1))
	})
	prb, _, err := c.Problems.Update(ctxT(t), "prb_1", ProblemInput{KnownError: Ptr(false), Workaround: Ptr("reboot"),
		Clear: []string{"assignee", "priority"}}, &UpdateOptions{IfVersion: 4})
	require.NoError(t, err)
	assert.Equal(t, "prb_1", prb.ID)
	req, body := rec.get(0)
	assert.Equal(t, `"4"`, req.Header.Get("If-Match"))
	assert.JSONEq(t, `{"known_error":false,"workaround":"reboot","assignee":null,"priority":null}`, body,
		"a false bool is sent (it is set), cleared fields are null, nothing else")

	_, _, err = c.Problems.Update(ctxT(t), "prb_1", ProblemInput{Title: Ptr("t")}, &UpdateOptions{IfVersion: 3})
	require.ErrorIs(t, err, ErrVersionConflict)
	assert.Contains(t, err.Error(), "get it again")

	_, _, err = c.Problems.Update(ctxT(t), "prb_1", ProblemInput{}, nil)
	require.NoError(t, err)
	req, body = rec.get(2)
	assert.Empty(t, req.Header.Get("If-Match"))
	assert.Equal(t, `{}`, body)
}

func TestClearIsChecked(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	cases := []struct {
		name string
		in   ChangeInput
		want string
	}{
		{"a field both set and cleared", ChangeInput{Risk: Ptr(ChangeRiskHigh), Clear: []string{"risk"}}, "both set and cleared"},
		{"an unknown field", ChangeInput{Clear: []string{"riks"}}, `"riks" is not a field of ChangeInput`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.Changes.Update(ctxT(t), "chg_1", tc.in, nil)
			var in *InvalidInputError
			require.ErrorAs(t, err, &in)
			assert.Contains(t, in.Error(), tc.want)
		})
	}
	_, _, err := c.Changes.Update(ctxT(t), "chg_1", ChangeInput{}, &UpdateOptions{IfVersion: -1})
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
	assert.Equal(t, "IfVersion", in.Field)
}

func TestDeleteIsASoftDelete(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("DELETE /cmdb/cis/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.PathValue("id") != "ci_1" {
			writeError(w, http.StatusNotFound, "not_found", "no such CI")
			return
		}
		stdHeaders(w)
		w.WriteHeader(http.StatusNoContent)
	})
	resp, err := c.CIs.Delete(ctxT(t), "ci_1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, err = c.CIs.Delete(ctxT(t), "ci_2")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestRecordsServesEveryModule(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, http.StatusOK, `{"id":"x_1","version":3,"updated_at":"2026-11-28T17:04:05.123Z","attributes":{"n":12345678901234567890}}`)
	})
	want := map[Module]string{
		ModuleIncidents: "/prod/api/incidents/x_1", ModuleProblems: "/prod/api/problems/x_1",
		ModuleChanges: "/prod/api/changes/x_1", ModuleServiceRequests: "/prod/api/service-requests/x_1",
		ModuleCIs: "/prod/api/cmdb/cis/x_1", ModuleRelationships: "/prod/api/cmdb/relationships/x_1",
	}
	for i, m := range Modules() {
		r, _, err := c.Records(m).Get(ctxT(t), "x_1")
		require.NoError(t, err)
		assert.Equal(t, "x_1", r.ID())
		req, _ := rec.get(i)
		assert.Equal(t, want[m], req.RequestURI)
		assert.Equal(t, m, c.Records(m).Module())
	}
	r, _, err := c.Records(ModuleCIs).Get(ctxT(t), "x_1")
	require.NoError(t, err)
	assert.Equal(t, json.Number("12345678901234567890"), r.Attributes()["n"], "big numbers stay exact")

	_, _, err = c.Records("tickets").Get(ctxT(t), "x_1")
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
	assert.Equal(t, "module", in.Field)
	assert.Equal(t, 7, rec.count(), "an unknown module sends nothing")
}

func TestRecordsSendsFieldsAsTheyAre(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("PATCH /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, http.StatusOK, incidentJSON)
	})
	closed := time.Date(2026, 11, 28, 18, 0, 0, 5e6, time.FixedZone("CET", 3600))
	patch := map[string]any{"priority": nil, "title": "x", "attributes": map[string]any{"old": nil}, "closed_at": closed, "resolved_at": &closed}
	r, _, err := c.Records(ModuleIncidents).Update(ctxT(t), "inc_1", patch, nil)
	require.NoError(t, err)
	assert.Equal(t, "inc_01JD0001", r.ID())
	_, body := rec.get(0)
	assert.JSONEq(t, `{"priority":null,"title":"x","attributes":{"old":null},"closed_at":"2026-11-28T17:00:00.005Z",
		"resolved_at":"2026-11-28T17:00:00.005Z"}`, body, "times go in UTC with milliseconds")
	assert.Equal(t, closed, patch["closed_at"], "the caller's map is not changed")

	_, _, err = c.Records(ModuleIncidents).Update(ctxT(t), "inc_1", nil, nil)
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
	_, _, err = c.Records(ModuleIncidents).Update(ctxT(t), "inc_1", Fields{"x": func() {}}, nil)
	require.ErrorAs(t, err, &in)
	assert.Equal(t, 1, rec.count())
}

func TestRecordAccessors(t *testing.T) {
	t.Parallel()
	var r Record
	require.NoError(t, decodeJSON(strings.NewReader(incidentJSON), &r))
	assert.Equal(t, "inc_01JD0001", r.ID())
	assert.Equal(t, "SF-INC-1001", r.Number())
	assert.Equal(t, "servicenow", r.Source())
	assert.Equal(t, "46d44a5f2f2a3010b8b6f7d6f699b6a6", r.ExternalID())
	assert.Equal(t, "INC0010001", r.ExternalNumber())
	assert.EqualValues(t, 4, r.Version())
	assert.Equal(t, time.Date(2026, 11, 28, 18, 0, 0, 456e6, time.UTC), r.UpdatedAt())
	assert.Equal(t, time.Date(2026, 11, 28, 17, 4, 5, 123e6, time.UTC), r.CreatedAt())
	assert.Equal(t, "sync-bot", r.UpdatedBy())
	assert.Nil(t, r.DeletedAt())
	assert.False(t, r.IsDeleted())
	assert.Equal(t, "2", r.String("priority"))
	assert.Equal(t, "", r.String("subcategory"), "null reads as empty")
	assert.Equal(t, "", r.String("nope"))
	assert.Equal(t, `{"reopen_count":3,"sn_sys_class":"incident"}`, r.String("attributes"))
	n, ok := r.Int("priority")
	assert.True(t, ok)
	assert.EqualValues(t, 2, n)
	_, ok = r.Int("title")
	assert.False(t, ok)
	_, ok = r.Bool("priority")
	assert.False(t, ok)
	_, ok = r.Time("title")
	assert.False(t, ok)
	v, ok := r.Get("subcategory")
	assert.True(t, ok, "a null field is present")
	assert.Nil(t, v)
	assert.Equal(t, json.Number("3"), r.Attributes()["reopen_count"])

	var inc Incident
	require.NoError(t, r.Decode(&inc))
	assert.Equal(t, "Disk full on web01", inc.Title)
	assert.Equal(t, LevelMedium, inc.Urgency)

	r2 := Record{"deleted_at": "2026-11-29T08:00:00.000Z", "known_error": true, "n": 3.0}
	assert.True(t, r2.IsDeleted())
	b, ok := r2.Bool("known_error")
	assert.True(t, ok && b)
	n, ok = r2.Int("n")
	assert.True(t, ok)
	assert.EqualValues(t, 3, n)
	assert.Equal(t, "true", r2.String("known_error"))
}

func TestModules(t *testing.T) {
	t.Parallel()
	assert.Len(t, Modules(), 6)
	assert.Equal(t, "/service-requests", ModuleServiceRequests.Path())
	assert.Equal(t, "cmdb_ci", ModuleCIs.Singular())
	assert.Equal(t, []string{"source", "external_id", "external_number", "parent_id", "child_id", "type"}, ModuleRelationships.WritableFields())
	assert.False(t, Module("nope").Valid())
	assert.Empty(t, Module("nope").Path())
	assert.Nil(t, Module("nope").WritableFields())
	assert.True(t, errors.Is(&Error{StatusCode: 404}, ErrNotFound))
}
