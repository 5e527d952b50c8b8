package snow

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// InvalidQueryMode says what the fake does with a sysparm_query part it
// cannot read: a condition on a column the table does not have, or a term
// with no operator.
type InvalidQueryMode int

const (
	// InvalidQueryIgnore drops the invalid part and runs the rest, so the
	// query may match more rows (the out-of-box default).
	InvalidQueryIgnore InvalidQueryMode = iota
	// InvalidQueryNoRows makes the whole query match nothing
	// (glide.invalid_query.returns_no_rows=true).
	InvalidQueryNoRows
	// InvalidQueryForbidden answers 403 "Insufficient rights to query
	// records", as instances that enforce query ACLs do. In this mode a
	// condition on a column hidden from the user by an ACL is refused too.
	InvalidQueryForbidden
)

// String names the mode.
func (m InvalidQueryMode) String() string {
	switch m {
	case InvalidQueryIgnore:
		return "ignore"
	case InvalidQueryNoRows:
		return "no_rows"
	case InvalidQueryForbidden:
		return "forbidden"
	}
	return "InvalidQueryMode(" + strconv.Itoa(int(m)) + ")"
}

type opcode int

const (
	opEq opcode = iota + 1
	opNe
	opGt
	opGe
	opLt
	opLe
	opLike
	opNotLike
	opStarts
	opEnds
	opIn
	opNotIn
	opEmpty
	opNotEmpty
	opEmptyString
	opAnything
	opBetween
	opNotBetween
	opSameAs
	opNotSameAs
	opGtField
	opLtField
	opGeField
	opLeField
	opInstanceOf
	opDynamic
	opRelGt
	opRelLt
	opRelGe
	opRelLe
	opOn
	opNotOn
	opUnsupported
)

type opSpec struct {
	text string
	code opcode
}

// operators, longest first so that the longest operator at a position wins.
var operators = func() []opSpec {
	ops := []opSpec{
		{"=", opEq}, {"!=", opNe}, {">", opGt}, {">=", opGe}, {"<", opLt}, {"<=", opLe},
		{"LIKE", opLike}, {"NOT LIKE", opNotLike}, {"NOTLIKE", opNotLike}, {"CONTAINS", opLike},
		{"DOESNOTCONTAIN", opNotLike}, {"*", opLike}, {"!*", opNotLike},
		{"STARTSWITH", opStarts}, {"ENDSWITH", opEnds}, {"%", opEnds},
		{"IN", opIn}, {"NOT IN", opNotIn}, {"NOTIN", opNotIn},
		{"ISEMPTY", opEmpty}, {"ISNOTEMPTY", opNotEmpty}, {"EMPTYSTRING", opEmptyString}, {"ANYTHING", opAnything},
		{"BETWEEN", opBetween}, {"NOTBETWEEN", opNotBetween},
		{"SAMEAS", opSameAs}, {"NSAMEAS", opNotSameAs},
		{"GT_FIELD", opGtField}, {"LT_FIELD", opLtField}, {"GT_OR_EQUALS_FIELD", opGeField}, {"LT_OR_EQUALS_FIELD", opLeField},
		{"INSTANCEOF", opInstanceOf}, {"DYNAMIC", opDynamic},
		{"RELATIVEGT", opRelGt}, {"RELATIVELT", opRelLt}, {"RELATIVEGE", opRelGe}, {"RELATIVELE", opRelLe},
		{"ON", opOn}, {"NOTON", opNotOn},
		{"RELATIVEEE", opUnsupported}, {"MORETHAN", opUnsupported}, {"LESSTHAN", opUnsupported},
		{"DATEPART", opUnsupported}, {"VALCHANGES", opUnsupported}, {"CHANGESFROM", opUnsupported},
		{"CHANGESTO", opUnsupported}, {"IN_HIERARCHY", opUnsupported}, {"DOESNOTHAVE", opUnsupported},
		{"EXCLUDING", opUnsupported}, {"SNAPSHOT", opUnsupported}, {"NOTSAMEAS", opNotSameAs},
	}
	sort.SliceStable(ops, func(i, j int) bool { return len(ops[i].text) > len(ops[j].text) })
	return ops
}()

