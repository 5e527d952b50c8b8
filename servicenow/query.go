package servicenow

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file holds encoded queries (sysparm_query): the Query value, its
// builder, parser, printer, validator, composition and inspection helpers.
//
// Grammar, as ServiceNow reads it (servicenow-api.md §4):
//
//	query  = group *( "^NQ" group )
//	group  = term *( "^" [ "OR" ] term )
//	term   = cond | "GOTO" cond | "ORDERBY" field | "ORDERBYDESC" field
//	       | "GROUPBY" field | "EQ" | "JOIN" field "=" text
//	       | "RLQUERY" field "," text [ "^" query ] "^ENDRLQUERY"
//	cond   = field operator value
//
// There is no escape for "^": a value can never contain one.

// Operator is the operator of a condition, as written in an encoded query:
// "=", "!=", "LIKE", "NOT IN", "ISEMPTY" and so on.
type Operator string

// The operators ServiceNow accepts in encoded queries
// (r_OpAvailableFiltersQueries; servicenow-api.md §4.2).
const (
	OpEquals         Operator = "="  // is
	OpNotEquals      Operator = "!=" // is not (also matches empty/NULL for booleans)
	OpGreaterThan    Operator = ">"
	OpGreaterOrEqual Operator = ">="
	OpLessThan       Operator = "<"
	OpLessOrEqual    Operator = "<="

	OpLike           Operator = "LIKE"             // contains
	OpNotLike        Operator = "NOT LIKE"         // does not contain
	OpLikeShort      Operator = "*"                // contains, short form
	OpNotLikeShort   Operator = "!*"               // does not contain, short form
	OpEndsWithShort  Operator = "%"                // ends with, short form
	OpContains       Operator = "CONTAINS"         // contains (GlideRecord spelling)
	OpDoesNotContain Operator = "DOES NOT CONTAIN" // does not contain (GlideRecord spelling)
	OpStartsWith     Operator = "STARTSWITH"
	OpEndsWith       Operator = "ENDSWITH"
	OpMatchPattern   Operator = "MATCH_PAT"
	OpMatchRegex     Operator = "MATCH_RGX"

	OpIn    Operator = "IN"     // is one of: comma-separated values
	OpNotIn Operator = "NOT IN" // is not one of

	OpIsEmpty     Operator = "ISEMPTY"     // empty or NULL; takes no value
	OpIsNotEmpty  Operator = "ISNOTEMPTY"  // takes no value
	OpEmptyString Operator = "EMPTYSTRING" // takes no value
	OpAnything    Operator = "ANYTHING"    // matches every row, even empty/NULL; takes no value

	OpBetween Operator = "BETWEEN" // inclusive: lo@hi

	OpSameAs              Operator = "SAMEAS"  // value is another field (dates: field@unit)
	OpNotSameAs           Operator = "NSAMEAS" // value is another field
	OpGreaterThanField    Operator = "GT_FIELD"
	OpLessThanField       Operator = "LT_FIELD"
	OpGreaterOrEqualField Operator = "GT_OR_EQUALS_FIELD"
	OpLessOrEqualField    Operator = "LT_OR_EQUALS_FIELD"

	OpDynamic            Operator = "DYNAMIC" // dynamic filter option by sys_id ("Me")
	OpInHierarchy        Operator = "IN_HIERARCHY"
	OpInHierarchyDynamic Operator = "IN_HIERARCHY_DYNAMIC"
	OpInstanceOf         Operator = "INSTANCEOF" // class hierarchy: sys_class_nameINSTANCEOFtask

	OpOn           Operator = "ON"         // label@start@end
	OpNotOn        Operator = "NOTON"      // label@start@end
	OpRelativeGT   Operator = "RELATIVEGT" // @unit@ago|ahead@n
	OpRelativeGE   Operator = "RELATIVEGE"
	OpRelativeLT   Operator = "RELATIVELT"
	OpRelativeLE   Operator = "RELATIVELE"
	OpRelativeEE   Operator = "RELATIVEEE"
	OpDateMoreThan Operator = "MORETHAN" // other_field@unit@before|after@n
	OpDateLessThan Operator = "LESSTHAN" // other_field@unit@before|after@n
	OpDatePart     Operator = "DATEPART" // label@javascript:gs.datePart(...)
	OpSince        Operator = "SINCE"

	OpValChanges  Operator = "VALCHANGES" // notifications only; takes no value
	OpChangesFrom Operator = "CHANGESFROM"
	OpChangesTo   Operator = "CHANGESTO"
	OpDoesNotHave Operator = "DOESNOTHAVE" // tags
	OpExcluding   Operator = "EXCLUDING"   // tags
)

// queryOpClass says how an operator's value is shaped.
type queryOpClass uint8

const (
	queryOpSingle queryOpClass = iota // one value
	queryOpUnary                      // no value
	queryOpList                       // comma-separated values
	queryOpArgs                       // @-separated arguments
)

type queryOpInfo struct {
	class queryOpClass
	// fieldOperand: the value (up to the first @) names another field.
	fieldOperand bool
	// emptyOK: an empty value is meaningful ("field=" is "field is empty").
	emptyOK bool
}

var queryOps = map[Operator]queryOpInfo{
	OpEquals:              {emptyOK: true},
	OpNotEquals:           {emptyOK: true},
	OpGreaterThan:         {},
	OpGreaterOrEqual:      {},
	OpLessThan:            {},
	OpLessOrEqual:         {},
	OpLike:                {},
	OpNotLike:             {},
	OpLikeShort:           {},
	OpNotLikeShort:        {},
	OpEndsWithShort:       {},
	OpContains:            {},
	OpDoesNotContain:      {},
	OpStartsWith:          {},
	OpEndsWith:            {},
	OpMatchPattern:        {},
	OpMatchRegex:          {},
	OpIn:                  {class: queryOpList},
	OpNotIn:               {class: queryOpList},
	OpIsEmpty:             {class: queryOpUnary},
	OpIsNotEmpty:          {class: queryOpUnary},
	OpEmptyString:         {class: queryOpUnary},
	OpAnything:            {class: queryOpUnary},
	OpValChanges:          {class: queryOpUnary},
	OpBetween:             {class: queryOpArgs},
	OpSameAs:              {class: queryOpArgs, fieldOperand: true},
	OpNotSameAs:           {class: queryOpArgs, fieldOperand: true},
	OpGreaterThanField:    {fieldOperand: true},
	OpLessThanField:       {fieldOperand: true},
	OpGreaterOrEqualField: {fieldOperand: true},
	OpLessOrEqualField:    {fieldOperand: true},
	OpDynamic:             {},
	OpInHierarchy:         {class: queryOpArgs},
	OpInHierarchyDynamic:  {class: queryOpArgs},
	OpInstanceOf:          {},
	OpOn:                  {class: queryOpArgs},
	OpNotOn:               {class: queryOpArgs},
	OpRelativeGT:          {class: queryOpArgs},
	OpRelativeGE:          {class: queryOpArgs},
	OpRelativeLT:          {class: queryOpArgs},
	OpRelativeLE:          {class: queryOpArgs},
	OpRelativeEE:          {class: queryOpArgs},
	OpDateMoreThan:        {class: queryOpArgs, fieldOperand: true},
	OpDateLessThan:        {class: queryOpArgs, fieldOperand: true},
	OpDatePart:            {class: queryOpArgs},
	OpSince:               {},
	OpChangesFrom:         {},
	OpChangesTo:           {},
	OpDoesNotHave:         {},
	OpExcluding:           {},
}

// queryWordOps indexes the word operators by their first letter, longest
// first, so that a match at one position is the longest one (INSTANCEOF
// before IN, ISNOTEMPTY before ISEMPTY, NOT IN before NOTON...).
var queryWordOps = func() (idx [26][]Operator) {
	for op := range queryOps {
		if c := op[0]; c >= 'A' && c <= 'Z' {
			idx[c-'A'] = append(idx[c-'A'], op)
		}
	}
	for i := range idx {
		ops := idx[i]
		sort.Slice(ops, func(a, b int) bool {
			if len(ops[a]) != len(ops[b]) {
				return len(ops[a]) > len(ops[b])
			}
			return ops[a] < ops[b]
		})
	}
	return idx
}()

// Known reports whether o is an operator ServiceNow accepts in encoded queries.
func (o Operator) Known() bool {
	_, ok := queryOps[o]
	return ok
}

// Unary reports whether o takes no value (ISEMPTY, ISNOTEMPTY, EMPTYSTRING,
// ANYTHING, VALCHANGES).
func (o Operator) Unary() bool { return queryOps[o].class == queryOpUnary }

const (
	// queryTextSearchField is the keyword-search pseudo-field.
	queryTextSearchField = "123TEXTQUERY321"
	// queryMaxNesting bounds RLQUERY nesting.
	queryMaxNesting = 16
)

