package mapping

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stackflow-tech/snowsync/servicenow"
)

// TableMap maps one ServiceNow table to one StackFlow module. It is
// immutable and safe for concurrent use.
type TableMap struct {
	table       string
	module      string
	dir         Direction
	keys        []*key // sorted by name
	byKey       map[string]*key
	defaultSide Side
	closeCode   string
	closeNotes  string
	closing     map[string]bool // ServiceNow states that resolve or close (incident: 6, 7)
	task        bool            // extends task: number, correlation_id
	snFields    []string
	tc          TableConfig // the table's configuration, while New builds it
}

// Table returns the ServiceNow table, e.g. "incident".
func (t *TableMap) Table() string { return t.table }

// Module returns the StackFlow module path segment, e.g. "incidents",
// "service-requests", "cmdb/cis".
func (t *TableMap) Module() string { return t.module }

// Direction returns the table's direction.
func (t *TableMap) Direction() Direction { return t.dir }

// DefaultSide returns the side that wins "latest" conflicts within the skew.
func (t *TableMap) DefaultSide() Side { return t.defaultSide }

// Keys returns every logical key of the table, sorted by name, including
// keys that are not synced (Ownership none, or a direction the table does
// not allow).
func (t *TableMap) Keys() []KeyInfo {
	out := make([]KeyInfo, len(t.keys))
	for i, k := range t.keys {
		info := k.info
		info.ServiceNowFields = append([]string(nil), info.ServiceNowFields...)
		info.StackFlowFields = append([]string(nil), info.StackFlowFields...)
		out[i] = info
	}
	return out
}

// Key returns the description of one key.
func (t *TableMap) Key(name string) (KeyInfo, bool) {
	k, ok := t.byKey[name]
	if !ok {
		return KeyInfo{}, false
	}
	info := k.info
	info.ServiceNowFields = append([]string(nil), info.ServiceNowFields...)
	info.StackFlowFields = append([]string(nil), info.StackFlowFields...)
	return info, true
}

// keyForSF returns the key that maps StackFlow field f.
func (t *TableMap) keyForSF(f string) *key {
	for _, k := range t.keys {
		for _, x := range k.info.StackFlowFields {
			if x == f {
				return k
			}
		}
	}
	return nil
}

// keyForSN returns the synced key that writes ServiceNow field f.
func (t *TableMap) keyForSN(f string) *key {
	for _, k := range t.keys {
		if !k.active() {
			continue
		}
		for _, x := range k.writeFields() {
			if x == f {
				return k
			}
		}
	}
	return nil
}

