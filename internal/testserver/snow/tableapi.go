package snow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// DefaultLimit is the sysparm_limit used when a list request sets none.
const DefaultLimit = 10000

func (s *Server) serveTable(w http.ResponseWriter, r *http.Request, p *principal, rt route) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if rt.id == "" {
			s.serveList(w, r, p, rt)
		} else {
			s.serveGet(w, r, p, rt)
		}
	case http.MethodPost:
		if rt.id != "" {
			writeError(w, r, errMethod)
			return
		}
		s.serveWrite(w, r, p, rt)
	case http.MethodPut, http.MethodPatch:
		if rt.id == "" {
			writeError(w, r, errMethod)
			return
		}
		s.serveWrite(w, r, p, rt)
	case http.MethodDelete:
		if rt.id == "" {
			writeError(w, r, errMethod)
			return
		}
		s.serveDelete(w, r, p, rt)
	default:
		writeError(w, r, errMethod)
	}
}

// origin is scheme://host of the request, as links and Location echo it.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.URL.Scheme == "https" || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// linkBase is the prefix of reference links: <origin>/api/now/[vN/]table/.
func linkBase(r *http.Request, rt route) string {
	b := origin(r) + "/api/now/"
	if rt.ver != "" {
		b += rt.ver + "/"
	}
	return b + "table/"
}

func queryFlag(q url.Values, name string) bool { return strings.EqualFold(q.Get(name), "true") }

func (s *Server) env(t *tableDef, p *principal) queryEnv {
	return queryEnv{
		s: s, t: t, now: s.Now(), loc: p.loc, userID: p.userID, userName: p.userName,
		mode:   s.cfg.invalidMode,
		hidden: func(t *tableDef, f string) bool { return s.accessFor(p, t, OpRead).fields[f] },
	}
}

// listParams are the paging parameters of a list request.
type listParams struct {
	limit, offset int
	noCount       bool
}

func parseListParams(q url.Values) (listParams, *apiError) {
	lp := listParams{limit: DefaultLimit}
	if vs, ok := q["sysparm_limit"]; ok && len(vs) > 0 {
		n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err != nil || n <= 0 {
			return lp, errBadLimit
		}
		lp.limit = n
	}
	if vs, ok := q["sysparm_offset"]; ok && len(vs) > 0 && vs[0] != "" {
		n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err != nil || n < 0 {
			return lp, &apiError{status: 400, message: "Invalid value given for sysparm_offset",
				detail: strp("sysparm_offset value must be a non-negative integer")}
		}
		lp.offset = n
	}
	lp.noCount = queryFlag(q, "sysparm_no_count")
	return lp, nil
}

