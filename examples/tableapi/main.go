// Command tableapi tours the ServiceNow Table API client: encoded queries
// built with the builder and checked with ParseQuery, list (one page and
// every page), get with display values, dot-walked fields, create, update,
// count and delete.
//
//	go run ./examples/tableapi
//
// It runs against an in-process fake instance unless -servicenow-url or
// $SERVICENOW_URL names a real one ($SERVICENOW_USER and
// $SERVICENOW_PASSWORD, plus $SERVICENOW_CLIENT_ID and
// $SERVICENOW_CLIENT_SECRET for OAuth). On a real instance it creates one
// incident and deletes it again at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/stackflow-tech/snowsync/examples/internal/demo"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var ep demo.Endpoints
	fs := flag.NewFlagSet("tableapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ep.AddFlags(fs, getenv, false)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := ep.Check(); err != nil {
		fmt.Fprintln(stderr, "tableapi:", err)
		return 2
	}
	if ep.ServiceNowURL == "" {
		srv, err := fakeInstance()
		if err != nil {
			fmt.Fprintln(stderr, "tableapi:", err)
			return 1
		}
		defer srv.Close()
		ep.UseServiceNowFake(srv)
	}
	c, err := ep.ServiceNowClient()
	if err != nil {
		fmt.Fprintln(stderr, "tableapi:", err)
		return 2
	}
	if err := tour(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "tableapi:", err)
		return 1
	}
	return 0
}

// fakeInstance starts a fake instance with a few incidents, entered as a
// person would (ServiceNow numbers them and derives their priority).
func fakeInstance() (*servicenowtest.Server, error) {
	srv, err := servicenowtest.Start()
	if err != nil {
		return nil, err
	}
	// The admin works from San Diego: display values are in its time zone.
	_, err = srv.AddUser(servicenowtest.User{UserName: servicenowtest.AdminUser, Password: servicenowtest.AdminPassword,
		SysID: servicenowtest.AdminSysID, Roles: []string{"admin"}, TimeZone: "America/Los_Angeles"})
	var group []string
	if err == nil {
		group, err = srv.Seed("sys_user_group", map[string]any{"name": "Network"})
	}
	if err == nil {
		_, err = srv.AddUser(servicenowtest.User{UserName: "beth.anglin", FirstName: "Beth", LastName: "Anglin", Email: "beth.anglin@example.com", Roles: []string{"itil"}})
	}
	for _, inc := range []map[string]string{
		{"short_description": "VPN drops every few minutes", "impact": "1", "urgency": "2", "category": "network", "assignment_group": group[0]},
		{"short_description": "Email server unreachable", "impact": "1", "urgency": "1", "category": "software"},
		{"short_description": "Printer on floor 3 jams", "impact": "3", "urgency": "3", "category": "hardware"},
		{"short_description": "Wi-Fi slow in meeting rooms", "impact": "2", "urgency": "2", "category": "network", "assignment_group": group[0]},
		{"short_description": "Old laptop returned", "impact": "3", "urgency": "3", "state": "7", "close_code": "Solution provided", "close_notes": "Returned to stock"},
	} {
		if err != nil {
			break
		}
		_, err = srv.Insert("incident", inc, servicenowtest.AsUser("beth.anglin"))
	}
	if err != nil {
		srv.Close()
		return nil, err
	}
	return srv, nil
}

