package snow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record is one row as tests see it: column name to raw (stored) value.
// Every value is a string, as on the wire; references hold the sys_id.
type Record map[string]string

// record is a stored row. A stored record is never modified: a write
// replaces it with a new one, so a *record handed to a reader stays valid.
type record struct {
	class   *tableDef
	seq     uint64 // insertion sequence, for insertion order and stable ties
	pos     int    // index in family.rows
	vals    []string
	journal []journalEntry
}

// journalEntry is one entry of a journal field (comments, work_notes).
type journalEntry struct {
	field string
	at    string // UTC date-time
	user  string // user_name of the writer
	text  string
}

// family stores the rows of a table hierarchy (a root table and every table
// that extends it), in insertion order.
type family struct {
	root *tableDef
	rows []*record // nil where a row was deleted
	dead int
	byID map[string]*record
}

func (r *record) get(name string) string {
	if i := r.class.col(name); i >= 0 {
		return r.vals[i]
	}
	return ""
}

func (r *record) id() string { return r.vals[0] }

// toRecord copies r into a Record with every column of its class.
func (r *record) toRecord() Record {
	out := make(Record, len(r.vals))
	for i, c := range r.class.cols {
		out[c.name] = r.vals[i]
	}
	return out
}

func (s *Server) familyOf(t *tableDef) *family {
	f := s.fams[t.root]
	if f == nil {
		f = &family{root: t.root, byID: map[string]*record{}}
		s.fams[t.root] = f
	}
	return f
}

// lookup finds the row with sys_id id whose class is t or extends t.
func (s *Server) lookup(t *tableDef, id string) *record {
	f := s.fams[t.root]
	if f == nil {
		return nil
	}
	r := f.byID[id]
	if r == nil || !r.class.isA(t) {
		return nil
	}
	return r
}

// lookupName finds a row by table name and sys_id (nil when the table is unknown).
func (s *Server) lookupName(table, id string) *record {
	t := s.schema.tables[table]
	if t == nil {
		return nil
	}
	return s.lookup(t, id)
}

func (f *family) put(r *record) {
	r.pos = len(f.rows)
	f.rows = append(f.rows, r)
	f.byID[r.id()] = r
}

func (f *family) replace(old, r *record) {
	r.pos = old.pos
	r.seq = old.seq
	f.rows[old.pos] = r
	f.byID[r.id()] = r
}

func (f *family) remove(r *record) {
	f.rows[r.pos] = nil
	delete(f.byID, r.id())
	f.dead++
	if f.dead > 1024 && f.dead > len(f.rows)/2 {
		live := f.rows[:0]
		for _, x := range f.rows {
			if x != nil {
				x.pos = len(live)
				live = append(live, x)
			}
		}
		for i := len(live); i < len(f.rows); i++ {
			f.rows[i] = nil
		}
		f.rows = live
		f.dead = 0
	}
}

// migrate re-lays stored rows of root's family after a schema change.
func (s *Server) migrate(root *tableDef, old map[*tableDef][]string) {
	f := s.fams[root]
	if f == nil {
		return
	}
	for i, r := range f.rows {
		if r == nil {
			continue
		}
		names := old[r.class]
		if len(names) == len(r.class.cols) {
			same := true
			for j, n := range names {
				if r.class.cols[j].name != n {
					same = false
					break
				}
			}
			if same {
				continue
			}
		}
		nr := &record{class: r.class, seq: r.seq, pos: r.pos, journal: r.journal, vals: make([]string, len(r.class.cols))}
		for j, n := range names {
			if k := r.class.col(n); k >= 0 {
				nr.vals[k] = r.vals[j]
			}
		}
		for j, c := range r.class.cols {
			if d := r.class.defaultOf(j); nr.vals[j] == "" && d != "" && !containsName(names, c.name) {
				nr.vals[j] = d
			}
		}
		f.rows[i] = nr
		f.byID[nr.id()] = nr
	}
	s.bump()
}

func containsName(list []string, n string) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// bump invalidates caches after any write.
func (s *Server) bump() {
	s.version++
	s.sortMu.Lock()
	if len(s.sortCache) > 0 {
		clear(s.sortCache)
	}
	s.sortMu.Unlock()
}

