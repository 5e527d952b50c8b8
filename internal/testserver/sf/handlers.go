package sf

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---------------------------------------------------------------- list

var listParams = map[string]bool{
	"source": true, "external_id": true, "updated_since": true, "include_deleted": true, "limit": true, "cursor": true,
}

// parseQuery reads the list filters; every problem is a 400.
func parseQuery(raw string) (*query, *APIError) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "malformed query string: %v", err)
	}
	q := &query{limit: defaultLimit}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range vals {
			if !yield(k) {
				return
			}
		}
	}) {
		if !listParams[k] {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest,
				"unknown query parameter %q (filters: source, external_id, updated_since, include_deleted, limit, cursor)", k)
		}
		if k != "external_id" && len(vals[k]) > 1 {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "query parameter %q given more than once", k)
		}
	}
	if v, ok := vals["source"]; ok {
		if !sourcePattern.MatchString(v[0]) {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "source must match %s", sourcePattern)
		}
		q.source = v[0]
	}
	if v, ok := vals["external_id"]; ok {
		if len(v) > maxExternalIDs {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "external_id given %d times; at most %d", len(v), maxExternalIDs)
		}
		for _, e := range v {
			if e == "" || len(e) > maxExtID {
				return nil, errorf(http.StatusBadRequest, CodeBadRequest, "external_id must be 1..%d characters", maxExtID)
			}
		}
		q.externalIDs = v
	}
	if v, ok := vals["updated_since"]; ok {
		t, err := time.Parse(time.RFC3339Nano, v[0])
		if err != nil {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "updated_since must be an RFC 3339 date-time, e.g. 2026-11-28T17:04:05.123Z")
		}
		q.updatedSince, q.hasSince = t.UTC(), true
	}
	if v, ok := vals["include_deleted"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil || (v[0] != "true" && v[0] != "false") {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "include_deleted must be true or false")
		}
		q.includeDeleted = b
	}
	if v, ok := vals["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxLimit {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "limit must be an integer 1..%d", maxLimit)
		}
		q.limit = n
	}
	if v, ok := vals["cursor"]; ok {
		c, err := decodeCursor(v[0])
		if err != nil {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "cursor is malformed; pass next_cursor back unchanged")
		}
		if c.Filter != q.filterHash() || c.ByUpdated != q.hasSince {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "cursor was issued for other filters; use the same filters for every page")
		}
		q.after = c
	}
	return q, nil
}

// filterHash identifies the filters a cursor is valid with.
func (q *query) filterHash() string {
	ids := slices.Clone(q.externalIDs)
	slices.Sort(ids)
	since := ""
	if q.hasSince {
		since = q.updatedSince.Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%t", q.source, strings.Join(ids, "\x01"), since, q.includeDeleted))
	return hex.EncodeToString(sum[:6])
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // strings and ints only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if c.ID == "" || c.Filter == "" {
		return nil, fmt.Errorf("incomplete cursor")
	}
	return &c, nil
}

func (s *Server) handleList(rc *reqCtx, m *moduleSpec) {
	q, apiErr := parseQuery(rc.r.URL.RawQuery)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	s.mu.Lock()
	recs, more := s.stores[m.id].list(q)
	buf := make([]byte, 0, 64+len(recs)*700)
	buf = append(buf, `{"data":[`...)
	for i, r := range recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendRecord(buf, r)
	}
	buf = append(buf, `],"next_cursor":`...)
	if more {
		last := recs[len(recs)-1]
		c := cursor{ID: last.id, Filter: q.filterHash()}
		if q.hasSince {
			c.ByUpdated, c.MS = true, last.updatedAt.UnixMilli()
		}
		buf = appendString(buf, encodeCursor(c))
		buf = append(buf, `,"has_more":true}`...)
	} else {
		buf = append(buf, `null,"has_more":false}`...)
	}
	s.mu.Unlock()
	rc.send(http.StatusOK, buf)
}

// ---------------------------------------------------------------- get

func (s *Server) handleGet(rc *reqCtx, m *moduleSpec, id string) {
	s.mu.Lock()
	r := s.stores[m.id].byID[id]
	var body []byte
	if r != nil {
		body = appendRecord(nil, r)
	}
	s.mu.Unlock()
	if r == nil {
		rc.fail(notFound(m, id))
		return
	}
	rc.w.Header().Set("ETag", etag(r.version))
	rc.send(http.StatusOK, body)
}

func notFound(m *moduleSpec, id string) *APIError {
	return errorf(http.StatusNotFound, CodeNotFound, "no %s record with id %q", m.id, id)
}

func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatch is a parsed If-Match header.
type ifMatch struct {
	set     bool
	any     bool
	version int64
}

