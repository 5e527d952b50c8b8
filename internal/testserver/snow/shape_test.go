package snow

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shape tests: for each captured response (our own testdata in the shapes
// of the real captures), the fake's answer to the same request has the same
// keys, value shapes and header formats.

var (
	reTransactionID = regexp.MustCompile(`^[0-9a-f]{12}$`)
	reToken         = regexp.MustCompile(`^[A-Za-z0-9_-]{86}$`)
)

// checkHeaders compares the fake's headers with a captured header set:
// fixed values must match exactly, variable ones by format.
func checkHeaders(t *testing.T, want, got http.Header) {
	t.Helper()
	for k, vs := range want {
		switch http.CanonicalHeaderKey(k) {
		case "X-Transaction-Id":
			assert.Regexp(t, reTransactionID, got.Get(k), k)
		case "Date":
			_, err := http.ParseTime(got.Get(k))
			assert.NoError(t, err, "Date %q", got.Get(k))
		default:
			assert.Equal(t, vs, got.Values(k), k)
		}
	}
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	return v
}

func TestShapeIncidentListV2(t *testing.T) {
	s, clk := newFake(t)
	clk.Set(time.Date(2022, 11, 3, 20, 32, 32, 0, time.UTC))
	ids, err := s.SeedJSON("incident", readTestdata(t, "incident_list_v2_limit1.json"))
	require.NoError(t, err)
	require.Len(t, ids, 1)
	for i := 0; i < 4; i++ {
		mustSeed(t, s, "incident", map[string]any{"short_description": "filler"})
	}

	r := do(t, s, "GET", "/api/now/v2/table/incident?query=number%3DINC0000042&display_value=True&sysparm_limit=1", nil)

	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, decode(t, readTestdata(t, "incident_list_v2_limit1.json")), decode(t, r.body),
		"a seeded record comes back exactly as captured: strings, {link,value} references, \"\" for empty references")
	checkHeaders(t, testdataHeaders(t, "incident_list_v2_limit1.headers.txt"), r.header)
}

func TestShapeIncidentPatchDisplayTrue(t *testing.T) {
	s, clk := newFake(t)
	var inc struct {
		Result []map[string]any `json:"result"`
	}
	require.NoError(t, json.Unmarshal(readTestdata(t, "incident_list_v2_limit1.json"), &inc))
	row := inc.Result[0]
	ref := func(k string) string { return row[k].(map[string]any)["value"].(string) }

	mustUser(t, s, User{UserName: "admin", TimeZone: "America/Los_Angeles"})
	mustUser(t, s, User{UserName: "employee", SysID: ref("caller_id"), FirstName: "Pat", LastName: "Caller"})
	mustUser(t, s, User{UserName: "sam.fixer", SysID: ref("assigned_to"), FirstName: "Sam", LastName: "Fixer"})
	mustUser(t, s, User{UserName: "alex.agent", FirstName: "Alex", LastName: "Agent"})
	mustSeed(t, s, "sys_user_group", map[string]any{"sys_id": ref("assignment_group"), "name": "Network"})
	mustSeed(t, s, "cmdb_ci", map[string]any{"sys_id": ref("cmdb_ci"), "name": "SAN 042"})
	mustSeed(t, s, "cmdb_ci_service", map[string]any{"sys_id": ref("business_service"), "name": "Email"})
	mustSeed(t, s, "core_company", map[string]any{"sys_id": ref("company"), "name": "Example Corp"})

	clk.Set(time.Date(2016, 12, 12, 15, 19, 57, 0, time.UTC))
	row["comments"] = "The VPN client disconnects every hour on the hour."
	ids := mustSeed(t, s, "incident", row)
	_, err := s.Update("incident", ids[0], map[string]string{"work_notes": "Checked the VPN concentrator logs"},
		AsUser("alex.agent"), At(time.Date(2016, 12, 12, 16, 1, 24, 0, time.UTC)), WithoutSysFields())
	require.NoError(t, err)

	clk.Set(time.Date(2022, 11, 4, 22, 29, 20, 0, time.UTC))
	r := do(t, s, "PATCH", "/api/now/v2/table/incident/"+ids[0]+"?sysparm_display_value=true", map[string]any{"comments": "test"})

	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, decode(t, readTestdata(t, "incident_patch_v2_display_value_true.json")), decode(t, r.body),
		"labels, {display_value,link} references, local-time dates, grouped numbers, durations in words, journals")
	checkHeaders(t, testdataHeaders(t, "incident_patch_v2_display_value_true.headers.txt"), r.header)
	assert.Empty(t, r.header.Get("X-Total-Count"), "single-record answers carry no X-Total-Count")
	assert.Empty(t, r.header.Get("Link"))
}

