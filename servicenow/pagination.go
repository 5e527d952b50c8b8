package servicenow

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// DefaultPageSize is the page size All and Keyset use when none is given:
// large enough to keep requests few, small enough to stay far from
// ServiceNow's 60-second transaction limit.
const DefaultPageSize = 1000

// All returns every record the options select, fetching pages lazily as the
// loop asks for more: nothing is fetched before the first iteration, a
// break stops fetching, and ranging twice starts over. An error is yielded
// once, as (nil, err), and ends the iteration.
//
// All pages by offset, following the Link header's next relation when the
// instance sends one, else X-Total-Count. A page that ACLs shortened (even
// to nothing) does not end the walk; Response.Hidden, seen through
// ListOptions.OnPage, counts the rows they hid. When the query has no
// ORDERBY, All adds ORDERBYsys_id: without a stable order, offset pages
// repeat some records and skip others. For tables that change while you
// read them, prefer Keyset.
func (t *Table[T]) All(ctx context.Context, opts *ListOptions) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		var o ListOptions
		if opts != nil {
			o = *opts
			o.Fields = slices.Clone(opts.Fields)
		}
		if o.Limit == 0 {
			o.Limit = DefaultPageSize
		}
		o.Query = withDefaultOrder(o.Query)
		offset := o.Offset
		for {
			o.Offset = offset
			page, resp, err := t.list(ctx, o)
			if err != nil {
				yield(nil, err)
				return
			}
			if o.OnPage != nil {
				o.OnPage(resp)
			}
			for _, rec := range page {
				if !yield(rec, nil) {
					return
				}
			}
			next, more := nextOffset(resp, offset, o.Limit, len(page))
			if !more {
				return
			}
			if next <= offset {
				yield(nil, fmt.Errorf("servicenow: %s: the instance's next page offset %d does not move past %d", t.name, next, offset))
				return
			}
			offset = next
		}
	}
}

// nextOffset decides where the next page starts and whether there is one.
func nextOffset(resp *Response, offset, limit, got int) (int, bool) {
	hasLink := resp.Header.Get("Link") != ""
	switch {
	case resp.NextOffset >= 0:
		return resp.NextOffset, true
	case hasLink:
		return 0, false // a Link header without next: this was the last page
	case resp.TotalCount >= 0:
		return offset + limit, offset+limit < resp.TotalCount
	default:
		// No count, no links: only an empty page proves the end.
		return offset + limit, got > 0
	}
}

// withDefaultOrder appends ORDERBYsys_id to a query without ORDERBY.
func withDefaultOrder(q string) string {
	if hasOrderBy(q) {
		return q
	}
	if q == "" {
		return "ORDERBYsys_id"
	}
	return q + "^ORDERBYsys_id"
}

func hasOrderBy(q string) bool {
	if pq, err := ParseQuery(q); err == nil {
		return pq.HasOrderBy()
	}
	for _, group := range strings.Split(q, "^NQ") {
		for _, term := range strings.Split(group, "^") {
			if strings.HasPrefix(term, "ORDERBY") {
				return true
			}
		}
	}
	return false
}

// Cursor is a position in a keyset walk over (sys_updated_on, sys_id): the
// last record processed. The zero Cursor is before every record.
type Cursor struct {
	UpdatedOn Time
	SysID     string
}

// IsZero reports whether c is the start.
func (c Cursor) IsZero() bool { return c.UpdatedOn.IsZero() && c.SysID == "" }

// Less reports whether c sorts before d.
func (c Cursor) Less(d Cursor) bool {
	if !c.UpdatedOn.Equal(d.UpdatedOn.Time) {
		return c.UpdatedOn.Before(d.UpdatedOn.Time)
	}
	return c.SysID < d.SysID
}

// String renders the cursor for logs.
func (c Cursor) String() string { return c.UpdatedOn.String() + "/" + c.SysID }

