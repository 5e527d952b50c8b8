package stackflow_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
)

// newClient returns a client for a fake StackFlow, with quick retries.
func newClient(srv *stackflowtest.Server) *stackflow.Client {
	sf, err := stackflow.NewClient(srv.BaseURL(),
		stackflow.WithToken(srv.Token),
		stackflow.WithHTTPClient(srv.Client()),
		stackflow.WithRetry(stackflow.RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond}))
	if err != nil {
		panic(err)
	}
	return sf
}

// The integration guide's lookup of a StackFlow incident by its ServiceNow
// sys_id, GET /prod/api/incidents?source=servicenow&external_id=SN_SYS_ID,
// is one call.
func ExampleService_List() {
	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	if _, err := srv.Seed(stackflowtest.Incidents,
		map[string]any{"title": "Printer jam", "source": "servicenow", "external_id": "SN_SYS_ID"},
		map[string]any{"title": "VPN down"}); err != nil {
		fmt.Println(err)
		return
	}
	sf := newClient(srv)
	ctx := context.Background()
	id := "SN_SYS_ID"

	incs, _, err := sf.Incidents.List(ctx, &stackflow.ListOptions{Source: "servicenow", ExternalIDs: []string{id}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, inc := range incs {
		fmt.Println(inc.Number, inc.Title, inc.State)
	}
	fmt.Println(srv.Requests()[0].Path + "?" + srv.Requests()[0].RawQuery)
	// Output:
	// SF-INC-1001 Printer jam new
	// /prod/api/incidents?external_id=SN_SYS_ID&source=servicenow
}

// A create carries an Idempotency-Key, so when the connection drops after
// StackFlow stored the record, the retry gets the stored answer instead of
// creating a duplicate.
func ExampleService_Create() {
	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	srv.AddFault(stackflowtest.Fault{Method: http.MethodPost, Path: "/incidents", Kind: stackflowtest.FaultResetAfterWrite})
	sf := newClient(srv)

	inc, resp, err := sf.Incidents.Create(context.Background(), stackflow.IncidentInput{
		Title:      stackflow.Ptr("  Disk full on web01 "),
		Priority:   stackflow.Ptr(2),
		Source:     stackflow.Ptr("servicenow"),
		ExternalID: stackflow.Ptr("46d44a5f2f2a3010b8b6f7d6f699b6a6"),
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	n, _ := srv.Count(stackflowtest.Incidents, true)
	fmt.Printf("%s %q priority %d, replayed: %t, records: %d\n", inc.Number, inc.Title, inc.Priority, resp.Replayed, n)
	// Output: SF-INC-1001 "Disk full on web01" priority 2, replayed: true, records: 1
}

func ExampleService_All() {
	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	for _, name := range []string{"web01", "web02", "db01"} {
		if _, err := srv.Seed(stackflowtest.CMDBCIs, map[string]any{"name": name, "class": "cmdb_ci_linux_server", "source": "servicenow", "external_id": "sys-" + name}); err != nil {
			fmt.Println(err)
			return
		}
	}
	sf := newClient(srv)

	// Pages of two, fetched as the loop asks for more.
	for ci, err := range sf.CIs.All(context.Background(), &stackflow.ListOptions{Source: "servicenow", Limit: 2}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ci.Name, ci.Class, ci.ExternalID)
	}
	// Output:
	// web01 cmdb_ci_linux_server sys-web01
	// web02 cmdb_ci_linux_server sys-web02
	// db01 cmdb_ci_linux_server sys-db01
}

func ExampleService_BulkUpsert() {
	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	if _, err := srv.Seed(stackflowtest.CMDBCIs, map[string]any{"name": "web01", "source": "servicenow", "external_id": "a"}); err != nil {
		fmt.Println(err)
		return
	}
	sf := newClient(srv)

	res, _, err := sf.CIs.BulkUpsert(context.Background(), []stackflow.CIInput{
		{Source: stackflow.Ptr("servicenow"), ExternalID: stackflow.Ptr("a"), Name: stackflow.Ptr("web01")},
		{Source: stackflow.Ptr("servicenow"), ExternalID: stackflow.Ptr("a"), Environment: stackflow.Ptr("production")},
		{Source: stackflow.Ptr("servicenow"), ExternalID: stackflow.Ptr("b"), Name: stackflow.Ptr("db01")},
		{Source: stackflow.Ptr("servicenow"), ExternalID: stackflow.Ptr("c")},
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res {
		fmt.Println(r.Index, r.Status, r.Err)
	}
	// Output:
	// 0 unchanged <nil>
	// 1 updated <nil>
	// 2 created <nil>
	// 3 error stackflow: validation_failed: name is required (name: is required)
}

// Code that treats every module alike uses raw records.
func ExampleClient_Records() {
	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	sf := newClient(srv)
	ctx := context.Background()

	problems := sf.Records(stackflow.ModuleProblems)
	rec, _, err := problems.Create(ctx, stackflow.Fields{"title": "Slow disks", "known_error": true, "root_cause": "firmware", "attributes": map[string]any{"sn_sys_class": "problem"}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rec, _, err = problems.Update(ctx, rec.ID(), stackflow.Fields{"workaround": "reboot nightly", "known_error": false, "root_cause": nil}, &stackflow.UpdateOptions{IfVersion: rec.Version()})
	if err != nil {
		fmt.Println(err)
		return
	}
	known, _ := rec.Bool("known_error")
	fmt.Println(rec.Number(), rec.Version(), rec.String("workaround"), known, rec.Attributes()["sn_sys_class"])
	rootCause, _ := rec.Get("root_cause")
	fmt.Printf("root cause cleared: %t\n", rootCause == nil)
	// Output:
	// SF-PRB-1001 2 reboot nightly false problem
	// root cause cleared: true
}

func ExampleServiceNowConfig_Validate() {
	cfg := stackflow.ServiceNowConfig{
		InstanceURL: "http://acme.service-now.com",
		AuthMethod:  stackflow.AuthOAuth,
		ClientID:    "abc123",
		Username:    "stackflow-integration",
		Password:    "s3cret!",
		TableMappings: []stackflow.TableMapping{
			{Table: "cmdb_ci", Module: stackflow.ModuleCIs, Direction: stackflow.DirectionBidirectional},
		},
	}
	var ve *stackflow.ValidationError
	if errors.As(cfg.Validate(), &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	fmt.Println(cfg)
	// Output:
	// instance_url: must use https
	// client_secret: is required when auth_method is oauth
	// table_mappings[0].direction: CMDB tables sync from ServiceNow only: use to_stackflow or read_only
	// ServiceNowConfig{InstanceURL:http://acme.service-now.com AuthMethod:oauth ClientID:abc123 ClientSecret: Username:stackflow-integration Password:REDACTED IncidentSync:true CMDBSync:true}
}

func ExampleServiceNowIntegrationService_WaitJob() {
	runner := func(ctx context.Context, job stackflowtest.Job) (stackflowtest.JobCounts, []error) {
		return stackflowtest.JobCounts{Created: job.Limit - 2, Updated: 2}, nil
	}
	srv, err := stackflowtest.Start(stackflowtest.WithJobRunner(runner))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	sf := newClient(srv)
	ctx := context.Background()

	if _, _, err := sf.Integrations.ServiceNow.Put(ctx, &stackflow.ServiceNowConfig{
		InstanceURL: "https://acme.service-now.com",
		AuthMethod:  stackflow.AuthBasic,
		Username:    "stackflow-integration",
		Password:    "s3cret!",
	}); err != nil {
		fmt.Println(err)
		return
	}
	// "Sync 10 Recent Incidents", then wait for it.
	job, _, err := sf.Integrations.ServiceNow.SyncIncidents(ctx, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	job, err = sf.Integrations.ServiceNow.WaitJob(ctx, job.ID, 10*time.Millisecond)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s: %+v\n", job.Type, job.Status, job.Counts)
	// Output: sync_incidents succeeded: {Created:8 Updated:2 Unchanged:0 Failed:0}
}

func ExampleWebhookHandler() {
	secret := []byte("whsec-shared-with-stackflow")
	events := make(chan string, 1)
	hook := httptest.NewServer(stackflow.WebhookHandler(secret, func(ctx context.Context, ev *stackflow.WebhookEvent) error {
		var inc stackflow.Incident
		if err := ev.DecodeRecord(&inc); err != nil {
			return err
		}
		events <- fmt.Sprintf("%s %s %q", ev.Event, inc.Number, inc.Title)
		return nil
	}))
	defer hook.Close()

	srv, err := stackflowtest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	if _, err := srv.Subscribe(hook.URL, string(secret)); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := srv.Create(stackflowtest.Incidents, map[string]any{"title": "VPN down"}, "jane"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-events)
	// Output: incident.created SF-INC-1001 "VPN down"
}