func TestShapeScRequestCreate(t *testing.T) {
	s, clk := newFake(t)
	clk.Set(time.Date(2022, 11, 1, 21, 20, 31, 0, time.UTC))
	wantAny := decode(t, readTestdata(t, "sc_request_create_v2_201.json"))
	want := wantAny.(map[string]any)["result"].(map[string]any)

	// The request that produced the capture: references sent as the
	// literal "no value" and as {link,value} objects.
	objRef := map[string]any{"link": "https://instance.servicenow.com/api/now/table/sys_user/abc", "value": "abc"}
	body := map[string]any{
		"requested_for": "no value", "opened_by": objRef, "cmdb_ci": objRef,
		"parent_interaction": "no value", "service_offering": "no value", "special_instructions": "no value",
		"closed_by": want["closed_by"].(map[string]any)["value"], "state": 4, "impact": "3", "urgency": "3", "priority": "4", "active": false,
		"closed_at": "2016-01-19 04:52:04", "opened_at": "2016-01-19 04:49:47",
		"business_duration": "1970-01-01 00:00:00", "calendar_duration": "1970-01-01 00:02:17",
		"short_description": want["short_description"], "description": want["description"],
		"close_notes": want["close_notes"], "contact_type": "phone", "bunk_field": "ignored",
	}
	r := do(t, s, "POST", "/api/now/v2/table/sc_request", body)

	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	got := r.obj(t)
	id, _ := got["sys_id"].(string)
	assert.Regexp(t, `^[0-9a-f]{32}$`, id)
	assert.Regexp(t, `^REQ\d{7}$`, got["number"])
	assert.Equal(t, got["number"], got["task_effective_number"])
	want["sys_id"], want["number"], want["task_effective_number"] = id, got["number"], got["number"]
	assert.Equal(t, want, got, "full record: defaults, unvalidated references, Map.toString of an object cut to 32 characters")
	hdr := testdataHeaders(t, "sc_request_create_v2_201.headers.txt")
	hdr.Set("Location", strings.Replace(hdr.Get("Location"), "SYS_ID", id, 1))
	checkHeaders(t, hdr, r.header)
}

func TestShapeCmdbRelCiFields(t *testing.T) {
	s, _ := newFake(t)
	wantRaw := readTestdata(t, "cmdb_rel_ci_list_fields_type_parent_child.json")
	var want struct {
		Result []map[string]map[string]string `json:"result"`
	}
	require.NoError(t, json.Unmarshal(wantRaw, &want))
	w := want.Result[0]
	mustSeed(t, s, "cmdb_ci_linux_server", map[string]any{"sys_id": w["parent"]["value"], "name": "app"})
	mustSeed(t, s, "cmdb_ci_db_ora_instance", map[string]any{"sys_id": w["child"]["value"], "name": "db"})
	_, err := s.SeedJSON("cmdb_rel_ci", wantRaw)
	require.NoError(t, err)

	r := do(t, s, "GET", "/api/now/table/cmdb_rel_ci?sysparm_fields=type,parent,child", nil)

	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, decode(t, wantRaw), decode(t, r.body),
		"only the asked fields, links to the reference table (cmdb_ci, not the leaf class), unversioned path")
	assert.Equal(t, "1", r.header.Get("X-Total-Count"))
	assert.Empty(t, r.header.Get("Link"), "no Link header when everything fits one page")
}

func TestShapeLinuxServerGet(t *testing.T) {
	s, _ := newFake(t)
	raw := readTestdata(t, "cmdb_ci_linux_server_get.json")
	ids, err := s.SeedJSON("cmdb_ci_linux_server", raw)
	require.NoError(t, err)

	r := do(t, s, "GET", "/api/now/table/cmdb_ci_linux_server/"+ids[0], nil)

	require.Equal(t, http.StatusOK, r.status)
	want := decode(t, raw).(map[string]any)["result"].(map[string]any)
	got := r.obj(t)
	assert.Regexp(t, `^(/![!-~])+$`, got["sys_class_path"])
	want["sys_class_path"] = got["sys_class_path"]
	assert.Equal(t, want, got, "every column of the leaf class, references with links")
}

