package mapping

import (
	"strings"

	"github.com/stackflow-tech/snowsync/servicenow"
)

// sfKind is how a StackFlow field's values are checked, normalised and
// encoded (stackflow/openapi.yaml).
type sfKind int

const (
	sfTitle  sfKind = iota + 1 // required; trimmed, CRLF→LF, truncated to 255 code points
	sfName                     // required single line; trimmed; at most 255
	sfShort                    // optional single line; trimmed; at most 255; "" is null
	sfText                     // optional long text; CRLF→LF; at most 65,536; "" is null
	sfEnum                     // enum (required unless nullable)
	sfInt                      // integer in [min, max]; null when nullable
	sfBool                     // boolean, never null
	sfTime                     // RFC 3339 UTC with milliseconds; null when empty
	sfCIRef                    // optional id of a StackFlow CI
	sfCIID                     // required id of a StackFlow CI
	sfIdent                    // required identifier (CI class)
	sfAttr                     // attributes.<key>: any JSON
	sfMapper                   // several fields of a FieldMapper
)

// sfSpec describes the StackFlow side of a key.
type sfSpec struct {
	kind     sfKind
	field    string
	enum     []string // sfEnum values
	nullable bool     // sfEnum: may be null
	min, max int64    // sfInt range
	attrType string   // sfAttr: "", TransformInt, TransformBool, TransformDate, TransformDateTime
	subs     []sfSpec // sfMapper: one spec per field
}

func (s sfSpec) String() string {
	switch s.kind {
	case sfTitle:
		return "title (text)"
	case sfName, sfShort:
		return "single-line text"
	case sfText:
		return "long text"
	case sfEnum:
		return "enum (" + strings.Join(s.enum, ", ") + ")"
	case sfInt:
		return "integer"
	case sfBool:
		return "boolean"
	case sfTime:
		return "date-time"
	case sfCIRef, sfCIID:
		return "CI reference"
	case sfIdent:
		return "identifier"
	case sfAttr:
		return "attribute"
	}
	return "fields"
}

// stringy reports whether values of s are text a string transform applies to.
func (s sfSpec) stringy() bool {
	switch s.kind {
	case sfTitle, sfName, sfShort, sfText, sfEnum, sfIdent:
		return true
	case sfAttr:
		return s.attrType == ""
	}
	return false
}

// Module paths.
const (
	ModIncidents         = "incidents"
	ModProblems          = "problems"
	ModChanges           = "changes"
	ModServiceRequests   = "service-requests"
	ModCMDBCIs           = "cmdb/cis"
	ModCMDBRelationships = "cmdb/relationships"
)

// moduleAliases maps the Integration Hub's module identifiers to paths.
var moduleAliases = map[string]string{
	"service_requests":   ModServiceRequests,
	"cmdb_cis":           ModCMDBCIs,
	"cmdb_relationships": ModCMDBRelationships,
}

// normalizeModule returns the module path for a path or identifier, or "".
func normalizeModule(m string) string {
	if a, ok := moduleAliases[m]; ok {
		return a
	}
	if _, ok := moduleFields[m]; ok {
		return m
	}
	return ""
}

func sfEnumOf(field string, nullable bool, values ...string) sfSpec {
	return sfSpec{kind: sfEnum, field: field, enum: values, nullable: nullable}
}

func sfLevel(field string) sfSpec { return sfSpec{kind: sfInt, field: field, min: 1, max: 3} }

func sfPriority() sfSpec { return sfSpec{kind: sfInt, field: "priority", min: 1, max: 5} }

func specs(ss ...sfSpec) map[string]sfSpec {
	m := make(map[string]sfSpec, len(ss))
	for _, s := range ss {
		m[s.field] = s
	}
	return m
}

func sf(kind sfKind, field string) sfSpec { return sfSpec{kind: kind, field: field} }

