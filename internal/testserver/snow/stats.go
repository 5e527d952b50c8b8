package snow

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// serveAggregate implements GET /api/now/stats/{table}: sysparm_count,
// sysparm_group_by and the avg/min/max/sum fields. Counts include rows that
// read ACLs hide, like X-Total-Count.
func (s *Server) serveAggregate(w http.ResponseWriter, r *http.Request, p *principal, rt route) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, errMethod)
		return
	}
	q := r.URL.Query()
	if q.Get("sysparm_having") != "" {
		writeError(w, r, unsupported("sysparm_having is not evaluated"))
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.schema.tables[rt.table]
	if t == nil {
		writeError(w, r, invalidTable(rt.table))
		return
	}
	if s.accessFor(p, t, OpRead).denied {
		writeError(w, r, errQueryRights)
		return
	}
	cq, err := compileQuery(q.Get("sysparm_query"), s.env(t, p))
	if err != nil {
		writeError(w, r, asAPIError(err))
		return
	}
	rows, _ := s.selectRows(t, cq, listParams{limit: int(^uint(0) >> 1)}, OrderInsertion)
	mode := parseDisplayMode(q.Get("sysparm_display_value"))
	aggs := map[string][]string{}
	for _, k := range []string{"avg", "min", "max", "sum"} {
		for _, f := range strings.Split(q.Get("sysparm_"+k+"_fields"), ",") {
			if f = strings.TrimSpace(f); f != "" {
				if _, _, ok := s.resolvePath(t, f); ok {
					aggs[k] = append(aggs[k], f)
				}
			}
		}
	}
	count := queryFlag(q, "sysparm_count")
	var groupBy []string
	for _, f := range strings.Split(q.Get("sysparm_group_by"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			if _, _, ok := s.resolvePath(t, f); ok {
				groupBy = append(groupBy, f)
			}
		}
	}
	if len(groupBy) == 0 {
		b := []byte(`{"result":{"stats":`)
		b = s.appendStats(b, t, rows, count, aggs)
		b = append(b, "}}"...)
		writeBody(w, r, http.StatusOK, b)
		return
	}
	getters := make([]getter, len(groupBy))
	cols := make([]*column, len(groupBy))
	for i, f := range groupBy {
		getters[i], cols[i], _ = s.resolvePath(t, f)
	}
	groups := map[string][]*record{}
	var keys []string
	for _, x := range rows {
		parts := make([]string, len(getters))
		for i, g := range getters {
			parts[i] = g(x)
		}
		k := strings.Join(parts, "\x00")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], x)
	}
	sort.Strings(keys)
	rd := &renderer{s: s, t: t, p: p}
	b := []byte(`{"result":[`)
	for gi, k := range keys {
		if gi > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stats":`...)
		b = s.appendStats(b, t, groups[k], count, aggs)
		b = append(b, `,"groupby_fields":[`...)
		for i, v := range strings.Split(k, "\x00") {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = appendJSONString(b, groupBy[i])
			b = append(b, `,"value":`...)
			b = appendJSONString(b, v)
			if mode != dvFalse {
				first := groups[k][0]
				row, idx := first, 0
				if steps, _, ok := s.walkPath(t, groupBy[i]); ok {
					row, idx = s.resolve(first, steps)
				}
				b = append(b, `,"display_value":`...)
				b = appendJSONString(b, rd.display(row, idx, cols[i], v))
			}
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}"...)
	writeBody(w, r, http.StatusOK, b)
}

func (s *Server) appendStats(b []byte, t *tableDef, rows []*record, count bool, aggs map[string][]string) []byte {
	b = append(b, '{')
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	for _, k := range []string{"avg", "min", "max", "sum"} {
		fields := aggs[k]
		if len(fields) == 0 {
			continue
		}
		sep()
		b = appendJSONString(b, k)
		b = append(b, ":{"...)
		for i, f := range fields {
			if i > 0 {
				b = append(b, ',')
			}
			get, col, _ := s.resolvePath(t, f)
			b = appendJSONString(b, f)
			b = append(b, ':')
			b = appendJSONString(b, aggregate(k, rows, get, col.numeric))
		}
		b = append(b, '}')
	}
	if count {
		sep()
		b = append(b, `"count":`...)
		b = appendJSONString(b, strconv.Itoa(len(rows)))
	}
	return append(b, '}')
}

func aggregate(kind string, rows []*record, get getter, numeric bool) string {
	var sum float64
	var n int
	best := ""
	var bestN float64
	for _, r := range rows {
		v := get(r)
		if v == "" {
			continue
		}
		f, ok := parseNum(v)
		switch kind {
		case "avg", "sum":
			if ok {
				sum += f
				n++
			}
		case "min", "max":
			better := false
			switch {
			case best == "":
				better = true
			case numeric && ok:
				better = (kind == "min" && f < bestN) || (kind == "max" && f > bestN)
			default:
				better = (kind == "min" && v < best) || (kind == "max" && v > best)
			}
			if better {
				best, bestN = v, f
			}
		}
	}
	switch kind {
	case "avg":
		if n == 0 {
			return ""
		}
		return strconv.FormatFloat(sum/float64(n), 'f', 4, 64)
	case "sum":
		return strconv.FormatFloat(sum, 'f', -1, 64)
	}
	return best
}

// serveCurrentUser implements GET /api/now/ui/user/current_user.
func (s *Server) serveCurrentUser(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, errMethod)
		return
	}
	initials := ""
	for _, part := range strings.Fields(p.name) {
		r, _ := utf8.DecodeRuneInString(part)
		initials += strings.ToUpper(string(r))
	}
	display := p.name
	if display == "" {
		display = p.userName
	}
	b := []byte(`{"result":{"user_sys_id":`)
	b = appendJSONString(b, p.userID)
	b = append(b, `,"user_name":`...)
	b = appendJSONString(b, p.userName)
	b = append(b, `,"user_display_name":`...)
	b = appendJSONString(b, display)
	b = append(b, `,"user_initials":`...)
	b = appendJSONString(b, initials)
	b = append(b, `,"user_avatar":""}}`...)
	writeBody(w, r, http.StatusOK, b)
}
