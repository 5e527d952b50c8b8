package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stackflow-tech/snowsync/servicenow"
)

// key is one logical key of a table, ready to run.
type key struct {
	table  string
	module string
	info   KeyInfo
	sn     snSpec
	sf     sfSpec
	fwd    map[string]string // value map, ServiceNow → StackFlow (nil: none)
	rev    map[string]string // value map, StackFlow → ServiceNow
	tr     string            // transform
	mapper FieldMapper
	toSF   bool // values flow ServiceNow → StackFlow
	toSN   bool // values flow StackFlow → ServiceNow
}

// active reports whether the key is synced at all.
func (k *key) active() bool { return k.toSF || k.toSN }

func (k *key) valueErr(side Side, field, value, reason, fix string) *ValueError {
	return &ValueError{Table: k.table, Key: k.info.Name, Field: field, Side: side, Value: value, Reason: reason, Fix: fix}
}

func (k *key) missingSN(field string) error {
	return k.valueErr(ServiceNow, field, "", "is missing from the record",
		"read the record with the fields of TableMap.ServiceNowFields(); a field ServiceNow leaves out does not exist or is hidden by an ACL")
}

// projectSN reads the key's canonical ServiceNow value from rec.
func (k *key) projectSN(rec servicenow.Record) (string, error) {
	switch k.sn.kind {
	case snMapper:
		fs := make(FieldSet, len(k.sn.fields))
		for _, f := range k.sn.fields {
			v, ok := rec[f]
			if !ok {
				return "", k.missingSN(f)
			}
			fs[f] = normText(v.Value)
		}
		return encodeSet(k.sn.fields, fs), nil
	case snDotRef:
		walk := k.sn.field + "." + k.sn.attr
		w, ok := rec[walk]
		if !ok {
			return "", k.missingSN(walk)
		}
		ref, ok := rec[k.sn.field]
		if !ok {
			return "", k.missingSN(k.sn.field)
		}
		v := normLine(w.Value)
		if v == "" && strings.TrimSpace(ref.Value) != "" && k.toSN {
			// Mapping it to "" would clear the other side, and the clear
			// would flow back and drop the reference here.
			return "", k.valueErr(ServiceNow, walk, ref.Value,
				fmt.Sprintf("references a %s record whose %s is empty, so it cannot be matched on StackFlow", k.sn.refTable, k.sn.attr),
				fmt.Sprintf("fill %s on that %s record, or match by another field (Config.PeopleBy / Config.GroupsBy)", k.sn.attr, k.sn.refTable))
		}
		return v, nil
	case snRelType:
		ref, ok := rec[k.sn.field]
		if !ok {
			return "", k.missingSN(k.sn.field)
		}
		id := strings.TrimSpace(ref.Value)
		if name := normLine(rec[k.sn.field+".name"].Value); name != "" {
			return name, nil
		}
		if id == "" {
			return "", nil
		}
		if name, ok := knownRelTypes[id]; ok {
			return name, nil
		}
		return "", k.valueErr(ServiceNow, k.sn.field, id, "is not a well-known cmdb_rel_type and the record has no type.name",
			"read the record with the fields of TableMap.ServiceNowFields() (they include type.name)")
	}
	v, ok := rec[k.sn.field]
	if !ok {
		return "", k.missingSN(k.sn.field)
	}
	return k.canonSN(v.Value, k.sn.field)
}

// canonSN normalises a ServiceNow-side value of the key.
func (k *key) canonSN(v, field string) (string, error) {
	switch k.sn.kind {
	case snText:
		return normText(v), nil
	case snLine, snChoice, snDotRef, snRelType:
		return normLine(v), nil
	case snRef:
		return strings.TrimSpace(v), nil
	case snInt:
		c, ok := canonInt(v)
		if !ok {
			return "", k.valueErr(ServiceNow, field, v, "is not an integer", "")
		}
		return c, nil
	case snBool:
		c, ok := canonBool(v)
		if !ok {
			return "", k.valueErr(ServiceNow, field, v, `is not a boolean ("true" or "false")`, "")
		}
		return c, nil
	case snTime:
		t, err := servicenow.ParseTime(strings.TrimSpace(v))
		if err != nil {
			return "", k.valueErr(ServiceNow, field, v, "is not a ServiceNow date-time ("+servicenow.TimeLayout+", UTC)", "")
		}
		return t.String(), nil
	case snDate:
		d, err := servicenow.ParseDate(strings.TrimSpace(v))
		if err != nil {
			return "", k.valueErr(ServiceNow, field, v, "is not a ServiceNow date ("+servicenow.DateLayout+")", "")
		}
		return d.String(), nil
	case snMapper:
		fs, ok := decodeSet(k.sn.fields, v)
		if !ok {
			return "", k.valueErr(ServiceNow, field, v, "is not an encoded field set of "+strings.Join(k.sn.fields, ", "), "")
		}
		for f, x := range fs {
			fs[f] = normText(x)
		}
		return encodeSet(k.sn.fields, fs), nil
	}
	return normText(v), nil
}