// moduleFields are the writable, mappable fields of each module. The
// common fields (source, external_id, external_number) and the read-only
// ones belong to the sync itself and cannot be mapped.
var moduleFields = map[string]map[string]sfSpec{
	ModIncidents: specs(
		sf(sfTitle, "title"), sf(sfText, "description"),
		sfEnumOf("state", false, "new", "in_progress", "on_hold", "resolved", "closed", "canceled"),
		sfPriority(), sfLevel("impact"), sfLevel("urgency"),
		sf(sfShort, "category"), sf(sfShort, "subcategory"), sf(sfShort, "assignment_group"),
		sf(sfShort, "assignee"), sf(sfShort, "reporter"), sf(sfCIRef, "ci_id"),
		sf(sfShort, "resolution_code"), sf(sfText, "resolution_notes"),
		sf(sfTime, "resolved_at"), sf(sfTime, "closed_at"),
	),
	ModProblems: specs(
		sf(sfTitle, "title"), sf(sfText, "description"),
		sfEnumOf("state", false, "new", "assess", "root_cause_analysis", "fix_in_progress", "resolved", "closed"),
		sfPriority(), sfLevel("impact"), sfLevel("urgency"),
		sf(sfShort, "assignment_group"), sf(sfShort, "assignee"), sf(sfBool, "known_error"),
		sf(sfText, "root_cause"), sf(sfText, "workaround"), sf(sfCIRef, "ci_id"),
	),
	ModChanges: specs(
		sf(sfTitle, "title"), sf(sfText, "description"),
		sfEnumOf("type", false, "normal", "standard", "emergency"),
		sfEnumOf("state", false, "new", "assess", "authorize", "scheduled", "implement", "review", "closed", "canceled"),
		sfEnumOf("risk", true, "high", "moderate", "low"),
		sfLevel("impact"), sfPriority(),
		sf(sfShort, "assignment_group"), sf(sfShort, "assignee"),
		sf(sfTime, "planned_start"), sf(sfTime, "planned_end"),
		sf(sfText, "implementation_plan"), sf(sfText, "backout_plan"),
		sf(sfShort, "close_code"), sf(sfCIRef, "ci_id"),
	),
	ModServiceRequests: specs(
		sf(sfTitle, "title"), sf(sfText, "description"),
		sfEnumOf("state", false, "open", "work_in_progress", "closed_complete", "closed_incomplete", "closed_skipped"),
		sfEnumOf("approval", false, "not_yet_requested", "requested", "approved", "rejected"),
		sf(sfShort, "requested_for"), sfPriority(), sf(sfTime, "due_date"),
	),
	ModCMDBCIs: specs(
		sf(sfName, "name"), sf(sfIdent, "class"),
		sfEnumOf("operational_status", true, "operational", "non_operational", "repair_in_progress", "dr_standby", "ready", "retired"),
		sfEnumOf("install_status", true, "installed", "on_order", "in_maintenance", "pending_install", "pending_repair",
			"in_stock", "retired", "stolen", "absent"),
		sf(sfShort, "ip_address"), sf(sfShort, "fqdn"), sf(sfShort, "serial_number"), sf(sfShort, "manufacturer"),
		sf(sfShort, "model"), sf(sfShort, "location"), sf(sfShort, "owned_by"), sf(sfShort, "environment"),
	),
	ModCMDBRelationships: specs(
		sf(sfCIID, "parent_id"), sf(sfCIID, "child_id"), sf(sfName, "type"),
	),
}

// requiredOnCreate are the fields each module needs on create.
var requiredOnCreate = map[string][]string{
	ModIncidents:         {"title"},
	ModProblems:          {"title"},
	ModChanges:           {"title"},
	ModServiceRequests:   {"title"},
	ModCMDBCIs:           {"name"},
	ModCMDBRelationships: {"parent_id", "child_id", "type"},
}

// sfMetaFields are StackFlow fields that belong to the sync or the server.
var sfMetaFields = map[string]bool{
	"id": true, "number": true, "source": true, "external_id": true, "external_number": true,
	"version": true, "created_at": true, "updated_at": true, "updated_by": true, "deleted_at": true,
	"attributes": true,
}

// snKind is how a key's ServiceNow side is read, normalised and written.
type snKind int

const (
	snText    snKind = iota + 1 // free text: CRLF→LF, NFC
	snLine                      // single-line text: also trimmed
	snChoice                    // a choice value: trimmed
	snInt                       // an integer: canonical decimal
	snBool                      // "true" or "false"
	snTime                      // a date-time in servicenow.TimeLayout (UTC)
	snDate                      // a date in servicenow.DateLayout
	snRef                       // a reference kept as its sys_id (CIs)
	snDotRef                    // a reference read through <field>.<attr>, written by lookup
	snRelType                   // cmdb_rel_type: read type and type.name, canonical value the name
	snMapper                    // a FieldMapper's fields
)

