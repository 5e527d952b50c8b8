package servicenow

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListSendsTheOptions(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		assert.Equal(t, http.MethodGet, r.Method)
		w.Header().Set("X-Total-Count", "67")
		w.Header().Set("Link", `<https://x/api/now/v2/table/incident?sysparm_limit=2&sysparm_offset=0>;rel="first",<https://x/api/now/v2/table/incident?sysparm_limit=2&sysparm_offset=2>;rel="prev",<https://x/api/now/v2/table/incident?sysparm_limit=2&sysparm_offset=6>;rel="next",<https://x/api/now/v2/table/incident?sysparm_limit=2&sysparm_offset=66>;rel="last"`)
		w.Header().Set("X-Transaction-ID", "7d9414489707")
		writeJSON(w, 200, string(testdata(t, "incident_list_raw.json")))
	})
	incs, resp, err := c.Incidents().List(ctx(t), &ListOptions{
		Query: "active=true^ORDERBYnumber", Fields: []string{"number", "caller_id.email", "sys_id"},
		Limit: 2, Offset: 4, DisplayValue: DisplayRaw, ExcludeReferenceLink: true, NoCount: true,
		SuppressPaginationHeader: true, View: "desktop", QueryNoDomain: true,
	})
	require.NoError(t, err)
	require.Len(t, incs, 2)
	assert.Equal(t, "INC0010042", incs[0].Number)
	q := rec.reqs[0].URL.Query()
	assert.Equal(t, url.Values{
		"sysparm_query": {"active=true^ORDERBYnumber"}, "sysparm_fields": {"number,caller_id.email,sys_id"},
		"sysparm_limit": {"2"}, "sysparm_offset": {"4"}, "sysparm_display_value": {"false"},
		"sysparm_exclude_reference_link": {"true"}, "sysparm_no_count": {"true"},
		"sysparm_suppress_pagination_header": {"true"}, "sysparm_view": {"desktop"}, "sysparm_query_no_domain": {"true"},
	}, q)
	assert.Equal(t, 67, resp.TotalCount)
	assert.Equal(t, 6, resp.NextOffset)
	assert.Equal(t, 2, resp.PrevOffset)
	assert.True(t, resp.HasPrev)
	assert.Equal(t, 0, resp.FirstOffset)
	assert.Equal(t, 66, resp.LastOffset)
	assert.Equal(t, "7d9414489707", resp.TransactionID)
	assert.Equal(t, 2, resp.Returned)
	assert.Equal(t, 0, resp.Hidden)
}

