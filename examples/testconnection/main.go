// Command testconnection does the integration guide's Test Connection
// ("should return ServiceNow instance version and user info") for the
// tables the sync uses: the instance version, who the client is, its
// roles, and what it may do with each table.
//
//	go run ./examples/testconnection
//
// On the in-process fake it tests two users: an admin and the guide's
// integration user with the itil and rest_api_explorer roles, to show what
// an itil user may not do. Against a real instance (-servicenow-url or
// $SERVICENOW_URL, with $SERVICENOW_USER and $SERVICENOW_PASSWORD, or
// $SERVICENOW_CLIENT_ID and $SERVICENOW_CLIENT_SECRET for OAuth) it tests
// the configured user. It never writes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/stackflow-tech/snowsync/examples/internal/demo"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
)

// tables are the guide's Table API Mapping.
var tables = []string{"incident", "problem", "change_request", "sc_request", "cmdb_ci", "cmdb_rel_ci"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run exits 0 when every tested user can run the sync, 1 otherwise.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var ep demo.Endpoints
	fs := flag.NewFlagSet("testconnection", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ep.AddFlags(fs, getenv, false)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := ep.Check(); err != nil {
		fmt.Fprintln(stderr, "testconnection:", err)
		return 2
	}
	var clients []*servicenow.Client
	if ep.ServiceNowURL == "" {
		srv, err := demo.StartServiceNow(demo.WallClock{},
			servicenowtest.WithUser(servicenowtest.User{UserName: "stackflow-integration", Password: "integration-password",
				FirstName: "StackFlow", LastName: "Integration", Email: "stackflow-integration@example.com", Roles: []string{"itil", "rest_api_explorer"}}))
		if err != nil {
			fmt.Fprintln(stderr, "testconnection:", err)
			return 1
		}
		defer srv.Close()
		if _, err := demo.SeedServiceNow(srv, demo.SmallSize()); err != nil {
			fmt.Fprintln(stderr, "testconnection:", err)
			return 1
		}
		admin, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword))
		if err != nil {
			fmt.Fprintln(stderr, "testconnection:", err)
			return 1
		}
		itil, err := servicenow.NewClient(srv.URL(), servicenow.WithBasicAuth("stackflow-integration", "integration-password"))
		if err != nil {
			fmt.Fprintln(stderr, "testconnection:", err)
			return 1
		}
		clients = append(clients, admin, itil)
	} else {
		c, err := ep.ServiceNowClient()
		if err != nil {
			fmt.Fprintln(stderr, "testconnection:", err)
			return 2
		}
		clients = append(clients, c)
	}
	code := 0
	for _, c := range clients {
		info, err := c.TestConnection(ctx, tables...)
		if err != nil {
			// Only a failure to connect or log in is an error; missing
			// rights are findings in info.
			fmt.Fprintf(stdout, "%s: %v\n", c, err)
			code = 1
			continue
		}
		if !report(stdout, info) {
			code = 1
		}
	}
	return code
}

// writes are the tables the sync writes to (bidirectional by default);
// the CMDB tables and sc_request are only read.
var writes = map[string]bool{"incident": true, "problem": true, "change_request": true}

// report prints what Test Connection found and whether the user can run
// the sync: read every table, write the bidirectional ones.
func report(w io.Writer, info *servicenow.ConnectionInfo) (ready bool) {
	fmt.Fprintf(w, "\n%s\n", info.InstanceURL)
	version := info.Version()
	if info.VersionNote != "" {
		version += " (" + info.VersionNote + ")"
	}
	fmt.Fprintf(w, "  version: %s\n", version)
	u := info.User
	roles := "unknown (the user may not read its role assignments)"
	if u.RolesKnown {
		roles = strings.Join(u.Roles, ", ")
	}
	who := u.UserName
	if about := strings.Join(slices.DeleteFunc([]string{u.Name, u.Email}, func(s string) bool { return s == "" }), ", "); about != "" {
		who += " (" + about + ")"
	}
	fmt.Fprintf(w, "  user:    %s, roles: %s\n", who, roles)
	fmt.Fprintf(w, "  %-15s %-7s %-5s %-8s %-8s %s\n", "table", "exists", "read", "write", "records", "the sync needs")
	ready = true
	for _, t := range info.Tables {
		count := "?"
		if t.Count >= 0 {
			count = fmt.Sprint(t.Count)
		}
		needs, ok := "read", t.Read == servicenow.AccessYes
		if writes[t.Table] {
			needs, ok = "read, write", ok && t.Write == servicenow.AccessYes
		}
		mark := "ok"
		if !ok {
			mark, ready = "MISSING", false
		}
		fmt.Fprintf(w, "  %-15s %-7v %-5s %-8s %-8s %s: %s", t.Table, t.Exists, t.Read, t.Write, count, needs, mark)
		if t.Note != "" {
			fmt.Fprintf(w, "  (%s)", t.Note)
		}
		fmt.Fprintln(w)
	}
	for _, n := range info.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "  ready for the sync: %v\n", ready)
	return ready
}
