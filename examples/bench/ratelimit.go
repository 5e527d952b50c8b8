package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/syncer"
)

// Section 5 settings and targets.
const (
	limitPerSec    = 10     // ServiceNow requests per second
	rateBurst      = 5      // the limiter's burst
	ratePageSize   = 100    // records per page: the read bound is limitPerSec × ratePageSize records/s
	rateBacklog    = 30_000 // incidents waiting: more than a run can read (1.5 × the full run)
	rateUseTarget  = 0.9    // at least 90% of the limit used
	rateFullPeriod = 20 * time.Second
)

func rateLimit(ctx context.Context, cfg config) ([]row, error) {
	period := rateFullPeriod
	switch {
	case cfg.div() >= 100:
		period = 3 * time.Second
	case cfg.div() >= 10:
		period = 5 * time.Second
	}
	e, err := newSyncEnv(envOptions{
		tables:    []syncer.TableConfig{{Table: "incident", Enabled: true, Direction: mapping.ToStackFlow}},
		pageSize:  ratePageSize,
		snLimiter: rate.NewLimiter(limitPerSec, rateBurst),
	})
	if err != nil {
		return nil, err
	}
	defer e.close()
	updated := time.Now().Add(-24 * time.Hour)
	if _, err := seedRows(e.sn, "incident", rateBacklog, func(i int) map[string]any { return syncIncident(i, updated) }); err != nil {
		return nil, err
	}
	e.sn.ResetRequests()
	cfg.logf("rate limit: %s incidents waiting, %d requests/s (burst %d), pages of %d, for %s", count(rateBacklog), limitPerSec, rateBurst, ratePageSize, period)

	runCtx, cancel := context.WithTimeout(ctx, period)
	defer cancel()
	t0 := time.Now()
	rep, err := e.s.SyncOnce(runCtx, "incident")
	el := time.Since(t0).Seconds()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	if err == nil {
		return nil, fmt.Errorf("the backlog of %d drained before the %s deadline: raise rateBacklog", rateBacklog, period)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var at []time.Time
	for _, r := range e.sn.Requests() {
		at = append(at, r.Time)
	}
	if len(at) == 0 {
		return nil, errors.New("the fake ServiceNow saw no request")
	}
	peak := maxInWindow(at, time.Second)
	mean := float64(len(at)) / el
	bound := float64(limitPerSec * ratePageSize)
	recs := float64(rep.ToStackFlow.Fetched) / el
	return []row{
		check("ServiceNow requests in any 1-s window, max", fmt.Sprintf("%d (%d requests in %.1f s)", peak, len(at), el),
			fmt.Sprintf("≤ %d (limit %d/s + burst %d)", limitPerSec+rateBurst, limitPerSec, rateBurst), peak <= limitPerSec+rateBurst),
		check("ServiceNow requests/s, mean (the burst included)", fmt.Sprintf("%.2f (%.0f%% of the limit)", mean, mean/limitPerSec*100),
			fmt.Sprintf("≥ %.0f (%.0f%% of %d)", rateUseTarget*limitPerSec, rateUseTarget*100, limitPerSec), mean >= rateUseTarget*limitPerSec),
		info(fmt.Sprintf("records/s read and synced, pages of %d", ratePageSize),
			fmt.Sprintf("%s (%.0f%% of the bound %s = limit × page size)", perSec(recs), recs/bound*100, perSec(bound))),
	}, nil
}

// maxInWindow returns the largest number of times in any window of length
// w (times need not be sorted).
func maxInWindow(times []time.Time, w time.Duration) int {
	ts := slices.Clone(times)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