// plainFilters turns name=value list parameters into an encoded query
// (used only when sysparm_query is absent). Choice labels become values.
func plainFilters(t *tableDef, raw string) string {
	var conds []string
	for _, seg := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(seg, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || strings.HasPrefix(k, "sysparm_") {
			continue
		}
		i := t.col(k)
		if i < 0 {
			continue
		}
		if cv, ok := t.choiceValue(i, v); ok {
			v = cv
		}
		conds = append(conds, k+"="+v)
	}
	return strings.Join(conds, "^")
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, p *principal, rt route) {
	q := r.URL.Query()
	lp, aerr := parseListParams(q)
	if aerr != nil {
		writeError(w, r, aerr)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	var (
		total  int
		window []*record
	)
	s.mu.RLock()
	t := s.schema.tables[rt.table]
	if t == nil {
		s.mu.RUnlock()
		writeError(w, r, invalidTable(rt.table))
		return
	}
	acc := s.accessFor(p, t, OpRead)
	if acc.denied {
		s.mu.RUnlock()
		writeError(w, r, errQueryRights)
		return
	}
	query, has := q["sysparm_query"]
	qs := ""
	if has && len(query) > 0 {
		qs = query[0]
	} else {
		qs = plainFilters(t, r.URL.RawQuery)
	}
	cq, err := compileQuery(qs, s.env(t, p))
	if err != nil {
		s.mu.RUnlock()
		writeError(w, r, asAPIError(err))
		return
	}
	window, total = s.selectRows(t, cq, lp, s.cfg.ordering)
	pageRows := len(window)
	if acc.hidesRows() {
		vis := window[:0:0]
		for _, x := range window {
			if !acc.hidden(x) {
				vis = append(vis, x)
			}
		}
		window = vis
	}
	if r.Method != http.MethodHead {
		rd := newRenderer(s, t, p, linkBase(r, rt), parseDisplayMode(q.Get("sysparm_display_value")),
			queryFlag(q, "sysparm_exclude_reference_link"), q.Get("sysparm_fields"), acc)
		b := append(*buf, `{"result":[`...)
		for i, x := range window {
			if i > 0 {
				b = append(b, ',')
			}
			b = rd.record(b, x)
		}
		*buf = append(b, "]}"...)
	}
	s.mu.RUnlock()

	if rt.ver == "v1" && pageRows == 0 {
		writeError(w, r, errNoRecordsV1)
		return
	}
	h := w.Header()
	if !lp.noCount {
		h.Set("X-Total-Count", strconv.Itoa(total))
	}
	if !queryFlag(q, "sysparm_suppress_pagination_header") {
		if l := linkHeader(origin(r)+r.URL.EscapedPath(), r.URL.RawQuery, lp, total, pageRows); l != "" {
			h.Set("Link", l)
		}
	}
	writeBody(w, r, http.StatusOK, *buf)
}

// selectRows returns the page [offset, offset+limit) of the rows of t that
// match cq, and the number of matching rows (exact unless noCount, when it
// counts only as far as the page end). Callers hold s.mu for reading.
func (s *Server) selectRows(t *tableDef, cq *compiledQuery, lp listParams, ordering Ordering) ([]*record, int) {
	end := lp.offset + lp.limit
	if end < lp.offset { // overflow
		end = int(^uint(0) >> 1)
	}
	all := cq.matchAll()
	if len(cq.order) == 0 && ordering == OrderShuffled {
		f := s.fams[t.root]
		if f == nil {
			return nil, 0
		}
		matches := make([]*record, 0, len(f.rows)-f.dead)
		for _, x := range f.rows {
			if x != nil && x.class.isA(t) && (all || cq.match(x)) {
				matches = append(matches, x)
			}
		}
		n := len(matches)
		if lp.offset >= n {
			return nil, n
		}
		stop := min(end, n)
		rng := rand.New(rand.NewPCG(s.cfg.seed, s.requests.Add(1)))
		for i := 0; i < stop; i++ {
			j := i + rng.IntN(n-i)
			matches[i], matches[j] = matches[j], matches[i]
		}
		return matches[lp.offset:stop], n
	}
	var rows []*record
	var keys []string
	if len(cq.order) > 0 {
		e := s.sorted(t, cq)
		rows, keys = e.rows, e.primary
		// A bound on the primary sort key that every ^NQ group requires
		// narrows the rows to look at (a keyset cursor seeks, as an index would).
		if lo, hi, ok := cq.primaryRange(); ok {
			from := max(sort.SearchStrings(e.primary, lo), cq.seekStart(e))
			to := len(rows)
			if hi != "" {
				to = sort.Search(len(e.primary), func(i int) bool { return e.primary[i] > hi })
			}
			if from > to {
				from = to
			}
			rows, keys = rows[from:to], keys[from:to]
		}
	} else if f := s.fams[t.root]; f != nil {
		rows = f.rows
	}
	var window []*record
	total := 0
	sameClass := t.root == t && len(t.children) == 0
	for i, x := range rows {
		if x == nil || (!sameClass && !x.class.isA(t)) {
			continue
		}
		if !all {
			var key *string
			if keys != nil {
				key = &keys[i]
			}
			if !cq.matchKey(x, key) {
				continue
			}
		}
		if total >= lp.offset && total < end {
			window = append(window, x)
		}
		total++
		if lp.noCount && total >= end {
			break
		}
	}
	return window, total
}

// sorted returns the rows of t in cq's order, cached until the next write.
func (s *Server) sorted(t *tableDef, cq *compiledQuery) *sortEntry {
	key := t.name + "|" + cq.orderSpec()
	s.sortMu.Lock()
	defer s.sortMu.Unlock()
	if e := s.sortCache[key]; e != nil && e.version == s.version {
		return e
	}
	rows := s.rowsOf(t)
	primary := sortRows(rows, cq.order, func(k int, r *record) string { return cq.order[k].get(r) })
	e := &sortEntry{version: s.version, rows: rows, primary: primary}
	s.sortCache[key] = e
	return e
}

// linkHeader builds the Link header exactly as captured: no spaces, rel
// order first,prev,next,last, the request's other parameters in their
// order, then sysparm_limit and sysparm_offset.
func linkHeader(base, rawQuery string, lp listParams, total, pageRows int) string {
	if lp.noCount {
		if lp.offset == 0 && pageRows < lp.limit {
			return ""
		}
	} else if total <= lp.limit {
		return ""
	}
	var keep []string
	for _, seg := range strings.Split(rawQuery, "&") {
		if seg == "" {
			continue
		}
		k, _, _ := strings.Cut(seg, "=")
		if uk, err := url.QueryUnescape(k); err == nil && (uk == "sysparm_limit" || uk == "sysparm_offset") {
			continue
		}
		keep = append(keep, seg)
	}
	prefix := base + "?"
	if len(keep) > 0 {
		prefix += strings.Join(keep, "&") + "&"
	}
	prefix += "sysparm_limit=" + strconv.Itoa(lp.limit) + "&sysparm_offset="
	var b strings.Builder
	add := func(off int, rel string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString("<" + prefix + strconv.Itoa(off) + ">;rel=\"" + rel + "\"")
	}
	add(0, "first")
	add(lp.offset-lp.limit, "prev")
	if lp.noCount {
		if pageRows >= lp.limit {
			add(lp.offset+lp.limit, "next")
		}
		return b.String()
	}
	if lp.offset+lp.limit < total {
		add(lp.offset+lp.limit, "next")
	}
	add((total-1)/lp.limit*lp.limit, "last")
	return b.String()
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, p *principal, rt route) {
	q := r.URL.Query()
	buf := getBuf()
	defer putBuf(buf)
	s.mu.RLock()
	t := s.schema.tables[rt.table]
	if t == nil {
		s.mu.RUnlock()
		writeError(w, r, invalidTable(rt.table))
		return
	}
	acc := s.accessFor(p, t, OpRead)
	if acc.denied {
		s.mu.RUnlock()
		writeError(w, r, errQueryRights)
		return
	}
	rec := s.lookup(t, rt.id)
	if rec == nil || acc.hidden(rec) {
		s.mu.RUnlock()
		writeError(w, r, errNoRecord)
		return
	}
	rd := newRenderer(s, t, p, linkBase(r, rt), parseDisplayMode(q.Get("sysparm_display_value")),
		queryFlag(q, "sysparm_exclude_reference_link"), q.Get("sysparm_fields"), acc)
	b := append(*buf, `{"result":`...)
	b = rd.record(b, rec)
	*buf = append(b, '}')
	s.mu.RUnlock()
	writeBody(w, r, http.StatusOK, *buf)
}

// decodeBody reads a JSON object (or the first element of an array) into
// raw column values, the way the Table API stores them.
func decodeBody(body []byte) (map[string]json.RawMessage, *apiError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if body[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			return nil, badJSON(err)
		}
		if len(arr) == 0 {
			return map[string]json.RawMessage{}, nil
		}
		body = arr[0]
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, badJSON(err)
	}
	return obj, nil
}

