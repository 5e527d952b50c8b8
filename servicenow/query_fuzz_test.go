package servicenow

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseQuery checks that ParseQuery never panics, that what it refuses
// it refuses with a *QueryError pointing inside the input, and that what it
// accepts prints back byte for byte, re-parses to an equal AST, and survives
// the inspection and composition helpers. Seeds: testdata/queries/valid.txt
// and testdata/fuzz/FuzzParseQuery.
func FuzzParseQuery(f *testing.F) {
	for _, s := range readQueryLines(f, filepath.Join("testdata", "queries", "valid.txt")) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			require.Nil(t, q)
			qe := queryErr(t, err)
			require.Equal(t, s, qe.Query)
			require.GreaterOrEqual(t, qe.Offset, 0)
			require.LessOrEqual(t, qe.Offset, len(s))
			require.NotEmpty(t, qe.Reason)
			return
		}
		require.NoError(t, q.Err())
		out, err := q.Build()
		require.NoError(t, err)
		require.Equal(t, s, out)
		require.NoError(t, checkQuery(out))
		again, err := ParseQuery(out)
		require.NoError(t, err)
		require.Equal(t, q, again)

		_ = q.Warnings()
		_ = q.RootFields()
		_ = q.UsesJavaScript()
		_ = q.RelativeTimeTerms()
		for _, g := range q.Groups {
			for _, tm := range g.Terms {
				_ = tm.Values()
			}
		}

		wo := q.WithoutOrder()
		require.NoError(t, wo.Err())
		require.False(t, wo.HasOrderBy())
		sorted := q.WithOrder(OrderTerm{Field: "sys_id"})
		require.NoError(t, sorted.Err())
		require.Equal(t, []OrderTerm{{Field: "sys_id"}}, sorted.Ordering())

		if len(q.Groups) <= 8 { // And multiplies groups
			both := q.And(again)
			require.NoError(t, both.Err())
			back, err := ParseQuery(both.String())
			require.NoError(t, err)
			require.Equal(t, both.Groups, back.Groups)
		}
	})
}

// queryFuzzOps is every operator, in a fixed order, plus one unknown.
var queryFuzzOps = func() []Operator {
	ops := []Operator{"EMPTY"}
	for op := range queryOps {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	return ops
}()

// FuzzQueryBuilder feeds arbitrary fields, operators and values to the
// builder: each call either records a clear *QueryError (and String is then
// refused by checkQuery) or yields a query whose parse gives the same field,
// operator and value back. In and Between get the value split into items.
// Seeds: testdata/fuzz/FuzzQueryBuilder.
func FuzzQueryBuilder(f *testing.F) {
	f.Add("short_description", 0, "vpn ^ outage", true)
	f.Add("u_NOT", 3, "Today@a@b", false)
	f.Fuzz(func(t *testing.T, field string, opIndex int, value string, or bool) {
		if opIndex < 0 {
			opIndex = -opIndex
		}
		op := queryFuzzOps[opIndex%len(queryFuzzOps)]
		base := NewQuery().Equals("active", "true")
		if or {
			base = base.Or()
		}
		q := base.Where(field, op, value)
		if err := q.Err(); err != nil {
			qe := queryErr(t, err)
			require.NotEmpty(t, qe.Reason)
			require.Equal(t, -1, qe.Offset)
			s := q.String()
			require.True(t, strings.HasPrefix(s, "\x00"))
			cerr := checkQuery(s)
			require.Error(t, cerr)
			require.Equal(t, err.Error(), cerr.Error())
			_, berr := q.Build()
			require.Equal(t, err, berr)
		} else {
			s, err := q.Build()
			require.NoError(t, err)
			require.NoError(t, checkQuery(s))
			p, err := ParseQuery(s)
			require.NoError(t, err, "%q", s)
			require.Len(t, p.Groups, 1)
			require.Len(t, p.Groups[0].Terms, 2)
			got := p.Groups[0].Terms[1]
			require.Equal(t, field, got.Field)
			require.Equal(t, op, got.Operator)
			require.Equal(t, value, got.Value)
			require.Equal(t, or, got.Or)
		}

		items := strings.Split(value, "|")
		in := NewQuery().In(field, items...)
		if in.Err() == nil {
			p, err := ParseQuery(in.String())
			require.NoError(t, err)
			require.Equal(t, items, p.Groups[0].Terms[0].Values())
		}
		lo, hi, _ := strings.Cut(value, "|")
		between := NewQuery().Between(field, lo, hi)
		if between.Err() == nil {
			p, err := ParseQuery(between.String())
			require.NoError(t, err)
			require.Equal(t, []string{lo, hi}, p.Groups[0].Terms[0].Values())
		}
		sorted := NewQuery().OrderByDesc(field)
		if sorted.Err() == nil {
			p, err := ParseQuery(sorted.String())
			require.NoError(t, err)
			require.Equal(t, []OrderTerm{{Field: field, Desc: true}}, p.Ordering())
		}
	})
}
