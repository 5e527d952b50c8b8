package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
)

// Section 3 targets.
const (
	// idleCycles is how many cycles are measured per case; the table shows
	// the median. A cycle takes a few ms, mostly bbolt commits (fsync) and
	// loopback round trips, and on a shared machine varies by half from one
	// cycle to the next: the median of five cannot tell 20% apart, that of
	// a hundred can.
	idleCycles     = 101
	idleTimeTarget = 1.2 // time at the large table within 20% of the small one
)

// idleCase is one table whose idle cycle is measured.
type idleCase struct {
	label   string
	table   string
	streams int // 2 for a bidirectional table, 1 for a one-way table
	seedTo  string
	gen     func(i int, updated time.Time) map[string]any
}

var idleCases = []idleCase{
	{label: "incidents", table: "incident", streams: 2, seedTo: "incident", gen: syncIncident},
	{label: "CIs", table: "cmdb_ci", streams: 1, seedTo: "cmdb_ci_linux_server", gen: linuxServer},
}

// idleResult is what one case at one size measured.
type idleResult struct {
	n           int
	loadSeconds float64
	// Per measured cycle: the report's calls and the fakes' logged requests.
	callsSN, callsSF, loggedSN, loggedSF []int
	seconds                              []float64
	// One delete scan, measured after the cycles.
	scanCalls   int64
	scanSeconds float64
}

func idleCycle(ctx context.Context, cfg config) ([]row, error) {
	small, big := cfg.scaled(1000), cfg.scaled(100_000)
	var rows []row
	var scans []string
	for _, c := range idleCases {
		res, err := c.measure(ctx, cfg, small, big)
		if err != nil {
			return nil, err
		}
		wantSF := c.streams - 1 // the StackFlow → ServiceNow stream reads StackFlow
		for _, r := range res {
			ok := true
			for i := range r.seconds {
				ok = ok && r.callsSN[i] == 1 && r.callsSF[i] == wantSF && r.loggedSN[i] == r.callsSN[i] && r.loggedSF[i] == r.callsSF[i]
			}
			rows = append(rows, check(fmt.Sprintf("%s (%d stream%s), %s: requests per idle cycle, ServiceNow + StackFlow", c.label, c.streams, plural(c.streams), count(r.n)),
				fmt.Sprintf("%s + %s (fakes' logs: %s + %s)", spread(r.callsSN), spread(r.callsSF), spread(r.loggedSN), spread(r.loggedSF)),
				fmt.Sprintf("1 per stream: 1 + %d", wantSF), ok))
		}
		t0, t1 := median(res[0].seconds), median(res[1].seconds)
		rows = append(rows, check(fmt.Sprintf("%s: idle cycle time, %s → %s (median of %d, interleaved)", c.label, count(small), count(big), idleCycles),
			fmt.Sprintf("%s → %s (%+.0f%%)", ms(t0), ms(t1), (t1/t0-1)*100), fmt.Sprintf("≤ +%.0f%%", (idleTimeTarget-1)*100), t1 <= idleTimeTarget*t0))
		rows = append(rows, info(fmt.Sprintf("%s: setup, first load of %s (then one cycle for its echoes)", c.label, count(big)),
			fmt.Sprintf("%.1f s (%s records/s)", res[1].loadSeconds, perSec(float64(big)/res[1].loadSeconds))))
		scans = append(scans, fmt.Sprintf("%s %d request%s, %s → %s", c.label, res[1].scanCalls, plural(int(res[1].scanCalls)), ms(res[0].scanSeconds), ms(res[1].scanSeconds)))
	}
	rows = append(rows, info(fmt.Sprintf("note: the delete scan, deep re-read and reconciliation are maintenance, not due in these cycles; one delete scan (nothing deleted), %s → %s",
		count(small), count(big)), scans[0]+"; "+scans[1]))
	return rows, nil
}

