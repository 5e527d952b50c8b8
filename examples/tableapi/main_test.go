package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runTour(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, args, func(k string) string { return vars[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestTableAPITourOnTheFake(t *testing.T) {
	code, out, errOut := runTour(t, nil)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	for _, want := range []string{
		"query: active=true^priorityIN1,2,3^ORDERBYDESCpriority^ORDERBYnumber",
		"List, first page of 2 of 3 matches:\n  INC0010004  priority 3  Wi-Fi slow in meeting rooms\n  INC0010001  priority 2",
		"All: 3 incidents in 2 pages of 2",
		"Create: INC0010006 (sys_id ",
		"priority 2 computed by ServiceNow",
		"Update: state 2, priority 4, sys_mod_count 1",
		"state 2 (In Progress), priority 4 (4 - Low), updated 2026-01-01 00:00:00 UTC (2025-12-31 16:00:00 for the user)",
		`Raw record: INC0010001 assignment_group=`,
		`(.name "Network"), opened_by.email "beth.anglin@example.com"`,
		"fields [active priority]; Count: 2 match",
		"moves with the clock: [sys_updated_on>=javascript:gs.hoursAgoStart(1)]",
		"refused: servicenow: invalid encoded query at offset 12",
		"Delete: INC0010006 is gone: 404 No Record found",
	} {
		assert.Contains(t, out, want)
	}
	assert.Empty(t, errOut)
}

func TestTableAPITourOnARealInstanceCleansUp(t *testing.T) {
	srv := servicenowtest.NewServer(t) // stands in for a real, empty instance
	code, out, errOut := runTour(t, map[string]string{
		"SERVICENOW_URL": srv.URL(), "SERVICENOW_USER": servicenowtest.AdminUser, "SERVICENOW_PASSWORD": servicenowtest.AdminPassword,
	})
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "List, first page of 0 of 0 matches")
	assert.Contains(t, out, "is gone: 404")
	assert.Empty(t, srv.Records("incident"), "the example deleted what it created")
}

func TestTableAPICommandLine(t *testing.T) {
	code, _, errOut := runTour(t, nil, "-servicenow-url", "https://acme.service-now.com")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "$SERVICENOW_PASSWORD is required")
	code, _, errOut = runTour(t, map[string]string{"SERVICENOW_USER": "u", "SERVICENOW_PASSWORD": "p"}, "-servicenow-url", "http://acme.example.com")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "https")
}