// TermKind says what a Term is.
type TermKind uint8

// The kinds of term an encoded query holds.
const (
	// TermCondition is <field><operator><value>, optionally with the GOTO prefix.
	TermCondition TermKind = iota
	// TermOrderBy is ORDERBY<field> or ORDERBYDESC<field> (Desc).
	TermOrderBy
	// TermGroupBy is GROUPBY<field> (list views; ignored by the Table API).
	TermGroupBy
	// TermEnd is the EQ marker that UI-copied filters carry ("active=true^EQ").
	// It holds no condition.
	TermEnd
	// TermJoin is JOIN<table.field>=<other_table.field>!<condition>: Field
	// holds "table.field", Operator "=", Value the rest.
	TermJoin
	// TermRelatedList is RLQUERY<table.reference_field>,<op><count>[,...]^<conditions>^ENDRLQUERY:
	// Field holds "table.reference_field", Value the rest of the header after
	// the first comma (">0,m2m"), and Sub the conditions (nil when none).
	TermRelatedList
	// TermTextSearch is a keyword search, 123TEXTQUERY321=<words>.
	TermTextSearch
)

// String returns the kind's name.
func (k TermKind) String() string {
	switch k {
	case TermCondition:
		return "condition"
	case TermOrderBy:
		return "ORDERBY"
	case TermGroupBy:
		return "GROUPBY"
	case TermEnd:
		return "EQ"
	case TermJoin:
		return "JOIN"
	case TermRelatedList:
		return "RLQUERY"
	case TermTextSearch:
		return "TEXTQUERY"
	}
	return fmt.Sprintf("TermKind(%d)", uint8(k))
}

// Term is one ^-separated part of an encoded query. Which fields are used
// depends on Kind; the others are zero (the printer refuses a term that sets
// a field its kind does not use, rather than silently dropping it).
type Term struct {
	// Kind says what the term is.
	Kind TermKind
	// Or marks a term written after ^OR: it is ORed with the term just
	// before it, which binds tighter than AND (a^b^ORc = a AND (b OR c)).
	// Only filter terms (see IsFilter) directly after another filter term
	// can carry it.
	Or bool
	// Goto marks a condition written with the GOTO prefix (list navigation).
	Goto bool
	// Field is the column of a condition, ORDERBY or GROUPBY term, with
	// dot-walks as written ("caller_id.email"); see TermKind for the others.
	Field string
	// Operator is the operator of a condition or text search ("=" for JOIN).
	Operator Operator
	// Value is everything after the operator, exactly as written: IN lists
	// keep their commas and BETWEEN/ON/RELATIVE arguments their "@"
	// separators (Values splits them). javascript: values are kept verbatim.
	Value string
	// Desc marks ORDERBYDESC.
	Desc bool
	// Sub holds the conditions inside RLQUERY…^ENDRLQUERY, nil when none.
	Sub *Query
}

// Group is one ^NQ-separated alternative of a query: a row matches the group
// when it matches every filter term of it (with ^OR terms binding to the
// term before them).
type Group struct {
	Terms []Term
}

// OrderTerm is one sort key: ORDERBY<Field> or, with Desc, ORDERBYDESC<Field>.
type OrderTerm struct {
	Field string
	Desc  bool
}

// Query is a ServiceNow encoded query (the sysparm_query parameter): a value
// that can be built, parsed, validated, inspected, combined and printed.
//
// Build one with NewQuery and the chainable methods, or read one with
// ParseQuery. Every method leaves its receiver unchanged and returns a new
// Query, so a base filter can be shared and extended freely (also across
// goroutines). The exported AST (Groups and their Terms) is there to be
// read: treat it as read-only, or Clone the query before changing it.
//
// The builder cannot return errors from chained calls: the first problem (a
// value containing "^", a bad field name, Or() with nothing before it...) is
// recorded and reported by Err and Build, and String returns a string that
// no ServiceNow client would send (see String). The methods on a nil *Query
// treat it as an empty query.
type Query struct {
	// Groups are the ^NQ-separated alternatives: a row matches the query when
	// it matches at least one group. A query without groups, or with one
	// group without filter terms, matches every row.
	Groups []Group

	err       error
	pendingOr bool
}

// NewQuery returns an empty query, to be extended with the builder methods:
//
//	q := servicenow.NewQuery().Equals("active", "true").OrderBy("number")
func NewQuery() *Query { return &Query{} }

// JS returns a javascript: value, run by the instance when it evaluates the
// query: JS("gs.hoursAgoStart(1)") is "javascript:gs.hoursAgoStart(1)".
// Such values depend on when the request runs (and, for gs.dateGenerate, on
// the user's time zone); a sync cursor should use absolute times instead.
func JS(expr string) string { return "javascript:" + expr }

// QueryError says what is wrong with an encoded query and how to fix it. It
// comes from ParseQuery (Query, Offset and Term say where) and from the
// builder (Field says which condition; Offset is -1).
type QueryError struct {
	// Query is the text that was parsed ("" for builder errors).
	Query string
	// Offset is the byte offset in Query of the problem, or -1.
	Offset int
	// Term is the ^-separated term at fault, as written ("" if none).
	Term string
	// Field is the field of the condition at fault, when known.
	Field string
	// Reason says what is wrong and how to fix it.
	Reason string

	text string // verbatim message (checkQuery of a builder's String)
}

