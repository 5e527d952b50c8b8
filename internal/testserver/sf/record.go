package sf

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// record is one stored record.
type record struct {
	mod       *moduleSpec
	id        string
	number    string
	vals      []any  // writable fields by position in mod.fields, normalised; nil = null
	attrsJSON []byte // attributes as canonical JSON ("{}" when none)
	version   int64
	createdAt time.Time
	updatedAt time.Time
	updatedBy string
	deletedAt time.Time // zero while live
	key       string    // uniqueness key, "" without external_id
}

func (r *record) live() bool { return r.deletedAt.IsZero() }

func (r *record) source() string { s, _ := r.vals[idxSource].(string); return s }
func (r *record) extID() string  { s, _ := r.vals[idxExtID].(string); return s }

// uniqueKey is the (source, external_id) key of vals, "" without external_id.
func uniqueKey(vals []any) string {
	ext, _ := vals[idxExtID].(string)
	if ext == "" {
		return ""
	}
	src, _ := vals[idxSource].(string)
	return src + "\x00" + ext
}

// change is a parsed, normalised request body for one record.
type change struct {
	vals       map[string]any // fields present in the body (nil value = clear)
	attrs      map[string]any // attributes given in the body
	attrsGiven bool
}

// parseChange checks a record body against m. Every problem is reported.
func (m *moduleSpec) parseChange(body map[string]any) (change, []Detail) {
	ch := change{vals: make(map[string]any, len(body))}
	var details []Detail
	for name, v := range body {
		if name == "attributes" {
			ch.attrsGiven = true
			switch a := v.(type) {
			case nil:
			case map[string]any:
				for k := range a {
					if k == "" || utf8.RuneCountInString(k) > maxAttrKey {
						details = append(details, Detail{Field: "attributes", Message: "keys must be 1..128 characters"})
						break
					}
				}
				ch.attrs = a
			default:
				details = append(details, Detail{Field: "attributes", Message: "must be an object"})
			}
			continue
		}
		f := m.byName[name]
		if f == nil {
			msg := "unknown field"
			if readOnlyFields[name] {
				msg = "read-only field"
			}
			details = append(details, Detail{Field: name, Message: msg})
			continue
		}
		nv, msg := f.normalize(v)
		if msg != "" {
			details = append(details, Detail{Field: name, Message: msg})
			continue
		}
		ch.vals[name] = nv
	}
	if len(details) > 1 {
		slices.SortFunc(details, func(a, b Detail) int { return strings.Compare(a.Field, b.Field) })
	}
	return ch, details
}

// encodeAttrs checks the size of attrs and encodes them.
func encodeAttrs(attrs map[string]any) ([]byte, *Detail) {
	if len(attrs) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return nil, &Detail{Field: "attributes", Message: "must hold JSON values only"}
	}
	if len(b) > maxAttrBytes {
		return nil, &Detail{Field: "attributes", Message: "must be at most 64 KiB once encoded"}
	}
	return b, nil
}

// mergeAttrs applies a top-level merge patch to base.
func mergeAttrs(base, patch map[string]any, given bool) map[string]any {
	if !given {
		return base
	}
	if patch == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(base)+len(patch))
	maps.Copy(out, base)
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// decodeAttrs decodes stored attributes (which json.Marshal produced, so
// decoding cannot fail) into a fresh map.
func decodeAttrs(b []byte) map[string]any {
	if len(b) > 2 {
		if v, err := decodeJSON(b); err == nil {
			if m, ok := v.(map[string]any); ok {
				return m
			}
		}
	}
	return map[string]any{}
}

// appendRecord writes r in its wire form.
func appendRecord(b []byte, r *record) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, r.id)
	if r.mod.numberPrefix != "" {
		b = append(b, `,"number":`...)
		b = appendString(b, r.number)
	}
	for i, f := range r.mod.fields {
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = appendValue(b, r.vals[i])
	}
	b = append(b, `,"attributes":`...)
	if len(r.attrsJSON) == 0 {
		b = append(b, '{', '}')
	} else {
		b = append(b, r.attrsJSON...)
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, r.version, 10)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, r.createdAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, r.updatedAt)
	b = append(b, `,"updated_by":`...)
	b = appendString(b, r.updatedBy)
	b = append(b, `,"deleted_at":`...)
	b = appendTime(b, r.deletedAt)
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Record is a stored record as tests inspect it.
type Record struct {
	Module         string // module identifier, e.g. incidents
	ID             string
	Number         string // "" on CIs and relationships
	Source         string
	ExternalID     string // "" when null
	ExternalNumber string // "" when null
	// Fields holds the module's own fields (not the common ones above) in
	// their stored form: string, int64, bool or nil; timestamps as
	// RFC 3339 strings with milliseconds.
	Fields     map[string]any
	Attributes map[string]any // custom fields; numbers are json.Number
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	UpdatedBy  string
	DeletedAt  time.Time // zero while the record is live
}

// Deleted reports whether the record was soft-deleted.
func (r Record) Deleted() bool { return !r.DeletedAt.IsZero() }

// MarshalJSON encodes the record exactly as the API serves it.
func (r Record) MarshalJSON() ([]byte, error) {
	m, err := lookupModule(r.Module)
	if err != nil {
		return nil, err
	}
	rec := &record{
		mod: m, id: r.ID, number: r.Number, vals: make([]any, len(m.fields)), version: r.Version,
		createdAt: r.CreatedAt, updatedAt: r.UpdatedAt, updatedBy: r.UpdatedBy, deletedAt: r.DeletedAt,
	}
	for name, v := range r.Fields {
		if i, ok := m.index[name]; ok && i >= numCommon {
			rec.vals[i] = v
		}
	}
	rec.vals[idxSource] = r.Source
	if r.ExternalID != "" {
		rec.vals[idxExtID] = r.ExternalID
	}
	if r.ExternalNumber != "" {
		rec.vals[idxExtNumber] = r.ExternalNumber
	}
	attrs, d := encodeAttrs(r.Attributes)
	if d != nil {
		return nil, &APIError{Status: 422, Code: CodeValidationFailed, Message: d.Message, Details: []Detail{*d}}
	}
	rec.attrsJSON = attrs
	return appendRecord(nil, rec), nil
}

// export copies r for a test.
func (r *record) export() Record {
	out := Record{
		Module: r.mod.id, ID: r.id, Number: r.number,
		Source: r.source(), ExternalID: r.extID(), Fields: make(map[string]any, len(r.mod.fields)-numCommon),
		Attributes: decodeAttrs(r.attrsJSON), // a fresh copy: a test cannot alter the stored values
		Version:    r.version, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, UpdatedBy: r.updatedBy, DeletedAt: r.deletedAt,
	}
	out.ExternalNumber, _ = r.vals[idxExtNumber].(string)
	for i, f := range r.mod.fields[numCommon:] {
		out.Fields[f.name] = r.vals[numCommon+i]
	}
	return out
}
