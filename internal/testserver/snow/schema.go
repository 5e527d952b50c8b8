package snow

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// FieldType is the dictionary type of a column, as ServiceNow names it. It
// decides how values compare in queries, how they sort and how they are
// shown in display-value mode.
type FieldType string

// Field types the fake knows. Anything else behaves like TypeString.
const (
	TypeString    FieldType = "string"
	TypeInteger   FieldType = "integer"
	TypeDecimal   FieldType = "decimal"
	TypeBoolean   FieldType = "boolean"
	TypeDateTime  FieldType = "glide_date_time"
	TypeDate      FieldType = "glide_date"
	TypeDuration  FieldType = "glide_duration"
	TypeReference FieldType = "reference"
	TypeJournal   FieldType = "journal_input"
	TypeJournals  FieldType = "journal_list"
	TypeList      FieldType = "glide_list"
	TypeGUID      FieldType = "GUID"
	TypeClassName FieldType = "sys_class_name"
	TypePassword  FieldType = "password2"
)

// Choice is one entry of a field's choice list: the stored value and the
// label shown in display-value mode.
type Choice struct {
	Value string
	Label string
}

// Field defines one column of a table.
type Field struct {
	Name      string    // column name, e.g. "u_external_ref"
	Type      FieldType // dictionary type; empty means TypeString
	Label     string    // column label (used in journal display values and errors)
	Reference string    // referenced table, for TypeReference
	Choices   []Choice  // choice list; values of an integer choice compare numerically
	Default   string    // value given on insert when the caller sends none
	// CascadeDelete deletes the referencing row when the referenced row is
	// deleted (cmdb_rel_ci.parent and .child, sys_user_has_role.user).
	CascadeDelete bool
}

// Table defines a table for DefineTable. A table that Extends another one
// inherits its columns, and its rows are returned by queries on the parent.
type Table struct {
	Name         string  // table name, e.g. "u_vendor_ticket"
	Label        string  // label shown as the display value of sys_class_name
	Extends      string  // parent table ("" for a base table)
	NumberPrefix string  // prefix of the auto-number column "number" (e.g. "VTK"); empty means no numbering
	DisplayField string  // column used as the display value of references to this table
	Fields       []Field // own columns; system columns are added automatically
	// Choices overrides the choice list of inherited columns for this
	// table (incident's own labels for task.state, for example).
	Choices map[string][]Choice
	// Defaults overrides the default value of inherited columns for this
	// table (problem.state starts at 101 New, not task's 1).
	Defaults map[string]string
}

// column is a resolved Field inside a table layout.
type column struct {
	name    string
	label   string
	typ     FieldType
	ref     string
	choices map[string]string
	order   []Choice
	def     string
	cascade bool
	numeric bool
}

// tableDef is a table in the registry. Columns are laid out parent-first,
// so a column inherited from an ancestor has the same index in every
// descendant: rows of subclasses can be read through the parent's layout.
type tableDef struct {
	id       int
	name     string
	label    string
	parent   *tableDef
	children []*tableDef
	root     *tableDef
	prefix   string
	display  string
	own      []*column
	cols     []*column
	colIdx   map[string]int
	choices  map[string]map[string]string // per-table overrides of inherited choices
	defaults map[string]string            // per-table overrides of inherited defaults
	sysID    string
	path     string // sys_class_path
	counter  int    // last auto-number handed out
	depth    int
}

// isA reports whether t is anc or one of its descendants.
func (t *tableDef) isA(anc *tableDef) bool {
	for c := t; c != nil; c = c.parent {
		if c == anc {
			return true
		}
	}
	return false
}

// col returns the index of column name in t's layout, or -1.
func (t *tableDef) col(name string) int {
	if i, ok := t.colIdx[name]; ok {
		return i
	}
	return -1
}

// defaultOf returns column i's default as seen by class t (the most
// specific override wins).
func (t *tableDef) defaultOf(i int) string {
	c := t.cols[i]
	for x := t; x != nil; x = x.parent {
		if d, ok := x.defaults[c.name]; ok {
			return d
		}
	}
	return c.def
}