func badJSON(err error) *apiError {
	return &apiError{status: 400, message: "Exception while reading request", detail: strp("The payload is not valid JSON: " + err.Error())}
}

// javaString renders a JSON value the way the instance stores it in a
// string column: strings as is, numbers and booleans as text, null as "",
// objects like Java's Map.toString ("{link=https://..., value=x}").
func javaString(raw json.RawMessage, list bool) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	if err := writeJava(dec, &b, list, true); err != nil {
		return string(raw)
	}
	return b.String()
}

func writeJava(dec *json.Decoder, b *strings.Builder, list, top bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			b.WriteByte('{')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				k, err := dec.Token()
				if err != nil {
					return err
				}
				fmt.Fprint(b, k)
				b.WriteByte('=')
				if err := writeJava(dec, b, false, false); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			b.WriteByte('}')
		case '[':
			sep := ", "
			if list && top {
				sep = ","
			} else {
				b.WriteByte('[')
			}
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteString(sep)
				}
				if err := writeJava(dec, b, false, false); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			if !(list && top) {
				b.WriteByte(']')
			}
		}
	case string:
		b.WriteString(v)
	case json.Number:
		b.WriteString(v.String())
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		if !top {
			b.WriteString("null")
		}
	}
	return nil
}

// inputValues converts a decoded body into column values for class t.
// With inputDisplay (sysparm_input_display_value=true), choice labels and
// reference display values are turned into stored values. Callers hold s.mu.
func (s *Server) inputValues(t *tableDef, obj map[string]json.RawMessage, inputDisplay bool) map[string]string {
	vals := make(map[string]string, len(obj))
	for k, raw := range obj {
		i := t.col(k)
		if i < 0 {
			if k == "sys_id" {
				vals[k] = javaString(raw, false)
			}
			continue
		}
		c := t.cols[i]
		v := javaString(raw, c.typ == TypeList)
		if inputDisplay && v != "" {
			switch {
			case c.typ == TypeReference:
				if rt := s.schema.tables[c.ref]; rt != nil && s.lookup(rt, v) == nil {
					for _, x := range s.rowsOf(rt) {
						if s.displayOf(x) == v {
							v = x.id()
							break
						}
					}
				}
			default:
				if cv, ok := t.choiceValue(i, v); ok {
					v = cv
				}
			}
		}
		vals[k] = v
	}
	return vals
}