func parseIfMatch(h string) (ifMatch, *APIError) {
	h = strings.TrimSpace(h)
	if h == "" {
		return ifMatch{}, nil
	}
	if h == "*" {
		return ifMatch{set: true, any: true}, nil
	}
	v := strings.TrimPrefix(h, "W/")
	if strings.HasPrefix(v, `"`) != strings.HasSuffix(v, `"`) || v == `"` {
		return ifMatch{}, errorf(http.StatusBadRequest, CodeBadRequest, `If-Match must be a version: 3, "3" or W/"3" (or *)`)
	}
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return ifMatch{}, errorf(http.StatusBadRequest, CodeBadRequest, `If-Match must be a version: 3, "3" or W/"3" (or *)`)
	}
	return ifMatch{set: true, version: n}, nil
}

func (im ifMatch) check(r *record) *APIError {
	if !im.set || im.any || im.version == r.version {
		return nil
	}
	return errorf(http.StatusConflict, CodeVersionConflict,
		"record %s is at version %d, not %d; re-read it and retry", r.id, r.version, im.version)
}

// ---------------------------------------------------------------- writes

// createLocked creates a record from a parsed body. parseDetails are the
// problems parsing found; the rest are checked here. Callers hold s.mu.
func (s *Server) createLocked(st *store, ch change, parseDetails []Detail, subject string) (*record, *APIError) {
	m := st.mod
	details := slices.Clone(parseDetails)
	bad := map[string]bool{}
	for _, d := range details {
		bad[d.Field] = true
	}
	vals := make([]any, len(m.fields))
	for i, f := range m.fields {
		vals[i] = f.def
	}
	for k, v := range ch.vals {
		vals[m.index[k]] = v
	}
	for i, f := range m.fields {
		if f.required && vals[i] == nil && !bad[f.name] {
			details = append(details, Detail{Field: f.name, Message: "is required"})
			bad[f.name] = true
		}
	}
	details = append(details, s.checkRefs(m, ch.vals, bad)...)
	if len(details) == 0 && m.check != nil {
		details = m.check(m.getter(vals))
	}
	attrsJSON, d := encodeAttrs(canonicalAttrs(mergeAttrs(map[string]any{}, ch.attrs, ch.attrsGiven)))
	if d != nil && !bad["attributes"] {
		details = append(details, *d)
	}
	if len(details) > 0 {
		return nil, validationError(details)
	}
	key := uniqueKey(vals)
	if other := st.byKey[key]; key != "" && other != nil {
		return nil, duplicate(other)
	}
	now := s.now()
	r := &record{
		mod: m, id: m.idPrefix + "_" + s.ids.next(now), vals: vals, attrsJSON: attrsJSON,
		version: 1, createdAt: now, updatedAt: now, updatedBy: subject, key: key,
	}
	if m.numberPrefix != "" {
		r.number = m.numberPrefix + "-" + strconv.FormatInt(st.nextNumber, 10)
		st.nextNumber++
	}
	st.insert(r)
	s.hooks.emitLocked(r, "created")
	return r, nil
}

// updateLocked applies a parsed body to r. It reports whether anything
// changed. Callers hold s.mu.
func (s *Server) updateLocked(st *store, r *record, ch change, parseDetails []Detail, subject string, im ifMatch) (bool, *APIError) {
	if !r.live() {
		return false, errorf(http.StatusNotFound, CodeNotFound, "%s record %s is deleted", st.mod.id, r.id)
	}
	if err := im.check(r); err != nil {
		return false, err
	}
	m := st.mod
	details := slices.Clone(parseDetails)
	bad := map[string]bool{}
	for _, d := range details {
		bad[d.Field] = true
	}
	vals := slices.Clone(r.vals)
	changed := map[string]any{}
	for k, v := range ch.vals {
		i := m.index[k]
		if v != vals[i] {
			changed[k] = v
		}
		vals[i] = v
	}
	details = append(details, s.checkRefs(m, changed, bad)...)
	if len(details) == 0 && m.check != nil {
		details = m.check(m.getter(vals))
	}
	attrsJSON := r.attrsJSON
	if ch.attrsGiven {
		var d *Detail
		merged := canonicalAttrs(mergeAttrs(decodeAttrs(r.attrsJSON), ch.attrs, true))
		if attrsJSON, d = encodeAttrs(merged); d != nil && !bad["attributes"] {
			details = append(details, *d)
		}
	}
	if len(details) > 0 {
		return false, validationError(details)
	}
	key := uniqueKey(vals)
	if other := st.byKey[key]; key != "" && other != nil && other != r {
		return false, duplicate(other)
	}
	if slices.Equal(vals, r.vals) && bytes.Equal(attrsJSON, r.attrsJSON) {
		return false, nil
	}
	oldKey, oldExt := r.key, r.extID()
	r.vals, r.attrsJSON, r.key = vals, attrsJSON, key
	r.version++
	r.updatedAt = s.now()
	r.updatedBy = subject
	st.reindex(r, oldKey, oldExt)
	s.hooks.emitLocked(r, "updated")
	return true, nil
}

