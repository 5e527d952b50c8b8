package stackflowtest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/stackflow/contract"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client returns an HTTP client whose traffic is checked against the
// contract for the rest of the test.
func client(t *testing.T, srv *stackflowtest.Server) *http.Client {
	return &http.Client{Transport: contract.NewTestTransport(t, srv.Client().Transport)}
}

func do(t *testing.T, c *http.Client, method, url, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var v map[string]any
	if len(data) > 0 {
		require.NoError(t, json.Unmarshal(data, &v), "body: %s", data)
	}
	return resp.StatusCode, resp.Header, v
}

func TestNewServerServesTheGuidesURLs(t *testing.T) {
	clock := stackflowtest.NewManualClock(time.Date(2026, 11, 28, 17, 4, 5, 0, time.UTC))
	srv := stackflowtest.NewServer(t, stackflowtest.WithClock(clock))
	c := client(t, srv)
	assert.True(t, strings.HasSuffix(srv.BaseURL(), "/prod/api"), "the guide's /prod/api base path")

	status, _, rec := do(t, c, http.MethodPost, srv.BaseURL()+"/incidents", srv.Token, `{"title":"t","source":"servicenow","external_id":"SN_SYS_ID"}`)
	require.Equal(t, http.StatusCreated, status)
	assert.Equal(t, "2026-11-28T17:04:05.000Z", rec["created_at"], "timestamps follow the clock")
	assert.Equal(t, stackflowtest.DefaultSubject, rec["updated_by"])

	status, _, page := do(t, c, http.MethodGet, srv.BaseURL()+"/incidents?source=servicenow&external_id=SN_SYS_ID", srv.Token, "")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, page["data"], 1)

	status, _, _ = do(t, c, http.MethodPost, srv.BaseURL()+"/integrations/servicenow/sync-cmdb", srv.Token, "")
	assert.Equal(t, http.StatusNotFound, status, "the guide's manual sync needs a saved configuration first")
}

func TestOptionsAndTokens(t *testing.T) {
	srv := stackflowtest.NewServer(t,
		stackflowtest.WithoutDefaultToken(),
		stackflowtest.WithToken("reader", "auditor", stackflowtest.RoleViewer),
		stackflowtest.WithRateLimit(2, time.Hour),
		stackflowtest.WithBasePath("/dev/api"),
	)
	c := client(t, srv)
	assert.Empty(t, srv.Token)
	assert.Equal(t, srv.URL+"/dev/api", srv.BaseURL())

	req, err := http.NewRequestWithContext(contract.ExpectInvalidRequest(context.Background()), http.MethodGet, srv.BaseURL()+"/incidents", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+stackflowtest.DefaultToken)
	resp, err := c.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the default token is off")

	status, _, _ := do(t, c, http.MethodPost, srv.BaseURL()+"/incidents", "reader", `{"title":"t"}`)
	assert.Equal(t, http.StatusForbidden, status, "a viewer cannot write")
	status, _, _ = do(t, c, http.MethodGet, srv.BaseURL()+"/incidents", "reader", "")
	assert.Equal(t, http.StatusOK, status)
	status, h, _ := do(t, c, http.MethodGet, srv.BaseURL()+"/incidents", "reader", "")
	assert.Equal(t, http.StatusTooManyRequests, status, "the third request of the hour is over the limit")
	assert.NotEmpty(t, h.Get("Retry-After"))

	_, err = stackflowtest.Start(stackflowtest.WithRateLimit(0, time.Second))
	assert.Error(t, err, "bad options are reported")
}

