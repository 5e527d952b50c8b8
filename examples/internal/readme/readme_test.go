package readme

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The snippets that talk to real systems only compile.
var (
	_ = tourServiceNow
	_ = tourOAuth
	_ = tourStackFlow
	_ = tourSyncer
)

func TestEveryGoBlockOfTheREADMECompilesHere(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	var here strings.Builder
	for _, f := range []string{"readme.go", "readme_test.go"} {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		here.Write(src)
	}
	dedented := regexp.MustCompile(`(?m)^\t`).ReplaceAllString(here.String(), "")
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.GreaterOrEqual(t, len(blocks), 6, "the README's Go blocks")
	for _, b := range blocks {
		block := b[1]
		if strings.Contains(block, "pgstore.") {
			continue // syncer/pgstore is checked by its own package
		}
		assert.True(t, strings.Contains(here.String(), block) || strings.Contains(dedented, block),
			"this README block is not in examples/internal/readme (so it may not compile):\n%s", block)
	}
}

func TestTheMappingSnippetRuns(t *testing.T) {
	body, err := tourMapping()
	require.NoError(t, err)
	assert.Equal(t, servicenow.Fields{"short_description": "Mail down at site B"}, body)
}

func TestSyncAgainstTheFakes(t *testing.T) {
	clock := servicenowtest.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	sn := servicenowtest.NewServer(t, servicenowtest.WithClock(clock)) // closed when the test ends
	sf := stackflowtest.NewServer(t, stackflowtest.WithClock(clock))
	inc, err := sn.Insert("incident", map[string]string{"short_description": "Mail down", "impact": "2", "urgency": "1"})
	require.NoError(t, err)

	// Quick retries keep failure tests fast.
	snc, err := servicenow.NewClient(sn.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword),
		servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond}))
	require.NoError(t, err)
	sfc, err := stackflow.NewClient(sf.BaseURL(), stackflow.WithToken(sf.Token),
		stackflow.WithRetry(stackflow.RetryPolicy{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond}))
	require.NoError(t, err)
	s, err := syncer.New(syncer.Config{ServiceNow: snc, StackFlow: sfc, Store: syncer.NewMemStore()})
	require.NoError(t, err)

	clock.Advance(time.Minute) // past the sync's safety lag
	_, err = s.SyncOnce(context.Background(), "incident")
	require.NoError(t, err)
	recs, err := sf.Records(stackflowtest.Incidents)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, inc["sys_id"], recs[0].ExternalID)
	assert.EqualValues(t, 2, recs[0].Fields["priority"]) // ServiceNow derived it

	// Misbehave like the real services: a hibernating instance, a StackFlow outage.
	sn.Hibernate(true)
	_, _, err = snc.Incidents().List(context.Background(), nil)
	assert.ErrorIs(t, err, servicenow.ErrInstanceUnavailable)
	sf.InjectError("GET", "/incidents", 503, -1)
	_, _, err = sfc.Incidents.List(context.Background(), nil)
	assert.ErrorIs(t, err, stackflow.ErrUnavailable)
}
