package snow

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreate(t *testing.T) {
	s, clk := newFake(t)
	agent := mustUser(t, s, User{UserName: "agent", Password: "pw", FirstName: "Ann", LastName: "Agent", Roles: []string{"itil"}})["sys_id"]
	clk.Set(t0.Add(1500 * time.Millisecond))

	r := do(t, s, "POST", "/api/now/v2/table/incident", map[string]any{
		"short_description": "printer", "impact": 2, "urgency": 1, "active": true, "bunk_field": "x", "sys_created_on": "1999-01-01 00:00:00",
	}, basic("agent", "pw"))

	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	rec := r.obj(t)
	id := rec["sys_id"].(string)
	assert.Regexp(t, `^[0-9a-f]{32}$`, id)
	assert.Equal(t, testOrigin+"/api/now/v2/table/incident/"+id, r.header.Get("Location"))
	assert.Equal(t, "INC0010001", rec["number"])
	assert.Equal(t, "2026-03-02 10:00:01", rec["sys_created_on"], "UTC, whole seconds, from the clock; not writable")
	assert.Equal(t, rec["sys_created_on"], rec["sys_updated_on"])
	assert.Equal(t, "agent", rec["sys_created_by"])
	assert.Equal(t, "agent", rec["sys_updated_by"])
	assert.Equal(t, "0", rec["sys_mod_count"])
	assert.Equal(t, "incident", rec["sys_class_name"])
	assert.Equal(t, "/", rec["sys_domain_path"])
	assert.Equal(t, "global", rec["sys_domain"].(map[string]any)["value"])
	assert.Equal(t, "2", rec["priority"], "computed from impact 2 and urgency 1")
	assert.Equal(t, "true", rec["active"], "JSON booleans are stored as strings")
	assert.Equal(t, "1", rec["state"], "defaults")
	assert.NotContains(t, rec, "bunk_field", "unknown fields are ignored")
	opener := rec["opened_by"].(map[string]any)["value"]
	assert.Equal(t, agent, opener)
	assert.Empty(t, r.header.Get("X-Total-Count"))

	t.Run("numbers count per table prefix", func(t *testing.T) {
		assert.Equal(t, "INC0010002", do(t, s, "POST", "/api/now/table/incident", map[string]any{}).obj(t)["number"])
		assert.Equal(t, "PRB0010001", do(t, s, "POST", "/api/now/table/problem", map[string]any{}).obj(t)["number"])
		assert.Equal(t, "CHG0010001", do(t, s, "POST", "/api/now/table/change_request", map[string]any{}).obj(t)["number"])
		assert.Equal(t, "REQ0010001", do(t, s, "POST", "/api/now/table/sc_request", map[string]any{}).obj(t)["number"])
		assert.Equal(t, "INC0010003", do(t, s, "POST", "/api/now/table/incident", map[string]any{}).obj(t)["number"])
	})
	t.Run("a client-supplied sys_id is honoured", func(t *testing.T) {
		r := do(t, s, "POST", "/api/now/table/incident", map[string]any{"sys_id": "aaaabbbbccccddddeeeeffff00001111"})
		assert.Equal(t, "aaaabbbbccccddddeeeeffff00001111", r.obj(t)["sys_id"])
		again := do(t, s, "POST", "/api/now/table/incident", map[string]any{"sys_id": "aaaabbbbccccddddeeeeffff00001111"})
		assert.Equal(t, http.StatusForbidden, again.status, "a duplicate sys_id is refused")
	})
	t.Run("an array body inserts its first element", func(t *testing.T) {
		r := do(t, s, "POST", "/api/now/table/incident", `[{"short_description":"one"},{"short_description":"two"}]`)
		assert.Equal(t, "one", r.obj(t)["short_description"])
	})
	t.Run("X-no-response-body", func(t *testing.T) {
		r := do(t, s, "POST", "/api/now/table/incident", map[string]any{}, header("X-no-response-body", "true"))
		assert.Equal(t, http.StatusCreated, r.status)
		assert.Empty(t, r.body)
		assert.NotEmpty(t, r.header.Get("Location"))
	})
	t.Run("input display values", func(t *testing.T) {
		r := do(t, s, "POST", "/api/now/table/incident?sysparm_input_display_value=true",
			map[string]any{"state": "In Progress", "caller_id": "Ann Agent"})
		rec := r.obj(t)
		assert.Equal(t, "2", rec["state"])
		assert.Equal(t, agent, rec["caller_id"].(map[string]any)["value"])
	})
	t.Run("bad bodies", func(t *testing.T) {
		r := do(t, s, "POST", "/api/now/table/incident", `{"short_description":`)
		assert.Equal(t, http.StatusBadRequest, r.status)
		r = do(t, s, "POST", "/api/now/table/incident", "short_description=x", header("Content-Type", "application/x-www-form-urlencoded"))
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
	})
}