// Error returns the message, e.g.
// `servicenow: invalid encoded query at offset 12 (term "priorityEMPTY"): ...`.
func (e *QueryError) Error() string {
	if e.text != "" {
		return e.text
	}
	var b strings.Builder
	if e.Query != "" || e.Offset >= 0 {
		b.WriteString("servicenow: invalid encoded query")
		if e.Offset >= 0 {
			fmt.Fprintf(&b, " at offset %d", e.Offset)
		}
		if e.Term != "" {
			fmt.Fprintf(&b, " (term %q)", queryShorten(e.Term, 80))
		}
	} else {
		b.WriteString("servicenow: invalid query")
		if e.Field != "" {
			fmt.Fprintf(&b, ": field %q", queryShorten(e.Field, 80))
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

func queryShorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func queryBuildError(field, reason string) *QueryError {
	return &QueryError{Offset: -1, Field: field, Reason: reason}
}

// checkQuery is the last check a client makes on a sysparm_query before any
// I/O. It refuses the string a Query with an error prints (which starts with
// NUL, see Query.String), returning the builder's message, and any query
// with a NUL, CR or LF, which cannot be a valid encoded query. The empty
// query passes: it means "no filter".
func checkQuery(q string) error {
	if strings.HasPrefix(q, "\x00") {
		msg := q[1:]
		if msg == "" {
			msg = "servicenow: invalid query"
		}
		return &QueryError{Offset: -1, Reason: msg, text: msg}
	}
	if i := strings.IndexAny(q, "\x00\r\n"); i >= 0 {
		return &QueryError{Query: q, Offset: i, Reason: "the query " + queryBadByteReason(q[i])}
	}
	return nil
}

// queryBadByteReason completes "the value " or "the query " for a byte no
// encoded query can hold.
func queryBadByteReason(c byte) string {
	switch c {
	case '^':
		return "contains '^', the term separator, which ServiceNow cannot escape: remove it, or match the text around it with LIKE or STARTSWITH"
	case '\r', '\n':
		return "contains a line break: an encoded query is a single line"
	default:
		return "contains a NUL byte"
	}
}

// ---------------------------------------------------------------------------
// Builder

// clone copies q's groups and term slices (not Sub queries, which are never
// modified) so that appending to the copy leaves q untouched.
func (q *Query) clone() *Query {
	if q == nil {
		return &Query{}
	}
	c := &Query{err: q.err, pendingOr: q.pendingOr}
	if q.Groups != nil {
		c.Groups = make([]Group, len(q.Groups))
		for i, g := range q.Groups {
			if g.Terms != nil {
				c.Groups[i].Terms = append(make([]Term, 0, len(g.Terms)+1), g.Terms...)
			}
		}
	}
	return c
}

// Clone returns a deep copy of q, whose AST can be changed without touching q.
func (q *Query) Clone() *Query {
	c := q.clone()
	for gi := range c.Groups {
		for ti := range c.Groups[gi].Terms {
			if t := &c.Groups[gi].Terms[ti]; t.Sub != nil {
				t.Sub = t.Sub.Clone()
			}
		}
	}
	return c
}

// lastTerm returns the last term of the last group, or nil.
func (q *Query) lastTerm() *Term {
	if len(q.Groups) == 0 {
		return nil
	}
	g := &q.Groups[len(q.Groups)-1]
	if len(g.Terms) == 0 {
		return nil
	}
	return &g.Terms[len(g.Terms)-1]
}

// add returns a copy of q with t appended to its last group, or with an
// error recorded when t is not valid there.
func (q *Query) add(t Term) *Query {
	c := q.clone()
	if c.err != nil {
		return c
	}
	if c.pendingOr {
		if !t.IsFilter() {
			c.err = queryBuildError(t.Field, fmt.Sprintf("Or() must be followed by a condition, not %s", t.Kind))
			return c
		}
		t.Or = true
	}
	if err := queryCheckTerm(&t, c.lastTerm(), 0); err != nil {
		if err.Field == "" {
			err.Field = t.Field
		}
		c.err = err
		return c
	}
	c.pendingOr = false
	if len(c.Groups) == 0 {
		c.Groups = []Group{{}}
	}
	g := &c.Groups[len(c.Groups)-1]
	g.Terms = append(g.Terms, t)
	return c
}

// fail returns a copy of q carrying err (unless q already carries one).
func (q *Query) fail(err *QueryError) *Query {
	c := q.clone()
	if c.err == nil {
		c.err = err
	}
	return c
}

// Where adds the condition <field><op><value>, for any operator. The value
// is written as given (javascript: values included). It is refused when it
// contains "^", a line break or NUL, when op takes no value and value is not
// empty, or when it would read back differently (a ">" value starting with
// "=" would turn the operator into ">=").
func (q *Query) Where(field string, op Operator, value string) *Query {
	return q.add(Term{Kind: TermCondition, Field: field, Operator: op, Value: value})
}

// Equals adds field=value. An empty value matches rows where field is empty.
func (q *Query) Equals(field, value string) *Query { return q.Where(field, OpEquals, value) }

// NotEquals adds field!=value (for booleans this also matches empty/NULL).
func (q *Query) NotEquals(field, value string) *Query { return q.Where(field, OpNotEquals, value) }

// GreaterThan adds field>value.
func (q *Query) GreaterThan(field, value string) *Query { return q.Where(field, OpGreaterThan, value) }

// GreaterOrEqual adds field>=value.
func (q *Query) GreaterOrEqual(field, value string) *Query {
	return q.Where(field, OpGreaterOrEqual, value)
}

// LessThan adds field<value.
func (q *Query) LessThan(field, value string) *Query { return q.Where(field, OpLessThan, value) }

// LessOrEqual adds field<=value.
func (q *Query) LessOrEqual(field, value string) *Query { return q.Where(field, OpLessOrEqual, value) }

// Like adds fieldLIKEvalue: field contains value (case-insensitive in practice).
func (q *Query) Like(field, value string) *Query { return q.Where(field, OpLike, value) }

// NotLike adds fieldNOT LIKEvalue: field does not contain value.
func (q *Query) NotLike(field, value string) *Query { return q.Where(field, OpNotLike, value) }

// StartsWith adds fieldSTARTSWITHvalue.
func (q *Query) StartsWith(field, value string) *Query { return q.Where(field, OpStartsWith, value) }

// EndsWith adds fieldENDSWITHvalue.
func (q *Query) EndsWith(field, value string) *Query { return q.Where(field, OpEndsWith, value) }

// In adds fieldINv1,v2,...: field is one of values. At least one value is
// needed, and no value may be empty or contain "," (the list separator,
// which has no escape).
func (q *Query) In(field string, values ...string) *Query { return q.list(field, OpIn, values) }

// NotIn adds fieldNOT INv1,v2,...: field is none of values. The rules of In apply.
func (q *Query) NotIn(field string, values ...string) *Query { return q.list(field, OpNotIn, values) }

func (q *Query) list(field string, op Operator, values []string) *Query {
	if len(values) == 0 {
		return q.fail(queryBuildError(field, fmt.Sprintf("%s needs at least one value (an empty list may be ignored by the instance, which would then return every row)", op)))
	}
	for i, v := range values {
		switch {
		case v == "":
			return q.fail(queryBuildError(field, fmt.Sprintf("%s value %d is empty", op, i+1)))
		case strings.Contains(v, ","):
			return q.fail(queryBuildError(field, fmt.Sprintf("%s value %d (%q) contains ',', which always separates list items (there is no escape); use several conditions joined with Or() instead", op, i+1, queryShorten(v, 60))))
		}
	}
	return q.Where(field, op, strings.Join(values, ","))
}

// IsEmpty adds fieldISEMPTY: field is empty or NULL.
func (q *Query) IsEmpty(field string) *Query { return q.Where(field, OpIsEmpty, "") }

// IsNotEmpty adds fieldISNOTEMPTY.
func (q *Query) IsNotEmpty(field string) *Query { return q.Where(field, OpIsNotEmpty, "") }

// EmptyString adds fieldEMPTYSTRING.
func (q *Query) EmptyString(field string) *Query { return q.Where(field, OpEmptyString, "") }

// Anything adds fieldANYTHING, which matches every row (empty and NULL too).
func (q *Query) Anything(field string) *Query { return q.Where(field, OpAnything, "") }

// Between adds fieldBETWEENlo@hi (inclusive). Neither end may be empty or
// contain "@", the separator.
func (q *Query) Between(field, lo, hi string) *Query {
	for _, end := range []struct{ name, v string }{{"lower", lo}, {"upper", hi}} {
		switch {
		case end.v == "":
			return q.fail(queryBuildError(field, fmt.Sprintf("BETWEEN %s end is empty", end.name)))
		case strings.Contains(end.v, "@"):
			return q.fail(queryBuildError(field, fmt.Sprintf("BETWEEN %s end %q contains '@', which separates the two ends (there is no escape)", end.name, queryShorten(end.v, 60))))
		}
	}
	return q.Where(field, OpBetween, lo+"@"+hi)
}

// SameAs adds fieldSAMEASother: both fields hold the same value.
func (q *Query) SameAs(field, other string) *Query { return q.fieldCompare(field, OpSameAs, other) }

// NotSameAs adds fieldNSAMEASother: the two fields differ.
func (q *Query) NotSameAs(field, other string) *Query {
	return q.fieldCompare(field, OpNotSameAs, other)
}

// GreaterThanField adds fieldGT_FIELDother (numbers).
func (q *Query) GreaterThanField(field, other string) *Query {
	return q.fieldCompare(field, OpGreaterThanField, other)
}

// LessThanField adds fieldLT_FIELDother (numbers).
func (q *Query) LessThanField(field, other string) *Query {
	return q.fieldCompare(field, OpLessThanField, other)
}

// GreaterOrEqualField adds fieldGT_OR_EQUALS_FIELDother (numbers).
func (q *Query) GreaterOrEqualField(field, other string) *Query {
	return q.fieldCompare(field, OpGreaterOrEqualField, other)
}

// LessOrEqualField adds fieldLT_OR_EQUALS_FIELDother (numbers).
func (q *Query) LessOrEqualField(field, other string) *Query {
	return q.fieldCompare(field, OpLessOrEqualField, other)
}

func (q *Query) fieldCompare(field string, op Operator, other string) *Query {
	if r := queryCheckFieldSyntax(other); r != "" {
		return q.fail(queryBuildError(field, fmt.Sprintf("%s compares with another field: %s", op, r)))
	}
	return q.Where(field, op, other)
}

// InstanceOf adds fieldINSTANCEOFtable: the record's class is table or
// extends it (field is normally sys_class_name).
func (q *Query) InstanceOf(field, table string) *Query {
	if r := queryCheckFieldSyntax(table); r != "" {
		return q.fail(queryBuildError(field, "INSTANCEOF needs a table name: "+strings.Replace(r, "field name", "table name", 1)))
	}
	return q.Where(field, OpInstanceOf, table)
}

// Dynamic adds fieldDYNAMIC<sysID>, a dynamic filter option such as "Me"
// (90d1921e5f510100a9ad2572f2b477fe).
func (q *Query) Dynamic(field, sysID string) *Query { return q.Where(field, OpDynamic, sysID) }

// TextSearch adds a keyword search, 123TEXTQUERY321=words.
func (q *Query) TextSearch(words string) *Query {
	return q.add(Term{Kind: TermTextSearch, Field: queryTextSearchField, Operator: OpEquals, Value: words})
}

// After adds field>t, t written as a ServiceNow date-time literal in UTC
// (TimeLayout), whatever t's location. ServiceNow stores whole seconds, so
// the sub-second part of t is dropped.
func (q *Query) After(field string, t time.Time) *Query { return q.timeCond(field, OpGreaterThan, t) }

// AtOrAfter adds field>=t (t in UTC, whole seconds; see After).
func (q *Query) AtOrAfter(field string, t time.Time) *Query {
	return q.timeCond(field, OpGreaterOrEqual, t)
}

// Before adds field<t (t in UTC, whole seconds; see After).
func (q *Query) Before(field string, t time.Time) *Query { return q.timeCond(field, OpLessThan, t) }

// AtOrBefore adds field<=t (t in UTC, whole seconds; see After).
func (q *Query) AtOrBefore(field string, t time.Time) *Query {
	return q.timeCond(field, OpLessOrEqual, t)
}

// At adds field=t (t in UTC, whole seconds; see After).
func (q *Query) At(field string, t time.Time) *Query { return q.timeCond(field, OpEquals, t) }

// BetweenTimes adds fieldBETWEENfrom@to (inclusive, UTC, whole seconds).
// from must not be after to.
func (q *Query) BetweenTimes(field string, from, to time.Time) *Query {
	lo, r := queryFormatTime(from)
	if r == "" {
		var hi string
		if hi, r = queryFormatTime(to); r == "" {
			if from.After(to) {
				return q.fail(queryBuildError(field, fmt.Sprintf("BetweenTimes: from (%s) is after to (%s)", lo, hi)))
			}
			return q.Between(field, lo, hi)
		}
	}
	return q.fail(queryBuildError(field, r))
}

func (q *Query) timeCond(field string, op Operator, t time.Time) *Query {
	s, r := queryFormatTime(t)
	if r != "" {
		return q.fail(queryBuildError(field, r))
	}
	return q.Where(field, op, s)
}

// queryFormatTime writes t as a ServiceNow date-time literal in UTC.
func queryFormatTime(t time.Time) (string, string) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return "", fmt.Sprintf("time %s is outside the years 0000-9999 a ServiceNow date-time can hold", t.Format(time.RFC3339))
	}
	return u.Format(TimeLayout), ""
}

// Or makes the next condition an OR with the condition just before it:
// NewQuery().Equals("a", "1").Equals("b", "2").Or().Equals("c", "3") is
// a=1^b=2^ORc=3, that is a AND (b OR c). It needs a condition before it in
// the same group, and a condition after it.
func (q *Query) Or() *Query {
	c := q.clone()
	switch {
	case c.err != nil:
	case c.pendingOr:
		c.err = queryBuildError("", "Or() called twice in a row")
	case c.lastTerm() == nil || !c.lastTerm().IsFilter():
		c.err = queryBuildError("", "Or() needs a condition just before it in the same group (at the start of a query or after NQ() there is nothing to OR with)")
	default:
		c.pendingOr = true
	}
	return c
}

// NQ starts a new group (^NQ): the query then matches the rows that match
// all the conditions before it or all the conditions after it. It needs a
// condition before it, and one after it.
func (q *Query) NQ() *Query {
	c := q.clone()
	switch {
	case c.err != nil:
	case c.pendingOr:
		c.err = queryBuildError("", "Or() must be followed by a condition, not NQ()")
	case len(c.Groups) == 0 || !queryHasFilter(c.Groups[len(c.Groups)-1].Terms):
		c.err = queryBuildError("", "NQ() needs a condition before it: an empty ^NQ group would match every row")
	default:
		c.Groups = append(c.Groups, Group{})
	}
	return c
}

// OrderBy adds ORDERBYfield (ascending). The first ORDERBY is the primary sort.
func (q *Query) OrderBy(field string) *Query {
	return q.add(Term{Kind: TermOrderBy, Field: field})
}

// OrderByDesc adds ORDERBYDESCfield (descending).
func (q *Query) OrderByDesc(field string) *Query {
	return q.add(Term{Kind: TermOrderBy, Field: field, Desc: true})
}

// Err returns the first problem recorded by the builder or found in the
// AST (a *QueryError), or nil when the query can be sent.
func (q *Query) Err() error {
	if err := queryValidate(q, 0); err != nil {
		return err
	}
	return nil
}

// Build returns the encoded query, or the error that makes it unusable. The
// empty string (no groups) is a valid query that matches every row.
func (q *Query) Build() (string, error) {
	if err := q.Err(); err != nil {
		return "", err
	}
	return string(queryAppend(nil, q, nil)), nil
}

// String returns the encoded query. For a query holding an error it returns
// "\x00" followed by the error text: never the empty string (which would
// mean "every row") nor a partial filter that matches more rows than
// intended. The clients of this package refuse such a query (any
// sysparm_query containing NUL, CR or LF) before any I/O, with the builder's
// message. Use Build to get the error directly.
func (q *Query) String() string {
	s, err := q.Build()
	if err != nil {
		return "\x00" + err.Error()
	}
	return s
}

// ---------------------------------------------------------------------------
// Terms

// IsFilter reports whether t restricts rows: a condition, JOIN, RLQUERY or
// text search (not ORDERBY, GROUPBY or EQ).
func (t Term) IsFilter() bool {
	switch t.Kind {
	case TermCondition, TermJoin, TermRelatedList, TermTextSearch:
		return true
	}
	return false
}

// String returns the term as written in an encoded query, without the "^"
// or "^OR" before it.
func (t Term) String() string { return string(queryAppendTerm(nil, &t, nil)) }

// Values splits a condition's value the way ServiceNow does: an IN or NOT IN
// list at its commas, the arguments of BETWEEN, ON, NOTON, RELATIVE*,
// MORETHAN, LESSTHAN, DATEPART, SAMEAS, NSAMEAS and IN_HIERARCHY at "@".
// Operators without a value give nil; the others give the value alone.
// The split is textual: a javascript: argument containing "," or "@" is cut too.
func (t Term) Values() []string {
	if t.Kind != TermCondition && t.Kind != TermTextSearch {
		return nil
	}
	switch queryOps[t.Operator].class {
	case queryOpUnary:
		return nil
	case queryOpList:
		return strings.Split(t.Value, ",")
	case queryOpArgs:
		return strings.Split(t.Value, "@")
	}
	return []string{t.Value}
}

func queryHasFilter(terms []Term) bool {
	for i := range terms {
		if terms[i].IsFilter() {
			return true
		}
	}
	return false
}

func queryIsFieldByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// queryMatchWordOp returns the longest word operator s starts with.
func queryMatchWordOp(s string) Operator {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return ""
	}
	for _, op := range queryWordOps[s[0]-'A'] {
		if strings.HasPrefix(s, string(op)) {
			return op
		}
	}
	return ""
}

