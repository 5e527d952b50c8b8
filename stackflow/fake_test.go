package stackflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/stackflow/contract"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// Tests against the fake StackFlow (stackflow/stackflowtest). Every
// request and answer goes through the contract's validating transport.

func isPost(path string) func(stackflowtest.LoggedRequest) bool {
	return func(r stackflowtest.LoggedRequest) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.Path, path)
	}
}

func TestAnIdempotentCreateSurvivesAResetAfterTheWrite(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	srv.AddFault(stackflowtest.Fault{Method: http.MethodPost, Path: "/incidents", Kind: stackflowtest.FaultResetAfterWrite})

	inc, resp, err := c.Incidents.Create(ctxT(t), IncidentInput{Title: Ptr("Disk full"), Source: Ptr("servicenow"), ExternalID: Ptr("sys1")}, nil)
	require.NoError(t, err)
	assert.True(t, resp.Replayed, "the second attempt got the first one's stored answer")
	recs, err := srv.Records(stackflowtest.Incidents)
	require.NoError(t, err)
	require.Len(t, recs, 1, "one record, not two")
	assert.Equal(t, recs[0].ID, inc.ID)
	assert.Equal(t, 2, srv.RequestCount(isPost("/incidents")))
	keys := map[string]bool{}
	for _, r := range srv.Requests() {
		keys[r.Header.Get("Idempotency-Key")] = true
	}
	assert.Len(t, keys, 1, "both attempts carried the same key")
}

