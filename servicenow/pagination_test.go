package servicenow

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aclTable serves n records r000..r(n-1) by offset, hiding those hidden()
// selects after the limit is applied, with ServiceNow's Link and
// X-Total-Count headers.
func aclTable(t *testing.T, mux *http.ServeMux, path string, n int, hidden func(i int) bool, calls *atomic.Int32) {
	t.Helper()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("sysparm_limit"))
		offset, _ := strconv.Atoi(q.Get("sysparm_offset"))
		assert.Contains(t, q.Get("sysparm_query"), "ORDERBY", "All always orders")
		var rows []string
		for i := offset; i < min(offset+limit, n); i++ {
			if !hidden(i) {
				rows = append(rows, fmt.Sprintf(`{"sys_id":"r%03d","number":"INC%07d"}`, i, i))
			}
		}
		self := "http://" + r.Host + r.URL.Path + "?sysparm_query=" + url.QueryEscape(q.Get("sysparm_query"))
		link := func(off int, rel string) string {
			return fmt.Sprintf(`<%s&sysparm_limit=%d&sysparm_offset=%d>;rel="%s"`, self, limit, off, rel)
		}
		if n > limit {
			parts := []string{link(0, "first"), link(offset-limit, "prev")}
			if offset+limit < n {
				parts = append(parts, link(offset+limit, "next"))
			}
			parts = append(parts, link((n-1)/limit*limit, "last"))
			w.Header().Set("Link", strings.Join(parts, ","))
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(n))
		writeJSON(w, 200, `{"result":[`+strings.Join(rows, ",")+`]}`)
	})
}

func TestAllReturnsEveryVisibleRowOnceThroughACLHoles(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	// 95 rows, pages of 10: rows 20-39 are all hidden (two empty pages mid-table),
	// and every 7th row elsewhere (short pages).
	hidden := func(i int) bool { return (i >= 20 && i < 40) || i%7 == 0 }
	aclTable(t, mux, "/api/now/v2/table/incident", 95, hidden, &calls)
	var pages []*Response
	seen := map[string]int{}
	for rec, err := range c.Table("incident").All(ctx(t), &ListOptions{Limit: 10, OnPage: func(r *Response) { pages = append(pages, r) }}) {
		require.NoError(t, err)
		seen[rec.SysID()]++
	}
	want := 0
	for i := range 95 {
		if !hidden(i) {
			want++
			assert.Equal(t, 1, seen[fmt.Sprintf("r%03d", i)], "row %d exactly once", i)
		}
	}
	assert.Len(t, seen, want)
	assert.Equal(t, int32(10), calls.Load(), "ten pages, none skipped and no extra request")
	hiddenTotal := 0
	for _, p := range pages {
		hiddenTotal += p.Hidden
	}
	assert.Equal(t, 95-want, hiddenTotal, "OnPage reports the rows ACLs hid")
	assert.Equal(t, 0, pages[2].Returned)
	assert.Equal(t, 10, pages[2].Hidden)
}

func TestAllIsLazyRestartsAndStops(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	aclTable(t, mux, "/api/now/v2/table/incident", 25, func(int) bool { return false }, &calls)
	seq := c.Incidents().All(ctx(t), &ListOptions{Limit: 10})
	assert.Equal(t, int32(0), calls.Load(), "nothing is fetched before the first iteration")
	count := func() int {
		n := 0
		for inc, err := range seq {
			require.NoError(t, err)
			require.NotEmpty(t, inc.Number)
			n++
		}
		return n
	}
	assert.Equal(t, 25, count())
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, 25, count(), "ranging twice starts over")
	assert.Equal(t, int32(6), calls.Load())
	n := 0
	for _, err := range seq {
		require.NoError(t, err)
		n++
		if n == 12 {
			break
		}
	}
	assert.Equal(t, int32(8), calls.Load(), "break stops fetching: two pages for twelve records")
}

