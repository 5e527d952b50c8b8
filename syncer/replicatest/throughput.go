package replicatest

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/internal/testserver"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/servicenow/servicenowtest"
	"github.com/stackflow-tech/snowsync/stackflow"
	"github.com/stackflow-tech/snowsync/stackflow/stackflowtest"
	"github.com/stackflow-tech/snowsync/syncer"
)

// ThroughputConfig is a backlog synced under a ServiceNow rate limit.
type ThroughputConfig struct {
	Replicas int
	// PerTable records in each of incident, problem, change_request and
	// sc_request.
	PerTable int
	// Limit is the instance's rate limit for the integration user, in
	// requests per second (a rate-limit rule with a one-second window).
	Limit int
	// PageSize of the sweeps.
	PageSize int
	// Split is how the replicas share Limit.
	Split Split
}

// Split is how replicas share the instance's rate limit.
type Split int

const (
	// SplitWhole gives each replica's client the whole limit: the
	// instance's 429s (with Retry-After) pace them.
	SplitWhole Split = iota
	// SplitEvenly gives each replica's client Limit/Replicas.
	SplitEvenly
	// SplitByTables sets syncer.Config.ServiceNowBudget: each replica gets
	// the part of Limit that matches its share of the tables.
	SplitByTables
)

// ThroughputResult is what one backlog took.
type ThroughputResult struct {
	Records       int
	Elapsed       time.Duration
	SNRequests    int // requests that reached the instance
	SNRateLimited int // of which answered 429
}

// RecordsPerSecond is Records / Elapsed.
func (r ThroughputResult) RecordsPerSecond() float64 { return float64(r.Records) / r.Elapsed.Seconds() }

func (r ThroughputResult) String() string {
	return fmt.Sprintf("%d records in %s: %.0f records/s, %d ServiceNow requests (%d answered 429)",
		r.Records, r.Elapsed.Round(10*time.Millisecond), r.RecordsPerSecond(), r.SNRequests, r.SNRateLimited)
}

// Throughput syncs a backlog of tickets from ServiceNow with cfg.Replicas
// replicas on one shared store (from open) and returns how long it took
// until StackFlow held every record.
func Throughput(tb testing.TB, open func() syncer.Store, cfg ThroughputConfig) ThroughputResult {
	tb.Helper()
	clock := testserver.NewManualClock(time.Now().UTC().Truncate(time.Second))
	sn := servicenowtest.NewServer(tb, servicenowtest.WithClock(clock))
	sf := stackflowtest.NewServer(tb, stackflowtest.WithClock(clock))
	ts := clock.Now().Add(-time.Hour).Format(time.DateTime)
	backlog := []struct{ table, module string }{{"incident", "incidents"}, {"problem", "problems"}, {"change_request", "changes"}, {"sc_request", "service_requests"}}
	for _, b := range backlog {
		if _, err := sn.Seed(b.table, rows(cfg.PerTable, func(i int) map[string]any {
			return map[string]any{"short_description": fmt.Sprintf("%s %d", b.table, i), "sys_updated_on": ts}
		})...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sn.AddRateLimit(servicenowtest.RateLimitRule{User: servicenowtest.AdminUser, Limit: cfg.Limit, Window: time.Second}); err != nil {
		tb.Fatal(err)
	}
	clock.Advance(time.Minute)
	defer runClock(clock, 100*time.Millisecond, 100*time.Millisecond)()

	perClient := rate.Limit(cfg.Limit)
	if cfg.Split == SplitEvenly {
		perClient = rate.Limit(float64(cfg.Limit) / float64(cfg.Replicas))
	}
	var requests, limited atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var stops []chan struct{}
	start := time.Now()
	for i := range cfg.Replicas {
		limiter := rate.NewLimiter(perClient, 1)
		var budget *syncer.RateBudget
		if cfg.Split == SplitByTables {
			budget = &syncer.RateBudget{Limiter: limiter, Rate: rate.Limit(cfg.Limit)}
		}
		snc, err := servicenow.NewClient(sn.URL(), servicenow.WithBasicAuth(servicenowtest.AdminUser, servicenowtest.AdminPassword),
			servicenow.WithHTTPClient(&http.Client{Transport: countingTransport{next: sn.Client().Transport, n: &requests, limited: &limited}}),
			servicenow.WithRateLimiter(limiter),
			servicenow.WithRetry(servicenow.RetryPolicy{MaxRetries: 10, WaitMin: 50 * time.Millisecond, WaitMax: 2 * time.Second}))
		if err != nil {
			tb.Fatal(err)
		}
		sfc, err := stackflow.NewClient(sf.BaseURL(), stackflow.WithToken(stackflowtest.DefaultToken), stackflow.WithHTTPClient(sf.Client()))
		if err != nil {
			tb.Fatal(err)
		}
		var tcs []syncer.TableConfig
		for _, b := range backlog {
			tcs = append(tcs, syncer.TableConfig{Table: b.table, Enabled: true, Interval: time.Minute})
		}
		s, err := syncer.New(syncer.Config{ServiceNow: snc, StackFlow: sfc, Store: open(), Tables: tcs,
			ReplicaID: fmt.Sprintf("replica-%d", i), LeaseTTL: LeaseTTL, PageSize: cfg.PageSize, SafetyLag: 2 * time.Second,
			ServiceNowBudget: budget})
		if err != nil {
			tb.Fatal(err)
		}
		stop := make(chan struct{})
		stops = append(stops, stop)
		go func() {
			defer close(stop)
			_ = s.Run(ctx)
		}()
	}
	defer func() {
		cancel()
		for _, st := range stops {
			<-st
		}
	}()
	want := cfg.PerTable * len(backlog)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		got := 0
		for _, b := range backlog {
			n, err := sf.Count(b.module, false)
			if err != nil {
				tb.Fatal(err)
			}
			got += n
		}
		if got >= want {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d records synced in 10 minutes", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ThroughputResult{Records: want, Elapsed: time.Since(start), SNRequests: int(requests.Load()), SNRateLimited: int(limited.Load())}
}

// countingTransport counts the requests that reach the instance and its
// 429 answers.
type countingTransport struct {
	next       http.RoundTripper
	n, limited *atomic.Int64
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	t.n.Add(1)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		t.limited.Add(1)
	}
	return resp, err
}
