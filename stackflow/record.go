package stackflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Common holds the fields every StackFlow record has. The typed records
// (Incident, CI, ...) embed it. A field StackFlow sends as null is the zero
// value here ("" for strings, nil for DeletedAt).
type Common struct {
	// ID is StackFlow's own opaque id, prefixed per module (inc_, ci_, ...).
	ID string `json:"id"`
	// Number is the human number (SF-INC-1042); CIs and relationships have none.
	Number string `json:"number,omitempty"`
	// Source is stackflow for native records, servicenow for imported ones.
	Source string `json:"source"`
	// ExternalID is the ServiceNow sys_id: the sync key, unique per module
	// and source among live records.
	ExternalID string `json:"external_id"`
	// ExternalNumber is the ServiceNow number, e.g. INC0010001.
	ExternalNumber string `json:"external_number"`
	// Version starts at 1 and grows by one on every write that changes the
	// record; pass it as UpdateOptions.IfVersion for optimistic concurrency.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// UpdatedBy is the user or integration that made the last write.
	UpdatedBy string `json:"updated_by"`
	// DeletedAt is set once the record was soft-deleted.
	DeletedAt *time.Time `json:"deleted_at"`
	// Attributes are free-form custom fields. Numbers in them are
	// json.Number, so that they round-trip exactly.
	Attributes map[string]any `json:"attributes"`
}

// IsDeleted reports whether the record was soft-deleted.
func (c Common) IsDeleted() bool { return c.DeletedAt != nil }

func (c Common) recordID() string { return c.ID }

// identified is implemented by every record type the services decode.
type identified interface{ recordID() string }

// Record is a record of any module as StackFlow sent it: field name to
// value, with strings, bools, json.Number for numbers (exact), nil for
// null, map[string]any for objects (attributes) and []any for arrays. The
// accessors read the common fields and convert values.
type Record map[string]any

// Get returns a field's value and whether the record has the field.
func (r Record) Get(field string) (any, bool) {
	v, ok := r[field]
	return v, ok
}

// String returns a field as text: a string as it is, a number or boolean in
// its JSON form, an object or array as JSON, and "" for null or a missing
// field.
func (r Record) String(field string) string {
	switch v := r[field].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}

// Int returns a numeric field as an integer; ok is false when the field is
// missing, null, not a number or not whole.
func (r Record) Int(field string) (n int64, ok bool) {
	switch v := r[field].(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, true
		}
		if f, err := v.Float64(); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	case float64:
		if v == float64(int64(v)) {
			return int64(v), true
		}
	case int:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

// Bool returns a boolean field; ok is false when it is missing, null or
// not a boolean.
func (r Record) Bool(field string) (b, ok bool) {
	b, ok = r[field].(bool)
	return b, ok
}

// Time returns a timestamp field; ok is false when it is missing, null or
// not an RFC 3339 time.
func (r Record) Time(field string) (time.Time, bool) {
	switch v := r[field].(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, false
		}
		return t.UTC(), true
	case time.Time:
		return v.UTC(), true
	}
	return time.Time{}, false
}

// ID returns the record's id.
func (r Record) ID() string { return r.String("id") }

func (r Record) recordID() string { return r.ID() }

// Number returns the record's human number ("" on CIs and relationships).
func (r Record) Number() string { return r.String("number") }

// Source returns the record's source.
func (r Record) Source() string { return r.String("source") }

// ExternalID returns the record's external_id (the ServiceNow sys_id).
func (r Record) ExternalID() string { return r.String("external_id") }

// ExternalNumber returns the record's external_number.
func (r Record) ExternalNumber() string { return r.String("external_number") }

// Version returns the record's version (0 when missing).
func (r Record) Version() int64 {
	n, _ := r.Int("version")
	return n
}

// CreatedAt returns when the record was created.
func (r Record) CreatedAt() time.Time {
	t, _ := r.Time("created_at")
	return t
}

// UpdatedAt returns when the record was last written.
func (r Record) UpdatedAt() time.Time {
	t, _ := r.Time("updated_at")
	return t
}

// UpdatedBy returns who made the last write.
func (r Record) UpdatedBy() string { return r.String("updated_by") }

// DeletedAt returns when the record was soft-deleted, or nil.
func (r Record) DeletedAt() *time.Time {
	t, ok := r.Time("deleted_at")
	if !ok {
		return nil
	}
	return &t
}

// IsDeleted reports whether the record was soft-deleted.
func (r Record) IsDeleted() bool { return r.DeletedAt() != nil }