// measure sets up the case at both sizes, measures their idle cycles
// taking turns (so a busy moment of the machine hits both), then one
// delete scan each.
func (c idleCase) measure(ctx context.Context, cfg config, small, big int) (res [2]idleResult, err error) {
	var envs [2]*syncEnv
	defer func() {
		for _, e := range envs {
			if e != nil {
				e.close()
			}
		}
	}()
	for i, n := range []int{small, big} {
		cfg.logf("idle cycle: %s %s: first load, and the cycle that reads its echoes", count(n), c.label)
		if envs[i], res[i], err = setupIdle(ctx, c, n); err != nil {
			return res, fmt.Errorf("%s %s: %w", count(n), c.label, err)
		}
	}
	cfg.logf("idle cycle: %s: %d cycles at each size, interleaved", c.label, idleCycles)
	for k := range idleCycles {
		for j := range 2 {
			i := (j + k) % 2
			if err := measureIdleCycle(ctx, c, envs[i], &res[i]); err != nil {
				return res, fmt.Errorf("%s %s: %w", count(res[i].n), c.label, err)
			}
		}
	}
	for i := range res {
		if err := measureDeleteScan(ctx, c, envs[i], &res[i]); err != nil {
			return res, fmt.Errorf("%s %s: %w", count(res[i].n), c.label, err)
		}
	}
	return res, nil
}

// setupIdle loads n records of c and runs the cycle that reads the load's
// echoes back: after it, a cycle has nothing to do.
func setupIdle(ctx context.Context, c idleCase, n int) (_ *syncEnv, res idleResult, err error) {
	res.n = n
	e, err := newSyncEnv(envOptions{manualClock: true, tables: []syncer.TableConfig{{Table: c.table, Enabled: true}}})
	if err != nil {
		return nil, res, err
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	updated := benchStart.Add(-24 * time.Hour)
	if _, err := seedRows(e.sn, c.seedTo, n, func(i int) map[string]any { return c.gen(i, updated) }); err != nil {
		return nil, res, err
	}
	t0 := time.Now()
	rep, err := e.syncOnce(ctx, c.table)
	if err != nil {
		return nil, res, err
	}
	res.loadSeconds = time.Since(t0).Seconds()
	if rep.ToStackFlow.Created != n {
		return nil, res, fmt.Errorf("the first load created %d of %d: %s", rep.ToStackFlow.Created, n, rep)
	}
	e.advance(quietStep)
	if _, err := e.syncOnce(ctx, c.table); err != nil { // the load's echoes
		return nil, res, err
	}
	return e, res, nil
}

// measureIdleCycle moves the clock past the overlap and measures one cycle
// with nothing to do.
func measureIdleCycle(ctx context.Context, c idleCase, e *syncEnv, res *idleResult) error {
	e.advance(quietStep)
	e.sn.ResetRequests()
	e.sf.ResetRequests()
	t := time.Now()
	rep, err := e.syncOnce(ctx, c.table)
	if err != nil {
		return err
	}
	res.seconds = append(res.seconds, time.Since(t).Seconds())
	if w := rep.ToStackFlow.Writes() + rep.ToServiceNow.Writes(); w != 0 {
		return fmt.Errorf("an idle cycle wrote %d records: %s", w, rep)
	}
	res.callsSN = append(res.callsSN, int(rep.CallsServiceNow))
	res.callsSF = append(res.callsSF, int(rep.CallsStackFlow))
	res.loggedSN = append(res.loggedSN, len(e.sn.Requests()))
	res.loggedSF = append(res.loggedSF, len(e.sf.Requests()))
	return nil
}

// measureDeleteScan runs one delete scan (nothing was deleted).
func measureDeleteScan(ctx context.Context, c idleCase, e *syncEnv, res *idleResult) error {
	e.advance(quietStep)
	runtime.GC()
	t := time.Now()
	scan, err := e.s.ScanDeletes(ctx, c.table)
	if err != nil {
		return fmt.Errorf("delete scan: %w", err)
	}
	res.scanSeconds = time.Since(t).Seconds()
	res.scanCalls = scan.CallsServiceNow + scan.CallsStackFlow
	return nil
}

// spread shows a per-cycle figure: one number when every cycle agrees,
// else the lowest and highest.
func spread(xs []int) string {
	if len(xs) == 0 {
		return "none"
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
