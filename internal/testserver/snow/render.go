package snow

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Display-value modes (sysparm_display_value).
const (
	dvFalse = iota
	dvTrue
	dvAll
)

func parseDisplayMode(v string) int {
	switch strings.ToLower(v) {
	case "true":
		return dvTrue
	case "all":
		return dvAll
	}
	return dvFalse
}

// step is one hop of a dot-walk: a column index in a table's layout.
type step struct {
	idx int
	tbl *tableDef
}

// outField is one key of a rendered record.
type outField struct {
	key   []byte // `"name":`
	steps []step
	col   *column
}

// renderer writes records as the Table API does.
type renderer struct {
	s      *Server
	t      *tableDef
	p      *principal
	link   string // scheme://host/api/now/[vN/]table/
	mode   int
	noLink bool
	fields []outField
}

func newRenderer(s *Server, t *tableDef, p *principal, linkBase string, mode int, noLink bool, fieldsParam string, acc *access) *renderer {
	rd := &renderer{s: s, t: t, p: p, link: linkBase, mode: mode, noLink: noLink}
	hidden := func(name string) bool { return acc != nil && acc.fields[name] }
	if strings.TrimSpace(fieldsParam) == "" {
		for i, c := range t.cols {
			if c.typ == TypePassword || hidden(c.name) {
				continue
			}
			rd.fields = append(rd.fields, outField{key: jsonKey(c.name), steps: []step{{idx: i, tbl: t}}, col: c})
		}
		return rd
	}
	seen := map[string]bool{}
	for _, f := range strings.Split(fieldsParam, ",") {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		first, _, _ := strings.Cut(f, ".")
		if hidden(first) {
			continue
		}
		steps, col, ok := s.walkPath(t, f)
		if !ok {
			continue // invalid names are ignored
		}
		seen[f] = true
		rd.fields = append(rd.fields, outField{key: jsonKey(f), steps: steps, col: col})
	}
	return rd
}

// walkPath resolves a column or dot-walk path for rendering.
func (s *Server) walkPath(t *tableDef, path string) ([]step, *column, bool) {
	var steps []step
	cur := t
	parts := strings.Split(path, ".")
	var last *column
	for k, p := range parts {
		i := cur.col(p)
		if i < 0 {
			return nil, nil, false
		}
		c := cur.cols[i]
		if c.typ == TypePassword {
			return nil, nil, false
		}
		steps = append(steps, step{idx: i, tbl: cur})
		last = c
		if k < len(parts)-1 {
			if c.typ != TypeReference {
				return nil, nil, false
			}
			if cur = s.schema.tables[c.ref]; cur == nil {
				return nil, nil, false
			}
		}
	}
	return steps, last, true
}

// resolve follows the steps from r; it returns the row holding the value
// and the column index, or nil when a reference on the way is empty or
// dangling.
func (s *Server) resolve(r *record, steps []step) (*record, int) {
	cur := r
	for k, st := range steps {
		if k == 0 {
			continue
		}
		v := cur.vals[steps[k-1].idx]
		if v == "" {
			return nil, 0
		}
		if cur = s.lookup(st.tbl, v); cur == nil {
			return nil, 0
		}
	}
	return cur, steps[len(steps)-1].idx
}

func jsonKey(name string) []byte {
	b := appendJSONString(nil, name)
	return append(b, ':')
}

