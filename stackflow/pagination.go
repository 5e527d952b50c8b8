package stackflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/google/go-querystring/query"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// Limits of a list call.
const (
	// MaxPageSize is the largest ListOptions.Limit StackFlow accepts.
	MaxPageSize = 1000
	// DefaultPageSize is the page size All uses when ListOptions.Limit is 0
	// (List leaves it to StackFlow, whose default is 100).
	DefaultPageSize = 1000
	// MaxExternalIDs is how many external ids one list call may filter on.
	MaxExternalIDs = 100
)

// TimeLayout is how the client writes timestamps: RFC 3339 in UTC with
// milliseconds, as StackFlow does.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// ListOptions filter and page a List or All call. The zero value lists
// every live record in id (creation) order.
type ListOptions struct {
	// Source keeps records with this source, e.g. "servicenow".
	Source string `url:"source,omitempty"`
	// ExternalIDs keeps records whose external_id is one of these (the
	// parameter is repeated; at most MaxExternalIDs).
	ExternalIDs []string `url:"external_id,omitempty"`
	// UpdatedSince keeps records updated at or after this time (inclusive)
	// and switches the order to (updated_at, id). It is sent in UTC with
	// milliseconds; finer precision is cut off.
	UpdatedSince time.Time `url:"-"`
	// IncludeDeleted lists soft-deleted records too.
	IncludeDeleted bool `url:"include_deleted,omitempty"`
	// Limit is the page size, 1..MaxPageSize; 0 means StackFlow's default
	// (100) for List and DefaultPageSize for All.
	Limit int `url:"limit,omitempty"`
	// Cursor is the previous page's Response.NextCursor; List only (All
	// follows the cursors itself, starting from this one when set). A cursor
	// is valid only with the filters it was issued for.
	Cursor string `url:"cursor,omitempty"`
}

var sourcePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// values checks the options and encodes them as a query.
func (o *ListOptions) values() (url.Values, error) {
	if o == nil {
		return nil, nil
	}
	if o.Source != "" && !sourcePattern.MatchString(o.Source) {
		return nil, &InvalidInputError{Field: "Source", Reason: fmt.Sprintf("%q is not a source (lower-case letters, digits and _, e.g. servicenow)", o.Source)}
	}
	if n := len(o.ExternalIDs); n > MaxExternalIDs {
		return nil, &InvalidInputError{Field: "ExternalIDs", Reason: fmt.Sprintf("%d external ids given; StackFlow takes at most %d per call: split them into several calls", n, MaxExternalIDs)}
	}
	for i, id := range o.ExternalIDs {
		if id == "" || len(id) > 255 {
			return nil, &InvalidInputError{Field: fmt.Sprintf("ExternalIDs[%d]", i), Reason: "an external id is 1..255 characters"}
		}
	}
	if o.Limit < 0 || o.Limit > MaxPageSize {
		return nil, &InvalidInputError{Field: "Limit", Reason: fmt.Sprintf("%d is out of range: the page size is 1..%d (0 for the default)", o.Limit, MaxPageSize)}
	}
	v, err := query.Values(o)
	if err != nil {
		return nil, &InvalidInputError{Field: "ListOptions", Reason: err.Error()}
	}
	if !o.UpdatedSince.IsZero() {
		v.Set("updated_since", o.UpdatedSince.UTC().Format(TimeLayout))
	}
	return v, nil
}

// List returns one page of records and the Response, whose NextCursor and
// HasMore lead to the next page. Options are checked before any I/O.
//
// StackFlow API docs: GET /{module}
func (s *Service[T, B]) List(ctx context.Context, opts *ListOptions) ([]*T, *Response, error) {
	if err := s.module.check(); err != nil {
		return nil, nil, err
	}
	q, err := opts.values()
	if err != nil {
		return nil, nil, err
	}
	var page struct {
		Data       []*T    `json:"data"`
		NextCursor *string `json:"next_cursor"`
		HasMore    *bool   `json:"has_more"`
	}
	resp, err := s.c.do(ctx, call{
		method: http.MethodGet, path: s.path(""), query: q, class: httpx.Idempotent,
		decode: func(r io.Reader) error {
			page.Data, page.NextCursor, page.HasMore = nil, nil, nil
			if err := decodeJSON(r, &page); err != nil {
				return err
			}
			if page.HasMore == nil {
				return errors.New(`the page has no "has_more"`)
			}
			if *page.HasMore && (page.NextCursor == nil || *page.NextCursor == "") {
				return errors.New(`the page says has_more but has no next_cursor`)
			}
			for i, rec := range page.Data {
				if id, ok := any(rec).(identified); !ok || rec == nil || id.recordID() == "" {
					return fmt.Errorf("record %d of the page has no id", i)
				}
			}
			return nil
		},
	})
	if err != nil {
		return nil, resp, err
	}
	if page.NextCursor != nil {
		resp.NextCursor = *page.NextCursor
	}
	resp.HasMore = *page.HasMore
	return page.Data, resp, nil
}

// All returns every record the options select, fetching pages lazily as
// the loop asks for more: nothing is fetched before the first iteration, a
// break stops fetching, and ranging twice starts over. An error is yielded
// once, as (nil, err), and ends the iteration.
//
// StackFlow's cursors are keyset positions, so records created while All
// runs never make it skip or repeat a record that existed throughout. With
// UpdatedSince, a record updated during the walk moves behind the cursor
// and comes again later: it changed, which is what an incremental reader
// wants (drop versions you already have).
//
//	for inc, err := range sf.Incidents.All(ctx, &stackflow.ListOptions{Source: "servicenow"}) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func (s *Service[T, B]) All(ctx context.Context, opts *ListOptions) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		var o ListOptions
		if opts != nil {
			o = *opts
			o.ExternalIDs = slices.Clone(opts.ExternalIDs)
		}
		if o.Limit == 0 {
			o.Limit = DefaultPageSize
		}
		for {
			page, resp, err := s.List(ctx, &o)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, rec := range page {
				if !yield(rec, nil) {
					return
				}
			}
			if !resp.HasMore {
				return
			}
			if resp.NextCursor == o.Cursor {
				yield(nil, fmt.Errorf("stackflow: %s: the next page's cursor does not move past the current one", s.module))
				return
			}
			o.Cursor = resp.NextCursor
		}
	}
}
