package demo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
	"github.com/stackflow-tech/snowsync/stackflow"
)

// Agreement is what Check found, table by table.
type Agreement struct {
	Tables []TableAgreement
}

// TableAgreement compares one mapped table.
type TableAgreement struct {
	Table  string
	Module string
	// ServiceNow and StackFlow count the live records read on each side;
	// Paired those linked by external_id (StackFlow) = sys_id (ServiceNow).
	ServiceNow, StackFlow, Paired int
	// Problems lists records without a partner and pairs whose mapped
	// fields differ (at most maxProblems, then a count).
	Problems []string
	// StackFlowOnly counts StackFlow records of a one-way table that do not
	// come from ServiceNow: they are not synced, by design.
	StackFlowOnly int
}

const maxProblems = 20

// OK reports whether both sides agree on every table.
func (a *Agreement) OK() bool {
	for _, t := range a.Tables {
		if len(t.Problems) > 0 {
			return false
		}
	}
	return true
}

// Pairs returns the number of pairs over all tables.
func (a *Agreement) Pairs() int {
	n := 0
	for _, t := range a.Tables {
		n += t.Paired
	}
	return n
}

// String reports the agreement table by table.
func (a *Agreement) String() string {
	var b strings.Builder
	for _, t := range a.Tables {
		fmt.Fprintf(&b, "  %-15s %4d ServiceNow, %4d StackFlow, %4d paired", t.Table, t.ServiceNow, t.StackFlow, t.Paired)
		if t.StackFlowOnly > 0 {
			fmt.Fprintf(&b, " (%d StackFlow-only records: one-way table)", t.StackFlowOnly)
		}
		if len(t.Problems) == 0 {
			b.WriteString(": in agreement\n")
			continue
		}
		fmt.Fprintf(&b, ": %d problems\n", len(t.Problems))
		for _, p := range t.Problems {
			fmt.Fprintf(&b, "    - %s\n", p)
		}
	}
	return b.String()
}

func (t *TableAgreement) problem(format string, args ...any) {
	switch {
	case len(t.Problems) < maxProblems:
		t.Problems = append(t.Problems, fmt.Sprintf(format, args...))
	case len(t.Problems) == maxProblems:
		t.Problems = append(t.Problems, "... and more")
	}
}

// Check reads every mapped table on both sides through the clients and
// compares them: each ServiceNow record must have exactly one live StackFlow
// record whose external_id is its sys_id; on bidirectional tables each
// StackFlow record must have a ServiceNow partner too; and every pair's
// mapped fields must agree (mapping.TableMap.Converged). It assumes the
// tables have no filters (a filter leaves records out on purpose), and it
// reads whole tables, so it is for demos and tests, not for production
// instances.
func Check(ctx context.Context, m *mapping.Mapping, sn *servicenow.Client, sf *stackflow.Client) (*Agreement, error) {
	res := &lookupResolver{ctx: ctx, sn: sn, sf: sf, lookups: map[string]string{}}
	out := &Agreement{}
	for _, tm := range m.Tables() {
		ta, err := checkTable(ctx, tm, sn, sf, res)
		if err != nil {
			return nil, fmt.Errorf("demo: checking %s: %w", tm.Table(), err)
		}
		out.Tables = append(out.Tables, *ta)
	}
	return out, nil
}

