package mapping

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var (
	tableNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	snFieldPattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	keyNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[A-Za-z0-9_.\-]+)?$`)
)

// Mapping is a validated configuration: the table maps the syncer runs.
// It is immutable and safe for concurrent use.
type Mapping struct {
	tables []*TableMap
	byName map[string]*TableMap
}

// Tables returns the enabled tables in dependency order: CMDB CIs first,
// then relationships (they reference CIs), then the task tables (they
// reference CIs too), then custom tables.
func (m *Mapping) Tables() []*TableMap {
	out := make([]*TableMap, len(m.tables))
	copy(out, m.tables)
	return out
}

// Table returns the map of one enabled table.
func (m *Mapping) Table(table string) (*TableMap, bool) {
	t, ok := m.byName[table]
	return t, ok
}

// New checks cfg completely and builds the Mapping. Every problem found is
// reported at once in a *ConfigError, each naming the table, the field
// and the fix. Empty CloseCode, CloseNotes, PeopleBy and GroupsBy take
// their defaults.
func New(cfg Config) (*Mapping, error) {
	b := &builder{cfg: cfg}
	if b.cfg.CloseCode == "" {
		b.cfg.CloseCode = DefaultCloseCode
	}
	if b.cfg.CloseNotes == "" {
		b.cfg.CloseNotes = DefaultCloseNotes
	}
	if b.cfg.PeopleBy == "" {
		b.cfg.PeopleBy = DefaultPeopleBy
	}
	if b.cfg.GroupsBy == "" {
		b.cfg.GroupsBy = DefaultGroupsBy
	}
	return b.build()
}

type builder struct {
	cfg Config
	ps  problems
}

func (b *builder) build() (*Mapping, error) {
	if !tableNamePattern.MatchString(b.cfg.PeopleBy) {
		b.ps.add("", "PeopleBy", `set it to a sys_user field such as "email", "user_name" or "name"`,
			"%q is not a field name", b.cfg.PeopleBy)
	}
	if !tableNamePattern.MatchString(b.cfg.GroupsBy) {
		b.ps.add("", "GroupsBy", `set it to a sys_user_group field such as "name"`, "%q is not a field name", b.cfg.GroupsBy)
	}
	m := &Mapping{byName: map[string]*TableMap{}}
	seen := map[string]bool{}
	listed := map[string]bool{}
	var ciTables []string
	for _, tc := range b.cfg.Tables {
		if seen[tc.Table] {
			b.ps.add(tc.Table, "", "list each table once in Config.Tables", "table is listed more than once")
			continue
		}
		seen[tc.Table] = true
		t := b.table(tc)
		if t == nil {
			continue
		}
		listed[tc.Table] = true
		if !tc.Enabled {
			continue
		}
		m.tables = append(m.tables, t)
		m.byName[t.table] = t
		if isCITable(t.table) {
			ciTables = append(ciTables, t.table)
		}
	}
	if len(m.tables) == 0 && len(b.ps) == 0 {
		b.ps.add("", "Tables", "start from DefaultConfig() and change what you need", "no table is enabled")
	}
	if len(ciTables) > 1 && m.byName["cmdb_ci"] != nil {
		b.ps.add("cmdb_ci", "", "disable cmdb_ci, or disable the class tables "+strings.Join(ciTables[1:], ", "),
			"cmdb_ci already lists CIs of every class, so the class tables would import them twice")
	}
	for _, fm := range b.cfg.FieldMappings {
		if m.byName[fm.Table] == nil {
			b.notMapped(fm.Table, fm.StackFlowField, listed[fm.Table])
		}
	}
	for _, table := range sortedKeys(b.cfg.Mappers) {
		if m.byName[table] == nil && len(b.cfg.Mappers[table]) > 0 {
			b.notMapped(table, "", listed[table])
		}
	}
	for _, t := range m.tables {
		b.keys(t)
	}
	if err := b.ps.err(); err != nil {
		return nil, err
	}
	sort.SliceStable(m.tables, func(i, j int) bool { return tableRank(m.tables[i].table) < tableRank(m.tables[j].table) })
	return m, nil
}

func (b *builder) notMapped(table, field string, listed bool) {
	if listed {
		b.ps.add(table, field, "set Enabled in its Config.Tables entry, or remove the mapping", "field mapping for a disabled table")
		return
	}
	b.ps.add(table, field, "add the table to Config.Tables (custom tables need a Module), or fix the table name",
		"field mapping for a table that is not mapped")
}

// tableRank orders tables by dependency.
func tableRank(table string) string {
	switch {
	case table == "cmdb_ci":
		return "0"
	case isCITable(table):
		return "1" + table
	case table == "cmdb_rel_ci":
		return "2"
	}
	for i, bt := range builtinTables {
		if bt.table == table {
			return fmt.Sprintf("3%d", i)
		}
	}
	return "4" + table
}

// table checks one TableConfig and returns the (still keyless) TableMap,
// or nil when it is unusable.
func (b *builder) table(tc TableConfig) *TableMap {
	name := tc.Table
	if !tableNamePattern.MatchString(name) {
		b.ps.add(name, "", "use the table's name as ServiceNow spells it (lower case, e.g. incident)", "not a ServiceNow table name")
		return nil
	}
	custom := strings.HasPrefix(name, "u_")
	known := defaultModule(name) != ""
	if !custom && !known {
		b.ps.add(name, "", "map one of incident, problem, change_request, sc_request, cmdb_ci (or a cmdb_ci_* class), "+
			"cmdb_rel_ci, or a custom table whose name starts with u_", "table is not supported")
		return nil
	}
	t := &TableMap{table: name, defaultSide: ServiceNow, closeCode: b.cfg.CloseCode, closeNotes: b.cfg.CloseNotes,
		task: isTaskTable(name), byKey: map[string]*key{}, tc: tc}
	ok := true
	switch {
	case tc.Module == "" && known:
		t.module = defaultModule(name)
	case tc.Module == "":
		b.ps.add(name, "Module", "set Module to the StackFlow module the custom table feeds (e.g. incidents)", "custom table without a module")
		ok = false
	default:
		t.module = normalizeModule(tc.Module)
		if t.module == "" {
			b.ps.add(name, "Module", "use one of "+strings.Join(sortedKeys(moduleFields), ", "), "unknown StackFlow module %q", tc.Module)
			ok = false
		} else if known && t.module != defaultModule(name) {
			b.ps.add(name, "Module", "set Module to "+defaultModule(name)+" (or leave it empty)",
				"%s can only map to %s, not %s", name, defaultModule(name), t.module)
			ok = false
		}
	}
	t.dir = tc.Direction
	if t.dir == "" {
		t.dir = defaultDirection(name)
	}
	allowed := allowedDirections(name)
	switch {
	case !t.dir.Valid():
		b.ps.add(name, "Direction", "use one of "+joinDirs(allowed), "unknown direction %q", tc.Direction)
		ok = false
	case !containsDir(allowed, t.dir):
		b.ps.add(name, "Direction", "use one of "+joinDirs(allowed), "%s cannot be %s", name, t.dir)
		ok = false
	}
	switch tc.DefaultSide {
	case 0:
	case ServiceNow, StackFlow:
		t.defaultSide = tc.DefaultSide
	default:
		b.ps.add(name, "DefaultSide", "use mapping.ServiceNow or mapping.StackFlow", "invalid side %d", int(tc.DefaultSide))
	}
	if name == "incident" {
		t.closing = map[string]bool{"6": true, "7": true}
	}
	if !ok {
		return nil
	}
	return t
}

func joinDirs(ds []Direction) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d)
	}
	return strings.Join(s, ", ")
}

func containsDir(ds []Direction, d Direction) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// keys builds every key of t: the built-in ones, then field mappings and
// mappers (which replace built-in keys of the same StackFlow field or key
// name), then ownership overrides; and checks them together.
func (b *builder) keys(t *TableMap) {
	byName := map[string]*key{}
	builtin := map[string]keyDef{}
	for _, d := range builtinKeys(t.table, b.cfg.PeopleBy, b.cfg.GroupsBy) {
		builtin[d.name] = d
		byName[d.name] = b.fromDef(t, d)
	}
	custom := map[string]string{} // key name -> what defined it, to catch doubles
	for i, fm := range b.cfg.FieldMappings {
		if fm.Table != t.table {
			continue
		}
		what := fmt.Sprintf("field_mappings[%d]", i)
		k := b.fromSpec(t, fm, builtin, what)
		if k == nil {
			continue
		}
		if prev, dup := custom[k.info.Name]; dup {
			b.ps.add(t.table, fm.StackFlowField, "keep one mapping per StackFlow field",
				"StackFlow field mapped twice (%s and %s)", prev, what)
			continue
		}
		custom[k.info.Name] = what
		byName[k.info.Name] = k
	}
	for i, fm := range b.cfg.Mappers[t.table] {
		what := fmt.Sprintf("Mappers[%q][%d]", t.table, i)
		k := b.fromMapper(t, fm, what)
		if k == nil {
			continue
		}
		if prev, dup := custom[k.info.Name]; dup {
			b.ps.add(t.table, k.info.Name, "keep one mapping per key", "key mapped twice (%s and %s)", prev, what)
			continue
		}
		custom[k.info.Name] = what
		byName[k.info.Name] = k
	}
	for _, name := range sortedKeys(t.tc.Ownership) {
		o := t.tc.Ownership[name]
		k := byName[name]
		switch {
		case k == nil:
			b.ps.add(t.table, name, "use one of the table's keys: "+strings.Join(sortedKeys(byName), ", "), "ownership for an unknown key")
		case !o.Valid():
			b.ps.add(t.table, name, "use servicenow, stackflow, latest, fill_if_empty, origin or none", "unknown ownership %q", o)
		default:
			b.setOwnership(t, k, o)
		}
	}
	if len(byName) == 0 {
		b.ps.add(t.table, "", "add field mappings (Config.FieldMappings) or mappers (Config.Mappers) for it", "table has no fields mapped")
	}
	names := sortedKeys(byName)
	sfOwner := map[string]string{}
	snOwner := map[string]string{}
	for _, name := range names {
		k := byName[name]
		for _, f := range k.info.StackFlowFields {
			if prev, dup := sfOwner[f]; dup {
				b.ps.add(t.table, f, "map each StackFlow field from one key only", "StackFlow field mapped twice (keys %s and %s)", prev, name)
			}
			sfOwner[f] = name
		}
		if k.toSN {
			for _, f := range k.writeFields() {
				if prev, dup := snOwner[f]; dup {
					b.ps.add(t.table, f, "write each ServiceNow field from one key only (make one of them to_stackflow)",
						"ServiceNow field mapped twice (keys %s and %s)", prev, name)
				}
				snOwner[f] = name
			}
		}
		t.keys = append(t.keys, k)
		t.byKey[name] = k
	}
	if t.dir.Flows(ServiceNow) {
		for _, f := range requiredOnCreate[t.module] {
			if k := t.keyForSF(f); k == nil || !k.toSF {
				b.ps.add(t.table, f, "map a ServiceNow field to "+f+" (Config.FieldMappings)",
					"StackFlow needs %s to create a %s record, and nothing is mapped to it", f, t.module)
			}
		}
	}
	t.snFields = t.readFields()
	t.tc = TableConfig{} // keep nothing the caller may still change
}

// setOwnership applies an ownership and recomputes the flows.
func (b *builder) setOwnership(t *TableMap, k *key, o Ownership) {
	k.info.Ownership = o
	k.toSF = k.info.Direction.Flows(ServiceNow) && t.dir.Flows(ServiceNow) && o != OwnNone
	k.toSN = k.info.Direction.Flows(StackFlow) && t.dir.Flows(StackFlow) && o != OwnNone
	if k.toSN && k.isPriority() {
		b.ps.add(t.table, k.info.Name, "map priority to_stackflow; write impact and urgency instead",
			"priority is computed by ServiceNow from impact and urgency and is never written")
	}
	k.info.Direction = effectiveDirection(t, k)
	if k.toSN {
		k.info.ServiceNowWrite = k.writeField()
	} else {
		k.info.ServiceNowWrite = ""
	}
}

// effectiveDirection is the key's direction restricted by the table's.
func effectiveDirection(t *TableMap, k *key) Direction {
	switch {
	case k.toSF && k.toSN:
		return Bidirectional
	case k.toSF && t.dir == ReadOnly:
		return ReadOnly
	case k.toSF:
		return ToStackFlow
	case k.toSN:
		return ToServiceNow
	}
	return k.info.Direction
}

// defaultOwnership is the ownership of a key without an explicit one.
func defaultOwnership(t *TableMap, declared Ownership) Ownership {
	switch t.dir {
	case ToStackFlow, ReadOnly:
		return OwnServiceNow
	case ToServiceNow:
		return OwnStackFlow
	}
	if declared == "" {
		return OwnLatest
	}
	return declared
}

func (k *key) isPriority() bool {
	if k.sn.kind == snMapper {
		for _, f := range k.sn.fields {
			if f == "priority" {
				return true
			}
		}
		return false
	}
	return k.sn.field == "priority" && !strings.Contains(k.sn.field, ".")
}

// writeField is the ServiceNow field a single-field key writes.
func (k *key) writeField() string {
	if k.sn.kind == snMapper {
		return ""
	}
	return k.sn.field
}

// writeFields are the ServiceNow fields the key writes.
func (k *key) writeFields() []string {
	if k.sn.kind == snMapper {
		return k.sn.fields
	}
	return []string{k.sn.field}
}

// newKey fills the parts every key shares.
func newKey(t *TableMap, name string, sn snSpec, sf sfSpec, sfFields []string, dir Direction) *key {
	return &key{
		table: t.table, module: t.module, sn: sn, sf: sf,
		info: KeyInfo{Name: name, ServiceNowFields: sn.readFields(), StackFlowFields: sfFields, Direction: dir},
	}
}

// fromDef builds a built-in key.
func (b *builder) fromDef(t *TableMap, d keyDef) *key {
	k := newKey(t, d.name, d.sn, moduleFields[t.module][d.name], []string{d.name}, d.dir)
	k.tr = d.tr
	k.info.Lossy = d.lossy
	if d.vm != nil {
		k.fwd = pairs(d.vm...)
		k.rev, _ = invert(k.fwd, pairs(d.rev...))
	}
	b.setOwnership(t, k, defaultOwnership(t, d.own))
	return k
}

// invert returns the reverse of fwd with explicit entries laid over it,
// and the StackFlow values several ServiceNow values share with no
// explicit reverse.
func invert(fwd, explicit map[string]string) (map[string]string, []string) {
	rev := map[string]string{}
	count := map[string]int{}
	for _, snv := range sortedKeys(fwd) {
		sfv := fwd[snv]
		count[sfv]++
		if _, ok := rev[sfv]; !ok {
			rev[sfv] = snv
		}
	}
	var ambiguous []string
	for _, sfv := range sortedKeys(count) {
		if count[sfv] > 1 {
			if _, ok := explicit[sfv]; !ok {
				ambiguous = append(ambiguous, sfv)
			}
		}
	}
	for sfv, snv := range explicit {
		rev[sfv] = snv
	}
	return rev, ambiguous
}

// sfFieldSpec resolves a StackFlow field of the module: a module field or
// attributes.<key> (typed by attrType).
func (b *builder) sfFieldSpec(t *TableMap, field, attrType string) (sfSpec, bool) {
	if attr, ok := strings.CutPrefix(field, "attributes."); ok {
		if attr == "" || len(attr) > 128 {
			b.ps.add(t.table, field, "name the attribute: attributes.<key> with a key of 1..128 characters", "invalid attribute field")
			return sfSpec{}, false
		}
		return sfSpec{kind: sfAttr, field: field, attrType: attrType}, true
	}
	if sfMetaFields[field] {
		b.ps.add(t.table, field, "map to a module field or to attributes.<key>",
			"%s belongs to the sync itself and cannot be mapped", field)
		return sfSpec{}, false
	}
	s, ok := moduleFields[t.module][field]
	if !ok {
		b.ps.add(t.table, field, "use a field of "+t.module+" ("+strings.Join(sortedKeys(moduleFields[t.module]), ", ")+
			") or attributes.<key>", "unknown StackFlow field of %s", t.module)
		return sfSpec{}, false
	}
	return s, true
}

// transformFits reports whether transform tr applies to StackFlow field s.
func transformFits(tr string, s sfSpec) bool {
	switch tr {
	case "":
		return true
	case TransformLower, TransformUpper, TransformTrim:
		return s.stringy()
	case TransformInt:
		return s.kind == sfInt || s.kind == sfAttr
	case TransformBool:
		return s.kind == sfBool || s.kind == sfAttr
	case TransformDateTime, TransformDate:
		return s.kind == sfTime || s.kind == sfAttr
	}
	return false
}

var transforms = []string{TransformLower, TransformUpper, TransformTrim, TransformDate, TransformDateTime, TransformInt, TransformBool}

// fromSpec builds and checks a declarative field mapping.
func (b *builder) fromSpec(t *TableMap, fm FieldMappingSpec, builtin map[string]keyDef, what string) *key {
	before := len(b.ps)
	field := fm.StackFlowField
	if field == "" {
		field = fm.ServiceNowField
	}
	if !snFieldPattern.MatchString(fm.ServiceNowField) {
		b.ps.add(t.table, field, "use a ServiceNow column name (lower case), optionally dot-walked: caller_id.email",
			"%s: invalid servicenow_field %q", what, fm.ServiceNowField)
	}
	if fm.StackFlowField == "" {
		b.ps.add(t.table, field, "set stackflow_field to a field of "+t.module+" or attributes.<key>", "%s: stackflow_field is empty", what)
		return nil
	}
	if fm.Transform != "" && !containsStr(transforms, fm.Transform) {
		b.ps.add(t.table, field, "use one of "+strings.Join(transforms, ", "), "%s: unknown transform %q", what, fm.Transform)
	}
	attrType := ""
	switch fm.Transform {
	case TransformInt, TransformBool, TransformDate, TransformDateTime, TransformTrim:
		attrType = fm.Transform
	}
	sfs, ok := b.sfFieldSpec(t, fm.StackFlowField, attrType)
	if !ok {
		return nil
	}
	if !transformFits(fm.Transform, sfs) && containsStr(transforms, fm.Transform) {
		b.ps.add(t.table, field, "drop the transform or pick one for a "+sfs.String()+" field",
			"%s: transform %q does not apply to %s, a %s field", what, fm.Transform, fm.StackFlowField, sfs)
	}
	def, overrides := builtin[fm.StackFlowField]
	dir := fm.Direction
	switch {
	case dir == "" && overrides:
		dir = def.dir // an override keeps the built-in key's direction
	case dir == "":
		dir = t.dir
	case !dir.Valid():
		b.ps.add(t.table, field, "use bidirectional, to_stackflow, to_servicenow or read_only", "%s: unknown direction %q", what, fm.Direction)
	case (dir.Flows(ServiceNow) && !t.dir.Flows(ServiceNow)) || (dir.Flows(StackFlow) && !t.dir.Flows(StackFlow)):
		b.ps.add(t.table, field, fmt.Sprintf("use a direction within the table's (%s)", t.dir),
			"%s: direction %s is not allowed on a %s table", what, dir, t.dir)
	}
	if fm.Ownership != "" && !fm.Ownership.Valid() {
		b.ps.add(t.table, field, "use servicenow, stackflow, latest, fill_if_empty, origin or none", "%s: unknown ownership %q", what, fm.Ownership)
	}
	if len(b.ps) > before {
		return nil
	}
	sn := b.snSpecFor(t, fm, sfs, def, overrides, dir, field, what)
	if len(b.ps) > before {
		return nil
	}
	k := newKey(t, fm.StackFlowField, sn, sfs, []string{fm.StackFlowField}, dir)
	k.tr = fm.Transform
	switch fm.Transform {
	case TransformLower, TransformUpper:
		k.info.Lossy = "StackFlow gets the value in " + fm.Transform + " case"
	}
	if overrides && def.lossy != "" && fm.ValueMap == nil && def.sn.field == fm.ServiceNowField {
		k.info.Lossy = def.lossy
	}
	if fm.ValueMap != nil {
		k.fwd = make(map[string]string, len(fm.ValueMap)) // a copy: the caller keeps its Config
		for snv, sfv := range fm.ValueMap {
			k.fwd[snv] = sfv
		}
		var ambiguous []string
		k.rev, ambiguous = invert(k.fwd, fm.ReverseValueMap)
		if manyToOne(k.fwd) {
			k.info.Lossy = "several ServiceNow values share one StackFlow value"
		}
		if len(ambiguous) > 0 {
			if dir.Flows(StackFlow) && t.dir.Flows(StackFlow) {
				b.ps.add(t.table, field, "add reverse_value_map entries for "+strings.Join(ambiguous, ", "),
					"%s: value_map maps several ServiceNow values to %s, so the way back is ambiguous", what, strings.Join(ambiguous, ", "))
			}
		}
		b.checkValueMap(t, k, fm, def, overrides, dir, field, what)
	} else if fm.ReverseValueMap != nil {
		b.ps.add(t.table, field, "add value_map too (or drop reverse_value_map)", "%s: reverse_value_map without value_map", what)
	} else if overrides && def.vm != nil && def.sn.field == fm.ServiceNowField {
		k.fwd = pairs(def.vm...)
		k.rev, _ = invert(k.fwd, pairs(def.rev...))
	}
	own := fm.Ownership
	if own == "" {
		own = defaultOwnership(t, "")
		if overrides && t.dir == Bidirectional {
			own = defaultOwnership(t, def.own)
		}
	}
	b.setOwnership(t, k, own)
	if len(b.ps) > before {
		return nil
	}
	return k
}

// snSpecFor works out how the ServiceNow side of a field mapping is read.
func (b *builder) snSpecFor(t *TableMap, fm FieldMappingSpec, sfs sfSpec, def keyDef, overrides bool, dir Direction, field, what string) snSpec {
	f := fm.ServiceNowField
	if ref, attr, walked := strings.Cut(f, "."); walked {
		rt := refTables[ref]
		if t.table == "cmdb_rel_ci" && ref == "type" {
			rt = "cmdb_rel_type"
		}
		if dir.Flows(StackFlow) && t.dir.Flows(StackFlow) && (rt == "" || strings.Contains(attr, ".")) {
			b.ps.add(t.table, field, "set direction to_stackflow, or map the reference column itself",
				"%s: %s is a dot-walk that cannot be written back to ServiceNow (unknown reference table)", what, f)
		}
		return snSpec{kind: snDotRef, field: ref, attr: attr, refTable: rt}
	}
	switch fm.Transform {
	case TransformInt:
		return snSpec{kind: snInt, field: f}
	case TransformBool:
		return snSpec{kind: snBool, field: f}
	case TransformDateTime:
		return snSpec{kind: snTime, field: f}
	case TransformDate:
		return snSpec{kind: snDate, field: f}
	}
	if overrides && def.sn.field == f && def.sn.kind != snDotRef {
		return def.sn
	}
	if fm.ValueMap != nil {
		return snSpec{kind: snChoice, field: f}
	}
	switch sfs.kind {
	case sfTime:
		return snSpec{kind: snTime, field: f}
	case sfInt:
		return snSpec{kind: snInt, field: f}
	case sfBool:
		return snSpec{kind: snBool, field: f}
	case sfCIRef, sfCIID:
		return snSpec{kind: snRef, field: f, refTable: "cmdb_ci"}
	case sfTitle, sfName, sfShort, sfIdent:
		return snSpec{kind: snLine, field: f}
	case sfEnum:
		return snSpec{kind: snChoice, field: f}
	}
	return snSpec{kind: snText, field: f}
}

// checkValueMap checks a field mapping's value map: StackFlow values that
// fit the field, the built-in choice list covered, and the StackFlow enum
// covered on the way back.
func (b *builder) checkValueMap(t *TableMap, k *key, fm FieldMappingSpec, def keyDef, overrides bool, dir Direction, field, what string) {
	for _, snv := range sortedKeys(k.fwd) {
		if _, err := k.canonSF(k.sf, k.fwd[snv]); err != nil {
			b.ps.add(t.table, field, "map "+snv+" to a value StackFlow accepts for "+k.sf.String(),
				"%s: value_map[%q] = %q does not fit %s", what, snv, k.fwd[snv], fm.StackFlowField)
		}
	}
	if overrides && def.vm != nil && def.sn.field == fm.ServiceNowField {
		var missing []string
		for _, snv := range evens(def.vm) {
			if _, ok := k.fwd[snv]; !ok {
				missing = append(missing, snv)
			}
		}
		if len(missing) > 0 {
			b.ps.add(t.table, field, "add value_map entries for "+strings.Join(missing, ", ")+" (a value_map replaces the built-in one)",
				"%s: value_map does not cover ServiceNow's %s choices %s", what, fm.ServiceNowField, strings.Join(missing, ", "))
		}
	}
	if dir.Flows(StackFlow) && t.dir.Flows(StackFlow) && k.sf.kind == sfEnum {
		var missing []string
		for _, e := range k.sf.enum {
			if _, ok := k.rev[e]; !ok {
				missing = append(missing, e)
			}
		}
		if len(missing) > 0 {
			b.ps.add(t.table, field, "add value_map or reverse_value_map entries for "+strings.Join(missing, ", "),
				"%s: StackFlow values %s have no ServiceNow value", what, strings.Join(missing, ", "))
		}
	}
}

// fromMapper builds and checks a Go mapper.
func (b *builder) fromMapper(t *TableMap, fm FieldMapper, what string) *key {
	if fm == nil {
		b.ps.add(t.table, "", "remove the nil entry", "%s is nil", what)
		return nil
	}
	before := len(b.ps)
	name := fm.Key()
	if !keyNamePattern.MatchString(name) {
		b.ps.add(t.table, name, "return a lower-case key name such as customer_tier or attributes.customer_tier",
			"%s: invalid key %q", what, name)
		return nil
	}
	dir := t.dir
	if dm, ok := fm.(DirectionMapper); ok {
		dir = dm.Direction()
		switch {
		case !dir.Valid():
			b.ps.add(t.table, name, "return bidirectional, to_stackflow, to_servicenow or read_only", "%s: unknown direction %q", what, dir)
		case (dir.Flows(ServiceNow) && !t.dir.Flows(ServiceNow)) || (dir.Flows(StackFlow) && !t.dir.Flows(StackFlow)):
			b.ps.add(t.table, name, fmt.Sprintf("use a direction within the table's (%s)", t.dir),
				"%s: direction %s is not allowed on a %s table", what, dir, t.dir)
		}
	}
	own := defaultOwnership(t, "")
	if om, ok := fm.(OwnershipMapper); ok {
		own = om.Ownership()
		if !own.Valid() {
			b.ps.add(t.table, name, "return servicenow, stackflow, latest, fill_if_empty, origin or none", "%s: unknown ownership %q", what, own)
		}
	}
	snFields := append([]string(nil), fm.ServiceNowFields()...)
	sfFields := append([]string(nil), fm.StackFlowFields()...)
	if len(snFields) == 0 || len(sfFields) == 0 {
		b.ps.add(t.table, name, "return at least one field from ServiceNowFields and StackFlowFields", "%s: mapper has no fields", what)
	}
	for _, f := range snFields {
		if !snFieldPattern.MatchString(f) {
			b.ps.add(t.table, name, "return ServiceNow column names", "%s: invalid ServiceNow field %q", what, f)
		} else if strings.Contains(f, ".") && dir.Flows(StackFlow) && t.dir.Flows(StackFlow) {
			b.ps.add(t.table, name, "make the mapper to_stackflow (DirectionMapper) or use the reference column",
				"%s: dot-walked field %s cannot be written back to ServiceNow", what, f)
		}
	}
	if dupes := duplicates(snFields); len(dupes) > 0 {
		b.ps.add(t.table, name, "list each field once", "%s: ServiceNow fields listed twice: %s", what, strings.Join(dupes, ", "))
	}
	if dupes := duplicates(sfFields); len(dupes) > 0 {
		b.ps.add(t.table, name, "list each field once", "%s: StackFlow fields listed twice: %s", what, strings.Join(dupes, ", "))
	}
	sort.Strings(snFields)
	sort.Strings(sfFields)
	var subs []sfSpec
	for _, f := range sfFields {
		if s, ok := b.sfFieldSpec(t, f, ""); ok {
			subs = append(subs, s)
		}
	}
	if len(b.ps) > before {
		return nil
	}
	k := newKey(t, name, snSpec{kind: snMapper, fields: snFields}, sfSpec{kind: sfMapper, subs: subs}, sfFields, dir)
	k.mapper = fm
	b.setOwnership(t, k, own)
	if len(b.ps) > before {
		return nil
	}
	return k
}

// manyToOne reports whether several keys of m share a value.
func manyToOne(m map[string]string) bool {
	seen := make(map[string]bool, len(m))
	for _, v := range m {
		if seen[v] {
			return true
		}
		seen[v] = true
	}
	return false
}

func duplicates(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if seen[s] {
			out = append(out, s)
		}
		seen[s] = true
	}
	return out
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