func TestSeedInspectEditAndFaults(t *testing.T) {
	srv := stackflowtest.NewServer(t)
	c := client(t, srv)
	cis, err := srv.Seed(stackflowtest.CMDBCIs,
		map[string]any{"name": "web01", "source": "servicenow", "external_id": "a"},
		map[string]any{"name": "db01", "source": "servicenow", "external_id": "b"},
	)
	require.NoError(t, err)
	_, err = srv.Seed(stackflowtest.CMDBRelationships, map[string]any{"parent_id": cis[0].ID, "child_id": cis[1].ID, "type": "Depends on::Used by"})
	require.NoError(t, err)

	_, err = srv.Create(stackflowtest.CMDBCIs, map[string]any{"name": ""}, "jane")
	details, ok := stackflowtest.IsValidationError(err)
	require.True(t, ok)
	assert.Equal(t, []stackflowtest.Detail{{Field: "name", Message: "must not be empty"}}, details)

	edited, err := srv.Update(stackflowtest.CMDBCIs, cis[0].ID, map[string]any{"environment": "production"}, "jane")
	require.NoError(t, err)
	assert.EqualValues(t, 2, edited.Version)
	assert.Equal(t, "jane", edited.UpdatedBy)

	srv.InjectError(http.MethodGet, "/cmdb/cis", http.StatusInternalServerError, 1)
	status, _, body := do(t, c, http.MethodGet, srv.BaseURL()+"/cmdb/cis", srv.Token, "")
	require.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "internal", body["error"].(map[string]any)["code"])

	// Times -1: Go's transport silently retries a GET once on a reused
	// connection that was reset.
	srv.AddFault(stackflowtest.Fault{Method: http.MethodGet, Path: "/cmdb/relationships", Kind: stackflowtest.FaultReset, Times: -1})
	req, err := http.NewRequest(http.MethodGet, srv.BaseURL()+"/cmdb/relationships", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	_, err = srv.Client().Do(req) //nolint:bodyclose // fails before a response
	require.Error(t, err, "AddFault paths are relative to the base path")
	srv.ClearFaults()
	srv.ResetRequests()

	status, _, page := do(t, c, http.MethodGet, srv.BaseURL()+"/cmdb/cis", srv.Token, "")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, page["data"], 2)
	assert.Equal(t, 1, srv.RequestCount(nil))
	assert.Equal(t, "/prod/api/cmdb/cis", srv.Requests()[0].Path)
	srv.ResetRequests()
	assert.Empty(t, srv.Requests())

	n, err := srv.Count(stackflowtest.CMDBRelationships, false)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, srv.Delete(stackflowtest.CMDBCIs, cis[1].ID, "jane"))
	got, ok := srv.Record(stackflowtest.CMDBCIs, cis[1].ID)
	require.True(t, ok)
	assert.True(t, got.Deleted())
}

func TestJobRunnerHookAndWebhooks(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var sigs []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		sigs = append(sigs, r.Header.Get("X-StackFlow-Signature"))
		mu.Unlock()
	}))
	defer hook.Close()

	// The runner plays the syncer: it writes through the test-side API.
	var srv *stackflowtest.Server
	runner := func(ctx context.Context, j stackflowtest.Job) (stackflowtest.JobCounts, []error) {
		_, err := srv.Create(stackflowtest.Incidents, map[string]any{"title": "imported", "source": "servicenow", "external_id": "x"}, "integration")
		if err != nil {
			return stackflowtest.JobCounts{Failed: 1}, []error{err}
		}
		return stackflowtest.JobCounts{Created: 1}, nil
	}
	srv = stackflowtest.NewServer(t, stackflowtest.WithJobRunner(runner), stackflowtest.WithHTTPInstanceURLs())
	_, err := srv.Subscribe(hook.URL, "secret")
	require.NoError(t, err)
	_, err = srv.ConfigureServiceNow(stackflowtest.IntegrationConfig{
		InstanceURL: "http://snow.local", AuthMethod: "basic_auth", Username: "u", Password: "p", IncidentSync: true,
	}, "admin")
	require.NoError(t, err, "WithHTTPInstanceURLs accepts http:// instances")

	c := client(t, srv)
	status, _, job := do(t, c, http.MethodPost, srv.BaseURL()+"/integrations/servicenow/sync-incidents", srv.Token, `{"limit":10}`)
	require.Equal(t, http.StatusAccepted, status)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done, err := srv.WaitJob(ctx, job["job_id"].(string))
	require.NoError(t, err)
	assert.Equal(t, stackflowtest.JobSucceeded, done.Status)
	assert.Equal(t, 1, done.Counts.Created)

	require.NoError(t, srv.FlushWebhooks(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, bodies, 1)
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write(bodies[0])
	assert.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), sigs[0])
	assert.Contains(t, string(bodies[0]), `"event":"incident.created"`)
	assert.Len(t, srv.Deliveries(), 1)
}