func TestListRejectsBadInputBeforeIO(t *testing.T) {
	t.Parallel()
	c, _ := setup(t) // any request would fail the test: nothing is mounted
	cases := []struct {
		name  string
		table string
		opts  ListOptions
		want  string
	}{
		{"an empty table name", "", ListOptions{}, "table name is empty"},
		{"a table name with a slash", "incident/x", ListOptions{}, "not a table name"},
		{"a negative limit", "incident", ListOptions{Limit: -1}, "Limit"},
		{"a negative offset", "incident", ListOptions{Offset: -5}, "Offset"},
		{"a field with a comma", "incident", ListOptions{Fields: []string{"a,b"}}, "not a field name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.Table(tc.table).List(ctx(t), &tc.opts)
			var ie *InvalidInputError
			require.ErrorAs(t, err, &ie)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	bad := NewQuery().Equals("short_description", "a^b")
	for _, q := range []string{"active=true\nstate=1", bad.String()} {
		_, _, err := c.Table("incident").List(ctx(t), &ListOptions{Query: q})
		var qe *QueryError
		require.ErrorAs(t, err, &qe, q)
	}
	_, _, err := c.Table("incident").List(ctx(t), &ListOptions{Query: bad.String()})
	require.ErrorContains(t, err, "short_description")
	_, _, err = c.Table("incident").Get(ctx(t), "", nil)
	require.ErrorContains(t, err, "sys_id is empty")
	_, _, err = c.Table("incident").Get(ctx(t), "../sys_user/x", nil)
	require.ErrorContains(t, err, "not a sys_id")
	_, _, err = c.Table("incident").Create(ctx(t), nil, nil)
	require.ErrorContains(t, err, "body is nil")
	_, err = c.Table("incident").Delete(ctx(t), "a b")
	require.ErrorContains(t, err, "not a sys_id")
}

func TestGetCreateUpdateReplaceDelete(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	const id = "57af7aec73d423002728660c4cf6a71c"
	mux.HandleFunc("/api/now/v2/table/incident/"+id, func(w http.ResponseWriter, r *http.Request) {
		body := rec.add(r)
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, `{"result":{"sys_id":"`+id+`","number":"INC0010042","state":"2"}}`)
		case http.MethodPatch, http.MethodPut:
			assert.JSONEq(t, `{"state":"6","close_code":"Solution provided","close_notes":"done"}`, body)
			writeJSON(w, 200, `{"result":{"sys_id":"`+id+`","number":"INC0010042","state":"6","sys_mod_count":"5"}}`)
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			t.Errorf("unexpected %s", r.Method)
		}
	})
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		body := rec.add(r)
		assert.Equal(t, http.MethodPost, r.Method)
		assert.JSONEq(t, `{"short_description":"Disk full","impact":"2","urgency":"1"}`, body)
		w.Header().Set("Location", "https://x/api/now/v2/table/incident/"+id)
		writeJSON(w, 201, `{"result":{"sys_id":"`+id+`","number":"INC0010042","priority":"2","sys_mod_count":"0"}}`)
	})

	inc, _, err := c.Incidents().Get(ctx(t), id, &GetOptions{Fields: []string{"sys_id", "number", "state"}})
	require.NoError(t, err)
	assert.Equal(t, "2", inc.State)
	assert.Equal(t, "sys_id,number,state", rec.reqs[0].URL.Query().Get("sysparm_fields"))

	created, resp, err := c.Incidents().Create(ctx(t), Fields{"short_description": "Disk full", "impact": "2", "urgency": "1"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 201, resp.StatusCode)
	assert.Equal(t, "2", created.Priority, "the instance computes priority")
	assert.Equal(t, "https://x/api/now/v2/table/incident/"+id, resp.Header.Get("Location"))

	upd := Fields{"state": "6", "close_code": "Solution provided", "close_notes": "done"}
	updated, _, err := c.Incidents().Update(ctx(t), id, upd, nil)
	require.NoError(t, err)
	assert.Equal(t, Int(5), updated.SysModCount)
	_, _, err = c.Incidents().Replace(ctx(t), id, upd, nil)
	require.NoError(t, err)
	resp, err = c.Incidents().Delete(ctx(t), id)
	require.NoError(t, err)
	assert.Equal(t, 204, resp.StatusCode)

	methods := []string{}
	for _, r := range rec.reqs {
		methods = append(methods, r.Method)
	}
	assert.Equal(t, []string{"GET", "POST", "PATCH", "PUT", "DELETE"}, methods)
}

func TestDisplayValueShapes(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	const id = "57af7aec73d423002728660c4cf6a71c"
	mux.HandleFunc("/api/now/v2/table/incident/"+id, func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		switch r.URL.Query().Get("sysparm_display_value") {
		case "true":
			writeJSON(w, 200, string(testdata(t, "incident_patch_display_true.json")))
		case "all":
			writeJSON(w, 200, string(testdata(t, "incident_get_display_all.json")))
		default:
			writeJSON(w, 200, `{"result":{"sys_id":"`+id+`","state":"6"}}`)
		}
	})

	raw, _, err := c.Table("incident").Get(ctx(t), id, &GetOptions{DisplayValue: DisplayText})
	require.NoError(t, err)
	assert.Equal(t, "true", rec.reqs[0].URL.Query().Get("sysparm_display_value"), "raw tables send what was asked")
	assert.Equal(t, "Resolved", raw.Display("state"))
	assert.Equal(t, "", raw.Get("state"), "display=true sends no raw values")
	assert.Equal(t, "Fred Luddy", raw.Display("caller_id"))
	assert.Contains(t, raw.Ref("caller_id").Link, "5137153cc611227c000bbd1bd8cd2005")
	assert.Equal(t, "145,302", raw.Display("calendar_stc"))

	typed, _, err := c.Incidents().Get(ctx(t), id, &GetOptions{DisplayValue: DisplayText})
	require.NoError(t, err)
	assert.Equal(t, "all", rec.reqs[1].URL.Query().Get("sysparm_display_value"), "typed tables need raw values too")
	assert.Equal(t, "6", typed.State)
	assert.Equal(t, "Resolved", typed.Display("state"))
	assert.Equal(t, "Fred Luddy", typed.CallerID.DisplayValue)

	all, _, err := c.Table("incident").Get(ctx(t), id, &GetOptions{DisplayValue: DisplayBoth})
	require.NoError(t, err)
	assert.Equal(t, "6", all.Get("state"))
	assert.Equal(t, "Resolved", all.Display("state"))
	assert.Equal(t, "5137153cc611227c000bbd1bd8cd2005", all.Ref("caller_id").Value)
	assert.Equal(t, "Fred Luddy", all.Ref("caller_id").DisplayValue)

	plain, _, err := c.Incidents().Get(ctx(t), id, nil)
	require.NoError(t, err)
	assert.Nil(t, plain.DisplayValues)
	assert.Equal(t, "", plain.Display("state"))
}