// snSpec describes the ServiceNow side of a key.
type snSpec struct {
	kind     snKind
	field    string   // the column (for snDotRef and snRef the reference)
	attr     string   // snDotRef: the field of the referenced record
	refTable string   // snRef, snDotRef, snRelType: the referenced table
	fields   []string // snMapper
}

// readFields are the fields to read for s (dot-walks included).
func (s snSpec) readFields() []string {
	switch s.kind {
	case snDotRef:
		return []string{s.field + "." + s.attr, s.field}
	case snRelType:
		return []string{s.field, s.field + ".name"}
	case snMapper:
		return s.fields
	}
	return []string{s.field}
}

// knownRelTypes are the cmdb_rel_type records every instance ships
// (servicenow-api.md §5.8), by sys_id.
var knownRelTypes = map[string]string{
	servicenow.RelTypeDependsOn:     "Depends on::Used by",
	servicenow.RelTypeRunsOn:        "Runs on::Runs",
	servicenow.RelTypeContains:      "Contains::Contained by",
	servicenow.RelTypeExchangesData: "Exchanges data with::Exchanges data with",
	servicenow.RelTypeConsumes:      "Consumes::Consumed by",
}

// relTypeIDs is knownRelTypes reversed.
var relTypeIDs = func() map[string]string {
	m := make(map[string]string, len(knownRelTypes))
	for id, name := range knownRelTypes {
		m[name] = id
	}
	return m
}()

// refTables are the tables well-known reference columns point to, so a
// dot-walked field mapping can be written back through a lookup.
var refTables = map[string]string{
	"assigned_to": "sys_user", "caller_id": "sys_user", "opened_by": "sys_user", "closed_by": "sys_user",
	"resolved_by": "sys_user", "requested_for": "sys_user", "requested_by": "sys_user", "owned_by": "sys_user",
	"managed_by": "sys_user", "supported_by": "sys_user",
	"assignment_group": "sys_user_group", "support_group": "sys_user_group", "managed_by_group": "sys_user_group",
	"company": "core_company", "manufacturer": "core_company", "vendor": "core_company",
	"location": "cmn_location", "department": "cmn_department", "model_id": "cmdb_model",
	"cmdb_ci": "cmdb_ci", "business_service": "cmdb_ci_service",
}

// keyDef is a built-in key.
type keyDef struct {
	name  string // the StackFlow field
	sn    snSpec
	dir   Direction
	own   Ownership
	vm    []string // value map: ServiceNow, StackFlow pairs
	rev   []string // reverse entries where vm is many to one: StackFlow, ServiceNow pairs
	tr    string   // transform
	lossy string
}

func pairs(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func evens(kv []string) []string {
	out := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, kv[i])
	}
	return out
}

// Value maps that follow servicenow-api.md §5.
var (
	vmIncidentState = []string{"1", "new", "2", "in_progress", "3", "on_hold", "6", "resolved", "7", "closed", "8", "canceled"}
	vmProblemState  = []string{"101", "new", "102", "assess", "103", "root_cause_analysis", "104", "fix_in_progress",
		"106", "resolved", "107", "closed"}
	vmChangeState = []string{"-5", "new", "-4", "assess", "-3", "authorize", "-2", "scheduled", "-1", "implement",
		"0", "review", "3", "closed", "4", "canceled"}
	vmChangeType = []string{"normal", "normal", "standard", "standard", "emergency", "emergency"}
	// ServiceNow has four risks, StackFlow three: Very High and High are
	// both "high", which comes back as High.
	vmRisk         = []string{"1", "high", "2", "high", "3", "moderate", "4", "low"}
	revRisk        = []string{"high", "2"}
	vmLevel        = []string{"1", "1", "2", "2", "3", "3"}
	vmPriority5    = []string{"1", "1", "2", "2", "3", "3", "4", "4", "5", "5"}
	vmPriority4    = []string{"1", "1", "2", "2", "3", "3", "4", "4"}
	vmRequestState = []string{"draft", "open", "submitted", "open", "requested", "open", "in_process", "work_in_progress",
		"delivered", "closed_complete", "closed_complete", "closed_complete", "closed_incomplete", "closed_incomplete",
		"closed_rejected", "closed_incomplete", "cancelled", "closed_skipped", "closed_cancelled", "closed_skipped"}
	revRequestState = []string{"open", "submitted", "work_in_progress", "in_process", "closed_complete", "closed_complete",
		"closed_incomplete", "closed_incomplete", "closed_skipped", "closed_cancelled"}
	vmApproval = []string{"not requested", "not_yet_requested", "requested", "requested", "approved", "approved",
		"rejected", "rejected"}
	vmOperationalStatus = []string{"1", "operational", "2", "non_operational", "3", "repair_in_progress", "4", "dr_standby",
		"5", "ready", "6", "retired"}
	vmInstallStatus = []string{"1", "installed", "2", "on_order", "3", "in_maintenance", "4", "pending_install",
		"5", "pending_repair", "6", "in_stock", "7", "retired", "8", "stolen", "100", "absent"}
)