func TestStateStartsWhereEachTableStartsIt(t *testing.T) {
	s, _ := newFake(t)
	for table, want := range map[string]string{"incident": "1", "problem": "101", "change_request": "-5", "sc_request": "1"} {
		r := do(t, s, "POST", "/api/now/table/"+table, map[string]any{"short_description": "new"})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		assert.Equal(t, want, r.obj(t)["state"], "%s.state of a new record", table)
	}
	// Seeded rows get the same defaults.
	ids, err := s.Seed("problem", map[string]any{"short_description": "seeded"})
	require.NoError(t, err)
	rec, _ := s.Record("problem", ids[0])
	assert.Equal(t, "101", rec["state"])
}

func TestBodyLimit(t *testing.T) {
	s, _ := newFake(t, WithMaxBodyBytes(64))
	r := do(t, s, "POST", "/api/now/table/incident", map[string]any{"short_description": strings.Repeat("x", 100)})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.JSONEq(t, `{"error":{"message":"Exception while reading request","detail":"Rejected large REST payload with content-length = 124 bytes. Max allowed: 64 bytes."},"status":"failure"}`, string(r.body))
}

func TestUpdate(t *testing.T) {
	s, clk := newFake(t)
	mustUser(t, s, User{UserName: "agent", Password: "pw", Roles: []string{"itil"}})
	id := mustSeed(t, s, "incident", map[string]any{"short_description": "a", "description": "keep me", "impact": 3, "urgency": 3})[0]
	created := do(t, s, "GET", "/api/now/table/incident/"+id, nil).obj(t)

	for i, method := range []string{"PATCH", "PUT"} {
		clk.Advance(time.Minute)
		r := do(t, s, method, "/api/now/table/incident/"+id, map[string]any{"short_description": method, "impact": 1}, basic("agent", "pw"))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		rec := r.obj(t)
		assert.Equal(t, method, rec["short_description"])
		assert.Equal(t, "keep me", rec["description"], "%s is a partial merge", method)
		assert.Equal(t, "3", rec["priority"], "priority follows impact 1, urgency 3")
		assert.Equal(t, fmt.Sprint(i+1), rec["sys_mod_count"])
		assert.Equal(t, fmtTime(clk.Now()), rec["sys_updated_on"])
		assert.Equal(t, "agent", rec["sys_updated_by"])
		assert.Equal(t, created["sys_created_on"], rec["sys_created_on"])
		assert.Equal(t, created["sys_created_by"], rec["sys_created_by"])
	}

	t.Run("clearing a field with an empty string", func(t *testing.T) {
		rec := do(t, s, "PATCH", "/api/now/table/incident/"+id, map[string]any{"description": ""}).obj(t)
		assert.Equal(t, "", rec["description"])
	})
	t.Run("journal fields read back empty and show their history as display value", func(t *testing.T) {
		do(t, s, "PATCH", "/api/now/table/incident/"+id, map[string]any{"comments": "first"}, basic("agent", "pw"))
		rec := do(t, s, "PATCH", "/api/now/table/incident/"+id+"?sysparm_display_value=all", map[string]any{"work_notes": "second"}).obj(t)
		assert.Equal(t, map[string]any{"display_value": "", "value": ""}, rec["approval_history"])
		c := rec["comments"].(map[string]any)
		assert.Equal(t, "", c["value"])
		assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - agent \(Additional comments\)\nfirst\n\n$`, c["display_value"])
		both := rec["comments_and_work_notes"].(map[string]any)["display_value"].(string)
		assert.True(t, strings.Index(both, "second") < strings.Index(both, "first"), "newest first")
		assert.Equal(t, []string{"agent: first"}, s.Journal("incident", id, "comments"))
	})
	t.Run("a write denied by an ACL", func(t *testing.T) {
		require.NoError(t, s.AddACL(ACL{Table: "task", Operations: []Operation{OpWrite, OpDelete, OpCreate}, Users: []string{"agent"}, Deny: true}))
		for _, tc := range []struct{ method, path, op string }{
			{"PATCH", "/api/now/table/incident/" + id, "Update"},
			{"DELETE", "/api/now/table/incident/" + id, "Delete"},
			{"POST", "/api/now/table/incident", "Insert"},
		} {
			r := do(t, s, tc.method, tc.path, map[string]any{"short_description": "no"}, basic("agent", "pw"))
			assert.Equal(t, http.StatusForbidden, r.status)
			assert.JSONEq(t, `{"error":{"message":"Operation Failed","detail":"ACL Exception `+tc.op+` Failed due to security constraints"},"status":"failure"}`, string(r.body))
		}
	})
}

func TestPriorityMatrix(t *testing.T) {
	s, _ := newFake(t)
	want := [4][4]string{1: {1: "1", 2: "2", 3: "3"}, 2: {1: "2", 2: "3", 3: "4"}, 3: {1: "3", 2: "4", 3: "5"}}
	for i := 1; i <= 3; i++ {
		for u := 1; u <= 3; u++ {
			rec := do(t, s, "POST", "/api/now/table/incident", map[string]any{"impact": i, "urgency": u, "priority": 1}).obj(t)
			assert.Equal(t, want[i][u], rec["priority"], "incident impact %d urgency %d", i, u)
			rec = do(t, s, "POST", "/api/now/table/problem", map[string]any{"impact": i, "urgency": u}).obj(t)
			assert.Equal(t, want[i][u], rec["priority"], "problem impact %d urgency %d", i, u)
		}
	}
	rec := do(t, s, "POST", "/api/now/table/change_request", map[string]any{"impact": 1, "urgency": 1, "priority": 4}).obj(t)
	assert.Equal(t, "4", rec["priority"], "change_request keeps the priority it is given")
}

func TestResolveDataPolicy(t *testing.T) {
	s, clk := newFake(t)
	id := mustSeed(t, s, "incident", map[string]any{"short_description": "x"})[0]
	const policy = `{"error":{"message":"Operation Failed","detail":"Data Policy Exception: \n\tThe following fields are mandatory: Resolution code, Resolution notes\n"},"status":"failure"}`

	r := do(t, s, "PATCH", "/api/now/table/incident/"+id, map[string]any{"state": 6})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.JSONEq(t, policy, string(r.body))
	r = do(t, s, "POST", "/api/now/table/incident", map[string]any{"state": 7, "close_code": "Duplicate"})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Contains(t, string(r.body), "Resolution notes")
	assert.NotContains(t, string(r.body), "Resolution code,")
	rec, _ := s.Record("incident", id)
	assert.Equal(t, "1", rec["state"], "a refused write changes nothing")

	clk.Advance(time.Hour)
	ok := do(t, s, "PATCH", "/api/now/table/incident/"+id, map[string]any{"state": 6, "close_code": "Solution provided", "close_notes": "fixed"}).obj(t)
	assert.Equal(t, "6", ok["incident_state"], "incident_state mirrors state")
	assert.Equal(t, fmtTime(clk.Now()), ok["resolved_at"])
	assert.Equal(t, AdminSysID, ok["resolved_by"].(map[string]any)["value"])
	assert.Equal(t, "true", ok["active"])
	closed := do(t, s, "PATCH", "/api/now/table/incident/"+id, map[string]any{"state": 7}).obj(t)
	assert.Equal(t, "false", closed["active"])
	assert.NotEmpty(t, closed["closed_at"])

	s.SetDataPolicy(false)
	r = do(t, s, "POST", "/api/now/table/incident", map[string]any{"state": 7})
	assert.Equal(t, http.StatusCreated, r.status, "the policy can be switched off")
}

func TestDeleteAuditsUnderTheLeafClass(t *testing.T) {
	s, clk := newFake(t)
	ids := mustSeed(t, s, "cmdb_ci_linux_server", map[string]any{"name": "web01"}, map[string]any{"name": "db01"})
	rel := mustSeed(t, s, "cmdb_rel_ci", map[string]any{"parent": ids[0], "child": ids[1], "type": WellKnownRelTypes[0].SysID})[0]
	inc := mustSeed(t, s, "incident", map[string]any{"short_description": "bye"})[0]

	clk.Advance(90 * time.Second)
	assert.Equal(t, http.StatusNoContent, do(t, s, "DELETE", "/api/now/table/cmdb_ci/"+ids[1], nil).status, "delete through the base table")
	assert.Equal(t, http.StatusNoContent, do(t, s, "DELETE", "/api/now/table/incident/"+inc, nil).status)
	assert.Equal(t, http.StatusNotFound, do(t, s, "GET", "/api/now/table/incident/"+inc, nil).status)
	_, ok := s.Record("cmdb_rel_ci", rel)
	assert.False(t, ok, "relationships of a deleted CI are deleted too")

	r := do(t, s, "GET", "/api/now/table/sys_audit_delete?sysparm_fields=tablename,documentkey,sys_created_on&sysparm_query="+
		"tablenameINcmdb_ci_linux_server,cmdb_rel_ci,incident^ORDERBYsys_created_on^ORDERBYtablename", nil)
	require.Equal(t, http.StatusOK, r.status)
	when := fmtTime(clk.Now())
	assert.ElementsMatch(t, []map[string]any{
		{"tablename": "cmdb_ci_linux_server", "documentkey": ids[1], "sys_created_on": when},
		{"tablename": "cmdb_rel_ci", "documentkey": rel, "sys_created_on": when},
		{"tablename": "incident", "documentkey": inc, "sys_created_on": when},
	}, r.list(t))
	none := do(t, s, "GET", "/api/now/table/sys_audit_delete?sysparm_query=tablename=cmdb_ci", nil)
	assert.Empty(t, none.list(t), "never filed under the base class")
	for _, a := range s.Records("sys_audit_delete") {
		if a["documentkey"] == ids[1] {
			assert.Contains(t, a["payload"], `<record_update table="cmdb_ci_linux_server">`)
			assert.Contains(t, a["payload"], "<name>db01</name>")
			assert.Equal(t, "db01", a["display_value"])
		}
	}
}

func TestTestSideMutations(t *testing.T) {
	s, clk := newFake(t)
	mustUser(t, s, User{UserName: "human", Password: "pw", FirstName: "Hu", LastName: "Man"})

	rec, err := s.Insert("incident", map[string]string{"short_description": "from the UI", "impact": "1", "urgency": "1"}, AsUser("human"))
	require.NoError(t, err)
	id := rec["sys_id"]
	assert.Equal(t, "human", rec["sys_created_by"])
	assert.Equal(t, "1", rec["priority"], "business rules run")
	_, err = s.Insert("incident", map[string]string{"state": "7"})
	assert.Error(t, err, "data policies run")

	clk.Advance(time.Minute)
	rec, err = s.Update("incident", id, map[string]string{"urgency": "3"}, AsUser("human"))
	require.NoError(t, err)
	assert.Equal(t, "3", rec["priority"])
	assert.Equal(t, "1", rec["sys_mod_count"])
	assert.Equal(t, fmtTime(clk.Now()), rec["sys_updated_on"])

	t.Run("autoSysFields(false) leaves the cursor fields alone", func(t *testing.T) {
		before, _ := s.Record("incident", id)
		clk.Advance(time.Minute)
		after, err := s.Update("incident", id, map[string]string{"description": "silent"}, WithoutSysFields())
		require.NoError(t, err)
		assert.Equal(t, "silent", after["description"])
		assert.Equal(t, before["sys_updated_on"], after["sys_updated_on"])
		assert.Equal(t, before["sys_mod_count"], after["sys_mod_count"])
	})
	t.Run("a late commit appears behind the cursor", func(t *testing.T) {
		past := clk.Now().Add(-10 * time.Minute)
		late, err := s.Insert("incident", map[string]string{"short_description": "late"}, At(past))
		require.NoError(t, err)
		assert.Equal(t, fmtTime(past), late["sys_updated_on"])
		assert.Equal(t, fmtTime(past), late["sys_created_on"])
	})
	t.Run("bulk updates share one second", func(t *testing.T) {
		seedIncidents(t, s, 30, func(int) map[string]any { return map[string]any{"category": "bulk"} })
		clk.Advance(time.Minute)
		n, err := s.BulkUpdate("incident", "category=bulk", map[string]string{"urgency": "1"})
		require.NoError(t, err)
		assert.Equal(t, 30, n)
		stamps := map[string]bool{}
		for _, rec := range s.Records("incident") {
			if rec["category"] == "bulk" {
				stamps[rec["sys_updated_on"]] = true
			}
		}
		assert.Equal(t, map[string]bool{fmtTime(clk.Now()): true}, stamps)
	})
	t.Run("deletes by query", func(t *testing.T) {
		n, err := s.BulkDelete("incident", "category=bulk^ORDERBYnumber")
		require.NoError(t, err)
		assert.Equal(t, 30, n)
		assert.Equal(t, 30, len(s.Records("sys_audit_delete")))
	})
	t.Run("errors name what is wrong", func(t *testing.T) {
		_, err := s.Update("incident", "nope", map[string]string{})
		assert.ErrorIs(t, err, ErrNotFound)
		assert.ErrorIs(t, s.Delete("incident", "nope"), ErrNotFound)
		_, err = s.Insert("u_nope", nil)
		assert.ErrorContains(t, err, "unknown table")
	})
}

func TestUserDefinedTables(t *testing.T) {
	s, _ := newFake(t, WithTable(Table{Name: "u_vendor_ticket", NumberPrefix: "VTK", DisplayField: "u_title",
		Fields: []Field{{Name: "u_title"}, {Name: "u_severity", Type: TypeInteger, Choices: []Choice{{"1", "Sev 1"}, {"2", "Sev 2"}}, Default: "2"},
			{Name: "u_incident", Type: TypeReference, Reference: "incident"}}}))
	inc := mustSeed(t, s, "incident", map[string]any{"short_description": "x"})[0]
	require.NoError(t, s.AddFields("incident", Field{Name: "u_vendor_ref"}, Field{Name: "u_flag", Type: TypeBoolean, Default: "false"}))

	r := do(t, s, "POST", "/api/now/table/u_vendor_ticket?sysparm_display_value=all", map[string]any{"u_title": "T1", "u_incident": inc})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	rec := r.obj(t)
	assert.Equal(t, map[string]any{"display_value": "VTK0010001", "value": "VTK0010001"}, rec["number"])
	assert.Equal(t, map[string]any{"display_value": "Sev 2", "value": "2"}, rec["u_severity"])
	old, _ := s.Record("incident", inc)
	assert.Equal(t, "false", old["u_flag"], "existing rows get the new column's default")
	p := do(t, s, "PATCH", "/api/now/table/incident/"+inc, map[string]any{"u_vendor_ref": "V-9"}).obj(t)
	assert.Equal(t, "V-9", p["u_vendor_ref"])
	q := do(t, s, "GET", "/api/now/table/incident?sysparm_query=u_vendor_ref=V-9&sysparm_fields=sys_id", nil)
	assert.Len(t, q.list(t), 1)
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/api/now/table/sys_db_object?sysparm_query=name=u_vendor_ticket", nil).status)
	assert.Len(t, do(t, s, "GET", "/api/now/table/sys_db_object?sysparm_query=name=u_vendor_ticket", nil).list(t), 1)

	assert.Error(t, s.DefineTable(Table{Name: "Bad-Name"}))
	assert.Error(t, s.DefineTable(Table{Name: "u_x", Extends: "nope"}))
	assert.Error(t, s.AddFields("incident", Field{Name: "short_description"}))
}