// deleteLocked soft-deletes r; deleting a deleted record does nothing.
func (s *Server) deleteLocked(st *store, r *record, subject string, im ifMatch) *APIError {
	if !r.live() {
		return nil
	}
	if err := im.check(r); err != nil {
		return err
	}
	now := s.now()
	oldKey, oldExt := r.key, r.extID()
	r.deletedAt, r.updatedAt, r.updatedBy = now, now, subject
	r.version++
	st.reindex(r, oldKey, oldExt)
	s.hooks.emitLocked(r, "deleted")
	return nil
}

// checkRefs checks that CI references in vals name existing CIs.
func (s *Server) checkRefs(m *moduleSpec, vals map[string]any, bad map[string]bool) []Detail {
	var out []Detail
	cis := s.stores[CMDBCIs]
	for _, f := range m.fields {
		if f.kind != kCIRef && f.kind != kCIID {
			continue
		}
		id, _ := vals[f.name].(string)
		if id == "" || bad[f.name] {
			continue
		}
		if cis.byID[id] == nil {
			out = append(out, Detail{Field: f.name, Message: fmt.Sprintf("no CI with id %q", id)})
		}
	}
	return out
}

func duplicate(other *record) *APIError {
	return errorf(http.StatusConflict, CodeDuplicateExternalID,
		"%s record %s already has source %q and external_id %q", other.mod.id, other.id, other.source(), other.extID())
}

// canonicalAttrs puts attribute values in the form the JSON decoder gives
// (numbers as json.Number), so that equal values compare equal whatever Go
// type a caller used.
func canonicalAttrs(a map[string]any) map[string]any {
	if len(a) == 0 {
		return map[string]any{}
	}
	if decoderShaped(a) {
		return a // already as the decoder gives it (the usual case: a request body)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return a // encodeAttrs reports the problem
	}
	v, err := decodeJSON(b)
	if err != nil {
		return a
	}
	out, _ := v.(map[string]any)
	return out
}

// ---------------------------------------------------------------- handlers

func (s *Server) handleCreate(rc *reqCtx, m *moduleSpec) {
	body, apiErr := rc.readBody(false)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	idem, apiErr := s.idempotency(rc, body)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	ch, details := m.parseChange(body)
	s.mu.Lock()
	if e, apiErr := s.idemLookupLocked(idem); apiErr != nil || e != nil {
		s.mu.Unlock()
		rc.replay(e, apiErr)
		return
	}
	r, apiErr := s.createLocked(s.stores[m.id], ch, details, rc.tok.subject)
	if apiErr != nil {
		s.mu.Unlock()
		rc.fail(apiErr)
		return
	}
	out := appendRecord(nil, r)
	tag := etag(r.version)
	s.idemStoreLocked(idem, http.StatusCreated, out, tag)
	s.mu.Unlock()
	rc.w.Header().Set("ETag", tag)
	rc.send(http.StatusCreated, out)
}

func (s *Server) handlePatch(rc *reqCtx, m *moduleSpec, id string) {
	im, apiErr := parseIfMatch(rc.r.Header.Get("If-Match"))
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	body, apiErr := rc.readBody(false)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	ch, details := m.parseChange(body)
	s.mu.Lock()
	st := s.stores[m.id]
	r := st.byID[id]
	if r == nil {
		s.mu.Unlock()
		rc.fail(notFound(m, id))
		return
	}
	if _, apiErr := s.updateLocked(st, r, ch, details, rc.tok.subject, im); apiErr != nil {
		s.mu.Unlock()
		rc.fail(apiErr)
		return
	}
	out := appendRecord(nil, r)
	tag := etag(r.version)
	s.mu.Unlock()
	rc.w.Header().Set("ETag", tag)
	rc.send(http.StatusOK, out)
}

func (s *Server) handleDelete(rc *reqCtx, m *moduleSpec, id string) {
	im, apiErr := parseIfMatch(rc.r.Header.Get("If-Match"))
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	s.mu.Lock()
	st := s.stores[m.id]
	r := st.byID[id]
	if r == nil {
		s.mu.Unlock()
		rc.fail(notFound(m, id))
		return
	}
	apiErr = s.deleteLocked(st, r, rc.tok.subject, im)
	s.mu.Unlock()
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	rc.noContent()
}

// bulkResult is one entry of a bulk upsert answer.
type bulkResult struct {
	index  int
	id     string
	status string
	err    *recordError
	rec    []byte
}

