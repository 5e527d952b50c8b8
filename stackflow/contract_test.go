package stackflow

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stackflow-tech/snowsync/stackflow/contract"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// TestEveryCallMatchesTheContract runs every call of the client against
// the fake through the contract's validating transport: each request the
// client sends and each answer it gets must match openapi.yaml.
func TestEveryCallMatchesTheContract(t *testing.T) {
	t.Parallel()
	runner := func(context.Context, stackflowtest.Job) (stackflowtest.JobCounts, []error) {
		return stackflowtest.JobCounts{Created: 1}, nil
	}
	c, srv, tr := fake(t, stackflowtest.WithJobRunner(runner))
	ctx := ctxT(t)
	now := time.Date(2026, 11, 28, 17, 4, 5, 0, time.UTC)

	ci1, _, err := c.CIs.Create(ctx, CIInput{Name: Ptr("web01"), Class: Ptr("cmdb_ci_linux_server"),
		OperationalStatus: Ptr(OperationalStatusOperational), InstallStatus: Ptr(InstallStatusInstalled), IPAddress: Ptr("10.0.0.1"),
		Source: Ptr("servicenow"), ExternalID: Ptr("ci-1"), ExternalNumber: Ptr("CI001"), Attributes: map[string]any{"rack": "A1"}}, nil)
	require.NoError(t, err)
	ci2, _, err := c.CIs.Create(ctx, CIInput{Name: Ptr("db01")}, &CreateOptions{IdempotencyKey: "contract-ci-2"})
	require.NoError(t, err)
	_, _, err = c.Relationships.Create(ctx, RelationshipInput{ParentID: Ptr(ci1.ID), ChildID: Ptr(ci2.ID), Type: Ptr("Depends on::Used by")}, nil)
	require.NoError(t, err)
	inc, _, err := c.Incidents.Create(ctx, IncidentInput{Title: Ptr("Disk full"), Description: Ptr("line1\r\nline2"),
		State: Ptr(IncidentStateResolved), Priority: Ptr(1), Impact: Ptr(LevelHigh), Urgency: Ptr(LevelLow), CIID: Ptr(ci1.ID),
		ResolvedAt: &now, ClosedAt: &now, Source: Ptr("servicenow"), ExternalID: Ptr("inc-1")}, nil)
	require.NoError(t, err)
	assert.Equal(t, "line1\nline2", inc.Description, "StackFlow normalises line endings")
	_, _, err = c.Problems.Create(ctx, ProblemInput{Title: Ptr("p"), State: Ptr(ProblemStateRootCauseAnalysis), KnownError: Ptr(true)}, nil)
	require.NoError(t, err)
	_, _, err = c.Changes.Create(ctx, ChangeInput{Title: Ptr("c"), Type: Ptr(ChangeTypeStandard), State: Ptr(ChangeStateScheduled),
		Risk: Ptr(ChangeRiskLow), PlannedStart: &now, PlannedEnd: Ptr(now.Add(time.Hour))}, nil)
	require.NoError(t, err)
	_, _, err = c.ServiceRequests.Create(ctx, ServiceRequestInput{Title: Ptr("r"), State: Ptr(ServiceRequestStateOpen),
		Approval: Ptr(ApprovalRequested), RequestedFor: Ptr("jane"), DueDate: &now}, nil)
	require.NoError(t, err)

	_, _, err = c.Incidents.Update(ctx, inc.ID, IncidentInput{Assignee: Ptr("jane"), Clear: []string{"resolved_at", "closed_at", "priority"},
		Attributes: map[string]any{"k": "v"}}, &UpdateOptions{IfVersion: inc.Version})
	require.NoError(t, err)
	_, _, err = c.Records(ModuleIncidents).Update(ctx, inc.ID, Fields{"attributes": nil, "category": ""}, nil)
	require.NoError(t, err)
	for _, m := range Modules() {
		recs, _, err := c.Records(m).List(ctx, &ListOptions{Limit: 1})
		require.NoError(t, err, "module %s", m)
		require.NotEmpty(t, recs)
		_, _, err = c.Records(m).Get(ctx, recs[0].ID())
		require.NoError(t, err)
	}
	_, _, err = c.Incidents.List(ctx, &ListOptions{Source: "servicenow", ExternalIDs: []string{"inc-1", "inc-2"},
		UpdatedSince: now.Add(-time.Hour), IncludeDeleted: true, Limit: 1000})
	require.NoError(t, err)
	_, _, err = c.Incidents.BulkUpsert(ctx, []IncidentInput{{Source: Ptr("servicenow"), ExternalID: Ptr("inc-1"), Title: Ptr("t2")},
		{Source: Ptr("servicenow"), ExternalID: Ptr("inc-9"), Title: Ptr("new")}}, nil)
	require.NoError(t, err)
	_, _, err = c.Records(ModuleRelationships).BulkUpsert(ctx, []Fields{{"source": "servicenow", "external_id": "rel-1",
		"parent_id": ci2.ID, "child_id": ci1.ID, "type": "Runs on::Runs"}}, nil)
	require.NoError(t, err)
	_, err = c.CIs.Delete(ctx, ci2.ID)
	require.NoError(t, err)
	_, _, err = c.Incidents.Get(ctx, "inc_does_not_exist")
	require.ErrorIs(t, err, ErrNotFound)

	_, _, err = c.Integrations.ServiceNow.Put(ctx, &ServiceNowConfig{InstanceURL: "https://acme.service-now.com", AuthMethod: AuthOAuth,
		ClientID: "id", ClientSecret: clientSecret, Username: "u", Password: userPassword, IncidentSync: Ptr(true), CMDBSync: Ptr(false),
		SyncIntervalMinutes: 10, CMDBSyncIntervalMinutes: 120, TableMappings: DefaultTableMappings(),
		Filters:       map[string]string{"cmdb_ci": "active=true"},
		FieldMappings: []FieldMapping{{"incident", "caller_id.email", "attributes.caller_email", DirectionToStackFlow}}})
	require.NoError(t, err)
	_, _, err = c.Integrations.ServiceNow.Get(ctx)
	require.NoError(t, err)
	_, _, err = c.Integrations.ServiceNow.SyncCMDB(ctx)
	require.ErrorIs(t, err, ErrValidation, "CMDB sync is off")
	job, _, err := c.Integrations.ServiceNow.SyncIncidents(ctx, 7)
	require.NoError(t, err)
	_, err = c.Integrations.ServiceNow.WaitJob(ctx, job.ID, time.Millisecond)
	require.NoError(t, err)

	assert.Empty(t, tr.Violations(), "no exchange broke the contract")
	assert.Positive(t, srv.RequestCount(nil))
}

