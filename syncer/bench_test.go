package syncer_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
	"github.com/stackflow-tech/snowsync/syncer/boltstore"
)

// seedCIs loads n CIs of a few classes into the fake ServiceNow, updated
// well before the sync starts.
func seedCIs(tb testing.TB, e *env, n int) {
	tb.Helper()
	classes := []string{"cmdb_ci_linux_server", "cmdb_ci_win_server", "cmdb_ci_db_instance", "cmdb_ci_appl"}
	for ci, class := range classes {
		var rows []map[string]any
		for i := ci; i < n; i += len(classes) {
			rows = append(rows, map[string]any{
				"name": fmt.Sprintf("ci-%06d", i), "ip_address": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
				"fqdn": fmt.Sprintf("ci-%06d.acme.internal", i), "serial_number": fmt.Sprintf("SN%08d", i),
				"install_status": "1", "operational_status": "1", "environment": "Production",
				"sys_updated_on": "2026-03-01 12:00:00",
			})
		}
		if _, err := e.sn.Seed(class, rows...); err != nil {
			tb.Fatal(err)
		}
	}
}

func benchEnv(b *testing.B, bolt bool) *env {
	return newEnvTB(b, func(c *syncer.Config) {
		c.Tables = []syncer.TableConfig{{Table: "cmdb_ci", Enabled: true}}
		if bolt {
			st, err := boltstore.Open(filepath.Join(b.TempDir(), "state.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			c.Store = st
		}
	})
}

// BenchmarkInitialLoadCIs syncs 100,000 CIs ServiceNow → StackFlow through
// the fakes (in process), with the bbolt store.
func BenchmarkInitialLoadCIs(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		e := benchEnv(b, true)
		seedCIs(b, e, n)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		rep := e.sync("cmdb_ci")
		el := time.Since(start)
		b.StopTimer()
		if rep.ToStackFlow.Created != n {
			b.Fatalf("created %d of %d: %s", rep.ToStackFlow.Created, n, rep)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "records/s")
		b.ReportMetric(float64(rep.CallsServiceNow)/n, "sn-calls/record")
		b.ReportMetric(float64(rep.CallsStackFlow)/n, "sf-calls/record")
		b.StartTimer()
	}
}

// BenchmarkIdleCycle measures a cycle with nothing to do on 1,000 and
// 100,000 CIs: requests and time must not grow with the table.
func BenchmarkIdleCycle(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e := benchEnv(b, true)
			seedCIs(b, e, n)
			e.sync("cmdb_ci")
			e.clock.Advance(30 * time.Minute)
			e.sync("cmdb_ci") // the overlap of the load
			var calls int64
			for b.Loop() {
				e.clock.Advance(time.Minute)
				rep, err := e.s.SyncOnce(context.Background(), "cmdb_ci")
				if err != nil {
					b.Fatal(err)
				}
				calls = rep.CallsServiceNow + rep.CallsStackFlow
			}
			b.ReportMetric(float64(calls), "requests/cycle")
		})
	}
}