func (s *Server) handleBulk(rc *reqCtx, m *moduleSpec) {
	body, apiErr := rc.readBody(false)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	var details []Detail
	for k := range body {
		if k != "records" {
			details = append(details, Detail{Field: k, Message: "unknown field"})
		}
	}
	items, ok := body["records"].([]any)
	switch {
	case body["records"] == nil:
		details = append(details, Detail{Field: "records", Message: "is required"})
	case !ok:
		details = append(details, Detail{Field: "records", Message: "must be an array"})
	case len(items) > maxBulk:
		details = append(details, Detail{Field: "records", Message: fmt.Sprintf("must hold at most %d records (got %d)", maxBulk, len(items))})
	}
	if len(details) > 0 {
		slices.SortFunc(details, func(a, b Detail) int { return strings.Compare(a.Field, b.Field) })
		rc.fail(validationError(details))
		return
	}
	idem, apiErr := s.idempotency(rc, body)
	if apiErr != nil {
		rc.fail(apiErr)
		return
	}
	type parsed struct {
		obj     bool
		ch      change
		details []Detail
	}
	ps := make([]parsed, len(items))
	for i, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			continue
		}
		ch, d := m.parseChange(obj)
		ps[i] = parsed{obj: true, ch: ch, details: d}
	}

	s.mu.Lock()
	if e, apiErr := s.idemLookupLocked(idem); apiErr != nil || e != nil {
		s.mu.Unlock()
		rc.replay(e, apiErr)
		return
	}
	st := s.stores[m.id]
	results := make([]bulkResult, len(items))
	for i, p := range ps {
		res := bulkResult{index: i}
		if !p.obj {
			res.status = "error"
			res.err = &recordError{Code: CodeValidationFailed, Message: "the record must be a JSON object"}
			results[i] = res
			continue
		}
		var apiErr *APIError
		src, _ := p.ch.vals["source"].(string)
		ext, _ := p.ch.vals["external_id"].(string)
		switch {
		case src == "" || ext == "":
			d := slices.Clone(p.details)
			if src == "" && !hasField(d, "source") {
				d = append(d, Detail{Field: "source", Message: "is required in a bulk upsert"})
			}
			if ext == "" && !hasField(d, "external_id") {
				d = append(d, Detail{Field: "external_id", Message: "is required in a bulk upsert"})
			}
			apiErr = validationError(d)
		case st.byKey[src+"\x00"+ext] != nil:
			r := st.byKey[src+"\x00"+ext]
			res.id = r.id
			var changed bool
			if changed, apiErr = s.updateLocked(st, r, p.ch, p.details, rc.tok.subject, ifMatch{}); apiErr == nil {
				res.status = "unchanged"
				if changed {
					res.status = "updated"
				}
				res.rec = appendRecord(nil, r)
			}
		default:
			var r *record
			if r, apiErr = s.createLocked(st, p.ch, p.details, rc.tok.subject); apiErr == nil {
				res.id, res.status, res.rec = r.id, "created", appendRecord(nil, r)
			}
		}
		if apiErr != nil {
			res.status = "error"
			res.err = &recordError{Code: apiErr.Code, Message: apiErr.Message, Details: apiErr.Details}
		}
		results[i] = res
	}
	out := encodeBulk(results)
	s.idemStoreLocked(idem, http.StatusOK, out, "")
	s.mu.Unlock()
	rc.send(http.StatusOK, out)
}

func hasField(ds []Detail, name string) bool {
	return slices.ContainsFunc(ds, func(d Detail) bool { return d.Field == name })
}

func encodeBulk(results []bulkResult) []byte {
	b := make([]byte, 0, 64+len(results)*800)
	b = append(b, `{"results":[`...)
	for i, r := range results {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(r.index), 10)
		b = append(b, `,"id":`...)
		if r.id == "" {
			b = append(b, "null"...)
		} else {
			b = appendString(b, r.id)
		}
		b = append(b, `,"status":`...)
		b = appendString(b, r.status)
		b = append(b, `,"error":`...)
		if r.err == nil {
			b = append(b, "null"...)
		} else {
			e, _ := json.Marshal(r.err) // strings only: cannot fail
			b = append(b, e...)
		}
		b = append(b, `,"record":`...)
		if r.rec == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, r.rec...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// decoderShaped reports whether v holds only what a JSON decoder with
// UseNumber produces.
func decoderShaped(v any) bool {
	switch x := v.(type) {
	case nil, string, bool, json.Number:
		return true
	case map[string]any:
		for _, e := range x {
			if !decoderShaped(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !decoderShaped(e) {
				return false
			}
		}
		return true
	}
	return false
}