// meDynamic is the sys_id of the out-of-box "Me" dynamic filter option.
const meDynamic = "90d1921e5f510100a9ad2572f2b477fe"

// apiError is an error the fake answers with a ServiceNow error envelope.
type apiError struct {
	status  int
	message string
	detail  *string
}

func (e *apiError) Error() string {
	d := "null"
	if e.detail != nil {
		d = *e.detail
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.message, d)
}

func strp(s string) *string { return &s }

// asAPIError returns err as an *apiError (a 400 for anything else).
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiError{status: 400, message: "Invalid query", detail: strp(err.Error())}
}

func unsupported(format string, args ...any) *apiError {
	return &apiError{status: 400, message: "Unsupported query construct (snow fake)",
		detail: strp(fmt.Sprintf(format, args...) + "; the fake refuses what it cannot evaluate rather than dropping it silently, see the snow package DIFFERENCES.md")}
}

// getter reads a (possibly dot-walked) value from a row.
type getter func(r *record) string

type cond struct {
	path    string
	primary bool // the condition is on the first ORDERBY key
	get     getter
	col     *column
	op      opcode
	val     string
	num     float64
	numOK   bool
	hi      string
	hiNum   float64
	hiOK    bool
	set     map[string]struct{}
	numSet  map[float64]struct{}
	get2    getter
	numeric bool
}

type orderKey struct {
	path    string
	get     getter
	numeric bool
	desc    bool
}

// compiledQuery is a parsed sysparm_query bound to a table.
type compiledQuery struct {
	groups  [][][]*cond // ^NQ groups of AND-ed clauses of OR-ed conditions
	order   []orderKey
	noRows  bool
	invalid []string
}

// queryEnv is what a query is evaluated against.
type queryEnv struct {
	s        *Server
	t        *tableDef
	now      time.Time
	loc      *time.Location
	userID   string
	userName string
	mode     InvalidQueryMode
	hidden   func(t *tableDef, field string) bool
}

// compileQuery parses q for table env.t. The returned error is an *apiError.
func compileQuery(q string, env queryEnv) (*compiledQuery, error) {
	cq := &compiledQuery{}
	if q == "" {
		return cq, nil
	}
	var group [][]*cond
	flush := func() {
		cq.groups = append(cq.groups, group)
		group = nil
	}
	terms := strings.Split(q, "^")
	for i := 0; i < len(terms); i++ {
		term := terms[i]
		switch {
		case term == "" || term == "EQ":
			continue
		case strings.HasPrefix(term, "ORDERBYDESC"):
			cq.addOrder(env, term[len("ORDERBYDESC"):], true)
			continue
		case strings.HasPrefix(term, "ORDERBY"):
			cq.addOrder(env, term[len("ORDERBY"):], false)
			continue
		case strings.HasPrefix(term, "GROUPBY"):
			continue
		case strings.HasPrefix(term, "RLQUERY"), strings.HasPrefix(term, "ENDRLQUERY"):
			return nil, unsupported("related-list queries (RLQUERY) are not evaluated")
		case strings.HasPrefix(term, "JOIN"):
			return nil, unsupported("JOIN queries are not evaluated")
		case strings.HasPrefix(term, "123TEXTQUERY321"), strings.HasPrefix(term, "IR_AND_OR_QUERY"):
			return nil, unsupported("keyword search (123TEXTQUERY321) is not evaluated")
		}
		or := false
		if strings.HasPrefix(term, "NQ") {
			if len(group) > 0 {
				flush()
			}
			term = term[2:]
			if term == "" {
				continue
			}
		} else if strings.HasPrefix(term, "OR") {
			or = true
			term = term[2:]
		}
		c, err := compileCond(term, env)
		if err != nil {
			return nil, err
		}
		if c == nil {
			cq.invalid = append(cq.invalid, term)
			continue
		}
		if or && len(group) > 0 {
			group[len(group)-1] = append(group[len(group)-1], c)
		} else {
			group = append(group, []*cond{c})
		}
	}
	if len(group) > 0 || len(cq.groups) > 0 {
		flush()
	}
	if len(cq.order) > 0 {
		for _, g := range cq.groups {
			for _, clause := range g {
				for _, c := range clause {
					c.primary = c.path == cq.order[0].path
				}
			}
		}
	}
	if len(cq.invalid) > 0 {
		switch env.mode {
		case InvalidQueryNoRows:
			cq.noRows = true
		case InvalidQueryForbidden:
			return nil, &apiError{status: 403, message: "Insufficient rights to query records",
				detail: strp("Field(s) present in the query do not have permission to be read")}
		}
	}
	return cq, nil
}