const (
	lossyTime  = "StackFlow keeps milliseconds, ServiceNow whole seconds"
	lossyTitle = "StackFlow trims titles and truncates them to 255 characters; an empty ServiceNow value is NoTitle on StackFlow"
	lossyRisk  = "ServiceNow risk 1 (Very High) and 2 (High) are both StackFlow high, which maps back to 2"
	lossyReq   = "several ServiceNow request states share one StackFlow state"
	lossyLower = "StackFlow gets the value in lower case"
)

// NoTitle is the StackFlow title of a record whose ServiceNow value for
// it (short_description, by default) is empty. StackFlow requires a
// title and ServiceNow does not, so without it such a record could never
// sync. It converts back to an empty value: it is never written into
// ServiceNow, and a StackFlow title set to exactly this text clears the
// ServiceNow field.
const NoTitle = "(no title in ServiceNow)"

func line(f string) snSpec   { return snSpec{kind: snLine, field: f} }
func text(f string) snSpec   { return snSpec{kind: snText, field: f} }
func choice(f string) snSpec { return snSpec{kind: snChoice, field: f} }
func tm(f string) snSpec     { return snSpec{kind: snTime, field: f} }
func ciRef(f string) snSpec  { return snSpec{kind: snRef, field: f, refTable: "cmdb_ci"} }
func dotRef(f, table, attr string) snSpec {
	return snSpec{kind: snDotRef, field: f, attr: attr, refTable: table}
}

