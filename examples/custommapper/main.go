// Command custommapper shows the two ways to add a custom field to the
// sync: the ServiceNow column u_customer_tier (1, 2, 3) mapped to the
// StackFlow attribute customer_tier (gold, silver, bronze) on incidents,
// once as a Go FieldMapper and once as a YAML field mapping (the shape the
// Integration Hub stores). It maps a sample incident to a StackFlow create
// body, then merges a StackFlow edit of the tier back into a ServiceNow
// PATCH body, and prints both for each way. It does no I/O beyond stdout.
//
//	go run ./examples/custommapper
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
)

// tierKey is the key both ways use, so their results can be compared.
const tierKey = "attributes.customer_tier"

// mappingsYAML is the declarative form, as LoadFieldMappings reads it.
const mappingsYAML = `
- table: incident
  servicenow_field: u_customer_tier
  stackflow_field: attributes.customer_tier
  direction: bidirectional
  value_map: {1: gold, 2: silver, 3: bronze}
  ownership: latest
`

// customerTier is the same mapping written in Go.
type customerTier struct{}

var tiers = map[string]string{"1": "gold", "2": "silver", "3": "bronze"}

func (customerTier) Key() string                { return tierKey }
func (customerTier) ServiceNowFields() []string { return []string{"u_customer_tier"} }
func (customerTier) StackFlowFields() []string  { return []string{tierKey} }

func (customerTier) ToStackFlow(sn mapping.FieldSet) (mapping.FieldSet, error) {
	v := strings.TrimSpace(sn["u_customer_tier"])
	if v == "" {
		return mapping.FieldSet{tierKey: ""}, nil
	}
	t, ok := tiers[v]
	if !ok {
		return nil, fmt.Errorf("u_customer_tier %q is not 1, 2 or 3", v)
	}
	return mapping.FieldSet{tierKey: t}, nil
}

func (customerTier) ToServiceNow(sf mapping.FieldSet) (mapping.FieldSet, error) {
	v := sf[tierKey]
	if v == "" {
		return mapping.FieldSet{"u_customer_tier": ""}, nil
	}
	for n, t := range tiers {
		if t == v {
			return mapping.FieldSet{"u_customer_tier": n}, nil
		}
	}
	return nil, fmt.Errorf("customer tier %q is not gold, silver or bronze", v)
}

// Ownership makes the Go mapper's conflict rule explicit (the optional
// mapping.OwnershipMapper interface), like ownership: latest in the YAML.
func (customerTier) Ownership() mapping.Ownership { return mapping.OwnLatest }

// sampleIncident is an incident as the Table API returns it when read with
// the mapping's ServiceNowFields (dot-walks come back as flat keys).
const sampleIncident = `{
  "sys_id": "1c741bd70b2322007518478d83673af3",
  "number": "INC0010042",
  "sys_class_name": "incident",
  "sys_updated_on": "2026-03-02 09:15:27",
  "sys_updated_by": "beth.anglin",
  "sys_mod_count": "7",
  "correlation_id": "",
  "correlation_display": "",
  "short_description": "Email server unreachable",
  "description": "Users in London cannot reach mail.",
  "state": "2",
  "priority": "2",
  "impact": "1",
  "urgency": "2",
  "category": "network",
  "subcategory": "email",
  "assignment_group": {"link": "https://acme.service-now.com/api/now/table/sys_user_group/287ebd7da9fe198100f92cc8d1d2154e", "value": "287ebd7da9fe198100f92cc8d1d2154e"},
  "assignment_group.name": "Network",
  "assigned_to": {"link": "https://acme.service-now.com/api/now/table/sys_user/5137153cc611227c000bbd1bd8cd2007", "value": "5137153cc611227c000bbd1bd8cd2007"},
  "assigned_to.email": "beth.anglin@example.com",
  "caller_id": "",
  "caller_id.email": "",
  "cmdb_ci": "",
  "close_code": "",
  "close_notes": "",
  "resolved_at": "",
  "closed_at": "",
  "u_customer_tier": "1"
}`

// resolver answers the few lookups the sample needs; a syncer implements
// mapping.Resolver from its pair store and cached ServiceNow lookups.
type resolver map[string]string