func (cq *compiledQuery) addOrder(env queryEnv, path string, desc bool) {
	get, col, ok := env.s.resolvePath(env.t, path)
	if !ok {
		return // ORDERBY on an unknown column is ignored
	}
	cq.order = append(cq.order, orderKey{path: path, get: get, numeric: col.numeric, desc: desc})
}

// orderSpec is the cache key of the query's ordering.
func (cq *compiledQuery) orderSpec() string {
	var b strings.Builder
	for _, k := range cq.order {
		if k.desc {
			b.WriteByte('-')
		} else {
			b.WriteByte('+')
		}
		b.WriteString(k.path)
		b.WriteByte(',')
	}
	return b.String()
}

// primaryRange returns inclusive bounds on the first ORDERBY key that every
// row matching the query satisfies (hi "" means no upper bound). It only
// applies to an ascending, non-numeric key constrained in every group.
func (cq *compiledQuery) primaryRange() (lo, hi string, ok bool) {
	if cq.noRows || len(cq.order) == 0 || cq.order[0].desc || cq.order[0].numeric || len(cq.groups) == 0 {
		return "", "", false
	}
	key := cq.order[0].path
	upper := true
	for gi, g := range cq.groups {
		glo, ghi, hasLo, hasHi := "", "", false, false
		for _, clause := range g {
			if len(clause) != 1 || clause[0].path != key {
				continue
			}
			c := clause[0]
			switch c.op {
			case opGt, opGe:
				if !hasLo || c.val > glo {
					glo, hasLo = c.val, true
				}
			case opLt, opLe:
				if !hasHi || c.val < ghi {
					ghi, hasHi = c.val, true
				}
			case opEq, opBetween:
				if !hasLo || c.val > glo {
					glo, hasLo = c.val, true
				}
				v := c.val
				if c.op == opBetween {
					v = c.hi
				}
				if !hasHi || v < ghi {
					ghi, hasHi = v, true
				}
			}
		}
		if !hasLo {
			return "", "", false
		}
		if gi == 0 || glo < lo {
			lo = glo
		}
		if !hasHi {
			upper = false
		} else if gi == 0 || ghi > hi {
			hi = ghi
		}
	}
	if lo == "" {
		return "", "", false
	}
	if !upper {
		hi = ""
	}
	return lo, hi, true
}

// matchAll reports whether the query has no condition at all.
func (cq *compiledQuery) matchAll() bool {
	if cq.noRows {
		return false
	}
	for _, g := range cq.groups {
		if len(g) == 0 {
			return true
		}
	}
	return len(cq.groups) == 0
}

func (cq *compiledQuery) match(r *record) bool { return cq.matchKey(r, nil) }

// matchKey is match with the row's first ORDERBY key already at hand (from
// the cached sort order), which spares reading the row for conditions on it.
func (cq *compiledQuery) matchKey(r *record, key *string) bool {
	if cq.noRows {
		return false
	}
	if len(cq.groups) == 0 {
		return true
	}
groups:
	for _, g := range cq.groups {
		for _, clause := range g {
			ok := false
			for _, c := range clause {
				var v string
				if key != nil && c.primary {
					v = *key
				} else {
					v = c.get(r)
				}
				if c.evalValue(v, r) {
					ok = true
					break
				}
			}
			if !ok {
				continue groups
			}
		}
		return true
	}
	return false
}

func isFieldChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.'
}

// splitCond finds field, operator and value in a condition term. It prefers
// a split whose field is a column of the table.
func splitCond(term string, env queryEnv) (field string, op opSpec, value string, ok bool) {
	firstI := -1
	var firstOp opSpec
	for i := 1; i < len(term); i++ {
		if !isFieldChar(term[i-1]) {
			break
		}
		for _, o := range operators {
			if strings.HasPrefix(term[i:], o.text) {
				if _, _, valid := env.s.resolvePath(env.t, term[:i]); valid {
					return term[:i], o, term[i+len(o.text):], true
				}
				if firstI < 0 {
					firstI, firstOp = i, o
				}
				break
			}
		}
	}
	if firstI < 0 {
		return "", opSpec{}, "", false
	}
	return term[:firstI], firstOp, term[firstI+len(firstOp.text):], true
}

