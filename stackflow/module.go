package stackflow

import (
	"fmt"
	"slices"
)

// Module identifies a StackFlow record module, as webhooks and table
// mappings name it.
type Module string

// The six modules.
const (
	ModuleIncidents       Module = "incidents"
	ModuleProblems        Module = "problems"
	ModuleChanges         Module = "changes"
	ModuleServiceRequests Module = "service_requests"
	ModuleCIs             Module = "cmdb_cis"
	ModuleRelationships   Module = "cmdb_relationships"
)

// moduleInfo is what the client knows about a module.
type moduleInfo struct {
	path     string   // URL path relative to the base URL
	singular string   // webhook event prefix
	fields   []string // writable fields besides the common ones
}

var moduleTable = map[Module]moduleInfo{
	ModuleIncidents: {"incidents", "incident", []string{
		"title", "description", "state", "priority", "impact", "urgency", "category", "subcategory",
		"assignment_group", "assignee", "reporter", "ci_id", "resolution_code", "resolution_notes",
		"resolved_at", "closed_at"}},
	ModuleProblems: {"problems", "problem", []string{
		"title", "description", "state", "priority", "impact", "urgency", "assignment_group", "assignee",
		"known_error", "root_cause", "workaround", "ci_id"}},
	ModuleChanges: {"changes", "change", []string{
		"title", "description", "type", "state", "risk", "impact", "priority", "assignment_group", "assignee",
		"planned_start", "planned_end", "implementation_plan", "backout_plan", "close_code", "ci_id"}},
	ModuleServiceRequests: {"service-requests", "service_request", []string{
		"title", "description", "state", "approval", "requested_for", "priority", "due_date"}},
	ModuleCIs: {"cmdb/cis", "cmdb_ci", []string{
		"name", "class", "operational_status", "install_status", "ip_address", "fqdn", "serial_number",
		"manufacturer", "model", "location", "owned_by", "environment"}},
	ModuleRelationships: {"cmdb/relationships", "cmdb_relationship", []string{"parent_id", "child_id", "type"}},
}

// commonWritable are the writable fields every module has (attributes aside).
var commonWritable = []string{"source", "external_id", "external_number"}

// Modules returns the six modules in a fixed order.
func Modules() []Module {
	return []Module{ModuleIncidents, ModuleProblems, ModuleChanges, ModuleServiceRequests, ModuleCIs, ModuleRelationships}
}

// Valid reports whether m is one of the six modules.
func (m Module) Valid() bool {
	_, ok := moduleTable[m]
	return ok
}

func (m Module) check() error {
	if m.Valid() {
		return nil
	}
	return &InvalidInputError{Field: "module", Reason: fmt.Sprintf("%q is not a StackFlow module (want one of %v)", string(m), Modules())}
}

// Path returns the module's URL path, e.g. "/incidents" or "/cmdb/cis";
// empty for an unknown module.
func (m Module) Path() string {
	if info, ok := moduleTable[m]; ok {
		return "/" + info.path
	}
	return ""
}

// Singular returns the name webhook events use for the module's records,
// e.g. "incident" in "incident.updated", or "cmdb_ci"; empty for an
// unknown module.
func (m Module) Singular() string { return moduleTable[m].singular }

// WritableFields returns the fields a create, update or upsert of the
// module may set, attributes aside: source, external_id, external_number
// and the module's own fields.
func (m Module) WritableFields() []string {
	info, ok := moduleTable[m]
	if !ok {
		return nil
	}
	return append(slices.Clone(commonWritable), info.fields...)
}

// String returns the module identifier.
func (m Module) String() string { return string(m) }

// moduleForTable returns the module a ServiceNow table may map to in the
// Integration Hub: incident, problem, change_request, sc_request, cmdb_ci
// and its cmdb_ci_* classes, cmdb_rel_ci.
func moduleForTable(table string) Module {
	switch {
	case table == "incident":
		return ModuleIncidents
	case table == "problem":
		return ModuleProblems
	case table == "change_request":
		return ModuleChanges
	case table == "sc_request":
		return ModuleServiceRequests
	case table == "cmdb_ci" || len(table) > len("cmdb_ci_") && table[:len("cmdb_ci_")] == "cmdb_ci_":
		return ModuleCIs
	case table == "cmdb_rel_ci":
		return ModuleRelationships
	}
	return ""
}
