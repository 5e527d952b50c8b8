package stackflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	clientSecret = "cs-9f8e7d6c5b4a"
	userPassword = "pw-Str0ng!2026"
)

const configJSON = `{"instance_url":"https://acme.service-now.com","auth_method":"oauth","client_id":"abc123",
"client_secret_set":true,"username":"stackflow-integration","password_set":true,"incident_sync":true,"cmdb_sync":false,
"sync_interval_minutes":5,"cmdb_sync_interval_minutes":60,
"table_mappings":[{"table":"incident","module":"incidents","direction":"bidirectional"}],
"filters":{"cmdb_ci":"active=true"},"field_mappings":[],"updated_at":"2026-11-28T17:04:05.000Z","updated_by":"admin"}`

func TestGetReadsTheConfigurationWithoutSecrets(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /integrations/servicenow", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, configJSON)
	})
	cfg, _, err := c.Integrations.ServiceNow.Get(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "https://acme.service-now.com", cfg.InstanceURL)
	assert.Equal(t, AuthOAuth, cfg.AuthMethod)
	assert.True(t, cfg.ClientSecretSet)
	assert.True(t, cfg.PasswordSet)
	assert.Empty(t, cfg.ClientSecret)
	assert.True(t, cfg.IncidentSyncEnabled())
	assert.False(t, cfg.CMDBSyncEnabled())
	assert.Equal(t, []TableMapping{{"incident", ModuleIncidents, DirectionBidirectional}}, cfg.TableMappings)
	assert.Equal(t, map[string]string{"cmdb_ci": "active=true"}, cfg.Filters)
	assert.Equal(t, "admin", cfg.UpdatedBy)
	assert.NoError(t, cfg.Validate(), "a configuration read back validates: its secrets are held by StackFlow")
}

func TestGetFailsUntilConfigured(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /integrations/servicenow", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "the ServiceNow integration is not configured")
	})
	_, _, err := c.Integrations.ServiceNow.Get(ctxT(t))
	require.ErrorIs(t, err, ErrNotFound)
}

func TestPutSendsTheConfigurationWithItsSecrets(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("PUT /integrations/servicenow", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, http.StatusOK, configJSON)
	})
	cfg := &ServiceNowConfig{
		InstanceURL: "https://acme.service-now.com", AuthMethod: AuthOAuth, ClientID: "abc123",
		ClientSecret: clientSecret, Username: "stackflow-integration", Password: userPassword,
		CMDBSync: Ptr(false), Filters: map[string]string{"cmdb_ci": "active=true"},
		ClientSecretSet: true, UpdatedBy: "ignored",
	}
	saved, _, err := c.Integrations.ServiceNow.Put(ctxT(t), cfg)
	require.NoError(t, err)
	assert.True(t, saved.ClientSecretSet)
	_, body := rec.get(0)
	assert.JSONEq(t, `{"instance_url":"https://acme.service-now.com","auth_method":"oauth","client_id":"abc123",
		"client_secret":"`+clientSecret+`","username":"stackflow-integration","password":"`+userPassword+`",
		"cmdb_sync":false,"filters":{"cmdb_ci":"active=true"}}`, body,
		"secrets are sent, read-only fields are not, unset fields take StackFlow's defaults")

	_, _, err = c.Integrations.ServiceNow.Put(ctxT(t), &ServiceNowConfig{
		InstanceURL: "https://acme.service-now.com", AuthMethod: AuthBasic, Username: "u", PasswordSet: true,
		ClearClientSecret: true, TableMappings: []TableMapping{}, FieldMappings: []FieldMapping{},
	})
	require.NoError(t, err)
	_, body = rec.get(1)
	assert.JSONEq(t, `{"instance_url":"https://acme.service-now.com","auth_method":"basic_auth","username":"u",
		"client_secret":null,"table_mappings":[],"field_mappings":[]}`, body,
		"an omitted password keeps the stored one, a cleared secret is null, empty lists are sent")
}