func TestAllWithoutLinkHeaders(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/now/v2/table/u_things", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		offset, _ := strconv.Atoi(q.Get("sysparm_offset"))
		assert.Equal(t, "active=true^ORDERBYsys_id", q.Get("sysparm_query"))
		if offset >= 6 {
			writeJSON(w, 200, `{"result":[]}`)
			return
		}
		writeJSON(w, 200, fmt.Sprintf(`{"result":[{"sys_id":"a%d"},{"sys_id":"b%d"},{"sys_id":"c%d"}]}`, offset, offset, offset))
	})
	var ids []string
	for rec, err := range c.Table("u_things").All(ctx(t), &ListOptions{Query: "active=true", Limit: 3, NoCount: true, SuppressPaginationHeader: true}) {
		require.NoError(t, err)
		ids = append(ids, rec.SysID())
	}
	assert.Equal(t, []string{"a0", "b0", "c0", "a3", "b3", "c3"}, ids, "without count or links, an empty page ends the walk")
}

func TestAllYieldsAnErrorOnce(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, WithRetry(RetryPolicy{}))
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sysparm_offset") == "" {
			w.Header().Set("X-Total-Count", "4")
			writeJSON(w, 200, `{"result":[{"sys_id":"a"},{"sys_id":"b"}]}`)
			return
		}
		writeJSON(w, 403, `{"error":{"message":"Operation Failed","detail":"ACL"},"status":"failure"}`)
	})
	var got []string
	var errs []error
	for rec, err := range c.Table("incident").All(ctx(t), &ListOptions{Limit: 2}) {
		if err != nil {
			errs = append(errs, err)
			assert.Nil(t, rec)
			continue
		}
		got = append(got, rec.SysID())
	}
	assert.Equal(t, []string{"a", "b"}, got)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrForbidden)
}

func TestWithDefaultOrder(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "ORDERBYsys_id", withDefaultOrder(""))
	assert.Equal(t, "active=true^ORDERBYsys_id", withDefaultOrder("active=true"))
	assert.Equal(t, "active=true^ORDERBYDESCnumber", withDefaultOrder("active=true^ORDERBYDESCnumber"))
}

// keysetServer serves rows (sorted by updated_on, sys_id) answering the
// query shapes Keyset sends, evaluating only the cursor terms.
type keysetRow struct{ ts, id string }

func keysetHandler(t *testing.T, rows []keysetRow, queries *[]string, hideAll func(keysetRow) bool) http.HandlerFunc {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].ts != rows[j].ts {
			return rows[i].ts < rows[j].ts
		}
		return rows[i].id < rows[j].id
	})
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("sysparm_query")
		counting := strings.HasPrefix(r.URL.Path, "/api/now/stats/")
		if !counting {
			*queries = append(*queries, q)
			assert.True(t, strings.HasSuffix(q, "ORDERBYsys_updated_on^ORDERBYsys_id"), q)
			assert.Equal(t, "true", r.URL.Query().Get("sysparm_suppress_pagination_header"))
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("sysparm_limit"))
		groups := strings.Split(strings.TrimSuffix(q, "^ORDERBYsys_updated_on^ORDERBYsys_id"), "^NQ")
		match := func(row keysetRow) bool {
			for _, g := range groups {
				ok := true
				for _, term := range strings.Split(g, "^") {
					switch {
					case term == "" || term == "active=true" || strings.HasPrefix(term, "ORDERBY"):
					case strings.HasPrefix(term, "sys_updated_on<="):
						ok = ok && row.ts <= strings.TrimPrefix(term, "sys_updated_on<=")
					case strings.HasPrefix(term, "sys_updated_on>"):
						ok = ok && row.ts > strings.TrimPrefix(term, "sys_updated_on>")
					case strings.HasPrefix(term, "sys_updated_on="):
						ok = ok && row.ts == strings.TrimPrefix(term, "sys_updated_on=")
					case strings.HasPrefix(term, "sys_id>"):
						ok = ok && row.id > strings.TrimPrefix(term, "sys_id>")
					default:
						t.Errorf("unexpected term %q", term)
					}
				}
				if ok {
					return true
				}
			}
			return false
		}
		var out []string
		total := 0
		for _, row := range rows {
			if !match(row) {
				continue
			}
			total++
			if len(out)+0 < limit && (hideAll == nil || !hideAll(row)) {
				out = append(out, fmt.Sprintf(`{"sys_id":%q,"sys_updated_on":%q}`, row.id, row.ts))
			} else if hideAll != nil && hideAll(row) && len(out) < limit {
				// hidden after the limit: takes a slot, returns nothing
				limit--
			}
		}
		if counting {
			writeJSON(w, 200, fmt.Sprintf(`{"result":{"stats":{"count":"%d"}}}`, total))
			return
		}
		if r.URL.Query().Get("sysparm_no_count") != "true" {
			w.Header().Set("X-Total-Count", strconv.Itoa(total))
		}
		writeJSON(w, 200, `{"result":[`+strings.Join(out, ",")+`]}`)
	}
}

