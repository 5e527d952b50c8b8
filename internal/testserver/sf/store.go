package sf

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"time"
)

// store holds one module's records with the indexes listing needs. It is
// guarded by the server's mutex.
type store struct {
	mod        *moduleSpec
	byID       map[string]*record
	order      []*record            // id ascending = creation order (ids are monotonic)
	byKey      map[string]*record   // live records by (source, external_id)
	byExt      map[string][]*record // every record by external_id
	upd        []updEntry           // (updated_at, id) order, with stale entries
	updSorted  bool
	updStale   int
	nextNumber int64
}

// updEntry is one position in the (updated_at, id) order; it is stale when
// the record has since been written again (its version moved on).
type updEntry struct {
	ms      int64
	id      string
	version int64
	rec     *record
}

func cmpUpd(a, b updEntry) int {
	if c := cmp.Compare(a.ms, b.ms); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func newStore(m *moduleSpec) *store {
	return &store{
		mod: m, byID: map[string]*record{}, byKey: map[string]*record{}, byExt: map[string][]*record{},
		updSorted: true, nextNumber: 1001,
	}
}

// insert adds a new record (its id is larger than every other).
func (st *store) insert(r *record) {
	st.byID[r.id] = r
	st.order = append(st.order, r)
	if r.key != "" && r.live() {
		st.byKey[r.key] = r
	}
	if ext := r.extID(); ext != "" {
		st.byExt[ext] = append(st.byExt[ext], r)
	}
	st.touch(r, false)
}

// reindex updates the indexes after r was written; oldKey and oldExt are
// its uniqueness key and external id before the write.
func (st *store) reindex(r *record, oldKey, oldExt string) {
	if oldKey != "" && st.byKey[oldKey] == r {
		delete(st.byKey, oldKey)
	}
	if r.key != "" && r.live() {
		st.byKey[r.key] = r
	}
	if ext := r.extID(); ext != oldExt {
		if oldExt != "" {
			list := st.byExt[oldExt]
			if i := slices.Index(list, r); i >= 0 {
				list = slices.Delete(list, i, i+1)
			}
			if len(list) == 0 {
				delete(st.byExt, oldExt)
			} else {
				st.byExt[oldExt] = list
			}
		}
		if ext != "" {
			st.byExt[ext] = append(st.byExt[ext], r)
		}
	}
	st.touch(r, true)
}

// touch records r's new position in the (updated_at, id) order.
func (st *store) touch(r *record, rewrite bool) {
	e := updEntry{ms: r.updatedAt.UnixMilli(), id: r.id, version: r.version, rec: r}
	if n := len(st.upd); n > 0 && cmpUpd(e, st.upd[n-1]) < 0 {
		st.updSorted = false
	}
	st.upd = append(st.upd, e)
	if rewrite {
		st.updStale++
	}
}

// byUpdated returns the current (updated_at, id) order, compacting and
// sorting it when needed.
func (st *store) byUpdated() []updEntry {
	if !st.updSorted || st.updStale > len(st.upd)/2 {
		live := st.upd[:0]
		for _, e := range st.upd {
			if e.version == e.rec.version {
				live = append(live, e)
			}
		}
		clear(st.upd[len(live):])
		st.upd = live
		st.updStale = 0
		if !st.updSorted {
			slices.SortFunc(st.upd, cmpUpd)
			st.updSorted = true
		}
	}
	return st.upd
}

// query is a parsed list request.
type query struct {
	source         string
	externalIDs    []string
	updatedSince   time.Time
	hasSince       bool
	includeDeleted bool
	limit          int
	after          *cursor
}

// cursor is a keyset position: the sort key of the last record served.
type cursor struct {
	ByUpdated bool   `json:"u,omitempty"`
	MS        int64  `json:"t,omitempty"`
	ID        string `json:"i"`
	Filter    string `json:"f"`
}

func (q *query) match(r *record) bool {
	if !q.includeDeleted && !r.live() {
		return false
	}
	if q.source != "" && r.source() != q.source {
		return false
	}
	if q.hasSince && r.updatedAt.Before(q.updatedSince) {
		return false
	}
	return true
}

// list returns up to q.limit matching records after q.after, and whether
// more follow.
func (st *store) list(q *query) ([]*record, bool) {
	out := make([]*record, 0, min(q.limit, 1024))
	take := func(r *record) bool { // reports whether to go on
		if !q.match(r) {
			return true
		}
		out = append(out, r)
		return len(out) <= q.limit
	}
	switch {
	case len(q.externalIDs) > 0:
		seen := map[*record]bool{}
		var cands []*record
		for _, ext := range q.externalIDs {
			for _, r := range st.byExt[ext] {
				if !seen[r] {
					seen[r] = true
					cands = append(cands, r)
				}
			}
		}
		if q.hasSince {
			slices.SortFunc(cands, func(a, b *record) int {
				return cmpUpd(updEntry{ms: a.updatedAt.UnixMilli(), id: a.id}, updEntry{ms: b.updatedAt.UnixMilli(), id: b.id})
			})
		} else {
			slices.SortFunc(cands, func(a, b *record) int { return strings.Compare(a.id, b.id) })
		}
		for _, r := range cands {
			if q.after != nil {
				if q.hasSince && cmpUpd(updEntry{ms: r.updatedAt.UnixMilli(), id: r.id}, updEntry{ms: q.after.MS, id: q.after.ID}) <= 0 {
					continue
				}
				if !q.hasSince && r.id <= q.after.ID {
					continue
				}
			}
			if !take(r) {
				break
			}
		}
	case q.hasSince:
		entries := st.byUpdated()
		from := updEntry{ms: q.updatedSince.UnixMilli()}
		i := sort.Search(len(entries), func(i int) bool { return cmpUpd(entries[i], from) >= 0 })
		if q.after != nil {
			pos := updEntry{ms: q.after.MS, id: q.after.ID}
			i = max(i, sort.Search(len(entries), func(i int) bool { return cmpUpd(entries[i], pos) > 0 }))
		}
		for ; i < len(entries); i++ {
			e := entries[i]
			if e.version != e.rec.version {
				continue // stale position of a record written since
			}
			if !take(e.rec) {
				break
			}
		}
	default:
		i := 0
		if q.after != nil {
			id := q.after.ID
			i = sort.Search(len(st.order), func(i int) bool { return st.order[i].id > id })
		}
		for ; i < len(st.order); i++ {
			if !take(st.order[i]) {
				break
			}
		}
	}
	if len(out) > q.limit {
		return out[:q.limit], true
	}
	return out, false
}