// queryMatchSymbolOp returns the longest symbol operator s starts with.
func queryMatchSymbolOp(s string) Operator {
	if s == "" {
		return ""
	}
	switch s[0] {
	case '=':
		return OpEquals
	case '!':
		if len(s) > 1 {
			switch s[1] {
			case '=':
				return OpNotEquals
			case '*':
				return OpNotLikeShort
			}
		}
	case '>':
		if len(s) > 1 && s[1] == '=' {
			return OpGreaterOrEqual
		}
		return OpGreaterThan
	case '<':
		if len(s) > 1 && s[1] == '=' {
			return OpLessOrEqual
		}
		return OpLessThan
	case '*':
		return OpLikeShort
	case '%':
		return OpEndsWithShort
	}
	return ""
}

func queryDescribeAt(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError {
		return fmt.Sprintf("the byte 0x%02X (not UTF-8)", s[i])
	}
	if r < 0x80 && unicode.IsPrint(r) {
		return fmt.Sprintf("%q", string(r))
	}
	return fmt.Sprintf("%q (U+%04X)", string(r), r)
}

// queryScanCondition splits <field><operator><value>. The operator is the
// first one found scanning from the left, the longest at that position;
// field names are letters, digits, "_" and ".", so a symbol operator ends
// the field, and a word operator is recognised wherever its upper-case
// letters start (ServiceNow column names are lower-case).
func queryScanCondition(s string) (field string, op Operator, value string, at int, reason string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if op := queryMatchWordOp(s[i:]); op != "" {
				return s[:i], op, s[i+len(op):], 0, ""
			}
		case queryIsFieldByte(c):
		case c == '=' || c == '!' || c == '<' || c == '>' || c == '*' || c == '%':
			if op := queryMatchSymbolOp(s[i:]); op != "" {
				return s[:i], op, s[i+len(op):], 0, ""
			}
			return "", "", "", i, fmt.Sprintf("%q is not an operator after field %q (use != for 'is not', !* for 'does not contain')", s[i:i+1], s[:i])
		default:
			return "", "", "", i, fmt.Sprintf("unexpected %s in field name %q: field names use letters, digits, '_' and '.' (dot-walks), and the operator follows the field directly", queryDescribeAt(s, i), s[:i])
		}
	}
	return "", "", "", 0, queryNoOperatorReason(s)
}

func queryNoOperatorReason(s string) string {
	hint := ""
	switch {
	case strings.Contains(s, "NOTEMPTY"):
		hint = "; NOTEMPTY is not an encoded-query operator, use ISNOTEMPTY"
	case strings.Contains(s, "EMPTY"):
		hint = "; EMPTY is not an encoded-query operator, use ISEMPTY (empty or NULL) or EMPTYSTRING"
	case strings.Contains(s, "DESC"):
		hint = "; to sort descending write ORDERBYDESC<field>"
	}
	return fmt.Sprintf("no operator in %q: a condition is <field><operator><value>, e.g. active=true or short_descriptionLIKEvpn%s", queryShorten(s, 60), hint)
}