func TestCountUsesTheAggregateAPI(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/now/stats/incident", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "true", r.URL.Query().Get("sysparm_count"))
		assert.Equal(t, "active=true", r.URL.Query().Get("sysparm_query"))
		writeJSON(w, 200, `{"result":{"stats":{"count":"42"}}}`)
	})
	mux.HandleFunc("/api/now/stats/problem", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"result":{"stats":{"count":"many"}}}`)
	})
	n, _, err := c.Incidents().Count(ctx(t), "active=true")
	require.NoError(t, err)
	assert.Equal(t, 42, n)
	_, _, err = c.Problems().Count(ctx(t), "")
	require.ErrorIs(t, err, ErrInstanceUnavailable)
	assert.Contains(t, err.Error(), "not a number")
}

func TestV1EmptyListIsNotAnError(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithAPIVersion("v1"))
	mux.HandleFunc("/api/now/v1/table/incident", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, `{"error":{"message":"No Record found","detail":"Records matching query not found. Check query parameter or offset parameter"},"status":"failure"}`)
	})
	mux.HandleFunc("/api/now/v1/table/incident/abc", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, `{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`)
	})
	incs, _, err := c.Incidents().List(ctx(t), &ListOptions{Query: "number=NOPE"})
	require.NoError(t, err)
	assert.Empty(t, incs)
	_, _, err = c.Incidents().Get(ctx(t), "abc", nil)
	require.ErrorIs(t, err, ErrNotFound, "a missing record is still not found")
}

func TestErrorsMatchTheirSentinels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		body     string
		sentinel error
		contains []string
	}{
		{"a missing record", 404, `{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`, ErrNotFound, []string{"404 No Record found", "ACL restricts"}},
		{"an unknown table", 400, `{"error":{"message":"Invalid table u_nope","detail":null},"status":"failure"}`, ErrInvalidTable, []string{"Invalid table u_nope"}},
		{"bad credentials", 401, `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`, ErrUnauthorized, []string{"User Not Authenticated", "credentials"}},
		{"an ACL refusing a write", 403, `{"error":{"message":"Operation Failed","detail":"ACL Exception Insert Failed due to security constraints"},"status":"failure"}`, ErrForbidden, []string{"itil role", "u_widget"}},
		{"a query ACL", 403, `{"error":{"message":"Insufficient rights to query records","detail":null},"status":"failure"}`, ErrForbidden, []string{"may not read a field used in the query"}},
		{"a rate limit", 429, string(testdata(t, "error_429.json")), ErrRateLimited, []string{"Rate limit of 100 requests per hour"}},
		{"a 503", 503, `{"error":{"message":"Service Unavailable"},"status":"failure"}`, ErrInstanceUnavailable, []string{"503"}},
		{"a 409", 409, `{"error":{"message":"Conflict"},"status":"failure"}`, ErrConflict, []string{"409"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t, WithRetry(RetryPolicy{}))
			mux.HandleFunc("/api/now/v2/table/u_widget", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				writeJSON(w, tc.status, tc.body)
			})
			_, _, err := c.Table("u_widget").Create(ctx(t), Fields{"name": "x"}, nil)
			require.ErrorIs(t, err, tc.sentinel)
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, "POST", apiErr.Method)
			assert.Equal(t, "api/now/v2/table/u_widget", apiErr.URL)
			for _, s := range tc.contains {
				assert.Contains(t, err.Error(), s)
			}
			for _, other := range []error{ErrNotFound, ErrUnauthorized, ErrForbidden, ErrRateLimited, ErrInvalidTable, ErrConflict} {
				if other != tc.sentinel {
					assert.False(t, errors.Is(err, other), "%v must not match %v", err, other)
				}
			}
		})
	}
}

func TestErrorMessageFormat(t *testing.T) {
	t.Parallel()
	e := &Error{StatusCode: 404, Method: "GET", URL: "api/now/table/incident/abc", Message: "No Record found"}
	assert.Equal(t, "servicenow: GET api/now/table/incident/abc: 404 No Record found", e.Error())
	e = &Error{StatusCode: 500, Method: "GET", URL: "u"}
	assert.Equal(t, "servicenow: GET u: 500 Internal Server Error", e.Error())
	assert.True(t, e.Temporary())
	assert.False(t, (&Error{StatusCode: 400}).Temporary())
}
