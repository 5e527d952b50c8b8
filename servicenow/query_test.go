package servicenow

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

var updateQueryGolden = flag.Bool("update-queries", false, "rewrite testdata/queries/*.golden")

// readQueryLines reads one query per line, skipping blank lines and lines
// starting with '#'.
func readQueryLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// dumpQuery writes the AST of q, one term per line, nested RLQUERY
// conditions indented.
func dumpQuery(b *strings.Builder, q *Query, indent string) {
	if q == nil {
		return
	}
	for gi, g := range q.Groups {
		for _, tm := range g.Terms {
			fmt.Fprintf(b, "%sg%d %s", indent, gi, tm.Kind)
			if tm.Or {
				b.WriteString(" OR")
			}
			if tm.Goto {
				b.WriteString(" GOTO")
			}
			if tm.Desc {
				b.WriteString(" DESC")
			}
			if tm.Field != "" {
				fmt.Fprintf(b, " field=%q", tm.Field)
			}
			if tm.Operator != "" {
				fmt.Fprintf(b, " op=%q", tm.Operator)
			}
			if tm.Kind == TermCondition || tm.Kind == TermTextSearch || tm.Value != "" {
				fmt.Fprintf(b, " value=%q", tm.Value)
			}
			b.WriteByte('\n')
			dumpQuery(b, tm.Sub, indent+"    ")
		}
	}
}

func mustParse(t *testing.T, s string) *Query {
	t.Helper()
	q, err := ParseQuery(s)
	require.NoError(t, err, s)
	return q
}

func queryErr(t *testing.T, err error) *QueryError {
	t.Helper()
	var qe *QueryError
	require.ErrorAs(t, err, &qe)
	return qe
}

