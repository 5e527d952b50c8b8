package syncer

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/stackflow-tech/snowsync/mapping"
	"github.com/stackflow-tech/snowsync/servicenow"
)

// resolver implements mapping.Resolver from the pair store and cached
// ServiceNow lookups (people by email, groups by name).
type resolver struct {
	s   *Syncer
	ctx context.Context // counts ServiceNow calls of the run
	// paired caches, for the run, references found paired (table\x00id ->
	// the other side's id); misses are asked again, since the record may
	// sync in the meantime.
	mu     sync.Mutex
	paired map[string]string
}

// refFields are reference fields whose targets are paired records (CIs):
// a page's values are looked up in one store transaction before the page
// is mapped.
var refFields = map[string]string{"parent": "cmdb_ci", "child": "cmdb_ci", "cmdb_ci": "cmdb_ci"}

// prefetch loads the pairs of every CI a page's records reference.
func (r *resolver) prefetch(recs []servicenow.Record) error {
	byTable := map[string][]string{}
	for _, rec := range recs {
		for f, table := range refFields {
			if v := rec.Get(f); v != "" {
				byTable[table] = append(byTable[table], v)
			}
		}
	}
	if len(byTable) == 0 {
		return nil
	}
	found := map[string]string{}
	err := r.s.store.View(r.ctx, func(tx ReadTx) error {
		ids, fast := tx.(SFIDReader)
		for table, snIDs := range byTable {
			if fast {
				got, err := ids.SFIDsBySN(table, snIDs)
				if err != nil {
					return err
				}
				for id, sfID := range got {
					found[table+"\x00"+id] = sfID
				}
				continue
			}
			for _, id := range snIDs {
				p, err := tx.PairBySN(table, id)
				if err != nil {
					return err
				}
				if p != nil && p.SFID != "" {
					found[table+"\x00"+id] = p.SFID
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paired == nil || len(r.paired) > maxLookups {
		r.paired = map[string]string{}
	}
	for k, v := range found {
		r.paired[k] = v
	}
	return nil
}

var _ mapping.Resolver = (*resolver)(nil)

// tableForModule maps a StackFlow module (path or identifier) to the
// ServiceNow table its pairs are stored under.
func tableForModule(module string) string {
	switch module {
	case "incidents":
		return "incident"
	case "problems":
		return "problem"
	case "changes":
		return "change_request"
	case "service-requests", "service_requests":
		return "sc_request"
	case "cmdb/cis", "cmdb_cis":
		return "cmdb_ci"
	case "cmdb/relationships", "cmdb_relationships":
		return "cmdb_rel_ci"
	}
	return module
}

// StackFlowID returns the StackFlow id paired with a ServiceNow record.
func (r *resolver) StackFlowID(table, sysID string) (string, error) {
	r.mu.Lock()
	id, ok := r.paired[table+"\x00"+sysID]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	var p *Pair
	if err := r.s.store.View(r.ctx, func(tx ReadTx) error {
		var err error
		p, err = tx.PairBySN(table, sysID)
		return err
	}); err != nil {
		return "", err
	}
	if p == nil || p.SFID == "" {
		return "", fmt.Errorf("%w: ServiceNow %s %s has not been synced to StackFlow yet", mapping.ErrUnresolved, table, sysID)
	}
	return p.SFID, nil
}

// ServiceNowID returns the sys_id paired with a StackFlow record.
func (r *resolver) ServiceNowID(module, sfID string) (string, error) {
	table := tableForModule(module)
	var p *Pair
	if err := r.s.store.View(r.ctx, func(tx ReadTx) error {
		var err error
		p, err = tx.PairBySF(table, sfID)
		return err
	}); err != nil {
		return "", err
	}
	if p == nil {
		return "", fmt.Errorf("%w: StackFlow %s %s has not been synced to ServiceNow yet", mapping.ErrUnresolved, module, sfID)
	}
	return p.SNID, nil
}

// LookupServiceNow finds the one record of table whose field equals value,
// through a cache shared by the syncer's runs.
func (r *resolver) LookupServiceNow(table, field, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	key := table + "\x00" + field + "\x00" + value
	if id, ok := r.s.lookups.get(key); ok {
		return id, nil
	}
	q, err := servicenow.NewQuery().Equals(field, value).Build()
	if err != nil {
		return "", classified{fmt.Errorf("cannot look up %s by %s %q: %w", table, field, value, err), classPermanent}
	}
	rows, _, err := r.s.sn.Table(table).List(r.ctx, &servicenow.ListOptions{Query: q, Fields: []string{"sys_id"}, Limit: 2, NoCount: true})
	if err != nil {
		return "", err
	}
	switch len(rows) {
	case 0:
		r.s.lookups.put(key, "")
		return "", nil
	case 1:
		id := rows[0].SysID()
		r.s.lookups.put(key, id)
		return id, nil
	}
	return "", classified{fmt.Errorf("%d %s records have %s %q: cannot tell which one is meant (make the field unique or map by another field)", len(rows), table, field, strings.TrimSpace(value)), classPermanent}
}

// lookupCache keeps ServiceNow lookups (they change rarely) for the
// syncer's lifetime, bounded.
type lookupCache struct {
	mu sync.Mutex
	m  map[string]string
}

const maxLookups = 50_000

func (c *lookupCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *lookupCache) put(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxLookups {
		c.m = map[string]string{}
	}
	c.m[k] = v
}