// newSysID returns a random 32-hex sys_id. Callers hold s.mu.
func (s *Server) newSysID() string {
	const hexdigits = "0123456789abcdef"
	var b [32]byte
	for i := 0; i < 32; i += 16 {
		v := s.rng.Uint64()
		for j := 0; j < 16; j++ {
			b[i+j] = hexdigits[v&15]
			v >>= 4
		}
	}
	return string(b[:])
}

// Date-time handling. Values are stored as "2006-01-02 15:04:05" in UTC.
const dtLayout = "2006-01-02 15:04:05"
const dateLayout = "2006-01-02"

func fmtTime(t time.Time) string { return t.UTC().Format(dtLayout) }

// normDateTime normalizes a date-time input; ok is false when it cannot be read.
func normDateTime(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	if len(v) == len(dtLayout) && isDateTimeShape(v) {
		return v, true
	}
	if t, err := time.Parse(dtLayout, v); err == nil {
		return fmtTime(t), true
	}
	if t, err := time.Parse(dateLayout, v); err == nil {
		return fmtTime(t), true
	}
	return "", false
}

func isDateTimeShape(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != ' ' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

func normDate(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	if t, err := time.Parse(dateLayout, v); err == nil {
		return t.Format(dateLayout), true
	}
	if t, err := time.Parse(dtLayout, v); err == nil {
		return t.Format(dateLayout), true
	}
	return "", false
}

// normalize turns an incoming value into the stored form for column c.
func normalize(c *column, v string) string {
	switch c.typ {
	case TypeDateTime, TypeDuration:
		n, _ := normDateTime(v)
		return n
	case TypeDate:
		n, _ := normDate(v)
		return n
	case TypeBoolean:
		switch strings.ToLower(v) {
		case "true", "1":
			return "true"
		case "false", "0":
			return "false"
		}
		return v
	case TypeReference:
		if len(v) > 32 {
			return v[:32]
		}
	}
	return v
}

// writeCtx describes one write: who makes it, when, and which rules run.
type writeCtx struct {
	user      string // user_name
	userID    string // sys_user sys_id ("" when unknown)
	now       time.Time
	noSysFlds bool // autoSysFields(false)
	noRules   bool // skip business rules and data policies
	seed      bool // a seed: keep given sys fields, no data policy
	given     map[string]string
}

// refusal is a refused write (ACL, data policy, business rule).
type refusal struct {
	status  int
	message string
	detail  string
}

func (e *refusal) Error() string { return e.message + ": " + e.detail }

// insert adds a row of class t. vals are raw column values (unknown names
// are ignored). Callers hold s.mu for writing.
func (s *Server) insert(t *tableDef, vals map[string]string, wc writeCtx) (*record, error) {
	if cn, ok := vals["sys_class_name"]; ok && wc.seed && cn != "" && cn != t.name {
		sub := s.schema.tables[cn]
		if sub == nil || !sub.isA(t) {
			return nil, fmt.Errorf("snow: seed for %q names sys_class_name %q, which does not extend it", t.name, cn)
		}
		t = sub
	}
	f := s.familyOf(t)
	r := &record{class: t, vals: make([]string, len(t.cols))}
	for i := range t.cols {
		r.vals[i] = t.defaultOf(i)
	}
	id := vals["sys_id"]
	if id == "" {
		id = s.newSysID()
	}
	if f.byID[id] != nil {
		return nil, &refusal{status: 403, message: "Operation Failed", detail: fmt.Sprintf("Error during insert of %s (%s): duplicate sys_id", t.name, id)}
	}
	r.vals[0] = id
	for name, v := range vals {
		i := t.col(name)
		if i < 0 || (sysFieldNames[name] && !wc.seed) {
			continue
		}
		c := t.cols[i]
		if c.typ == TypeJournal || c.typ == TypeJournals {
			if v != "" && c.typ == TypeJournal {
				r.journal = append(r.journal, journalEntry{field: name, at: fmtTime(wc.now), user: wc.user, text: v})
			}
			continue
		}
		r.vals[i] = normalize(c, v)
	}
	now := fmtTime(wc.now)
	setIf := func(name, v string) {
		if i := t.col(name); i >= 0 && (!wc.seed || r.vals[i] == "") {
			r.vals[i] = v
		}
	}
	setIf("sys_class_name", t.name)
	setIf("sys_created_on", now)
	setIf("sys_updated_on", now)
	setIf("sys_created_by", wc.user)
	setIf("sys_updated_by", wc.user)
	setIf("sys_mod_count", "0")
	setIf("sys_domain", "global")
	setIf("sys_domain_path", "/")
	if i := t.col("sys_class_path"); i >= 0 {
		r.vals[i] = t.path
	}
	if t.prefix != "" || t.root.prefix != "" {
		if i := t.col("number"); i >= 0 && r.vals[i] == "" {
			r.vals[i] = s.nextNumber(t)
		}
	}
	if !wc.noRules {
		wc.given = vals
		s.insertRules(r, wc)
		if err := s.dataPolicy(r, wc); err != nil {
			return nil, err
		}
	}
	s.seq++
	r.seq = s.seq
	f.put(r)
	s.bump()
	return r, nil
}

// nextNumber hands out the next number of t's prefix: INC0010001, ...
func (s *Server) nextNumber(t *tableDef) string {
	owner := t
	for owner.prefix == "" && owner.parent != nil {
		owner = owner.parent
	}
	owner.counter++
	return owner.prefix + fmt.Sprintf("%07d", owner.counter)
}

// update merges vals into the row. Unknown and system columns are ignored.
func (s *Server) update(old *record, vals map[string]string, wc writeCtx) (*record, error) {
	t := old.class
	r := &record{class: t, vals: append([]string(nil), old.vals...), journal: old.journal}
	changed := map[string]bool{}
	for name, v := range vals {
		i := t.col(name)
		if i < 0 || sysFieldNames[name] {
			continue
		}
		c := t.cols[i]
		if c.typ == TypeJournal || c.typ == TypeJournals {
			if v != "" && c.typ == TypeJournal {
				j := make([]journalEntry, len(r.journal), len(r.journal)+1)
				copy(j, r.journal)
				r.journal = append(j, journalEntry{field: name, at: fmtTime(wc.now), user: wc.user, text: v})
			}
			continue
		}
		nv := normalize(c, v)
		if r.vals[i] != nv {
			changed[name] = true
		}
		r.vals[i] = nv
	}
	if !wc.noRules {
		s.updateRules(old, r, changed, wc)
		if err := s.dataPolicy(r, wc); err != nil {
			return nil, err
		}
	}
	if !wc.noSysFlds {
		if i := t.col("sys_updated_on"); i >= 0 {
			r.vals[i] = fmtTime(wc.now)
		}
		if i := t.col("sys_updated_by"); i >= 0 {
			r.vals[i] = wc.user
		}
		if i := t.col("sys_mod_count"); i >= 0 {
			n, _ := strconv.Atoi(r.vals[i])
			r.vals[i] = strconv.Itoa(n + 1)
		}
	}
	s.familyOf(t).replace(old, r)
	s.bump()
	return r, nil
}

// remove deletes a row, writes its sys_audit_delete row and cascades to
// rows whose cascade-delete references point at it.
func (s *Server) remove(r *record, wc writeCtx) {
	f := s.fams[r.class.root]
	if f == nil || f.byID[r.id()] != r {
		return
	}
	f.remove(r)
	s.bump()
	s.audit(r, wc)
	s.cascade(r, wc)
}

func (s *Server) audit(r *record, wc writeCtx) {
	at := s.schema.tables["sys_audit_delete"]
	if at == nil || r.class == at {
		return
	}
	vals := map[string]string{
		"tablename":     r.class.name,
		"documentkey":   r.id(),
		"display_value": s.displayOf(r),
		"payload":       auditPayload(r),
	}
	_, _ = s.insert(at, vals, writeCtx{user: wc.user, userID: wc.userID, now: wc.now, noRules: true})
}

// auditPayload is the XML dump of a deleted row, like the real payload.
func auditPayload(r *record) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><record_update table="`)
	b.WriteString(r.class.name)
	b.WriteString(`"><`)
	b.WriteString(r.class.name)
	b.WriteString(` action="DELETE">`)
	for i, c := range r.class.cols {
		b.WriteByte('<')
		b.WriteString(c.name)
		b.WriteByte('>')
		xmlEscape(&b, r.vals[i])
		b.WriteString("</")
		b.WriteString(c.name)
		b.WriteByte('>')
	}
	b.WriteString(`</`)
	b.WriteString(r.class.name)
	b.WriteString(`></record_update>`)
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	for _, c := range s {
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(c)
		}
	}
}

