package sf

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/internal/testserver/snow"
)

func (h *harness) admin(method, path string, body any) response {
	h.t.Helper()
	return h.do(call{method: method, path: path, body: body, token: adminToken})
}

func TestConfigSecretsAreWriteOnly(t *testing.T) {
	h := newHarness(t)
	r := h.admin(http.MethodGet, "/integrations/servicenow", nil)
	require.Equal(t, http.StatusNotFound, r.status, "nothing is configured yet")

	r = h.admin(http.MethodPut, "/integrations/servicenow", map[string]any{
		"instance_url": "https://acme.service-now.com/", "auth_method": "oauth",
		"client_id": "cid", "client_secret": "s3cret-client", "username": "stackflow-integration", "password": "s3cret-pass",
	})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	for _, secret := range []string{"s3cret-client", "s3cret-pass"} {
		assert.NotContains(t, string(r.body), secret, "PUT never echoes a secret")
	}
	got := h.admin(http.MethodGet, "/integrations/servicenow", nil)
	require.Equal(t, http.StatusOK, got.status)
	for _, secret := range []string{"s3cret-client", "s3cret-pass"} {
		assert.NotContains(t, string(got.body), secret, "GET never returns a secret")
	}
	cfg := got.decode(t)
	assert.Equal(t, true, cfg["client_secret_set"])
	assert.Equal(t, true, cfg["password_set"])
	assert.NotContains(t, cfg, "client_secret")
	assert.NotContains(t, cfg, "password")
	assert.Equal(t, "https://acme.service-now.com", cfg["instance_url"], "the trailing slash is removed")
	assert.Equal(t, true, cfg["incident_sync"], "defaults are filled in")
	assert.Equal(t, true, cfg["cmdb_sync"])
	assert.EqualValues(t, 5, cfg["sync_interval_minutes"])
	assert.EqualValues(t, 60, cfg["cmdb_sync_interval_minutes"])
	assert.Len(t, cfg["table_mappings"], 6, "the guide's table mappings by default")
	assert.Equal(t, map[string]any{}, cfg["filters"])
	assert.Equal(t, "admin@example.com", cfg["updated_by"])

	// A save without secrets keeps the stored ones; null removes one.
	r = h.admin(http.MethodPut, "/integrations/servicenow", map[string]any{
		"instance_url": "https://acme.service-now.com", "auth_method": "basic_auth", "username": "svc", "client_secret": nil,
		"filters": map[string]any{"cmdb_ci": "active=true^sys_updated_on>=javascript:gs.hoursAgoStart(1)"},
	})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	cfg = r.decode(t)
	assert.Equal(t, false, cfg["client_secret_set"])
	assert.Equal(t, true, cfg["password_set"], "the omitted password was kept")
	stored, ok := h.srv.ServiceNowConfig()
	require.True(t, ok)
	assert.Equal(t, "s3cret-pass", stored.Password)
	assert.NotContains(t, stored.String(), "s3cret-pass", "String() redacts secrets")
	assert.Contains(t, stored.String(), "REDACTED")
}

