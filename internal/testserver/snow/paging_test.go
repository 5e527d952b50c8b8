package snow

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var reLinkPart = regexp.MustCompile(`^<([^>]+)>;rel="(first|prev|next|last)"$`)

// links parses a Link header into rel → URL, checking its exact syntax.
func links(t *testing.T, h string) (map[string]string, []string) {
	t.Helper()
	out := map[string]string{}
	var order []string
	if h == "" {
		return out, nil
	}
	require.NotContains(t, h, " ", "Link has no spaces")
	for _, part := range strings.Split(h, ",") {
		m := reLinkPart.FindStringSubmatch(part)
		require.NotNil(t, m, "Link part %q", part)
		out[m[2]] = m[1]
		order = append(order, m[2])
	}
	return out, order
}

func seedIncidents(t *testing.T, s *Server, n int, extra func(i int) map[string]any) []string {
	t.Helper()
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{"short_description": fmt.Sprintf("inc %03d", i), "number": fmt.Sprintf("INC%07d", i+1)}
		if extra != nil {
			for k, v := range extra(i) {
				rows[i][k] = v
			}
		}
	}
	return mustSeed(t, s, "incident", rows...)
}

func TestPagingOffsetWalkFollowsLink(t *testing.T) {
	s, _ := newFake(t, WithOrdering(OrderShuffled))
	seedIncidents(t, s, 23, nil)
	path := "/api/now/v2/table/incident?sysparm_query=" + url.QueryEscape("ORDERBYnumber") + "&sysparm_fields=number&sysparm_limit=5"
	var got []string
	for page := 0; path != ""; page++ {
		require.Less(t, page, 10, "walk must end")
		r := do(t, s, "GET", path, nil)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "23", r.header.Get("X-Total-Count"))
		got = append(got, r.col(t, "number")...)
		l, order := links(t, r.header.Get("Link"))
		offset := page * 5
		assert.Equal(t, strconv.Itoa(offset-5), offsetOf(t, l["prev"]), "prev = offset-limit, negative on the first page")
		assert.Equal(t, "0", offsetOf(t, l["first"]))
		assert.Equal(t, "20", offsetOf(t, l["last"]))
		path = ""
		if next, ok := l["next"]; ok {
			assert.Equal(t, []string{"first", "prev", "next", "last"}, order)
			assert.Equal(t, strconv.Itoa(offset+5), offsetOf(t, next))
			path = strings.TrimPrefix(next, testOrigin)
		} else {
			assert.Equal(t, []string{"first", "prev", "last"}, order, "no next on the last page")
			assert.Equal(t, 20, offset)
		}
	}
	want := make([]string, 23)
	for i := range want {
		want[i] = fmt.Sprintf("INC%07d", i+1)
	}
	assert.Equal(t, want, got)
}

func offsetOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("sysparm_offset")
}

