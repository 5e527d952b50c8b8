package servicenow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TimeLayout is how ServiceNow writes date-times in raw values and reads
// them in encoded queries: always UTC, no zone, whole seconds.
const TimeLayout = "2006-01-02 15:04:05"

// DateLayout is how ServiceNow writes dates (glide_date).
const DateLayout = "2006-01-02"

// Time is a ServiceNow date-time (glide_date_time). Its JSON form is a
// string in TimeLayout, in UTC; the empty string is the zero Time. It also
// reads the {"value": …, "display_value": …} object of
// sysparm_display_value=all, keeping the raw value.
type Time struct {
	time.Time
}

// NewTime returns t truncated to whole seconds, in UTC.
func NewTime(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.UTC().Truncate(time.Second)}
}

// ParseTime parses a raw ServiceNow date-time ("2006-01-02 15:04:05", UTC).
// The empty string gives the zero Time and no error.
func ParseTime(s string) (Time, error) {
	if s == "" {
		return Time{}, nil
	}
	t, err := parseTimeFast(s)
	if err != nil {
		return Time{}, &ValueError{Kind: "date-time", Value: s, Want: TimeLayout + " (UTC)"}
	}
	return Time{t}, nil
}

// parseTimeFast parses exactly TimeLayout without the generality (and
// allocations) of time.Parse; it falls back to time.Parse for anything else.
func parseTimeFast(s string) (time.Time, error) {
	if len(s) == 19 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' {
		y, ok1 := atoiN(s[0:4])
		mo, ok2 := atoiN(s[5:7])
		d, ok3 := atoiN(s[8:10])
		h, ok4 := atoiN(s[11:13])
		mi, ok5 := atoiN(s[14:16])
		se, ok6 := atoiN(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(mo, y) && h < 24 && mi < 60 && se < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC), nil
		}
	}
	return time.ParseInLocation(TimeLayout, s, time.UTC)
}