// Attributes returns the record's custom fields (nil when it has none).
func (r Record) Attributes() map[string]any {
	a, _ := r["attributes"].(map[string]any)
	return a
}

// Decode converts the record into a typed record such as *Incident.
func (r Record) Decode(v any) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("stackflow: encoding the record: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("stackflow: decoding the record into %T: %w", v, err)
	}
	return nil
}

// Fields is the body of a create, update (PATCH) or bulk upsert sent
// through a RecordsService: field name to value, with the API's JSON names
// (title, priority, external_id, attributes, ...). nil sets a field to
// null, which clears it; a field left out is not changed by an update.
// time.Time and *time.Time values are sent in UTC with milliseconds, like
// the *time.Time fields of the typed inputs.
type Fields map[string]any

func (f Fields) upsertKey() (source, externalID string) {
	s, _ := f["source"].(string)
	e, _ := f["external_id"].(string)
	return s, e
}

func (f Fields) encode() ([]byte, error) {
	if f == nil {
		return nil, &InvalidInputError{Field: "body", Reason: "the Fields map is nil (send Fields{} for no fields)"}
	}
	m := map[string]any(f)
	cloned := false
	for k, v := range f {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x == nil {
				continue
			}
			t = *x
		default:
			continue
		}
		if !cloned {
			m, cloned = maps.Clone(m), true
		}
		m[k] = t.UTC().Format(TimeLayout)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, &InvalidInputError{Field: "body", Reason: "cannot be encoded as JSON: " + err.Error()}
	}
	return b, nil
}

// input is what the services send: Fields or a typed *Input struct.
type input interface {
	upsertKey() (source, externalID string)
	encode() ([]byte, error)
}

// Ptr returns a pointer to v, for the optional fields of the typed inputs:
// stackflow.IncidentInput{Title: stackflow.Ptr("Disk full"), Priority: stackflow.Ptr(2)}.
func Ptr[T any](v T) *T { return &v }

// Level is an impact or urgency: 1 high, 2 medium, 3 low; 0 when not set.
type Level int

// The levels.
const (
	LevelHigh   Level = 1
	LevelMedium Level = 2
	LevelLow    Level = 3
)

// encodeInput marshals a typed input (a struct with json tags whose
// optional fields are pointers with omitempty) and sets the fields named in
// clear to null. It refuses a field that is both set and cleared, and a
// name in clear that is not a field of the input.
func encodeInput(v any, name string, clear []string) ([]byte, error) {
	b, err := json.Marshal(utcTimes(v))
	if err != nil {
		return nil, &InvalidInputError{Field: "body", Reason: "cannot be encoded as JSON: " + err.Error()}
	}
	if len(clear) == 0 {
		return b, nil
	}
	known := jsonFieldNames(reflect.TypeOf(v))
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &InvalidInputError{Field: "body", Reason: "does not encode as a JSON object"}
	}
	for _, f := range clear {
		if !slices.Contains(known, f) {
			return nil, &InvalidInputError{Field: "Clear", Reason: fmt.Sprintf("%q is not a field of %s (want one of %s)", f, name, strings.Join(known, ", "))}
		}
		if _, set := m[f]; set {
			return nil, &InvalidInputError{Field: "Clear", Reason: fmt.Sprintf("%q is both set and cleared", f)}
		}
		m[f] = json.RawMessage("null")
	}
	return json.Marshal(m)
}

var timePtrType = reflect.TypeOf((*time.Time)(nil))

// utcTimes returns a copy of the struct v whose *time.Time fields are in
// UTC, cut to milliseconds, as StackFlow stores them.
func utcTimes(v any) any {
	src := reflect.ValueOf(v)
	if src.Kind() != reflect.Struct {
		return v
	}
	cp := reflect.New(src.Type()).Elem()
	cp.Set(src)
	for i := 0; i < cp.NumField(); i++ {
		f := cp.Field(i)
		if f.Type() == timePtrType && !f.IsNil() && f.CanSet() {
			t := f.Interface().(*time.Time).UTC().Truncate(time.Millisecond)
			f.Set(reflect.ValueOf(&t))
		}
	}
	return cp.Interface()
}

var fieldNames sync.Map // reflect.Type → []string

// jsonFieldNames lists the JSON names of a struct type's fields.
func jsonFieldNames(t reflect.Type) []string {
	if v, ok := fieldNames.Load(t); ok {
		return v.([]string)
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
	}
	fieldNames.Store(t, names)
	return names
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