// queryCheckFieldSyntax checks the characters and dot-walk segments of a
// field name.
func queryCheckFieldSyntax(f string) string {
	if f == "" {
		return "the field name is empty"
	}
	for i := 0; i < len(f); i++ {
		if !queryIsFieldByte(f[i]) {
			return fmt.Sprintf("field name %q contains %s: field names use letters, digits, '_' and '.' (dot-walks) only", queryShorten(f, 60), queryDescribeAt(f, i))
		}
	}
	if f[0] == '.' || f[len(f)-1] == '.' || strings.Contains(f, "..") {
		return fmt.Sprintf("field name %q has an empty dot-walk segment", f)
	}
	return ""
}

var queryReservedPrefixes = []struct{ prefix, meaning string }{
	{"OR", "^OR (or ORDERBY)"},
	{"NQ", "^NQ (a new query)"},
	{"GOTO", "the GOTO prefix"},
	{"JOIN", "a JOIN term"},
	{"RLQUERY", "a related-list query"},
	{"GROUPBY", "GROUPBY"},
}

// queryCheckConditionField checks the field of a condition: syntax, no
// prefix that reads as a keyword, no operator inside the name.
func queryCheckConditionField(f string) string {
	if r := queryCheckFieldSyntax(f); r != "" {
		return r
	}
	for _, kw := range queryReservedPrefixes {
		if strings.HasPrefix(f, kw.prefix) {
			return fmt.Sprintf("field name %q starts with %s, which ServiceNow reads as %s; ServiceNow column names are lower-case", f, kw.prefix, kw.meaning)
		}
	}
	if f == queryTextSearchField {
		return "123TEXTQUERY321 is the keyword-search pseudo-field: use TextSearch (Kind TermTextSearch)"
	}
	for i := 0; i < len(f); i++ {
		if op := queryMatchWordOp(f[i:]); op != "" {
			return fmt.Sprintf("field name %q contains %q, which ServiceNow reads as an operator (%q + %s + %q); ServiceNow column names are lower-case", f, op, f[:i], op, f[i+len(op):])
		}
	}
	return ""
}

// queryCheckValueBytes refuses what no value can hold.
func queryCheckValueBytes(v string) string {
	if i := strings.IndexAny(v, "^\r\n\x00"); i >= 0 {
		return "the value " + queryBadByteReason(v[i])
	}
	return ""
}

// queryParseSimple parses one term that is neither RLQUERY nor ENDRLQUERY
// and has no ^, OR or NQ prefix. On failure it returns the offset in text of
// the problem and the reason.
func queryParseSimple(text string) (Term, int, string) {
	switch {
	case text == "EQ":
		return Term{Kind: TermEnd}, 0, ""
	case strings.HasPrefix(text, "ORDERBYDESC"):
		f := text[len("ORDERBYDESC"):]
		if r := queryCheckOrderField(f, "ORDERBYDESC", true); r != "" {
			return Term{}, len("ORDERBYDESC"), r
		}
		return Term{Kind: TermOrderBy, Field: f, Desc: true}, 0, ""
	case strings.HasPrefix(text, "ORDERBY"):
		f := text[len("ORDERBY"):]
		if r := queryCheckOrderField(f, "ORDERBY", false); r != "" {
			return Term{}, len("ORDERBY"), r
		}
		return Term{Kind: TermOrderBy, Field: f}, 0, ""
	case strings.HasPrefix(text, "GROUPBY"):
		f := text[len("GROUPBY"):]
		if r := queryCheckOrderField(f, "GROUPBY", false); r != "" {
			return Term{}, len("GROUPBY"), r
		}
		return Term{Kind: TermGroupBy, Field: f}, 0, ""
	case strings.HasPrefix(text, "JOIN"):
		rest := text[len("JOIN"):]
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return Term{}, len("JOIN"), "a JOIN term is JOIN<table>.<field>=<other_table>.<field>!<condition>; this one has no '='"
		}
		if r := queryCheckFieldSyntax(rest[:eq]); r != "" {
			return Term{}, len("JOIN"), "JOIN: " + r
		}
		if rest[eq+1:] == "" {
			return Term{}, len("JOIN") + eq + 1, "JOIN needs <other_table>.<field> after '='"
		}
		return Term{Kind: TermJoin, Field: rest[:eq], Operator: OpEquals, Value: rest[eq+1:]}, 0, ""
	case strings.HasPrefix(text, "RLQUERY"), text == "ENDRLQUERY":
		return Term{}, 0, "RLQUERY/ENDRLQUERY out of place"
	}
	base := 0
	goTo := strings.HasPrefix(text, "GOTO")
	if goTo {
		base = len("GOTO")
		text = text[base:]
	}
	field, op, value, at, reason := queryScanCondition(text)
	if reason != "" {
		return Term{}, base + at, reason
	}
	if field == "" {
		return Term{}, base, fmt.Sprintf("operator %q has no field name before it", op)
	}
	t := Term{Kind: TermCondition, Goto: goTo, Field: field, Operator: op, Value: value}
	if field == queryTextSearchField {
		if goTo {
			return Term{}, 0, "GOTO cannot prefix a keyword search"
		}
		t.Kind = TermTextSearch
	} else if r := queryCheckConditionField(field); r != "" {
		return Term{}, base, r
	}
	if op.Unary() && value != "" {
		return Term{}, base + len(field) + len(op), fmt.Sprintf("operator %s takes no value, but %q follows it", op, queryShorten(value, 40))
	}
	return t, 0, ""
}

func queryCheckOrderField(f, keyword string, desc bool) string {
	if f == "" {
		return keyword + " needs a field name after it"
	}
	if r := queryCheckFieldSyntax(f); r != "" {
		return r
	}
	if keyword == "ORDERBY" && !desc && strings.HasPrefix(f, "DESC") {
		return fmt.Sprintf("field name %q starts with DESC, so ORDERBY%s would read as a descending sort on %q", f, f, f[len("DESC"):])
	}
	return ""
}

// queryCheckTerm checks one term in its place (prev is the term before it in
// its group, or nil). It is the single set of rules behind the builder, the
// printer and the parser.
func queryCheckTerm(t, prev *Term, depth int) *QueryError {
	bad := func(format string, args ...any) *QueryError {
		return queryBuildError(t.Field, fmt.Sprintf(format, args...))
	}
	if t.Or {
		switch {
		case !t.IsFilter():
			return bad("%s cannot be ORed (^OR needs a condition)", t.Kind)
		case prev == nil:
			return bad("^OR needs a condition just before it in the same group; at the start of a query or after ^NQ there is nothing to OR with")
		case !prev.IsFilter():
			return bad("^OR needs a condition just before it, not %s", prev.Kind)
		case strings.HasPrefix(t.String(), "DERBY"):
			return bad("a term starting with DERBY cannot follow ^OR: ^ORDERBY reads as a sort")
		}
	}
	if t.Goto && t.Kind != TermCondition {
		return bad("GOTO can only prefix a condition, not %s", t.Kind)
	}
	if t.Desc && t.Kind != TermOrderBy {
		return bad("Desc is only for ORDERBY terms")
	}
	if t.Sub != nil && t.Kind != TermRelatedList {
		return bad("Sub is only for RLQUERY terms")
	}
	switch t.Kind {
	case TermCondition, TermTextSearch:
		if t.Kind == TermTextSearch && t.Field != queryTextSearchField {
			return bad("a text-search term has the field 123TEXTQUERY321")
		}
		if t.Kind == TermCondition {
			if r := queryCheckConditionField(t.Field); r != "" {
				return bad("%s", r)
			}
		}
		if !t.Operator.Known() {
			return bad("unknown operator %q", t.Operator)
		}
		if r := queryCheckValueBytes(t.Value); r != "" {
			return bad("%s", r)
		}
		if t.Operator.Unary() && t.Value != "" {
			return bad("operator %s takes no value, but got %q", t.Operator, queryShorten(t.Value, 40))
		}
		text := t.String()
		got, _, reason := queryParseSimple(text)
		if reason != "" {
			return bad("%s", reason)
		}
		if got.Kind != t.Kind || got.Field != t.Field || got.Operator != t.Operator || got.Value != t.Value || got.Goto != t.Goto {
			if got.Field == t.Field && got.Operator != t.Operator {
				return bad("the value %q extends the operator: %q reads as operator %s with value %q", queryShorten(t.Value, 40), queryShorten(text, 60), got.Operator, queryShorten(got.Value, 40))
			}
			return bad("%q would read back as field %q, operator %q, value %q", queryShorten(text, 60), got.Field, got.Operator, queryShorten(got.Value, 40))
		}
	case TermOrderBy, TermGroupBy:
		if t.Operator != "" || t.Value != "" {
			return bad("%s terms have no operator or value", t.Kind)
		}
		kw := "GROUPBY"
		if t.Kind == TermOrderBy {
			kw = "ORDERBY"
		}
		if r := queryCheckOrderField(t.Field, kw, t.Desc); r != "" {
			return bad("%s", r)
		}
	case TermEnd:
		if t.Field != "" || t.Operator != "" || t.Value != "" {
			return bad("the EQ marker has no field, operator or value")
		}
	case TermJoin:
		if r := queryCheckFieldSyntax(t.Field); r != "" {
			return bad("JOIN: %s", r)
		}
		if t.Operator != OpEquals {
			return bad("a JOIN term uses the operator '=', not %q", t.Operator)
		}
		if t.Value == "" {
			return bad("JOIN needs <other_table>.<field> after '='")
		}
		if r := queryCheckValueBytes(t.Value); r != "" {
			return bad("JOIN: %s", r)
		}
	case TermRelatedList:
		if r := queryCheckFieldSyntax(t.Field); r != "" {
			return bad("RLQUERY: %s", r)
		}
		if t.Operator != "" {
			return bad("an RLQUERY term keeps its operator in Value (e.g. \">0,m2m\")")
		}
		if t.Value == "" {
			return bad("RLQUERY needs <op><count> after the comma, e.g. RLQUERYincident.problem_id,>=1")
		}
		if r := queryCheckValueBytes(t.Value); r != "" {
			return bad("RLQUERY: %s", r)
		}
		if t.Sub != nil {
			if depth+1 > queryMaxNesting {
				return bad("RLQUERY nested more than %d deep", queryMaxNesting)
			}
			if err := queryValidate(t.Sub, depth+1); err != nil {
				return err
			}
		}
	default:
		return bad("unknown term kind %d", uint8(t.Kind))
	}
	return nil
}

