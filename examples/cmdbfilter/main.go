// Command cmdbfilter shows what the integration guide's CMDB filter does
// in snowsync, and why the syncer treats a filter as admission rather than
// as a view.
//
//	go run ./examples/cmdbfilter
//
// The guide's Troubleshooting answers "CMDB sync very slow" with the filter
// active=true^sys_updated_on>=javascript:gs.hoursAgoStart(1). On a fake
// instance and a fake StackFlow sharing a clock that the example moves, it
// shows that:
//
//  1. cmdb_ci has no "active" field; ServiceNow drops a condition on an
//     unknown field without a word and would read the whole CMDB, so the
//     syncer refuses the filter (FilterError). install_status=1
//     (Installed) is the CMDB's "active";
//  2. with that filter, the first load admits only installed CIs updated
//     since the start of the previous hour;
//  3. later runs drop the relative term and go on from the stored cursor,
//     so a change made while a run was missed is not lost, and a CI that
//     stops matching (retired) is still tracked, so its retirement reaches
//     StackFlow.
//
// It needs no flags and runs only against the fakes: it edits CIs and
// moves the clock.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/stackflow-tech/snowsync/examples/internal/demo"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

// The guide's filter, and the same intent in the CMDB's own terms.
const (
	guideFilter = "active=true^sys_updated_on>=javascript:gs.hoursAgoStart(1)"
	cmdbFilter  = "install_status=1^sys_updated_on>=javascript:gs.hoursAgoStart(1)"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "cmdbfilter: takes no arguments: it runs against in-process fakes only")
		return 2
	}
	if err := show(ctx, stdout); err != nil {
		fmt.Fprintln(stderr, "cmdbfilter:", err)
		return 1
	}
	return 0
}

// world is the two fakes on one clock, with clients and a few CIs.
type world struct {
	clock *servicenowtest.ManualClock
	sn    *servicenowtest.Server
	sf    *stackflowtest.Server
	snc   *servicenow.Client
	sfc   *stackflow.Client
	ci    map[string]string // name → sys_id
}

