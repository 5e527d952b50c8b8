// Command quickstart runs a real sync between ServiceNow and StackFlow and
// shows what it did.
//
//	go run ./examples/quickstart
//
// With no flags it starts a fake ServiceNow and a fake StackFlow in this
// process and loads them with a few hundred CIs of several classes, their
// relationships, incidents, problems, changes and requests. It syncs every
// table once, with the sync state in a bbolt file in a temporary
// directory; then it edits an incident in ServiceNow, edits another in
// StackFlow, opens a new one in StackFlow, and syncs again. It prints what
// each run did, then reads both sides through the clients and exits 0 only
// when they agree.
//
// Point it at real systems with -servicenow-url / $SERVICENOW_URL
// (credentials: $SERVICENOW_USER and $SERVICENOW_PASSWORD, plus
// $SERVICENOW_CLIENT_ID and $SERVICENOW_CLIENT_SECRET for OAuth) and
// -stackflow-url / $STACKFLOW_URL ($STACKFLOW_TOKEN). Real systems are not
// seeded, and real records are edited only with -changes. A real ServiceNow
// with the fake StackFlow is a safe first look: nothing is written to
// ServiceNow.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/stackflow-tech/snowsync/examples/internal/demo"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command line.
type options struct {
	ep       demo.Endpoints
	stateDir string
	changes  bool
	size     demo.Size
}

// run is the program: exit code 0 when both sides agree at the end, 1 when
// they do not or something failed, 2 for a bad command line.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.ep.AddFlags(fs, getenv, true)
	fs.StringVar(&o.stateDir, "state-dir", "", "keep the sync state (snowsync.db) in this directory (default: a temporary one, removed at the end)")
	fs.BoolVar(&o.changes, "changes", true, "after the first sync, edit an incident on each side, open one in StackFlow and sync again (on real systems: only when given explicitly)")
	small := fs.Bool("small", false, "seed a small data set (tests)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.ep.Check(); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 2
	}
	if o.ep.RealServiceNow() || o.ep.RealStackFlow() {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "changes" })
		o.changes = o.changes && explicit
	}
	o.size = demo.DefaultSize()
	if *small {
		o.size = demo.SmallSize()
	}
	start := time.Now()
	ok, err := quickstart(ctx, o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\ndone in %s\n", time.Since(start).Round(time.Millisecond))
	if !ok {
		return 1
	}
	return 0
}

func quickstart(ctx context.Context, o options, w io.Writer) (agree bool, err error) {
	// 1. The two systems: the fakes unless URLs were given. The fakes share
	// a clock we move by hand (see waitPastSafetyLag).
	clock := servicenowtest.NewManualClock(time.Now().UTC().Truncate(time.Second))
	seed := !o.ep.RealServiceNow() && !o.ep.RealStackFlow()
	seeded := &demo.Seeded{}
	if o.ep.ServiceNowURL == "" {
		fake, err := demo.StartServiceNow(clock)
		if err != nil {
			return false, err
		}
		defer fake.Close()
		o.ep.UseServiceNowFake(fake)
		if seed {
			if seeded, err = demo.SeedServiceNow(fake, o.size); err != nil {
				return false, err
			}
		}
	}
	if o.ep.StackFlowURL == "" {
		fake, err := demo.StartStackFlow(clock)
		if err != nil {
			return false, err
		}
		defer fake.Close()
		o.ep.UseStackFlowFake(fake)
		if seed {
			if err := demo.SeedStackFlow(fake, o.size, seeded); err != nil {
				return false, err
			}
		}
	}
	fmt.Fprintf(w, "ServiceNow: %s\nStackFlow:  %s\n", o.ep.ServiceNowURL, o.ep.StackFlowURL)
	if seed {
		fmt.Fprintf(w, "\nseeded the fakes:\n%s\n", seeded)
	}
	sn, err := o.ep.ServiceNowClient()
	if err != nil {
		return false, err
	}
	sf, err := o.ep.StackFlowClient()
	if err != nil {
		return false, err
	}

	// 2. The sync state: one bbolt file.
	dir := o.stateDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "snowsync-quickstart-"); err != nil {
			return false, err
		}
		defer os.RemoveAll(dir)
	}
	store, err := boltstore.Open(filepath.Join(dir, "snowsync.db"))
	if err != nil {
		return false, err
	}
	defer store.Close()

	// 3. The syncer: the guide's six tables with their default directions.
	s, err := syncer.New(syncer.Config{
		ServiceNow: sn, StackFlow: sf, Store: store,
		Tables:   syncer.DefaultTables(),
		PageSize: 100, // small pages, so the CMDB load shows its progress
		Observer: &demo.Progress{W: w, Tables: map[string]bool{"cmdb_ci": true, "cmdb_rel_ci": true}},
	})
	if err != nil {
		return false, err
	}
	waitPastSafetyLag := func(wrote bool) error {
		// A sweep reads up to the server's clock minus the safety lag (15 s),
		// so a record written in the last 15 seconds waits for the next
		// sweep. On the fakes we move their clock; on real systems we wait
		// when we just wrote something.
		clock.Advance(time.Minute)
		if wrote && (o.ep.RealServiceNow() || o.ep.RealStackFlow()) {
			fmt.Fprintf(w, "(waiting %s for the safety lag)\n", syncer.DefaultSafetyLag+time.Second)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(syncer.DefaultSafetyLag + time.Second):
			}
		}
		return nil
	}

	// 4. The first sync: every table, CIs first (tickets reference them).
	if err := waitPastSafetyLag(false); err != nil {
		return false, err
	}
	fmt.Fprintf(w, "\nfirst sync (state in %s):\n", store.Path())
	if err := syncAll(ctx, s, w); err != nil {
		return false, err
	}

	// 5. People at work on both sides, then the second sync.
	if o.changes {
		fmt.Fprintln(w, "\nchanges:")
		if err := makeChanges(ctx, sn, sf, w); err != nil {
			return false, err
		}
		if err := waitPastSafetyLag(true); err != nil {
			return false, err
		}
		fmt.Fprintln(w, "\nsecond sync:")
		if err := syncAll(ctx, s, w); err != nil {
			return false, err
		}
	}

	// 6. Do both sides agree? Read them again through the clients.
	a, err := demo.Check(ctx, s.Mapping(), sn, sf)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "\ncheck: every record paired, every mapped field equal?\n%s", a)
	if !a.OK() {
		fmt.Fprintln(w, "the two sides do NOT agree")
		return false, nil
	}
	fmt.Fprintf(w, "both sides agree: %d tables, %d pairs\n", len(a.Tables), a.Pairs())
	return true, nil
}

