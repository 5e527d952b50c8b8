package demo

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// synced returns the small demo data set, synced once between two fakes.
func synced(t *testing.T) (*servicenowtest.Server, *stackflowtest.Server, *syncer.Syncer, *Endpoints) {
	t.Helper()
	clock := servicenowtest.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	sn := servicenowtest.NewServer(t, servicenowtest.WithClock(clock))
	sf := stackflowtest.NewServer(t, stackflowtest.WithClock(clock))
	seeded, err := SeedServiceNow(sn, SmallSize())
	require.NoError(t, err)
	require.NoError(t, SeedStackFlow(sf, SmallSize(), seeded))
	assert.Equal(t, 12, seeded.Incidents)
	assert.Equal(t, 2, seeded.StackFlowIncidents)
	assert.Len(t, seeded.CIsByClass, 8, "every CI class")

	var ep Endpoints
	ep.UseServiceNowFake(sn)
	ep.UseStackFlowFake(sf)
	snc, err := ep.ServiceNowClient()
	require.NoError(t, err)
	sfc, err := ep.StackFlowClient()
	require.NoError(t, err)
	s, err := syncer.New(syncer.Config{ServiceNow: snc, StackFlow: sfc, Store: syncer.NewMemStore()})
	require.NoError(t, err)
	clock.Advance(time.Minute)
	ctx := context.Background()
	var reports []*syncer.Report
	for _, tm := range s.Mapping().Tables() {
		rep, err := s.SyncOnce(ctx, tm.Table())
		require.NoError(t, err)
		assert.Zero(t, rep.ToStackFlow.Deferred+rep.ToStackFlow.DeadLettered+rep.ToServiceNow.DeadLettered, rep.String())
		reports = append(reports, rep)
	}
	var out strings.Builder
	require.NoError(t, WriteReports(&out, reports))
	assert.Regexp(t, `(?m)^  incident +12 +0 +0 +2 `, out.String(), "12 incidents to StackFlow, its 2 to ServiceNow")
	assert.Contains(t, out.String(), "all tables")
	return sn, sf, s, &ep
}

func TestCheckFindsAgreementAndEachKindOfDifference(t *testing.T) {
	sn, sf, s, ep := synced(t)
	ctx := context.Background()
	snc, err := ep.ServiceNowClient()
	require.NoError(t, err)
	sfc, err := ep.StackFlowClient()
	require.NoError(t, err)

	a, err := Check(ctx, s.Mapping(), snc, sfc)
	require.NoError(t, err)
	require.True(t, a.OK(), a.String())
	assert.Len(t, a.Tables, 6)
	assert.Equal(t, len(sn.Records("cmdb_ci"))+len(sn.Records("cmdb_rel_ci"))+len(sn.Records("incident"))+
		len(sn.Records("problem"))+len(sn.Records("change_request"))+len(sn.Records("sc_request")), a.Pairs())

	// Behind the syncer's back: an edit in StackFlow, a new ServiceNow
	// incident, a native StackFlow incident.
	incs, err := sf.Records(stackflowtest.Incidents)
	require.NoError(t, err)
	_, err = sf.Update(stackflowtest.Incidents, incs[0].ID, map[string]any{"title": "edited in StackFlow only"}, "agent")
	require.NoError(t, err)
	_, err = sn.Insert("incident", map[string]string{"short_description": "only in ServiceNow"})
	require.NoError(t, err)
	_, err = sf.Create(stackflowtest.Incidents, map[string]any{"title": "only in StackFlow"}, "agent")
	require.NoError(t, err)

	a, err = Check(ctx, s.Mapping(), snc, sfc)
	require.NoError(t, err)
	assert.False(t, a.OK())
	report := a.String()
	assert.Contains(t, report, "title differs")
	assert.Contains(t, report, `StackFlow "edited in StackFlow only"`)
	assert.Contains(t, report, "has no StackFlow partner")
	assert.Contains(t, report, "only in StackFlow")
	assert.Contains(t, report, "has no ServiceNow partner")
	for _, tb := range a.Tables {
		if tb.Table != "incident" {
			assert.Empty(t, tb.Problems, tb.Table)
		}
	}
}

func TestProgressPrintsOneLinePerLoad(t *testing.T) {
	var out strings.Builder
	p := &Progress{W: &out, Tables: map[string]bool{"cmdb_ci": true}}
	p.Progress("cmdb_ci/servicenow->stackflow", 100, 250)
	p.Progress("incident/servicenow->stackflow", 10, 10)
	p.Progress("cmdb_ci/servicenow->stackflow", 250, 250)
	p.RunFinished(&syncer.Report{Table: "incident"})
	p.RunFinished(&syncer.Report{Table: "cmdb_ci"})
	assert.Equal(t, "  loading cmdb_ci: 100/250 250/250\n", out.String())
}

func TestEndpointsKeepSecretsOutOfFlagsAndStrings(t *testing.T) {
	vars := map[string]string{
		EnvServiceNowURL: "https://acme.service-now.com", EnvServiceNowUser: "svc", EnvServiceNowPassword: "pw-1f9",
		EnvServiceNowClientID: "cid", EnvServiceNowClientSecret: "cs-2e8", EnvStackFlowToken: "tok-3d7",
	}
	var ep Endpoints
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	ep.AddFlags(fs, func(k string) string { return vars[k] }, true)
	require.NoError(t, fs.Parse([]string{"-stackflow-url", "https://acme.stackflow-tech.com/prod/api"}))
	require.NoError(t, ep.Check())
	assert.True(t, ep.RealServiceNow())
	assert.True(t, ep.RealStackFlow())
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	assert.ElementsMatch(t, []string{"servicenow-url", "servicenow-user", "servicenow-client-id", "stackflow-url"}, names, "no flag for a secret")
	c, err := ep.ServiceNowClient()
	require.NoError(t, err)
	printed := ep.String() + c.String()
	for _, s := range []string{"pw-1f9", "cs-2e8", "tok-3d7"} {
		assert.NotContains(t, printed, s)
	}
	assert.Contains(t, ep.String(), "password set true")

	delete(vars, EnvStackFlowToken)
	delete(vars, EnvServiceNowClientSecret)
	var missing Endpoints
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	missing.AddFlags(fs, func(k string) string { return vars[k] }, true)
	require.NoError(t, fs.Parse([]string{"-stackflow-url", "https://acme.stackflow-tech.com/prod/api"}))
	err = missing.Check()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "$SERVICENOW_CLIENT_SECRET is required")
	assert.Contains(t, err.Error(), "$STACKFLOW_TOKEN is required")
}
