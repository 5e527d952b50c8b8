package snow

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCMDBClassHierarchy(t *testing.T) {
	s, _ := newFake(t)
	lin := mustSeed(t, s, "cmdb_ci_linux_server", map[string]any{"name": "lnx", "os": "Linux", "kernel_release": "6.1"})[0]
	win := mustSeed(t, s, "cmdb_ci_win_server", map[string]any{"name": "win", "os": "Windows"})[0]
	mustSeed(t, s, "cmdb_ci_ip_switch", map[string]any{"name": "sw"})
	mustSeed(t, s, "cmdb_ci_service", map[string]any{"name": "Email"})
	mustSeed(t, s, "cmdb_ci", map[string]any{"name": "plain", "sys_class_name": "cmdb_ci_db_ora_instance"})

	t.Run("a query on the base returns every subclass with base columns only", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/cmdb_ci?sysparm_query=ORDERBYname", nil)
		rows := r.list(t)
		require.Len(t, rows, 5)
		classes := map[string]string{}
		for _, row := range rows {
			classes[row["name"].(string)] = row["sys_class_name"].(string)
			assert.NotContains(t, row, "os")
			assert.NotContains(t, row, "kernel_release")
			assert.Contains(t, row, "serial_number")
		}
		assert.Equal(t, map[string]string{"lnx": "cmdb_ci_linux_server", "win": "cmdb_ci_win_server", "sw": "cmdb_ci_ip_switch",
			"Email": "cmdb_ci_service", "plain": "cmdb_ci_db_ora_instance"}, classes)
	})
	t.Run("a query on the leaf returns all its columns", func(t *testing.T) {
		row := do(t, s, "GET", "/api/now/table/cmdb_ci_linux_server", nil).list(t)[0]
		assert.Equal(t, "Linux", row["os"])
		assert.Equal(t, "6.1", row["kernel_release"])
	})
	t.Run("a middle class returns its descendants", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/cmdb_ci_server?sysparm_fields=name&sysparm_query=ORDERBYname", nil)
		assert.Equal(t, []string{"lnx", "win"}, r.col(t, "name"))
	})
	t.Run("INSTANCEOF on the base table", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/cmdb_ci?sysparm_fields=name&sysparm_query="+url.QueryEscape("sys_class_nameINSTANCEOFcmdb_ci_hardware^ORDERBYname"), nil)
		assert.Equal(t, []string{"lnx", "sw", "win"}, r.col(t, "name"))
	})
	t.Run("a GET through the base table shows base columns; a PATCH through it works", func(t *testing.T) {
		row := do(t, s, "GET", "/api/now/table/cmdb_ci/"+lin, nil).obj(t)
		assert.NotContains(t, row, "os")
		assert.Equal(t, "cmdb_ci_linux_server", row["sys_class_name"])
		assert.Equal(t, http.StatusOK, do(t, s, "PATCH", "/api/now/table/cmdb_ci/"+win, map[string]any{"name": "win2"}).status)
		assert.Equal(t, http.StatusNotFound, do(t, s, "GET", "/api/now/table/cmdb_ci_linux_server/"+win, nil).status, "not an instance of the other leaf")
	})
	t.Run("sys_db_object resolves descendants through super_class", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/sys_db_object?sysparm_fields=name&sysparm_query="+url.QueryEscape("super_class.name=cmdb_ci_server^ORDERBYname"), nil)
		assert.Equal(t, []string{"cmdb_ci_linux_server", "cmdb_ci_unix_server", "cmdb_ci_win_server"}, r.col(t, "name"))
		r = do(t, s, "GET", "/api/now/table/sys_db_object?sysparm_fields=name,super_class.name&sysparm_query=name=incident", nil)
		assert.Equal(t, []map[string]any{{"name": "incident", "super_class.name": "task"}}, r.list(t))
	})
	t.Run("relationship types are seeded with their out-of-box sys_ids", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/cmdb_rel_type/1a9cb166f1571100a92eb60da2bce5c5?sysparm_fields=name,parent_descriptor,child_descriptor", nil)
		assert.Equal(t, map[string]any{"name": "Depends on::Used by", "parent_descriptor": "Depends on", "child_descriptor": "Used by"}, r.obj(t))
	})
	t.Run("a seed naming an unrelated class is refused", func(t *testing.T) {
		_, err := s.Seed("cmdb_ci_server", map[string]any{"sys_class_name": "incident"})
		assert.Error(t, err)
	})
}

