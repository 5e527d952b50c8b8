package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTheFilterAdmitsAndTracks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, nil, nil, &stdout, &stderr)
	out := stdout.String()
	require.Equal(t, 0, code, "%s\n%s", out, stderr.String())

	part1, rest, ok := strings.Cut(out, "2. First load")
	require.True(t, ok, out)
	part2, part3, ok := strings.Cut(rest, "3. 10:40")
	require.True(t, ok, out)

	assert.Contains(t, part1, "refused: syncer: filter of cmdb_ci:")
	assert.Contains(t, part1, "(fields: active)")
	assert.Contains(t, part1, `cmdb_ci has no field "active"`)

	assert.Contains(t, part2, "created 1 in StackFlow")
	assert.Contains(t, part2, "StackFlow: lnx-lon-web-01  installed")
	assert.NotContains(t, part2, "lnx-lon-web-02", "untouched for three days: not admitted by the relative term")
	assert.NotContains(t, part2, "lnx-lon-web-03", "retired: not admitted")

	assert.Contains(t, part3, "matches 0 CIs", "the filter re-evaluated at 12:31 sees neither change")
	assert.Contains(t, part3, "The 12:31 run: created 1, updated 1 in StackFlow.")
	assert.Contains(t, part3, "StackFlow: lnx-lon-web-01  retired    10.10.1.1", "the retirement of a tracked CI is synced")
	assert.Contains(t, part3, "StackFlow: lnx-lon-web-02  installed  10.10.2.2", "the change made while a run was missed is not lost")
	assert.NotContains(t, part3, "StackFlow: lnx-lon-web-03")
	assert.Contains(t, part3, "the syncer treats a filter as ADMISSION")
}

func TestTheFilterTakesNoArguments(t *testing.T) {
	var stdout, stderr strings.Builder
	assert.Equal(t, 2, run(context.Background(), []string{"-servicenow-url", "x"}, nil, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "runs against in-process fakes only")
}