// lookupSF returns the raw value of a StackFlow field, reaching into
// attributes for attributes.<key>.
func lookupSF(rec map[string]any, field string) (any, bool) {
	if attr, ok := strings.CutPrefix(field, "attributes."); ok {
		attrs, _ := rec["attributes"].(map[string]any)
		v, ok := attrs[attr]
		return v, ok
	}
	v, ok := rec[field]
	return v, ok
}

func (k *key) missingSF(field string) error {
	return k.valueErr(StackFlow, field, "", "is missing from the record",
		"pass the whole record as StackFlow returns it (every field is always present)")
}

// projectSF reads the key's canonical StackFlow value from rec.
func (k *key) projectSF(rec map[string]any) (string, error) {
	if k.sf.kind == sfMapper {
		fs := make(FieldSet, len(k.sf.subs))
		for _, sub := range k.sf.subs {
			raw, ok := lookupSF(rec, sub.field)
			if !ok && sub.kind != sfAttr {
				return "", k.missingSF(sub.field)
			}
			c, err := k.canonSFAny(sub, raw)
			if err != nil {
				return "", err
			}
			fs[sub.field] = c
		}
		return encodeSet(k.info.StackFlowFields, fs), nil
	}
	raw, ok := lookupSF(rec, k.sf.field)
	if !ok && k.sf.kind != sfAttr {
		return "", k.missingSF(k.sf.field)
	}
	return k.canonSFAny(k.sf, raw)
}

// canonSFAny normalises a StackFlow JSON value of field spec s.
func (k *key) canonSFAny(s sfSpec, raw any) (string, error) {
	bad := func(want string) error {
		txt, _ := anyString(raw)
		if txt == "" {
			txt = fmt.Sprintf("%v", raw)
		}
		return k.valueErr(StackFlow, s.field, txt, "is not "+want, "")
	}
	switch s.kind {
	case sfBool:
		switch t := raw.(type) {
		case nil:
			return "false", nil
		case bool:
			return strconv.FormatBool(t), nil
		case string:
			if c, ok := canonBool(t); ok {
				return c, nil
			}
		}
		return "", bad("a boolean")
	case sfInt:
		switch raw.(type) {
		case bool, map[string]any, []any:
			return "", bad("an integer")
		}
		txt, ok := anyString(raw) // numbers, and strings holding integers
		if !ok {
			return "", bad("an integer")
		}
		return k.canonSF(s, txt)
	case sfTime:
		if t, ok := raw.(time.Time); ok {
			txt, _ := anyString(t)
			return txt, nil
		}
		if raw != nil {
			if _, ok := raw.(string); !ok {
				return "", bad("an RFC 3339 time")
			}
		}
	case sfAttr:
		txt, ok := anyString(raw)
		if !ok {
			return "", bad("a JSON value")
		}
		return k.canonSF(s, txt)
	default:
		if raw != nil {
			if _, ok := raw.(string); !ok {
				return "", bad("a string")
			}
		}
	}
	txt, ok := anyString(raw)
	if !ok {
		return "", bad("a string")
	}
	return k.canonSF(s, txt)
}

