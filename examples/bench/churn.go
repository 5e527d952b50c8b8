package main

import (
	"context"
	"fmt"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
)

// churnCallsTarget is the section 4 target: API calls per changed record.
const churnCallsTarget = 1.1

// churnPlan says which of the synced incidents are edited where.
type churnPlan struct {
	n         int // synced incidents, all edited
	inSN      int // the first inSN are edited in ServiceNow, the rest in StackFlow
	bothOther int // of those edited in ServiceNow, this many also in StackFlow on another field
	bothSame  int // ...and after them, this many also in StackFlow on the same field
}

func churn(ctx context.Context, cfg config) ([]row, error) {
	n := cfg.scaled(1000)
	plan := churnPlan{n: n, inSN: n / 2, bothOther: max(1, n/20), bothSame: max(1, n/50)}
	cfg.logf("churn: %s incidents", count(n))
	e, err := newSyncEnv(envOptions{manualClock: true, tables: []syncer.TableConfig{{Table: "incident", Enabled: true}}})
	if err != nil {
		return nil, err
	}
	defer e.close()
	updated := benchStart.Add(-24 * time.Hour)
	ids, err := seedRows(e.sn, "incident", n, func(i int) map[string]any { return syncIncident(i, updated) })
	if err != nil {
		return nil, err
	}
	if _, err := e.syncOnce(ctx, "incident"); err != nil {
		return nil, err
	}
	e.advance(quietStep)
	if _, err := e.syncOnce(ctx, "incident"); err != nil { // the load's echoes
		return nil, err
	}
	e.advance(quietStep)
	sfIDs, err := e.sfIDs("incidents")
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		sfID, ok := sfIDs[id]
		if !ok {
			return nil, fmt.Errorf("incident %s has no StackFlow twin after the load", id)
		}
		if i < plan.inSN {
			if _, err := e.sn.Update("incident", id, map[string]string{"description": fmt.Sprintf("Edited in ServiceNow (%d)", i)}); err != nil {
				return nil, err
			}
		} else if _, err := e.sf.Update("incidents", sfID, map[string]any{"description": fmt.Sprintf("Edited in StackFlow (%d)", i)}, "agent"); err != nil {
			return nil, err
		}
		var both map[string]any
		switch {
		case i < plan.bothOther:
			both = map[string]any{"title": fmt.Sprintf("Retitled in StackFlow (%d)", i)}
		case i < plan.bothOther+plan.bothSame:
			both = map[string]any{"description": fmt.Sprintf("StackFlow's own description (%d)", i)}
		}
		if both != nil {
			if _, err := e.sf.Update("incidents", sfID, both, "agent"); err != nil {
				return nil, err
			}
		}
	}
	e.advance(time.Minute) // past the safety lag
	t0 := time.Now()
	rep, err := e.syncOnce(ctx, "incident")
	if err != nil {
		return nil, err
	}
	took := time.Since(t0)
	e.advance(quietStep)
	again, err := e.syncOnce(ctx, "incident")
	if err != nil {
		return nil, err
	}

	// A cycle costs a few fixed reads whatever changed (each stream's page
	// read, the maintenance checks): an idle cycle measures them, so the
	// figure is the cost each changed record adds, the same at any scale.
	e.advance(quietStep)
	idle, err := e.syncOnce(ctx, "incident")
	if err != nil {
		return nil, err
	}
	fixed := idle.CallsServiceNow + idle.CallsStackFlow
	calls := rep.CallsServiceNow + rep.CallsStackFlow
	perRec := float64(calls-fixed) / float64(n)
	conflicts := rep.ToStackFlow.Conflicts + rep.ToServiceNow.Conflicts
	againWrites := again.ToStackFlow.Writes() + again.ToServiceNow.Writes()
	echoes := again.ToStackFlow.Echoes + again.ToServiceNow.Echoes
	unchanged := again.ToStackFlow.Unchanged + again.ToServiceNow.Unchanged
	return []row{
		info("changed records (of as many synced incidents)",
			fmt.Sprintf("%s: %s in ServiceNow, %s in StackFlow; %d of them on both sides, different fields; %d on both, same field",
				count(n), count(plan.inSN), count(n-plan.inSN), plan.bothOther, plan.bothSame)),
		check("API calls per changed record, one cycle (beyond an idle cycle's fixed reads)",
			fmt.Sprintf("%.3f (%s ServiceNow + %s StackFlow calls, less %d of an idle cycle)", perRec, thousands(rep.CallsServiceNow), thousands(rep.CallsStackFlow), fixed),
			fmt.Sprintf("≤ %.1f", churnCallsTarget), perRec <= churnCallsTarget),
		info("writes: to StackFlow / to ServiceNow", fmt.Sprintf("%s / %s", count(rep.ToStackFlow.Writes()), count(rep.ToServiceNow.Writes()))),
		check("conflicts (fields edited on both sides)", count(conflicts), fmt.Sprintf("= %d (the same-field edits)", plan.bothSame), conflicts == plan.bothSame),
		check("next cycle: writes (the churn and our own writes read back and skipped as echoes)",
			fmt.Sprintf("%d (%s echoes skipped: %s known by version, %s by content)", againWrites, count(echoes+unchanged), count(unchanged), count(echoes)),
			"0 writes", againWrites == 0 && echoes+unchanged > 0),
		info("time of the cycle", ms(took.Seconds())),
	}, nil
}