// Keyed is implemented by records Keyset can walk: Record and every type
// that embeds SysFields.
type Keyed interface {
	KeysetKey() (updatedOn Time, sysID string, err error)
}

// KeysetOptions configure a Keyset walk.
type KeysetOptions struct {
	// Query filters the records (an encoded query without ORDERBY: the walk
	// imposes its own order).
	Query string
	// Fields limits the fields returned; sys_id and sys_updated_on are added.
	Fields []string
	// Limit is the page size; 0 means DefaultPageSize.
	Limit int
	// After starts the walk after this record; the zero Cursor starts at the
	// beginning.
	After Cursor
	// Until, when not zero, is an inclusive upper bound on sys_updated_on:
	// fix it once per sweep (server time minus a safety lag) so that records
	// written during the sweep wait for the next one.
	Until time.Time
	// ExcludeReferenceLink sends references as bare sys_ids (smaller pages).
	ExcludeReferenceLink bool
	// NoCount skips counting. With counting (the default) the first page
	// carries X-Total-Count (for progress), and when a later page comes back
	// empty the Aggregate API is asked whether records still match: if they
	// do, ACLs hide them all and the walk reports a RowsHiddenError instead
	// of ending early. Later pages are never counted, so a walk costs one
	// request per page (plus, at most, that one count).
	NoCount bool
	// OnPage is called with the Response of every page.
	OnPage func(*Response)
}

// RowsHiddenError says a keyset walk found records it cannot see: the query
// still matched Remaining records but the page came back empty, so ACLs hide
// them from the integration user. The walk cannot step past rows it does
// not see; grant read access or narrow the filter.
type RowsHiddenError struct {
	Table     string
	Remaining int
	After     Cursor
}

func (e *RowsHiddenError) Error() string {
	return fmt.Sprintf("servicenow: %s: %d records after %s match but ACLs hide them from the integration user: grant it read access (itil role or table ACLs)", e.Table, e.Remaining, e.After)
}

// Is makes a RowsHiddenError match ErrForbidden.
func (e *RowsHiddenError) Is(target error) bool { return target == ErrForbidden }

// OrderError says the instance returned records out of keyset order, which
// a cursor cannot survive (a non-UTC integration user, or an ORDERBY the
// instance ignored). The walk stops without moving past the bad record.
type OrderError struct {
	Table       string
	Prev, Found Cursor
}

func (e *OrderError) Error() string {
	return fmt.Sprintf("servicenow: %s: record %s came after %s: the instance did not return records in (sys_updated_on, sys_id) order (is the integration user's time zone GMT?)", e.Table, e.Found, e.Prev)
}