func TestPagingLinkFormat(t *testing.T) {
	s, _ := newFake(t)
	seedIncidents(t, s, 12, nil)

	t.Run("other parameters keep their order, limit then offset go last", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/incident?sysparm_offset=5&sysparm_query=active%3Dtrue%5EORDERBYnumber&sysparm_limit=5&sysparm_fields=number", nil)
		base := testOrigin + "/api/now/table/incident?sysparm_query=active%3Dtrue%5EORDERBYnumber&sysparm_fields=number&sysparm_limit=5&sysparm_offset="
		want := "<" + base + "0>;rel=\"first\",<" + base + "0>;rel=\"prev\",<" + base + "10>;rel=\"next\",<" + base + "10>;rel=\"last\""
		assert.Equal(t, want, r.header.Get("Link"))
	})
	t.Run("last is the start of the final page when the total is not a multiple", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/v1/table/incident?sysparm_limit=5&sysparm_offset=10", nil)
		l, order := links(t, r.header.Get("Link"))
		assert.Equal(t, []string{"first", "prev", "last"}, order)
		assert.Equal(t, "10", offsetOf(t, l["last"]))
		assert.Contains(t, l["first"], "/api/now/v1/table/incident?", "the version segment is echoed")
	})
	t.Run("no Link when everything fits one page", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/incident?sysparm_limit=12", nil)
		assert.Empty(t, r.header.Get("Link"))
		assert.Equal(t, "12", r.header.Get("X-Total-Count"))
	})
	t.Run("no Link when suppressed", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/incident?sysparm_limit=1&sysparm_suppress_pagination_header=true", nil)
		assert.Empty(t, r.header.Get("Link"))
		assert.Equal(t, "12", r.header.Get("X-Total-Count"))
	})
	t.Run("sysparm_no_count drops X-Total-Count and rel=last", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/incident?sysparm_limit=5&sysparm_no_count=true", nil)
		assert.Empty(t, r.header.Values("X-Total-Count"))
		_, order := links(t, r.header.Get("Link"))
		assert.Equal(t, []string{"first", "prev", "next"}, order)
		r = do(t, s, "GET", "/api/now/table/incident?sysparm_limit=5&sysparm_offset=10&sysparm_no_count=true", nil)
		_, order = links(t, r.header.Get("Link"))
		assert.Equal(t, []string{"first", "prev"}, order, "a short page has no next")
		assert.Len(t, r.list(t), 2)
	})
	t.Run("HEAD answers headers only", func(t *testing.T) {
		r := do(t, s, "HEAD", "/api/now/table/incident?sysparm_limit=5", nil)
		assert.Equal(t, http.StatusOK, r.status)
		assert.Empty(t, r.body)
		assert.Equal(t, "12", r.header.Get("X-Total-Count"))
	})
	t.Run("the default limit is 10000", func(t *testing.T) {
		r := do(t, s, "GET", "/api/now/table/incident?sysparm_offset=0", nil)
		assert.Len(t, r.list(t), 12)
	})
	t.Run("a bad offset is refused", func(t *testing.T) {
		assert.Equal(t, http.StatusBadRequest, do(t, s, "GET", "/api/now/table/incident?sysparm_offset=-1", nil).status)
		assert.Equal(t, http.StatusBadRequest, do(t, s, "GET", "/api/now/table/incident?sysparm_offset=x", nil).status)
	})
}

func TestPagingKeysetSameSecond(t *testing.T) {
	s, _ := newFake(t, WithOrdering(OrderShuffled))
	const n = 12000
	same := "2026-03-02 09:00:00"
	rows := make([]map[string]any, 0, n+20)
	for i := 0; i < n; i++ {
		rows = append(rows, map[string]any{"short_description": "bulk", "sys_updated_on": same})
	}
	for i := 0; i < 20; i++ {
		rows = append(rows, map[string]any{"short_description": "spread", "sys_updated_on": fmt.Sprintf("2026-03-02 08:%02d:00", 59-i)})
	}
	mustSeed(t, s, "incident", rows...)

	walk := func(compound bool) map[string]bool {
		seen := map[string]bool{}
		lastT, lastID := "2000-01-01 00:00:00", ""
		for page := 0; page < 50; page++ {
			q := "sys_updated_on>" + lastT
			if compound && lastID != "" {
				q = "sys_updated_on>" + lastT + "^NQsys_updated_on=" + lastT + "^sys_id>" + lastID
			}
			q += "^ORDERBYsys_updated_on^ORDERBYsys_id"
			r := do(t, s, "GET", "/api/now/table/incident?sysparm_fields=sys_id,sys_updated_on&sysparm_limit=1000&sysparm_no_count=true&sysparm_query="+url.QueryEscape(q), nil)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			rs := r.list(t)
			for _, row := range rs {
				id := row["sys_id"].(string)
				assert.False(t, seen[id], "row %s returned twice", id)
				seen[id] = true
			}
			if len(rs) < 1000 {
				return seen
			}
			lastT, lastID = rs[len(rs)-1]["sys_updated_on"].(string), rs[len(rs)-1]["sys_id"].(string)
		}
		t.Fatal("walk did not end")
		return nil
	}
	assert.Len(t, walk(true), n+20, "a (sys_updated_on, sys_id) cursor sees every row")
	assert.Less(t, len(walk(false)), n, "a bare sys_updated_on> cursor loses the rows that share the boundary second")
}

