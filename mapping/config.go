package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// Defaults used by DefaultConfig and by New for empty settings.
const (
	DefaultCloseCode  = "Solution provided"
	DefaultCloseNotes = "Resolved in StackFlow"
	DefaultPeopleBy   = "email"
	DefaultGroupsBy   = "name"
)

// Config says which tables are mapped, how, and with which custom fields.
// Start from DefaultConfig and change what you need; New checks it all.
type Config struct {
	// Tables lists every mapped table; a table not listed is not mapped.
	// For the six built-in tables, an empty Module or Direction takes the
	// default. A custom table (u_*) needs a Module and at least one field
	// mapping or mapper; a CMDB class table (cmdb_ci_*) takes cmdb_ci's
	// mapping.
	Tables []TableConfig
	// FieldMappings are declarative mappings, the same list the Integration
	// Hub stores as field_mappings (LoadFieldMappings reads it from JSON
	// or YAML). One whose StackFlow field is a built-in key's replaces
	// that key.
	FieldMappings []FieldMappingSpec
	// Mappers are Go mappers per table. One whose Key is a built-in key's
	// name replaces that key.
	Mappers map[string][]FieldMapper
	// CloseCode and CloseNotes are written to close_code and close_notes
	// when a write resolves or closes an incident (state 6 or 7) and
	// neither the write nor the record has them; ServiceNow refuses the
	// write otherwise. Defaults DefaultCloseCode and DefaultCloseNotes.
	CloseCode  string
	CloseNotes string
	// PeopleBy is the sys_user field people are matched by: StackFlow's
	// assignee, reporter, requested_for and owned_by hold it, ServiceNow
	// is read through a dot-walk (assigned_to.email) and written through
	// Resolver.LookupServiceNow("sys_user", PeopleBy, value). "email"
	// (default), "user_name" or "name" (the display value).
	PeopleBy string
	// GroupsBy is the sys_user_group field groups are matched by: "name"
	// (default).
	GroupsBy string
}

// TableConfig overrides the defaults of one ServiceNow table.
type TableConfig struct {
	// Table is the ServiceNow table: one of the six built-in tables, a CMDB
	// class (cmdb_ci_*) or a custom table (u_*).
	Table string
	// Module is the StackFlow module: its path ("incidents",
	// "service-requests", "cmdb/cis") or its identifier
	// ("service_requests", "cmdb_cis"). Empty: the table's default.
	Module string
	// Enabled turns the table on.
	Enabled bool
	// Direction of the table; empty for the default. incident, problem and
	// change_request allow all four; sc_request every direction but
	// to_servicenow; CMDB tables to_stackflow and read_only.
	Direction Direction
	// Ownership overrides the conflict rule per key (by key name).
	Ownership map[string]Ownership
	// DefaultSide wins "latest" conflicts whose edits are closer than the
	// skew. Zero means ServiceNow.
	DefaultSide Side
}

// FieldMappingSpec is one declarative field mapping, in the shape the
// Integration Hub stores (field_mappings), with the optional extras
// value_map, reverse_value_map, transform and ownership.
type FieldMappingSpec struct {
	Table string `json:"table" yaml:"table"`
	// ServiceNowField is a column name; a dot-walk (caller_id.email) reads
	// through a reference and can be written back only for references the
	// mapping knows the table of (people, groups, CIs...).
	ServiceNowField string `json:"servicenow_field" yaml:"servicenow_field"`
	// StackFlowField is a writable field of the module or attributes.<key>.
	StackFlowField string `json:"stackflow_field" yaml:"stackflow_field"`
	// Direction of this field; empty: the table's (for a mapping that
	// replaces a built-in key, that key's, e.g. to_stackflow for priority).
	Direction Direction `json:"direction,omitempty" yaml:"direction,omitempty"`
	// ValueMap maps ServiceNow raw values to StackFlow values. With one,
	// a ServiceNow value missing from it is a *ValueError.
	ValueMap ValueMap `json:"value_map,omitempty" yaml:"value_map,omitempty"`
	// ReverseValueMap maps StackFlow values to ServiceNow values where
	// ValueMap is not one to one (or to add reverse-only entries). Without
	// it, the reverse of ValueMap is used.
	ReverseValueMap ValueMap `json:"reverse_value_map,omitempty" yaml:"reverse_value_map,omitempty"`
	// Transform is one of lower, upper, trim, date, datetime, int, bool.
	Transform string `json:"transform,omitempty" yaml:"transform,omitempty"`
	// Ownership decides conflicts; empty: latest (servicenow on one-way
	// tables).
	Ownership Ownership `json:"ownership,omitempty" yaml:"ownership,omitempty"`
}