// Keyset walks the records the filter selects in (sys_updated_on, sys_id)
// order, without offsets: each page asks for the records after the last one
// seen, so records that change during the walk are neither skipped nor
// repeated because of shifting offsets. One request per page; the walk ends
// on an empty page. Records must implement Keyed (Record and typed records
// do). It is the read path the syncer uses.
func (t *Table[T]) Keyset(ctx context.Context, opts KeysetOptions) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if _, ok := any(new(T)).(Keyed); !ok {
			yield(nil, &InvalidInputError{Field: "Keyset", Reason: fmt.Sprintf("%T has no KeysetKey method: embed servicenow.SysFields", *new(T))})
			return
		}
		o := opts
		o.Fields = slices.Clone(opts.Fields)
		if o.Limit <= 0 {
			o.Limit = DefaultPageSize
		}
		if len(o.Fields) > 0 {
			for _, f := range []string{"sys_id", "sys_updated_on"} {
				if !slices.Contains(o.Fields, f) {
					o.Fields = append(o.Fields, f)
				}
			}
		}
		filter, err := keysetFilter(o.Query)
		if err != nil {
			yield(nil, err)
			return
		}
		cur := o.After
		for first := true; ; first = false {
			pageQuery, err := keysetQuery(filter, cur, o.Until)
			if err != nil {
				yield(nil, err)
				return
			}
			lo := ListOptions{
				Query:                    pageQuery,
				Fields:                   o.Fields,
				Limit:                    o.Limit,
				ExcludeReferenceLink:     o.ExcludeReferenceLink,
				NoCount:                  o.NoCount || !first,
				SuppressPaginationHeader: true,
			}
			page, resp, err := t.list(ctx, lo)
			if err != nil {
				yield(nil, err)
				return
			}
			if o.OnPage != nil {
				o.OnPage(resp)
			}
			if len(page) == 0 && !o.NoCount && !first {
				// Records may still match after an empty page because ACLs
				// hide them, or because they were updated into the range
				// between the page and the count: a second look at the
				// page tells the two apart.
				remaining, _, err := t.Count(ctx, stripOrder(pageQuery))
				if err != nil {
					yield(nil, err)
					return
				}
				if remaining > 0 {
					if page, resp, err = t.list(ctx, lo); err != nil {
						yield(nil, err)
						return
					}
					if o.OnPage != nil {
						o.OnPage(resp)
					}
					if len(page) == 0 {
						yield(nil, &RowsHiddenError{Table: t.name, Remaining: remaining, After: cur})
						return
					}
				}
			}
			if len(page) == 0 {
				if !o.NoCount && first && resp.TotalCount > 0 {
					yield(nil, &RowsHiddenError{Table: t.name, Remaining: resp.TotalCount, After: cur})
				}
				return
			}
			for _, rec := range page {
				ts, id, err := any(rec).(Keyed).KeysetKey()
				if err != nil {
					yield(nil, fmt.Errorf("servicenow: %s: keyset walk: %w", t.name, err))
					return
				}
				next := Cursor{UpdatedOn: ts, SysID: id}
				if id == "" || !cur.Less(next) {
					yield(nil, &OrderError{Table: t.name, Prev: cur, Found: next})
					return
				}
				if !o.Until.IsZero() && ts.After(o.Until) {
					yield(nil, &OrderError{Table: t.name, Prev: Cursor{UpdatedOn: NewTime(o.Until)}, Found: next})
					return
				}
				if !yield(rec, nil) {
					return
				}
				cur = next
			}
		}
	}
}

// keysetFilter checks a user filter for a keyset walk and drops its
// ORDERBY terms: the walk imposes its own order.
func keysetFilter(q string) (*Query, error) {
	if err := validateQueryParam(q); err != nil {
		return nil, err
	}
	if q == "" {
		return NewQuery(), nil
	}
	pq, err := ParseQuery(q)
	if err != nil {
		return nil, err
	}
	return pq.WithoutOrder(), nil
}

// keysetQuery builds the page query: the filter AND the cursor condition,
// the cursor written as the union (^NQ) of "a later second, up to until"
// and "the same second, a later sys_id", ordered by (sys_updated_on,
// sys_id). One request per page, and an idle sweep is one request.
func keysetQuery(filter *Query, cur Cursor, until time.Time) (string, error) {
	upTo := func(q *Query) *Query {
		if until.IsZero() {
			return q
		}
		return q.AtOrBefore("sys_updated_on", until)
	}
	var bounds []*Query
	if cur.IsZero() {
		bounds = []*Query{upTo(NewQuery())}
	} else {
		bounds = []*Query{
			upTo(NewQuery().After("sys_updated_on", cur.UpdatedOn.Time)),
			NewQuery().At("sys_updated_on", cur.UpdatedOn.Time).GreaterThan("sys_id", cur.SysID),
		}
	}
	var parts []string
	for _, b := range bounds {
		s, err := filter.And(b).Build()
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return joinTerms(strings.Join(parts, "^NQ"), "ORDERBYsys_updated_on^ORDERBYsys_id"), nil
}

func joinTerms(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "^" + b
}

// stripOrder removes the ORDERBY terms a keyset page query ends with.
func stripOrder(q string) string {
	return strings.TrimSuffix(strings.TrimSuffix(q, "ORDERBYsys_updated_on^ORDERBYsys_id"), "^")
}
