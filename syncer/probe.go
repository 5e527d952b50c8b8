package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stackflow-tech/snowsync/servicenow"
)

// FilterError says a table's filter is unsafe on this instance.
type FilterError struct {
	Table  string
	Fields []string
	Reason string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("syncer: filter of %s: %s (fields: %s)", e.Table, e.Reason, strings.Join(e.Fields, ", "))
}

// probeValue cannot match any real value.
const probeValue = "snowsync-probe-4f1c9a"

// probe checks once per table (and process) that the instance will not
// silently drop conditions of the table's filter: an instance with
// glide.invalid_query.returns_no_rows=false ignores a condition on a field
// it does not know, so a misspelt filter field would sync the whole table.
// On such an instance every field of the filter is tried alone with a value
// nothing has; a field whose condition still returns rows does not exist
// (or cannot be read), and the filter is refused.
func (s *Syncer) probe(ctx context.Context, r *tableRun) error {
	f := s.filters[r.table()]
	if f.initial == "" {
		return nil
	}
	s.mu.Lock()
	err, done := s.probed[r.table()]
	s.mu.Unlock()
	if done {
		return err
	}
	err = s.probeFilter(ctx, r.table(), f)
	if classify(err) == classRun && !errors.As(err, new(*FilterError)) {
		return err // try again next run
	}
	s.mu.Lock()
	s.probed[r.table()] = err
	s.mu.Unlock()
	return err
}

func (s *Syncer) probeFilter(ctx context.Context, table string, f tableFilter) error {
	t := s.sn.Table(table)
	matches := func(q string) (bool, error) {
		rows, _, err := t.List(ctx, &servicenow.ListOptions{Query: q, Fields: []string{"sys_id"}, Limit: 1, NoCount: true})
		if err != nil {
			return false, err
		}
		return len(rows) > 0, nil
	}
	dropped, err := matches("u_snowsync_probe_no_such_field=" + probeValue)
	switch {
	case errors.Is(err, servicenow.ErrForbidden):
		return nil // this instance refuses invalid fields loudly
	case err != nil:
		return err
	case !dropped:
		return nil // invalid conditions match nothing here (or the table is empty)
	}
	q, err := servicenow.ParseQuery(f.initial)
	if err != nil {
		return err
	}
	var bad []string
	for _, field := range q.Fields() {
		probe, err := servicenow.NewQuery().Equals(field, probeValue).Build()
		if err != nil {
			continue
		}
		hit, err := matches(probe)
		if err != nil {
			return err
		}
		if hit {
			bad = append(bad, field)
		}
	}
	if len(bad) > 0 {
		return &FilterError{Table: table, Fields: bad, Reason: "this instance ignores conditions on fields it does not know " +
			"(glide.invalid_query.returns_no_rows is false), and these fields are unknown or unreadable, so the filter " +
			"would match the whole table; correct the field names (or grant read on them)"}
	}
	return nil
}
