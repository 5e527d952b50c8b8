package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
)

// metrics is the daemon's syncer.Observer: it counts what the syncer does
// and writes it in the Prometheus text exposition format (version 0.0.4),
// by hand, so the daemon needs no Prometheus client library. Its Observer
// methods only update counters under a mutex: no I/O on the sync's path.
type metrics struct {
	mu          sync.Mutex
	tables      []string            // the enabled tables, set once before the syncer runs
	records     map[[3]string]int64 // table, direction, outcome
	calls       map[[2]string]int64 // table, side
	runs        map[[2]string]int64 // table, result (success, error)
	conflicts   map[string]int64
	duration    map[string]float64 // seconds, last run
	lastSuccess map[string]time.Time
	running     map[string]int
	webhooks    map[string]int64 // result
}

func newMetrics() *metrics {
	return &metrics{
		records: map[[3]string]int64{}, calls: map[[2]string]int64{}, runs: map[[2]string]int64{},
		conflicts: map[string]int64{}, duration: map[string]float64{}, lastSuccess: map[string]time.Time{},
		running: map[string]int{}, webhooks: map[string]int64{},
	}
}

var _ syncer.Observer = (*metrics)(nil)

// direction turns a stream id ("incident/servicenow->stackflow") into a
// label value ("servicenow_to_stackflow").
func direction(stream string) string {
	_, dir, _ := strings.Cut(stream, "/")
	return strings.ReplaceAll(dir, "->", "_to_")
}

// RunStarted implements syncer.Observer.
func (m *metrics) RunStarted(table string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running[table]++
}

// Progress implements syncer.Observer.
func (m *metrics) Progress(string, int, int) {}

// Record implements syncer.Observer.
func (m *metrics) Record(ev syncer.RecordEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[[3]string{ev.Table, direction(ev.Stream), string(ev.Outcome)}]++
}

// RunFinished implements syncer.Observer.
func (m *metrics) RunFinished(r *syncer.Report) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running[r.Table] = max(0, m.running[r.Table]-1)
	m.calls[[2]string{r.Table, "servicenow"}] += r.CallsServiceNow
	m.calls[[2]string{r.Table, "stackflow"}] += r.CallsStackFlow
	m.conflicts[r.Table] += int64(len(r.Conflicts))
	m.duration[r.Table] = r.Duration.Seconds()
	result := "success"
	if r.Err != nil {
		result = "error"
	} else {
		m.lastSuccess[r.Table] = r.Started.Add(r.Duration)
	}
	m.runs[[2]string{r.Table, result}]++
}

// webhook counts a webhook delivery by what became of it.
func (m *metrics) webhook(result string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.webhooks[result]++
}

// dlqCounts are a table's dead-letter entries by kind.
type dlqCounts struct{ retrying, deferred, permanent int }

func countDLQ(entries []syncer.DLQEntry) dlqCounts {
	var c dlqCounts
	for _, e := range entries {
		switch {
		case e.Permanent:
			c.permanent++
		case e.Deferred:
			c.deferred++
		default:
			c.retrying++
		}
	}
	return c
}

// write writes every metric in the text exposition format, series sorted so
// that scrapes are stable. dlq holds the dead-letter counts per table, read
// from the store at scrape time.
func (m *metrics) write(w io.Writer, dlq map[string]dlqCounts) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, value float64, labels ...string) {
		b.WriteString(name)
		if len(labels) > 0 {
			b.WriteByte('{')
			for i := 0; i+1 < len(labels); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
			}
			b.WriteByte('}')
		}
		fmt.Fprintf(&b, " %s\n", formatValue(value))
	}

	family("snowsync_records_total", "counter", "Source records processed, by table, direction and outcome.")
	for _, k := range sortedKeys(m.records, func(a, b [3]string) int { return slices.Compare(a[:], b[:]) }) {
		sample("snowsync_records_total", float64(m.records[k]), "table", k[0], "direction", k[1], "outcome", k[2])
	}
	family("snowsync_api_calls_total", "counter", "HTTP requests (retries included) to each side, by table.")
	for _, t := range m.tables {
		for _, side := range []string{"servicenow", "stackflow"} {
			sample("snowsync_api_calls_total", float64(m.calls[[2]string{t, side}]), "table", t, "side", side)
		}
	}
	family("snowsync_runs_total", "counter", "Sync runs, by table and result.")
	for _, t := range m.tables {
		for _, result := range []string{"success", "error"} {
			sample("snowsync_runs_total", float64(m.runs[[2]string{t, result}]), "table", t, "result", result)
		}
	}
	family("snowsync_conflicts_total", "counter", "Field values that lost a merge (kept in the conflict log), by table.")
	for _, t := range m.tables {
		sample("snowsync_conflicts_total", float64(m.conflicts[t]), "table", t)
	}
	family("snowsync_run_duration_seconds", "gauge", "Duration of the table's latest run.")
	for _, t := range m.tables {
		sample("snowsync_run_duration_seconds", m.duration[t], "table", t)
	}
	family("snowsync_last_success_timestamp_seconds", "gauge", "When the table's latest successful run ended (Unix time; 0: never).")
	for _, t := range m.tables {
		ts := 0.0
		if last, ok := m.lastSuccess[t]; ok {
			ts = float64(last.UnixMilli()) / 1000
		}
		sample("snowsync_last_success_timestamp_seconds", ts, "table", t)
	}
	family("snowsync_run_in_progress", "gauge", "1 while the table syncs.")
	for _, t := range m.tables {
		sample("snowsync_run_in_progress", float64(min(1, m.running[t])), "table", t)
	}
	family("snowsync_dlq_entries", "gauge", "Dead-letter queue entries, by table and state (retrying, deferred: waiting for a reference, permanent: needs a person).")
	for _, t := range m.tables {
		c := dlq[t]
		sample("snowsync_dlq_entries", float64(c.retrying), "table", t, "state", "retrying")
		sample("snowsync_dlq_entries", float64(c.deferred), "table", t, "state", "deferred")
		sample("snowsync_dlq_entries", float64(c.permanent), "table", t, "state", "permanent")
	}
	family("snowsync_webhooks_total", "counter", "StackFlow webhook deliveries by result: queued or ignored (a one-way module) or refused (bad signature); queued ones end as echo (already synced), synced or failed.")
	for _, result := range []string{"queued", "ignored", "refused", "echo", "synced", "failed"} {
		sample("snowsync_webhooks_total", float64(m.webhooks[result]), "result", result)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

// escapeLabel escapes a label value as the exposition format requires.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func formatValue(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}
