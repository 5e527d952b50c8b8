package syncer

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Run syncs every enabled table on its schedule until ctx ends: each table
// at once, then every Interval (with ±10% jitter so tables and replicas
// spread out), and at once when Trigger asks. At most MaxStreamsRunning
// tables run at the same time; they share the clients, hence each host's
// rate limiter and its 429 pause.
//
// Run holds a lease per table it syncs and renews it between runs, so a
// table has one owner; a table another replica holds is tried again every
// half lease, so a dead replica's tables move within the lease time. When
// ctx ends, Run lets running tables stop (a page that did not finish
// commits nothing: its records are read again next time), gives its leases
// back, and returns nil.
func (s *Syncer) Run(ctx context.Context) error {
	type result struct {
		table string
		rep   *Report
	}
	results := make(chan result)
	next := map[string]time.Time{}
	running := map[string]bool{}
	now := time.Now()
	for i, t := range s.order {
		// Stagger the first runs a little; dependencies run first.
		next[t.Table] = now.Add(time.Duration(i) * 10 * time.Millisecond)
	}
	renew := time.NewTicker(max(s.cfg.LeaseTTL/3, time.Second))
	defer renew.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	inflight := 0
	for {
		now = time.Now()
		for _, t := range s.order {
			if inflight >= s.cfg.MaxStreamsRunning {
				break
			}
			if running[t.Table] || next[t.Table].After(now) {
				continue
			}
			running[t.Table] = true
			inflight++
			go func(tc TableConfig) {
				rep := s.runTable(ctx, tc, runFull, 0, false)
				results <- result{tc.Table, rep}
			}(t)
		}
		wake := now.Add(time.Hour)
		for _, t := range s.order {
			if !running[t.Table] && next[t.Table].Before(wake) {
				wake = next[t.Table]
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(wake), time.Millisecond))
		select {
		case <-ctx.Done():
			for inflight > 0 {
				<-results
				inflight--
			}
			s.releaseAll(context.WithoutCancel(ctx))
			return nil
		case res := <-results:
			running[res.table] = false
			inflight--
			tc := s.tables[res.table]
			switch {
			case errors.Is(res.rep.Err, ErrLeaseHeld):
				next[res.table] = time.Now().Add(s.cfg.LeaseTTL / 2)
			case res.rep.Err != nil && ctx.Err() == nil:
				// Back off a little on failures, never beyond the interval.
				next[res.table] = time.Now().Add(min(tc.Interval, time.Minute) + jitter(tc.Interval/10))
			default:
				next[res.table] = time.Now().Add(tc.Interval + jitter(tc.Interval/10))
			}
		case table := <-s.trigger:
			next[table] = time.Now()
		case <-renew.C:
			s.renewOwned(ctx, running)
		case <-timer.C:
		}
	}
}

// jitter returns a random duration in [-d, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(2*d)+1)) - d
}

// rememberLease keeps a lease held between runs.
func (s *Syncer) rememberLease(l Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owned == nil {
		s.owned = map[string]Lease{}
	}
	s.owned[l.Group] = l
}

// renewOwned renews the leases of tables that are not running right now;
// a lease that cannot be renewed is forgotten (another replica took it).
func (s *Syncer) renewOwned(ctx context.Context, running map[string]bool) {
	s.mu.Lock()
	owned := make([]Lease, 0, len(s.owned))
	for _, l := range s.owned {
		if !running[l.Group] {
			owned = append(owned, l)
		}
	}
	s.mu.Unlock()
	for _, l := range owned {
		nl, err := s.store.AcquireLease(ctx, l.Group, s.holder, s.cfg.LeaseTTL)
		s.mu.Lock()
		if err != nil || nl.Token != l.Token {
			delete(s.owned, l.Group)
			if err == nil {
				s.owned[l.Group] = nl
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "lease moved", slog.String("table", l.Group))
		} else {
			s.owned[l.Group] = nl
		}
		s.mu.Unlock()
	}
}

// releaseAll gives every held lease back (graceful stop).
func (s *Syncer) releaseAll(ctx context.Context) {
	s.mu.Lock()
	owned := s.owned
	s.owned = nil
	s.mu.Unlock()
	for _, l := range owned {
		_ = s.store.ReleaseLease(ctx, l)
	}
}