func show(ctx context.Context, w io.Writer) error {
	// Monday 10:20 UTC.
	clock := servicenowtest.NewManualClock(time.Date(2026, 3, 2, 10, 20, 0, 0, time.UTC))
	sn, err := demo.StartServiceNow(clock)
	if err != nil {
		return err
	}
	defer sn.Close()
	sf, err := demo.StartStackFlow(clock)
	if err != nil {
		return err
	}
	defer sf.Close()
	var ep demo.Endpoints
	ep.UseServiceNowFake(sn)
	ep.UseStackFlowFake(sf)
	wd := &world{clock: clock, sn: sn, sf: sf, ci: map[string]string{}}
	if wd.snc, err = ep.ServiceNowClient(); err != nil {
		return err
	}
	if wd.sfc, err = ep.StackFlowClient(); err != nil {
		return err
	}
	// Three Linux servers: web-01 installed and edited at 10:05, web-02
	// installed but untouched for three days, web-03 retired at 10:10.
	for _, ci := range []struct{ name, status, updated string }{
		{"lnx-lon-web-01", "1", "2026-03-02 10:05:00"},
		{"lnx-lon-web-02", "1", "2026-02-27 16:30:00"},
		{"lnx-lon-web-03", "7", "2026-03-02 10:10:00"},
	} {
		ids, err := sn.Seed("cmdb_ci_linux_server", map[string]any{"name": ci.name, "install_status": ci.status, "operational_status": "1",
			"ip_address": "10.10.1." + ci.name[len(ci.name)-1:], "sys_updated_on": ci.updated})
		if err != nil {
			return err
		}
		wd.ci[ci.name] = ids[0]
	}
	fmt.Fprintf(w, "ServiceNow at 10:20: lnx-lon-web-01 installed, updated 10:05; lnx-lon-web-02 installed, updated three days ago; lnx-lon-web-03 retired at 10:10.\n")

	// 1. The guide's filter, as written.
	fmt.Fprintf(w, "\n1. The guide's filter on cmdb_ci: %s\n", guideFilter)
	s, err := wd.syncer(guideFilter)
	if err != nil {
		return err
	}
	_, err = s.SyncOnce(ctx, "cmdb_ci")
	var fe *syncer.FilterError
	if !errors.As(err, &fe) {
		return fmt.Errorf("the guide's filter: want a *syncer.FilterError, got %v", err)
	}
	fmt.Fprintf(w, "   refused: %v\n", err)
	fmt.Fprintf(w, "   In plain words: cmdb_ci has no field %q. ServiceNow drops a condition on an unknown field\n"+
		"   without an error, so this filter would read every CI; the syncer refuses it instead. The CMDB's\n"+
		"   \"active\" is install_status=1 (Installed):\n   %s\n", strings.Join(fe.Fields, ", "), cmdbFilter)

	// 2. The first load: the filter admits.
	if s, err = wd.syncer(cmdbFilter); err != nil {
		return err
	}
	clock.Advance(time.Minute) // 10:21, past the safety lag
	rep, err := s.SyncOnce(ctx, "cmdb_ci")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n2. First load at 10:21 (gs.hoursAgoStart(1) is 09:00): created %d in StackFlow.\n", rep.ToStackFlow.Created)
	if err := wd.printStackFlow(ctx, w); err != nil {
		return err
	}

	// 3. Life goes on, and the 11:21 run is missed (the daemon was down
	// for an upgrade).
	clock.Set(time.Date(2026, 3, 2, 10, 40, 0, 0, time.UTC))
	if _, err := sn.Update("cmdb_ci_linux_server", wd.ci["lnx-lon-web-02"], map[string]string{"ip_address": "10.10.2.2"}); err != nil {
		return err
	}
	clock.Set(time.Date(2026, 3, 2, 11, 15, 0, 0, time.UTC))
	if _, err := sn.Update("cmdb_ci_linux_server", wd.ci["lnx-lon-web-01"], map[string]string{"install_status": "7", "operational_status": "6"}); err != nil {
		return err
	}
	clock.Set(time.Date(2026, 3, 2, 12, 31, 0, 0, time.UTC))
	fmt.Fprintf(w, "\n3. 10:40 lnx-lon-web-02 gets a new IP address; 11:15 lnx-lon-web-01 is retired; the 11:21 run is missed.\n")
	now, _, err := wd.snc.Table("cmdb_ci").List(ctx, &servicenow.ListOptions{Query: cmdbFilter, Fields: []string{"name"}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   At 12:31 the filter itself (gs.hoursAgoStart(1) is now 11:00) matches %d CIs: re-evaluated on\n"+
		"   every run it would lose both changes.\n", len(now))
	rep, err = s.SyncOnce(ctx, "cmdb_ci")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   The 12:31 run: created %d, updated %d in StackFlow.\n", rep.ToStackFlow.Created, rep.ToStackFlow.Updated)
	if err := wd.printStackFlow(ctx, w); err != nil {
		return err
	}

	fmt.Fprint(w, `
Why: the syncer treats a filter as ADMISSION. It decides which records start to sync; once a
CI is paired it stays tracked whatever the filter says, so lnx-lon-web-01 leaving the filter
(retired) is exactly the change that reaches StackFlow. A relative term such as
gs.hoursAgoStart(1) only bounds the first load: after it, each run reads from its stored
cursor (the last change it synced), so a late or missed run loses nothing, and
lnx-lon-web-02, untouched at the first load, is admitted when it changes. lnx-lon-web-03,
retired before the first load, never was admitted.
`)
	return nil
}

// syncer returns a syncer of cmdb_ci alone with filter, on a new in-memory
// store (the example runs each part from scratch).
func (wd *world) syncer(filter string) (*syncer.Syncer, error) {
	return syncer.New(syncer.Config{
		ServiceNow: wd.snc, StackFlow: wd.sfc, Store: syncer.NewMemStore(),
		Tables: []syncer.TableConfig{{Table: "cmdb_ci", Enabled: true, Filter: filter}},
	})
}

// printStackFlow lists the CIs StackFlow holds.
func (wd *world) printStackFlow(ctx context.Context, w io.Writer) error {
	var lines []string
	for ci, err := range wd.sfc.CIs.All(ctx, nil) {
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("   StackFlow: %-15s %-10s %s", ci.Name, ci.InstallStatus, ci.IPAddress))
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		lines = []string{"   StackFlow: no CIs"}
	}
	_, err := fmt.Fprintln(w, strings.Join(lines, "\n"))
	return err
}
