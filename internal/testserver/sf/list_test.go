package sf

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// page is one decoded list answer.
type page struct {
	ids    []string
	cursor string
	more   bool
}

func (h *harness) list(path string) page {
	h.t.Helper()
	r := h.get(path)
	require.Equal(h.t, http.StatusOK, r.status, "GET %s: %s", path, r.body)
	v := r.decode(h.t)
	var p page
	for _, d := range v["data"].([]any) {
		p.ids = append(p.ids, d.(map[string]any)["id"].(string))
	}
	if c, ok := v["next_cursor"].(string); ok {
		p.cursor = c
	}
	p.more = v["has_more"].(bool)
	return p
}

// walk pages through path (which has a query) and returns every id; before
// each page after the first it calls between.
func (h *harness) walk(path string, between func(page int)) []string {
	h.t.Helper()
	var all []string
	p := h.list(path)
	all = append(all, p.ids...)
	for n := 1; p.more; n++ {
		require.NotEmpty(h.t, p.cursor, "has_more without a cursor")
		if between != nil {
			between(n)
		}
		p = h.list(path + "&cursor=" + url.QueryEscape(p.cursor))
		all = append(all, p.ids...)
	}
	assert.Empty(h.t, p.cursor, "the last page has no cursor")
	return all
}

func TestGuideLookupByExternalID(t *testing.T) {
	h := newHarness(t)
	want := h.mustCreate("/incidents", map[string]any{"title": "a", "source": "servicenow", "external_id": "SN_SYS_ID"})
	h.mustCreate("/incidents", map[string]any{"title": "b", "source": "stackflow", "external_id": "SN_SYS_ID"})
	h.mustCreate("/incidents", map[string]any{"title": "c", "source": "servicenow", "external_id": "OTHER"})

	p := h.list("/incidents?source=servicenow&external_id=SN_SYS_ID")
	assert.Equal(t, []string{want["id"].(string)}, p.ids, "the guide's query works as written")
	assert.False(t, p.more)

	both := h.list("/incidents?source=servicenow&external_id=SN_SYS_ID&external_id=OTHER&external_id=NONE")
	assert.Len(t, both.ids, 2, "external_id repeats")
}

func TestPagingInIDOrderWithConcurrentInserts(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := range 25 {
		want = append(want, h.mustCreate("/incidents", map[string]any{"title": fmt.Sprint("before ", i)})["id"].(string))
	}
	deleted := want[3]
	got := h.walk("/incidents?limit=7", func(page int) {
		// Between pages other writers insert, update and delete.
		want = append(want, h.mustCreate("/incidents", map[string]any{"title": fmt.Sprint("during ", page)})["id"].(string))
		h.clock.Advance(time.Millisecond)
		require.NoError(t, h.srv.Delete(Incidents, deleted, "someone"))
		_, err := h.srv.Update(Incidents, want[20], map[string]any{"priority": page%5 + 1}, "someone")
		require.NoError(t, err)
	})
	// want[3] was deleted after the first page served it; every record that
	// existed throughout appears exactly once, and so do the new ones.
	assert.Equal(t, want, got, "no record skipped or repeated")
}

func TestPagingByUpdatedSince(t *testing.T) {
	h := newHarness(t)
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = h.mustCreate("/cmdb/cis", map[string]any{"name": fmt.Sprint("ci", i)})["id"].(string)
		if i%2 == 1 {
			h.clock.Advance(time.Second) // pairs share a millisecond: id breaks the tie
		}
	}
	// ci0 is updated last, so it sorts last.
	h.clock.Advance(time.Second)
	_, err := h.srv.Update(CMDBCIs, ids[0], map[string]any{"fqdn": "ci0.example.com"}, "someone")
	require.NoError(t, err)

	since := url.QueryEscape("2026-11-28T17:04:06.123Z") // inclusive: ci2, ci3 were written then
	got := h.walk("/cmdb/cis?limit=2&updated_since="+since, nil)
	assert.Equal(t, []string{ids[2], ids[3], ids[4], ids[5], ids[0]}, got)

	// A record updated while a reader pages moves behind the cursor and is
	// served again on a later page.
	got = h.walk("/cmdb/cis?limit=2&updated_since="+url.QueryEscape("2026-11-28T00:00:00Z"), func(page int) {
		if page == 1 {
			h.clock.Advance(time.Second)
			_, err := h.srv.Update(CMDBCIs, ids[1], map[string]any{"fqdn": "ci1.example.com"}, "someone")
			require.NoError(t, err)
		}
	})
	assert.Equal(t, []string{ids[1], ids[2], ids[3], ids[4], ids[5], ids[0], ids[1]}, got)
}