// compileCond compiles one condition. It returns (nil, nil) for an invalid
// part (unknown column, no operator) and an error for what the fake refuses.
func compileCond(term string, env queryEnv) (*cond, error) {
	field, op, value, ok := splitCond(term, env)
	if !ok {
		return nil, nil
	}
	get, col, valid := env.s.resolvePath(env.t, field)
	if !valid {
		return nil, nil
	}
	if env.mode == InvalidQueryForbidden && env.hidden != nil {
		first := field
		if i := strings.IndexByte(field, '.'); i >= 0 {
			first = field[:i]
		}
		if env.hidden(env.t, first) {
			return nil, &apiError{status: 403, message: "Insufficient rights to query records",
				detail: strp("Field(s) present in the query do not have permission to be read")}
		}
	}
	c := &cond{path: field, get: get, col: col, op: op.code, numeric: col.numeric}
	isTime := col.typ == TypeDateTime || col.typ == TypeDate || col.typ == TypeDuration
	resolve := func(v string) (string, error) {
		if strings.HasPrefix(v, "javascript:") {
			out, err := evalJS(strings.TrimPrefix(v, "javascript:"), env)
			if err != nil {
				return "", err
			}
			v = out
		}
		if isTime {
			if n, ok := normDateTime(v); ok && n != "" {
				if col.typ == TypeDate {
					n = n[:10]
				}
				return n, nil
			}
		}
		return v, nil
	}
	switch c.op {
	case opUnsupported:
		return nil, unsupported("operator %s (in %q) is not evaluated", op.text, term)
	case opEmpty, opNotEmpty, opEmptyString, opAnything:
		return c, nil
	case opIn, opNotIn:
		v, err := resolve(value)
		if err != nil {
			return nil, err
		}
		c.set = map[string]struct{}{}
		if c.numeric {
			c.numSet = map[float64]struct{}{}
		}
		for _, item := range strings.Split(v, ",") {
			c.set[item] = struct{}{}
			if c.numeric {
				if f, err := strconv.ParseFloat(item, 64); err == nil {
					c.numSet[f] = struct{}{}
				}
			}
		}
		return c, nil
	case opBetween, opNotBetween, opOn, opNotOn:
		parts := strings.Split(value, "@")
		if c.op == opOn || c.op == opNotOn {
			if len(parts) != 3 {
				return nil, unsupported("ON/NOTON needs label@start@end, got %q", value)
			}
			parts = parts[1:]
			if c.op == opOn {
				c.op = opBetween
			} else {
				c.op = opNotBetween
			}
		}
		if len(parts) != 2 {
			return nil, unsupported("BETWEEN needs low@high, got %q", value)
		}
		lo, err := resolve(parts[0])
		if err != nil {
			return nil, err
		}
		hi, err := resolve(parts[1])
		if err != nil {
			return nil, err
		}
		c.val, c.hi = lo, hi
		c.num, c.numOK = parseNum(lo)
		c.hiNum, c.hiOK = parseNum(hi)
		return c, nil
	case opSameAs, opNotSameAs, opGtField, opLtField, opGeField, opLeField:
		other := value
		if i := strings.IndexByte(other, '@'); i >= 0 {
			return nil, unsupported("SAMEAS with a date part (%q) is not evaluated", value)
		}
		g2, _, ok := env.s.resolvePath(env.t, other)
		if !ok {
			return nil, nil
		}
		c.get2 = g2
		return c, nil
	case opInstanceOf:
		c.set = map[string]struct{}{}
		if anc := env.s.schema.tables[value]; anc != nil {
			for _, d := range anc.descendants() {
				c.set[d.name] = struct{}{}
			}
		}
		return c, nil
	case opDynamic:
		if value != meDynamic {
			return nil, unsupported("DYNAMIC filter option %q is not evaluated (only %s, \"Me\")", value, meDynamic)
		}
		c.op, c.val = opEq, env.userID
		return c, nil
	case opRelGt, opRelLt, opRelGe, opRelLe:
		t, err := relativeTime(value, env)
		if err != nil {
			return nil, err
		}
		c.val = fmtTime(t)
		if col.typ == TypeDate {
			c.val = c.val[:10]
		}
		c.op = map[opcode]opcode{opRelGt: opGt, opRelLt: opLt, opRelGe: opGe, opRelLe: opLe}[c.op]
		return c, nil
	}
	v, err := resolve(value)
	if err != nil {
		return nil, err
	}
	if v == "NULL" && (c.op == opEq || c.op == opNe) {
		if c.op == opEq {
			c.op = opEmpty
		} else {
			c.op = opNotEmpty
		}
		return c, nil
	}
	c.val = v
	c.num, c.numOK = parseNum(v)
	return c, nil
}