// choiceLabel returns the label of value for column i as seen by class t
// (the most specific override wins), and whether one was found.
func (t *tableDef) choiceLabel(i int, value string) (string, bool) {
	c := t.cols[i]
	for x := t; x != nil; x = x.parent {
		if m, ok := x.choices[c.name]; ok {
			l, ok := m[value]
			return l, ok
		}
	}
	if c.choices == nil {
		return "", false
	}
	l, ok := c.choices[value]
	return l, ok
}

// choiceValue returns the stored value of a choice label for column i as
// seen by class t.
func (t *tableDef) choiceValue(i int, label string) (string, bool) {
	c := t.cols[i]
	for x := t; x != nil; x = x.parent {
		if m, ok := x.choices[c.name]; ok {
			for v, l := range m {
				if l == label {
					return v, true
				}
			}
			return "", false
		}
	}
	for _, ch := range c.order {
		if ch.Label == label {
			return ch.Value, true
		}
	}
	return "", false
}

// descendants returns t and every table that extends it, parents first.
func (t *tableDef) descendants() []*tableDef {
	out := []*tableDef{t}
	for i := 0; i < len(out); i++ {
		out = append(out, out[i].children...)
	}
	return out
}

// systemFields are the columns every table gets.
var systemFields = []Field{
	{Name: "sys_id", Type: TypeGUID, Label: "Sys ID"},
	{Name: "sys_created_on", Type: TypeDateTime, Label: "Created"},
	{Name: "sys_created_by", Type: TypeString, Label: "Created by"},
	{Name: "sys_updated_on", Type: TypeDateTime, Label: "Updated"},
	{Name: "sys_updated_by", Type: TypeString, Label: "Updated by"},
	{Name: "sys_mod_count", Type: TypeInteger, Label: "Updates"},
	{Name: "sys_tags", Type: TypeString, Label: "Tags"},
	{Name: "sys_class_name", Type: TypeClassName, Label: "Class"},
	{Name: "sys_domain", Type: TypeReference, Reference: "sys_user_group", Label: "Domain", Default: "global"},
	{Name: "sys_domain_path", Type: TypeString, Label: "Domain Path", Default: "/"},
}

// sysFieldNames are the columns a client cannot write (sys_id only on insert).
var sysFieldNames = map[string]bool{}

func init() {
	for _, f := range systemFields {
		sysFieldNames[f.Name] = true
	}
	sysFieldNames["sys_class_path"] = true
}

// schema is the table registry of one server.
type schema struct {
	tables map[string]*tableDef
	list   []*tableDef
}

func newColumn(f Field) (*column, error) {
	if !validName(f.Name) {
		return nil, fmt.Errorf("snow: invalid column name %q: use lower-case letters, digits and _", f.Name)
	}
	typ := f.Type
	if typ == "" {
		typ = TypeString
	}
	if typ == TypeReference && f.Reference == "" {
		return nil, fmt.Errorf("snow: reference column %q needs a Reference table", f.Name)
	}
	c := &column{name: f.Name, label: f.Label, typ: typ, ref: f.Reference, def: f.Default, cascade: f.CascadeDelete}
	if c.label == "" {
		c.label = labelFromName(f.Name)
	}
	c.numeric = typ == TypeInteger || typ == TypeDecimal
	if len(f.Choices) > 0 {
		c.choices = make(map[string]string, len(f.Choices))
		c.order = append([]Choice(nil), f.Choices...)
		for _, ch := range f.Choices {
			c.choices[ch.Value] = ch.Label
		}
	}
	return c, nil
}