// TestTheContractCatchesMismatches proves the contract check is not a
// rubber stamp: a request with a field the API does not have, and an answer
// missing required fields, are both reported.
func TestTheContractCatchesMismatches(t *testing.T) {
	t.Parallel()
	doc, err := contract.Load()
	require.NoError(t, err)

	srv := stackflowtest.NewServer(t)
	tr := contract.NewTransport(doc, srv.Client().Transport)
	c, err := NewClient(srv.BaseURL(), WithToken(srv.Token), WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	_, _, err = c.Records(ModuleIncidents).Create(ctxT(t), Fields{"title": "x", "severity": "high"}, nil)
	require.ErrorIs(t, err, ErrValidation, "StackFlow refuses unknown fields too")
	v := tr.Unexpected()
	require.Len(t, v, 1)
	assert.Equal(t, contract.KindRequest, v[0].Kind)
	assert.Contains(t, v[0].Err.Error(), "severity")

	api, mux := serve(t)
	mux.HandleFunc("GET /incidents/inc_1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"4"`)
		writeJSON(w, http.StatusOK, strings.Replace(incidentJSON, `"reporter":"bob",`, ``, 1))
	})
	tr2 := contract.NewTransport(doc, api.Client().Transport)
	c2, err := NewClient(api.URL+"/prod/api", WithToken(testToken), WithHTTPClient(&http.Client{Transport: tr2}))
	require.NoError(t, err)
	_, _, err = c2.Incidents.Get(ctxT(t), "inc_1")
	require.NoError(t, err, "the client reads what it can")
	v = tr2.Unexpected()
	require.Len(t, v, 1)
	assert.Equal(t, contract.KindResponse, v[0].Kind)
	assert.Contains(t, v[0].Err.Error(), "reporter")
}
