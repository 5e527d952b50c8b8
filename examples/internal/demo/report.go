package demo

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
)

// WriteReports prints one line per run: what each direction created and
// updated, what it read back with nothing to write (echoes of the sync's
// own writes, re-reads of the overlap), conflicts, records that wait for a
// reference or failed, API calls per side and time.
func WriteReports(w io.Writer, reports []*syncer.Report) error {
	const row = "  %-15s %8s %8s %8s   %8s %8s %8s   %9s %8s %6s   %10s %9s %8s\n"
	fmt.Fprintf(w, "  %-15s %-26s   %-26s   %-25s   %-21s\n", "", center("to StackFlow", 26), center("to ServiceNow", 26), "", center("API calls", 21))
	fmt.Fprintf(w, row, "table", "created", "updated", "skipped", "created", "updated", "skipped",
		"conflicts", "deferred", "failed", "ServiceNow", "StackFlow", "time")
	var total syncer.Report
	line := func(name string, r *syncer.Report) {
		sf, sn := r.ToStackFlow, r.ToServiceNow
		d := func(n int) string { return fmt.Sprint(n) }
		fmt.Fprintf(w, row, name,
			d(sf.Created+sf.Linked), d(sf.Updated), d(sf.Echoes+sf.Unchanged),
			d(sn.Created+sn.Linked), d(sn.Updated), d(sn.Echoes+sn.Unchanged),
			d(sf.Conflicts+sn.Conflicts), d(sf.Deferred+sn.Deferred), d(sf.DeadLettered+sn.DeadLettered),
			fmt.Sprint(r.CallsServiceNow), fmt.Sprint(r.CallsStackFlow), r.Duration.Round(time.Millisecond).String())
	}
	for _, r := range reports {
		line(r.Table, r)
		total.ToStackFlow = add(total.ToStackFlow, r.ToStackFlow)
		total.ToServiceNow = add(total.ToServiceNow, r.ToServiceNow)
		total.CallsServiceNow += r.CallsServiceNow
		total.CallsStackFlow += r.CallsStackFlow
		total.Duration += r.Duration
	}
	if len(reports) > 1 {
		line("all tables", &total)
	}
	fmt.Fprintln(w, "  (skipped: read with nothing to write: echoes of the sync's own writes and re-reads)")
	for _, r := range reports {
		for _, c := range r.Conflicts {
			fmt.Fprintf(w, "  conflict on %s %s: %s kept %s (%s); the losing value %q is in the conflict log\n",
				c.Table, c.SNID, c.Winner, c.Key, c.Rule, loser(c))
		}
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s: %s\n", r.Table, e)
		}
		if r.Err != nil {
			fmt.Fprintf(w, "  %s stopped: %v\n", r.Table, r.Err)
		}
	}
	return nil
}

// center centers s in a field of n columns, between dashes.
func center(s string, n int) string {
	pad := n - len(s) - 2
	if pad < 0 {
		return s
	}
	return strings.Repeat("-", pad/2) + " " + s + " " + strings.Repeat("-", pad-pad/2)
}

func add(a, b syncer.Counts) syncer.Counts {
	a.Fetched += b.Fetched
	a.Created += b.Created
	a.Updated += b.Updated
	a.Linked += b.Linked
	a.Unchanged += b.Unchanged
	a.Echoes += b.Echoes
	a.Skipped += b.Skipped
	a.Conflicts += b.Conflicts
	a.Deferred += b.Deferred
	a.DeadLettered += b.DeadLettered
	a.Deleted += b.Deleted
	a.Retried += b.Retried
	return a
}

func loser(c syncer.Conflict) string {
	if c.Winner == "servicenow" {
		return c.SFValue
	}
	return c.SNValue
}

// Progress is a syncer.Observer that shows how the load of the chosen
// tables advances, page by page, on one line per run:
//
//	loading cmdb_ci: 100/296 200/296 296/296
type Progress struct {
	syncer.NopObserver
	W io.Writer
	// Tables are the tables to show; nil shows every table.
	Tables map[string]bool

	mu   sync.Mutex
	open map[string]bool
}

// Progress implements syncer.Observer.
func (p *Progress) Progress(stream string, done, total int) {
	table, _, _ := strings.Cut(stream, "/")
	if p.Tables != nil && !p.Tables[table] {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open == nil {
		p.open = map[string]bool{}
	}
	if !p.open[table] {
		p.open[table] = true
		fmt.Fprintf(p.W, "  loading %s:", table)
	}
	if total >= 0 {
		fmt.Fprintf(p.W, " %d/%d", done, total)
	} else {
		fmt.Fprintf(p.W, " %d", done)
	}
}

// RunFinished implements syncer.Observer: it ends the table's line.
func (p *Progress) RunFinished(r *syncer.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[r.Table] {
		delete(p.open, r.Table)
		fmt.Fprintln(p.W)
	}
}