// BenchmarkInitialLoadCMDB syncs 100,000 CIs and 150,000 relationships.
func BenchmarkInitialLoadCMDB(b *testing.B) {
	const nCI, nRel = 100_000, 150_000
	for b.Loop() {
		b.StopTimer()
		e := newEnvTB(b, func(c *syncer.Config) {
			c.Tables = []syncer.TableConfig{{Table: "cmdb_ci", Enabled: true}, {Table: "cmdb_rel_ci", Enabled: true}}
			st, err := boltstore.Open(filepath.Join(b.TempDir(), "state.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			c.Store = st
		})
		ids := seedCIsIDs(b, e, nCI)
		rels := make([]map[string]any, nRel)
		for i := range rels {
			rels[i] = map[string]any{"parent": ids[i%nCI], "child": ids[(i*7+1)%nCI], "type": "1a9cb166f1571100a92eb60da2bce5c5", "sys_updated_on": "2026-03-01 12:00:00"}
		}
		if _, err := e.sn.Seed("cmdb_rel_ci", rels...); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		ci := e.sync("cmdb_ci")
		rel := e.sync("cmdb_rel_ci")
		el := time.Since(start)
		b.StopTimer()
		if ci.ToStackFlow.Created != nCI || rel.ToStackFlow.Created != nRel {
			b.Fatalf("%s\n%s", ci, rel)
		}
		n := float64(nCI + nRel)
		b.ReportMetric(n/el.Seconds(), "records/s")
		b.ReportMetric(float64(ci.CallsServiceNow+rel.CallsServiceNow)/n, "sn-calls/record")
		b.ReportMetric(float64(ci.CallsStackFlow+rel.CallsStackFlow)/n, "sf-calls/record")
		b.StartTimer()
	}
}

// seedCIsIDs is seedCIs returning the sys_ids.
func seedCIsIDs(tb testing.TB, e *env, n int) []string {
	tb.Helper()
	var ids []string
	for start := 0; start < n; start += 10_000 {
		rows := make([]map[string]any, 0, 10_000)
		for i := start; i < min(start+10_000, n); i++ {
			rows = append(rows, map[string]any{"name": fmt.Sprintf("ci-%06d", i), "install_status": "1", "sys_updated_on": "2026-03-01 12:00:00"})
		}
		got, err := e.sn.Seed("cmdb_ci_linux_server", rows...)
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, got...)
	}
	return ids
}

// BenchmarkChurn edits 1,000 synced incidents, half in each system, and
// syncs: the calls per changed record measure what a steady state costs.
func BenchmarkChurn(b *testing.B) {
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		e := newEnvTB(b, func(c *syncer.Config) { c.Tables = []syncer.TableConfig{{Table: "incident", Enabled: true}} })
		var ids []string
		rows := make([]map[string]any, n)
		for i := range rows {
			rows[i] = map[string]any{"short_description": fmt.Sprintf("incident %d", i), "impact": "2", "urgency": "2", "sys_updated_on": "2026-03-01 12:00:00"}
		}
		ids, err := e.sn.Seed("incident", rows...)
		if err != nil {
			b.Fatal(err)
		}
		e.sync("incident")
		e.clock.Advance(time.Hour)
		e.sync("incident") // past the overlap of the load
		sfIDs := map[string]string{}
		recs, _ := e.sf.Records("incidents")
		for _, r := range recs {
			sfIDs[r.ExternalID] = r.ID
		}
		for i, id := range ids {
			if i%2 == 0 {
				if _, err := e.sn.Update("incident", id, map[string]string{"description": fmt.Sprintf("edited in ServiceNow %d", i)}); err != nil {
					b.Fatal(err)
				}
			} else if _, err := e.sf.Update("incidents", sfIDs[id], map[string]any{"description": fmt.Sprintf("edited in StackFlow %d", i)}, "agent"); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		rep := e.sync("incident")
		b.StopTimer()
		if w := rep.ToStackFlow.Updated + rep.ToServiceNow.Updated; w != n {
			b.Fatalf("%d writes for %d changes: %s", w, n, rep)
		}
		b.ReportMetric(float64(rep.CallsServiceNow+rep.CallsStackFlow)/n, "calls/changed-record")
		b.ReportMetric(float64(rep.ToStackFlow.Echoes+rep.ToServiceNow.Echoes+rep.ToStackFlow.Unchanged+rep.ToServiceNow.Unchanged), "echoes-skipped")
		b.StartTimer()
	}
}

// BenchmarkFirstLoadBidirectional syncs 1,000 new incidents each way (one
// create per record on the other side, as a bidirectional table must),
// with every request to either fake held 5 ms, a nearby data centre's
// round trip, at 1, 4 (the default) and 8 concurrent writes per page: the
// records/s show how much of the latency the concurrent writes hide.
func BenchmarkFirstLoadBidirectional(b *testing.B) {
	const n = 1000
	for _, writers := range []int{1, syncer.DefaultWriteConcurrency, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				e := newEnvTB(b, func(c *syncer.Config) {
					c.Tables = []syncer.TableConfig{{Table: "incident", Enabled: true}}
					c.WriteConcurrency = writers
				})
				rows := make([]map[string]any, n)
				for i := range rows {
					rows[i] = map[string]any{"short_description": fmt.Sprintf("incident %d", i), "impact": "2", "urgency": "2", "sys_updated_on": "2026-03-01 12:00:00"}
				}
				if _, err := e.sn.Seed("incident", rows...); err != nil {
					b.Fatal(err)
				}
				sfRows := make([]map[string]any, n)
				for i := range sfRows {
					sfRows[i] = map[string]any{"title": fmt.Sprintf("from StackFlow %d", i), "state": "new", "impact": 2, "urgency": 2}
				}
				if _, err := e.sf.Seed("incidents", sfRows...); err != nil {
					b.Fatal(err)
				}
				const rtt = 5 * time.Millisecond
				e.sn.AddFault(servicenowtest.Fault{Kind: servicenowtest.FaultDelay, Delay: rtt, Times: -1})
				e.sf.AddFault(stackflowtest.Fault{Kind: stackflowtest.FaultDelay, Delay: rtt, Times: -1})
				b.StartTimer()
				start := time.Now()
				rep := e.sync("incident")
				el := time.Since(start)
				b.StopTimer()
				if rep.ToStackFlow.Created != n || rep.ToServiceNow.Created != n {
					b.Fatalf("created %d and %d of %d each way: %s", rep.ToStackFlow.Created, rep.ToServiceNow.Created, n, rep)
				}
				if nSN, nSF := len(e.sn.Records("incident")), mustCount(b, e, "incidents"); nSN != 2*n || nSF != 2*n {
					b.Fatalf("%d ServiceNow and %d StackFlow incidents, want %d each", nSN, nSF, 2*n)
				}
				b.ReportMetric(float64(2*n)/el.Seconds(), "records/s")
				b.ReportMetric(float64(rep.CallsServiceNow+rep.CallsStackFlow)/(2*n), "calls/record")
				b.StartTimer()
			}
		})
	}
}

func mustCount(b *testing.B, e *env, module string) int {
	n, err := e.sf.Count(module, true)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