// syncAll runs one cycle of every table in the mapping's dependency order
// (CIs, relationships, then the tickets that reference CIs) and prints the
// reports.
func syncAll(ctx context.Context, s *syncer.Syncer, w io.Writer) error {
	var reports []*syncer.Report
	for _, t := range s.Mapping().Tables() {
		rep, err := s.SyncOnce(ctx, t.Table())
		if err != nil {
			return fmt.Errorf("sync %s: %w", t.Table(), err)
		}
		reports = append(reports, rep)
	}
	return demo.WriteReports(w, reports)
}

// makeChanges works on both sides the way people do, through the two
// clients: it edits an incident in ServiceNow, edits another in StackFlow
// and opens a new one in StackFlow.
func makeChanges(ctx context.Context, sn *servicenow.Client, sf *stackflow.Client, w io.Writer) error {
	incs, _, err := sf.Incidents.List(ctx, &stackflow.ListOptions{Source: "servicenow", Limit: 2})
	if err != nil {
		return err
	}
	if len(incs) < 2 {
		return errors.New("makeChanges: need two incidents that came from ServiceNow")
	}
	a, b := incs[0], incs[1]

	// In ServiceNow the caller phones again: more urgent, and a note.
	snInc, _, err := sn.Incidents().Update(ctx, a.ExternalID, servicenow.Fields{
		"urgency":     "1",
		"description": a.Description + "\n\nThe caller phoned again: the whole team is affected now.",
	}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  ServiceNow: %s %q: urgency 1, a note in the description (ServiceNow recomputes the priority: %s)\n",
		snInc.Number, snInc.ShortDescription, snInc.Priority)

	// In StackFlow an agent sharpens the title of another and raises its impact.
	bb, _, err := sf.Incidents.Update(ctx, b.ID, stackflow.IncidentInput{
		Title:  stackflow.Ptr(b.Title + " (EU customers affected)"),
		Impact: stackflow.Ptr(stackflow.LevelHigh),
	}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  StackFlow:  %s (%s) retitled %q, impact high\n", bb.Number, bb.ExternalNumber, bb.Title)

	// And opens a new incident.
	c, _, err := sf.Incidents.Create(ctx, stackflow.IncidentInput{
		Title:           stackflow.Ptr("Checkout returns HTTP 500 for card payments"),
		Description:     stackflow.Ptr("Since 10:05 every card payment in the web shop fails with a 500.\nPayPal still works."),
		State:           stackflow.Ptr(stackflow.IncidentStateNew),
		Impact:          stackflow.Ptr(stackflow.LevelHigh),
		Urgency:         stackflow.Ptr(stackflow.LevelHigh),
		Priority:        stackflow.Ptr(1),
		Category:        stackflow.Ptr("software"),
		AssignmentGroup: stackflow.Ptr("Application Development"),
		Assignee:        stackflow.Ptr("david.loo@example.com"),
		Reporter:        stackflow.Ptr("beth.anglin@example.com"),
	}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  StackFlow:  opened %s %q\n", c.Number, c.Title)
	return nil
}
