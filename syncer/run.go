package syncer

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Run syncs every enabled table on its schedule until ctx ends: each table
// at once, then every Interval (with ±10% jitter so tables and replicas
// spread out), and at once when Trigger asks. At most MaxStreamsRunning
// tables run at the same time; they share the clients, hence each host's
// rate limiter and its 429 pause.
//
// Run holds a lease per table it syncs and renews it between runs, so a
// table has one owner. When the store is shared by several replicas (it
// implements Replicas, as syncer/pgstore does), every replica heartbeats
// and the tables are spread evenly across the live ones, in the order of
// their names: a replica that joins gets its share as the others finish
// their current page, and a replica that dies stops heartbeating, so its
// tables move once its leases expire (within LeaseTTL and a third). It
// waits a tenth of LeaseTTL (at most 2 s) before its first runs, for
// replicas started with it to announce themselves. Replicas may enable
// different tables (during a rolling change of the configuration, say):
// each table goes to one of the replicas that enable it. Without
// Replicas, Run syncs every table whose lease it can get, and tries a
// held one again every half lease.
//
// When ctx ends, Run lets running tables stop (a page that did not finish
// commits nothing: its records are read again next time), gives its leases
// back, leaves the replica set, and returns nil.
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
	sp := s.newSpread()
	defer sp.restoreBudget()
	if !sp.shared() {
		sp.restoreBudget() // alone: all of it
	}
	sp.heartbeat(ctx, next, running)
	if sp.shared() {
		// Replicas usually start together (a deployment): let the others
		// announce themselves before dealing, so tables do not start here
		// only to move at once.
		select {
		case <-ctx.Done():
		case <-time.After(settleTime(s.cfg.LeaseTTL)):
		}
		sp.heartbeat(ctx, next, running)
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
			if running[t.Table] || next[t.Table].After(now) || !sp.mine(t.Table) {
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
			if !running[t.Table] && sp.mine(t.Table) && next[t.Table].Before(wake) {
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
			stop := context.WithoutCancel(ctx)
			s.releaseAll(stop)
			sp.leave(stop)
			return nil
		case res := <-results:
			running[res.table] = false
			inflight--
			s.mu.Lock()
			delete(s.handOff, res.table)
			s.mu.Unlock()
			tc := s.tables[res.table]
			switch {
			case errors.Is(res.rep.Err, ErrLeaseHeld) || errors.Is(res.rep.Err, ErrFenced):
				// Another replica has it: try again soon when the table is
				// ours by the spread (its old owner is handing it over or
				// its lease is running out), else every half lease.
				wait := s.cfg.LeaseTTL / 2
				if sp.shared() {
					wait = max(s.cfg.LeaseTTL/10, 100*time.Millisecond)
				}
				next[res.table] = time.Now().Add(wait)
			case errors.Is(res.rep.Err, ErrBusy):
				// A SyncOnce of the caller's has it: look again soon.
				next[res.table] = time.Now().Add(time.Second)
			case res.rep.Err != nil && ctx.Err() == nil:
				// Back off a little on failures, never beyond the interval.
				next[res.table] = time.Now().Add(min(tc.Interval, time.Minute) + jitter(tc.Interval/10))
			default:
				next[res.table] = time.Now().Add(tc.Interval + jitter(tc.Interval/10))
			}
			if !sp.mine(res.table) {
				// Dealt to another replica while it ran here.
				s.giveBack(ctx, res.table, false)
			}
		case table := <-s.trigger:
			next[table] = time.Now()
		case <-renew.C:
			sp.heartbeat(ctx, next, running)
			s.renewOwned(ctx, running)
		case <-timer.C:
		}
	}
}

// settleTime is how long a replica of a shared store waits for the others
// before it starts its first tables.
func settleTime(ttl time.Duration) time.Duration { return min(ttl/10, 2*time.Second) }

// spread decides which tables this replica runs when the store is shared
// (see Replicas).
type spread struct {
	s       *Syncer
	reps    Replicas  // nil: not shared, every table is ours
	names   []string  // the enabled tables, sorted
	members []Replica // live replicas, sorted, as of the last heartbeat
	owners  map[string]string
}

func (s *Syncer) newSpread() *spread {
	sp := &spread{s: s}
	sp.reps, _ = s.store.(Replicas)
	for _, t := range s.order {
		sp.names = append(sp.names, t.Table)
	}
	slices.Sort(sp.names)
	return sp
}

func (sp *spread) shared() bool { return sp.reps != nil }