func TestPagingACLHiddenRowsGiveShortAndEmptyPages(t *testing.T) {
	s, _ := newFake(t, WithACL(ACL{Table: "incident", Users: []string{"viewer"}, HideRow: func(r Record) bool {
		n, _ := strconv.Atoi(strings.TrimPrefix(r["number"], "INC"))
		return (n >= 6 && n <= 10) || n == 13
	}}))
	mustUser(t, s, User{UserName: "viewer", Password: "pw", Roles: []string{"itil"}})
	ids := seedIncidents(t, s, 20, nil)

	var sizes []int
	var got []string
	for off := 0; off < 20; off += 5 {
		r := do(t, s, "GET", "/api/now/table/incident?sysparm_fields=number&sysparm_query=ORDERBYnumber&sysparm_limit=5&sysparm_offset="+strconv.Itoa(off), nil, basic("viewer", "pw"))
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "20", r.header.Get("X-Total-Count"), "the total counts hidden rows")
		sizes = append(sizes, len(r.list(t)))
		got = append(got, r.col(t, "number")...)
		if off < 15 {
			l, _ := links(t, r.header.Get("Link"))
			assert.Contains(t, l, "next", "a short or empty page is not the end")
		}
	}
	assert.Equal(t, []int{5, 0, 4, 5}, sizes, "the limit applies before the ACL: one empty and one short page")
	assert.Len(t, got, 14)
	assert.NotContains(t, got, "INC0000013")

	r := do(t, s, "GET", "/api/now/table/incident/"+ids[7], nil, basic("viewer", "pw"))
	assert.Equal(t, http.StatusNotFound, r.status, "a hidden row reads as missing")
	assert.Equal(t, http.StatusOK, do(t, s, "GET", "/api/now/table/incident/"+ids[7], nil).status, "others still see it")
	assert.Equal(t, http.StatusNotFound, do(t, s, "PATCH", "/api/now/table/incident/"+ids[7], map[string]any{"short_description": "x"}, basic("viewer", "pw")).status)
}

func TestPagingWithoutOrderByIsUnstable(t *testing.T) {
	mk := func() *Server {
		s, _ := newFake(t, WithOrdering(OrderShuffled), WithSeed(7))
		seedIncidents(t, s, 50, nil)
		return s
	}
	walk := func(s *Server) ([]string, map[string]bool) {
		var order []string
		seen := map[string]bool{}
		for off := 0; off < 50; off += 10 {
			r := do(t, s, "GET", "/api/now/table/incident?sysparm_fields=number&sysparm_limit=10&sysparm_offset="+strconv.Itoa(off), nil)
			for _, n := range r.col(t, "number") {
				order = append(order, n)
				seen[n] = true
			}
		}
		return order, seen
	}
	a, seenA := walk(mk())
	b, _ := walk(mk())
	assert.Equal(t, a, b, "the shuffle is reproducible from the seed")
	assert.Len(t, a, 50)
	assert.Less(t, len(seenA), 50, "offset paging without ORDERBY returns duplicates and misses rows")

	s := mk()
	s.SetOrdering(OrderInsertion)
	order, seen := walk(s)
	assert.Len(t, seen, 50)
	assert.Equal(t, "INC0000001", order[0])
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	s, clk := newFake(t, WithOrdering(OrderShuffled))
	ids := seedIncidents(t, s, 200, nil)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(3)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				r := do(t, s, "PATCH", "/api/now/table/incident/"+ids[(w*25+i)%len(ids)], map[string]any{"short_description": "patched"})
				assert.Equal(t, http.StatusOK, r.status)
			}
		}(w)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				r := do(t, s, "POST", "/api/now/table/incident", map[string]any{"short_description": "new"})
				assert.Equal(t, http.StatusCreated, r.status)
				clk.Advance(time.Second)
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				r := do(t, s, "GET", "/api/now/table/incident?sysparm_limit=50&sysparm_fields=sys_id,sys_updated_on,short_description&sysparm_query=ORDERBYsys_updated_on^ORDERBYsys_id", nil)
				assert.Equal(t, http.StatusOK, r.status)
				assert.Len(t, r.list(t), 50)
				_, ok := s.Record("incident", ids[i])
				assert.True(t, ok)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 300, s.Count("incident"))
	patched := 0
	for _, r := range s.Records("incident") {
		if r["short_description"] == "patched" {
			patched++
			assert.NotEqual(t, "0", r["sys_mod_count"])
		}
	}
	assert.Equal(t, 100, patched)
}