func TestKeysetSameSecondBucket(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	// 1,200 records updated in the same second, pages of 100, plus a few around it.
	var rows []keysetRow
	for i := range 1200 {
		rows = append(rows, keysetRow{"2026-01-01 10:00:00", fmt.Sprintf("%032x", i*7919)})
	}
	rows = append(rows, keysetRow{"2026-01-01 09:59:59", "ffff"}, keysetRow{"2026-01-01 10:00:01", "0000"}, keysetRow{"2026-01-01 11:00:00", "late"})
	var queries []string
	h := keysetHandler(t, rows, &queries, nil)
	mux.HandleFunc("/api/now/v2/table/incident", h)
	mux.HandleFunc("/api/now/stats/incident", h)
	seen := map[string]int{}
	var order []Cursor
	until := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	for rec, err := range c.Table("incident").Keyset(ctx(t), KeysetOptions{Query: "active=true", Limit: 100, Until: until}) {
		require.NoError(t, err)
		seen[rec.SysID()]++
		ts, _ := rec.Time("sys_updated_on")
		order = append(order, Cursor{ts, rec.SysID()})
	}
	assert.Len(t, seen, 1202, "every record up to Until, once")
	assert.Zero(t, seen["late"], "records after Until wait for the next sweep")
	for id, n := range seen {
		assert.Equal(t, 1, n, id)
	}
	for i := 1; i < len(order); i++ {
		assert.True(t, order[i-1].Less(order[i]), "strictly increasing at %d", i)
	}
	assert.Len(t, queries, 14, "13 full pages of 100 then the empty page that ends the sweep")
	assert.Equal(t, "active=true^sys_updated_on<=2026-01-01 10:30:00^ORDERBYsys_updated_on^ORDERBYsys_id", queries[0])
	assert.Contains(t, queries[1], "active=true^sys_updated_on>2026-01-01 10:00:00^sys_updated_on<=2026-01-01 10:30:00^NQactive=true^sys_updated_on=2026-01-01 10:00:00^sys_id>")
}

func TestKeysetResumesAfterACursorAndDistributesNQ(t *testing.T) {
	t.Parallel()
	filter, err := keysetFilter("a=1^ORb=2^NQc=3^ORDERBYnumber")
	require.NoError(t, err)
	cur := Cursor{UpdatedOn: NewTime(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)), SysID: "abc"}
	q, err := keysetQuery(filter, cur, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "a=1^ORb=2^sys_updated_on>2026-01-01 10:00:00^NQc=3^sys_updated_on>2026-01-01 10:00:00^NQa=1^ORb=2^sys_updated_on=2026-01-01 10:00:00^sys_id>abc^NQc=3^sys_updated_on=2026-01-01 10:00:00^sys_id>abc^ORDERBYsys_updated_on^ORDERBYsys_id", q)
	empty, err := keysetFilter("")
	require.NoError(t, err)
	q, err = keysetQuery(empty, Cursor{}, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "ORDERBYsys_updated_on^ORDERBYsys_id", q)
	_, err = keysetFilter("a=1^NQ")
	require.Error(t, err, "an empty ^NQ group would match every record")
	_, err = keysetQuery(filter, Cursor{UpdatedOn: cur.UpdatedOn, SysID: "a^b"}, time.Time{})
	require.Error(t, err, "a cursor that cannot be written safely")
}