// TestQueryCorpus parses every query of testdata/queries/valid.txt, checks
// that it prints back byte for byte and re-parses to the same AST, and pins
// the ASTs in valid.golden (rewrite with -update-queries, then review the diff).
func TestQueryCorpus(t *testing.T) {
	queries := readQueryLines(t, filepath.Join("testdata", "queries", "valid.txt"))
	require.GreaterOrEqual(t, len(queries), 120)
	var golden strings.Builder
	for _, s := range queries {
		q, err := ParseQuery(s)
		if !assert.NoError(t, err, s) {
			continue
		}
		assert.NoError(t, q.Err(), s)
		out, err := q.Build()
		assert.NoError(t, err, s)
		assert.Equal(t, s, out)
		again, err := ParseQuery(out)
		if assert.NoError(t, err, s) {
			assert.Equal(t, q, again, s)
		}
		fmt.Fprintf(&golden, "query: %s\n", s)
		dumpQuery(&golden, q, "  ")
		golden.WriteByte('\n')
	}
	path := filepath.Join("testdata", "queries", "valid.golden")
	if *updateQueryGolden {
		require.NoError(t, os.WriteFile(path, []byte(golden.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), golden.String(), "AST dump differs from %s (run with -update-queries and review)", path)
}

// TestParseQueryTokenTraps pins how the parser splits the look-alikes that
// encoded queries are full of.
func TestParseQueryTokenTraps(t *testing.T) {
	cond := func(field string, op Operator, value string) Term {
		return Term{Kind: TermCondition, Field: field, Operator: op, Value: value}
	}
	or := func(tm Term) Term { tm.Or = true; return tm }
	tests := []struct {
		name  string
		query string
		want  []Group
	}{
		{"ORDERBY after an OR'd term is a sort, not ^OR + DERBY", "name=a^ORname=b^ORDERBYsys_id",
			[]Group{{Terms: []Term{cond("name", OpEquals, "a"), or(cond("name", OpEquals, "b")), {Kind: TermOrderBy, Field: "sys_id"}}}}},
		{"ORDERBYDESC is one keyword", "ORDERBYDESCnumber",
			[]Group{{Terms: []Term{{Kind: TermOrderBy, Field: "number", Desc: true}}}}},
		{"^OR before a lower-case field starting with or", "u_a=1^ORorder_total>100",
			[]Group{{Terms: []Term{cond("u_a", OpEquals, "1"), or(cond("order_total", OpGreaterThan, "100"))}}}},
		{"^NQ before a lower-case field starting with nq", "u_x=1^NQnqueue_size>5",
			[]Group{{Terms: []Term{cond("u_x", OpEquals, "1")}}, {Terms: []Term{cond("nqueue_size", OpGreaterThan, "5")}}}},
		{"a lower-case nq field after a plain caret", "nq_depth=2^nquery=1",
			[]Group{{Terms: []Term{cond("nq_depth", OpEquals, "2"), cond("nquery", OpEquals, "1")}}}},
		{"INSTANCEOF is not IN followed by STANCEOF", "sys_class_nameINSTANCEOFtask",
			[]Group{{Terms: []Term{cond("sys_class_name", OpInstanceOf, "task")}}}},
		{"IN_HIERARCHY_DYNAMIC is not IN", "managerIN_HIERARCHY_DYNAMICabc@def",
			[]Group{{Terms: []Term{cond("manager", OpInHierarchyDynamic, "abc@def")}}}},
		{"IN glued to the field", "priorityIN1,2",
			[]Group{{Terms: []Term{cond("priority", OpIn, "1,2")}}}},
		{"IN list of upper-case words", "u_statusININ_PROGRESS,DONE",
			[]Group{{Terms: []Term{cond("u_status", OpIn, "IN_PROGRESS,DONE")}}}},
		{"STARTSWITH with an upper-case value", "nameSTARTSWITHB",
			[]Group{{Terms: []Term{cond("name", OpStartsWith, "B")}}}},
		{"LIKE glued to the field", "short_descriptionLIKEvpn",
			[]Group{{Terms: []Term{cond("short_description", OpLike, "vpn")}}}},
		{"NOT IN keeps its space", "stateNOT IN6,7",
			[]Group{{Terms: []Term{cond("state", OpNotIn, "6,7")}}}},
		{"NOT LIKE keeps its space", "nameNOT LIKEtest",
			[]Group{{Terms: []Term{cond("name", OpNotLike, "test")}}}},
		{"NOTON is not NOT IN", "due_dateNOTONToday@a@b",
			[]Group{{Terms: []Term{cond("due_date", OpNotOn, "Today@a@b")}}}},
		{"!= is not !*", "a!=b^c!*d",
			[]Group{{Terms: []Term{cond("a", OpNotEquals, "b"), cond("c", OpNotLikeShort, "d")}}}},
		{">= before >", "a>=1^b>2^c<=3^d<4",
			[]Group{{Terms: []Term{cond("a", OpGreaterOrEqual, "1"), cond("b", OpGreaterThan, "2"), cond("c", OpLessOrEqual, "3"), cond("d", OpLessThan, "4")}}}},
		{"ISNOTEMPTY before ISEMPTY", "aISNOTEMPTY^bISEMPTY",
			[]Group{{Terms: []Term{cond("a", OpIsNotEmpty, ""), cond("b", OpIsEmpty, "")}}}},
		{"NSAMEAS is not SAMEAS", "aNSAMEASb^cSAMEASd",
			[]Group{{Terms: []Term{cond("a", OpNotSameAs, "b"), cond("c", OpSameAs, "d")}}}},
		{"GT_OR_EQUALS_FIELD is not GT_FIELD", "aGT_OR_EQUALS_FIELDb^cGT_FIELDd",
			[]Group{{Terms: []Term{cond("a", OpGreaterOrEqualField, "b"), cond("c", OpGreaterThanField, "d")}}}},
		{"the first operator wins, the rest is value", "short_description=a=b LIKE c",
			[]Group{{Terms: []Term{cond("short_description", OpEquals, "a=b LIKE c")}}}},
		{"empty value", "assigned_to=^state=1",
			[]Group{{Terms: []Term{cond("assigned_to", OpEquals, ""), cond("state", OpEquals, "1")}}}},
		{"EQ marker, GOTO and GROUPBY", "active=true^GOTOnumberLIKE12^EQ^GROUPBYcategory",
			[]Group{{Terms: []Term{cond("active", OpEquals, "true"), {Kind: TermCondition, Goto: true, Field: "number", Operator: OpLike, Value: "12"}, {Kind: TermEnd}, {Kind: TermGroupBy, Field: "category"}}}}},
		{"JOIN", "JOINincident.caller_id=sys_user.sys_id!active=false",
			[]Group{{Terms: []Term{{Kind: TermJoin, Field: "incident.caller_id", Operator: OpEquals, Value: "sys_user.sys_id!active=false"}}}}},
		{"keyword search", "123TEXTQUERY321=disk full",
			[]Group{{Terms: []Term{{Kind: TermTextSearch, Field: "123TEXTQUERY321", Operator: OpEquals, Value: "disk full"}}}}},
		{"RLQUERY with conditions, OR inside, then more", "RLQUERYtask_ci.task,>0,m2m^ci.a=1^ORci.a=2^ENDRLQUERY^b=2",
			[]Group{{Terms: []Term{
				{Kind: TermRelatedList, Field: "task_ci.task", Value: ">0,m2m", Sub: &Query{Groups: []Group{{Terms: []Term{cond("ci.a", OpEquals, "1"), or(cond("ci.a", OpEquals, "2"))}}}}},
				cond("b", OpEquals, "2"),
			}}}},
		{"RLQUERY without conditions", "RLQUERYsys_user_grmember.user,<1,m2m^ENDRLQUERY",
			[]Group{{Terms: []Term{{Kind: TermRelatedList, Field: "sys_user_grmember.user", Value: "<1,m2m"}}}}},
		{"nested RLQUERY", "RLQUERYa.b,>0^RLQUERYc.d,>0^x=1^ENDRLQUERY^ENDRLQUERY",
			[]Group{{Terms: []Term{{Kind: TermRelatedList, Field: "a.b", Value: ">0", Sub: &Query{Groups: []Group{{Terms: []Term{
				{Kind: TermRelatedList, Field: "c.d", Value: ">0", Sub: &Query{Groups: []Group{{Terms: []Term{cond("x", OpEquals, "1")}}}}},
			}}}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustParse(t, tt.query)
			assert.Equal(t, tt.want, q.Groups)
			assert.Equal(t, tt.query, q.String())
		})
	}
}

func TestParseQueryEmpty(t *testing.T) {
	q := mustParse(t, "")
	assert.Empty(t, q.Groups)
	assert.Equal(t, "", q.String())
	assert.NoError(t, q.Err())
}

func TestParseQueryRejects(t *testing.T) {
	deep := strings.Repeat("RLQUERYa.b,>0^", queryMaxNesting+1) + "x=1" + strings.Repeat("^ENDRLQUERY", queryMaxNesting+1)
	tests := []struct {
		name   string
		query  string
		offset int
		reason string
	}{
		{"a leading caret", "^state!=7", 0, "starts with '^': remove the leading caret"},
		{"a trailing caret", "substatus=^ORsubstatus!=x^", 26, "ends with '^': remove the trailing caret"},
		{"a doubled caret", "a=1^^b=2", 4, "empty term ('^^')"},
		{"EMPTY is not an operator", "u_asset_tagEMPTY", 0, "EMPTY is not an encoded-query operator, use ISEMPTY"},
		{"NOTEMPTY is not an operator", "u_asset_tagNOTEMPTY", 0, "use ISNOTEMPTY"},
		{"no operator at all", "a=1^justtext", 4, `no operator in "justtext"`},
		{"^NQ at the end", "a=1^NQ", 3, "^NQ must be followed by a condition"},
		{"^NQ then a caret", "a=1^NQ^b=2", 3, "^NQ must be followed by a condition"},
		{"^OR at the end", "a=1^OR", 4, "^OR must be followed by a condition"},
		{"OR at the start of the query", "ORa=1", 0, "nothing to OR with"},
		{"OR at the start of a group", "a=1^NQORb=2", 4, "nothing to OR with"},
		{"OR right after ORDERBY", "a=1^ORDERBYx^ORb=2", 13, "not ORDERBY"},
		{"OR right after EQ", "a=1^EQ^ORb=2", 7, "not EQ"},
		{"OR on a sort", "a=1^ORORDERBYx", 4, "ORDERBY cannot be ORed"},
		{"^NQ after a group with only a sort", "ORDERBYx^NQa=1", 8, "^NQ needs a condition before it"},
		{"a last group with only a sort", "a=1^NQORDERBYx", 4, "group 2 of 2 has no condition"},
		{"a field starting with NQ at the start", "NQa=1", 0, `starts with NQ`},
		{"a space in a field name", "short description=x", 5, `unexpected " " in field name "short"`},
		{"a lone !", "a!b", 1, `"!" is not an operator`},
		{"no field before the operator", "=5", 0, "has no field name"},
		{"a value after a no-value operator", "activeISEMPTYtrue", 13, "takes no value"},
		{"an unclosed RLQUERY", "RLQUERYx.y,>0^a=1", 17, "never closed"},
		{"ENDRLQUERY alone", "a=1^ENDRLQUERY", 4, "without an RLQUERY"},
		{"RLQUERY without a comma", "RLQUERYx.y^ENDRLQUERY", 0, "has no ','"},
		{"RLQUERY without a count", "RLQUERYx.y,^ENDRLQUERY", 11, "needs <op><count>"},
		{"RLQUERY nested too deep", deep, 14 * queryMaxNesting, "nested more than"},
		{"JOIN without '='", "JOINabc", 4, "has no '='"},
		{"ORDERBY without a field", "a=1^ORDERBY", 11, "ORDERBY needs a field name"},
		{"ORDERBYDESC without a field", "ORDERBYDESC", 11, "ORDERBYDESC needs a field name"},
		{"a line feed", "a=1\nb=2", 3, "line break"},
		{"a carriage return", "a=1\r", 3, "line break"},
		{"a NUL byte", "a=\x001", 2, "NUL byte"},
		{"an empty dot-walk segment", "caller_id..email=x", 0, "empty dot-walk segment"},
		{"a non-ASCII field name", "u_café=1", 5, `"é" (U+00E9)`},
		{"GOTO before a keyword search", "GOTO123TEXTQUERY321=x", 0, "GOTO cannot prefix a keyword search"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQuery(tt.query)
			require.Error(t, err)
			assert.Nil(t, q)
			qe := queryErr(t, err)
			assert.Equal(t, tt.query, qe.Query)
			assert.Equal(t, tt.offset, qe.Offset, "offset")
			assert.Contains(t, qe.Reason, tt.reason)
			assert.Contains(t, err.Error(), fmt.Sprintf("servicenow: invalid encoded query at offset %d", tt.offset))
		})
	}
}

func TestQueryErrorText(t *testing.T) {
	_, err := ParseQuery("active=true^u_serialEMPTY")
	require.Error(t, err)
	assert.Equal(t, `servicenow: invalid encoded query at offset 12 (term "u_serialEMPTY"): no operator in "u_serialEMPTY": a condition is <field><operator><value>, e.g. active=true or short_descriptionLIKEvpn; EMPTY is not an encoded-query operator, use ISEMPTY (empty or NULL) or EMPTYSTRING`, err.Error())

	err = NewQuery().Equals("short_description", "disk^full").Err()
	require.Error(t, err)
	assert.Equal(t, `servicenow: invalid query: field "short_description": the value contains '^', the term separator, which ServiceNow cannot escape: remove it, or match the text around it with LIKE or STARTSWITH`, err.Error())
}

// TestQueryWarnings checks one case of each kind of suspicious query the
// real corpus holds (the leading/trailing caret and EMPTY kinds are
// rejected: see TestParseQueryRejects), and that clean queries have none.
func TestQueryWarnings(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"DESC written as a suffix", "active=true^ORDERBYopened_atDESC",
			[]string{`offset 12, term "ORDERBYopened_atDESC": field "opened_atDESC" ends with DESC: to sort descending write ORDERBYDESCopened_at`}},
		{"quoted-printable =3D leftover", "caller_id=3Da1b2c3d4e5f60718293a4b5c6d7e8f90^state=1",
			[]string{`quoted-printable '=3D' leftover`}},
		{"NUL for NULL", "u_region!=Closed^ORu_region=NUL", []string{`offset 19, term "u_region=NUL": value "NUL": did you mean NULL?`}},
		{"template variables", "u_regionIN$region^short_descriptionLIKE${search}^u_team={{team}}",
			[]string{`"$region", which looks like an unexpanded template variable`, `"${search}"`, `"{{team}}"`}},
		{"a zero-width space", "location=ab12\u200b^floor=2", []string{`offset 0, term "location=ab12\u200b": value has an invisible character U+200B`}},
		{"a URL-encoded caret", "nameNOT LIKEfoo%5EORDERBYlabel", []string{`contains "%5E", a URL escape`}},
		{"a whole URL-encoded query", "active%3Dtrue", []string{`'%' here is the ENDSWITH operator; if "active%3Dtrue" is URL-encoded, decode the whole query first`}},
		{"a stray parenthesis in a list", "numberINPRB001,PRB002)", []string{`list item "PRB002)" has an unbalanced parenthesis`}},
		{"STARTSWITH without a value", "nameSTARTSWITH^active=true", []string{`STARTSWITH with an empty value`}},
		{"a quoted value", "u_metric='Score ID'^state=1", []string{`value 'Score ID' is quoted`}},
		{"NOT IN without its space", "stateNOTIN6,7", []string{`field "stateNOT" ends with NOT: NOT IN and NOT LIKE are written with a space`}},
		{"upper case in a field", "Caller_idISEMPTY", []string{`field "Caller_id" has upper-case letters`}},
		{"a byte that is not UTF-8", "u_name=ab\xffcd", []string{`not UTF-8 (0xFF)`}},
		{"inside RLQUERY too", "RLQUERYa.b,>0^x=NUL^ENDRLQUERY", []string{`offset 14, term "x=NUL"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustParse(t, tt.query)
			ws := q.Warnings()
			require.NotEmpty(t, ws)
			all := strings.Join(ws, "\n")
			for _, w := range tt.want {
				assert.Contains(t, all, w)
			}
		})
	}
	for _, clean := range []string{
		"",
		"active=true^priorityIN1,2^ORDERBYDESCsys_updated_on",
		"opened_at>javascript:gs.dateGenerate('2024-01-01','start')",
		"opened_atONcustom@javascript:gs.dateGenerate(\"2016-02-01\", \"start\")@javascript:gs.dateGenerate(\"2016-02-01\", \"end\")",
		"assigned_to=^u_price!=",
		"nameNOT LIKE$^description=costs 100%",
		"123TEXTQUERY321=vpn^IR_AND_OR_QUERY=vpn",
		"short_description=Automated : Change",
	} {
		assert.Empty(t, mustParse(t, clean).Warnings(), clean)
	}
	assert.Nil(t, NewQuery().Equals("a", "b^c").Warnings(), "a query holding an error has no warnings")
}

func TestQueryBuilder(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	t0 := time.Date(2024, 7, 1, 2, 0, 5, 999_000_000, cest) // 2024-07-01 00:00:05 UTC
	t1 := time.Date(2024, 7, 1, 0, 15, 0, 0, time.UTC)
	tests := []struct {
		name string
		q    *Query
		want string
	}{
		{"empty", NewQuery(), ""},
		{"Equals", NewQuery().Equals("active", "true"), "active=true"},
		{"Equals with an empty value", NewQuery().Equals("assigned_to", ""), "assigned_to="},
		{"NotEquals", NewQuery().NotEquals("state", "7"), "state!=7"},
		{"GreaterThan", NewQuery().GreaterThan("u_cost", "100"), "u_cost>100"},
		{"GreaterOrEqual", NewQuery().GreaterOrEqual("u_cost", "100"), "u_cost>=100"},
		{"LessThan", NewQuery().LessThan("impact", "3"), "impact<3"},
		{"LessOrEqual", NewQuery().LessOrEqual("priority", "2"), "priority<=2"},
		{"Like", NewQuery().Like("short_description", "vpn"), "short_descriptionLIKEvpn"},
		{"NotLike", NewQuery().NotLike("short_description", "test"), "short_descriptionNOT LIKEtest"},
		{"StartsWith", NewQuery().StartsWith("number", "INC"), "numberSTARTSWITHINC"},
		{"EndsWith", NewQuery().EndsWith("u_fqdn", ".example.net"), "u_fqdnENDSWITH.example.net"},
		{"In", NewQuery().In("state", "1", "2", "3"), "stateIN1,2,3"},
		{"NotIn", NewQuery().NotIn("state", "6", "7"), "stateNOT IN6,7"},
		{"IsEmpty", NewQuery().IsEmpty("closed_at"), "closed_atISEMPTY"},
		{"IsNotEmpty", NewQuery().IsNotEmpty("closed_at"), "closed_atISNOTEMPTY"},
		{"EmptyString", NewQuery().EmptyString("u_notes"), "u_notesEMPTYSTRING"},
		{"Anything", NewQuery().Anything("u_notes"), "u_notesANYTHING"},
		{"Between", NewQuery().Between("priority", "1", "3"), "priorityBETWEEN1@3"},
		{"SameAs", NewQuery().SameAs("caller_id", "opened_by"), "caller_idSAMEASopened_by"},
		{"NotSameAs", NewQuery().NotSameAs("caller_id", "assigned_to"), "caller_idNSAMEASassigned_to"},
		{"InstanceOf", NewQuery().InstanceOf("sys_class_name", "task"), "sys_class_nameINSTANCEOFtask"},
		{"GreaterThanField", NewQuery().GreaterThanField("a_count", "b_count"), "a_countGT_FIELDb_count"},
		{"LessThanField", NewQuery().LessThanField("a_count", "b_count"), "a_countLT_FIELDb_count"},
		{"GreaterOrEqualField", NewQuery().GreaterOrEqualField("a_count", "b_count"), "a_countGT_OR_EQUALS_FIELDb_count"},
		{"LessOrEqualField", NewQuery().LessOrEqualField("a_count", "b_count"), "a_countLT_OR_EQUALS_FIELDb_count"},
		{"Dynamic", NewQuery().Dynamic("caller_id", "90d1921e5f510100a9ad2572f2b477fe"), "caller_idDYNAMIC90d1921e5f510100a9ad2572f2b477fe"},
		{"TextSearch", NewQuery().TextSearch("disk full"), "123TEXTQUERY321=disk full"},
		{"Where for other operators", NewQuery().Where("sla_due", OpRelativeGT, "@hour@ago@1"), "sla_dueRELATIVEGT@hour@ago@1"},
		{"Where with a javascript value", NewQuery().Where("caller_id", OpEquals, JS("gs.getUserID()")), "caller_id=javascript:gs.getUserID()"},
		{"javascript values pass through", NewQuery().GreaterOrEqual("sys_updated_on", JS("gs.hoursAgoStart(1)")), "sys_updated_on>=javascript:gs.hoursAgoStart(1)"},
		{"After converts to UTC and drops sub-seconds", NewQuery().After("sys_updated_on", t0), "sys_updated_on>2024-07-01 00:00:05"},
		{"AtOrAfter", NewQuery().AtOrAfter("sys_updated_on", t0), "sys_updated_on>=2024-07-01 00:00:05"},
		{"Before", NewQuery().Before("sys_updated_on", t1), "sys_updated_on<2024-07-01 00:15:00"},
		{"AtOrBefore", NewQuery().AtOrBefore("sys_updated_on", t1), "sys_updated_on<=2024-07-01 00:15:00"},
		{"At", NewQuery().At("sys_updated_on", t0), "sys_updated_on=2024-07-01 00:00:05"},
		{"BetweenTimes", NewQuery().BetweenTimes("opened_at", t0, t1), "opened_atBETWEEN2024-07-01 00:00:05@2024-07-01 00:15:00"},
		{"Or binds to the condition before it", NewQuery().Equals("a", "1").Equals("b", "2").Or().Equals("c", "3"), "a=1^b=2^ORc=3"},
		{"NQ starts a new group", NewQuery().Equals("a", "1").NQ().Equals("b", "2").Or().IsEmpty("b"), "a=1^NQb=2^ORbISEMPTY"},
		{"OrderBy and OrderByDesc", NewQuery().Equals("active", "true").OrderBy("priority").OrderByDesc("sys_updated_on"), "active=true^ORDERBYpriority^ORDERBYDESCsys_updated_on"},
		{"only a sort", NewQuery().OrderBy("sys_id"), "ORDERBYsys_id"},
		{"dot-walks and custom fields", NewQuery().Equals("caller_id.department.name", "Finance").Equals("u_region", "EMEA"), "caller_id.department.name=Finance^u_region=EMEA"},
		{"values with spaces, '=', '@' and commas", NewQuery().Equals("short_description", "a=b, c@d : e"), "short_description=a=b, c@d : e"},
		{"an upper-case value after a word operator", NewQuery().StartsWith("name", "INSTANCE"), "nameSTARTSWITHINSTANCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Build()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want, tt.q.String())
			assert.NoError(t, checkQuery(got))
			back := mustParse(t, got)
			assert.Equal(t, tt.q.Groups, back.Groups, "parsing the built query gives the same AST")
		})
	}
}

func TestQueryBuilderRejects(t *testing.T) {
	tests := []struct {
		name   string
		q      *Query
		field  string
		reason string
	}{
		{"a caret in a value", NewQuery().Equals("short_description", "disk^full"), "short_description", "the value contains '^', the term separator, which ServiceNow cannot escape"},
		{"a caret in a javascript value", NewQuery().Equals("u_x", JS("gs.foo('^')")), "u_x", "contains '^', the term separator"},
		{"a line feed in a value", NewQuery().Like("description", "a\nb"), "description", "line break"},
		{"a carriage return in a value", NewQuery().Like("description", "a\rb"), "description", "line break"},
		{"a NUL in a value", NewQuery().Equals("description", "a\x00b"), "description", "NUL byte"},
		{"a comma inside an IN item", NewQuery().In("category", "network", "a,b"), "category", `IN value 2 ("a,b") contains ','`},
		{"an empty IN item", NewQuery().NotIn("category", "network", ""), "category", "NOT IN value 2 is empty"},
		{"an empty IN list", NewQuery().In("category"), "category", "IN needs at least one value"},
		{"an @ inside a BETWEEN end", NewQuery().Between("u_code", "a@b", "z"), "u_code", `BETWEEN lower end "a@b" contains '@'`},
		{"an empty BETWEEN end", NewQuery().Between("u_code", "a", ""), "u_code", "BETWEEN upper end is empty"},
		{"BetweenTimes backwards", NewQuery().BetweenTimes("opened_at", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), "opened_at", "from (2024-02-01 00:00:00) is after to (2024-01-01 00:00:00)"},
		{"a time out of range", NewQuery().After("opened_at", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "opened_at", "outside the years 0000-9999"},
		{"an empty field name", NewQuery().Equals("", "x"), "", "the field name is empty"},
		{"a space in a field name", NewQuery().Equals("short description", "x"), "short description", `contains " "`},
		{"a field with an empty dot-walk segment", NewQuery().Equals("caller_id.", "x"), "caller_id.", "empty dot-walk segment"},
		{"a field starting with OR", NewQuery().Equals("ORIGIN", "x"), "ORIGIN", "starts with OR, which ServiceNow reads as ^OR"},
		{"a field starting with NQ", NewQuery().Equals("NQx", "x"), "NQx", "starts with NQ"},
		{"a field that reads as GOTO", NewQuery().Equals("GOTOx", "x"), "GOTOx", "starts with GOTO"},
		{"a field containing an operator", NewQuery().Equals("u_INfo", "x"), "u_INfo", `contains "IN", which ServiceNow reads as an operator`},
		{"a field that ends in an operator prefix", NewQuery().Where("u_NOT", OpOn, "Today@a@b"), "u_NOT", `read back as field "u_", operator "NOTON"`},
		{"the keyword-search field as a condition", NewQuery().Equals("123TEXTQUERY321", "x"), "123TEXTQUERY321", "use TextSearch"},
		{"a value that extends > into >=", NewQuery().GreaterThan("u_cost", "=5"), "u_cost", `"u_cost>=5" reads as operator >= with value "5"`},
		{"a value that extends IN into INSTANCEOF", NewQuery().Where("name", OpIn, "STANCEOFtask"), "name", "reads as operator INSTANCEOF"},
		{"a value after a no-value operator", NewQuery().Where("closed_at", OpIsEmpty, "x"), "closed_at", "takes no value"},
		{"an unknown operator", NewQuery().Where("state", Operator("EMPTY"), ""), "state", `unknown operator "EMPTY"`},
		{"a bad other field", NewQuery().SameAs("caller_id", "opened by"), "caller_id", "SAMEAS compares with another field"},
		{"a bad table for INSTANCEOF", NewQuery().InstanceOf("sys_class_name", ""), "sys_class_name", "INSTANCEOF needs a table name: the table name is empty"},
		{"ORDERBY on a field starting with DESC", NewQuery().OrderBy("DESCription"), "DESCription", "would read as a descending sort"},
		{"ORDERBY without a field", NewQuery().OrderBy(""), "", "ORDERBY needs a field name"},
		{"Or at the start", NewQuery().Or().Equals("a", "1"), "", "Or() needs a condition just before it"},
		{"Or after NQ", NewQuery().Equals("a", "1").NQ().Or().Equals("b", "1"), "", "nothing to OR with"},
		{"Or after a sort", NewQuery().Equals("a", "1").OrderBy("a").Or().Equals("b", "1"), "", "Or() needs a condition just before it"},
		{"Or twice", NewQuery().Equals("a", "1").Or().Or().Equals("b", "1"), "", "Or() called twice in a row"},
		{"Or followed by a sort", NewQuery().Equals("a", "1").Or().OrderBy("a"), "a", "Or() must be followed by a condition, not ORDERBY"},
		{"Or followed by nothing", NewQuery().Equals("a", "1").Or(), "", "Or() must be followed by a condition"},
		{"Or followed by NQ", NewQuery().Equals("a", "1").Or().NQ(), "", "not NQ()"},
		{"Or before a field that would print as ORDERBY", NewQuery().Equals("a", "1").Or().Equals("DERBYx", "1"), "DERBYx", "cannot follow ^OR"},
		{"NQ at the start", NewQuery().NQ().Equals("a", "1"), "", "NQ() needs a condition before it"},
		{"NQ after only a sort", NewQuery().OrderBy("a").NQ().Equals("a", "1"), "", "NQ() needs a condition before it"},
		{"NQ at the end", NewQuery().Equals("a", "1").NQ(), "", "group 2 of 2 is empty"},
		{"a group with only a sort", NewQuery().Equals("a", "1").NQ().OrderBy("a"), "", "group 2 of 2 has no condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Err()
			require.Error(t, err)
			qe := queryErr(t, err)
			assert.Equal(t, tt.field, qe.Field)
			assert.Equal(t, -1, qe.Offset)
			assert.Contains(t, qe.Reason, tt.reason)
			assert.Contains(t, err.Error(), "servicenow: invalid query")

			s, berr := tt.q.Build()
			assert.Equal(t, "", s)
			assert.Equal(t, err, berr)

			// String is never a broader query: it is NUL + the message,
			// which the client refuses with the same message.
			str := tt.q.String()
			assert.Equal(t, "\x00"+err.Error(), str)
			cerr := checkQuery(str)
			require.Error(t, cerr)
			assert.Equal(t, err.Error(), cerr.Error())
			assert.Nil(t, tt.q.Warnings())

			// A recorded error sticks through further calls; the others
			// (a pending Or, a trailing NQ) are about where the query ends.
			if tt.q.err != nil {
				more := tt.q.Equals("x", "1").NQ().Equals("y", "2").OrderBy("z")
				assert.Equal(t, err, more.Err())
			}
			assert.Equal(t, err, NewQuery().Equals("k", "v").And(tt.q).Err())
			assert.Equal(t, err, tt.q.And(NewQuery().Equals("k", "v")).Err())
			assert.True(t, strings.HasPrefix(tt.q.WithOrder(OrderTerm{Field: "sys_id"}).String(), "\x00"))
		})
	}
}

// TestQueryASTValidation checks that String refuses hand-made ASTs that
// could not be read back as written, instead of printing them.
func TestQueryASTValidation(t *testing.T) {
	tests := []struct {
		name   string
		q      *Query
		reason string
	}{
		{"an OR'd first term", &Query{Groups: []Group{{Terms: []Term{{Field: "a", Operator: OpEquals, Value: "1", Or: true}}}}}, "nothing to OR with"},
		{"an empty group", &Query{Groups: []Group{{Terms: []Term{{Field: "a", Operator: OpEquals}}}, {}}}, "group 2 of 2 is empty"},
		{"a value on an ORDERBY", &Query{Groups: []Group{{Terms: []Term{{Kind: TermOrderBy, Field: "a", Value: "x"}}}}}, "ORDERBY terms have no operator or value"},
		{"a field on EQ", &Query{Groups: []Group{{Terms: []Term{{Kind: TermEnd, Field: "a"}}}}}, "the EQ marker has no field"},
		{"Desc on a condition", &Query{Groups: []Group{{Terms: []Term{{Field: "a", Operator: OpEquals, Desc: true}}}}}, "Desc is only for ORDERBY"},
		{"GOTO on a sort", &Query{Groups: []Group{{Terms: []Term{{Kind: TermOrderBy, Field: "a", Goto: true}}}}}, "GOTO can only prefix a condition"},
		{"Sub on a condition", &Query{Groups: []Group{{Terms: []Term{{Field: "a", Operator: OpEquals, Sub: &Query{}}}}}}, "Sub is only for RLQUERY"},
		{"a JOIN with another operator", &Query{Groups: []Group{{Terms: []Term{{Kind: TermJoin, Field: "a.b", Operator: OpLike, Value: "c.d"}}}}}, "uses the operator '='"},
		{"an RLQUERY without a count", &Query{Groups: []Group{{Terms: []Term{{Kind: TermRelatedList, Field: "a.b"}}}}}, "needs <op><count>"},
		{"an RLQUERY with a bad sub-query", &Query{Groups: []Group{{Terms: []Term{{Kind: TermRelatedList, Field: "a.b", Value: ">0", Sub: &Query{Groups: []Group{{Terms: []Term{{Field: "x", Operator: OpEquals, Value: "^"}}}}}}}}}}, "contains '^', the term separator"},
		{"a text search on another field", &Query{Groups: []Group{{Terms: []Term{{Kind: TermTextSearch, Field: "x", Operator: OpEquals}}}}}, "123TEXTQUERY321"},
		{"an unknown kind", &Query{Groups: []Group{{Terms: []Term{{Kind: TermKind(42), Field: "x"}}}}}, "unknown term kind 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Err()
			require.Error(t, err)
			assert.Contains(t, queryErr(t, err).Reason, tt.reason)
			assert.True(t, strings.HasPrefix(tt.q.String(), "\x00"))
		})
	}
}

func TestQueryIsImmutable(t *testing.T) {
	base := NewQuery().Equals("active", "true")
	a := base.Equals("priority", "1")
	b := base.Or().Equals("active", "false")
	c := base.NQ().Equals("state", "1")
	d := base.OrderBy("number")
	assert.Equal(t, "active=true", base.String())
	assert.Equal(t, "active=true^priority=1", a.String())
	assert.Equal(t, "active=true^ORactive=false", b.String())
	assert.Equal(t, "active=true^NQstate=1", c.String())
	assert.Equal(t, "active=true^ORDERBYnumber", d.String())

	// A pending Or does not leak into the receiver either.
	pending := base.Or()
	assert.NoError(t, base.Err())
	assert.Error(t, pending.Err())

	// Composition and reordering leave their inputs alone.
	f := mustParse(t, "a=1^ORa=2^ORDERBYx^NQb=1")
	before := f.String()
	_ = f.And(mustParse(t, "c=1^NQd=1^ORDERBYy"))
	_ = f.WithoutOrder()
	_ = f.WithOrder(OrderTerm{Field: "sys_id"})
	_ = f.AndTerms(Term{Field: "e", Operator: OpEquals, Value: "1"})
	assert.Equal(t, before, f.String())

	// Clone is deep: changing the copy, RLQUERY sub-queries included,
	// leaves the original as it was.
	rl := mustParse(t, "RLQUERYa.b,>0^x=1^ENDRLQUERY^y=2")
	cp := rl.Clone()
	cp.Groups[0].Terms[0].Sub.Groups[0].Terms[0].Value = "9"
	cp.Groups[0].Terms[1].Value = "8"
	assert.Equal(t, "RLQUERYa.b,>0^x=1^ENDRLQUERY^y=2", rl.String())
	assert.Equal(t, "RLQUERYa.b,>0^x=9^ENDRLQUERY^y=8", cp.String())
}

func TestQueryNilReceiver(t *testing.T) {
	var q *Query
	assert.Equal(t, "", q.String())
	assert.NoError(t, q.Err())
	assert.Equal(t, "a=1", q.Equals("a", "1").String())
	assert.Equal(t, "b=2", q.And(NewQuery().Equals("b", "2")).String())
	assert.Equal(t, "b=2", NewQuery().Equals("b", "2").And(q).String())
	assert.Nil(t, q.Fields())
	assert.Nil(t, q.Ordering())
	assert.False(t, q.HasOrderBy())
	assert.False(t, q.UsesJavaScript())
	assert.Nil(t, q.Warnings())
	assert.Equal(t, "ORDERBYsys_id", q.WithOrder(OrderTerm{Field: "sys_id"}).String())
	assert.NotNil(t, q.Clone())
}

func TestQueryAnd(t *testing.T) {
	tests := []struct {
		name        string
		left, right string
		want        string
	}{
		{"plain AND", "active=true", "priority=1", "active=true^priority=1"},
		{"distributes over the left's groups", "a=1^NQb=1", "c=1", "a=1^c=1^NQb=1^c=1"},
		{"distributes over the right's groups", "c=1", "a=1^NQb=1", "c=1^a=1^NQc=1^b=1"},
		{"distributes over both", "a=1^NQb=1", "c=1^NQd=1", "a=1^c=1^NQa=1^d=1^NQb=1^c=1^NQb=1^d=1"},
		{"OR chains stay on their side", "a=1^b=1^ORb=2", "c=1^ORc=2", "a=1^b=1^ORb=2^c=1^ORc=2"},
		{"sorts move to the end, left first", "ORDERBYx^a=1", "b=1^ORDERBYDESCy", "a=1^b=1^ORDERBYx^ORDERBYDESCy"},
		{"a later sort on the same field is dropped", "a=1^ORDERBYx", "ORDERBYDESCx^ORDERBYy", "a=1^ORDERBYx^ORDERBYy"},
		{"GROUPBY moves to the end too", "a=1^GROUPBYcategory", "b=1", "a=1^b=1^GROUPBYcategory"},
		{"the left's EQ stays after the conditions", "active=true^EQ", "priority=1", "active=true^priority=1^EQ"},
		{"conditions after a mid-group EQ stay after it", "a=1^EQ^b=1^ORDERBYn", "c=1", "a=1^c=1^EQ^b=1^ORDERBYn"},
		{"the right's EQ is dropped", "a=1", "b=1^EQ", "a=1^b=1"},
		{"an empty left", "", "a=1^NQb=1", "a=1^NQb=1"},
		{"an empty right", "a=1^NQb=1^ORDERBYx", "", "a=1^NQb=1^ORDERBYx"},
		{"a left with only a sort", "ORDERBYnumber", "a=1^NQb=1", "a=1^NQb=1^ORDERBYnumber"},
		{"both empty", "", "", ""},
		{"special terms are copied into every group", "RLQUERYt.f,>0^ENDRLQUERY^NQJOINa.b=c.d!x=1", "e=1", "RLQUERYt.f,>0^ENDRLQUERY^e=1^NQJOINa.b=c.d!x=1^e=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.left).And(mustParse(t, tt.right))
			require.NoError(t, got.Err())
			assert.Equal(t, tt.want, got.String())
			assert.Equal(t, tt.want, mustParse(t, got.String()).String())
		})
	}
	got := mustParse(t, "a=1^NQb=1").AndTerms(
		Term{Field: "c", Operator: OpEquals, Value: "1"},
		Term{Field: "c", Operator: OpEquals, Value: "2", Or: true},
	)
	assert.Equal(t, "a=1^c=1^ORc=2^NQb=1^c=1^ORc=2", got.String())
	bad := mustParse(t, "a=1").AndTerms(Term{Field: "c", Operator: OpEquals, Value: "1", Or: true})
	assert.ErrorContains(t, bad.Err(), "nothing to OR with")
}

// TestQueryKeyset builds the two keyset page queries of sync-design.md
// §1.2 (and the single-query ^NQ form of servicenow-api.md §3.4) on top of
// user filters with ^OR, ^NQ and their own sorting.
func TestQueryKeyset(t *testing.T) {
	T := time.Date(2024, 7, 1, 0, 0, 5, 0, time.UTC)
	H := time.Date(2024, 7, 1, 0, 14, 45, 0, time.UTC)
	const S = "5d7f00c0db1c1010a7b8f3a7f4961922"
	laterSeconds := func(f *Query) *Query {
		return f.And(NewQuery().After("sys_updated_on", T).AtOrBefore("sys_updated_on", H)).
			WithOrder(OrderTerm{Field: "sys_updated_on"}, OrderTerm{Field: "sys_id"})
	}
	drainSecond := func(f *Query) *Query {
		return f.And(NewQuery().At("sys_updated_on", T).GreaterThan("sys_id", S)).
			WithOrder(OrderTerm{Field: "sys_id"})
	}
	const (
		later = "sys_updated_on>2024-07-01 00:00:05^sys_updated_on<=2024-07-01 00:14:45"
		drain = "sys_updated_on=2024-07-01 00:00:05^sys_id>5d7f00c0db1c1010a7b8f3a7f4961922"
	)
	tests := []struct {
		name, filter, wantLater, wantDrain string
	}{
		{"no filter", "",
			later + "^ORDERBYsys_updated_on^ORDERBYsys_id",
			drain + "^ORDERBYsys_id"},
		{"a plain filter", "active=true",
			"active=true^" + later + "^ORDERBYsys_updated_on^ORDERBYsys_id",
			"active=true^" + drain + "^ORDERBYsys_id"},
		{"a filter with OR", "priority=1^ORpriority=2",
			"priority=1^ORpriority=2^" + later + "^ORDERBYsys_updated_on^ORDERBYsys_id",
			"priority=1^ORpriority=2^" + drain + "^ORDERBYsys_id"},
		{"a filter with NQ, OR and its own sort", "category=network^ORcategory=database^NQsys_class_nameINSTANCEOFcmdb_ci^ORDERBYnumber",
			"category=network^ORcategory=database^" + later + "^NQsys_class_nameINSTANCEOFcmdb_ci^" + later + "^ORDERBYsys_updated_on^ORDERBYsys_id",
			"category=network^ORcategory=database^" + drain + "^NQsys_class_nameINSTANCEOFcmdb_ci^" + drain + "^ORDERBYsys_id"},
		{"a UI filter with EQ", "active=true^EQ",
			"active=true^" + later + "^EQ^ORDERBYsys_updated_on^ORDERBYsys_id",
			"active=true^" + drain + "^EQ^ORDERBYsys_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.filter)
			for _, c := range []struct {
				got  *Query
				want string
			}{{laterSeconds(f), tt.wantLater}, {drainSecond(f), tt.wantDrain}} {
				s, err := c.got.Build()
				require.NoError(t, err)
				assert.Equal(t, c.want, s)
				assert.Equal(t, s, mustParse(t, s).String())
			}
		})
	}

	// The single-query form repeats the filter in both ^NQ halves.
	f := mustParse(t, "a=1^NQb=1")
	cursor := NewQuery().After("sys_updated_on", T).NQ().At("sys_updated_on", T).GreaterThan("sys_id", S)
	got := f.And(cursor).WithOrder(OrderTerm{Field: "sys_updated_on"}, OrderTerm{Field: "sys_id"})
	assert.Equal(t, "a=1^sys_updated_on>2024-07-01 00:00:05"+
		"^NQa=1^"+drain+
		"^NQb=1^sys_updated_on>2024-07-01 00:00:05"+
		"^NQb=1^"+drain+
		"^ORDERBYsys_updated_on^ORDERBYsys_id", got.String())
}

// evalQuery evaluates a query made of =, != and ISEMPTY conditions against
// a record, with ServiceNow's precedence: ^OR binds to the term before it,
// ^ binds looser, ^NQ loosest.
func evalQuery(q *Query, rec map[string]string) bool {
	if len(q.Groups) == 0 {
		return true
	}
	for _, g := range q.Groups {
		all, chain, open := true, false, false
		for _, tm := range g.Terms {
			if !tm.IsFilter() {
				continue
			}
			var v bool
			switch tm.Operator {
			case OpEquals:
				v = rec[tm.Field] == tm.Value
			case OpNotEquals:
				v = rec[tm.Field] != tm.Value
			case OpIsEmpty:
				v = rec[tm.Field] == ""
			default:
				panic("evalQuery: unsupported operator " + string(tm.Operator))
			}
			if tm.Or {
				chain = chain || v
				continue
			}
			if open {
				all = all && chain
			}
			chain, open = v, true
		}
		if open {
			all = all && chain
		}
		if all {
			return true
		}
	}
	return false
}

func drawQuery(t *rapid.T, label string) *Query {
	fields := []string{"a", "b", "c"}
	q := NewQuery()
	groups := rapid.IntRange(0, 3).Draw(t, label+"groups")
	for g := 0; g < groups; g++ {
		if g > 0 {
			q = q.NQ()
		}
		n := rapid.IntRange(1, 3).Draw(t, label+"terms")
		for i := 0; i < n; i++ {
			if i > 0 && rapid.Bool().Draw(t, label+"or") {
				q = q.Or()
			}
			f := rapid.SampledFrom(fields).Draw(t, label+"field")
			v := rapid.SampledFrom([]string{"", "1", "2"}).Draw(t, label+"value")
			switch rapid.IntRange(0, 2).Draw(t, label+"op") {
			case 0:
				q = q.Equals(f, v)
			case 1:
				q = q.NotEquals(f, v)
			default:
				q = q.IsEmpty(f)
			}
		}
		if rapid.Bool().Draw(t, label+"eq") {
			q = q.add(Term{Kind: TermEnd})
		}
		if rapid.Bool().Draw(t, label+"sort") {
			q = q.OrderBy(rapid.SampledFrom(fields).Draw(t, label+"sortfield"))
		}
	}
	return q
}

// TestQueryAndSemantics checks, on random queries and every record over
// three fields, that q.And(r) matches exactly the rows both q and r match,
// that sorting does not change what matches, and that printing and parsing
// preserve the AST.
func TestQueryAndSemantics(t *testing.T) {
	var records []map[string]string
	vals := []string{"", "1", "2"}
	for _, a := range vals {
		for _, b := range vals {
			for _, c := range vals {
				records = append(records, map[string]string{"a": a, "b": b, "c": c})
			}
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		q, r := drawQuery(t, "q"), drawQuery(t, "r")
		if q.Err() != nil || r.Err() != nil {
			t.Skip("the drawn builder calls are not a valid query")
		}
		both := q.And(r)
		require.NoError(t, both.Err())
		back, err := ParseQuery(both.String())
		require.NoError(t, err)
		require.Equal(t, both.Groups, back.Groups)
		sorted := q.WithOrder(OrderTerm{Field: "c", Desc: true})
		for _, rec := range records {
			want := evalQuery(q, rec) && evalQuery(r, rec)
			require.Equal(t, want, evalQuery(both, rec), "q=%s r=%s and=%s rec=%v", q, r, both, rec)
			require.Equal(t, evalQuery(q, rec), evalQuery(q.WithoutOrder(), rec))
			require.Equal(t, evalQuery(q, rec), evalQuery(sorted, rec))
		}
	})
}

func TestQueryOrdering(t *testing.T) {
	q := mustParse(t, "ORDERBYDESCopened_at^active=true^ORDERBYnumber^NQpriority=1^GROUPBYcategory")
	assert.True(t, q.HasOrderBy())
	assert.Equal(t, []OrderTerm{{Field: "opened_at", Desc: true}, {Field: "number"}}, q.Ordering())

	wo := q.WithoutOrder()
	assert.Equal(t, "active=true^NQpriority=1^GROUPBYcategory", wo.String())
	assert.False(t, wo.HasOrderBy())
	assert.Nil(t, wo.Ordering())

	w := q.WithOrder(OrderTerm{Field: "sys_updated_on"}, OrderTerm{Field: "sys_id", Desc: true})
	assert.Equal(t, "active=true^NQpriority=1^GROUPBYcategory^ORDERBYsys_updated_on^ORDERBYDESCsys_id", w.String())
	assert.Equal(t, []OrderTerm{{Field: "sys_updated_on"}, {Field: "sys_id", Desc: true}}, w.Ordering())

	assert.Equal(t, "", mustParse(t, "ORDERBYnumber").WithoutOrder().String())
	assert.ErrorContains(t, q.WithOrder(OrderTerm{Field: "bad field"}).Err(), `field name "bad field" contains " "`)
	assert.False(t, mustParse(t, "a=1").HasOrderBy())
}

func TestQueryInspection(t *testing.T) {
	q := mustParse(t, "caller_id.department.name=Finance^priorityIN1,2^ORurgency=1"+
		"^due_dateMORETHANopened_at@hour@after@4^caller_idSAMEASopened_by^u_aGT_FIELDu_b"+
		"^JOINincident.caller_id=sys_user.sys_id!vip=true^123TEXTQUERY321=vpn"+
		"^RLQUERYtask_sla.task,>0^stage=breached^ENDRLQUERY"+
		"^NQcaller_id.email=x@example.org^ORDERBYnumber^GROUPBYassignment_group")
	assert.Equal(t, []string{
		"caller_id.department.name", "priority", "urgency", "due_date", "opened_at",
		"caller_id", "opened_by", "u_a", "u_b", "caller_id.email", "number", "assignment_group",
	}, q.Fields())
	assert.Equal(t, []string{
		"caller_id", "priority", "urgency", "due_date", "opened_at", "opened_by", "u_a", "u_b", "number", "assignment_group",
	}, q.RootFields())
	assert.False(t, q.UsesJavaScript())
	assert.Empty(t, q.RelativeTimeTerms())

	js := mustParse(t, "active=true^sys_updated_on>=javascript:gs.hoursAgoStart(1)"+
		"^opened_at>javascript:gs.dateGenerate('2024-01-01','00:00:00')"+
		"^caller_id=javascript:gs.getUserID()^sla_dueRELATIVEGT@hour@ago@1"+
		"^opened_atONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()"+
		"^RLQUERYtask_sla.task,>0^end_time<javascript:gs.nowDateTime()^ENDRLQUERY")
	assert.True(t, js.UsesJavaScript())
	var rel []string
	for _, tm := range js.RelativeTimeTerms() {
		rel = append(rel, tm.String())
	}
	assert.Equal(t, []string{
		"sys_updated_on>=javascript:gs.hoursAgoStart(1)",
		"sla_dueRELATIVEGT@hour@ago@1",
		"opened_atONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
		"end_time<javascript:gs.nowDateTime()",
	}, rel)
	assert.True(t, mustParse(t, "RLQUERYa.b,>0^x=JavaScript:gs.getUserID()^ENDRLQUERY").UsesJavaScript(), "javascript: inside RLQUERY, any case")
}

func TestTermValues(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"stateIN1,2,3", []string{"1", "2", "3"}},
		{"stateNOT IN6", []string{"6"}},
		{"priorityBETWEEN1@3", []string{"1", "3"}},
		{"sla_dueRELATIVEGT@hour@ago@1", []string{"", "hour", "ago", "1"}},
		{"due_dateSAMEASopened_at@day", []string{"opened_at", "day"}},
		{"short_description=a,b@c", []string{"a,b@c"}},
		{"closed_atISEMPTY", nil},
		{"123TEXTQUERY321=vpn", []string{"vpn"}},
		{"ORDERBYnumber", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, mustParse(t, tt.query).Groups[0].Terms[0].Values(), tt.query)
	}
}

func TestTermKindString(t *testing.T) {
	assert.Equal(t, "condition", TermCondition.String())
	assert.Equal(t, "RLQUERY", TermRelatedList.String())
	assert.Equal(t, "TermKind(9)", TermKind(9).String())
}

func TestOperatorProperties(t *testing.T) {
	assert.True(t, OpNotIn.Known())
	assert.False(t, Operator("EMPTY").Known())
	assert.True(t, OpIsEmpty.Unary())
	assert.False(t, OpEquals.Unary())
	for op := range queryOps {
		// Every operator is found again by the scanner, so nothing the
		// builder accepts is printed in a way the parser reads differently.
		field, got, value, _, reason := queryScanCondition("u_field" + string(op) + "x")
		assert.Empty(t, reason, op)
		assert.Equal(t, "u_field", field, op)
		assert.Equal(t, op, got)
		assert.Equal(t, "x", value, op)
	}
}

func TestCheckQuery(t *testing.T) {
	assert.NoError(t, checkQuery(""))
	assert.NoError(t, checkQuery("active=true^ORDERBYnumber"))
	for _, s := range []string{"a=1\nb=2", "a=1\r", "a=\x001"} {
		err := checkQuery(s)
		require.Error(t, err, "%q", s)
		qe := queryErr(t, err)
		assert.Equal(t, strings.IndexAny(s, "\x00\r\n"), qe.Offset)
	}
	bad := NewQuery().Equals("short_description", "x^y")
	err := checkQuery(bad.String())
	require.Error(t, err)
	assert.Equal(t, bad.Err().Error(), err.Error())
	var qe *QueryError
	assert.True(t, errors.As(err, &qe))
	assert.EqualError(t, checkQuery("\x00"), "servicenow: invalid query")
}

// TestRealQueryCorpus is optional: it runs only when SNOWSYNC_QUERY_CORPUS
// names a directory holding encoded_queries.tsv and
// encoded_queries_suspicious_real.tsv (a shared real-world corpus that CI
// does not have). testdata/queries covers the same constructs and always
// runs, in TestQueryCorpus.
func TestRealQueryCorpus(t *testing.T) {
	dir := os.Getenv("SNOWSYNC_QUERY_CORPUS")
	if dir == "" {
		t.Skip("optional: set SNOWSYNC_QUERY_CORPUS to the encoded-queries directory to run the real-world corpus")
	}
	valid := readQueryTSV(t, filepath.Join(dir, "encoded_queries.tsv"))
	require.NotEmpty(t, valid)
	warned := 0
	for _, s := range valid {
		q, err := ParseQuery(s)
		if !assert.NoError(t, err, s) {
			continue
		}
		assert.Equal(t, s, q.String())
		again, err := ParseQuery(q.String())
		if assert.NoError(t, err) {
			assert.Equal(t, q, again)
		}
		if w := q.Warnings(); len(w) > 0 {
			warned++
			t.Logf("valid, with warnings: %q: %v", s, w)
		}
	}
	t.Logf("%d valid queries round-tripped, %d of them with warnings", len(valid), warned)
	suspicious := readQueryTSV(t, filepath.Join(dir, "encoded_queries_suspicious_real.tsv"))
	rejected := 0
	for _, s := range suspicious {
		q, err := ParseQuery(s)
		if err != nil {
			rejected++
			t.Logf("suspicious, rejected: %q: %v", s, err)
			continue
		}
		w := q.Warnings()
		assert.NotEmpty(t, w, "suspicious query neither rejected nor warned about: %q", s)
		t.Logf("suspicious, warned: %q: %v", s, w)
	}
	t.Logf("%d suspicious queries: %d rejected, %d warned", len(suspicious), rejected, len(suspicious)-rejected)
}

// readQueryTSV reads the first column of a query<TAB>... file, skipping the
// header line and blank lines.
func readQueryTSV(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer func() { assert.NoError(t, f.Close()) }()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for first := true; sc.Scan(); first = false {
		line := sc.Text()
		if (first && strings.HasPrefix(line, "query")) || strings.TrimSpace(line) == "" {
			continue
		}
		q, _, _ := strings.Cut(line, "\t")
		out = append(out, q)
	}
	require.NoError(t, sc.Err())
	return out
}

func BenchmarkParseQuery(b *testing.B) {
	const s = "active=true^priorityIN1,2^short_descriptionLIKEvpn^ORdescriptionLIKEvpn" +
		"^sys_updated_on>=javascript:gs.hoursAgoStart(1)^NQcategory=network^assigned_toISEMPTY" +
		"^RLQUERYtask_sla.task,>0^stage=breached^ENDRLQUERY^ORDERBYsys_updated_on^ORDERBYsys_id"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseQuery(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryKeysetPage(b *testing.B) {
	filter, err := ParseQuery("category=network^ORcategory=database^NQpriority=1^ORDERBYnumber")
	require.NoError(b, err)
	T := time.Date(2024, 7, 1, 0, 0, 5, 0, time.UTC)
	H := T.Add(15 * time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		page := filter.And(NewQuery().After("sys_updated_on", T).AtOrBefore("sys_updated_on", H)).
			WithOrder(OrderTerm{Field: "sys_updated_on"}, OrderTerm{Field: "sys_id"})
		if _, err := page.Build(); err != nil {
			b.Fatal(err)
		}
	}
}