// builtinKeys returns the built-in keys of a table (nil for a table with
// none), people and groups matched by peopleBy and groupsBy.
func builtinKeys(table, peopleBy, groupsBy string) []keyDef {
	person := func(name, field string) keyDef {
		return keyDef{name: name, sn: dotRef(field, "sys_user", peopleBy), dir: Bidirectional, own: OwnLatest}
	}
	group := keyDef{name: "assignment_group", sn: dotRef("assignment_group", "sys_user_group", groupsBy),
		dir: Bidirectional, own: OwnLatest}
	title := keyDef{name: "title", sn: line("short_description"), dir: Bidirectional, own: OwnLatest, lossy: lossyTitle}
	desc := keyDef{name: "description", sn: text("description"), dir: Bidirectional, own: OwnLatest}
	bi := func(name string, sn snSpec) keyDef {
		return keyDef{name: name, sn: sn, dir: Bidirectional, own: OwnLatest}
	}
	state := func(vm []string) keyDef {
		return keyDef{name: "state", sn: choice("state"), dir: Bidirectional, own: OwnOrigin, vm: vm}
	}
	level := func(name string) keyDef {
		return keyDef{name: name, sn: choice(name), dir: Bidirectional, own: OwnLatest, vm: vmLevel}
	}
	// Priority is computed by ServiceNow from impact and urgency: it only
	// ever flows to StackFlow.
	priority := func(vm []string) keyDef {
		return keyDef{name: "priority", sn: choice("priority"), dir: ToStackFlow, own: OwnServiceNow, vm: vm}
	}
	ci := keyDef{name: "ci_id", sn: ciRef("cmdb_ci"), dir: Bidirectional, own: OwnServiceNow}

	switch {
	case table == "incident":
		return []keyDef{
			title, desc, state(vmIncidentState), priority(vmPriority5), level("impact"), level("urgency"),
			bi("category", line("category")), bi("subcategory", line("subcategory")),
			group, person("assignee", "assigned_to"), person("reporter", "caller_id"), ci,
			bi("resolution_code", line("close_code")), bi("resolution_notes", text("close_notes")),
			// ServiceNow stamps these itself when the state changes.
			{name: "resolved_at", sn: tm("resolved_at"), dir: ToStackFlow, own: OwnServiceNow},
			{name: "closed_at", sn: tm("closed_at"), dir: ToStackFlow, own: OwnServiceNow},
		}
	case table == "problem":
		return []keyDef{
			title, desc, state(vmProblemState), priority(vmPriority5), level("impact"), level("urgency"),
			group, person("assignee", "assigned_to"),
			{name: "known_error", sn: snSpec{kind: snBool, field: "known_error"}, dir: Bidirectional, own: OwnLatest},
			bi("root_cause", text("cause_notes")), bi("workaround", text("workaround")), ci,
		}
	case table == "change_request":
		return []keyDef{
			title, desc,
			{name: "type", sn: choice("type"), dir: Bidirectional, own: OwnLatest, vm: vmChangeType},
			state(vmChangeState),
			{name: "risk", sn: choice("risk"), dir: Bidirectional, own: OwnLatest, vm: vmRisk, rev: revRisk, lossy: lossyRisk},
			level("impact"), priority(vmPriority4), group, person("assignee", "assigned_to"),
			{name: "planned_start", sn: tm("start_date"), dir: Bidirectional, own: OwnLatest, lossy: lossyTime},
			{name: "planned_end", sn: tm("end_date"), dir: Bidirectional, own: OwnLatest, lossy: lossyTime},
			bi("implementation_plan", text("implementation_plan")), bi("backout_plan", text("backout_plan")),
			bi("close_code", line("close_code")), ci,
		}
	case table == "sc_request":
		return []keyDef{
			title, desc,
			{name: "state", sn: choice("request_state"), dir: Bidirectional, own: OwnServiceNow,
				vm: vmRequestState, rev: revRequestState, lossy: lossyReq},
			{name: "approval", sn: choice("approval"), dir: Bidirectional, own: OwnServiceNow, vm: vmApproval},
			person("requested_for", "requested_for"), priority(vmPriority5),
			{name: "due_date", sn: tm("due_date"), dir: Bidirectional, own: OwnLatest, lossy: lossyTime},
		}
	case isCITable(table):
		return []keyDef{
			bi("name", line("name")),
			bi("class", choice("sys_class_name")),
			{name: "operational_status", sn: choice("operational_status"), dir: Bidirectional, vm: vmOperationalStatus},
			{name: "install_status", sn: choice("install_status"), dir: Bidirectional, vm: vmInstallStatus},
			bi("ip_address", line("ip_address")), bi("fqdn", line("fqdn")), bi("serial_number", line("serial_number")),
			bi("manufacturer", dotRef("manufacturer", "core_company", "name")),
			bi("model", dotRef("model_id", "cmdb_model", "name")),
			bi("location", dotRef("location", "cmn_location", "name")),
			person("owned_by", "owned_by"),
			{name: "environment", sn: choice("environment"), dir: Bidirectional, tr: TransformLower, lossy: lossyLower},
		}
	case table == "cmdb_rel_ci":
		return []keyDef{
			{name: "parent_id", sn: ciRef("parent"), dir: Bidirectional},
			{name: "child_id", sn: ciRef("child"), dir: Bidirectional},
			{name: "type", sn: snSpec{kind: snRelType, field: "type", refTable: "cmdb_rel_type"}, dir: Bidirectional},
		}
	}
	return nil
}

// isCITable reports whether table is cmdb_ci or one of its classes.
func isCITable(table string) bool {
	return table == "cmdb_ci" || strings.HasPrefix(table, "cmdb_ci_")
}

// isTaskTable reports whether table extends task (number, correlation_id).
func isTaskTable(table string) bool {
	switch table {
	case "incident", "problem", "change_request", "sc_request":
		return true
	}
	return false
}

// defaultModule returns the module of a built-in or CMDB class table.
func defaultModule(table string) string {
	for _, b := range builtinTables {
		if b.table == table {
			return b.module
		}
	}
	if isCITable(table) {
		return ModCMDBCIs
	}
	return ""
}

// defaultDirection returns the direction of a built-in or CMDB class table.
func defaultDirection(table string) Direction {
	for _, b := range builtinTables {
		if b.table == table {
			return b.dir
		}
	}
	if isCITable(table) {
		return ReadOnly
	}
	return Bidirectional
}

// allowedDirections lists the directions a table may take.
func allowedDirections(table string) []Direction {
	switch {
	case isCITable(table) || table == "cmdb_rel_ci":
		return []Direction{ToStackFlow, ReadOnly}
	case table == "sc_request":
		return []Direction{Bidirectional, ToStackFlow, ReadOnly}
	}
	return []Direction{Bidirectional, ToStackFlow, ToServiceNow, ReadOnly}
}
