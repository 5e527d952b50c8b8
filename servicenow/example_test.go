package servicenow_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

// exampleInstance starts a fake instance with a few incidents; real code
// points NewClient at https://<instance>.service-now.com instead.
func exampleInstance() (*servicenowtest.Server, *servicenow.Client) {
	srv, err := servicenowtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range []string{"Email down", "VPN drops", "Printer jam"} {
		if _, err := srv.Insert("incident", map[string]string{"short_description": d, "impact": "2", "urgency": "2"}); err != nil {
			log.Fatal(err)
		}
	}
	c, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword))
	if err != nil {
		log.Fatal(err)
	}
	return srv, c
}

func ExampleNewClient() {
	c, err := servicenow.NewClient("https://acme.service-now.com",
		servicenow.WithBasicAuth("stackflow-integration", "s3cret"),
		servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 4, WaitMin: time.Second, WaitMax: 30 * time.Second}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c) // secrets never print
	// Output: servicenow.Client(https://acme.service-now.com, basic auth as stackflow-integration)
}

func ExampleTable_All() {
	srv, c := exampleInstance()
	defer srv.Close()
	opts := &servicenow.ListOptions{
		Query:  servicenow.NewQuery().Equals("active", "true").OrderBy("number").String(),
		Fields: []string{"number", "short_description"},
	}
	for inc, err := range c.Incidents().All(context.Background(), opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(inc.Number, inc.ShortDescription)
	}
	// Output:
	// INC0010001 Email down
	// INC0010002 VPN drops
	// INC0010003 Printer jam
}

func ExampleTable_Create() {
	srv, c := exampleInstance()
	defer srv.Close()
	ctx := context.Background()
	inc, _, err := c.Incidents().Create(ctx, servicenow.Fields{"short_description": "Disk full", "impact": "1", "urgency": "1"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inc.Number, "priority", inc.Priority)
	inc, _, err = c.Incidents().Update(ctx, inc.SysID, servicenow.Fields{"state": servicenow.IncidentStateInProgress}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state", inc.State, "mod count", inc.SysModCount)
	// Output:
	// INC0010004 priority 1
	// state 2 mod count 1
}

func ExampleTable_Get_displayValues() {
	srv, c := exampleInstance()
	defer srv.Close()
	ctx := context.Background()
	incs, _, err := c.Incidents().List(ctx, &servicenow.ListOptions{Query: "number=INC0010002", DisplayValue: servicenow.DisplayBoth})
	if err != nil {
		log.Fatal(err)
	}
	inc := incs[0]
	fmt.Printf("priority %s (%s), state %s (%s)\n", inc.Priority, inc.Display("priority"), inc.State, inc.Display("state"))
	// Output: priority 3 (3 - Moderate), state 1 (New)
}

func ExampleTable_Keyset() {
	srv, c := exampleInstance()
	defer srv.Close()
	// A sync reads changes in (sys_updated_on, sys_id) order from its stored
	// cursor, up to a bound fixed for the sweep.
	var cur servicenow.Cursor
	n := 0
	for inc, err := range c.Incidents().Keyset(context.Background(), servicenow.KeysetOptions{After: cur, Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		cur = servicenow.Cursor{UpdatedOn: inc.SysUpdatedOn, SysID: inc.SysID}
		n++
	}
	fmt.Println(n, "incidents; the next sweep starts after", cur.UpdatedOn)
	// Output: 3 incidents; the next sweep starts after 2026-01-01 00:00:00
}

func ExampleClient_TestConnection() {
	srv, c := exampleInstance()
	defer srv.Close()
	info, err := c.TestConnection(context.Background(), "incident", "u_not_here")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user:", info.User.UserName, "admin:", info.User.HasRole("admin"))
	for _, t := range info.Tables {
		fmt.Printf("%s exists=%v read=%s write=%s\n", t.Table, t.Exists, t.Read, t.Write)
	}
	// Output:
	// user: admin admin: true
	// incident exists=true read=yes write=yes
	// u_not_here exists=false read=no write=no
}

func ExampleErrNotFound() {
	srv, c := exampleInstance()
	defer srv.Close()
	_, _, err := c.Incidents().Get(context.Background(), "0123456789abcdef0123456789abcdef", nil)
	fmt.Println(errors.Is(err, servicenow.ErrNotFound))
	var apiErr *servicenow.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Message)
	}
	// Output:
	// true
	// 404 No Record found
}