// canonSF normalises a StackFlow-side value (as text) of field spec s to
// what StackFlow stores, checking it fits.
func (k *key) canonSF(s sfSpec, v string) (string, error) {
	switch s.kind {
	case sfTitle:
		return normTitle(v), nil
	case sfName, sfShort, sfIdent:
		return normLine(v), nil
	case sfText:
		return normText(v), nil
	case sfEnum:
		v = normLine(v)
		if v == "" {
			return "", nil
		}
		for _, e := range s.enum {
			if v == e {
				return v, nil
			}
		}
		return "", k.valueErr(StackFlow, s.field, v, "is not one of "+strings.Join(s.enum, ", "),
			FixFieldMapping+" (value_map of "+k.table+"."+k.sn.field+")")
	case sfInt:
		c, ok := canonInt(v)
		if !ok {
			return "", k.valueErr(StackFlow, s.field, v, "is not an integer", "")
		}
		if c != "" && (s.min != 0 || s.max != 0) {
			n, _ := strconv.ParseInt(c, 10, 64)
			if n < s.min || n > s.max {
				return "", k.valueErr(StackFlow, s.field, c, fmt.Sprintf("is outside %d..%d", s.min, s.max), FixFieldMapping)
			}
		}
		return c, nil
	case sfBool:
		c, ok := canonBool(v)
		if !ok {
			return "", k.valueErr(StackFlow, s.field, v, `is not a boolean ("true" or "false")`, "")
		}
		return c, nil
	case sfTime:
		c, ok := parseSFTime(v)
		if !ok {
			return "", k.valueErr(StackFlow, s.field, v, "is not an RFC 3339 date-time", "")
		}
		return c, nil
	case sfCIRef, sfCIID:
		return strings.TrimSpace(v), nil
	case sfAttr:
		switch s.attrType {
		case TransformInt:
			c, ok := canonInt(v)
			if !ok {
				return "", k.valueErr(StackFlow, s.field, v, "is not an integer", "")
			}
			return c, nil
		case TransformBool:
			if strings.TrimSpace(v) == "" {
				return "", nil
			}
			c, ok := canonBool(v)
			if !ok {
				return "", k.valueErr(StackFlow, s.field, v, `is not a boolean ("true" or "false")`, "")
			}
			return c, nil
		case TransformDateTime:
			c, ok := parseSFTime(v)
			if !ok {
				return "", k.valueErr(StackFlow, s.field, v, "is not an RFC 3339 date-time", "")
			}
			return c, nil
		case TransformDate:
			v = strings.TrimSpace(v)
			if v == "" {
				return "", nil
			}
			if _, err := time.Parse(servicenow.DateLayout, v); err != nil {
				return "", k.valueErr(StackFlow, s.field, v, "is not a date ("+servicenow.DateLayout+")", "")
			}
			return v, nil
		case TransformTrim:
			return normLine(v), nil
		}
		return normText(v), nil
	case sfMapper:
		fs, ok := decodeSet(k.info.StackFlowFields, v)
		if !ok {
			return "", k.valueErr(StackFlow, "", v, "is not an encoded field set of "+strings.Join(k.info.StackFlowFields, ", "), "")
		}
		out := make(FieldSet, len(s.subs))
		for _, sub := range s.subs {
			c, err := k.canonSF(sub, fs[sub.field])
			if err != nil {
				return "", err
			}
			out[sub.field] = c
		}
		return encodeSet(k.info.StackFlowFields, out), nil
	}
	return normText(v), nil
}

// applyTransform applies a string transform on the way to StackFlow.
func applyTransform(tr, v string) string {
	switch tr {
	case TransformLower:
		return strings.ToLower(v)
	case TransformUpper:
		return strings.ToUpper(v)
	case TransformTrim:
		return strings.TrimSpace(v)
	}
	return v
}

func (k *key) refErr(value string, err error) error {
	var ve *ValueError
	if errors.As(err, &ve) {
		return err
	}
	return &ReferenceError{Table: k.table, Key: k.info.Name, Value: value, Err: err}
}