func TestConfigValidationListsEveryBadField(t *testing.T) {
	h := newHarness(t)
	r := h.do(call{method: http.MethodPut, path: "/integrations/servicenow", token: adminToken, invalid: true, body: map[string]any{
		"instance_url":               "http://acme.service-now.com",
		"auth_method":                "oauth",
		"client_id":                  "cid",
		"sync_interval_minutes":      0,
		"cmdb_sync_interval_minutes": 2.5,
		"incident_sync":              "yes",
		"password_set":               true,
		"proxy":                      "http://proxy",
		"table_mappings": []any{
			map[string]any{"table": "incident", "module": "incidents", "direction": "both_ways"},
			map[string]any{"table": "cmdb_ci_linux_server", "module": "cmdb_cis", "direction": "bidirectional"},
			map[string]any{"table": "incident", "module": "incidents", "direction": "to_stackflow"},
			map[string]any{"table": "sys_user", "module": "incidents", "direction": "to_stackflow"},
			map[string]any{"table": "problem", "module": "changes", "direction": "to_stackflow", "extra": 1},
		},
		"filters": map[string]any{"cmdb_ci": "   ", "Bad Table": "a=b"},
		"field_mappings": []any{
			map[string]any{"table": "sc_request", "servicenow_field": "u_cost", "stackflow_field": "attributes.cost", "direction": "to_stackflow"},
			map[string]any{"table": "cmdb_ci_linux_server", "servicenow_field": "Bad Field", "stackflow_field": "colour", "direction": "sideways"},
		},
	}})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
	assert.Equal(t, map[string]string{
		"instance_url":                       "must use https",
		"client_secret":                      "is required when auth_method is oauth",
		"username":                           "is required when auth_method is oauth",
		"password":                           "is required when auth_method is oauth",
		"password_set":                       "read-only field",
		"proxy":                              "unknown field",
		"incident_sync":                      "must be true or false",
		"sync_interval_minutes":              "must be an integer 1..1440 (minutes)",
		"cmdb_sync_interval_minutes":         "must be an integer 1..10080 (minutes)",
		"table_mappings[0].direction":        "must be one of bidirectional, to_stackflow, read_only",
		"table_mappings[1].direction":        "CMDB tables sync from ServiceNow only: use to_stackflow or read_only",
		"table_mappings[2].table":            "duplicates table_mappings[0]",
		"table_mappings[3].table":            "is not a table StackFlow can sync (incident, problem, change_request, sc_request, cmdb_ci or a cmdb_ci_* class, cmdb_rel_ci)",
		"table_mappings[4].extra":            "unknown field",
		"table_mappings[4].module":           "table problem maps to module problems",
		"filters.cmdb_ci":                    "must be a non-empty encoded query string",
		"filters.Bad Table":                  "must be keyed by a ServiceNow table name",
		"field_mappings[0].table":            "must be a table of table_mappings",
		"field_mappings[1].table":            "must be a table of table_mappings",
		"field_mappings[1].servicenow_field": "must be a ServiceNow column name (dot-walks allowed)",
		"field_mappings[1].direction":        "must be one of bidirectional, to_stackflow, read_only",
	}, r.details(t))
	_, ok := h.srv.ServiceNowConfig()
	assert.False(t, ok, "an invalid configuration is not saved")

	missing := h.do(call{method: http.MethodPut, path: "/integrations/servicenow", token: adminToken, invalid: true, body: map[string]any{"auth_method": "basic_auth"}})
	require.Equal(t, http.StatusUnprocessableEntity, missing.status)
	assert.Equal(t, map[string]string{
		"instance_url": "is required",
		"username":     "is required when auth_method is basic_auth",
		"password":     "is required when auth_method is basic_auth",
	}, missing.details(t))

	fieldMap := h.do(call{method: http.MethodPut, path: "/integrations/servicenow", token: adminToken, invalid: true, body: map[string]any{
		"instance_url": "https://acme.service-now.com", "auth_method": "basic_auth", "username": "u", "password": "p",
		"field_mappings": []any{map[string]any{"table": "incident", "servicenow_field": "caller_id.email", "stackflow_field": "colour", "direction": "to_stackflow"}},
	}})
	require.Equal(t, http.StatusUnprocessableEntity, fieldMap.status)
	assert.Equal(t, map[string]string{"field_mappings[0].stackflow_field": "is not a writable field of module incidents (or attributes.<key>)"}, fieldMap.details(t))
}

// snowStandIn is a tiny ServiceNow for Test Connection: Basic and OAuth
// password-grant auth, sys_user, sys_user_has_role, sys_properties (admin
// only) and a few tables.
type snowStandIn struct {
	mu       sync.Mutex
	user     string
	password string
	admin    bool
	dropUser bool // ignore the user_name filter (two rows)
	html     bool // hibernating: HTML for everything
	tables   []string
	paths    []string
}

