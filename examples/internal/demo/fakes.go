package demo

import (
	"time"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// WallClock is the wall clock in UTC, for fakes that follow real time (a
// long-running demo). Tests and the quickstart use a
// servicenowtest.ManualClock instead, and move it.
type WallClock struct{}

// Now returns the current time in UTC.
func (WallClock) Now() time.Time { return time.Now().UTC() }

// StartServiceNow starts a fake ServiceNow instance on clock (the caller
// closes it). Its sys_ids are seeded, so demo runs are repeatable.
func StartServiceNow(clock servicenowtest.Clock, opts ...servicenowtest.Option) (*servicenowtest.Server, error) {
	base := []servicenowtest.Option{
		servicenowtest.WithClock(clock),
		servicenowtest.WithSeed(20260302),
		servicenowtest.WithBuild(servicenowtest.Build{Name: "Zurich", Tag: "glide-zurich-07-01-2025__patch2", War: "glide-zurich-07-01-2025__patch2.zip"}),
	}
	return servicenowtest.Start(append(base, opts...)...)
}

// StartStackFlow starts a fake StackFlow on clock (the caller closes it).
func StartStackFlow(clock servicenowtest.Clock, opts ...stackflowtest.Option) (*stackflowtest.Server, error) {
	return stackflowtest.Start(append([]stackflowtest.Option{stackflowtest.WithClock(clock)}, opts...)...)
}
