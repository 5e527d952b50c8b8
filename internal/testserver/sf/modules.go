package sf

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Module identifiers, as used by webhooks, table mappings and the
// inspection methods.
const (
	Incidents         = "incidents"
	Problems          = "problems"
	Changes           = "changes"
	ServiceRequests   = "service_requests"
	CMDBCIs           = "cmdb_cis"
	CMDBRelationships = "cmdb_relationships"
)

// Limits and formats of the contract.
const (
	maxShort     = 255
	maxTitle     = 255
	maxText      = 65536
	maxExtID     = 255
	maxExtNumber = 64
	maxRef       = 64
	maxClass     = 80
	maxAttrKey   = 128
	maxAttrBytes = 64 << 10
	timeLayout   = "2006-01-02T15:04:05.000Z"
)

// kind is how a field's values are checked and normalised.
type kind int

const (
	kTitle        kind = iota + 1 // required string: trimmed, CRLF→LF, truncated to 255
	kName                         // required string: trimmed, 1..max, never truncated
	kShort                        // optional single-line string: trimmed, "" → null, ≤ max
	kText                         // optional long text: CRLF→LF, "" → null, ≤ 65536
	kEnum                         // required enum (has a default)
	kNullableEnum                 // optional enum
	kInt                          // optional integer in [min, max]
	kBool                         // required boolean (has a default)
	kTime                         // optional RFC 3339 time
	kCIRef                        // optional id of a CI
	kCIID                         // required id of a CI
	kIdent                        // required identifier matching a pattern (source, class)
	kExtID                        // optional external id: verbatim, "" → null
)

// field describes one writable field of a module.
type field struct {
	name     string
	kind     kind
	enum     []string
	min, max int64 // kInt range; kShort/kName/kIdent max length
	def      any   // value on create when absent (normalised form)
	pattern  *regexp.Regexp
	required bool // must be set on create and cannot be cleared
}

// moduleSpec describes one module of the API.
type moduleSpec struct {
	id           string // module identifier (incidents)
	path         string // URL path under the base (/incidents)
	idPrefix     string // record id prefix (inc)
	numberPrefix string // SF-INC, or "" when records have no number
	event        string // webhook event prefix (incident)
	table        string // ServiceNow table
	fields       []*field
	byName       map[string]*field
	index        map[string]int // position of each field in fields (and in record.vals)
	// check runs cross-field rules on a complete, normalised record; get
	// returns a field's value by name.
	check func(get func(string) any) []Detail
}

// getter reads the values of one record of m by field name.
func (m *moduleSpec) getter(vals []any) func(string) any {
	return func(name string) any {
		if i, ok := m.index[name]; ok {
			return vals[i]
		}
		return nil
	}
}