func (sn *snowStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	sn.paths = append(sn.paths, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if sn.html {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><title>Instance Hibernating page</title></html>"))
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if r.URL.Path == "/oauth_token.do" {
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") != "password" || r.PostForm.Get("client_secret") != "csecret" ||
			r.PostForm.Get("username") != sn.user || r.PostForm.Get("password") != sn.password {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error_description":"access_denied","error":"server_error"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"AT-123","refresh_token":"RT-1","scope":"useraccount","token_type":"Bearer","expires_in":1799}`))
		return
	}
	u, p, basic := r.BasicAuth()
	if !(basic && u == sn.user && p == sn.password) && r.Header.Get("Authorization") != "Bearer AT-123" {
		w.Header().Set("WWW-Authenticate", `BASIC realm="Service-now"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`))
		return
	}
	table := strings.TrimPrefix(r.URL.Path, "/api/now/table/")
	q := r.URL.Query()
	switch table {
	case "sys_user":
		rows := []map[string]any{}
		if sn.dropUser || q.Get("sysparm_query") == "user_name="+sn.user {
			rows = append(rows, map[string]any{"sys_id": "6816f79cc0a8016401c5a33be04be441", "user_name": sn.user})
		}
		if sn.dropUser {
			rows = append(rows, map[string]any{"sys_id": "other", "user_name": "someone.else"})
		}
		writeResult(w, rows)
	case "sys_user_has_role":
		writeResult(w, []map[string]any{{"role.name": "itil"}, {"role.name": "rest_api_explorer"}})
	case "sys_properties":
		if !sn.admin {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"message":"Operation Failed","detail":"ACL Exception"},"status":"failure"}`))
			return
		}
		writeResult(w, []map[string]any{{"name": "glide.buildname", "value": "Yokohama"}, {"name": "glide.buildtag", "value": "glide-yokohama-12-18-2024__patch3"}})
	default:
		for _, t := range sn.tables {
			if t == table {
				writeResult(w, []map[string]any{{"sys_id": "abc"}})
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"message":"Invalid table ` + table + `","detail":null},"status":"failure"}`))
	}
}

func writeResult(w http.ResponseWriter, rows []map[string]any) {
	_ = json.NewEncoder(w).Encode(map[string]any{"result": rows})
}