func (r resolver) StackFlowID(table, sysID string) (string, error) {
	return "", fmt.Errorf("%s %s: %w", table, sysID, mapping.ErrUnresolved)
}

func (r resolver) ServiceNowID(module, sfID string) (string, error) {
	return "", fmt.Errorf("%s %s: %w", module, sfID, mapping.ErrUnresolved)
}

func (r resolver) LookupServiceNow(table, field, value string) (string, error) {
	return r[table+"."+field+"="+value], nil
}

var lookups = resolver{
	"sys_user.email=beth.anglin@example.com": "5137153cc611227c000bbd1bd8cd2007",
	"sys_user_group.name=Network":            "287ebd7da9fe198100f92cc8d1d2154e",
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the program: exit code 0 when both ways give the same result.
func run(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "custommapper: takes no arguments")
		return 2
	}
	if err := compare(stdout); err != nil {
		fmt.Fprintln(stderr, "custommapper:", err)
		return 1
	}
	return 0
}

// compare maps the sample both ways and prints the results; it fails when
// the two ways disagree.
func compare(w io.Writer) error {
	var rec servicenow.Record
	if err := json.Unmarshal([]byte(sampleIncident), &rec); err != nil {
		return err
	}

	goCfg := mapping.DefaultConfig()
	goCfg.Mappers = map[string][]mapping.FieldMapper{"incident": {customerTier{}}}

	specs, err := mapping.LoadFieldMappings([]byte(mappingsYAML))
	if err != nil {
		return err
	}
	yamlCfg := mapping.DefaultConfig()
	yamlCfg.FieldMappings = specs

	var outputs []string
	for _, way := range []struct {
		name string
		cfg  mapping.Config
	}{{"Go FieldMapper", goCfg}, {"YAML field mapping", yamlCfg}} {
		out, err := mapIncident(way.cfg, rec)
		if err != nil {
			return fmt.Errorf("%s: %w", way.name, err)
		}
		fmt.Fprintf(w, "== %s ==\n%s", way.name, out)
		outputs = append(outputs, out)
	}
	if outputs[0] != outputs[1] {
		return errors.New("the Go mapper and the YAML mapping disagree")
	}
	fmt.Fprintln(w, "Both ways give the same result.")
	return nil
}

// mapIncident maps rec with cfg: the StackFlow create body, then the
// ServiceNow PATCH body after a StackFlow user sets the tier to bronze.
func mapIncident(cfg mapping.Config, rec servicenow.Record) (string, error) {
	m, err := mapping.New(cfg)
	if err != nil {
		return "", err
	}
	inc, ok := m.Table("incident")
	if !ok {
		return "", errors.New("incident is not mapped")
	}
	var b strings.Builder
	info, _ := inc.Key(tierKey)
	fmt.Fprintf(&b, "key %s: servicenow %v, stackflow %v, %s, ownership %s\n",
		info.Name, info.ServiceNowFields, info.StackFlowFields, info.Direction, info.Ownership)

	sn, err := inc.ProjectServiceNow(rec)
	if err != nil {
		return "", err
	}
	create, err := inc.NewStackFlow(sn, rec, lookups)
	if err != nil {
		return "", err
	}
	if err := writeJSON(&b, "StackFlow create body", create); err != nil {
		return "", err
	}

	// The pair is in sync; then someone changes the tier in StackFlow.
	sf, err := inc.ConvertToStackFlow(sn, lookups)
	if err != nil {
		return "", err
	}
	res, err := inc.Merge(mapping.MergeInput{
		BaseSN: sn, CurSN: sn,
		BaseSF: sf, CurSF: sf.With(mapping.Canon{tierKey: "bronze"}),
		Origin: mapping.ServiceNow, Resolver: lookups,
	})
	if err != nil {
		return "", err
	}
	patch, err := inc.ServiceNowBody(res.ToServiceNow, sn, lookups)
	if err != nil {
		return "", err
	}
	if err := writeJSON(&b, "ServiceNow PATCH body after the StackFlow edit", patch); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "conflicts: %d\n", len(res.Conflicts))
	return b.String(), nil
}

func writeJSON(w io.Writer, title string, v any) error {
	data, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s:\n  %s\n", title, data)
	return err
}