func TestDisplayValueShapes(t *testing.T) {
	s, _ := newFake(t)
	u := mustUser(t, s, User{UserName: "pat", FirstName: "Pat", LastName: "Caller", Email: "pat@example.com"})
	id := mustSeed(t, s, "incident", map[string]any{"short_description": "x", "caller_id": u["sys_id"], "state": 2,
		"reassignment_count": 1234, "active": "true"})[0]
	get := func(q string) map[string]any {
		return do(t, s, "GET", "/api/now/table/incident/"+id+"?sysparm_fields=caller_id,state,reassignment_count,active,assigned_to,caller_id.email&"+q, nil).obj(t)
	}
	link := testOrigin + "/api/now/table/sys_user/" + u["sys_id"]
	cases := []struct {
		name  string
		query string
		want  map[string]any
	}{
		{"false: raw values, {link,value} references", "sysparm_display_value=false", map[string]any{
			"caller_id": map[string]any{"link": link, "value": u["sys_id"]}, "state": "2", "reassignment_count": "1234",
			"active": "true", "assigned_to": "", "caller_id.email": "pat@example.com"}},
		{"true: labels, {display_value,link} references", "sysparm_display_value=true", map[string]any{
			"caller_id": map[string]any{"display_value": "Pat Caller", "link": link}, "state": "In Progress", "reassignment_count": "1,234",
			"active": "true", "assigned_to": "", "caller_id.email": "pat@example.com"}},
		{"all: both, references with a link", "sysparm_display_value=all", map[string]any{
			"caller_id": map[string]any{"display_value": "Pat Caller", "link": link, "value": u["sys_id"]},
			"state":     map[string]any{"display_value": "In Progress", "value": "2"}, "reassignment_count": map[string]any{"display_value": "1,234", "value": "1234"},
			"active": map[string]any{"display_value": "true", "value": "true"}, "assigned_to": map[string]any{"display_value": "", "value": ""},
			"caller_id.email": map[string]any{"display_value": "pat@example.com", "value": "pat@example.com"}}},
		{"false without links: bare sys_id", "sysparm_exclude_reference_link=true", map[string]any{
			"caller_id": u["sys_id"], "state": "2", "reassignment_count": "1234", "active": "true", "assigned_to": "", "caller_id.email": "pat@example.com"}},
		{"true without links: the display value", "sysparm_display_value=true&sysparm_exclude_reference_link=true", map[string]any{
			"caller_id": "Pat Caller", "state": "In Progress", "reassignment_count": "1,234", "active": "true", "assigned_to": "", "caller_id.email": "pat@example.com"}},
		{"all without links", "sysparm_display_value=all&sysparm_exclude_reference_link=true", map[string]any{
			"caller_id": map[string]any{"display_value": "Pat Caller", "value": u["sys_id"]},
			"state":     map[string]any{"display_value": "In Progress", "value": "2"}, "reassignment_count": map[string]any{"display_value": "1,234", "value": "1234"},
			"active": map[string]any{"display_value": "true", "value": "true"}, "assigned_to": map[string]any{"display_value": "", "value": ""},
			"caller_id.email": map[string]any{"display_value": "pat@example.com", "value": "pat@example.com"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, get(tc.query)) })
	}
	t.Run("sysparm_fields: invalid names ignored, sys_id not added, order kept", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/incident/"+id+"?sysparm_fields=state,%20nope,number", nil)
		assert.Equal(t, `{"result":{"state":"2","number":"INC0010001"}}`, string(r.body))
	})
	t.Run("the display value of a task reference is its number", func(t *testing.T) {
		child := mustSeed(t, s, "incident", map[string]any{"parent_incident": id})[0]
		r := do(t, s, "GET", "/api/now/table/incident/"+child+"?sysparm_fields=parent_incident&sysparm_display_value=true&sysparm_exclude_reference_link=true", nil)
		assert.Equal(t, "INC0010001", r.obj(t)["parent_incident"])
	})
}

