package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/syncer"
)

// daemon is the running service: the syncer and its HTTP face.
type daemon struct {
	cfg   *config
	s     *syncer.Syncer
	store syncer.Store
	met   *metrics
	log   *slog.Logger
	hooks *webhookQueue
}

// routes serves:
//
//	GET  /healthz            per table: last success, lag, last error, DLQ; 200 or 503
//	GET  /metrics            Prometheus text format
//	POST /sync/{table}       run a table now (also "cmdb": both CMDB tables, "all"); 202, 404
//	POST /webhooks/stackflow a signed StackFlow record event: sync that record now
func (d *daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.healthz)
	mux.HandleFunc("GET /metrics", d.metrics)
	mux.HandleFunc("POST /sync/{table}", d.trigger)
	if d.cfg.sf.webhookSecret.IsSet() {
		v := &stackflow.WebhookVerifier{
			Secret: []byte(d.cfg.sf.webhookSecret.Value()),
			OnError: func(r *http.Request, err error) {
				for _, refused := range []error{stackflow.ErrInvalidSignature, stackflow.ErrStaleWebhook, stackflow.ErrWebhookTooLarge, stackflow.ErrInvalidWebhook} {
					if errors.Is(err, refused) {
						d.met.webhook("refused")
					}
				}
				d.log.LogAttrs(r.Context(), slog.LevelWarn, "webhook not accepted", slog.String("error", err.Error()))
			},
		}
		mux.Handle("POST /webhooks/stackflow", v.Handler(d.webhook))
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing left to tell it
}