func TestKeysetRefusesOutOfOrderPages(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"result":[{"sys_id":"b","sys_updated_on":"2026-01-01 10:00:01"},{"sys_id":"a","sys_updated_on":"2026-01-01 10:00:00"}]}`)
	})
	var got []string
	var err error
	for rec, e := range c.Table("incident").Keyset(ctx(t), KeysetOptions{}) {
		if e != nil {
			err = e
			break
		}
		got = append(got, rec.SysID())
	}
	assert.Equal(t, []string{"b"}, got, "nothing past the violation")
	var oe *OrderError
	require.ErrorAs(t, err, &oe)
	assert.Contains(t, err.Error(), "GMT")
}

func TestKeysetReportsPagesACLsEmptied(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var rows []keysetRow
	for i := range 30 {
		rows = append(rows, keysetRow{fmt.Sprintf("2026-01-01 10:00:%02d", i), fmt.Sprintf("id%02d", i)})
	}
	var queries []string
	h := keysetHandler(t, rows, &queries, func(r keysetRow) bool { return r.id >= "id10" && r.id < "id20" })
	mux.HandleFunc("/api/now/v2/table/incident", h)
	mux.HandleFunc("/api/now/stats/incident", h)
	var n int
	var err error
	for _, e := range c.Table("incident").Keyset(ctx(t), KeysetOptions{Limit: 10}) {
		if e != nil {
			err = e
			break
		}
		n++
	}
	assert.Equal(t, 10, n)
	var he *RowsHiddenError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 20, he.Remaining)
	assert.ErrorIs(t, err, ErrForbidden)
}

func TestKeysetTakesASecondLookWhenRecordsArriveAfterAnEmptyPage(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var mu sync.Mutex
	rows := []keysetRow{{"2026-01-01 10:00:00", "a"}, {"2026-01-01 10:00:01", "b"}}
	var queries []string
	pages := 0
	mux.HandleFunc("/api/now/v2/table/incident", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		pages++
		keysetHandler(t, rows, &queries, nil)(w, r)
		if pages == 2 {
			// Updated by someone else after the empty page went out.
			rows = append(rows, keysetRow{"2026-01-01 10:00:02", "c"})
		}
	})
	mux.HandleFunc("/api/now/stats/incident", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		keysetHandler(t, rows, &queries, nil)(w, r)
	})
	var got []string
	for rec, err := range c.Table("incident").Keyset(ctx(t), KeysetOptions{Limit: 2}) {
		require.NoError(t, err)
		got = append(got, rec.SysID())
	}
	assert.Equal(t, []string{"a", "b", "c"}, got)
	assert.Equal(t, 4, pages, "first page, empty page, second look, then the end")
}

func TestKeysetNeedsKeyedRecords(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	type bare struct {
		Name string `json:"name"`
	}
	for _, err := range NewTable[bare](c, "x").Keyset(ctx(t), KeysetOptions{}) {
		require.ErrorContains(t, err, "embed servicenow.SysFields")
	}
	type mine struct {
		SysFields
		Name string `json:"name"`
	}
	c2, mux := setup(t)
	mux.HandleFunc("/api/now/v2/table/u_mine", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "name,sys_id,sys_updated_on", r.URL.Query().Get("sysparm_fields"))
		writeJSON(w, 200, `{"result":[]}`)
	})
	for _, err := range NewTable[mine](c2, "u_mine").Keyset(ctx(t), KeysetOptions{Fields: []string{"name"}, NoCount: true}) {
		require.NoError(t, err)
	}
}