func TestAnIdempotentCreateSurvivesATimeoutAfterTheWrite(t *testing.T) {
	t.Parallel()
	srv := stackflowtest.NewServer(t)
	tr := contract.NewTestTransport(t, srv.Client().Transport)
	c, err := NewClient(srv.BaseURL(), WithToken(srv.Token), fastRetry, WithTimeout(400*time.Millisecond),
		WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	srv.AddFault(stackflowtest.Fault{Method: http.MethodPost, Path: "/cmdb/cis", Kind: stackflowtest.FaultDelayAfterWrite, Delay: 10 * time.Second})

	ci, resp, err := c.CIs.Create(ctxT(t), CIInput{Name: Ptr("web01"), Source: Ptr("servicenow"), ExternalID: Ptr("ci-sys-1")}, nil)
	require.NoError(t, err)
	assert.True(t, resp.Replayed)
	n, err := srv.Count(stackflowtest.CMDBCIs, true)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the timed-out attempt wrote; the retry did not write again")
	assert.Equal(t, "web01", ci.Name)
}

func TestBulkUpsertOnTheFakeKeepsInputOrder(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	_, err := srv.Seed(stackflowtest.Incidents,
		map[string]any{"title": "Old title", "source": "servicenow", "external_id": "e-upd"},
		map[string]any{"title": "Same", "source": "servicenow", "external_id": "e-same", "priority": 3},
	)
	require.NoError(t, err)
	in := []IncidentInput{
		{Source: Ptr("servicenow"), ExternalID: Ptr("e-new"), Title: Ptr("Brand new")},
		{Source: Ptr("servicenow"), ExternalID: Ptr("e-upd"), Title: Ptr("New title")},
		{Source: Ptr("servicenow"), ExternalID: Ptr("e-bad"), Title: Ptr("Bad"), Priority: Ptr(9), Impact: Ptr(Level(7))},
		{Source: Ptr("servicenow"), ExternalID: Ptr("e-same"), Title: Ptr("Same"), Priority: Ptr(3)},
		{Source: Ptr("servicenow"), Title: Ptr("No key")},
	}
	// The third record is deliberately invalid: the contract check expects it.
	res, _, err := c.Incidents.BulkUpsert(contract.ExpectInvalidRequest(ctxT(t)), in, nil)
	require.NoError(t, err)
	require.Len(t, res, 5)
	var statuses []UpsertStatus
	for i, r := range res {
		assert.Equal(t, i, r.Index)
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []UpsertStatus{UpsertCreated, UpsertUpdated, UpsertError, UpsertUnchanged, UpsertError}, statuses)
	assert.Equal(t, "Brand new", res[0].Record.Title)
	assert.Equal(t, "New title", res[1].Record.Title)
	assert.EqualValues(t, 2, res[1].Record.Version)
	assert.EqualValues(t, 1, res[3].Record.Version, "unchanged: no version bump")
	require.ErrorIs(t, res[2].Err, ErrValidation)
	var re *RecordError
	require.ErrorAs(t, res[2].Err, &re)
	var fields []string
	for _, d := range re.Details {
		fields = append(fields, d.Field)
	}
	assert.ElementsMatch(t, []string{"priority", "impact"}, fields, "each bad field is named")
	var local *InvalidInputError
	require.ErrorAs(t, res[4].Err, &local)
	n, err := srv.Count(stackflowtest.Incidents, false)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}

func TestBulkUpsertOnTheFakeSplitsLargeInput(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	res, _, err := c.CIs.BulkUpsert(ctxT(t), cis(1100), nil)
	require.NoError(t, err)
	require.Len(t, res, 1100)
	for i, r := range res {
		require.Equal(t, UpsertCreated, r.Status, "record %d", i)
		require.Equal(t, fmt.Sprint("e", i), r.Record.ExternalID, "result %d is record %d's", i, i)
	}
	assert.Equal(t, 3, srv.RequestCount(isPost("/cmdb/cis/bulk-upsert")))
	n, err := srv.Count(stackflowtest.CMDBCIs, false)
	require.NoError(t, err)
	assert.Equal(t, 1100, n)

	again, _, err := c.CIs.BulkUpsert(ctxT(t), cis(1100)[:600], &BulkUpsertOptions{BatchSize: 200})
	require.NoError(t, err)
	assert.Equal(t, UpsertUnchanged, again[599].Status)
	assert.Equal(t, 6, srv.RequestCount(isPost("/cmdb/cis/bulk-upsert")))
}

func TestIfMatchOnTheFake(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	prb, _, err := c.Problems.Create(ctxT(t), ProblemInput{Title: Ptr("Slow disks")}, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, prb.Version)

	prb2, resp, err := c.Problems.Update(ctxT(t), prb.ID, ProblemInput{KnownError: Ptr(true)}, &UpdateOptions{IfVersion: 1})
	require.NoError(t, err)
	assert.EqualValues(t, 2, prb2.Version)
	assert.Equal(t, `"2"`, resp.ETag)

	_, _, err = c.Problems.Update(ctxT(t), prb.ID, ProblemInput{Workaround: Ptr("reboot")}, &UpdateOptions{IfVersion: 1})
	require.ErrorIs(t, err, ErrVersionConflict)
	require.ErrorIs(t, err, ErrConflict)
	got, ok := srv.Record(stackflowtest.Problems, prb.ID)
	require.True(t, ok)
	assert.EqualValues(t, 2, got.Version, "nothing was written")
	assert.Nil(t, got.Fields["workaround"])

	_, err = c.Problems.Delete(ctxT(t), prb.ID)
	require.NoError(t, err)
	del, _, err := c.Problems.Get(ctxT(t), prb.ID)
	require.NoError(t, err)
	assert.True(t, del.IsDeleted())
	_, _, err = c.Problems.Update(ctxT(t), prb.ID, ProblemInput{Workaround: Ptr("x")}, nil)
	require.ErrorIs(t, err, ErrNotFound, "a deleted record cannot be updated")
}

func TestCursorPagingWithConcurrentInserts(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	seed := make([]map[string]any, 25)
	for i := range seed {
		seed[i] = map[string]any{"title": fmt.Sprint("seeded ", i), "source": "servicenow", "external_id": fmt.Sprint("s", i)}
	}
	seeded, err := srv.Seed(stackflowtest.Incidents, seed...)
	require.NoError(t, err)

	seen := map[string]int{}
	var order []string
	i := 0
	for inc, err := range c.Incidents.All(ctxT(t), &ListOptions{Source: "servicenow", Limit: 10}) {
		require.NoError(t, err)
		seen[inc.ID]++
		order = append(order, inc.ID)
		if i < 20 {
			// Someone creates a record and edits one already read while we page.
			_, err := srv.Create(stackflowtest.Incidents, map[string]any{"title": fmt.Sprint("new ", i), "source": "servicenow", "external_id": fmt.Sprint("n", i)}, "jane")
			require.NoError(t, err)
			_, err = srv.Update(stackflowtest.Incidents, seeded[0].ID, map[string]any{"priority": i%5 + 1}, "jane")
			require.NoError(t, err)
		}
		i++
	}
	for _, r := range seeded {
		assert.Equal(t, 1, seen[r.ID], "seeded record %s seen exactly once", r.ID)
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "record %s seen once", id)
	}
	assert.Len(t, seen, 45, "the 20 records created while paging are picked up too")
	assert.True(t, slices.IsSorted(order), "id order throughout")
}

