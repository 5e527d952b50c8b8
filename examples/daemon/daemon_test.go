package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/examples/internal/demo"
	"github.com/stackflow-tech/snowsync/internal/pgtest"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
	"github.com/stackflow-tech/snowsync/syncer/pgstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }

// syncBuffer is an io.Writer the daemon and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// Secrets the test gives the daemon; none may ever show in its output.
const (
	snPassword    = "pw-Zx81-never-logged"
	sfToken       = "sf-token-Q93-never-logged"
	webhookSecret = "whsec-never-logged-7f1"
)

// fakes are a fake ServiceNow and a fake StackFlow on one manual clock,
// seeded with the small demo data set, with an integration user and token
// whose secrets the test can look for.
type fakes struct {
	clock *servicenowtest.ManualClock
	sn    *servicenowtest.Server
	sf    *stackflowtest.Server
}

func startFakes(t *testing.T) *fakes {
	t.Helper()
	clock := servicenowtest.NewManualClock(time.Now().UTC().Truncate(time.Second))
	f := &fakes{clock: clock,
		sn: servicenowtest.NewServer(t, servicenowtest.WithClock(clock),
			servicenowtest.WithUser(servicenowtest.User{UserName: "svc.snowsync", Password: snPassword, Email: "svc.snowsync@example.com", Roles: []string{"admin"}})),
		sf: stackflowtest.NewServer(t, stackflowtest.WithClock(clock), stackflowtest.WithToken(sfToken, "snowsync", stackflowtest.RoleAgent)),
	}
	seeded, err := demo.SeedServiceNow(f.sn, demo.SmallSize())
	require.NoError(t, err)
	require.NoError(t, demo.SeedStackFlow(f.sf, demo.SmallSize(), seeded))
	clock.Advance(time.Minute) // past the safety lag of StackFlow's seeded tickets
	return f
}

// configFor writes a configuration for the fakes into a new directory.
func configFor(t *testing.T, f *fakes, extra string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "webhook.secret"), []byte(webhookSecret+"\n"), 0o600))
	yaml := fmt.Sprintf(`
servicenow:
  instance_url: %s
  auth_method: basic_auth
  username: svc.snowsync
  password_env: SN_PASSWORD
stackflow:
  base_url: %s
  token_env: SF_TOKEN
  webhook_secret_file: webhook.secret
state_path: %s
listen_address: 127.0.0.1:0
log_level: debug
%s`, f.sn.URL(), f.sf.BaseURL(), filepath.Join(dir, "state.db"), extra)
	path = filepath.Join(dir, "snowsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path, dir
}

var daemonEnv = env(map[string]string{"SN_PASSWORD": snPassword, "SF_TOKEN": sfToken})

// daemonProc is run running in a goroutine.
type daemonProc struct {
	url            string
	stdout, stderr *syncBuffer
	done           chan int
	cancel         context.CancelFunc
}

func startDaemon(t *testing.T, getenv func(string) string, args ...string) *daemonProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &daemonProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1), cancel: cancel}
	go func() { p.done <- run(ctx, args, getenv, p.stdout, p.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Error("the daemon did not stop")
		}
	})
	listening := regexp.MustCompile(`listening on (http://\S+)`)
	require.Eventually(t, func() bool {
		if m := listening.FindStringSubmatch(p.stdout.String()); m != nil {
			p.url = m[1]
			return true
		}
		select {
		case code := <-p.done:
			p.done <- code
			t.Fatalf("the daemon exited with %d:\n%s\n%s", code, p.stdout, p.stderr)
		default:
		}
		return false
	}, 30*time.Second, 10*time.Millisecond)
	return p
}

func (p *daemonProc) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(body)
}