// readFields computes ServiceNowFields.
func (t *TableMap) readFields() []string {
	set := map[string]bool{"sys_id": true, "sys_updated_on": true, "sys_mod_count": true, "sys_updated_by": true, "sys_class_name": true}
	if t.task {
		set["number"] = true
		set["correlation_id"] = true
		set["correlation_display"] = true
	}
	for _, k := range t.keys {
		if !k.active() {
			continue
		}
		for _, f := range k.info.ServiceNowFields {
			set[f] = true
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// ServiceNowFields returns the exact sysparm_fields for reading the table:
// every field of a synced key (dot-walks such as assigned_to.email come
// back as flat keys), plus sys_id, sys_updated_on, sys_mod_count,
// sys_updated_by, sys_class_name and, on task tables, number,
// correlation_id and correlation_display. Sorted.
func (t *TableMap) ServiceNowFields() []string { return append([]string(nil), t.snFields...) }

// ProjectServiceNow returns the canonical ServiceNow projection of rec:
// every synced key, in ServiceNow's own terms. A mapped field missing from
// rec is a *ValueError (the read did not ask for it, or an ACL hides it):
// it is never read as empty.
func (t *TableMap) ProjectServiceNow(rec servicenow.Record) (Canon, error) {
	out := make(Canon, len(t.keys))
	for _, k := range t.keys {
		if !k.active() {
			continue
		}
		v, err := k.projectSN(rec)
		if err != nil {
			return nil, err
		}
		out[k.info.Name] = v
	}
	return out, nil
}

// ProjectStackFlow returns the canonical StackFlow projection of rec (a
// record as StackFlow returns it: JSON numbers as json.Number or float64,
// attributes as a map). A module field missing from rec is a *ValueError;
// a missing attribute is empty.
func (t *TableMap) ProjectStackFlow(rec map[string]any) (Canon, error) {
	out := make(Canon, len(t.keys))
	for _, k := range t.keys {
		if !k.active() {
			continue
		}
		v, err := k.projectSF(rec)
		if err != nil {
			return nil, err
		}
		out[k.info.Name] = v
	}
	return out, nil
}

func (t *TableMap) key(name string) (*key, error) {
	k, ok := t.byKey[name]
	if !ok {
		return nil, fmt.Errorf("mapping: %s has no key %q (keys: %s)", t.table, name, strings.Join(t.keyNames(), ", "))
	}
	return k, nil
}

func (t *TableMap) keyNames() []string {
	out := make([]string, len(t.keys))
	for i, k := range t.keys {
		out[i] = k.info.Name
	}
	return out
}

// ToStackFlow converts a canonical ServiceNow value of key to the
// canonical StackFlow value, resolving references through r. A value
// missing from the key's value map is a *ValueError; an unpaired
// reference an error wrapping ErrUnresolved.
func (t *TableMap) ToStackFlow(key, snValue string, r Resolver) (string, error) {
	k, err := t.key(key)
	if err != nil {
		return "", err
	}
	return k.toStackFlow(snValue, r)
}

// ToServiceNow converts a canonical StackFlow value of key to the
// canonical ServiceNow value.
func (t *TableMap) ToServiceNow(key, sfValue string, r Resolver) (string, error) {
	k, err := t.key(key)
	if err != nil {
		return "", err
	}
	return k.toServiceNow(sfValue, r)
}

// ConvertToStackFlow converts every key of sn that flows to StackFlow.
func (t *TableMap) ConvertToStackFlow(sn Canon, r Resolver) (Canon, error) {
	out := Canon{}
	for _, k := range t.keys {
		if !k.toSF {
			continue
		}
		v, err := k.toStackFlow(sn[k.info.Name], r)
		if err != nil {
			return nil, err
		}
		out[k.info.Name] = v
	}
	return out, nil
}

// ConvertToServiceNow converts every key of sf that flows to ServiceNow.
func (t *TableMap) ConvertToServiceNow(sf Canon, r Resolver) (Canon, error) {
	out := Canon{}
	for _, k := range t.keys {
		if !k.toSN {
			continue
		}
		v, err := k.toServiceNow(sf[k.info.Name], r)
		if err != nil {
			return nil, err
		}
		out[k.info.Name] = v
	}
	return out, nil
}

// StackFlowBody returns the JSON body for a StackFlow PATCH (or the
// mapped part of a create) from canonical StackFlow values: integers for
// priority, impact and urgency, booleans, RFC 3339 times, null for cleared
// optional fields, and attributes.<key> nested under "attributes" (null
// removes the attribute). A value StackFlow would refuse (too long, empty
// where required) is a *ValueError.
func (t *TableMap) StackFlowBody(values Canon) (map[string]any, error) {
	out := map[string]any{}
	for _, name := range values.Keys() {
		k, err := t.key(name)
		if err != nil {
			return nil, err
		}
		if err := t.putSF(k, values[name], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *TableMap) putSF(k *key, v string, out map[string]any) error {
	set := func(field string, x any) {
		if attr, ok := strings.CutPrefix(field, "attributes."); ok {
			attrs, _ := out["attributes"].(map[string]any)
			if attrs == nil {
				attrs = map[string]any{}
				out["attributes"] = attrs
			}
			attrs[attr] = x
			return
		}
		out[field] = x
	}
	if k.sf.kind == sfMapper {
		fs, ok := decodeSet(k.info.StackFlowFields, v)
		if !ok {
			return k.valueErr(StackFlow, "", v, "is not an encoded field set of "+strings.Join(k.info.StackFlowFields, ", "), "")
		}
		for _, sub := range k.sf.subs {
			x, err := k.sfJSON(sub, fs[sub.field])
			if err != nil {
				return err
			}
			set(sub.field, x)
		}
		return nil
	}
	x, err := k.sfJSON(k.sf, v)
	if err != nil {
		return err
	}
	set(k.sf.field, x)
	return nil
}

// ServiceNowBody returns the body of a ServiceNow PATCH or create from
// canonical ServiceNow values. People, groups and relationship types
// become sys_ids through r.LookupServiceNow. It never writes priority
// (ServiceNow computes it from impact and urgency). When the write
// resolves or closes an incident (state 6 or 7) and neither values nor
// current hold close_code / close_notes, it adds Config.CloseCode /
// CloseNotes so ServiceNow does not refuse it (Merge already adds them,
// on both sides; this is the safety net for other callers).
func (t *TableMap) ServiceNowBody(values, current Canon, r Resolver) (servicenow.Fields, error) {
	out := servicenow.Fields{}
	for _, name := range values.Keys() {
		k, err := t.key(name)
		if err != nil {
			return nil, err
		}
		if !k.toSN {
			return nil, fmt.Errorf("mapping: %s.%s does not flow to ServiceNow (direction %s, ownership %s)",
				t.table, name, k.info.Direction, k.info.Ownership)
		}
		if err := k.snWrite(values[name], r, out); err != nil {
			return nil, err
		}
	}
	for f, v := range t.closeDefaults(values, current) {
		if _, ok := out[f]; !ok || out[f] == "" {
			out[f] = v
		}
	}
	return out, nil
}

// closeDefaults returns the close_code / close_notes fields to add when
// values resolve or close an incident that has none.
func (t *TableMap) closeDefaults(values, current Canon) map[string]string {
	if t.closing == nil {
		return nil
	}
	sk := t.keyForSN("state")
	if sk == nil {
		return nil
	}
	state, ok := values[sk.info.Name]
	if !ok || !t.closing[state] {
		return nil
	}
	out := map[string]string{}
	for f, def := range map[string]string{"close_code": t.closeCode, "close_notes": t.closeNotes} {
		k := t.keyForSN(f)
		if k == nil || !k.toSN {
			// Not synced: its current value is unknown here, and a default
			// could overwrite one a person entered.
			continue
		}
		v, in := values[k.info.Name]
		if !in {
			v = current[k.info.Name]
		}
		if v == "" {
			out[f] = def
		}
	}
	return out
}

// NewStackFlow returns the full create body of the StackFlow record for
// a ServiceNow record: every key that flows to StackFlow, converted
// (empty values left out, so StackFlow's defaults apply), plus source
// "servicenow", external_id (the sys_id) and external_number (the number,
// when the table has one). sn is ProjectServiceNow(rec).
func (t *TableMap) NewStackFlow(sn Canon, rec servicenow.Record, r Resolver) (map[string]any, error) {
	sysID := strings.TrimSpace(rec.SysID())
	if sysID == "" {
		return nil, fmt.Errorf("mapping: %s: the record has no sys_id", t.table)
	}
	out := map[string]any{}
	for _, k := range t.keys {
		if !k.toSF {
			continue
		}
		v, err := k.toStackFlow(sn[k.info.Name], r)
		if err != nil {
			return nil, err
		}
		if v == "" || (k.sf.kind == sfMapper && isEmptySet(k.info.StackFlowFields, v)) {
			if k.sf.kind == sfTitle || k.sf.kind == sfName || k.sf.kind == sfCIID || k.sf.kind == sfIdent {
				if _, err := k.sfJSON(k.sf, v); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := t.putSF(k, v, out); err != nil {
			return nil, err
		}
	}
	out["source"] = sourceServiceNow
	out["external_id"] = sysID
	if n := strings.TrimSpace(rec.Get("number")); n != "" {
		out["external_number"] = n
	}
	return out, nil
}

func isEmptySet(fields []string, v string) bool {
	fs, ok := decodeSet(fields, v)
	if !ok {
		return false
	}
	for _, x := range fs {
		if x != "" {
			return false
		}
	}
	return true
}

// NewServiceNow returns the full create body of the ServiceNow record for
// a StackFlow record: every key that flows to ServiceNow, converted (empty
// values left out), close_code/close_notes when the record is created
// resolved or closed, plus correlation_id (sfID) and correlation_display
// "StackFlow". sf is ProjectStackFlow of the record.
func (t *TableMap) NewServiceNow(sf Canon, sfID string, r Resolver) (servicenow.Fields, error) {
	if strings.TrimSpace(sfID) == "" {
		return nil, fmt.Errorf("mapping: %s: empty StackFlow id", t.table)
	}
	values := Canon{}
	for _, k := range t.keys {
		if !k.toSN {
			continue
		}
		v, err := k.toServiceNow(sf[k.info.Name], r)
		if err != nil {
			return nil, err
		}
		if v == "" || (k.sn.kind == snMapper && isEmptySet(k.sn.fields, v)) {
			continue
		}
		values[k.info.Name] = v
	}
	out, err := t.ServiceNowBody(values, nil, r)
	if err != nil {
		return nil, err
	}
	out["correlation_id"] = sfID
	out["correlation_display"] = correlationName
	return out, nil
}

// Converged returns, sorted, the synced keys whose two sides disagree: for
// a key that flows both ways, neither side's value converts to the other's;
// for a one-way key, the source's converted value differs from the
// target's. (A fill_if_empty conflict that kept both values is reported.)
func (t *TableMap) Converged(sn, sf Canon, r Resolver) ([]string, error) {
	var out []string
	for _, k := range t.keys {
		if !k.active() {
			continue
		}
		same, err := k.same(sn[k.info.Name], sf[k.info.Name], r)
		if err != nil {
			return nil, err
		}
		if !same {
			out = append(out, k.info.Name)
		}
	}
	return out, nil
}

// same reports whether the two sides' values of k agree in the key's
// flows: the ServiceNow value converts to the StackFlow one, or (for a key
// that flows to ServiceNow) the StackFlow value converts to the ServiceNow
// one.
func (k *key) same(snv, sfv string, r Resolver) (bool, error) {
	if k.toSF {
		c, err := k.toStackFlow(snv, r)
		if err != nil {
			return false, err
		}
		if c == sfv {
			return true, nil
		}
	}
	if k.toSN {
		c, err := k.toServiceNow(sfv, r)
		if err != nil {
			return false, err
		}
		if c == snv {
			return true, nil
		}
	}
	return false, nil
}
