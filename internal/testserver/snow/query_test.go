package snow

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queryFixture seeds users, groups and five incidents whose short
// descriptions name them. The clock stands at t0, Monday 2026-03-02 10:00 UTC.
func queryFixture(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, _ := newFake(t, opts...)
	alice := mustUser(t, s, User{UserName: "alice", Password: "pw", FirstName: "Alice", LastName: "Able", Email: "alice@example.com", Roles: []string{"itil"}})
	bob := mustUser(t, s, User{UserName: "bob", Password: "pw", FirstName: "Bob", LastName: "Baker", Email: "bob@example.com", Roles: []string{"itil"}})
	g := mustSeed(t, s, "sys_user_group", map[string]any{"name": "Network"}, map[string]any{"name": "Database"})
	rows := []map[string]any{
		{"short_description": "alpha", "state": 1, "impact": 1, "urgency": 1, "caller_id": alice["sys_id"], "assignment_group": g[0],
			"sys_updated_on": "2026-03-02 09:30:00", "reassignment_count": 2, "reopen_count": 0, "category": "network",
			"description": "VPN down", "correlation_id": ""},
		{"short_description": "beta", "state": 2, "impact": 2, "urgency": 2, "caller_id": bob["sys_id"], "assignment_group": g[1],
			"sys_updated_on": "2026-03-01 23:59:59", "reassignment_count": 0, "reopen_count": 1, "category": "database", "description": ""},
		{"short_description": "gamma", "state": 7, "impact": 3, "urgency": 3, "caller_id": alice["sys_id"], "close_code": "Duplicate",
			"close_notes": "dup", "sys_updated_on": "2026-02-20 08:00:00", "reassignment_count": 10, "reopen_count": 10,
			"category": "inquiry", "description": "Printer on fire"},
		{"short_description": "delta", "state": 6, "impact": 1, "urgency": 3, "assignment_group": g[0], "close_code": "Duplicate",
			"close_notes": "dup", "sys_updated_on": "2026-03-02 09:59:30", "reassignment_count": 1, "reopen_count": 3,
			"category": "software", "description": "vpn slow"},
		{"short_description": "Epsilon", "state": 8, "impact": 2, "urgency": 1, "caller_id": bob["sys_id"],
			"sys_updated_on": "2026-02-25 00:00:00", "reassignment_count": 3, "reopen_count": 3, "correlation_id": "SF-5",
			"description": "Mail bounce"},
	}
	mustSeed(t, s, "incident", rows...)
	return s
}

func listNames(t *testing.T, s *Server, query string, opts ...reqOpt) *resp {
	t.Helper()
	return do(t, s, "GET", "/api/now/table/incident?sysparm_fields=short_description&sysparm_query="+url.QueryEscape(query), nil, opts...)
}