// queryValidate checks a whole query: the builder's recorded error, the
// group structure and every term.
func queryValidate(q *Query, depth int) *QueryError {
	if q == nil {
		return nil
	}
	if q.err != nil {
		if qe, ok := q.err.(*QueryError); ok {
			return qe
		}
		return queryBuildError("", q.err.Error())
	}
	if q.pendingOr {
		return queryBuildError("", "Or() must be followed by a condition")
	}
	if len(q.Groups) == 1 && len(q.Groups[0].Terms) == 0 {
		return nil
	}
	for gi, g := range q.Groups {
		if len(g.Terms) == 0 {
			return queryBuildError("", fmt.Sprintf("group %d of %d is empty: NQ() must be followed by a condition", gi+1, len(q.Groups)))
		}
		if len(q.Groups) > 1 && !queryHasFilter(g.Terms) {
			return queryBuildError("", fmt.Sprintf("group %d of %d has no condition: joined with ^NQ it would match every row", gi+1, len(q.Groups)))
		}
		for ti := range g.Terms {
			var prev *Term
			if ti > 0 {
				prev = &g.Terms[ti-1]
			}
			if err := queryCheckTerm(&g.Terms[ti], prev, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Printer

// queryAppend writes q (already validated) to b. visit, when not nil, is
// called with the offset in b of every term (nested ones too), at the
// start of its text after "^", "^NQ" or "^OR".
func queryAppend(b []byte, q *Query, visit func(off int, t *Term)) []byte {
	if q == nil {
		return b
	}
	for gi := range q.Groups {
		g := &q.Groups[gi]
		for ti := range g.Terms {
			t := &g.Terms[ti]
			switch {
			case gi > 0 && ti == 0:
				b = append(b, "^NQ"...)
			case ti > 0:
				b = append(b, '^')
			}
			if t.Or {
				b = append(b, "OR"...)
			}
			b = queryAppendTerm(b, t, visit)
		}
	}
	return b
}

func queryAppendTerm(b []byte, t *Term, visit func(off int, t *Term)) []byte {
	if visit != nil {
		visit(len(b), t)
	}
	switch t.Kind {
	case TermCondition, TermTextSearch:
		if t.Goto {
			b = append(b, "GOTO"...)
		}
		b = append(b, t.Field...)
		b = append(b, t.Operator...)
		b = append(b, t.Value...)
	case TermOrderBy:
		b = append(b, "ORDERBY"...)
		if t.Desc {
			b = append(b, "DESC"...)
		}
		b = append(b, t.Field...)
	case TermGroupBy:
		b = append(b, "GROUPBY"...)
		b = append(b, t.Field...)
	case TermEnd:
		b = append(b, "EQ"...)
	case TermJoin:
		b = append(b, "JOIN"...)
		b = append(b, t.Field...)
		b = append(b, t.Operator...)
		b = append(b, t.Value...)
	case TermRelatedList:
		b = append(b, "RLQUERY"...)
		b = append(b, t.Field...)
		b = append(b, ',')
		b = append(b, t.Value...)
		if t.Sub != nil && len(t.Sub.Groups) > 0 && !(len(t.Sub.Groups) == 1 && len(t.Sub.Groups[0].Terms) == 0) {
			b = append(b, '^')
			b = queryAppend(b, t.Sub, visit)
		}
		b = append(b, "^ENDRLQUERY"...)
	}
	return b
}

// ---------------------------------------------------------------------------
// Parser

// ParseQuery reads an encoded query as users write it (in config, or copied
// from a list filter), checks it, and returns it as a Query whose String is
// exactly s. It accepts every construct ServiceNow documents: ^, ^OR, ^NQ,
// every operator of §4.2 (NOT IN and NOT LIKE with their space),
// ORDERBY/ORDERBYDESC anywhere, the ^EQ end marker, GROUPBY, GOTO, JOIN,
// RLQUERY…^ENDRLQUERY, 123TEXTQUERY321, javascript: values, dot-walks and
// empty values.
//
// It refuses, with a *QueryError that says where and what to fix: empty
// terms (a leading, trailing or doubled "^"; there is no escape for "^"),
// terms without an operator (such as "serial_numberEMPTY"), ^OR or ^NQ with
// no condition before them, a group made only of ORDERBY/EQ terms next to
// ^NQ (which would match every row), field names that read as keywords or
// contain operators, and NUL, CR or LF anywhere. The empty string is the
// empty query. Check Warnings too: it flags what is valid but probably not
// what was meant.
func ParseQuery(s string) (*Query, error) {
	if i := strings.IndexAny(s, "\x00\r\n"); i >= 0 {
		return nil, &QueryError{Query: s, Offset: i, Reason: "the query " + queryBadByteReason(s[i])}
	}
	q := &Query{}
	if s == "" {
		return q, nil
	}
	p := queryParser{src: s}
	off := 0
	for {
		i := strings.IndexByte(s[off:], '^')
		if i < 0 {
			p.segs = append(p.segs, querySegment{text: s[off:], off: off})
			break
		}
		p.segs = append(p.segs, querySegment{text: s[off : off+i], off: off})
		off += i + 1
	}
	if _, err := p.parseSeq(0, 0, q); err != nil {
		return nil, err
	}
	return q, nil
}

type querySegment struct {
	text string
	off  int
}

type queryParser struct {
	src  string
	segs []querySegment
}

func (p *queryParser) errAt(off int, term, reason string) *QueryError {
	return &QueryError{Query: p.src, Offset: off, Term: term, Reason: reason}
}

// parseSeq parses segments from i into q until the end, or, when depth > 0
// (inside RLQUERY), until an ENDRLQUERY segment, whose index it returns.
func (p *queryParser) parseSeq(i, depth int, q *Query) (int, error) {
	q.Groups = []Group{{}}
	cur := &q.Groups[0]
	for ; i < len(p.segs); i++ {
		sg := p.segs[i]
		text, off := sg.text, sg.off
		if depth > 0 && text == "ENDRLQUERY" {
			break
		}
		if off > 0 && strings.HasPrefix(text, "NQ") {
			if !queryHasFilter(cur.Terms) {
				return 0, p.errAt(off-1, sg.text, "^NQ needs a condition before it: an empty group joined with ^NQ would match every row")
			}
			q.Groups = append(q.Groups, Group{})
			cur = &q.Groups[len(q.Groups)-1]
			text, off = text[2:], off+2
			if text == "" {
				return 0, p.errAt(off-3, sg.text, "^NQ must be followed by a condition")
			}
		}
		if text == "" {
			return 0, p.errAt(off, "", p.emptyTermReason(i))
		}
		or := false
		if strings.HasPrefix(text, "OR") && !strings.HasPrefix(text, "ORDERBY") {
			or = true
			text, off = text[2:], off+2
			if text == "" {
				return 0, p.errAt(off-2, sg.text, "^OR must be followed by a condition")
			}
		}
		var t Term
		switch {
		case strings.HasPrefix(text, "RLQUERY"):
			var err error
			if t, i, err = p.parseRelatedList(text, off, i, depth); err != nil {
				return 0, err
			}
		case text == "ENDRLQUERY":
			return 0, p.errAt(off, sg.text, "ENDRLQUERY without an RLQUERY before it")
		default:
			var at int
			var reason string
			if t, at, reason = queryParseSimple(text); reason != "" {
				return 0, p.errAt(off+at, sg.text, reason)
			}
		}
		t.Or = or
		var prev *Term
		if n := len(cur.Terms); n > 0 {
			prev = &cur.Terms[n-1]
		}
		if err := queryCheckTerm(&t, prev, depth); err != nil {
			e := p.errAt(sg.off, sg.text, err.Reason)
			e.Field = err.Field
			return 0, e
		}
		cur.Terms = append(cur.Terms, t)
	}
	if depth > 0 && i == len(p.segs) {
		return 0, p.errAt(len(p.src), "", "RLQUERY is never closed: add ^ENDRLQUERY after its conditions")
	}
	if len(q.Groups) > 1 && !queryHasFilter(cur.Terms) {
		return 0, p.errAt(p.segs[i-1].off, p.segs[i-1].text, fmt.Sprintf("group %d of %d has no condition: joined with ^NQ it would match every row", len(q.Groups), len(q.Groups)))
	}
	if len(q.Groups) == 1 && len(q.Groups[0].Terms) == 0 {
		q.Groups = nil
	}
	return i, nil
}

func (p *queryParser) emptyTermReason(i int) string {
	switch {
	case i == 0:
		return "the query starts with '^': remove the leading caret"
	case i == len(p.segs)-1:
		return "the query ends with '^': remove the trailing caret"
	default:
		return "empty term ('^^'): ServiceNow has no escape for '^', so remove the extra caret"
	}
}

// parseRelatedList parses RLQUERY<table.field>,<rest>^<conditions>^ENDRLQUERY
// starting at segment i and returns the term and the index of its
// ENDRLQUERY segment.
func (p *queryParser) parseRelatedList(text string, off, i, depth int) (Term, int, error) {
	if depth+1 > queryMaxNesting {
		return Term{}, 0, p.errAt(off, p.segs[i].text, fmt.Sprintf("RLQUERY nested more than %d deep", queryMaxNesting))
	}
	hdr := text[len("RLQUERY"):]
	comma := strings.IndexByte(hdr, ',')
	if comma < 0 {
		return Term{}, 0, p.errAt(off, p.segs[i].text, "an RLQUERY term is RLQUERY<related_table>.<reference_field>,<op><count>[,m2m]^<conditions>^ENDRLQUERY; this one has no ','")
	}
	t := Term{Kind: TermRelatedList, Field: hdr[:comma], Value: hdr[comma+1:]}
	if r := queryCheckFieldSyntax(t.Field); r != "" {
		return Term{}, 0, p.errAt(off+len("RLQUERY"), p.segs[i].text, "RLQUERY: "+r)
	}
	if t.Value == "" {
		return Term{}, 0, p.errAt(off+len("RLQUERY")+comma+1, p.segs[i].text, "RLQUERY needs <op><count> after the comma, e.g. RLQUERYincident.problem_id,>=1")
	}
	sub := &Query{}
	end, err := p.parseSeq(i+1, depth+1, sub)
	if err != nil {
		return Term{}, 0, err
	}
	if len(sub.Groups) > 0 {
		t.Sub = sub
	}
	return t, end, nil
}

// ---------------------------------------------------------------------------
// Composition

// And returns a new query equal to (q) AND (other). The conditions
// distribute over ^NQ groups, (A^NQB) AND (C^NQD) = A^C^NQA^D^NQB^C^NQB^D,
// and ^OR terms keep binding inside their own side. Sorting terms (ORDERBY,
// GROUPBY) of both sides move to the end, q's first; a later ORDERBY on a
// field already sorted on is dropped. An EQ end marker of q stays at the
// end of the conditions of its group; those of other are dropped (they
// carry no condition). A nil or empty side contributes nothing. When either
// side holds an error, so does the result.
//
// For a keyset page, replace the user's sorting rather than add to it:
//
//	filter.And(bounds).WithOrder(OrderTerm{Field: "sys_updated_on"}, OrderTerm{Field: "sys_id"})
func (q *Query) And(other *Query) *Query {
	if err := queryValidate(q, 0); err != nil {
		return &Query{err: err}
	}
	if err := queryValidate(other, 0); err != nil {
		return &Query{err: err}
	}
	left, lmeta := querySplitMeta(q, false)
	right, rmeta := querySplitMeta(other, true)
	out := &Query{}
	for _, a := range left {
		cut := len(a)
		for i := range a {
			if a[i].Kind == TermEnd {
				cut = i
				break
			}
		}
		for _, b := range right {
			terms := make([]Term, 0, len(a)+len(b))
			terms = append(terms, a[:cut]...)
			terms = append(terms, b...)
			terms = append(terms, a[cut:]...)
			out.Groups = append(out.Groups, Group{Terms: terms})
		}
	}
	meta := queryDedupeMeta(append(lmeta, rmeta...))
	if len(meta) > 0 {
		g := &out.Groups[len(out.Groups)-1]
		g.Terms = append(g.Terms, meta...)
	}
	if len(out.Groups) == 1 && len(out.Groups[0].Terms) == 0 {
		out.Groups = nil
	}
	return out
}

// AndTerms returns (q) AND (the terms, ANDed in order, with their Or flags).
func (q *Query) AndTerms(terms ...Term) *Query {
	return q.And(&Query{Groups: []Group{{Terms: append([]Term(nil), terms...)}}})
}

// querySplitMeta returns the groups of q without their ORDERBY and GROUPBY
// terms (and without EQ markers when dropEnd), always at least one (possibly
// empty) group, and the removed sorting terms in order.
func querySplitMeta(q *Query, dropEnd bool) ([][]Term, []Term) {
	var groups [][]Term
	var meta []Term
	if q != nil {
		for _, g := range q.Groups {
			terms := make([]Term, 0, len(g.Terms))
			for _, t := range g.Terms {
				switch {
				case t.Kind == TermOrderBy || t.Kind == TermGroupBy:
					meta = append(meta, t)
				case t.Kind == TermEnd && dropEnd:
				default:
					terms = append(terms, t)
				}
			}
			groups = append(groups, terms)
		}
	}
	if len(groups) == 0 {
		groups = [][]Term{nil}
	}
	return groups, meta
}

func queryDedupeMeta(meta []Term) []Term {
	seen := make(map[string]bool, len(meta))
	out := meta[:0:0]
	for _, t := range meta {
		key := t.Kind.String() + "\x00" + t.Field
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, t)
	}
	return out
}

// WithoutOrder returns a copy of q without its ORDERBY and ORDERBYDESC terms.
func (q *Query) WithoutOrder() *Query {
	c := q.clone()
	if c.err != nil {
		return c
	}
	for gi := range c.Groups {
		g := &c.Groups[gi]
		kept := g.Terms[:0]
		for _, t := range g.Terms {
			if t.Kind != TermOrderBy {
				kept = append(kept, t)
			}
		}
		g.Terms = kept
	}
	if len(c.Groups) == 1 && len(c.Groups[0].Terms) == 0 {
		c.Groups = nil
	}
	return c
}

// WithOrder returns a copy of q sorted by order alone: its own ORDERBY terms
// are removed and order is appended at the end, the first being the primary
// sort.
func (q *Query) WithOrder(order ...OrderTerm) *Query {
	c := q.WithoutOrder()
	for _, o := range order {
		c = c.add(Term{Kind: TermOrderBy, Field: o.Field, Desc: o.Desc})
	}
	return c
}

// ---------------------------------------------------------------------------
// Inspection

// Ordering returns the ORDERBY terms of q in order (the first is the primary sort).
func (q *Query) Ordering() []OrderTerm {
	var out []OrderTerm
	q.eachTopTerm(func(t *Term) {
		if t.Kind == TermOrderBy {
			out = append(out, OrderTerm{Field: t.Field, Desc: t.Desc})
		}
	})
	return out
}

// HasOrderBy reports whether q has at least one ORDERBY or ORDERBYDESC term.
func (q *Query) HasOrderBy() bool { return len(q.Ordering()) > 0 }

func (q *Query) eachTopTerm(f func(t *Term)) {
	if q == nil {
		return
	}
	for gi := range q.Groups {
		for ti := range q.Groups[gi].Terms {
			f(&q.Groups[gi].Terms[ti])
		}
	}
}

// eachTerm visits every term, those inside RLQUERY too.
func (q *Query) eachTerm(f func(t *Term)) {
	q.eachTopTerm(func(t *Term) {
		f(t)
		if t.Sub != nil {
			t.Sub.eachTerm(f)
		}
	})
}

// Fields returns every field of the queried table that q references, once
// each, in order of appearance, dot-walks as written ("caller_id.email"):
// the fields of conditions, the other field of SAMEAS, NSAMEAS, GT_FIELD,
// LT_FIELD, GT_OR_EQUALS_FIELD, LT_OR_EQUALS_FIELD, MORETHAN and LESSTHAN,
// and the fields of ORDERBY and GROUPBY. Fields of other tables (inside
// RLQUERY and JOIN terms) and the text-search pseudo-field are left out.
func (q *Query) Fields() []string {
	var out []string
	seen := map[string]bool{}
	addField := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	q.eachTopTerm(func(t *Term) {
		switch t.Kind {
		case TermCondition:
			addField(t.Field)
			if queryOps[t.Operator].fieldOperand {
				other, _, _ := strings.Cut(t.Value, "@")
				if queryCheckFieldSyntax(other) == "" {
					addField(other)
				}
			}
		case TermOrderBy, TermGroupBy:
			addField(t.Field)
		}
	})
	return out
}

// RootFields returns Fields reduced to their first dot-walk segment
// ("caller_id.email" gives "caller_id"), once each: the columns of the
// queried table itself.
func (q *Query) RootFields() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range q.Fields() {
		root, _, _ := strings.Cut(f, ".")
		if !seen[root] {
			seen[root] = true
			out = append(out, root)
		}
	}
	return out
}

// UsesJavaScript reports whether any value of q (inside RLQUERY and JOIN
// too) is or contains a javascript: expression, which the instance evaluates
// when the request runs: such a query means something different on each run,
// and an instance that cannot evaluate it drops the condition.
func (q *Query) UsesJavaScript() bool {
	found := false
	q.eachTerm(func(t *Term) {
		if strings.Contains(strings.ToLower(t.Value), "javascript:") {
			found = true
		}
	})
	return found
}

var queryRelativeJS = regexp.MustCompile(`(?i:javascript:)\s*gs\.(?:\w*Ago\w*|beginningOf\w*|endOf\w*|now\w*)\s*\(`)

// RelativeTimeTerms returns the conditions of q (inside RLQUERY too) whose
// meaning moves with the clock: the RELATIVE* operators and any value
// calling a relative gs function (gs.daysAgoStart, gs.hoursAgoStart,
// gs.beginningOfToday, gs.endOfLastWeek, gs.nowDateTime...). A sync must not
// rely on such a filter to select changed rows (sync-design.md §1.4): a run
// that is late or skipped loses what the window moved past.
func (q *Query) RelativeTimeTerms() []Term {
	var out []Term
	q.eachTerm(func(t *Term) {
		if t.Kind != TermCondition {
			return
		}
		switch t.Operator {
		case OpRelativeGT, OpRelativeGE, OpRelativeLT, OpRelativeLE, OpRelativeEE:
			out = append(out, *t)
			return
		}
		if queryRelativeJS.MatchString(t.Value) {
			out = append(out, *t)
		}
	})
	return out
}

// ---------------------------------------------------------------------------
// Warnings

var (
	queryTemplateVar = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{[^}]*\}\}`)
	queryURLEscape   = regexp.MustCompile(`(?i)%(5E|3D|40|2C|26|20|25)`)
	queryHex32       = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
	queryIRField     = regexp.MustCompile(`^IR_(AND_|OR_|AND_OR_)QUERY$`)
)

// Warnings lists what in q is valid syntax but probably not what was
// meant, one message per finding, each starting with the offset and term in
// q.String(): an operator-like word or upper case in a field name
// ("publishedDESC", "stateNOT"), values with invisible characters (U+200B),
// URL-encoded pieces (%5E), quoted-printable leftovers (=3D...), unexpanded
// template variables ($search, {{var}}), surrounding quotes, "NUL" for NULL,
// unbalanced parentheses in an IN item, and operators that need a value but
// have none. A query holding an error has no warnings (see Err).
func (q *Query) Warnings() []string {
	if queryValidate(q, 0) != nil {
		return nil
	}
	var out []string
	queryAppend(nil, q, func(off int, t *Term) {
		for _, w := range queryTermWarnings(t) {
			out = append(out, fmt.Sprintf("offset %d, term %q: %s", off, queryShorten(t.String(), 60), w))
		}
	})
	return out
}

func queryTermWarnings(t *Term) []string {
	var ws []string
	switch t.Kind {
	case TermCondition, TermOrderBy, TermGroupBy:
		ws = append(ws, queryFieldWarnings(t)...)
	}
	switch t.Kind {
	case TermCondition, TermTextSearch:
		info := queryOps[t.Operator]
		if t.Value == "" && info.class != queryOpUnary && !info.emptyOK {
			ws = append(ws, fmt.Sprintf("%s with an empty value: the instance may ignore the condition or match every row", t.Operator))
		}
		if t.Operator == OpEndsWithShort && len(t.Value) >= 2 && queryIsHex(t.Value[0]) && queryIsHex(t.Value[1]) {
			ws = append(ws, fmt.Sprintf("'%%' here is the ENDSWITH operator; if %q is URL-encoded, decode the whole query first", t.String()))
		}
		ws = append(ws, queryValueWarnings(t.Operator, t.Value)...)
	case TermJoin, TermRelatedList:
		ws = append(ws, queryTextWarnings(t.Value)...)
	}
	return ws
}

func queryFieldWarnings(t *Term) []string {
	f := t.Field
	if f == queryTextSearchField || queryIRField.MatchString(f) || strings.IndexFunc(f, unicode.IsUpper) < 0 {
		return nil
	}
	switch {
	case t.Kind == TermOrderBy && strings.HasSuffix(f, "DESC"):
		return []string{fmt.Sprintf("field %q ends with DESC: to sort descending write ORDERBYDESC%s", f, strings.TrimSuffix(f, "DESC"))}
	case strings.HasSuffix(f, "NOT") && t.Kind == TermCondition:
		return []string{fmt.Sprintf("field %q ends with NOT: NOT IN and NOT LIKE are written with a space", f)}
	}
	return []string{fmt.Sprintf("field %q has upper-case letters: ServiceNow column names are lower-case, so this is probably a misspelt field or operator (the instance ignores unknown fields, which can widen the query)", f)}
}

func queryRuneWarning(v string, i int, r rune) string {
	switch {
	case r == utf8.RuneError && !strings.HasPrefix(v[i:], "\uFFFD"):
		return fmt.Sprintf("value has a byte that is not UTF-8 (0x%02X)", v[i])
	case r == '\t' || r == 0xA0:
		return ""
	case unicode.Is(unicode.Cf, r) || unicode.IsControl(r):
		return fmt.Sprintf("value has an invisible character U+%04X, which makes it match nothing you can see", r)
	}
	return ""
}

func queryIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func queryValueWarnings(op Operator, v string) []string {
	ws := queryTextWarnings(v)
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "javascript:") {
		return ws
	}
	if strings.HasPrefix(v, "3D") && queryHex32.MatchString(v[2:]) {
		ws = append(ws, fmt.Sprintf("value %q looks like a sys_id with a quoted-printable '=3D' leftover: drop the 3D", v))
	}
	if m := queryTemplateVar.FindString(v); m != "" {
		ws = append(ws, fmt.Sprintf("value contains %q, which looks like an unexpanded template variable", m))
	}
	items := []string{v}
	if queryOps[op].class == queryOpList {
		items = strings.Split(v, ",")
	}
	for _, it := range items {
		s := strings.TrimSpace(it)
		if s == "NUL" {
			ws = append(ws, "value \"NUL\": did you mean NULL?")
		}
		if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
			ws = append(ws, fmt.Sprintf("value %s is quoted: quotes are part of the value in an encoded query", s))
		}
		if queryOps[op].class == queryOpList && strings.Count(s, "(") != strings.Count(s, ")") {
			ws = append(ws, fmt.Sprintf("list item %q has an unbalanced parenthesis", s))
		}
	}
	return ws
}

// queryTextWarnings flags invisible characters and URL-encoding in any text.
func queryTextWarnings(v string) []string {
	var ws []string
	for i, r := range v {
		if w := queryRuneWarning(v, i, r); w != "" {
			ws = append(ws, w) // one is enough to point at the value
			break
		}
	}
	if m := queryURLEscape.FindString(v); m != "" {
		ws = append(ws, fmt.Sprintf("value contains %q, a URL escape that ServiceNow reads literally: write the character itself (%%5E is '^', a new term) and let the client encode the query", m))
	}
	return ws
}