func TestTestConnection(t *testing.T) {
	sn := &snowStandIn{user: "stackflow-integration", password: "pw", tables: []string{"incident", "cmdb_ci"}}
	snSrv := httptest.NewTLSServer(sn)
	t.Cleanup(snSrv.Close)
	h := newHarness(t, WithServiceNowClient(snSrv.Client()))

	r := h.admin(http.MethodPost, "/integrations/servicenow/test", nil)
	require.Equal(t, http.StatusNotFound, r.status, "nothing to test before a save")

	configure := func(body map[string]any) {
		t.Helper()
		base := map[string]any{"instance_url": snSrv.URL, "username": "stackflow-integration", "password": "pw",
			"table_mappings": []any{
				map[string]any{"table": "incident", "module": "incidents", "direction": "bidirectional"},
				map[string]any{"table": "cmdb_ci", "module": "cmdb_cis", "direction": "read_only"},
			}}
		for k, v := range body {
			base[k] = v
		}
		r := h.admin(http.MethodPut, "/integrations/servicenow", base)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	}
	test := func() map[string]any {
		t.Helper()
		r := h.admin(http.MethodPost, "/integrations/servicenow/test", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		return r.decode(t)
	}

	t.Run("basic auth as an itil user", func(t *testing.T) {
		configure(map[string]any{"auth_method": "basic_auth"})
		got := test()
		assert.Equal(t, true, got["ok"])
		assert.Nil(t, got["servicenow_version"], "a non-admin cannot read sys_properties: version unknown")
		assert.Equal(t, map[string]any{"user_name": "stackflow-integration", "sys_id": "6816f79cc0a8016401c5a33be04be441",
			"roles": []any{"itil", "rest_api_explorer"}}, got["user"])
		assert.Equal(t, []any{
			map[string]any{"table": "incident", "read": true, "write": true},
			map[string]any{"table": "cmdb_ci", "read": true, "write": false},
		}, got["tables"])
		assert.Nil(t, got["error"])
		assert.Contains(t, sn.paths, "GET /api/now/table/sys_user?sysparm_fields=sys_id%2Cuser_name%2Croles&sysparm_limit=2&sysparm_query=user_name%3Dstackflow-integration")
	})
	t.Run("oauth password grant as an admin", func(t *testing.T) {
		sn.mu.Lock()
		sn.admin = true
		sn.mu.Unlock()
		configure(map[string]any{"auth_method": "oauth", "client_id": "cid", "client_secret": "csecret"})
		got := test()
		assert.Equal(t, true, got["ok"])
		assert.Equal(t, "Yokohama (glide-yokohama-12-18-2024__patch3)", got["servicenow_version"])
	})
	t.Run("a refused OAuth grant", func(t *testing.T) {
		configure(map[string]any{"auth_method": "oauth", "client_id": "cid", "client_secret": "wrong"})
		got := test()
		assert.Equal(t, false, got["ok"])
		assert.Nil(t, got["user"])
		assert.Equal(t, "auth_failed", got["error"].(map[string]any)["code"])
		assert.Contains(t, got["error"].(map[string]any)["message"], "access_denied")
	})
	t.Run("a wrong password", func(t *testing.T) {
		configure(map[string]any{"auth_method": "basic_auth", "password": "nope"})
		got := test()
		assert.Equal(t, false, got["ok"])
		assert.Equal(t, "auth_failed", got["error"].(map[string]any)["code"])
	})
	t.Run("an ignored user_name filter", func(t *testing.T) {
		sn.mu.Lock()
		sn.dropUser = true
		sn.mu.Unlock()
		defer func() { sn.mu.Lock(); sn.dropUser = false; sn.mu.Unlock() }()
		configure(map[string]any{"auth_method": "basic_auth"})
		got := test()
		assert.Equal(t, false, got["ok"])
		assert.Equal(t, "ambiguous_user", got["error"].(map[string]any)["code"])
	})
	t.Run("an unreadable table", func(t *testing.T) {
		configure(map[string]any{"auth_method": "basic_auth", "table_mappings": []any{
			map[string]any{"table": "incident", "module": "incidents", "direction": "bidirectional"},
			map[string]any{"table": "cmdb_rel_ci", "module": "cmdb_relationships", "direction": "to_stackflow"},
		}})
		got := test()
		assert.Equal(t, false, got["ok"])
		assert.Nil(t, got["error"], "only a table is unreadable")
		assert.Equal(t, map[string]any{"table": "cmdb_rel_ci", "read": false, "write": false}, got["tables"].([]any)[1])
	})
	t.Run("a hibernating instance", func(t *testing.T) {
		sn.mu.Lock()
		sn.html = true
		sn.mu.Unlock()
		configure(map[string]any{"auth_method": "basic_auth"})
		got := test()
		assert.Equal(t, "instance_unavailable", got["error"].(map[string]any)["code"])
	})
	t.Run("an unreachable instance", func(t *testing.T) {
		dead := httptest.NewTLSServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		configure(map[string]any{"auth_method": "basic_auth", "instance_url": url})
		got := test()
		assert.Equal(t, "unreachable", got["error"].(map[string]any)["code"])
	})
}

func TestSyncJobs(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []Job
	runner := func(ctx context.Context, j Job) (JobCounts, []error) {
		mu.Lock()
		seen = append(seen, j)
		mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
			return JobCounts{}, []error{ctx.Err()}
		}
		if j.Type == JobSyncIncidents {
			return JobCounts{Created: j.Limit, Unchanged: 1}, nil
		}
		return JobCounts{Updated: 2, Failed: 1}, []error{errors.New("cmdb_ci abc: name is required")}
	}
	h := newHarness(t, WithJobRunner(runner))

	r := h.admin(http.MethodPost, "/integrations/servicenow/sync-cmdb", nil)
	require.Equal(t, http.StatusNotFound, r.status, "no configuration, no job")

	_, err := h.srv.ConfigureServiceNow(IntegrationConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthBasic,
		Username: "u", Password: "p", IncidentSync: true, CMDBSync: true}, "admin@example.com")
	require.NoError(t, err)

	r = h.admin(http.MethodPost, "/integrations/servicenow/sync-incidents", map[string]any{"limit": 10})
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	incJob := r.decode(t)
	assert.Equal(t, "sync_incidents", incJob["type"])
	assert.Contains(t, []any{"queued", "running"}, incJob["status"])
	assert.EqualValues(t, 10, incJob["limit"])
	assert.Nil(t, incJob["finished_at"])

	r = h.admin(http.MethodPost, "/integrations/servicenow/sync-cmdb", nil)
	require.Equal(t, http.StatusAccepted, r.status)
	cmdbJob := r.decode(t)
	assert.Nil(t, cmdbJob["limit"])

	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done, err := h.srv.WaitJob(ctx, incJob["job_id"].(string))
	require.NoError(t, err)
	assert.Equal(t, JobSucceeded, done.Status)
	_, err = h.srv.WaitJob(ctx, cmdbJob["job_id"].(string))
	require.NoError(t, err)

	got := h.admin(http.MethodGet, "/integrations/servicenow/jobs/"+incJob["job_id"].(string), nil).decode(t)
	assert.Equal(t, "succeeded", got["status"])
	assert.Equal(t, map[string]any{"created": float64(10), "updated": float64(0), "unchanged": float64(1), "failed": float64(0)}, got["counts"])
	assert.NotNil(t, got["started_at"])
	assert.NotNil(t, got["finished_at"])
	assert.Equal(t, []any{}, got["errors"])

	failed := h.admin(http.MethodGet, "/integrations/servicenow/jobs/"+cmdbJob["job_id"].(string), nil).decode(t)
	assert.Equal(t, "failed", failed["status"], "a job that reports an error fails")
	assert.Equal(t, []any{map[string]any{"message": "cmdb_ci abc: name is required"}}, failed["errors"])
	assert.EqualValues(t, 2, failed["counts"].(map[string]any)["updated"])

	mu.Lock()
	require.Len(t, seen, 2, "jobs run one at a time, in order")
	assert.Equal(t, JobSyncIncidents, seen[0].Type)
	assert.Equal(t, "p", seen[0].Config.Password, "the runner gets the configuration with its secrets")
	mu.Unlock()

	assert.Equal(t, http.StatusNotFound, h.admin(http.MethodGet, "/integrations/servicenow/jobs/job_nope", nil).status)
	bad := h.do(call{method: http.MethodPost, path: "/integrations/servicenow/sync-incidents", token: adminToken, body: map[string]any{"limit": 500}, invalid: true})
	assert.Equal(t, http.StatusUnprocessableEntity, bad.status)
}

