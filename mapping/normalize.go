package mapping

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// sfTimeLayout is StackFlow's timestamp form: RFC 3339, UTC, milliseconds.
const sfTimeLayout = "2006-01-02T15:04:05.000Z"

// normText is the canonical form of any text: valid UTF-8, CRLF and lone
// CR as LF, Unicode NFC.
func normText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
	}
	return s
}

// normLine is the canonical form of single-line text: normText, trimmed.
func normLine(s string) string { return strings.TrimSpace(normText(s)) }

// normTitle is a title as StackFlow stores it: trimmed, CRLF→LF, at most
// 255 code points (then trimmed at the right again), in NFC.
func normTitle(s string) string {
	s = normLine(s)
	if utf8.RuneCountInString(s) > maxStackFlowTitle {
		s = strings.TrimRightFunc(truncateRunes(s, maxStackFlowTitle), unicode.IsSpace)
		s = normText(s)
	}
	return s
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// canonInt parses a decimal integer (ServiceNow also writes "1,234") and
// returns it in canonical decimal.
func canonInt(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		n, err = strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		if err != nil {
			return "", false
		}
	}
	return strconv.FormatInt(n, 10), true
}

// canonBool reads the booleans both sides write.
func canonBool(s string) (string, bool) {
	switch strings.TrimSpace(s) {
	case "true", "1", "True", "TRUE":
		return "true", true
	case "false", "0", "", "False", "FALSE":
		return "false", true
	}
	return "", false
}

// canonNumber renders a JSON number in canonical decimal: integers without
// exponent or fraction, others in the shortest form that reads back.
func canonNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(n, 10), true
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", false
	}
	if r.IsInt() {
		return r.Num().String(), true
	}
	f, _ := r.Float64()
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// parseSFTime reads any RFC 3339 time and returns StackFlow's stored form.
func parseSFTime(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", false
	}
	return t.UTC().Truncate(time.Millisecond).Format(sfTimeLayout), true
}

// anyString renders a StackFlow JSON value as canonical text: strings
// normalised, numbers in canonical decimal, booleans "true"/"false", null
// as "", times (time.Time) in StackFlow's form, and objects and arrays as
// compact JSON with sorted keys. ok is false for values that cannot be
// rendered (a NaN, a channel).
func anyString(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", true
	case string:
		return normText(t), true
	case bool:
		return strconv.FormatBool(t), true
	case json.Number:
		return canonNumber(t.String())
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return "", false
		}
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return strconv.FormatInt(int64(t), 10), true
		}
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case float32:
		return anyString(float64(t))
	case int:
		return strconv.FormatInt(int64(t), 10), true
	case int8:
		return strconv.FormatInt(int64(t), 10), true
	case int16:
		return strconv.FormatInt(int64(t), 10), true
	case int32:
		return strconv.FormatInt(int64(t), 10), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case uint:
		return strconv.FormatUint(uint64(t), 10), true
	case uint8:
		return strconv.FormatUint(uint64(t), 10), true
	case uint16:
		return strconv.FormatUint(uint64(t), 10), true
	case uint32:
		return strconv.FormatUint(uint64(t), 10), true
	case uint64:
		return strconv.FormatUint(t, 10), true
	case time.Time:
		if t.IsZero() {
			return "", true
		}
		return t.UTC().Truncate(time.Millisecond).Format(sfTimeLayout), true
	case *time.Time:
		if t == nil {
			return "", true
		}
		return anyString(*t)
	case *string:
		if t == nil {
			return "", true
		}
		return normText(*t), true
	case map[string]any, []any:
		b, err := json.Marshal(t)
		if err != nil {
			return "", false
		}
		return normText(string(b)), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return "", false
	}
	return anyString(x) // a map, slice, string, bool, json.Number or nil
}

// encodeSet renders a FieldSet restricted to fields: the value itself for
// one field, a JSON object (sorted keys) for several.
func encodeSet(fields []string, fs FieldSet) string {
	if len(fields) == 1 {
		return fs[fields[0]]
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		m[f] = fs[f]
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

// decodeSet reads what encodeSet wrote.
func decodeSet(fields []string, s string) (FieldSet, bool) {
	if len(fields) == 1 {
		return FieldSet{fields[0]: s}, true
	}
	fs := FieldSet{}
	if s == "" {
		return fs, true
	}
	if err := json.Unmarshal([]byte(s), (*map[string]string)(&fs)); err != nil {
		return nil, false
	}
	return fs, true
}