func TestQueryOperators(t *testing.T) {
	s := queryFixture(t)
	all := []string{"alpha", "beta", "gamma", "delta", "Epsilon"}
	cases := []struct {
		name  string
		query string
		want  []string
		as    reqOpt
	}{
		{"equals", "state=1", []string{"alpha"}, nil},
		{"not equals", "state!=1", []string{"beta", "gamma", "delta", "Epsilon"}, nil},
		{"less or equal on a computed priority", "priority<=2", []string{"alpha", "Epsilon"}, nil},
		{"greater than", "priority>3", []string{"gamma"}, nil},
		{"greater or equal", "priority>=3", []string{"beta", "gamma", "delta"}, nil},
		{"less than", "priority<3", []string{"alpha", "Epsilon"}, nil},
		{"integers compare as numbers, not strings", "reassignment_count>9", []string{"gamma"}, nil},
		{"date-time at or after", "sys_updated_on>=2026-03-01 00:00:00", []string{"alpha", "beta", "delta"}, nil},
		{"date-time before", "sys_updated_on<2026-02-25 00:00:00", []string{"gamma"}, nil},
		{"a date-only literal means midnight", "sys_updated_on>=2026-03-02", []string{"alpha", "delta"}, nil},
		{"LIKE ignores case", "descriptionLIKEvpn", []string{"alpha", "delta"}, nil},
		{"NOT LIKE", "descriptionNOT LIKEvpn", []string{"beta", "gamma", "Epsilon"}, nil},
		{"STARTSWITH ignores case", "short_descriptionSTARTSWITHeps", []string{"Epsilon"}, nil},
		{"ENDSWITH", "short_descriptionENDSWITHta", []string{"beta", "delta"}, nil},
		{"CONTAINS", "short_descriptionCONTAINSamm", []string{"gamma"}, nil},
		{"IN", "stateIN1,2,6", []string{"alpha", "beta", "delta"}, nil},
		{"NOT IN", "stateNOT IN1,2,6", []string{"gamma", "Epsilon"}, nil},
		{"ISEMPTY", "caller_idISEMPTY", []string{"delta"}, nil},
		{"ISNOTEMPTY", "caller_idISNOTEMPTY", []string{"alpha", "beta", "gamma", "Epsilon"}, nil},
		{"EMPTYSTRING", "descriptionEMPTYSTRING", []string{"beta"}, nil},
		{"ANYTHING", "correlation_idANYTHING", all, nil},
		{"=NULL means empty", "correlation_id=NULL", []string{"alpha", "beta", "gamma", "delta"}, nil},
		{"!=NULL means not empty", "correlation_id!=NULL", []string{"Epsilon"}, nil},
		{"BETWEEN numbers, inclusive", "priorityBETWEEN2@3", []string{"beta", "delta", "Epsilon"}, nil},
		{"BETWEEN javascript dates", "sys_updated_onBETWEENjavascript:gs.daysAgoStart(1)@javascript:gs.daysAgoEnd(0)", []string{"alpha", "beta", "delta"}, nil},
		{"SAMEAS", "reassignment_countSAMEASreopen_count", []string{"gamma", "Epsilon"}, nil},
		{"NSAMEAS", "reassignment_countNSAMEASreopen_count", []string{"alpha", "beta", "delta"}, nil},
		{"GT_FIELD", "reassignment_countGT_FIELDreopen_count", []string{"alpha"}, nil},
		{"LT_FIELD", "reassignment_countLT_FIELDreopen_count", []string{"beta", "delta"}, nil},
		{"GT_OR_EQUALS_FIELD", "reassignment_countGT_OR_EQUALS_FIELDreopen_count", []string{"alpha", "gamma", "Epsilon"}, nil},
		{"INSTANCEOF a parent class", "sys_class_nameINSTANCEOFtask", all, nil},
		{"INSTANCEOF an unrelated class", "sys_class_nameINSTANCEOFproblem", nil, nil},
		{"dot-walk to a user's email", "caller_id.email=alice@example.com", []string{"alpha", "gamma"}, nil},
		{"dot-walk to a group's name", "assignment_group.name=Network", []string{"alpha", "delta"}, nil},
		{"dot-walk with STARTSWITH", "caller_id.nameSTARTSWITHbob", []string{"beta", "Epsilon"}, nil},
		{"^OR", "state=1^ORstate=2", []string{"alpha", "beta"}, nil},
		{"^OR binds to the previous condition", "category=network^state=2^ORstate=1", []string{"alpha"}, nil},
		{"^NQ unions groups", "state=1^NQstate=7", []string{"alpha", "gamma"}, nil},
		{"^NQ groups keep their own ANDs", "state=1^category=database^NQstate=2^category=database", []string{"beta"}, nil},
		{"^EQ is ignored", "state=1^EQ", []string{"alpha"}, nil},
		{"gs.hoursAgoStart", "sys_updated_on>=javascript:gs.hoursAgoStart(1)", []string{"alpha", "delta"}, nil},
		{"gs.minutesAgoStart", "sys_updated_on>javascript:gs.minutesAgoStart(1)", []string{"delta"}, nil},
		{"gs.beginningOfToday", "sys_updated_on>=javascript:gs.beginningOfToday()", []string{"alpha", "delta"}, nil},
		{"gs.endOfToday", "sys_updated_on<=javascript:gs.endOfToday()", all, nil},
		{"gs.daysAgo", "sys_updated_on<javascript:gs.daysAgo(10)", []string{"gamma"}, nil},
		{"gs.dateGenerate start", "sys_updated_on>=javascript:gs.dateGenerate('2026-03-01','start')", []string{"alpha", "beta", "delta"}, nil},
		{"gs.dateGenerate time", "sys_updated_on<javascript:gs.dateGenerate('2026-03-01','23:59:59')", []string{"gamma", "Epsilon"}, nil},
		{"gs.getUserID as the caller", "caller_id=javascript:gs.getUserID()", []string{"alpha", "gamma"}, basic("alice", "pw")},
		{"gs.getUserName through a dot-walk", "caller_id.user_name=javascript:gs.getUserName()", []string{"beta", "Epsilon"}, basic("bob", "pw")},
		{"DYNAMIC Me", "caller_idDYNAMIC90d1921e5f510100a9ad2572f2b477fe", []string{"alpha", "gamma"}, basic("alice", "pw")},
		{"RELATIVEGT an hour ago", "sys_updated_onRELATIVEGT@hour@ago@1", []string{"alpha", "delta"}, nil},
		{"ON today", "sys_updated_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()", []string{"alpha", "delta"}, nil},
		{"plain text values may hold '='", "description=a=b", nil, nil},
		{"empty query returns everything", "", all, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []reqOpt
			if tc.as != nil {
				opts = append(opts, tc.as)
			}
			r := listNames(t, s, tc.query, opts...)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.ElementsMatch(t, tc.want, r.col(t, "short_description"))
		})
	}
}