func parseNum(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// relativeTime reads "@hour@ago@1" (unit, ago|ahead, count).
func relativeTime(v string, env queryEnv) (time.Time, error) {
	parts := strings.Split(strings.TrimPrefix(v, "@"), "@")
	if len(parts) != 3 {
		return time.Time{}, unsupported("relative operator needs @unit@ago|ahead@n, got %q", v)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil {
		return time.Time{}, unsupported("relative operator count %q is not a number", parts[2])
	}
	if parts[1] == "ago" {
		n = -n
	} else if parts[1] != "ahead" {
		return time.Time{}, unsupported("relative operator direction %q is neither ago nor ahead", parts[1])
	}
	now := env.now
	switch parts[0] {
	case "second":
		return now.Add(time.Duration(n) * time.Second), nil
	case "minute":
		return now.Add(time.Duration(n) * time.Minute), nil
	case "hour":
		return now.Add(time.Duration(n) * time.Hour), nil
	case "day":
		return now.AddDate(0, 0, n), nil
	case "week":
		return now.AddDate(0, 0, 7*n), nil
	case "month":
		return now.AddDate(0, n, 0), nil
	case "quarter":
		return now.AddDate(0, 3*n, 0), nil
	case "year":
		return now.AddDate(n, 0, 0), nil
	}
	return time.Time{}, unsupported("relative operator unit %q is not known", parts[0])
}

// resolvePath resolves a column or dot-walked path ("caller_id.email") on t
// into a getter for query conditions and ordering.
func (s *Server) resolvePath(t *tableDef, path string) (getter, *column, bool) {
	steps, col, ok := s.walkPath(t, path)
	if !ok {
		return nil, nil, false
	}
	if len(steps) == 1 {
		i := steps[0].idx
		return func(r *record) string { return r.vals[i] }, col, true
	}
	return func(r *record) string {
		row, idx := s.resolve(r, steps)
		if row == nil {
			return ""
		}
		return row.vals[idx]
	}, col, true
}

// evalValue evaluates the condition on v, the value of its column in r.
func (c *cond) evalValue(v string, r *record) bool {
	switch c.op {
	case opEq:
		return c.equal(v)
	case opNe:
		return !c.equal(v)
	case opGt, opGe, opLt, opLe:
		if v == "" {
			return false
		}
		cmp, ok := c.compare(v, c.val, c.num, c.numOK)
		if !ok {
			return false
		}
		switch c.op {
		case opGt:
			return cmp > 0
		case opGe:
			return cmp >= 0
		case opLt:
			return cmp < 0
		}
		return cmp <= 0
	case opLike:
		return containsFold(v, c.val)
	case opNotLike:
		return !containsFold(v, c.val)
	case opStarts:
		return len(v) >= len(c.val) && strings.EqualFold(v[:len(c.val)], c.val)
	case opEnds:
		return len(v) >= len(c.val) && strings.EqualFold(v[len(v)-len(c.val):], c.val)
	case opIn:
		return c.in(v)
	case opNotIn:
		return !c.in(v)
	case opEmpty, opEmptyString:
		return v == ""
	case opNotEmpty:
		return v != ""
	case opAnything:
		return true
	case opBetween, opNotBetween:
		in := false
		if v != "" {
			lo, ok1 := c.compare(v, c.val, c.num, c.numOK)
			hi, ok2 := c.compare(v, c.hi, c.hiNum, c.hiOK)
			in = ok1 && ok2 && lo >= 0 && hi <= 0
		}
		if c.op == opNotBetween {
			return v != "" && !in
		}
		return in
	case opSameAs:
		return v == c.get2(r)
	case opNotSameAs:
		return v != c.get2(r)
	case opGtField, opLtField, opGeField, opLeField:
		w := c.get2(r)
		if v == "" || w == "" {
			return false
		}
		n, ok := parseNum(w)
		cmp, ok := c.compare(v, w, n, ok)
		if !ok {
			return false
		}
		switch c.op {
		case opGtField:
			return cmp > 0
		case opLtField:
			return cmp < 0
		case opGeField:
			return cmp >= 0
		}
		return cmp <= 0
	case opInstanceOf:
		_, ok := c.set[v]
		return ok
	}
	return false
}

func (c *cond) equal(v string) bool {
	if c.numeric && c.numOK && v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f == c.num
		}
	}
	return v == c.val
}