func atoiN(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m, y int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String formats t as ServiceNow does (TimeLayout, UTC); the zero Time is "".
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// MarshalJSON writes t as a ServiceNow date-time string ("" when zero).
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// UnmarshalJSON reads a date-time string, "" or the display_value=all object.
func (t *Time) UnmarshalJSON(b []byte) error {
	s, err := rawString(b, "date-time")
	if err != nil {
		return err
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Date is a ServiceNow date (glide_date, "2006-01-02"); "" is the zero Date.
type Date struct {
	time.Time
}

// ParseDate parses a raw ServiceNow date; "" gives the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.ParseInLocation(DateLayout, s, time.UTC)
	if err != nil {
		return Date{}, &ValueError{Kind: "date", Value: s, Want: DateLayout}
	}
	return Date{t}, nil
}

// String formats d as DateLayout; the zero Date is "".
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.UTC().Format(DateLayout)
}

// MarshalJSON writes d as a ServiceNow date string.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a date string, "" or the display_value=all object.
func (d *Date) UnmarshalJSON(b []byte) error {
	s, err := rawString(b, "date")
	if err != nil {
		return err
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Bool is a ServiceNow boolean, sent as "true" or "false" ("" reads as false).
type Bool bool

// ParseBool reads "true"/"false" (also "1"/"0", and "" as false).
func ParseBool(s string) (Bool, error) {
	switch s {
	case "true", "1", "True", "TRUE":
		return true, nil
	case "false", "0", "", "False", "FALSE":
		return false, nil
	}
	return false, &ValueError{Kind: "boolean", Value: s, Want: `"true" or "false"`}
}

// String returns "true" or "false".
func (b Bool) String() string { return strconv.FormatBool(bool(b)) }

// MarshalJSON writes b as the string "true" or "false".
func (b Bool) MarshalJSON() ([]byte, error) {
	if b {
		return []byte(`"true"`), nil
	}
	return []byte(`"false"`), nil
}

// UnmarshalJSON reads "true"/"false" strings (and JSON booleans).
func (b *Bool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true":
		*b = true
		return nil
	case "false", "null":
		*b = false
		return nil
	}
	s, err := rawString(data, "boolean")
	if err != nil {
		return err
	}
	v, err := ParseBool(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Int is a ServiceNow integer, sent as a string ("15"; "" reads as 0;
// display values such as "102,197" read too).
type Int int64

// ParseInt reads a ServiceNow integer string.
func ParseInt(s string) (Int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		n, err = strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		if err != nil {
			return 0, &ValueError{Kind: "integer", Value: s, Want: "a decimal integer"}
		}
	}
	return Int(n), nil
}

// String formats n in decimal.
func (n Int) String() string { return strconv.FormatInt(int64(n), 10) }

// MarshalJSON writes n as a decimal string, as ServiceNow sends numbers.
func (n Int) MarshalJSON() ([]byte, error) { return json.Marshal(n.String()) }

// UnmarshalJSON reads integer strings (and JSON numbers).
func (n *Int) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return &ValueError{Kind: "integer", Value: string(b), Want: "a decimal integer"}
		}
		*n = Int(v)
		return nil
	}
	s, err := rawString(b, "integer")
	if err != nil {
		return err
	}
	v, err := ParseInt(s)
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// Reference is a reference field: the referenced record's sys_id (Value),
// the API link to it, and its display value when one was asked for. It
// reads every shape ServiceNow sends: {"link","value"}; "" when empty; a
// bare sys_id with sysparm_exclude_reference_link; {"display_value","link"}
// with sysparm_display_value=true; and {"display_value","link","value"}
// with all. It writes itself as its sys_id, which is what the Table API
// expects in a request body.
type Reference struct {
	Value        string `json:"value,omitempty"`
	Link         string `json:"link,omitempty"`
	DisplayValue string `json:"display_value,omitempty"`
}

// Ref returns a Reference to sysID, for request bodies.
func Ref(sysID string) Reference { return Reference{Value: sysID} }

// IsZero reports whether the reference is empty.
func (r Reference) IsZero() bool { return r.Value == "" && r.DisplayValue == "" && r.Link == "" }

// String returns the referenced sys_id.
func (r Reference) String() string { return r.Value }

// MarshalJSON writes the reference as its sys_id string ("" when empty).
func (r Reference) MarshalJSON() ([]byte, error) { return json.Marshal(r.Value) }

// UnmarshalJSON reads any of the reference shapes.
func (r *Reference) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		if link, val, disp, hasVal, hasDisp, ok := scanRefObject(b); ok {
			*r = Reference{Link: link}
			if hasVal {
				r.Value = val
			}
			if hasDisp {
				r.DisplayValue = disp
			}
			return nil
		}
		var v struct {
			Value        *string `json:"value"`
			Link         string  `json:"link"`
			DisplayValue *string `json:"display_value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return &ValueError{Kind: "reference", Value: string(b), Want: `{"link","value"} or a sys_id string`}
		}
		*r = Reference{Link: v.Link}
		if v.Value != nil {
			r.Value = *v.Value
		}
		if v.DisplayValue != nil {
			r.DisplayValue = *v.DisplayValue
		}
		return nil
	}
	if string(b) == "null" {
		*r = Reference{}
		return nil
	}
	s, err := quotedString(b)
	if err != nil {
		return &ValueError{Kind: "reference", Value: string(b), Want: `{"link","value"} or a sys_id string`}
	}
	*r = Reference{Value: s}
	return nil
}

// Value is one field of a raw Record exactly as the Table API sent it:
// Value is the raw database value (for a reference, the sys_id), Display
// the display value when one was asked for, and Link the API link of a
// reference. It writes itself as Value.
type Value struct {
	Value   string
	Display string
	Link    string
}

// String returns the raw value.
func (v Value) String() string { return v.Value }

// MarshalJSON writes the raw value as a JSON string.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.Value) }

// UnmarshalJSON reads a plain string or an object with value, display_value
// and link keys.
func (v *Value) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := quotedString(b)
		if err != nil {
			return err
		}
		*v = Value{Value: s}
		return nil
	}
	switch {
	case len(b) > 0 && b[0] == '{':
		if link, val, disp, _, _, ok := scanRefObject(b); ok {
			*v = Value{Value: val, Display: disp, Link: link}
			return nil
		}
		var o struct {
			Value        json.RawMessage `json:"value"`
			DisplayValue json.RawMessage `json:"display_value"`
			Link         string          `json:"link"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*v = Value{Value: scalarText(o.Value), Display: scalarText(o.DisplayValue), Link: o.Link}
		return nil
	case string(b) == "null":
		*v = Value{}
		return nil
	default:
		// Numbers and booleans: some APIs beside the Table API send them.
		*v = Value{Value: string(b)}
		return nil
	}
}

// scalarText renders a JSON scalar as text ("" for null or absent).
func scalarText(b json.RawMessage) string {
	if len(b) == 0 || string(b) == "null" {
		return ""
	}
	if b[0] == '"' {
		s, err := quotedString(b)
		if err == nil {
			return s
		}
	}
	return string(b)
}

// Record is one row of any table, field by field, as the Table API sent it.
// Use it for tables without a typed record, custom (u_) fields, and
// dot-walked sysparm_fields such as "caller_id.email" (a flat key).
type Record map[string]Value

// Get returns the raw value of field ("" when absent). With
// sysparm_display_value=true the API sends no raw values; use Display.
func (r Record) Get(field string) string { return r[field].Value }

// Display returns the display value of field when the API sent one, else
// its raw value.
func (r Record) Display(field string) string {
	v := r[field]
	if v.Display != "" {
		return v.Display
	}
	return v.Value
}

// Has reports whether the record carries field.
func (r Record) Has(field string) bool {
	_, ok := r[field]
	return ok
}

// Set sets the raw value of field, for request bodies.
func (r Record) Set(field, value string) { r[field] = Value{Value: value} }

// Ref returns field as a Reference.
func (r Record) Ref(field string) Reference {
	v := r[field]
	return Reference{Value: v.Value, Link: v.Link, DisplayValue: v.Display}
}

// Time returns field as a date-time.
func (r Record) Time(field string) (Time, error) {
	t, err := ParseTime(r[field].Value)
	if err != nil {
		return Time{}, fieldError(field, err)
	}
	return t, nil
}

// Int returns field as an integer.
func (r Record) Int(field string) (Int, error) {
	n, err := ParseInt(r[field].Value)
	if err != nil {
		return 0, fieldError(field, err)
	}
	return n, nil
}

// Bool returns field as a boolean.
func (r Record) Bool(field string) (Bool, error) {
	b, err := ParseBool(r[field].Value)
	if err != nil {
		return false, fieldError(field, err)
	}
	return b, nil
}

// SysID returns the record's sys_id.
func (r Record) SysID() string { return r["sys_id"].Value }

// Fields returns the record's field names, sorted.
func (r Record) Fields() []string {
	out := make([]string, 0, len(r))
	for k := range r {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Values returns the raw values as a plain map, e.g. for a request body.
func (r Record) Values() map[string]string {
	out := make(map[string]string, len(r))
	for k, v := range r {
		out[k] = v.Value
	}
	return out
}

// KeysetKey returns the record's position in a keyset walk.
func (r Record) KeysetKey() (Time, string, error) {
	t, err := r.Time("sys_updated_on")
	return t, r.SysID(), err
}

// Fields is a request body of raw field values, the simplest way to create
// or update a record of any table: Fields{"short_description": "Disk full"}.
type Fields map[string]string

// ValueError says a field value is not in the form its type needs.
type ValueError struct {
	Field string // the field, when known
	Kind  string // date-time, date, boolean, integer, reference
	Value string
	Want  string
}

func (e *ValueError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	if e.Field != "" {
		return fmt.Sprintf("servicenow: field %s: %q is not a %s (want %s)", e.Field, v, e.Kind, e.Want)
	}
	return fmt.Sprintf("servicenow: %q is not a %s (want %s)", v, e.Kind, e.Want)
}

func fieldError(field string, err error) error {
	var ve *ValueError
	if errors.As(err, &ve) {
		c := *ve
		c.Field = field
		return &c
	}
	return err
}

// rawString returns the string inside a JSON string, or the "value" of a
// display_value=all object.
func rawString(b []byte, kind string) (string, error) {
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return "", &ValueError{Kind: kind, Value: string(b), Want: "a string"}
		}
		return scalarText(o.Value), nil
	}
	if string(b) == "null" {
		return "", nil
	}
	s, err := quotedString(b)
	if err != nil {
		return "", &ValueError{Kind: kind, Value: string(b), Want: "a string"}
	}
	return s, nil
}

// quotedString decodes a JSON string, without the reflection of
// json.Unmarshal when it holds no escapes (almost every ServiceNow value).
func quotedString(b []byte) (string, error) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", errors.New("not a JSON string")
	}
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		for _, c := range inner {
			if c < 0x20 {
				return "", errors.New("control character in JSON string")
			}
		}
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", err
	}
	return s, nil
}