func checkTable(ctx context.Context, tm *mapping.TableMap, sn *servicenow.Client, sf *stackflow.Client, res *lookupResolver) (*TableAgreement, error) {
	ta := &TableAgreement{Table: tm.Table(), Module: tm.Module()}
	snRecs := map[string]servicenow.Record{}
	for rec, err := range sn.Table(tm.Table()).All(ctx, &servicenow.ListOptions{Fields: tm.ServiceNowFields(), ExcludeReferenceLink: true}) {
		if err != nil {
			return nil, err
		}
		snRecs[rec.SysID()] = *rec
	}
	ta.ServiceNow = len(snRecs)
	module, err := moduleOf(tm.Module())
	if err != nil {
		return nil, err
	}
	byExt := map[string][]stackflow.Record{}
	for rec, err := range sf.Records(module).All(ctx, nil) {
		if err != nil {
			return nil, err
		}
		ta.StackFlow++
		if ext := rec.ExternalID(); ext != "" {
			byExt[ext] = append(byExt[ext], *rec)
			continue
		}
		if tm.Direction() == mapping.Bidirectional {
			ta.problem("StackFlow %s %s has no ServiceNow partner", rec.ID(), rec.String("title"))
		} else {
			ta.StackFlowOnly++
		}
	}
	ids := make([]string, 0, len(snRecs))
	for id := range snRecs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rec := snRecs[id]
		partners := byExt[id]
		delete(byExt, id)
		switch len(partners) {
		case 0:
			ta.problem("ServiceNow %s %s has no StackFlow partner", id, rec.Get("number"))
			continue
		case 1:
		default:
			ta.problem("ServiceNow %s has %d StackFlow records", id, len(partners))
			continue
		}
		ta.Paired++
		snC, err := tm.ProjectServiceNow(rec)
		if err != nil {
			ta.problem("ServiceNow %s: %v", id, err)
			continue
		}
		sfC, err := tm.ProjectStackFlow(partners[0])
		if err != nil {
			ta.problem("StackFlow %s: %v", partners[0].ID(), err)
			continue
		}
		diff, err := tm.Converged(snC, sfC, res)
		if err != nil {
			ta.problem("%s / %s: %v", id, partners[0].ID(), err)
			continue
		}
		for _, k := range diff {
			ta.problem("%s %s / %s: %s differs: ServiceNow %q, StackFlow %q", tm.Table(), rec.Get("number"), partners[0].ID(), k, snC[k], sfC[k])
		}
	}
	for ext, recs := range byExt {
		for _, r := range recs {
			if tm.Direction() == mapping.Bidirectional || r.Source() == "servicenow" {
				ta.problem("StackFlow %s points at ServiceNow %s, which does not exist", r.ID(), ext)
			} else {
				ta.StackFlowOnly++
			}
		}
	}
	return ta, nil
}

// moduleOf turns a mapping module path ("cmdb/cis") into a stackflow.Module.
func moduleOf(path string) (stackflow.Module, error) {
	for _, m := range stackflow.Modules() {
		if strings.TrimPrefix(m.Path(), "/") == path || string(m) == path {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown StackFlow module %q", path)
}

// lookupResolver resolves references for Converged by reading both sides:
// CI pairs from StackFlow's CIs (external_id), people and groups from
// ServiceNow, each looked up once. It lives for one Check, whose context
// it carries.
type lookupResolver struct {
	ctx     context.Context
	sn      *servicenow.Client
	sf      *stackflow.Client
	toSF    map[string]string // CI sys_id → StackFlow CI id
	toSN    map[string]string
	lookups map[string]string
}

var errUnpaired = errors.New("not paired")

func (r *lookupResolver) loadCIs() error {
	if r.toSF != nil {
		return nil
	}
	r.toSF, r.toSN = map[string]string{}, map[string]string{}
	for rec, err := range r.sf.Records(stackflow.ModuleCIs).All(r.ctx, nil) {
		if err != nil {
			r.toSF = nil
			return err
		}
		if ext := rec.ExternalID(); ext != "" {
			r.toSF[ext], r.toSN[rec.ID()] = rec.ID(), ext
		}
	}
	return nil
}

// StackFlowID implements mapping.Resolver.
func (r *lookupResolver) StackFlowID(table, sysID string) (string, error) {
	if err := r.loadCIs(); err != nil {
		return "", err
	}
	if id, ok := r.toSF[sysID]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%s %s: %w (%w)", table, sysID, mapping.ErrUnresolved, errUnpaired)
}

// ServiceNowID implements mapping.Resolver.
func (r *lookupResolver) ServiceNowID(module, sfID string) (string, error) {
	if err := r.loadCIs(); err != nil {
		return "", err
	}
	if id, ok := r.toSN[sfID]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%s %s: %w (%w)", module, sfID, mapping.ErrUnresolved, errUnpaired)
}

// LookupServiceNow implements mapping.Resolver.
func (r *lookupResolver) LookupServiceNow(table, field, value string) (string, error) {
	key := table + "\x00" + field + "\x00" + value
	if id, ok := r.lookups[key]; ok {
		return id, nil
	}
	q, err := servicenow.NewQuery().Equals(field, value).Build()
	if err != nil {
		return "", err
	}
	recs, _, err := r.sn.Table(table).List(r.ctx, &servicenow.ListOptions{Query: q, Fields: []string{"sys_id"}, Limit: 2, NoCount: true})
	if err != nil {
		return "", err
	}
	id := ""
	if len(recs) == 1 {
		id = recs[0].SysID()
	}
	r.lookups[key] = id
	return id, nil
}