// toStackFlow converts a canonical ServiceNow value to the canonical
// StackFlow value.
func (k *key) toStackFlow(v string, r Resolver) (string, error) {
	if k.mapper != nil {
		in, ok := decodeSet(k.sn.fields, v)
		if !ok {
			return "", k.valueErr(ServiceNow, "", v, "is not an encoded field set of "+strings.Join(k.sn.fields, ", "), "")
		}
		out, err := k.mapper.ToStackFlow(in)
		if err != nil {
			return "", fmt.Errorf("mapping: %s.%s: mapper ToStackFlow: %w", k.table, k.info.Name, err)
		}
		fs := make(FieldSet, len(k.info.StackFlowFields))
		for _, f := range k.info.StackFlowFields {
			fs[f] = out[f]
		}
		return k.canonSF(k.sf, encodeSet(k.info.StackFlowFields, fs))
	}
	v = applyTransform(k.tr, v)
	if k.fwd != nil {
		out, ok := k.fwd[v]
		if !ok {
			if v == "" {
				return "", nil
			}
			return "", k.valueErr(ServiceNow, k.sn.field, v, "is not in the value map",
				FixFieldMapping+" (value_map of "+k.table+"."+k.sn.field+")")
		}
		return k.canonSF(k.sf, out)
	}
	if v == "" {
		if k.sf.kind == sfTitle {
			// StackFlow requires a title; ServiceNow lets short_description
			// be empty. The placeholder maps back to empty, so it is never
			// written into ServiceNow.
			return NoTitle, nil
		}
		return k.canonSF(k.sf, "")
	}
	switch {
	case k.sn.kind == snTime && (k.sf.kind == sfTime || k.sf.kind == sfAttr):
		t, err := servicenow.ParseTime(v)
		if err != nil {
			return "", k.valueErr(ServiceNow, k.sn.field, v, "is not a ServiceNow date-time", "")
		}
		v = t.UTC().Format(sfTimeLayout)
		if k.sf.kind == sfAttr && k.sf.attrType == TransformDate {
			v = t.UTC().Format(servicenow.DateLayout)
		}
	case k.sn.kind == snDate && k.sf.kind == sfTime:
		d, err := servicenow.ParseDate(v)
		if err != nil {
			return "", k.valueErr(ServiceNow, k.sn.field, v, "is not a ServiceNow date", "")
		}
		v = d.UTC().Format(sfTimeLayout)
	case k.sn.kind == snRef && (k.sf.kind == sfCIRef || k.sf.kind == sfCIID):
		if r == nil {
			return "", k.refErr(v, errors.New("no Resolver given"))
		}
		id, err := r.StackFlowID("cmdb_ci", v)
		if err != nil {
			return "", k.refErr(v, err)
		}
		if id == "" {
			return "", k.refErr(v, fmt.Errorf("%w: no StackFlow CI is paired with cmdb_ci %s", ErrUnresolved, v))
		}
		v = id
	}
	return k.canonSF(k.sf, v)
}

// toServiceNow converts a canonical StackFlow value to the canonical
// ServiceNow value.
func (k *key) toServiceNow(v string, r Resolver) (string, error) {
	if k.mapper != nil {
		in, ok := decodeSet(k.info.StackFlowFields, v)
		if !ok {
			return "", k.valueErr(StackFlow, "", v, "is not an encoded field set of "+strings.Join(k.info.StackFlowFields, ", "), "")
		}
		out, err := k.mapper.ToServiceNow(in)
		if err != nil {
			return "", fmt.Errorf("mapping: %s.%s: mapper ToServiceNow: %w", k.table, k.info.Name, err)
		}
		fs := make(FieldSet, len(k.sn.fields))
		for _, f := range k.sn.fields {
			fs[f] = out[f]
		}
		return k.canonSN(encodeSet(k.sn.fields, fs), "")
	}
	if k.tr == TransformTrim {
		v = strings.TrimSpace(v)
	}
	if k.rev != nil {
		out, ok := k.rev[v]
		if !ok {
			if v == "" {
				return "", nil
			}
			return "", k.valueErr(StackFlow, k.sf.field, v, "has no ServiceNow value in the value map",
				"add it to reverse_value_map (or value_map) in Integration Hub → ServiceNow → Field Mapping")
		}
		return k.canonSN(out, k.sn.field)
	}
	if k.sf.kind == sfTitle && v == NoTitle {
		v = ""
	}
	if v == "" {
		return k.canonSN("", k.sn.field)
	}
	switch {
	case (k.sf.kind == sfTime || (k.sf.kind == sfAttr && k.sf.attrType == TransformDateTime)) && k.sn.kind == snTime:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", k.valueErr(StackFlow, k.sf.field, v, "is not an RFC 3339 date-time", "")
		}
		v = servicenow.NewTime(t).String()
	case k.sf.kind == sfTime && k.sn.kind == snDate:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", k.valueErr(StackFlow, k.sf.field, v, "is not an RFC 3339 date-time", "")
		}
		v = t.UTC().Format(servicenow.DateLayout)
	case k.sf.kind == sfAttr && k.sf.attrType == TransformDate && k.sn.kind == snTime:
		d, err := time.Parse(servicenow.DateLayout, v)
		if err != nil {
			return "", k.valueErr(StackFlow, k.sf.field, v, "is not a date", "")
		}
		v = servicenow.NewTime(d).String()
	case (k.sf.kind == sfCIRef || k.sf.kind == sfCIID) && k.sn.kind == snRef:
		if r == nil {
			return "", k.refErr(v, errors.New("no Resolver given"))
		}
		id, err := r.ServiceNowID(ModCMDBCIs, v)
		if err != nil {
			return "", k.refErr(v, err)
		}
		if id == "" {
			return "", k.refErr(v, fmt.Errorf("%w: no cmdb_ci is paired with StackFlow CI %s", ErrUnresolved, v))
		}
		v = id
	}
	return k.canonSN(v, k.sn.field)
}