func TestUpdatedSincePagingOnTheFake(t *testing.T) {
	t.Parallel()
	clock := stackflowtest.NewManualClock(time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC))
	c, srv, _ := fake(t, stackflowtest.WithClock(clock))
	for i := range 5 {
		_, err := srv.Seed(stackflowtest.CMDBCIs, map[string]any{"name": fmt.Sprint("host", i)})
		require.NoError(t, err)
		clock.Advance(time.Minute)
	}
	var names []string
	for ci, err := range c.CIs.All(ctxT(t), &ListOptions{UpdatedSince: time.Date(2026, 11, 28, 17, 2, 0, 0, time.UTC), Limit: 2}) {
		require.NoError(t, err)
		names = append(names, ci.Name)
	}
	assert.Equal(t, []string{"host2", "host3", "host4"}, names, "inclusive, in updated_at order")
}

func TestWebhooksFromTheFake(t *testing.T) {
	t.Parallel()
	clock := stackflowtest.NewManualClock(time.Date(2026, 11, 28, 17, 4, 5, 0, time.UTC))
	srv := stackflowtest.NewServer(t, stackflowtest.WithClock(clock), stackflowtest.WithWebhookRetry(1, time.Millisecond))
	tr := contract.NewTestTransport(t, srv.Client().Transport)
	c, err := NewClient(srv.BaseURL(), WithToken(srv.Token), fastRetry, WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)

	var mu sync.Mutex
	var events []*WebhookEvent
	receiver := func(now func() time.Time) string {
		v := &WebhookVerifier{Secret: webhookSecret, Now: now}
		h := v.Handler(func(_ context.Context, ev *WebhookEvent) error {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			return nil
		})
		ts := httptest.NewServer(h)
		t.Cleanup(ts.Close)
		return ts.URL
	}
	_, err = srv.Subscribe(receiver(clock.Now), string(webhookSecret))
	require.NoError(t, err)
	badURL := receiver(clock.Now)
	_, err = srv.Subscribe(badURL, "not-the-secret")
	require.NoError(t, err)
	staleURL := receiver(func() time.Time { return clock.Now().Add(10 * time.Minute) })
	_, err = srv.Subscribe(staleURL, string(webhookSecret))
	require.NoError(t, err)

	inc, _, err := c.Incidents.Create(ctxT(t), IncidentInput{Title: Ptr("Disk full"), Source: Ptr("servicenow"), ExternalID: Ptr("sys1")}, nil)
	require.NoError(t, err)
	require.NoError(t, srv.FlushWebhooks(ctxT(t)))

	mu.Lock()
	require.Len(t, events, 1, "only the good subscription accepted the event")
	ev := events[0]
	mu.Unlock()
	assert.Equal(t, "incident.created", ev.Event)
	assert.Equal(t, ModuleIncidents, ev.Module)
	assert.Equal(t, inc.ID, ev.Record.ID())
	assert.NotEmpty(t, ev.DeliveryID)
	var typed Incident
	require.NoError(t, ev.DecodeRecord(&typed))
	assert.Equal(t, "Disk full", typed.Title)

	status := map[string]int{}
	for _, d := range srv.Deliveries() {
		status[d.URL] = d.Status
	}
	assert.Equal(t, http.StatusUnauthorized, status[badURL], "a bad signature is refused")
	assert.Equal(t, http.StatusUnauthorized, status[staleURL], "a stale timestamp is refused")
}