// Transforms a FieldMappingSpec may name.
const (
	TransformLower    = "lower"    // ServiceNow to StackFlow: lower case (lossy)
	TransformUpper    = "upper"    // ServiceNow to StackFlow: upper case (lossy)
	TransformTrim     = "trim"     // both ways: surrounding white space removed
	TransformDate     = "date"     // a ServiceNow date (2006-01-02); a date string or a midnight-UTC time on StackFlow
	TransformDateTime = "datetime" // a ServiceNow date-time; an RFC 3339 time on StackFlow
	TransformInt      = "int"      // a decimal integer; a JSON number on StackFlow
	TransformBool     = "bool"     // "true"/"false"; a JSON boolean on StackFlow
)

// ValueMap maps values of one side to values of the other. In JSON and
// YAML its values may be strings, numbers or booleans (all kept as text).
type ValueMap map[string]string

// UnmarshalJSON reads an object whose values are scalars.
func (m *ValueMap) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*m = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("value map must be an object of strings: %w", err)
	}
	out := make(ValueMap, len(raw))
	for k, v := range raw {
		var x any
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			return fmt.Errorf("value map entry %q: %w", k, err)
		}
		switch t := x.(type) {
		case string:
			out[k] = t
		case json.Number:
			out[k] = t.String()
		case bool:
			out[k] = strconv.FormatBool(t)
		default:
			return fmt.Errorf("value map entry %q: want a string, number or boolean, got %s", k, string(v))
		}
	}
	*m = out
	return nil
}

// UnmarshalYAML reads a mapping whose keys and values are scalars.
func (m *ValueMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		*m = nil
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: value map must be a mapping of values", n.Line)
	}
	out := make(ValueMap, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return fmt.Errorf("line %d: value map entries must be scalars (key: value)", k.Line)
		}
		out[k.Value] = v.Value
	}
	*m = out
	return nil
}

// builtinTables lists the built-in tables in dependency order.
var builtinTables = []struct {
	table, module string
	dir           Direction
}{
	{"cmdb_ci", "cmdb/cis", ReadOnly},
	{"cmdb_rel_ci", "cmdb/relationships", ToStackFlow},
	{"incident", "incidents", Bidirectional},
	{"problem", "problems", Bidirectional},
	{"change_request", "changes", Bidirectional},
	{"sc_request", "service-requests", ToStackFlow},
}

// DefaultConfig returns the guide's table map (incident, problem and
// change_request both ways; sc_request and cmdb_rel_ci to StackFlow;
// cmdb_ci read-only) with every built-in field mapping, people by email,
// groups by name, and the default close code and notes.
func DefaultConfig() Config {
	cfg := Config{
		CloseCode:  DefaultCloseCode,
		CloseNotes: DefaultCloseNotes,
		PeopleBy:   DefaultPeopleBy,
		GroupsBy:   DefaultGroupsBy,
	}
	for _, b := range builtinTables {
		cfg.Tables = append(cfg.Tables, TableConfig{Table: b.table, Module: b.module, Enabled: true, Direction: b.dir})
	}
	return cfg
}

// Table returns the TableConfig of table, adding a disabled one when the
// table is not listed yet, so callers can edit it in place:
//
//	cfg.Table("cmdb_ci").Enabled = false
func (c *Config) Table(table string) *TableConfig {
	for i := range c.Tables {
		if c.Tables[i].Table == table {
			return &c.Tables[i]
		}
	}
	c.Tables = append(c.Tables, TableConfig{Table: table})
	return &c.Tables[len(c.Tables)-1]
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
