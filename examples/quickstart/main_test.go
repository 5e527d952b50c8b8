package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func runQuickstart(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, args, env(vars), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// row returns the numbers of a table's line in the report that follows
// heading ("first sync", "second sync").
func row(t *testing.T, out, heading, table string) []string {
	t.Helper()
	_, after, ok := strings.Cut(out, heading)
	require.True(t, ok, "no %q in the output", heading)
	m := regexp.MustCompile(`(?m)^  ` + table + ` +(.*)$`).FindStringSubmatch(after)
	require.NotNil(t, m, "no %s line after %q", table, heading)
	return strings.Fields(m[1])
}

func TestQuickstartSyncsTheFakesBothWaysAndAgrees(t *testing.T) {
	code, out, errOut := runQuickstart(t, nil)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)

	assert.Contains(t, out, "seeded the fakes:")
	assert.Regexp(t, `loading cmdb_ci: 100/\d+ 200/\d+`, out, "a progress line on the CMDB load")
	assert.Regexp(t, `loading cmdb_rel_ci: 100/\d+`, out)

	// The first sync copies every seeded record; StackFlow's own tickets go
	// to ServiceNow. Columns: created updated skipped (to StackFlow), created
	// updated skipped (to ServiceNow), conflicts deferred failed, calls, time.
	first := row(t, out, "first sync", "cmdb_ci")
	assert.Equal(t, "294", first[0], "every CI created in StackFlow")
	first = row(t, out, "first sync", "incident")
	assert.Equal(t, []string{"120", "0", "0", "6"}, first[:4], "120 incidents to StackFlow, the 6 opened in StackFlow to ServiceNow")
	assert.Equal(t, []string{"0", "0", "0"}, first[6:9], "no conflicts, nothing deferred or failed")

	// The changes, and the second sync that carries them.
	assert.Regexp(t, `ServiceNow: INC\d+ ".+": urgency 1`, out)
	assert.Regexp(t, `StackFlow:  SF-INC-\d+ \(INC\d+\) retitled`, out)
	assert.Regexp(t, `StackFlow:  opened SF-INC-\d+ "Checkout returns HTTP 500 for card payments"`, out)
	second := row(t, out, "second sync", "incident")
	assert.Equal(t, "0", second[0], "nothing new to create in StackFlow")
	assert.NotEqual(t, "0", second[1], "the ServiceNow edit reached StackFlow")
	assert.Equal(t, []string{"1", "1"}, second[3:5], "the new StackFlow incident was created in ServiceNow, the StackFlow edit updated it")
	assert.NotEqual(t, "0", second[5], "the sync's own writes read back are skipped")
	for _, table := range []string{"cmdb_ci", "cmdb_rel_ci", "sc_request"} {
		r := row(t, out, "second sync", table)
		assert.Equal(t, []string{"0", "0", "0", "0", "0", "0"}, r[:6], "%s: nothing changed, nothing written", table)
	}

	assert.Contains(t, out, "incident         127 ServiceNow,  127 StackFlow,  127 paired: in agreement")
	assert.Regexp(t, `both sides agree: 6 tables, \d+ pairs`, out)
	assert.Empty(t, errOut)
}

func TestQuickstartAgainstARealServiceNowWritesNothingThere(t *testing.T) {
	// A fake started by the test stands in for a real instance: the
	// quickstart must not seed it, edit it, or write to it.
	srv := servicenowtest.NewServer(t)
	for i := range 5 {
		_, err := srv.Seed("incident", map[string]any{
			"short_description": fmt.Sprintf("Existing incident %d", i), "impact": 2, "urgency": 2,
			"sys_updated_on": "2025-12-30 10:00:00",
		})
		require.NoError(t, err)
	}
	srv.ResetRequests()
	code, out, errOut := runQuickstart(t, map[string]string{
		"SERVICENOW_USER": servicenowtest.AdminUser, "SERVICENOW_PASSWORD": servicenowtest.AdminPassword,
	}, "-servicenow-url", srv.URL())
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.NotContains(t, out, "seeded")
	assert.NotContains(t, out, "changes:", "real records are edited only with -changes")
	assert.Contains(t, out, "ServiceNow: "+srv.URL())
	assert.Equal(t, []string{"5", "0", "0", "0"}, row(t, out, "first sync", "incident")[:4])
	assert.Contains(t, out, "both sides agree")
	for _, r := range srv.Requests() {
		assert.Equal(t, "GET", r.Method, "%s %s: nothing is written to the real instance", r.Method, r.Path)
	}
	assert.Len(t, srv.Records("incident"), 5)
}

func TestQuickstartCommandLineErrors(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"an unknown flag", nil, []string{"-nope"}, "flag provided but not defined: -nope"},
		{"a real ServiceNow without credentials", nil, []string{"-servicenow-url", "https://acme.service-now.com"}, "$SERVICENOW_PASSWORD is required"},
		{"an OAuth client id without its secret", map[string]string{"SERVICENOW_URL": "https://acme.service-now.com", "SERVICENOW_USER": "svc", "SERVICENOW_PASSWORD": "pw", "SERVICENOW_CLIENT_ID": "cid"}, nil, "$SERVICENOW_CLIENT_SECRET is required"},
		{"a real StackFlow without a token", nil, []string{"-stackflow-url", "https://acme.stackflow-tech.com/prod/api"}, "$STACKFLOW_TOKEN is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runQuickstart(t, c.vars, c.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, c.want)
			assert.NotContains(t, errOut, "pw", "secrets never printed")
		})
	}
}