func TestJobsWithoutRunnerFail(t *testing.T) {
	h := newHarness(t)
	_, err := h.srv.ConfigureServiceNow(IntegrationConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthBasic,
		Username: "u", Password: "p", IncidentSync: true, CMDBSync: false}, "admin@example.com")
	require.NoError(t, err)

	disabled := h.admin(http.MethodPost, "/integrations/servicenow/sync-cmdb", nil)
	require.Equal(t, http.StatusUnprocessableEntity, disabled.status)
	assert.Equal(t, map[string]string{"cmdb_sync": "CMDB sync is disabled in the configuration"}, disabled.details(t))

	r := h.admin(http.MethodPost, "/integrations/servicenow/sync-incidents", nil)
	require.Equal(t, http.StatusAccepted, r.status)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := h.srv.WaitJob(ctx, r.decode(t)["job_id"].(string))
	require.NoError(t, err)
	assert.Equal(t, JobFailed, j.Status)
	assert.Equal(t, 10, j.Limit, "the default limit")
	require.Len(t, j.Errors, 1)
	assert.Contains(t, j.Errors[0], "no job runner is configured")
}

func TestCloseCancelsRunningJobs(t *testing.T) {
	started := make(chan struct{})
	srv, err := New(WithJobRunner(func(ctx context.Context, j Job) (JobCounts, []error) {
		close(started)
		<-ctx.Done()
		return JobCounts{}, []error{ctx.Err()}
	}))
	require.NoError(t, err)
	_, err = srv.ConfigureServiceNow(IntegrationConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthBasic,
		Username: "u", Password: "p", CMDBSync: true}, "admin")
	require.NoError(t, err)
	j, err := srv.StartJob(JobSyncCMDB, 0)
	require.NoError(t, err)
	<-started
	srv.Close() // waits for the runner to return
	got, ok := srv.Job(j.ID)
	require.True(t, ok)
	assert.Equal(t, JobFailed, got.Status)
	assert.Equal(t, []string{"context canceled"}, got.Errors)

	after, err := srv.StartJob(JobSyncCMDB, 0)
	require.NoError(t, err)
	assert.Equal(t, JobFailed, after.Status, "a closed server runs nothing")
}

