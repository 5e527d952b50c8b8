package main

import (
	"context"
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

func runTest(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, args, func(k string) string { return vars[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestAnAdminAndAnITILUser(t *testing.T) {
	code, out, errOut := runTest(t, nil)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	admin, itil, ok := strings.Cut(out, "ready for the sync: true")
	require.True(t, ok, out)

	assert.Contains(t, admin, "version: glide-zurich-07-01-2025__patch2")
	assert.Contains(t, admin, "user:    admin (System Administrator, admin@example.com), roles: admin")
	assert.Regexp(t, `(?m)^  cmdb_ci +true +yes +yes +\d+ +read: ok$`, admin)

	assert.Contains(t, itil, "version: unknown (version unknown: 403", "an itil user may not read sys_properties")
	assert.Contains(t, itil, "roles: itil, rest_api_explorer")
	assert.Regexp(t, `(?m)^  incident +true +yes +yes +12 +read, write: ok$`, itil)
	assert.Regexp(t, `(?m)^  cmdb_ci +true +yes +unknown +\d+ +read: ok$`, itil, "itil does not write the CMDB; the sync only reads it")
	assert.Contains(t, itil, "ready for the sync: true")
	assert.Empty(t, errOut)
}

func TestAUserAnACLBlocks(t *testing.T) {
	srv := servicenowtest.NewServer(t, // stands in for a real instance
		servicenowtest.WithUser(servicenowtest.User{UserName: "svc", Password: "svc-pw", Roles: []string{"itil"}}),
		servicenowtest.WithACL(servicenowtest.ACL{Table: "cmdb_ci", Operations: []servicenowtest.Operation{servicenowtest.OpRead}, Users: []string{"svc"}, Deny: true}))
	code, out, errOut := runTest(t, map[string]string{"SERVICENOW_USER": "svc", "SERVICENOW_PASSWORD": "svc-pw"}, "-servicenow-url", srv.URL())
	assert.Equal(t, 1, code, "%s\n%s", out, errOut)
	assert.Regexp(t, regexp.MustCompile(`(?m)^  cmdb_ci +true +no .*read: MISSING`), out)
	assert.Contains(t, out, "ready for the sync: false")
	assert.NotContains(t, out+errOut, "svc-pw")
}