func TestPutValidatesBeforeSending(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	_, _, err := c.Integrations.ServiceNow.Put(ctxT(t), &ServiceNowConfig{AuthMethod: AuthBasic, Username: "u", Password: userPassword})
	require.ErrorIs(t, err, ErrValidation)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, []string{"instance_url"}, ve.Fields())
	assert.NotContains(t, err.Error(), userPassword)
	_, _, err = c.Integrations.ServiceNow.Put(ctxT(t), nil)
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
	assert.Zero(t, calls.Load())
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1025)
	cases := []struct {
		name string
		cfg  ServiceNowConfig
		want []string // fields, in order
	}{
		{"a complete basic configuration", ServiceNowConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthBasic, Username: "u", Password: "p"}, nil},
		{"a loopback test instance over http", ServiceNowConfig{InstanceURL: "http://127.0.0.1:8080", AuthMethod: AuthBasic, Username: "u", Password: "p"}, nil},
		{"nothing at all", ServiceNowConfig{}, []string{"instance_url", "auth_method"}},
		{"oauth without credentials", ServiceNowConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthOAuth},
			[]string{"client_id", "client_secret", "username", "password"}},
		{"oauth with stored secrets", ServiceNowConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthOAuth,
			ClientID: "id", Username: "u", ClientSecretSet: true, PasswordSet: true}, nil},
		{"a stored password being removed", ServiceNowConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthBasic,
			Username: "u", PasswordSet: true, ClearPassword: true}, []string{"password"}},
		{"plain http elsewhere, an unknown method, a long password", ServiceNowConfig{InstanceURL: "http://acme.service-now.com",
			AuthMethod: "ntlm", Password: long}, []string{"instance_url", "auth_method", "password"}},
		{"a URL with a query", ServiceNowConfig{InstanceURL: "https://acme.service-now.com/?x=1", AuthMethod: AuthBasic, Username: "u", Password: "p"}, []string{"instance_url"}},
		{"bad intervals", ServiceNowConfig{InstanceURL: "https://a.service-now.com", AuthMethod: AuthBasic, Username: "u", Password: "p",
			SyncIntervalMinutes: 1441, CMDBSyncIntervalMinutes: -1}, []string{"sync_interval_minutes", "cmdb_sync_interval_minutes"}},
		{"bad table mappings", ServiceNowConfig{InstanceURL: "https://a.service-now.com", AuthMethod: AuthBasic, Username: "u", Password: "p",
			TableMappings: []TableMapping{
				{"incident", ModuleIncidents, DirectionBidirectional},
				{"incident", ModuleIncidents, DirectionToStackFlow},
				{"cmdb_ci_linux_server", ModuleCIs, DirectionBidirectional},
				{"u_custom", ModuleIncidents, DirectionReadOnly},
				{"problem", ModuleChanges, "sideways"},
				{"Bad-Name", "", DirectionReadOnly},
			}},
			[]string{"table_mappings[1].table", "table_mappings[2].direction", "table_mappings[3].table", "table_mappings[4].module",
				"table_mappings[4].direction", "table_mappings[5].table", "table_mappings[5].module"}},
		{"bad filters", ServiceNowConfig{InstanceURL: "https://a.service-now.com", AuthMethod: AuthBasic, Username: "u", Password: "p",
			Filters: map[string]string{"cmdb_ci": " ", "CMDB": "active=true", "incident": "active=true"}}, []string{"filters.CMDB", "filters.cmdb_ci"}},
		{"bad field mappings", ServiceNowConfig{InstanceURL: "https://a.service-now.com", AuthMethod: AuthBasic, Username: "u", Password: "p",
			FieldMappings: []FieldMapping{
				{"incident", "caller_id.email", "attributes.caller_email", DirectionToStackFlow},
				{"incident", "u_x", "title", DirectionBidirectional},
				{"sys_user", "name", "title", DirectionToStackFlow},
				{"incident", "Bad Field", "priorty", "both"},
				{"cmdb_ci", "name", "attributes.", DirectionReadOnly},
			}},
			[]string{"field_mappings[2].table", "field_mappings[3].servicenow_field", "field_mappings[3].stackflow_field",
				"field_mappings[3].direction", "field_mappings[4].stackflow_field"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.want, ve.Fields())
			for _, f := range tc.want {
				assert.Contains(t, err.Error(), f+": ", "the message names %s", f)
			}
			assert.NotContains(t, err.Error(), long)
		})
	}
}

func TestTheConfigurationNeverShowsItsSecrets(t *testing.T) {
	t.Parallel()
	cfg := ServiceNowConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthOAuth, ClientID: "abc",
		ClientSecret: clientSecret, Username: "u", Password: userPassword}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("saving", "cfg", cfg)
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v|%+v|%#v|%s", cfg, cfg, cfg, &cfg), logs.String(), string(b)} {
		assert.NotContains(t, s, clientSecret)
		assert.NotContains(t, s, userPassword)
		assert.Contains(t, s, "acme.service-now.com")
	}
	assert.Contains(t, cfg.String(), "ClientSecret:REDACTED")
	assert.Contains(t, logs.String(), `"password":"REDACTED"`)
}