func (c *cond) in(v string) bool {
	if c.numSet != nil && v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			_, ok := c.numSet[f]
			return ok
		}
	}
	_, ok := c.set[v]
	return ok
}

// compare orders v against w (w's number already parsed): numerically for
// numeric columns, as strings otherwise (date-times are stored so that
// string order is time order).
func (c *cond) compare(v, w string, wn float64, wok bool) (int, bool) {
	if c.numeric {
		if !wok {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false
		}
		switch {
		case f < wn:
			return -1, true
		case f > wn:
			return 1, true
		}
		return 0, true
	}
	return strings.Compare(v, w), true
}

// containsFold reports whether sub occurs in s, ignoring case.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	n := len(sub)
	if n > len(s) {
		return false
	}
	ascii := true
	for i := 0; i < n; i++ {
		if sub[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
	}
	f0 := lowerASCII(sub[0])
	for i := 0; i+n <= len(s); i++ {
		if lowerASCII(s[i]) != f0 {
			continue
		}
		j := 1
		for ; j < n; j++ {
			if lowerASCII(s[i+j]) != lowerASCII(sub[j]) {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

func lowerASCII(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 32
	}
	return b
}

// seekStart returns the first index of e's rows that any ^NQ group of the
// query can match, using the bounds a keyset cursor puts on the two sort
// keys ("p > T" or "p = T ^ s > S", ordered by p then s), so that a page of a
// keyset walk is found by binary search, as an index would, not by
// scanning from the start of the second. It returns 0 when it cannot tell.
func (cq *compiledQuery) seekStart(e *sortEntry) int {
	if cq.noRows || len(cq.order) == 0 || cq.order[0].desc || cq.order[0].numeric || len(cq.groups) == 0 {
		return 0
	}
	prim := cq.order[0].path
	var sec *orderKey
	if len(cq.order) > 1 && !cq.order[1].desc && !cq.order[1].numeric {
		sec = &cq.order[1]
	}
	start := len(e.rows)
	for _, g := range cq.groups {
		var gt, ge, eq, secGt string
		hasGt, hasGe, hasEq, hasSecGt := false, false, false, false
		for _, clause := range g {
			if len(clause) != 1 {
				continue
			}
			c := clause[0]
			switch {
			case c.path == prim && c.op == opGt && (!hasGt || c.val > gt):
				gt, hasGt = c.val, true
			case c.path == prim && c.op == opGe && (!hasGe || c.val > ge):
				ge, hasGe = c.val, true
			case c.path == prim && c.op == opEq:
				eq, hasEq = c.val, true
			case sec != nil && c.path == sec.path && c.op == opGt && (!hasSecGt || c.val > secGt):
				secGt, hasSecGt = c.val, true
			}
		}
		var idx int
		switch {
		case hasEq && hasSecGt:
			idx = sort.Search(len(e.rows), func(i int) bool {
				p := e.primary[i]
				return p > eq || (p == eq && sec.get(e.rows[i]) > secGt)
			})
		case hasGt:
			idx = sort.Search(len(e.primary), func(i int) bool { return e.primary[i] > gt })
		case hasEq:
			idx = sort.SearchStrings(e.primary, eq)
		case hasGe:
			idx = sort.SearchStrings(e.primary, ge)
		default:
			return 0
		}
		start = min(start, idx)
	}
	return start
}