func TestVersionsAndHeaders(t *testing.T) {
	s, clk := newFake(t)
	clk.Set(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	id := mustSeed(t, s, "incident", map[string]any{"caller_id": AdminSysID})[0]
	for _, v := range []string{"", "v1/", "v2/"} {
		t.Run("path /api/now/"+v+"table", func(t *testing.T) {
			r := do(t, s, "GET", "/api/now/"+v+"table/incident/"+id+"?sysparm_fields=caller_id", nil)
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, testOrigin+"/api/now/"+v+"table/sys_user/"+AdminSysID, r.obj(t)["caller_id"].(map[string]any)["link"])
			p := do(t, s, "POST", "/api/now/"+v+"table/problem", map[string]any{})
			assert.Regexp(t, `^`+testOrigin+`/api/now/`+v+`table/problem/[0-9a-f]{32}$`, p.header.Get("Location"))
		})
	}
	for _, accept := range []string{"application/json", "*/*", ""} {
		t.Run("Accept "+accept+" gives JSON", func(t *testing.T) {
			r := do(t, s, "GET", "/api/now/table/incident", nil, header("Accept", accept))
			assert.Equal(t, "application/json;charset=UTF-8", r.header.Get("Content-Type"))
			assert.True(t, json.Valid(r.body))
		})
	}
	t.Run("the Date header follows the fake clock", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/incident", nil)
		assert.Equal(t, "Wed, 06 May 2026 07:08:09 GMT", r.header.Get("Date"))
	})
	t.Run("X-HTTP-Method-Override", func(t *testing.T) {
		r := do(t, s, "POST", "/api/now/table/incident/"+id, map[string]any{"description": "overridden"}, header("X-HTTP-Method-Override", "PATCH"))
		assert.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "overridden", r.obj(t)["description"])
	})
	t.Run("plain name=value filters", func(t *testing.T) {
		mustSeed(t, s, "incident", map[string]any{"state": 2})
		r := do(t, s, "GET", "/api/now/table/incident?state=In%20Progress&sysparm_fields=state", nil)
		assert.Equal(t, []string{"2"}, r.col(t, "state"))
	})
}