var (
	sourcePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	classPattern  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// numCommon is how many common fields lead every module's field list, at
// these positions.
const (
	numCommon    = 3
	idxSource    = 0
	idxExtID     = 1
	idxExtNumber = 2
)

// commonFields are the numCommon writable fields every module has.
func commonFields() []*field {
	return []*field{
		{name: "source", kind: kIdent, pattern: sourcePattern, max: 32, def: "stackflow"},
		{name: "external_id", kind: kExtID, max: maxExtID},
		{name: "external_number", kind: kShort, max: maxExtNumber},
	}
}

func title() *field { return &field{name: "title", kind: kTitle, required: true} }
func short(name string) *field {
	return &field{name: name, kind: kShort, max: maxShort}
}
func text(name string) *field  { return &field{name: name, kind: kText} }
func ts(name string) *field    { return &field{name: name, kind: kTime} }
func ciRef(name string) *field { return &field{name: name, kind: kCIRef} }
func level(name string) *field { return &field{name: name, kind: kInt, min: 1, max: 3} }
func priority() *field         { return &field{name: "priority", kind: kInt, min: 1, max: 5} }
func enumOf(name string, def string, values ...string) *field {
	return &field{name: name, kind: kEnum, enum: values, def: def}
}
func nullableEnum(name string, values ...string) *field {
	return &field{name: name, kind: kNullableEnum, enum: values}
}

// modules lists the six modules in a fixed order.
var modules = []*moduleSpec{
	{
		id: Incidents, path: "/incidents", idPrefix: "inc", numberPrefix: "SF-INC", event: "incident", table: "incident",
		fields: []*field{
			title(), text("description"),
			enumOf("state", "new", "new", "in_progress", "on_hold", "resolved", "closed", "canceled"),
			priority(), level("impact"), level("urgency"),
			short("category"), short("subcategory"), short("assignment_group"), short("assignee"), short("reporter"),
			ciRef("ci_id"), short("resolution_code"), text("resolution_notes"), ts("resolved_at"), ts("closed_at"),
		},
	},
	{
		id: Problems, path: "/problems", idPrefix: "prb", numberPrefix: "SF-PRB", event: "problem", table: "problem",
		fields: []*field{
			title(), text("description"),
			enumOf("state", "new", "new", "assess", "root_cause_analysis", "fix_in_progress", "resolved", "closed"),
			priority(), level("impact"), level("urgency"), short("assignment_group"), short("assignee"),
			{name: "known_error", kind: kBool, def: false},
			text("root_cause"), text("workaround"), ciRef("ci_id"),
		},
	},
	{
		id: Changes, path: "/changes", idPrefix: "chg", numberPrefix: "SF-CHG", event: "change", table: "change_request",
		fields: []*field{
			title(), text("description"),
			enumOf("type", "normal", "normal", "standard", "emergency"),
			enumOf("state", "new", "new", "assess", "authorize", "scheduled", "implement", "review", "closed", "canceled"),
			nullableEnum("risk", "high", "moderate", "low"),
			level("impact"), priority(), short("assignment_group"), short("assignee"),
			ts("planned_start"), ts("planned_end"), text("implementation_plan"), text("backout_plan"),
			short("close_code"), ciRef("ci_id"),
		},
		check: func(get func(string) any) []Detail {
			start, _ := get("planned_start").(string)
			end, _ := get("planned_end").(string)
			// Canonical timestamps compare correctly as strings.
			if start != "" && end != "" && end < start {
				return []Detail{{Field: "planned_end", Message: "must not be before planned_start"}}
			}
			return nil
		},
	},
	{
		id: ServiceRequests, path: "/service-requests", idPrefix: "req", numberPrefix: "SF-REQ", event: "service_request", table: "sc_request",
		fields: []*field{
			title(), text("description"),
			enumOf("state", "open", "open", "work_in_progress", "closed_complete", "closed_incomplete", "closed_skipped"),
			enumOf("approval", "not_yet_requested", "not_yet_requested", "requested", "approved", "rejected"),
			short("requested_for"), priority(), ts("due_date"),
		},
	},
	{
		id: CMDBCIs, path: "/cmdb/cis", idPrefix: "ci", event: "cmdb_ci", table: "cmdb_ci",
		fields: []*field{
			{name: "name", kind: kName, max: maxShort, required: true},
			{name: "class", kind: kIdent, pattern: classPattern, max: maxClass, def: "cmdb_ci"},
			nullableEnum("operational_status", "operational", "non_operational", "repair_in_progress", "dr_standby", "ready", "retired"),
			nullableEnum("install_status", "installed", "on_order", "in_maintenance", "pending_install", "pending_repair",
				"in_stock", "retired", "stolen", "absent"),
			short("ip_address"), short("fqdn"), short("serial_number"), short("manufacturer"), short("model"),
			short("location"), short("owned_by"), short("environment"),
		},
	},
	{
		id: CMDBRelationships, path: "/cmdb/relationships", idPrefix: "rel", event: "cmdb_relationship", table: "cmdb_rel_ci",
		fields: []*field{
			{name: "parent_id", kind: kCIID, required: true},
			{name: "child_id", kind: kCIID, required: true},
			{name: "type", kind: kName, max: maxShort, required: true},
		},
		check: func(get func(string) any) []Detail {
			if p, _ := get("parent_id").(string); p != "" && p == get("child_id") {
				return []Detail{{Field: "child_id", Message: "must differ from parent_id"}}
			}
			return nil
		},
	},
}

// moduleByID finds a module by identifier; it also accepts the URL path
// form ("service-requests", "cmdb/cis").
var moduleByID = map[string]*moduleSpec{}

func init() {
	for _, m := range modules {
		m.fields = append(commonFields(), m.fields...)
		m.byName = make(map[string]*field, len(m.fields))
		m.index = make(map[string]int, len(m.fields))
		for i, f := range m.fields {
			m.byName[f.name] = f
			m.index[f.name] = i
		}
		moduleByID[m.id] = m
		moduleByID[strings.TrimPrefix(m.path, "/")] = m
	}
}

// lookupModule returns the module named id or an error listing the valid names.
func lookupModule(id string) (*moduleSpec, error) {
	if m := moduleByID[id]; m != nil {
		return m, nil
	}
	names := make([]string, len(modules))
	for i, m := range modules {
		names[i] = m.id
	}
	return nil, fmt.Errorf("sf: unknown module %q (want one of %s)", id, strings.Join(names, ", "))
}

// readOnlyFields are record fields a client may not write.
var readOnlyFields = map[string]bool{
	"id": true, "number": true, "version": true, "created_at": true, "updated_at": true,
	"updated_by": true, "deleted_at": true,
}

// normalize checks one value for f and returns its stored form (nil for
// null) or a message saying what is wrong.
func (f *field) normalize(v any) (any, string) {
	if t, ok := v.(time.Time); ok && f.kind == kTime {
		return t.UTC().Truncate(time.Millisecond).Format(timeLayout), ""
	}
	if v == nil {
		switch f.kind {
		case kTitle, kName, kCIID:
			return nil, "is required and cannot be null"
		case kEnum:
			return nil, "must be one of " + strings.Join(f.enum, ", ")
		case kBool:
			return nil, "must be true or false"
		case kIdent:
			return nil, "must not be null"
		}
		return nil, ""
	}
	switch f.kind {
	case kInt:
		n, ok := toInt(v)
		if !ok {
			return nil, "must be an integer"
		}
		if n < f.min || n > f.max {
			return nil, fmt.Sprintf("must be %d..%d", f.min, f.max)
		}
		return n, ""
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return nil, "must be true or false"
		}
		return b, ""
	}
	s, ok := v.(string)
	if !ok {
		return nil, "must be a string"
	}
	if !utf8.ValidString(s) {
		return nil, "must be valid UTF-8"
	}
	switch f.kind {
	case kTitle:
		s = strings.TrimSpace(lf(s))
		if s == "" {
			return nil, "must not be empty"
		}
		if utf8.RuneCountInString(s) > maxTitle {
			s = strings.TrimRightFunc(string([]rune(s)[:maxTitle]), isSpace)
		}
		return s, ""
	case kName:
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, "must not be empty"
		}
		if utf8.RuneCountInString(s) > int(f.max) {
			return nil, fmt.Sprintf("must be at most %d characters", f.max)
		}
		return s, ""
	case kShort:
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, ""
		}
		if utf8.RuneCountInString(s) > int(f.max) {
			return nil, fmt.Sprintf("must be at most %d characters", f.max)
		}
		return s, ""
	case kText:
		s = lf(s)
		if s == "" {
			return nil, ""
		}
		if utf8.RuneCountInString(s) > maxText {
			return nil, fmt.Sprintf("must be at most %d characters", maxText)
		}
		return s, ""
	case kEnum, kNullableEnum:
		if s == "" && f.kind == kNullableEnum {
			return nil, ""
		}
		for _, e := range f.enum {
			if s == e {
				return s, ""
			}
		}
		return nil, "must be one of " + strings.Join(f.enum, ", ")
	case kTime:
		if s == "" {
			return nil, ""
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, "must be an RFC 3339 date-time, e.g. 2026-11-28T17:04:05.123Z"
		}
		return t.UTC().Truncate(time.Millisecond).Format(timeLayout), ""
	case kCIRef, kCIID:
		if s == "" {
			if f.kind == kCIID {
				return nil, "must not be empty"
			}
			return nil, ""
		}
		if len(s) > maxRef {
			return nil, "is not the id of a CI"
		}
		return s, ""
	case kIdent:
		if len(s) > int(f.max) || !f.pattern.MatchString(s) {
			return nil, fmt.Sprintf("must match %s", f.pattern.String())
		}
		return s, ""
	case kExtID:
		if s == "" {
			return nil, ""
		}
		if utf8.RuneCountInString(s) > int(f.max) {
			return nil, fmt.Sprintf("must be at most %d characters", f.max)
		}
		return s, ""
	}
	return nil, "cannot be written"
}

// lf turns CRLF and lone CR into LF.
func lf(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0xA0
}

// toInt reads an integral number from any of the shapes a JSON decoder or a
// Go caller produces.
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		return int64(f), true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}