func TestShapeErrors(t *testing.T) {
	s, _ := newFake(t, WithRateLimit(RateLimitRule{User: "limited", API: "table", Limit: 3}))
	mustUser(t, s, User{UserName: "limited", Password: "pw", Roles: []string{"itil"}})
	id := mustSeed(t, s, "incident", map[string]any{"short_description": "x"})[0]

	cases := []struct {
		name       string
		method     string
		path       string
		opts       []reqOpt
		status     int
		body       string
		wwwAuth    string
		loggedInHd string
	}{
		{name: "unknown table is 400 with a null detail", method: "GET", path: "/api/now/v2/table/u_nope",
			status: 400, body: `{"error":{"message":"Invalid table u_nope","detail":null},"status":"failure"}`},
		{name: "no credentials is 401 with WWW-Authenticate", method: "GET", path: "/api/now/table/incident", opts: []reqOpt{noAuth()},
			status: 401, body: `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`,
			wwwAuth: `BASIC realm="Service-now"`, loggedInHd: "false"},
		{name: "a wrong password is 401 too", method: "GET", path: "/api/now/table/incident", opts: []reqOpt{basic("admin", "nope")},
			status: 401, body: `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`,
			wwwAuth: `BASIC realm="Service-now"`, loggedInHd: "false"},
		{name: "missing record by sys_id is 404", method: "GET", path: "/api/now/table/incident/0123456789abcdef0123456789abcdef",
			status: 404, body: `{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`},
		{name: "PATCH of a missing record is 404", method: "PATCH", path: "/api/now/table/incident/0123456789abcdef0123456789abcdef",
			status: 404, body: `{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`},
		{name: "DELETE of a missing record is 404", method: "DELETE", path: "/api/now/table/incident/0123456789abcdef0123456789abcdef",
			status: 404, body: `{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`},
		{name: "v1 empty list is 404", method: "GET", path: "/api/now/v1/table/incident?sysparm_query=number=NOPE",
			status: 404, body: `{"error":{"message":"No Record found","detail":"Records matching query not found. Check query parameter or offset parameter"},"status":"failure"}`},
		{name: "v2 empty list is 200 []", method: "GET", path: "/api/now/v2/table/incident?sysparm_query=number=NOPE",
			status: 200, body: `{"result":[]}`},
		{name: "sysparm_limit=0 is 400", method: "GET", path: "/api/now/table/incident?sysparm_limit=0",
			status: 400, body: `{"error":{"message":"Invalid value given for sysparm_limit","detail":"sysparm_limit value must be a positive integer"},"status":"failure"}`},
		{name: "negative sysparm_limit is 400", method: "GET", path: "/api/now/table/incident?sysparm_limit=-5",
			status: 400, body: `{"error":{"message":"Invalid value given for sysparm_limit","detail":"sysparm_limit value must be a positive integer"},"status":"failure"}`},
		{name: "unknown API path is 400", method: "GET", path: "/api/now/nosuchapi/x",
			status: 400, body: `{"error":{"message":"Requested URI does not represent any resource","detail":null},"status":"failure"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, tc.method, tc.path, nil, tc.opts...)
			assert.Equal(t, tc.status, r.status)
			assert.JSONEq(t, tc.body, string(r.body))
			assert.Equal(t, "application/json;charset=UTF-8", r.header.Get("Content-Type"))
			assert.Equal(t, tc.wwwAuth, r.header.Get("WWW-Authenticate"))
			if tc.loggedInHd != "" {
				assert.Equal(t, tc.loggedInHd, r.header.Get("X-Is-Logged-In"))
			}
		})
	}

	t.Run("delete answers 204 with an empty body", func(t *testing.T) {
		r := do(t, s, "DELETE", "/api/now/v2/table/incident/"+id, nil)
		assert.Equal(t, http.StatusNoContent, r.status)
		assert.Empty(t, r.body)
	})

	t.Run("the 429 body and headers match the capture", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			r := do(t, s, "GET", "/api/now/table/incident", nil, basic("limited", "pw"))
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, "3", r.header.Get("X-RateLimit-Limit"))
		}
		r := do(t, s, "GET", "/api/now/table/incident", nil, basic("limited", "pw"))
		assert.Equal(t, http.StatusTooManyRequests, r.status)
		assert.JSONEq(t, string(readTestdata(t, "error_rate_limit_exceeded_429.json")), string(r.body))
		assert.Regexp(t, `^[1-9]\d*$`, r.header.Get("Retry-After"))
		assert.Equal(t, "3", r.header.Get("X-RateLimit-Limit"))
		assert.Regexp(t, `^\d{10}$`, r.header.Get("X-RateLimit-Reset"))
		assert.Regexp(t, `^[0-9a-f]{32}$`, r.header.Get("X-RateLimit-Rule"))
	})
}

func TestShapeOAuth(t *testing.T) {
	s, _ := newFake(t, WithOAuthClient(OAuthClient{ClientID: "cid", ClientSecret: "csecret"}),
		WithUser(User{UserName: "integration", Password: "pw", Roles: []string{"itil"}}))

	t.Run("password grant success has the captured keys and types", func(t *testing.T) {
		r := do(t, s, "POST", "/oauth_token.do", "grant_type=password&client_id=cid&client_secret=csecret&username=integration&password=pw",
			noAuth(), header("Content-Type", "application/x-www-form-urlencoded"))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		want := decode(t, readTestdata(t, "oauth_token_password_grant_200.json")).(map[string]any)
		got := r.json(t)
		require.Len(t, got, len(want))
		for k, v := range want {
			assert.IsType(t, v, got[k], k)
		}
		assert.Regexp(t, reToken, got["access_token"])
		assert.Regexp(t, reToken, got["refresh_token"])
		assert.Equal(t, "useraccount", got["scope"])
		assert.Equal(t, "Bearer", got["token_type"])
		assert.InDelta(t, 1799, got["expires_in"], 0)
		assert.Equal(t, "application/json;charset=UTF-8", r.header.Get("Content-Type"))
	})

	t.Run("a failed grant has the captured body and 401", func(t *testing.T) {
		r := do(t, s, "POST", "/oauth_token.do", "grant_type=password&client_id=cid&client_secret=wrong&username=integration&password=pw",
			noAuth(), header("Content-Type", "application/x-www-form-urlencoded"))
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.JSONEq(t, string(readTestdata(t, "oauth_token_error_access_denied.json")), string(r.body))
	})
}