// tableHealth is one table in /healthz.
type tableHealth struct {
	Healthy     bool       `json:"healthy"`
	Reason      string     `json:"reason,omitempty"`
	Running     bool       `json:"running"`
	LastRun     *time.Time `json:"last_run,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	// LagSeconds is how far behind now the last complete sweep of
	// ServiceNow reached: changes younger than this are not synced yet.
	LagSeconds *float64 `json:"lag_seconds,omitempty"`
	LastError  string   `json:"last_error,omitempty"`
	DLQ        struct {
		Retrying  int `json:"retrying"`
		Deferred  int `json:"deferred"`
		Permanent int `json:"permanent"`
	} `json:"dlq"`
}

// health reads every table's state from the store. A table is healthy when
// its latest run succeeded and its last success is recent (within three
// intervals and a minute); dead-letter entries are reported, not judged.
func (d *daemon) health(ctx context.Context) (map[string]*tableHealth, bool, error) {
	out := map[string]*tableHealth{}
	now := time.Now()
	ok := true
	for _, table := range d.s.Tables() {
		h := &tableHealth{}
		var st *syncer.StreamState
		err := d.store.View(ctx, func(tx syncer.ReadTx) error {
			var err error
			st, err = tx.Stream(table + "/servicenow->stackflow")
			return err
		})
		if err != nil {
			return nil, false, err
		}
		entries, err := d.s.DLQ(ctx, table)
		if err != nil {
			return nil, false, err
		}
		c := countDLQ(entries)
		h.DLQ.Retrying, h.DLQ.Deferred, h.DLQ.Permanent = c.retrying, c.deferred, c.permanent
		d.met.mu.Lock()
		h.Running = d.met.running[table] > 0
		d.met.mu.Unlock()
		interval := d.cfg.intervalOf(table)
		switch {
		case st == nil || st.LastSuccess.IsZero():
			h.Reason = "no successful run yet"
			if st != nil && st.LastError != "" {
				h.Reason = "the first run failed"
			}
		case st.LastError != "":
			h.Reason = "the latest run failed"
		case now.Sub(st.LastSuccess) > 3*interval+time.Minute:
			h.Reason = fmt.Sprintf("no successful run for %s (interval %s)", now.Sub(st.LastSuccess).Round(time.Second), interval)
		default:
			h.Healthy = true
		}
		if st != nil {
			h.LastError = st.LastError
			if !st.LastRun.IsZero() {
				t := st.LastRun.UTC()
				h.LastRun = &t
			}
			if !st.LastSuccess.IsZero() {
				t := st.LastSuccess.UTC()
				h.LastSuccess = &t
			}
			if !st.SweptTo.IsZero() {
				lag := max(0, now.Sub(st.SweptTo).Seconds())
				lag = float64(int64(lag*10)) / 10
				h.LagSeconds = &lag
			}
		}
		ok = ok && h.Healthy
		out[table] = h
	}
	return out, ok, nil
}

func (d *daemon) healthz(w http.ResponseWriter, r *http.Request) {
	tables, ok, err := d.health(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "error", "error": err.Error()})
		return
	}
	status, code := "ok", http.StatusOK
	if !ok {
		status, code = "unhealthy", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "tables": tables})
}

func (d *daemon) metrics(w http.ResponseWriter, r *http.Request) {
	dlq := map[string]dlqCounts{}
	for _, table := range d.s.Tables() {
		entries, err := d.s.DLQ(r.Context(), table)
		if err != nil {
			http.Error(w, "reading the dead-letter queue: "+err.Error(), http.StatusInternalServerError)
			return
		}
		dlq[table] = countDLQ(entries)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if err := d.met.write(w, dlq); err != nil {
		d.log.LogAttrs(r.Context(), slog.LevelDebug, "writing metrics", slog.String("error", err.Error()))
	}
}

// trigger runs a table now: the guide's "sync-cmdb" is POST /sync/cmdb.
func (d *daemon) trigger(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("table")
	var tables []string
	switch name {
	case "all":
		tables = d.s.Tables()
	case "cmdb":
		for _, t := range d.s.Tables() {
			if strings.HasPrefix(t, "cmdb_") {
				tables = append(tables, t)
			}
		}
	default:
		tables = []string{name}
	}
	if len(tables) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no CMDB table is synced"})
		return
	}
	for _, t := range tables {
		if err := d.s.Trigger(t); err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": err.Error(), "tables": d.s.Tables()})
			return
		}
	}
	d.log.LogAttrs(r.Context(), slog.LevelInfo, "sync triggered", slog.Any("tables", tables))
	writeJSON(w, http.StatusAccepted, map[string]any{"triggered": tables})
}

// webhook queues the record of a verified StackFlow event for an early
// sync. Events of modules that do not sync back to ServiceNow are ignored.
// A full queue answers 500, so StackFlow delivers the event again later.
func (d *daemon) webhook(_ context.Context, ev *stackflow.WebhookEvent) error {
	table, ok := d.syncsBack(ev.Module)
	if !ok {
		d.met.webhook("ignored")
		return nil
	}
	if err := d.hooks.enqueue(recordRef{module: ev.Module, table: table, id: ev.Record.ID()}, ev.Record.Version()); err != nil {
		d.met.webhook("failed")
		return err
	}
	d.met.webhook("queued")
	return nil
}

// syncsBack returns the ServiceNow table of module, and whether StackFlow
// changes to its records sync to ServiceNow.
func (d *daemon) syncsBack(m stackflow.Module) (string, bool) {
	for _, tm := range d.s.Mapping().Tables() {
		if "/"+tm.Module() == m.Path() {
			return tm.Table(), tm.Direction() == mapping.Bidirectional
		}
	}
	return "", false
}

// webhookQueue syncs the records webhooks name, one at a time, outside the
// HTTP request (StackFlow wants a quick answer). A record queued twice is
// synced once. It starts working once the daemon's first cycle is done:
// StackFlow sends a webhook for every write, the sync's own included, and
// during a first load those are nearly all echoes of it.
type webhookQueue struct {
	s     *syncer.Syncer
	store syncer.Store
	met   *metrics
	log   *slog.Logger
	ch    chan recordRef
	ready chan struct{}

	mu      sync.Mutex
	pending map[recordRef]int64 // the newest version an event announced
}

type recordRef struct {
	module stackflow.Module
	table  string
	id     string
}

var errQueueFull = errors.New("the webhook queue is full; deliver again later")

func newWebhookQueue(s *syncer.Syncer, store syncer.Store, met *metrics, log *slog.Logger) *webhookQueue {
	return &webhookQueue{s: s, store: store, met: met, log: log, ch: make(chan recordRef, 1024),
		ready: make(chan struct{}), pending: map[recordRef]int64{}}
}

func (q *webhookQueue) enqueue(ref recordRef, version int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if v, queued := q.pending[ref]; queued {
		q.pending[ref] = max(v, version)
		return nil
	}
	select {
	case q.ch <- ref:
		q.pending[ref] = version
		return nil
	default:
		return errQueueFull
	}
}

// start lets run begin syncing.
func (q *webhookQueue) start() { close(q.ready) }

// run syncs queued records until ctx ends.
func (q *webhookQueue) run(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-q.ready:
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ref := <-q.ch:
			q.mu.Lock()
			version := q.pending[ref]
			delete(q.pending, ref)
			q.mu.Unlock()
			if q.synced(ctx, ref, version) {
				q.met.webhook("echo")
				continue
			}
			q.sync(ctx, ref)
		}
	}
}

// synced reports whether the syncer has already seen this version of the
// record (an echo of its own write, or a change a run took along): then
// there is nothing to sync early.
func (q *webhookQueue) synced(ctx context.Context, ref recordRef, version int64) bool {
	var seen bool
	err := q.store.View(ctx, func(tx syncer.ReadTx) error {
		p, err := tx.PairBySF(ref.table, ref.id)
		seen = err == nil && p != nil && p.Pending == nil && version > 0 && p.VerSF >= version
		return err
	})
	return err == nil && seen
}

// sync syncs one record, trying again a few times when the table is busy
// (a scheduled run holds it) or a side failed; in the end it leaves the
// record to the next scheduled run.
func (q *webhookQueue) sync(ctx context.Context, ref recordRef) {
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		rep, err := q.s.SyncStackFlowRecord(ctx, string(ref.module), ref.id)
		if err == nil {
			q.met.webhook("synced")
			q.log.LogAttrs(ctx, slog.LevelInfo, "webhook record synced", slog.String("module", string(ref.module)), slog.String("id", ref.id),
				slog.Int("to_servicenow", rep.ToServiceNow.Writes()))
			return
		}
		if ctx.Err() != nil {
			return
		}
		if attempt == 5 {
			q.met.webhook("failed")
			q.log.LogAttrs(ctx, slog.LevelWarn, "webhook record not synced; the scheduled run will",
				slog.String("module", string(ref.module)), slog.String("id", ref.id), slog.String("error", err.Error()))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}