func TestSecretsAreMaskedOnRead(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	saved, _, err := c.Integrations.ServiceNow.Put(ctxT(t), &ServiceNowConfig{
		InstanceURL: "https://acme.service-now.com/", AuthMethod: AuthOAuth, ClientID: "abc123",
		ClientSecret: clientSecret, Username: "stackflow-integration", Password: userPassword,
		Filters: map[string]string{"cmdb_ci": "active=true^sys_updated_on>=javascript:gs.hoursAgoStart(1)"},
	})
	require.NoError(t, err)
	stored, ok := srv.ServiceNowConfig()
	require.True(t, ok)
	assert.Equal(t, clientSecret, stored.ClientSecret, "the secrets were sent")
	assert.Equal(t, userPassword, stored.Password)

	for _, cfg := range []*ServiceNowConfig{saved, must(c.Integrations.ServiceNow.Get(ctxT(t)))} {
		assert.Empty(t, cfg.ClientSecret)
		assert.Empty(t, cfg.Password)
		assert.True(t, cfg.ClientSecretSet)
		assert.True(t, cfg.PasswordSet)
		assert.Equal(t, "https://acme.service-now.com", cfg.InstanceURL, "the trailing slash is removed")
		assert.True(t, cfg.IncidentSyncEnabled(), "default")
		assert.True(t, cfg.CMDBSyncEnabled(), "default")
		assert.Equal(t, DefaultSyncIntervalMinutes, cfg.SyncIntervalMinutes)
		assert.Equal(t, DefaultCMDBSyncIntervalMinutes, cfg.CMDBSyncIntervalMinutes)
		assert.Equal(t, DefaultTableMappings(), cfg.TableMappings)
		assert.Equal(t, stackflowtest.DefaultSubject, cfg.UpdatedBy)
	}

	// A Put without secrets keeps them; a cleared one is removed.
	saved.ClearPassword = true
	saved.AuthMethod = AuthOAuth
	_, _, err = c.Integrations.ServiceNow.Put(ctxT(t), saved)
	require.ErrorIs(t, err, ErrValidation, "oauth needs the password being removed")
	saved.AuthMethod, saved.ClearPassword, saved.ClearClientSecret = AuthBasic, false, true
	again, _, err := c.Integrations.ServiceNow.Put(ctxT(t), saved)
	require.NoError(t, err)
	assert.True(t, again.PasswordSet)
	assert.False(t, again.ClientSecretSet)
	stored, _ = srv.ServiceNowConfig()
	assert.Equal(t, userPassword, stored.Password)
	assert.Empty(t, stored.ClientSecret)
}

func must[T any](v T, _ *Response, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestValidationErrorsNameEveryFieldOnTheFake(t *testing.T) {
	t.Parallel()
	c, srv, _ := fake(t)
	_, _, err := c.Records(ModuleIncidents).Create(contract.ExpectInvalidRequest(ctxT(t)),
		Fields{"title": " ", "priority": 9, "impact": 0, "state": "open", "severity": "high"}, nil)
	require.ErrorIs(t, err, ErrValidation)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	var fields []string
	for _, d := range apiErr.Details {
		fields = append(fields, d.Field)
	}
	assert.ElementsMatch(t, []string{"title", "priority", "impact", "state", "severity"}, fields)
	for _, f := range fields {
		assert.Contains(t, err.Error(), f+": ")
	}

	// The client's Validate and StackFlow's own check agree on what is wrong.
	bad := []ServiceNowConfig{
		{InstanceURL: "ftp://x", AuthMethod: AuthOAuth, SyncIntervalMinutes: 2000},
		{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthBasic, Username: "u", Password: "p",
			TableMappings: []TableMapping{{"cmdb_ci", ModuleCIs, DirectionBidirectional}, {"incident", ModuleProblems, DirectionToStackFlow}},
			Filters:       map[string]string{"incident": " "},
			FieldMappings: []FieldMapping{{"problem", "x", "title", DirectionToStackFlow}, {"cmdb_ci", "name", "titel", DirectionReadOnly}}},
	}
	for i, cfg := range bad {
		var ve *ValidationError
		require.ErrorAs(t, cfg.Validate(), &ve)
		body, err := cfg.putBody()
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(ctxT(t), http.MethodPut, srv.BaseURL()+"/integrations/servicenow", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, err)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "case %d: %s", i, raw)
		var env struct {
			Error struct {
				Details []FieldError `json:"details"`
			} `json:"error"`
		}
		require.NoError(t, decodeJSON(bytes.NewReader(raw), &env))
		var server []string
		for _, d := range env.Error.Details {
			server = append(server, d.Field)
		}
		assert.ElementsMatch(t, server, ve.Fields(), "case %d: the client names the fields StackFlow names", i)
	}
}