// cascade deletes rows that reference r through a cascade-delete column.
func (s *Server) cascade(r *record, wc writeCtx) {
	for _, t := range s.schema.list {
		for _, c := range t.own {
			if !c.cascade {
				continue
			}
			target := s.schema.tables[c.ref]
			if target == nil || !r.class.isA(target) {
				continue
			}
			f := s.fams[t.root]
			if f == nil {
				continue
			}
			var victims []*record
			for _, x := range f.rows {
				if x != nil && x.class.isA(t) && x.get(c.name) == r.id() {
					victims = append(victims, x)
				}
			}
			for _, x := range victims {
				s.remove(x, wc)
			}
		}
	}
}

// displayOf returns the display value of a row: its table's display field.
func (s *Server) displayOf(r *record) string {
	d := r.class.display
	if d == "" {
		if r.class.col("name") >= 0 {
			d = "name"
		} else if r.class.col("number") >= 0 {
			d = "number"
		} else {
			return r.id()
		}
	}
	i := r.class.col(d)
	if i < 0 {
		return ""
	}
	c := r.class.cols[i]
	v := r.vals[i]
	if c.typ == TypeReference {
		if t := s.schema.tables[c.ref]; t != nil && t != r.class {
			if x := s.lookup(t, v); x != nil {
				return s.displayOf(x)
			}
		}
		return ""
	}
	return v
}