func TestListFiltersAndBadParameters(t *testing.T) {
	h := newHarness(t)
	for i := range 3 {
		h.mustCreate("/problems", map[string]any{"title": "p", "source": "servicenow", "external_id": fmt.Sprint("p", i)})
	}
	page1 := h.list("/problems?limit=2")
	require.True(t, page1.more)
	defaults := h.list("/problems")
	assert.Len(t, defaults.ids, 3)

	tooMany := url.Values{}
	for i := range 101 {
		tooMany.Add("external_id", fmt.Sprint(i))
	}
	cases := []struct {
		name  string
		query string
	}{
		{"an unknown filter", "state=new"},
		{"a limit above 1000", "limit=1001"},
		{"a zero limit", "limit=0"},
		{"a non-numeric limit", "limit=ten"},
		{"a malformed updated_since", "updated_since=yesterday"},
		{"include_deleted that is not a boolean", "include_deleted=yes"},
		{"a source given twice", "source=a&source=b"},
		{"101 external ids", tooMany.Encode()},
		{"a garbage cursor", "cursor=zzz"},
		{"a cursor used with other filters", "source=servicenow&cursor=" + url.QueryEscape(page1.cursor)},
		{"an id-order cursor used in updated order", "updated_since=2026-01-01T00:00:00Z&cursor=" + url.QueryEscape(page1.cursor)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(call{method: http.MethodGet, path: "/problems?" + tc.query, invalid: true})
			require.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
			assert.Equal(t, CodeBadRequest, r.errCode(t))
		})
	}
	ok := h.list("/problems?limit=5&cursor=" + url.QueryEscape(page1.cursor))
	assert.Len(t, ok.ids, 1, "limit may change between pages")
}

func TestPagingWhileWritersRun(t *testing.T) {
	h := newHarness(t)
	before := map[string]bool{}
	for i := range 60 {
		r, err := h.srv.Create(Problems, map[string]any{"title": fmt.Sprint("p", i)}, "seed")
		require.NoError(t, err)
		before[r.ID] = true
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() { // each writer adds 40 records while the reader pages
			defer wg.Done()
			for i := range 40 {
				if _, err := h.srv.Create(Problems, map[string]any{"title": fmt.Sprint("w", w, "-", i)}, "writer"); err != nil {
					t.Error(err)
					return
				}
				h.clock.Advance(time.Millisecond)
			}
		}()
	}
	got := h.walk("/problems?limit=9", nil)
	wg.Wait()

	seen := map[string]bool{}
	for _, id := range got {
		assert.False(t, seen[id], "record %s served twice", id)
		seen[id] = true
	}
	for id := range before {
		assert.True(t, seen[id], "record %s, there throughout, was skipped", id)
	}
	assert.True(t, slices.IsSorted(got), "pages follow id order")
}

func TestDeletesShowUpInIncrementalReads(t *testing.T) {
	h := newHarness(t)
	a := h.mustCreate("/incidents", map[string]any{"title": "a"})["id"].(string)
	b := h.mustCreate("/incidents", map[string]any{"title": "b"})["id"].(string)
	h.clock.Advance(time.Minute)
	require.NoError(t, h.srv.Delete(Incidents, a, "someone"))
	since := url.QueryEscape(t0.Add(time.Second).Format(time.RFC3339))
	assert.Empty(t, h.list("/incidents?updated_since="+since).ids, "a deleted record is hidden by default")
	assert.Equal(t, []string{a}, h.list("/incidents?include_deleted=true&updated_since="+since).ids,
		"with include_deleted an incremental reader sees the delete")
	assert.Equal(t, []string{b}, h.list("/incidents").ids)
}
