package snow

import (
	"errors"
	"fmt"
	"time"
)

// WriteOption adjusts a test-side write (Insert, Update, Delete, BulkUpdate).
type WriteOption func(*writeOpts)

type writeOpts struct {
	user      string
	at        time.Time
	noSysFlds bool
	noRules   bool
}

// AsUser makes the write as the given user_name (default "admin"): it goes
// into sys_created_by/sys_updated_by, opened_by, journal entries and audit
// rows.
func AsUser(userName string) WriteOption { return func(o *writeOpts) { o.user = userName } }

// At stamps the write with t instead of the clock's time: a row that
// appears with a sys_updated_on in the past simulates a late commit (a
// transaction that started before a reader's cursor but committed after).
func At(t time.Time) WriteOption { return func(o *writeOpts) { o.at = t } }

// WithoutSysFields makes an update that leaves sys_updated_on,
// sys_updated_by and sys_mod_count alone, like a script running
// gr.autoSysFields(false): the change is invisible to a sys_updated_on
// cursor.
func WithoutSysFields() WriteOption { return func(o *writeOpts) { o.noSysFlds = true } }

// WithoutBusinessRules skips business rules and data policies
// (gr.setWorkflow(false)).
func WithoutBusinessRules() WriteOption { return func(o *writeOpts) { o.noRules = true } }

func (s *Server) mutationCtx(opts []WriteOption) writeCtx {
	o := writeOpts{user: "admin"}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	wc := writeCtx{user: o.user, now: s.Now(), noSysFlds: o.noSysFlds, noRules: o.noRules}
	if !o.at.IsZero() {
		wc.now = o.at.UTC()
	}
	if u := s.userByNameLocked(o.user); u != nil {
		wc.userID = u.id()
	}
	return wc
}

// ErrNotFound is returned by test-side writes to a row that does not exist.
var ErrNotFound = errors.New("snow: record not found")

// Insert creates a row the way a person in the UI would: defaults, number,
// system fields and business rules apply, data policies included. It
// returns the stored row.
func (s *Server) Insert(table string, values map[string]string, opts ...WriteOption) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.schema.tables[table]
	if t == nil {
		return nil, fmt.Errorf("snow: Insert: unknown table %q", table)
	}
	wc := s.mutationCtx(opts)
	if wc.noSysFlds {
		// An insert always stamps its row; At() sets the stamp.
		wc.noSysFlds = false
	}
	vals := make(map[string]string, len(values))
	for k, v := range values {
		vals[k] = v
	}
	r, err := s.insert(t, vals, wc)
	if err != nil {
		return nil, err
	}
	return r.toRecord(), nil
}

// Update changes a row the way a person in the UI would (a partial merge;
// system fields bump and business rules run unless told otherwise).
func (s *Server) Update(table, sysID string, values map[string]string, opts ...WriteOption) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.schema.tables[table]
	if t == nil {
		return nil, fmt.Errorf("snow: Update: unknown table %q", table)
	}
	old := s.lookup(t, sysID)
	if old == nil {
		return nil, fmt.Errorf("snow: Update %s/%s: %w", table, sysID, ErrNotFound)
	}
	r, err := s.update(old, values, s.mutationCtx(opts))
	if err != nil {
		return nil, err
	}
	return r.toRecord(), nil
}

// Delete removes a row (writing its sys_audit_delete row and cascading to
// relationships, like a delete in the UI).
func (s *Server) Delete(table, sysID string, opts ...WriteOption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.schema.tables[table]
	if t == nil {
		return fmt.Errorf("snow: Delete: unknown table %q", table)
	}
	r := s.lookup(t, sysID)
	if r == nil {
		return fmt.Errorf("snow: Delete %s/%s: %w", table, sysID, ErrNotFound)
	}
	s.remove(r, s.mutationCtx(opts))
	return nil
}

// BulkUpdate applies values to every row of table matching the encoded
// query, all in the same second (like an update job or an import), and
// returns how many rows changed. The query is evaluated as admin.
func (s *Server) BulkUpdate(table, query string, values map[string]string, opts ...WriteOption) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.schema.tables[table]
	if t == nil {
		return 0, fmt.Errorf("snow: BulkUpdate: unknown table %q", table)
	}
	wc := s.mutationCtx(opts)
	cq, err := compileQuery(query, queryEnv{s: s, t: t, now: wc.now, loc: time.UTC, userID: wc.userID, userName: wc.user})
	if err != nil {
		return 0, fmt.Errorf("snow: BulkUpdate: %w", err)
	}
	var targets []*record
	for _, r := range s.rowsOf(t) {
		if cq.match(r) {
			targets = append(targets, r)
		}
	}
	for i, r := range targets {
		if _, err := s.update(r, values, wc); err != nil {
			return i, err
		}
	}
	return len(targets), nil
}

// BulkDelete deletes every row of table matching the encoded query and
// returns how many were deleted.
func (s *Server) BulkDelete(table, query string, opts ...WriteOption) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.schema.tables[table]
	if t == nil {
		return 0, fmt.Errorf("snow: BulkDelete: unknown table %q", table)
	}
	wc := s.mutationCtx(opts)
	cq, err := compileQuery(query, queryEnv{s: s, t: t, now: wc.now, loc: time.UTC, userID: wc.userID, userName: wc.user})
	if err != nil {
		return 0, fmt.Errorf("snow: BulkDelete: %w", err)
	}
	var targets []*record
	for _, r := range s.rowsOf(t) {
		if cq.match(r) {
			targets = append(targets, r)
		}
	}
	for _, r := range targets {
		s.remove(r, wc)
	}
	return len(targets), nil
}

// Records returns every row of table and of the tables that extend it, in
// insertion order, with all the columns of each row's own class.
func (s *Server) Records(table string) []Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.schema.tables[table]
	if t == nil {
		return nil
	}
	rows := s.rowsOf(t)
	out := make([]Record, len(rows))
	for i, r := range rows {
		out[i] = r.toRecord()
	}
	return out
}

// Record returns one row (of table or a table extending it) by sys_id.
func (s *Server) Record(table, sysID string) (Record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.schema.tables[table]
	if t == nil {
		return nil, false
	}
	r := s.lookup(t, sysID)
	if r == nil {
		return nil, false
	}
	return r.toRecord(), true
}

// Count returns how many rows table (with its extensions) holds.
func (s *Server) Count(table string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.schema.tables[table]
	if t == nil {
		return 0
	}
	f := s.fams[t.root]
	if f == nil {
		return 0
	}
	if t == t.root {
		return len(f.rows) - f.dead
	}
	n := 0
	for _, r := range f.rows {
		if r != nil && r.class.isA(t) {
			n++
		}
	}
	return n
}

// Journal returns the journal entries of a row's journal field (comments,
// work_notes), oldest first, as "user: text" strings.
func (s *Server) Journal(table, sysID, field string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.lookupName(table, sysID)
	if r == nil {
		return nil
	}
	var out []string
	for _, e := range r.journal {
		if e.field == field {
			out = append(out, e.user+": "+e.text)
		}
	}
	return out
}
