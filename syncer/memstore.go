package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemStore is an in-memory Store for tests and dry runs. It has the same
// transactional behaviour as the durable stores: Update is all or nothing,
// and fenced by the lease. Safe for concurrent use.
type MemStore struct {
	// Now is the clock for lease expiry; nil means time.Now.
	Now func() time.Time

	mu        sync.RWMutex
	streams   map[string]*StreamState
	pairs     map[pairKey]*Pair
	bySF      map[pairKey]string // (table, sf id) -> sn id
	dlq       map[dlqKey]*DLQEntry
	intents   map[dlqKey]*Intent
	conflicts []Conflict
	leases    map[string]Lease
	tokens    map[string]int64
	replicas  map[string]memReplica // by holder
	closed    bool
}

type pairKey struct{ table, id string }
type dlqKey struct{ stream, id string }

var (
	_ Store    = (*MemStore)(nil)
	_ Replicas = (*MemStore)(nil)
)

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore {
	return &MemStore{
		streams: map[string]*StreamState{},
		pairs:   map[pairKey]*Pair{},
		bySF:    map[pairKey]string{},
		dlq:     map[dlqKey]*DLQEntry{},
		intents: map[dlqKey]*Intent{},
		leases:  map[string]Lease{},
		tokens:  map[string]int64{},

		replicas: map[string]memReplica{},
	}
}

// Heartbeat implements Replicas.
func (s *MemStore) Heartbeat(ctx context.Context, holder string, tables []string, ttl time.Duration) ([]Replica, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	now := s.now()
	ts := slices.Clone(tables)
	slices.Sort(ts)
	s.replicas[holder] = memReplica{until: now.Add(ttl), tables: slices.Compact(ts)}
	var live []Replica
	for h, r := range s.replicas {
		if now.Before(r.until) {
			live = append(live, Replica{Holder: h, Tables: slices.Clone(r.tables)})
		} else {
			delete(s.replicas, h)
		}
	}
	slices.SortFunc(live, func(a, b Replica) int { return strings.Compare(a.Holder, b.Holder) })
	return live, nil
}

// memReplica is a replica's last heartbeat.
type memReplica struct {
	until  time.Time
	tables []string
}

// Leave implements Replicas.
func (s *MemStore) Leave(ctx context.Context, holder string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.replicas, holder)
	return nil
}

func (s *MemStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ErrClosed is returned by a closed store.
var ErrClosed = errors.New("syncer: store is closed")

// AcquireLease implements Store.
func (s *MemStore) AcquireLease(ctx context.Context, group, holder string, ttl time.Duration) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Lease{}, ErrClosed
	}
	now := s.now()
	cur, ok := s.leases[group]
	if ok && cur.Holder != holder && now.Before(cur.Expires) {
		return Lease{}, ErrLeaseHeld
	}
	l := Lease{Group: group, Holder: holder, Expires: now.Add(ttl)}
	if ok && cur.Holder == holder && now.Before(cur.Expires) {
		l.Token = cur.Token // a renewal keeps the token
	} else {
		s.tokens[group]++
		l.Token = s.tokens[group]
	}
	s.leases[group] = l
	return l, nil
}

// ReleaseLease implements Store.
func (s *MemStore) ReleaseLease(ctx context.Context, l Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.leases[l.Group]; ok && cur.Holder == l.Holder && cur.Token == l.Token {
		delete(s.leases, l.Group)
	}
	return nil
}

func (s *MemStore) checkLease(l Lease) error {
	cur, ok := s.leases[l.Group]
	if !ok || cur.Holder != l.Holder || cur.Token != l.Token || !s.now().Before(cur.Expires) {
		return ErrFenced
	}
	return nil
}