func tour(ctx context.Context, c *servicenow.Client, w io.Writer) error {
	incidents := c.Incidents() // *servicenow.Table[servicenow.Incident]

	// 1. An encoded query, built: values are checked, dates go out in UTC.
	q := servicenow.NewQuery().
		Equals("active", "true").
		In("priority", "1", "2", "3").
		OrderByDesc("priority").OrderBy("number")
	query, err := q.Build()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "query: %s\n", query)

	// 2. One page: List. TotalCount is what the query matched.
	page, resp, err := incidents.List(ctx, &servicenow.ListOptions{
		Query: query, Fields: []string{"number", "short_description", "priority"}, Limit: 2,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nList, first page of %d of %d matches:\n", len(page), resp.TotalCount)
	for _, inc := range page {
		fmt.Fprintf(w, "  %s  priority %s  %s\n", inc.Number, inc.Priority, inc.ShortDescription)
	}

	// 3. Every page: All, lazily, as an iterator.
	pages, n := 0, 0
	for inc, err := range incidents.All(ctx, &servicenow.ListOptions{
		Query: query, Fields: []string{"number"}, Limit: 2, OnPage: func(*servicenow.Response) { pages++ },
	}) {
		if err != nil {
			return err
		}
		_ = inc
		n++
	}
	fmt.Fprintf(w, "All: %d incidents in %d pages of 2\n", n, pages)

	// 4. Create. ServiceNow numbers it and computes the priority from
	// impact and urgency: write those, never priority.
	created, _, err := incidents.Create(ctx, servicenow.Fields{
		"short_description": "snowsync tableapi example: disk full on web01",
		"description":       "Created by examples/tableapi; it deletes it again.",
		"impact":            "2", "urgency": "1", "category": "hardware",
	}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nCreate: %s (sys_id %s), priority %s computed by ServiceNow\n", created.Number, created.SysID, created.Priority)
	deleted := false
	defer func() {
		if !deleted { // a step in between failed: clean up anyway
			_, _ = incidents.Delete(context.WithoutCancel(ctx), created.SysID)
		}
	}()

	// 5. Update: a PATCH of the fields given.
	updated, _, err := incidents.Update(ctx, created.SysID, servicenow.Fields{
		"state": servicenow.IncidentStateInProgress, "urgency": "3",
	}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Update: state %s, priority %s, sys_mod_count %d\n", updated.State, updated.Priority, updated.SysModCount)

	// 6. Get with display values: typed records keep raw values in their
	// fields and the labels in DisplayValues.
	got, _, err := incidents.Get(ctx, created.SysID, &servicenow.GetOptions{DisplayValue: servicenow.DisplayBoth})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Get with display values: state %s (%s), priority %s (%s), updated %s UTC (%s for the user)\n",
		got.State, got.Display("state"), got.Priority, got.Display("priority"),
		got.SysUpdatedOn.Format(servicenow.TimeLayout), got.Display("sys_updated_on"))

	// 7. Raw records of any table, with dot-walked fields.
	rows, _, err := c.Table("incident").List(ctx, &servicenow.ListOptions{
		Query:  servicenow.NewQuery().IsNotEmpty("assignment_group").OrderBy("number").String(),
		Fields: []string{"number", "assignment_group", "assignment_group.name", "opened_by.email"},
		Limit:  1,
	})
	if err != nil {
		return err
	}
	for _, r := range rows {
		fmt.Fprintf(w, "Raw record: %s assignment_group=%s (.name %q), opened_by.email %q\n",
			r.Get("number"), r.Get("assignment_group"), r.Get("assignment_group.name"), r.Get("opened_by.email"))
	}

	// 8. Count through the Aggregate API, and a user's filter checked
	// with ParseQuery before it is used.
	for _, filter := range []string{
		"active=true^priority<=2^EQ",
		"active=true^short_descriptionLIKEdisk^sys_updated_on>=javascript:gs.hoursAgoStart(1)",
		"active=true^serial_numberEMPTY",
	} {
		pq, err := servicenow.ParseQuery(filter)
		if err != nil {
			fmt.Fprintf(w, "\nParseQuery(%q):\n  refused: %v\n", filter, err)
			continue
		}
		count, _, err := incidents.Count(ctx, pq.String())
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nParseQuery(%q):\n  fields %v; Count: %d match\n", filter, pq.Fields(), count)
		if rel := pq.RelativeTimeTerms(); len(rel) > 0 {
			fmt.Fprintf(w, "  moves with the clock: %v\n", rel)
		}
		if warn := pq.Warnings(); len(warn) > 0 {
			fmt.Fprintf(w, "  warnings: %s\n", strings.Join(warn, "; "))
		}
	}

	// 9. Delete, then the 404 a deleted record gives.
	if _, err := incidents.Delete(ctx, created.SysID); err != nil {
		return err
	}
	deleted = true
	_, _, err = incidents.Get(ctx, created.SysID, nil)
	var apiErr *servicenow.Error
	if errors.Is(err, servicenow.ErrNotFound) && errors.As(err, &apiErr) {
		fmt.Fprintf(w, "\nDelete: %s is gone: %d %s (errors.Is(err, servicenow.ErrNotFound))\n", created.Number, apiErr.StatusCode, apiErr.Message)
		return nil
	}
	return fmt.Errorf("get after delete: want ErrNotFound, got %v", err)
}