// sfJSON returns the JSON value of one StackFlow field for a request body.
func (k *key) sfJSON(s sfSpec, v string) (any, error) {
	required := func() error {
		return k.valueErr(StackFlow, s.field, v, "is empty, and StackFlow requires a value", "")
	}
	tooLong := func(max int) error {
		return k.valueErr(StackFlow, s.field, v, fmt.Sprintf("is longer than StackFlow's %d characters", max), "")
	}
	switch s.kind {
	case sfTitle, sfIdent:
		if v == "" {
			return nil, required()
		}
		return v, nil
	case sfName:
		if v == "" {
			return nil, required()
		}
		if utf8.RuneCountInString(v) > maxStackFlowShort {
			return nil, tooLong(maxStackFlowShort)
		}
		return v, nil
	case sfShort:
		if v == "" {
			return nil, nil
		}
		if utf8.RuneCountInString(v) > maxStackFlowShort {
			return nil, tooLong(maxStackFlowShort)
		}
		return v, nil
	case sfText:
		if v == "" {
			return nil, nil
		}
		if utf8.RuneCountInString(v) > maxStackFlowText {
			return nil, tooLong(maxStackFlowText)
		}
		return v, nil
	case sfEnum:
		if v == "" {
			if s.nullable {
				return nil, nil
			}
			return nil, required()
		}
		return v, nil
	case sfInt:
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, k.valueErr(StackFlow, s.field, v, "is not an integer", "")
		}
		return n, nil
	case sfBool:
		return v == "true", nil
	case sfTime, sfCIRef:
		if v == "" {
			return nil, nil
		}
		return v, nil
	case sfCIID:
		if v == "" {
			return nil, required()
		}
		return v, nil
	case sfAttr:
		if v == "" {
			return nil, nil
		}
		switch s.attrType {
		case TransformInt:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, k.valueErr(StackFlow, s.field, v, "is not an integer", "")
			}
			return n, nil
		case TransformBool:
			return v == "true", nil
		}
		return v, nil
	}
	return v, nil
}

// snWrite puts the ServiceNow fields for canonical value v into out.
func (k *key) snWrite(v string, r Resolver, out servicenow.Fields) error {
	switch k.sn.kind {
	case snMapper:
		fs, ok := decodeSet(k.sn.fields, v)
		if !ok {
			return k.valueErr(ServiceNow, "", v, "is not an encoded field set of "+strings.Join(k.sn.fields, ", "), "")
		}
		for _, f := range k.sn.fields {
			out[f] = fs[f]
		}
		return nil
	case snDotRef, snRelType:
		if v == "" {
			out[k.sn.field] = ""
			return nil
		}
		table, field := k.sn.refTable, k.sn.attr
		if k.sn.kind == snRelType {
			if id, ok := relTypeIDs[v]; ok {
				out[k.sn.field] = id
				return nil
			}
			field = "name"
		}
		if r == nil {
			return k.refErr(v, errors.New("no Resolver given"))
		}
		id, err := r.LookupServiceNow(table, field, v)
		if err != nil {
			return k.refErr(v, err)
		}
		if id == "" {
			return k.valueErr(StackFlow, k.info.Name, v, fmt.Sprintf("matches no %s record by %s in ServiceNow", table, field),
				fmt.Sprintf("create the %s record in ServiceNow or correct the value in StackFlow", table))
		}
		out[k.sn.field] = id
		return nil
	}
	out[k.sn.field] = v
	return nil
}