func TestQueryOrdering(t *testing.T) {
	s := queryFixture(t)
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"numbers ascending, ties in insertion order", "ORDERBYpriority", []string{"alpha", "Epsilon", "beta", "delta", "gamma"}},
		{"numbers descending compare numerically", "ORDERBYDESCreassignment_count", []string{"gamma", "Epsilon", "alpha", "delta", "beta"}},
		{"date-times in time order", "ORDERBYsys_updated_on", []string{"gamma", "Epsilon", "beta", "alpha", "delta"}},
		{"strings byte-wise", "ORDERBYshort_description", []string{"Epsilon", "alpha", "beta", "delta", "gamma"}},
		{"several keys and a dot-walk, empty first", "ORDERBYcaller_id.name^ORDERBYDESCshort_description", []string{"delta", "gamma", "alpha", "beta", "Epsilon"}},
		{"a filter with two keys", "state!=7^ORDERBYpriority^ORDERBYDESCsys_updated_on", []string{"alpha", "Epsilon", "delta", "beta"}},
		{"ORDERBY may come first", "ORDERBYpriority^state!=7", []string{"alpha", "Epsilon", "beta", "delta"}},
		{"ORDERBY with ^NQ applies to the union", "state=7^NQstate=1^ORDERBYDESCpriority", []string{"gamma", "alpha"}},
		{"ORDERBY on an unknown column is ignored", "ORDERBYpublishedDESC", []string{"alpha", "beta", "gamma", "delta", "Epsilon"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := listNames(t, s, tc.query)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.Equal(t, tc.want, r.col(t, "short_description"))
		})
	}
}

func TestQueryInvalidParts(t *testing.T) {
	all := []string{"alpha", "beta", "gamma", "delta", "Epsilon"}
	cases := []struct {
		name   string
		query  string
		ignore []string // rows under InvalidQueryIgnore
	}{
		{"only an unknown column: the whole table", "no_such_field=x", all},
		{"an unknown column next to a valid one", "state=1^no_such_field=x", []string{"alpha"}},
		{"an unknown column inside an OR", "state=1^ORbogus=1", []string{"alpha"}},
		{"a term without a known operator", "serial_numberEMPTY", all},
		{"a dot-walk through a non-reference", "short_description.name=x", all},
	}
	for _, tc := range cases {
		t.Run(tc.name+" (ignore)", func(t *testing.T) {
			s := queryFixture(t)
			r := listNames(t, s, tc.query)
			require.Equal(t, http.StatusOK, r.status)
			assert.ElementsMatch(t, tc.ignore, r.col(t, "short_description"))
			assert.Equal(t, itoaT(len(tc.ignore)), r.header.Get("X-Total-Count"))
		})
		t.Run(tc.name+" (no_rows)", func(t *testing.T) {
			s := queryFixture(t, WithInvalidQueryMode(InvalidQueryNoRows))
			r := listNames(t, s, tc.query)
			require.Equal(t, http.StatusOK, r.status)
			assert.Empty(t, r.list(t))
			assert.Equal(t, "0", r.header.Get("X-Total-Count"))
		})
		t.Run(tc.name+" (forbidden)", func(t *testing.T) {
			s := queryFixture(t, WithInvalidQueryMode(InvalidQueryForbidden))
			r := listNames(t, s, tc.query)
			assert.Equal(t, http.StatusForbidden, r.status)
			assert.JSONEq(t, `{"error":{"message":"Insufficient rights to query records","detail":"Field(s) present in the query do not have permission to be read"},"status":"failure"}`, string(r.body))
		})
	}

	t.Run("the mode can change at run time", func(t *testing.T) {
		s := queryFixture(t)
		assert.Len(t, listNames(t, s, "bogus=1").list(t), 5)
		s.SetInvalidQueryMode(InvalidQueryNoRows)
		assert.Empty(t, listNames(t, s, "bogus=1").list(t))
	})

	t.Run("under the forbidden regime a condition on an ACL-hidden column is refused", func(t *testing.T) {
		s := queryFixture(t, WithInvalidQueryMode(InvalidQueryForbidden),
			WithACL(ACL{Table: "incident", Users: []string{"alice"}, HideFields: []string{"description"}}))
		assert.Equal(t, http.StatusForbidden, listNames(t, s, "descriptionLIKEvpn", basic("alice", "pw")).status)
		assert.Equal(t, http.StatusOK, listNames(t, s, "descriptionLIKEvpn", basic("bob", "pw")).status)
	})
}

func TestQueryUnsupportedIsRefused(t *testing.T) {
	s := queryFixture(t)
	for _, q := range []string{
		"RLQUERYincident.problem_id,>=1^ENDRLQUERY",
		"JOINincident.caller_id=sys_user.sys_id!active=true",
		"123TEXTQUERY321=email",
		"sys_updated_on>javascript:gs.nowDateTimeFoo()",
		"sys_updated_on>javascript:new GlideDateTime().getValue()",
		"sys_updated_onDATEPARTMonday@javascript:gs.datePart('dayofweek','monday','EE')",
		"caller_idDYNAMIC0123456789abcdef0123456789abcdef",
		"sys_updated_onRELATIVEGT@fortnight@ago@1",
	} {
		t.Run(q, func(t *testing.T) {
			r := listNames(t, s, q)
			assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			assert.Contains(t, string(r.body), "snow fake")
		})
	}
}

func itoaT(n int) string {
	return string(appendInt(nil, n))
}