// validName accepts ServiceNow table and column names.
func validName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b == '_':
		case b >= '0' && b <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func labelFromName(n string) string {
	n = strings.TrimPrefix(n, "u_")
	parts := strings.Split(n, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// define adds a table to the registry and returns it.
func (s *schema) define(t Table) (*tableDef, error) {
	if !validName(t.Name) {
		return nil, fmt.Errorf("snow: invalid table name %q: use lower-case letters, digits and _", t.Name)
	}
	if _, ok := s.tables[t.Name]; ok {
		return nil, fmt.Errorf("snow: table %q is already defined; use AddFields to add columns", t.Name)
	}
	var parent *tableDef
	if t.Extends != "" {
		parent = s.tables[t.Extends]
		if parent == nil {
			return nil, fmt.Errorf("snow: table %q extends unknown table %q", t.Name, t.Extends)
		}
	}
	td := &tableDef{
		id:      len(s.list),
		name:    t.Name,
		label:   t.Label,
		parent:  parent,
		prefix:  t.NumberPrefix,
		display: t.DisplayField,
		colIdx:  map[string]int{},
		choices: map[string]map[string]string{},
		counter: 10000,

		defaults: map[string]string{},
	}
	if td.label == "" {
		td.label = labelFromName(t.Name)
	}
	sum := md5.Sum([]byte("snow-table:" + t.Name))
	td.sysID = hex.EncodeToString(sum[:])
	if parent == nil {
		td.root = td
		for _, f := range systemFields {
			c, err := newColumn(f)
			if err != nil {
				return nil, err
			}
			td.own = append(td.own, c)
		}
	} else {
		td.root = parent.root
		td.depth = parent.depth + 1
		if td.display == "" {
			td.display = parent.display
		}
	}
	inherited := map[string]bool{}
	if parent != nil {
		for _, c := range parent.cols {
			inherited[c.name] = true
		}
	}
	seen := map[string]bool{}
	for _, c := range td.own {
		seen[c.name] = true
	}
	for _, f := range t.Fields {
		if seen[f.Name] || inherited[f.Name] {
			return nil, fmt.Errorf("snow: table %q: column %q is defined twice", t.Name, f.Name)
		}
		seen[f.Name] = true
		c, err := newColumn(f)
		if err != nil {
			return nil, fmt.Errorf("snow: table %q: %w", t.Name, err)
		}
		td.own = append(td.own, c)
	}
	if td.prefix != "" && !seen["number"] && !inherited["number"] {
		td.own = append(td.own, &column{name: "number", label: "Number", typ: TypeString})
	}
	for name, list := range t.Choices {
		if !seen[name] && !inherited[name] {
			return nil, fmt.Errorf("snow: table %q: choices for unknown column %q", t.Name, name)
		}
		m := make(map[string]string, len(list))
		for _, ch := range list {
			m[ch.Value] = ch.Label
		}
		td.choices[name] = m
	}
	for name, v := range t.Defaults {
		if !seen[name] && !inherited[name] {
			return nil, fmt.Errorf("snow: table %q: default for unknown column %q", t.Name, name)
		}
		td.defaults[name] = v
	}
	if parent != nil {
		parent.children = append(parent.children, td)
	}
	s.tables[td.name] = td
	s.list = append(s.list, td)
	s.layout(td.root)
	return td, nil
}

// addFields appends columns to an existing table. Layouts of the table and
// its descendants change; the caller migrates stored rows.
func (s *schema) addFields(name string, fields []Field) (*tableDef, error) {
	td := s.tables[name]
	if td == nil {
		return nil, fmt.Errorf("snow: AddFields: unknown table %q", name)
	}
	for _, f := range fields {
		for _, d := range td.root.descendants() {
			if _, ok := d.colIdx[f.Name]; ok && (d.isA(td) || td.isA(d)) {
				return nil, fmt.Errorf("snow: AddFields: table %q already has column %q", d.name, f.Name)
			}
		}
		c, err := newColumn(f)
		if err != nil {
			return nil, err
		}
		td.own = append(td.own, c)
	}
	s.layout(td.root)
	return td, nil
}

// layout recomputes the column layout of root and its descendants.
func (s *schema) layout(root *tableDef) {
	var walk func(t *tableDef, code int)
	walk = func(t *tableDef, code int) {
		t.cols = t.cols[:0]
		if t.parent != nil {
			t.cols = append(t.cols, t.parent.cols...)
			t.path = t.parent.path + "/!" + string(rune('!'+code%90))
		} else {
			t.path = "/!!"
		}
		t.cols = append(t.cols, t.own...)
		t.colIdx = make(map[string]int, len(t.cols))
		for i, c := range t.cols {
			t.colIdx[c.name] = i
		}
		for i, ch := range t.children {
			walk(ch, i)
		}
	}
	walk(root, 0)
}

// names returns every table name, sorted.
func (s *schema) names() []string {
	out := make([]string, 0, len(s.tables))
	for n := range s.tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