// deal assigns every table some live replica enables to one of those
// replicas: the tables in sorted order, each to the replica that enables
// it with the fewest tables so far (the first in holder order on a tie).
// With the same tables everywhere that is a round robin, so shares differ
// by one at most; with different ones (a rolling change of the
// configuration) no table is left to a replica that does not sync it.
// Every replica computes the same result from the same heartbeats.
func deal(members []Replica) map[string]string {
	var all []string
	for _, m := range members {
		all = append(all, m.Tables...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	load := map[string]int{}
	owners := make(map[string]string, len(all))
	for _, t := range all {
		best := ""
		for _, m := range members {
			if m.Tables != nil && !slices.Contains(m.Tables, t) {
				continue
			}
			if best == "" || load[m.Holder] < load[best] {
				best = m.Holder
			}
		}
		owners[t] = best
		load[best]++
	}
	return owners
}

// mine reports whether this replica should run table.
func (sp *spread) mine(table string) bool {
	if sp.reps == nil || len(sp.members) == 0 {
		return true
	}
	return sp.owners[table] == sp.s.holder
}

// heartbeat tells the store this replica is alive and re-deals the tables
// when the set of replicas changed: tables that became ours run at once,
// tables that are no longer ours are given back (at the next page boundary
// when they are running).
func (sp *spread) heartbeat(ctx context.Context, next map[string]time.Time, running map[string]bool) {
	if sp.reps == nil {
		return
	}
	members, err := sp.reps.Heartbeat(ctx, sp.s.holder, sp.names, sp.s.cfg.LeaseTTL)
	if err != nil {
		if ctx.Err() == nil {
			sp.s.log.LogAttrs(ctx, slog.LevelWarn, "replica heartbeat failed", slog.String("error", err.Error()))
		}
		return
	}
	self := slices.IndexFunc(members, func(m Replica) bool { return m.Holder == sp.s.holder })
	if self < 0 {
		members = append(members, Replica{})
		self = len(members) - 1
	}
	// This replica's entry is what it is now, whatever the store kept.
	members[self] = Replica{Holder: sp.s.holder, Tables: sp.names}
	slices.SortFunc(members, func(a, b Replica) int { return strings.Compare(a.Holder, b.Holder) })
	if slices.EqualFunc(members, sp.members, func(a, b Replica) bool {
		return a.Holder == b.Holder && (a.Tables == nil) == (b.Tables == nil) && slices.Equal(a.Tables, b.Tables)
	}) {
		return
	}
	before, beforeOwners := sp.members, sp.owners
	sp.members, sp.owners = members, deal(members)
	var mine []string
	for _, t := range sp.names {
		was := len(before) == 0 || beforeOwners[t] == sp.s.holder
		is := sp.mine(t)
		if is {
			mine = append(mine, t)
		}
		switch {
		case is && !was:
			next[t] = time.Now()
		case was && !is:
			sp.s.giveBack(ctx, t, running[t])
		}
	}
	sp.applyBudget(len(mine))
	sp.s.log.LogAttrs(ctx, slog.LevelInfo, "replicas changed",
		slog.Int("replicas", len(members)), slog.String("tables", strings.Join(mine, ",")))
}

// applyBudget gives this replica the share of the ServiceNow budget that
// matches its share of the tables (a replica with none keeps an equal
// share, for the odd SyncOnce).
func (sp *spread) applyBudget(mine int) {
	b := sp.s.cfg.ServiceNowBudget
	if b == nil || len(sp.names) == 0 {
		return
	}
	share := float64(mine) / float64(len(sp.names))
	if mine == 0 {
		share = 1 / float64(max(len(sp.members), 1))
	}
	b.Limiter.SetLimit(b.Rate * rate.Limit(share))
}

// restoreBudget gives the limiter the whole budget back when Run ends.
func (sp *spread) restoreBudget() {
	if b := sp.s.cfg.ServiceNowBudget; b != nil {
		b.Limiter.SetLimit(b.Rate)
	}
}

// leave takes this replica out of the replica set (graceful stop).
func (sp *spread) leave(ctx context.Context) {
	if sp.reps != nil {
		_ = sp.reps.Leave(ctx, sp.s.holder)
	}
}

// giveBack hands a table to another replica: at once when it is idle here,
// at the next page boundary when it is running.
func (s *Syncer) giveBack(ctx context.Context, table string, running bool) {
	s.mu.Lock()
	if running {
		if s.handOff == nil {
			s.handOff = map[string]bool{}
		}
		s.handOff[table] = true
		s.mu.Unlock()
		return
	}
	l, ok := s.owned[table]
	delete(s.owned, table)
	s.mu.Unlock()
	if ok {
		_ = s.store.ReleaseLease(context.WithoutCancel(ctx), l)
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