func TestTestConnectionReadsTheResult(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("POST /integrations/servicenow/test", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, http.StatusOK, `{"ok":true,"servicenow_version":"Yokohama (glide-yokohama-12-18-2024__patch3)",
			"user":{"user_name":"stackflow-integration","sys_id":"6816f79cc0a8016401c5a33be04be441","roles":["itil","rest_api_explorer"]},
			"tables":[{"table":"incident","read":true,"write":true},{"table":"cmdb_ci","read":true,"write":false}],"error":null}`)
	})
	res, _, err := c.Integrations.ServiceNow.Test(ctxT(t))
	require.NoError(t, err)
	_, body := rec.get(0)
	assert.Empty(t, body, "Test Connection has no body")
	assert.True(t, res.OK)
	assert.Equal(t, "Yokohama (glide-yokohama-12-18-2024__patch3)", res.ServiceNowVersion)
	require.NotNil(t, res.User)
	assert.Equal(t, []string{"itil", "rest_api_explorer"}, res.User.Roles)
	assert.Equal(t, []TableAccess{{"incident", true, true}, {"cmdb_ci", true, false}}, res.Tables)
	assert.Nil(t, res.Error)
}

func TestTheIntegrationHubNeedsSuperAdmin(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("POST /integrations/servicenow/test", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "forbidden", "the Integration Hub needs the super_admin role")
	})
	_, _, err := c.Integrations.ServiceNow.Test(ctxT(t))
	require.ErrorIs(t, err, ErrForbidden)
	assert.Contains(t, err.Error(), "needs a token with the super_admin role")
}

const jobJSON = `{"job_id":"job_1","type":"sync_incidents","status":"%s","limit":10,"created_at":"2026-11-28T17:04:05.000Z",
"started_at":null,"finished_at":null,"counts":{"created":%d,"updated":0,"unchanged":0,"failed":%d},"errors":[%s]}`

func TestSyncCallsStartJobs(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rec recorder
	mux.HandleFunc("POST /integrations/servicenow/{what}", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.PathValue("what") == "sync-cmdb" {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "CMDB sync is disabled")
			return
		}
		writeJSON(w, http.StatusAccepted, fmt.Sprintf(jobJSON, "queued", 0, 0, ""))
	})
	mux.HandleFunc("GET /integrations/servicenow/jobs/job_1", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeJSON(w, http.StatusOK, fmt.Sprintf(jobJSON, "running", 3, 0, ""))
	})
	job, resp, err := c.Integrations.ServiceNow.SyncIncidents(ctxT(t), 10)
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	assert.Equal(t, "job_1", job.ID)
	assert.Equal(t, JobQueued, job.Status)
	assert.Equal(t, 10, job.Limit)
	req, body := rec.get(0)
	assert.Equal(t, "/prod/api/integrations/servicenow/sync-incidents", req.RequestURI)
	assert.JSONEq(t, `{"limit":10}`, body)

	_, _, err = c.Integrations.ServiceNow.SyncIncidents(ctxT(t), 0)
	require.NoError(t, err)
	_, body = rec.get(1)
	assert.Empty(t, body, "0 leaves the limit to StackFlow")

	_, _, err = c.Integrations.ServiceNow.SyncIncidents(ctxT(t), 101)
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)

	_, _, err = c.Integrations.ServiceNow.SyncCMDB(ctxT(t))
	require.ErrorIs(t, err, ErrValidation)
	req, _ = rec.get(2)
	assert.Equal(t, "/prod/api/integrations/servicenow/sync-cmdb", req.RequestURI)

	job, _, err = c.Integrations.ServiceNow.Job(ctxT(t), "job_1")
	require.NoError(t, err)
	assert.Equal(t, JobRunning, job.Status)
	assert.Equal(t, 3, job.Counts.Created)
	assert.False(t, job.Done())
	assert.Equal(t, 4, rec.count())
}

func TestWaitJobPollsUntilTheJobEnds(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /integrations/servicenow/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.PathValue("id") == "job_bad":
			writeJSON(w, http.StatusOK, fmt.Sprintf(jobJSON, "failed", 1, 2, `{"message":"INC001: title is required"},{"message":"INC002: bad priority"}`))
		case n < 3:
			writeJSON(w, http.StatusOK, fmt.Sprintf(jobJSON, "running", 0, 0, ""))
		default:
			writeJSON(w, http.StatusOK, fmt.Sprintf(jobJSON, "succeeded", 10, 0, ""))
		}
	})
	job, err := c.Integrations.ServiceNow.WaitJob(ctxT(t), "job_1", time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, JobSucceeded, job.Status)
	assert.Equal(t, 10, job.Counts.Created)
	assert.EqualValues(t, 3, calls.Load())

	job, err = c.Integrations.ServiceNow.WaitJob(ctxT(t), "job_bad", time.Millisecond)
	var jf *JobFailedError
	require.ErrorAs(t, err, &jf)
	assert.Equal(t, JobFailed, job.Status)
	assert.Equal(t, "stackflow: sync job job_1 (sync_incidents) failed: 1 created, 0 updated, 0 unchanged, 2 failed: INC001: title is required (and 1 more)", err.Error())

	_, err = c.Integrations.ServiceNow.WaitJob(ctxT(t), "job_1", -time.Second)
	var in *InvalidInputError
	require.ErrorAs(t, err, &in)
}