// rowsOf returns the live rows of t (and its descendants) in
// insertion order.
func (s *Server) rowsOf(t *tableDef) []*record {
	f := s.fams[t.root]
	if f == nil {
		return nil
	}
	out := make([]*record, 0, len(f.rows)-f.dead)
	for _, r := range f.rows {
		if r != nil && r.class.isA(t) {
			out = append(out, r)
		}
	}
	return out
}

// sortRows sorts rows by keys, keeping insertion order among ties. It
// returns the first key's value of each row, in the new order.
func sortRows(rows []*record, keys []orderKey, get func(k int, r *record) string) []string {
	type keyed struct {
		r   *record
		s   []string
		f   []float64
		ok  []bool
		seq uint64
	}
	ks := make([]keyed, len(rows))
	for i, r := range rows {
		k := keyed{r: r, s: make([]string, len(keys)), f: make([]float64, len(keys)), ok: make([]bool, len(keys)), seq: r.seq}
		for j, key := range keys {
			v := get(j, r)
			k.s[j] = v
			if key.numeric && v != "" {
				if x, err := strconv.ParseFloat(v, 64); err == nil {
					k.f[j], k.ok[j] = x, true
				}
			}
		}
		ks[i] = k
	}
	sort.SliceStable(ks, func(a, b int) bool {
		x, y := &ks[a], &ks[b]
		for j, key := range keys {
			c := 0
			if key.numeric {
				switch {
				case x.ok[j] && y.ok[j]:
					if x.f[j] < y.f[j] {
						c = -1
					} else if x.f[j] > y.f[j] {
						c = 1
					}
				case x.ok[j]:
					c = 1 // empty or unreadable sorts first
				case y.ok[j]:
					c = -1
				default:
					c = strings.Compare(x.s[j], y.s[j])
				}
			} else {
				c = strings.Compare(x.s[j], y.s[j])
			}
			if key.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return x.seq < y.seq
	})
	primary := make([]string, len(ks))
	for i := range ks {
		rows[i] = ks[i].r
		primary[i] = ks[i].s[0]
	}
	return primary
}