// scanRefObject reads the common shapes {"link":"…","value":"…"} and
// {"display_value":"…","link":"…","value":"…"} without reflection: string
// (or null) values under the keys link, value and display_value, and
// nothing else. It reports ok=false for anything it does not recognise,
// and the caller falls back to encoding/json.
func scanRefObject(b []byte) (link, value, display string, hasValue, hasDisplay, ok bool) {
	if len(b) == 0 || b[0] != '{' {
		return
	}
	i := 1 // after '{'
	skipWS := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
			i++
		}
	}
	readString := func() (string, bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				return "", false // escapes: let encoding/json handle them
			}
			j++
		}
		if j >= len(b) {
			return "", false
		}
		s, err := quotedString(b[i : j+1])
		if err != nil {
			return "", false
		}
		i = j + 1
		return s, true
	}
	skipWS()
	if i < len(b) && b[i] == '}' {
		i++
		skipWS()
		return "", "", "", false, false, i == len(b)
	}
	for {
		skipWS()
		key, ok1 := readString()
		if !ok1 {
			return
		}
		skipWS()
		if i >= len(b) || b[i] != ':' {
			return
		}
		i++
		skipWS()
		var val string
		isNull := false
		if i+4 <= len(b) && string(b[i:i+4]) == "null" {
			i += 4
			isNull = true
		} else {
			var ok2 bool
			if val, ok2 = readString(); !ok2 {
				return
			}
		}
		switch key {
		case "link":
			link = val
		case "value":
			value, hasValue = val, !isNull
		case "display_value":
			display, hasDisplay = val, !isNull
		default:
			return
		}
		skipWS()
		if i >= len(b) {
			return
		}
		if b[i] == '}' {
			i++
			skipWS()
			ok = i == len(b)
			return
		}
		if b[i] != ',' {
			return
		}
		i++
	}
}