func (p *daemonProc) post(t *testing.T, path string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

type health struct {
	Status string `json:"status"`
	Tables map[string]struct {
		Healthy     bool       `json:"healthy"`
		LastSuccess *time.Time `json:"last_success"`
		LagSeconds  *float64   `json:"lag_seconds"`
		LastError   string     `json:"last_error"`
		DLQ         struct{ Retrying, Deferred, Permanent int }
	} `json:"tables"`
}

// sfIncident returns the live StackFlow incident of a ServiceNow sys_id.
func sfIncident(t *testing.T, f *fakes, sysID string) (stackflowtest.Record, bool) {
	recs, err := f.sf.Records(stackflowtest.Incidents)
	require.NoError(t, err)
	for _, r := range recs {
		if r.ExternalID == sysID && !r.Deleted() {
			return r, true
		}
	}
	return stackflowtest.Record{}, false
}

// metricLine is one sample line of the text exposition format.
var metricLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? -?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$`)

func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if name, value, ok := strings.Cut(line, " "); ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatalf("no series %s in\n%s", series, body)
	return 0
}

func TestDaemonSyncsServesAndStopsCleanly(t *testing.T) {
	f := startFakes(t)
	path, dir := configFor(t, f, "")
	p := startDaemon(t, daemonEnv, "-config", path)

	// Healthy once every table had a successful run.
	var h health
	require.Eventually(t, func() bool {
		code, _, body := p.get(t, "/healthz")
		h = health{}
		require.NoError(t, json.Unmarshal([]byte(body), &h), body)
		return code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "healthz never became 200:\n%s", p.stderr)
	assert.Equal(t, "ok", h.Status)
	require.Len(t, h.Tables, 6)
	for table, th := range h.Tables {
		assert.True(t, th.Healthy, table)
		assert.NotNil(t, th.LastSuccess, table)
		assert.NotNil(t, th.LagSeconds, table)
		assert.Empty(t, th.LastError, table)
		assert.Zero(t, th.DLQ.Deferred+th.DLQ.Retrying+th.DLQ.Permanent, "%s: the first cycle runs CIs before tickets, so nothing waits", table)
	}

	// Metrics, in the exposition format.
	code, hdr, body := p.get(t, "/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", hdr.Get("Content-Type"))
	declared := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			fields := strings.Fields(name)
			require.Len(t, fields, 2, line)
			assert.Contains(t, []string{"counter", "gauge"}, fields[1])
			declared[fields[0]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		assert.Regexp(t, metricLine, line)
		name, _, _ := strings.Cut(line, "{")
		assert.True(t, declared[strings.Fields(name)[0]], "%s has a # TYPE line before it", line)
	}
	cis := len(f.sn.Records("cmdb_ci"))
	assert.EqualValues(t, cis, metricValue(t, body, `snowsync_records_total{table="cmdb_ci",direction="servicenow_to_stackflow",outcome="created"}`))
	assert.Positive(t, metricValue(t, body, `snowsync_api_calls_total{table="incident",side="servicenow"}`))
	assert.Positive(t, metricValue(t, body, `snowsync_api_calls_total{table="incident",side="stackflow"}`))
	assert.Positive(t, metricValue(t, body, `snowsync_runs_total{table="incident",result="success"}`))
	assert.Positive(t, metricValue(t, body, `snowsync_last_success_timestamp_seconds{table="cmdb_rel_ci"}`))
	assert.Zero(t, metricValue(t, body, `snowsync_dlq_entries{table="incident",state="permanent"}`))

	// A manual trigger syncs a ServiceNow change now.
	inc := f.sn.Records("incident")[0]
	_, err := f.sn.Update("incident", inc["sys_id"], map[string]string{"short_description": "Changed in ServiceNow, synced by a trigger"})
	require.NoError(t, err)
	f.clock.Advance(time.Minute)
	code, resp := p.post(t, "/sync/incident", nil, nil)
	assert.Equal(t, http.StatusAccepted, code, resp)
	require.Eventually(t, func() bool {
		r, ok := sfIncident(t, f, inc["sys_id"])
		return ok && r.Fields["title"] == "Changed in ServiceNow, synced by a trigger"
	}, 20*time.Second, 20*time.Millisecond)
	code, resp = p.post(t, "/sync/u_no_such_table", nil, nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, resp, "u_no_such_table")
	code, _ = p.post(t, "/sync/cmdb", nil, nil)
	assert.Equal(t, http.StatusAccepted, code, "the guide's sync-cmdb")

	// A signed webhook syncs that record at once. The clock does not move:
	// a scheduled sweep would leave the edit for later (the safety lag), so
	// only the webhook can bring it to ServiceNow.
	other := f.sn.Records("incident")[1]
	target, ok := sfIncident(t, f, other["sys_id"])
	require.True(t, ok)
	edited, err := f.sf.Update(stackflowtest.Incidents, target.ID, map[string]any{"title": "Changed in StackFlow, synced by a webhook"}, "agent.smith")
	require.NoError(t, err)
	event, err := json.Marshal(map[string]any{"event": "incident.updated", "module": "incidents", "record": edited, "occurred_at": edited.UpdatedAt})
	require.NoError(t, err)
	code, _ = p.post(t, "/webhooks/stackflow", event, signed(event, "not-the-secret"))
	assert.Equal(t, http.StatusUnauthorized, code, "a bad signature is refused")
	code, resp = p.post(t, "/webhooks/stackflow", event, signed(event, webhookSecret))
	assert.Equal(t, http.StatusNoContent, code, resp)
	require.Eventually(t, func() bool {
		r, ok := f.sn.Record("incident", other["sys_id"])
		return ok && r["short_description"] == "Changed in StackFlow, synced by a webhook"
	}, 20*time.Second, 20*time.Millisecond, "the webhook's record reached ServiceNow:\n%s", p.stderr)
	require.Eventually(t, func() bool {
		_, _, body = p.get(t, "/metrics")
		return metricValue(t, body, `snowsync_webhooks_total{result="synced"}`) == 1
	}, 20*time.Second, 20*time.Millisecond, "the webhook path synced it")
	assert.EqualValues(t, 1, metricValue(t, body, `snowsync_webhooks_total{result="refused"}`))
	assert.EqualValues(t, 1, metricValue(t, body, `snowsync_webhooks_total{result="queued"}`))

	// The cancel stands in for SIGTERM (see TestDaemonStopsOnSIGTERM): a
	// clean stop, exit 0, and the state file is closed.
	p.cancel()
	select {
	case code := <-p.done:
		assert.Equal(t, 0, code, p.stderr.String())
		p.done <- code
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	st, err := boltstore.Open(filepath.Join(dir, "state.db"), boltstore.WithOpenTimeout(100*time.Millisecond))
	require.NoError(t, err, "the daemon closed the state file")
	require.NoError(t, st.Close())
	assert.Contains(t, p.stderr.String(), "msg=stopped")

	out := p.stdout.String() + p.stderr.String()
	for _, s := range []string{snPassword, sfToken, webhookSecret} {
		assert.NotContains(t, out, s, "secrets are never logged")
	}
}

// signed returns the headers StackFlow signs a delivery with.
func signed(body []byte, secret string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return http.Header{
		"Content-Type":          {"application/json"},
		"X-Stackflow-Signature": {"sha256=" + hex.EncodeToString(mac.Sum(nil))},
		"X-Stackflow-Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)},
		"X-Stackflow-Delivery":  {"dlv_test_1"},
	}
}

func TestDaemonOnceRunsEveryTableAndExits(t *testing.T) {
	f := startFakes(t)
	path, _ := configFor(t, f, "incident_sync: false\n")
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"-config", path, "-once"}, daemonEnv, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	n, err := f.sf.Count(stackflowtest.CMDBCIs, false)
	require.NoError(t, err)
	assert.Equal(t, len(f.sn.Records("cmdb_ci")), n, "every CI synced")
	n, err = f.sf.Count(stackflowtest.Problems, false)
	require.NoError(t, err)
	assert.Equal(t, len(f.sn.Records("problem")), n, "every problem synced, both ways")
	recs, err := f.sf.Records(stackflowtest.Incidents)
	require.NoError(t, err)
	for _, r := range recs {
		assert.Equal(t, "stackflow", r.Source, "incident_sync: false: no incident came from ServiceNow")
		assert.Empty(t, r.ExternalID, "and none went there")
	}
	assert.NotContains(t, stdout.String(), "listening", "-once serves nothing")
}

func TestDaemonsShareTheirStateInPostgreSQL(t *testing.T) {
	db := pgtest.Database(t)
	f := startFakes(t)
	path, _ := configFor(t, f, "state_postgres_url_env: SNOWSYNC_DB\nstate_postgres_schema: tenant_acme\n")
	// The state goes to PostgreSQL instead of the bbolt file.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(regexp.MustCompile(`(?m)^state_path: .*$`).ReplaceAllString(string(b), "")), 0o600))
	getenv := env(map[string]string{"SN_PASSWORD": snPassword, "SF_TOKEN": sfToken, "SNOWSYNC_DB": db})

	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"-config", path, "-once"}, getenv, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	n, err := f.sf.Count(stackflowtest.CMDBCIs, false)
	require.NoError(t, err)
	assert.Equal(t, len(f.sn.Records("cmdb_ci")), n, "every CI synced")
	assert.NotContains(t, stderr.String()+stdout.String(), db, "the connection string (with its password) is never logged")

	st, err := pgstore.Open(context.Background(), db, pgstore.WithSchema("tenant_acme"))
	require.NoError(t, err)
	defer st.Close()
	stats, err := st.Stats(context.Background())
	require.NoError(t, err)
	pairs := int64(-1)
	for _, ts := range stats.Tables {
		if ts.Name == "pairs" {
			pairs = ts.Rows
		}
	}
	assert.GreaterOrEqual(t, pairs, int64(n), "the pairs are in PostgreSQL")

	// A second run on the same database finds everything synced.
	stdout = syncBuffer{}
	code = run(context.Background(), []string{"-config", path, "-once"}, getenv, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	n2, err := f.sf.Count(stackflowtest.CMDBCIs, false)
	require.NoError(t, err)
	assert.Equal(t, n, n2, "nothing created twice")
}
