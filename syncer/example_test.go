package syncer_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

// exampleFakes starts both fakes on one manual clock, with one incident in
// ServiceNow and one in StackFlow.
func exampleFakes() (sn *servicenowtest.Server, sf *stackflowtest.Server, clock *servicenowtest.ManualClock, err error) {
	clock = servicenowtest.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	if sn, err = servicenowtest.Start(servicenowtest.WithClock(clock)); err != nil {
		return nil, nil, nil, err
	}
	if sf, err = stackflowtest.Start(stackflowtest.WithClock(clock)); err != nil {
		sn.Close()
		return nil, nil, nil, err
	}
	if _, err = sn.Insert("incident", map[string]string{"short_description": "Mail down", "impact": "2", "urgency": "1"}); err == nil {
		_, err = sf.Create("incidents", map[string]any{"title": "Checkout returns 500", "state": "new"}, "agent.smith")
	}
	clock.Advance(time.Minute) // past the sync's safety lag
	return sn, sf, clock, err
}

// One cycle of the incident table, both ways, against the fakes.
func ExampleSyncer_SyncOnce() {
	snFake, sfFake, _, err := exampleFakes()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer snFake.Close()
	defer sfFake.Close()

	sn, err := servicenow.NewClient(snFake.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword))
	if err != nil {
		fmt.Println(err)
		return
	}
	sf, err := stackflow.NewClient(sfFake.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := syncer.New(syncer.Config{ServiceNow: sn, StackFlow: sf, Store: syncer.NewMemStore()})
	if err != nil {
		fmt.Println(err) // a *syncer.ConfigError lists every problem at once
		return
	}
	rep, err := s.SyncOnce(context.Background(), "incident")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("to StackFlow: created", rep.ToStackFlow.Created)
	fmt.Println("to ServiceNow: created", rep.ToServiceNow.Created)

	rep, err = s.SyncOnce(context.Background(), "incident")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("second cycle: writes", rep.ToStackFlow.Writes()+rep.ToServiceNow.Writes())
	// Output:
	// to StackFlow: created 1
	// to ServiceNow: created 1
	// second cycle: writes 0
}

// A dry run: what a cycle would write, without writing it.
func ExampleSyncer_Plan() {
	snFake, sfFake, _, err := exampleFakes()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer snFake.Close()
	defer sfFake.Close()
	sn, _ := servicenow.NewClient(snFake.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword))
	sf, _ := stackflow.NewClient(sfFake.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken))
	s, err := syncer.New(syncer.Config{ServiceNow: sn, StackFlow: sf, Store: syncer.NewMemStore()})
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := s.Plan(context.Background(), "incident")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("StackFlow creates:", plan.Count("stackflow", "create"))
	fmt.Println("ServiceNow creates:", plan.Count("servicenow", "create"))
	recs, _ := sfFake.Records(stackflowtest.Incidents)
	fmt.Println("StackFlow incidents, unchanged:", len(recs))
	// Output:
	// StackFlow creates: 1
	// ServiceNow creates: 1
	// StackFlow incidents, unchanged: 1
}

// Run syncs every enabled table on its schedule until ctx ends; Trigger
// asks for a table at once (the guide's manual sync).
func ExampleSyncer_Run() {
	snFake, sfFake, _, err := exampleFakes()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer snFake.Close()
	defer sfFake.Close()
	sn, _ := servicenow.NewClient(snFake.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword))
	sf, _ := stackflow.NewClient(sfFake.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken))
	done := make(chan struct{})
	obs := &firstRun{table: "incident", done: done}
	s, err := syncer.New(syncer.Config{ServiceNow: sn, StackFlow: sf, Store: syncer.NewMemStore(),
		Tables: []syncer.TableConfig{{Table: "incident", Enabled: true}}, Observer: obs})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- s.Run(ctx) }()
	<-done // the first run of incident finished
	cancel()
	fmt.Println("Run returned:", <-stopped)
	fmt.Println("last report:", s.LastReport("incident").ToStackFlow.Created, "created in StackFlow")
	// Output:
	// Run returned: <nil>
	// last report: 1 created in StackFlow
}

// firstRun closes done when table's first run finishes.
type firstRun struct {
	syncer.NopObserver
	table string
	done  chan struct{}
	seen  bool
}

func (o *firstRun) RunFinished(r *syncer.Report) {
	if r.Table == o.table && !o.seen {
		o.seen = true
		close(o.done)
	}
}