// record appends one record object.
func (rd *renderer) record(b []byte, r *record) []byte {
	b = append(b, '{')
	for i := range rd.fields {
		f := &rd.fields[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		row, idx := rd.s.resolve(r, f.steps)
		b = rd.value(b, row, idx, f.col)
	}
	return append(b, '}')
}

// value appends one field value in the requested shape.
func (rd *renderer) value(b []byte, row *record, idx int, c *column) []byte {
	raw := ""
	if row != nil {
		raw = row.vals[idx]
	}
	if c.typ == TypeJournal || c.typ == TypeJournals {
		raw = ""
	}
	isRef := c.typ == TypeReference
	if rd.mode == dvFalse {
		if isRef && raw != "" && !rd.noLink {
			b = append(b, `{"link":`...)
			b = rd.appendLink(b, c.ref, raw)
			b = append(b, `,"value":`...)
			b = appendJSONString(b, raw)
			return append(b, '}')
		}
		return appendJSONString(b, raw)
	}
	dv := rd.display(row, idx, c, raw)
	if rd.mode == dvTrue {
		if isRef && raw != "" && !rd.noLink {
			b = append(b, `{"display_value":`...)
			b = appendJSONString(b, dv)
			b = append(b, `,"link":`...)
			b = rd.appendLink(b, c.ref, raw)
			return append(b, '}')
		}
		return appendJSONString(b, dv)
	}
	b = append(b, `{"display_value":`...)
	b = appendJSONString(b, dv)
	if isRef && raw != "" && !rd.noLink {
		b = append(b, `,"link":`...)
		b = rd.appendLink(b, c.ref, raw)
	}
	b = append(b, `,"value":`...)
	b = appendJSONString(b, raw)
	return append(b, '}')
}

func (rd *renderer) appendLink(b []byte, table, id string) []byte {
	b = append(b, '"')
	b = appendJSONInner(b, rd.link)
	b = appendJSONInner(b, table)
	b = append(b, '/')
	b = appendJSONInner(b, id)
	return append(b, '"')
}

// display computes the display value of one field.
func (rd *renderer) display(row *record, idx int, c *column, raw string) string {
	switch c.typ {
	case TypeJournal, TypeJournals:
		if row == nil {
			return ""
		}
		return rd.journal(row, c)
	}
	if raw == "" {
		if c.name == "sla_due" {
			return "UNKNOWN"
		}
		return ""
	}
	switch c.typ {
	case TypeReference:
		t := rd.s.schema.tables[c.ref]
		if t == nil {
			return ""
		}
		if x := rd.s.lookup(t, raw); x != nil {
			return rd.s.displayOf(x)
		}
		if c.name == "sys_domain" {
			return raw
		}
		return ""
	case TypeClassName:
		if t := rd.s.schema.tables[raw]; t != nil {
			return t.label
		}
		return raw
	case TypeDateTime:
		t, err := time.Parse(dtLayout, raw)
		if err != nil {
			return raw
		}
		loc := time.UTC
		if rd.p != nil && rd.p.loc != nil {
			loc = rd.p.loc
		}
		return t.In(loc).Format(dtLayout)
	case TypeDuration:
		return durationWords(raw)
	}
	if row != nil {
		if l, ok := row.class.choiceLabel(idx, raw); ok {
			return l
		}
	}
	switch c.typ {
	case TypeInteger, TypeDecimal:
		return groupDigits(raw)
	}
	return raw
}

// journal renders a journal field's history, newest first.
func (rd *renderer) journal(row *record, c *column) string {
	var b strings.Builder
	loc := time.UTC
	if rd.p != nil && rd.p.loc != nil {
		loc = rd.p.loc
	}
	users := rd.s.authData().users
	for i := len(row.journal) - 1; i >= 0; i-- {
		e := row.journal[i]
		if c.typ == TypeJournal && e.field != c.name {
			continue
		}
		if c.typ == TypeJournals && e.field != "comments" && e.field != "work_notes" {
			continue
		}
		at := e.at
		if t, err := time.Parse(dtLayout, e.at); err == nil {
			at = t.In(loc).Format(dtLayout)
		}
		who := e.user
		if u := users[e.user]; u != nil && u.get("name") != "" {
			who = u.get("name")
		}
		label := e.field
		if j := row.class.col(e.field); j >= 0 {
			label = row.class.cols[j].label
		}
		b.WriteString(at + " - " + who + " (" + label + ")\n" + e.text + "\n\n")
	}
	return b.String()
}

// groupDigits adds thousands separators: "102197" → "102,197".
func groupDigits(v string) string {
	intPart, frac, hasFrac := strings.Cut(v, ".")
	sign := ""
	if strings.HasPrefix(intPart, "-") {
		sign, intPart = "-", intPart[1:]
	}
	if _, err := strconv.ParseUint(intPart, 10, 64); err != nil || len(intPart) <= 3 {
		return v
	}
	var b strings.Builder
	b.WriteString(sign)
	first := len(intPart) % 3
	if first > 0 {
		b.WriteString(intPart[:first])
	}
	for i := first; i < len(intPart); i += 3 {
		if b.Len() > len(sign) {
			b.WriteByte(',')
		}
		b.WriteString(intPart[i : i+3])
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// durationWords turns "1970-01-02 04:23:17" into "1 Day 4 Hours 23 Minutes".
func durationWords(v string) string {
	t, err := time.Parse(dtLayout, v)
	if err != nil {
		return v
	}
	d := int64(t.Sub(time.Unix(0, 0).UTC()) / time.Second)
	if d < 0 {
		return v
	}
	days, hours, mins, secs := d/86400, d%86400/3600, d%3600/60, d%60
	var parts []string
	add := func(n int64, unit string) {
		if n == 0 {
			return
		}
		if n != 1 {
			unit += "s"
		}
		parts = append(parts, strconv.FormatInt(n, 10)+" "+unit)
	}
	add(days, "Day")
	add(hours, "Hour")
	add(mins, "Minute")
	if len(parts) == 0 {
		add(secs, "Second")
	}
	if len(parts) == 0 {
		return "0 Seconds"
	}
	return strings.Join(parts, " ")
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONInner(b, s)
	return append(b, '"')
}

// appendJSONInner appends s escaped for the inside of a JSON string.
func appendJSONInner(b []byte, s string) []byte {
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
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
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
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