func TestTestConnectionAgainstTheServiceNowFake(t *testing.T) {
	sn := snow.NewTest(t, snow.WithTLS(),
		snow.WithUser(snow.User{UserName: "stackflow-integration", Password: "pw", Roles: []string{"itil", "rest_api_explorer"}}),
		snow.WithOAuthClient(snow.OAuthClient{ClientID: "cid", ClientSecret: "csecret"}),
	)
	h := newHarness(t, WithServiceNowClient(sn.Client()))
	_, err := h.srv.ConfigureServiceNow(IntegrationConfig{
		InstanceURL: sn.URL(), AuthMethod: AuthOAuth, ClientID: "cid", ClientSecret: "csecret",
		Username: "stackflow-integration", Password: "pw", IncidentSync: true, CMDBSync: true,
	}, "admin@example.com")
	require.NoError(t, err)

	r := h.admin(http.MethodPost, "/integrations/servicenow/test", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	got := r.decode(t)
	assert.Equal(t, true, got["ok"], "body: %s", r.body)
	assert.Nil(t, got["servicenow_version"], "an itil user cannot read sys_properties")
	user := got["user"].(map[string]any)
	assert.Equal(t, "stackflow-integration", user["user_name"])
	assert.Equal(t, []any{"itil", "rest_api_explorer"}, user["roles"])
	tables := got["tables"].([]any)
	require.Len(t, tables, 6, "one probe per mapped table")
	assert.Equal(t, map[string]any{"table": "incident", "read": true, "write": true}, tables[0])

	// An admin may read sys_properties: the version is known.
	_, err = sn.AddUser(snow.User{UserName: "sf-admin", Password: "pw2", Roles: []string{"admin"}})
	require.NoError(t, err)
	_, err = h.srv.ConfigureServiceNow(IntegrationConfig{
		InstanceURL: sn.URL(), AuthMethod: AuthBasic, Username: "sf-admin", Password: "pw2", IncidentSync: true, CMDBSync: true,
	}, "admin@example.com")
	require.NoError(t, err)
	got = h.admin(http.MethodPost, "/integrations/servicenow/test", nil).decode(t)
	assert.Equal(t, true, got["ok"])
	assert.Equal(t, snow.DefaultBuild.Name+" ("+snow.DefaultBuild.Tag+")", got["servicenow_version"])
}