// View implements Store.
func (s *MemStore) View(ctx context.Context, fn func(ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return fn(&memTx{s: s})
}

// Update implements Store.
func (s *MemStore) Update(ctx context.Context, l Lease, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.checkLease(l); err != nil {
		return err
	}
	tx := &memTx{s: s, write: true,
		streams: map[string]*StreamState{}, pairs: map[pairKey]*Pair{},
		dlq: map[dlqKey]*DLQEntry{}, intents: map[dlqKey]*Intent{}}
	if err := fn(tx); err != nil {
		return err
	}
	tx.commit()
	return nil
}

// Close implements Store.
func (s *MemStore) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// memTx reads the store through its own pending writes.
type memTx struct {
	s         *MemStore
	write     bool
	streams   map[string]*StreamState
	pairs     map[pairKey]*Pair // nil value: deleted
	dlq       map[dlqKey]*DLQEntry
	intents   map[dlqKey]*Intent
	conflicts []Conflict
}

func (t *memTx) Stream(id string) (*StreamState, error) {
	if st, ok := t.streams[id]; ok {
		return CloneStream(st), nil
	}
	return CloneStream(t.s.streams[id]), nil
}

func (t *memTx) pair(k pairKey) *Pair {
	if p, ok := t.pairs[k]; ok {
		return p
	}
	return t.s.pairs[k]
}

func (t *memTx) PairBySN(table, snID string) (*Pair, error) {
	return ClonePair(t.pair(pairKey{table, snID})), nil
}

func (t *memTx) PairBySF(table, sfID string) (*Pair, error) {
	if sfID == "" {
		return nil, nil
	}
	for k, p := range t.pairs {
		if p != nil && k.table == table && p.SFID == sfID {
			return ClonePair(p), nil
		}
	}
	if sn, ok := t.s.bySF[pairKey{table, sfID}]; ok {
		if p := t.pair(pairKey{table, sn}); p != nil && p.SFID == sfID {
			return ClonePair(p), nil
		}
	}
	return nil, nil
}

func (t *memTx) Pairs(table string, fn func(*Pair) bool) error {
	var ids []string
	seen := map[string]bool{}
	for k := range t.s.pairs {
		if k.table == table {
			ids = append(ids, k.id)
			seen[k.id] = true
		}
	}
	for k := range t.pairs {
		if k.table == table && !seen[k.id] {
			ids = append(ids, k.id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := t.pair(pairKey{table, id})
		if p == nil {
			continue
		}
		if !fn(ClonePair(p)) {
			return nil
		}
	}
	return nil
}

func (t *memTx) CountPairs(table string) (int, error) {
	n := 0
	err := t.Pairs(table, func(*Pair) bool { n++; return true })
	return n, err
}

func (t *memTx) DLQEntry(stream, sourceID string) (*DLQEntry, error) {
	k := dlqKey{stream, sourceID}
	e, ok := t.dlq[k]
	if !ok {
		e = t.s.dlq[k]
	}
	if e == nil {
		return nil, nil
	}
	c := *e
	return &c, nil
}

func (t *memTx) allDLQ(stream string) []DLQEntry {
	merged := map[string]*DLQEntry{}
	for k, e := range t.s.dlq {
		if k.stream == stream {
			merged[k.id] = e
		}
	}
	for k, e := range t.dlq {
		if k.stream == stream {
			merged[k.id] = e
		}
	}
	var out []DLQEntry
	for _, e := range merged {
		if e != nil {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SourceID < out[j].SourceID })
	return out
}

func (t *memTx) DueDLQ(stream string, now time.Time, limit int) ([]DLQEntry, error) {
	var due []DLQEntry
	for _, e := range t.allDLQ(stream) {
		if !e.Permanent && !e.NextAttempt.After(now) {
			due = append(due, e)
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].NextAttempt.Before(due[j].NextAttempt) })
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	return due, nil
}

func (t *memTx) DLQEntries(stream string) ([]DLQEntry, error) { return t.allDLQ(stream), nil }

func (t *memTx) Intent(stream, sourceID string) (*Intent, error) {
	k := dlqKey{stream, sourceID}
	i, ok := t.intents[k]
	if !ok {
		i = t.s.intents[k]
	}
	if i == nil {
		return nil, nil
	}
	c := *i
	return &c, nil
}

func (t *memTx) Conflicts(table string, limit int) ([]Conflict, error) {
	all := append(append([]Conflict(nil), t.s.conflicts...), t.conflicts...)
	var out []Conflict
	for i := len(all) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		if all[i].Table == table {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func (t *memTx) PutStream(st *StreamState) error {
	if st == nil || st.ID == "" {
		return errors.New("syncer: PutStream: stream without id")
	}
	t.streams[st.ID] = CloneStream(st)
	return nil
}

func (t *memTx) PutPair(p *Pair) error {
	if p == nil || p.Table == "" || p.SNID == "" {
		return errors.New("syncer: PutPair: pair without table or ServiceNow id")
	}
	if p.SFID != "" {
		if other, _ := t.PairBySF(p.Table, p.SFID); other != nil && other.SNID != p.SNID {
			return fmt.Errorf("%w: StackFlow id %s of %s is already paired with %s", ErrDuplicatePair, p.SFID, p.Table, other.SNID)
		}
	}
	t.pairs[pairKey{p.Table, p.SNID}] = ClonePair(p)
	return nil
}

func (t *memTx) DeletePair(table, snID string) error {
	t.pairs[pairKey{table, snID}] = nil
	return nil
}

func (t *memTx) PutDLQ(e *DLQEntry) error {
	if e == nil || e.Stream == "" || e.SourceID == "" {
		return errors.New("syncer: PutDLQ: entry without stream or source id")
	}
	c := *e
	t.dlq[dlqKey{e.Stream, e.SourceID}] = &c
	return nil
}

func (t *memTx) DeleteDLQ(stream, sourceID string) error {
	t.dlq[dlqKey{stream, sourceID}] = nil
	return nil
}

func (t *memTx) PutIntent(i *Intent) error {
	if i == nil || i.Stream == "" || i.SourceID == "" {
		return errors.New("syncer: PutIntent: intent without stream or source id")
	}
	c := *i
	t.intents[dlqKey{i.Stream, i.SourceID}] = &c
	return nil
}

func (t *memTx) DeleteIntent(stream, sourceID string) error {
	t.intents[dlqKey{stream, sourceID}] = nil
	return nil
}

func (t *memTx) AddConflict(c *Conflict) error {
	if c == nil {
		return errors.New("syncer: AddConflict: nil conflict")
	}
	t.conflicts = append(t.conflicts, *c)
	return nil
}

// commit applies the transaction's writes to the store (lock held).
func (t *memTx) commit() {
	s := t.s
	for id, st := range t.streams {
		s.streams[id] = st
	}
	for k := range t.pairs {
		if old := s.pairs[k]; old != nil && old.SFID != "" && s.bySF[pairKey{k.table, old.SFID}] == old.SNID {
			delete(s.bySF, pairKey{k.table, old.SFID})
		}
	}
	for k, p := range t.pairs {
		if p == nil {
			delete(s.pairs, k)
			continue
		}
		s.pairs[k] = p
		if p.SFID != "" {
			s.bySF[pairKey{k.table, p.SFID}] = p.SNID
		}
	}
	for k, e := range t.dlq {
		if e == nil {
			delete(s.dlq, k)
		} else {
			s.dlq[k] = e
		}
	}
	for k, i := range t.intents {
		if i == nil {
			delete(s.intents, k)
		} else {
			s.intents[k] = i
		}
	}
	s.conflicts = append(s.conflicts, t.conflicts...)
}