// serveWrite handles POST (insert) and PUT/PATCH (partial update).
func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, p *principal, rt route) {
	if e := checkJSONContentType(r); e != nil {
		writeError(w, r, e)
		return
	}
	body, aerr := s.readBody(r)
	if aerr != nil {
		writeError(w, r, aerr)
		return
	}
	obj, aerr := decodeBody(body)
	if aerr != nil {
		writeError(w, r, aerr)
		return
	}
	q := r.URL.Query()
	buf := getBuf()
	defer putBuf(buf)
	wc := writeCtx{user: p.userName, userID: p.userID, now: s.Now()}
	s.mu.Lock()
	t := s.schema.tables[rt.table]
	if t == nil {
		s.mu.Unlock()
		writeError(w, r, invalidTable(rt.table))
		return
	}
	read := s.accessFor(p, t, OpRead)
	var (
		rec    *record
		err    error
		status = http.StatusOK
	)
	if r.Method == http.MethodPost {
		if s.accessFor(p, t, OpCreate).denied {
			s.mu.Unlock()
			writeError(w, r, aclError("Insert"))
			return
		}
		rec, err = s.insert(t, s.inputValues(t, obj, queryFlag(q, "sysparm_input_display_value")), wc)
		status = http.StatusCreated
	} else {
		old := s.lookup(t, rt.id)
		if old == nil || read.denied || read.hidden(old) {
			s.mu.Unlock()
			writeError(w, r, errNoRecord)
			return
		}
		if s.accessFor(p, old.class, OpWrite).denied {
			s.mu.Unlock()
			writeError(w, r, aclError("Update"))
			return
		}
		rec, err = s.update(old, s.inputValues(old.class, obj, queryFlag(q, "sysparm_input_display_value")), wc)
	}
	if err != nil {
		s.mu.Unlock()
		if we, ok := err.(*refusal); ok {
			writeError(w, r, &apiError{status: we.status, message: we.message, detail: strp(we.detail)})
			return
		}
		writeError(w, r, &apiError{status: 500, message: "Operation Failed", detail: strp(err.Error())})
		return
	}
	noBody := strings.EqualFold(r.Header.Get("X-no-response-body"), "true")
	if !noBody {
		rd := newRenderer(s, t, p, linkBase(r, rt), parseDisplayMode(q.Get("sysparm_display_value")),
			queryFlag(q, "sysparm_exclude_reference_link"), q.Get("sysparm_fields"), read)
		b := append(*buf, `{"result":`...)
		b = rd.record(b, rec)
		*buf = append(b, '}')
	}
	s.mu.Unlock()
	if status == http.StatusCreated {
		w.Header().Set("Location", linkBase(r, rt)+rt.table+"/"+rec.id())
	}
	if noBody {
		w.Header().Del("Content-Type")
		w.WriteHeader(status)
		return
	}
	writeBody(w, r, status, *buf)
}

func aclError(op string) *apiError {
	return &apiError{status: 403, message: "Operation Failed", detail: strp("ACL Exception " + op + " Failed due to security constraints")}
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, p *principal, rt route) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, s.cfg.maxBody))
	}
	wc := writeCtx{user: p.userName, userID: p.userID, now: s.Now()}
	s.mu.Lock()
	t := s.schema.tables[rt.table]
	if t == nil {
		s.mu.Unlock()
		writeError(w, r, invalidTable(rt.table))
		return
	}
	read := s.accessFor(p, t, OpRead)
	rec := s.lookup(t, rt.id)
	if rec == nil || read.denied || read.hidden(rec) {
		s.mu.Unlock()
		writeError(w, r, errNoRecord)
		return
	}
	if s.accessFor(p, rec.class, OpDelete).denied {
		s.mu.Unlock()
		writeError(w, r, aclError("Delete"))
		return
	}
	s.remove(rec, wc)
	s.mu.Unlock()
	w.Header().Del("Content-Type")
	w.WriteHeader(http.StatusNoContent)
}