func TestWaitJobOnTheFake(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	runner := func(ctx context.Context, j stackflowtest.Job) (stackflowtest.JobCounts, []error) {
		switch {
		case j.Type == stackflowtest.JobSyncCMDB:
			select { // a long job: it ends when released or when the server closes
			case <-release:
			case <-ctx.Done():
			}
			return stackflowtest.JobCounts{}, nil
		case j.Limit == 3:
			return stackflowtest.JobCounts{Created: 1, Failed: 2}, []error{errors.New("INC0010002: title is required"), errors.New("INC0010003: bad state")}
		}
		return stackflowtest.JobCounts{Created: j.Limit - 1, Unchanged: 1}, nil
	}
	c, srv, tr := fake(t, stackflowtest.WithJobRunner(runner))
	t.Cleanup(func() { close(release) })
	_, _, err := c.Integrations.ServiceNow.SyncIncidents(ctxT(t), 5)
	require.ErrorIs(t, err, ErrNotFound, "nothing is configured yet")
	_, _, err = c.Integrations.ServiceNow.Put(ctxT(t), &ServiceNowConfig{InstanceURL: "https://acme.service-now.com",
		AuthMethod: AuthBasic, Username: "stackflow-integration", Password: userPassword})
	require.NoError(t, err)

	job, _, err := c.Integrations.ServiceNow.SyncIncidents(ctxT(t), 5)
	require.NoError(t, err)
	assert.Equal(t, JobSyncIncidents, job.Type)
	done, err := c.Integrations.ServiceNow.WaitJob(ctxT(t), job.ID, 5*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, JobSucceeded, done.Status)
	assert.Equal(t, JobCounts{Created: 4, Unchanged: 1}, done.Counts)
	require.NotNil(t, done.FinishedAt)

	job, _, err = c.Integrations.ServiceNow.SyncIncidents(ctxT(t), 3)
	require.NoError(t, err)
	done, err = c.Integrations.ServiceNow.WaitJob(ctxT(t), job.ID, 5*time.Millisecond)
	var jf *JobFailedError
	require.ErrorAs(t, err, &jf)
	assert.Equal(t, JobFailed, done.Status)
	assert.Len(t, done.Errors, 2)

	// A long job: the caller gives up while it runs. The context ends as
	// the second poll goes out, so the first poll's state is known.
	job, _, err = c.Integrations.ServiceNow.SyncCMDB(ctxT(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	polls := 0
	c2, err := NewClient(srv.BaseURL(), WithToken(srv.Token), fastRetry, WithHTTPClient(&http.Client{Transport: roundTripFunc(
		func(r *http.Request) (*http.Response, error) {
			if polls++; polls == 2 {
				cancel()
				return nil, r.Context().Err()
			}
			return tr.RoundTrip(r)
		})}))
	require.NoError(t, err)
	last, err := c2.Integrations.ServiceNow.WaitJob(ctx, job.ID, time.Millisecond)
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, last, "the last state seen comes with the error")
	assert.False(t, last.Done())
	assert.Equal(t, 2, polls)

	_, _, err = c.Integrations.ServiceNow.Job(ctxT(t), "job_nope")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestTestConnectionOnTheFake(t *testing.T) {
	t.Parallel()
	c, _, _ := fake(t, stackflowtest.WithHTTPInstanceURLs())
	_, _, err := c.Integrations.ServiceNow.Put(ctxT(t), &ServiceNowConfig{InstanceURL: "http://127.0.0.1:1",
		AuthMethod: AuthBasic, Username: "stackflow-integration", Password: userPassword})
	require.NoError(t, err)
	res, _, err := c.Integrations.ServiceNow.Test(ctxT(t))
	require.NoError(t, err, "ServiceNow problems are a result, not an error")
	assert.False(t, res.OK)
	require.NotNil(t, res.Error)
	assert.Equal(t, "unreachable", res.Error.Code)
	assert.Nil(t, res.User)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