func TestAggregateAPI(t *testing.T) {
	s, _ := newFake(t, WithACL(ACL{Table: "incident", Users: []string{"viewer"}, HideRow: func(r Record) bool { return r["state"] == "2" }}))
	mustUser(t, s, User{UserName: "viewer", Password: "pw", Roles: []string{"itil"}})
	g := mustSeed(t, s, "sys_user_group", map[string]any{"name": "Network"})[0]
	mustSeed(t, s, "incident",
		map[string]any{"state": 1, "assignment_group": g, "reassignment_count": 2},
		map[string]any{"state": 2, "assignment_group": g, "reassignment_count": 4},
		map[string]any{"state": 2, "reassignment_count": 9})

	r := do(t, s, "GET", "/api/now/stats/incident?sysparm_count=true&sysparm_query=state=2", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"result":{"stats":{"count":"2"}}}`, string(r.body))
	assert.JSONEq(t, `{"result":{"stats":{"count":"3"}}}`, string(do(t, s, "GET", "/api/now/v1/stats/incident?sysparm_count=true", nil).body))
	assert.JSONEq(t, `{"result":{"stats":{"count":"3"}}}`, string(do(t, s, "GET", "/api/now/stats/incident?sysparm_count=true", nil, basic("viewer", "pw")).body),
		"counts include ACL-hidden rows, like X-Total-Count")

	r = do(t, s, "GET", "/api/now/stats/incident?sysparm_count=true&sysparm_group_by=assignment_group&sysparm_display_value=true", nil)
	assert.JSONEq(t, `{"result":[
		{"stats":{"count":"1"},"groupby_fields":[{"field":"assignment_group","value":"","display_value":""}]},
		{"stats":{"count":"2"},"groupby_fields":[{"field":"assignment_group","value":"`+g+`","display_value":"Network"}]}]}`, string(r.body))
	r = do(t, s, "GET", "/api/now/stats/incident?sysparm_avg_fields=reassignment_count&sysparm_max_fields=reassignment_count&sysparm_count=true", nil)
	assert.JSONEq(t, `{"result":{"stats":{"avg":{"reassignment_count":"5.0000"},"max":{"reassignment_count":"9"},"count":"3"}}}`, string(r.body))
	assert.Equal(t, http.StatusBadRequest, do(t, s, "GET", "/api/now/stats/u_nope?sysparm_count=true", nil).status)
}

func TestSystemTables(t *testing.T) {
	s, _ := newFake(t, WithBuild(Build{Name: "Yokohama", Tag: "glide-yokohama-12-18-2024__patch3", War: "y.zip"}))
	mustUser(t, s, User{UserName: "itil", Password: "pw", Roles: []string{"itil"}})
	q := "/api/now/table/sys_properties?sysparm_fields=name,value&sysparm_query=" + url.QueryEscape("nameINglide.buildname,glide.buildtag,glide.war^ORDERBYname")

	r := do(t, s, "GET", q, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, []map[string]any{{"name": "glide.buildname", "value": "Yokohama"},
		{"name": "glide.buildtag", "value": "glide-yokohama-12-18-2024__patch3"}, {"name": "glide.war", "value": "y.zip"}}, r.list(t))
	assert.Equal(t, http.StatusForbidden, do(t, s, "GET", q, nil, basic("itil", "pw")).status, "sys_properties is admin-only")
	assert.Equal(t, http.StatusForbidden, do(t, s, "GET", "/api/now/table/sys_audit_delete", nil, basic("itil", "pw")).status)

	t.Run("Test Connection reads sys_user", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/sys_user?sysparm_query=user_name=itil&sysparm_fields=sys_id,user_name,roles&sysparm_limit=2", nil, basic("itil", "pw"))
		require.Equal(t, http.StatusOK, r.status)
		rows := r.list(t)
		require.Len(t, rows, 1)
		assert.Equal(t, "itil", rows[0]["roles"])
		assert.NotContains(t, string(do(t, s, "GET", "/api/now/table/sys_user", nil).body), "user_password")
	})
	t.Run("roles as a real instance models them", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/sys_user_has_role?sysparm_fields=role.name&sysparm_query=user.user_name=itil", nil)
		assert.Equal(t, []map[string]any{{"role.name": "itil"}}, r.list(t))
		require.NoError(t, s.GrantRole("itil", "admin"))
		assert.Equal(t, http.StatusOK, do(t, s, "GET", q, nil, basic("itil", "pw")).status, "a granted role takes effect at once")
		require.NoError(t, s.RevokeRole("itil", "admin"))
		assert.Equal(t, http.StatusForbidden, do(t, s, "GET", q, nil, basic("itil", "pw")).status)
	})
	t.Run("current_user", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/ui/user/current_user", nil)
		assert.JSONEq(t, `{"result":{"user_sys_id":"6816f79cc0a8016401c5a33be04be441","user_name":"admin","user_display_name":"System Administrator","user_initials":"SA","user_avatar":""}}`, string(r.body))
	})
	t.Run("stats.do shows the build", func(t *testing.T) {
		r := do(t, s, "GET", "/stats.do", nil)
		assert.Contains(t, string(r.body), "glide-yokohama-12-18-2024__patch3")
	})
}

func TestBatchAPI(t *testing.T) {
	s, _ := newFake(t)
	id := mustSeed(t, s, "incident", map[string]any{"short_description": "batched"})[0]
	body := map[string]any{
		"batch_request_id": 17,
		"rest_requests": []map[string]any{
			{"id": "1", "method": "GET", "url": "/api/now/table/incident/" + id + "?sysparm_fields=short_description",
				"headers": []map[string]string{{"name": "Accept", "value": "application/json"}}, "exclude_response_headers": true},
			{"id": "2", "method": "POST", "url": "/api/now/v2/table/problem",
				"headers": []map[string]string{{"name": "Content-Type", "value": "application/json"}},
				"body":    base64.StdEncoding.EncodeToString([]byte(`{"short_description":"from batch"}`))},
			{"id": "3", "method": "GET", "url": "/api/now/table/u_nope"},
		},
	}
	r := do(t, s, "POST", "/api/now/v1/batch", body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var out struct {
		BatchRequestID   string `json:"batch_request_id"`
		ServicedRequests []struct {
			ID         string `json:"id"`
			StatusCode int    `json:"status_code"`
			Headers    []struct{ Name, Value string }
			Body       string `json:"body"`
		} `json:"serviced_requests"`
		UnservicedRequests []string `json:"unserviced_requests"`
	}
	require.NoError(t, json.Unmarshal(r.body, &out))
	assert.Equal(t, "17", out.BatchRequestID, "the batch id comes back as a string")
	require.Len(t, out.ServicedRequests, 3)
	first, _ := base64.StdEncoding.DecodeString(out.ServicedRequests[0].Body)
	assert.JSONEq(t, `{"result":{"short_description":"batched"}}`, string(first))
	assert.Empty(t, out.ServicedRequests[0].Headers)
	assert.Equal(t, 201, out.ServicedRequests[1].StatusCode)
	assert.NotEmpty(t, out.ServicedRequests[1].Headers)
	assert.Equal(t, 400, out.ServicedRequests[2].StatusCode)
	assert.Empty(t, out.UnservicedRequests)
	assert.Equal(t, 1, s.Count("problem"))
}

func TestACLHiddenFieldsAndTableDenial(t *testing.T) {
	s, _ := newFake(t,
		WithACL(ACL{Table: "task", Roles: []string{"itil"}, HideFields: []string{"description", "caller_id"}}),
		WithACL(ACL{Table: "problem", Operations: []Operation{OpRead}, Users: []string{"agent"}, Deny: true}))
	mustUser(t, s, User{UserName: "agent", Password: "pw", Roles: []string{"itil"}})
	id := mustSeed(t, s, "incident", map[string]any{"short_description": "s", "description": "secret", "caller_id": AdminSysID})[0]

	rec := do(t, s, "GET", "/api/now/table/incident/"+id, nil, basic("agent", "pw")).obj(t)
	assert.NotContains(t, rec, "description", "a hidden field is left out")
	assert.NotContains(t, rec, "caller_id")
	assert.Equal(t, "s", rec["short_description"])
	r := do(t, s, "GET", "/api/now/table/incident?sysparm_fields=description,caller_id.email,number", nil, basic("agent", "pw"))
	assert.Equal(t, []map[string]any{{"number": "INC0010001"}}, r.list(t), "also through sysparm_fields and dot-walks")
	assert.Contains(t, do(t, s, "GET", "/api/now/table/incident/"+id, nil).obj(t), "description", "admin is not in the rule")

	r = do(t, s, "GET", "/api/now/table/problem", nil, basic("agent", "pw"))
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.JSONEq(t, `{"error":{"message":"Insufficient rights to query records","detail":null},"status":"failure"}`, string(r.body))
	assert.Error(t, s.AddACL(ACL{Table: "incident"}), "a rule without an effect is refused")
}
