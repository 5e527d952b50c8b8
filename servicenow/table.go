package servicenow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// DisplayValue selects sysparm_display_value: which form of each field the
// Table API returns.
type DisplayValue string

const (
	// DisplayRaw returns raw database values (the default): sys_ids for
	// references, choice values, UTC date-times. Sync on these.
	DisplayRaw DisplayValue = "false"
	// DisplayText returns display values only: labels, names, date-times in
	// the user's time zone and format. Typed tables ask for DisplayBoth
	// instead, so their typed fields keep raw values; the display values land
	// in SysFields.DisplayValues.
	DisplayText DisplayValue = "true"
	// DisplayBoth returns both forms of every field.
	DisplayBoth DisplayValue = "all"
)

// ListOptions select and page the records of a List or All call. The zero
// value lists everything with the instance's defaults.
type ListOptions struct {
	// Query is an encoded query (sysparm_query); build it with NewQuery or
	// check a user's with ParseQuery. All adds ORDERBYsys_id when the query
	// has no ORDERBY, so that pages neither repeat nor skip records.
	Query string `url:"sysparm_query,omitempty"`
	// Fields limits the fields returned (sysparm_fields); dot-walks such as
	// "caller_id.email" come back as flat keys. sys_id is not added for you.
	Fields []string `url:"sysparm_fields,comma,omitempty"`
	// Limit is the page size (sysparm_limit). 0 means the instance default
	// (10,000) for List and 1,000 for All and Keyset.
	Limit int `url:"sysparm_limit,omitempty"`
	// Offset skips records (sysparm_offset); List only.
	Offset int `url:"sysparm_offset,omitempty"`
	// DisplayValue selects raw values, display values or both.
	DisplayValue DisplayValue `url:"sysparm_display_value,omitempty"`
	// ExcludeReferenceLink drops the link of references (then sent as the
	// bare sys_id).
	ExcludeReferenceLink bool `url:"sysparm_exclude_reference_link,omitempty"`
	// NoCount skips the count ServiceNow runs for X-Total-Count.
	NoCount bool `url:"sysparm_no_count,omitempty"`
	// SuppressPaginationHeader drops the Link header (useful with very long
	// queries, whose links repeat the query).
	SuppressPaginationHeader bool `url:"sysparm_suppress_pagination_header,omitempty"`
	// View picks the fields of a UI view (desktop, mobile, both).
	View string `url:"sysparm_view,omitempty"`
	// QueryNoDomain includes records of other domains (needs the role for it).
	QueryNoDomain bool `url:"sysparm_query_no_domain,omitempty"`

	// OnPage, when set, is called by All and Keyset with the Response of
	// every page: total count, rows ACLs hid, rate-limit state.
	OnPage func(*Response) `url:"-"`
}

// GetOptions shape the record a Get returns.
type GetOptions struct {
	Fields               []string     `url:"sysparm_fields,comma,omitempty"`
	DisplayValue         DisplayValue `url:"sysparm_display_value,omitempty"`
	ExcludeReferenceLink bool         `url:"sysparm_exclude_reference_link,omitempty"`
	View                 string       `url:"sysparm_view,omitempty"`
	QueryNoDomain        bool         `url:"sysparm_query_no_domain,omitempty"`
}

// WriteOptions shape a Create, Update or Replace and the record it returns.
type WriteOptions struct {
	// Fields limits the fields of the returned record.
	Fields       []string     `url:"sysparm_fields,comma,omitempty"`
	DisplayValue DisplayValue `url:"sysparm_display_value,omitempty"`
	// ExcludeReferenceLink drops reference links from the returned record.
	ExcludeReferenceLink bool `url:"sysparm_exclude_reference_link,omitempty"`
	// InputDisplayValue makes the instance read the body as display values
	// (reference by name, dates in the user's time zone); needed to write
	// encrypted fields.
	InputDisplayValue bool   `url:"sysparm_input_display_value,omitempty"`
	View              string `url:"sysparm_view,omitempty"`
	QueryNoDomain     bool   `url:"sysparm_query_no_domain,omitempty"`
}

// Table is the Table API for one table, returning records of type T: Record
// for any table, or a typed record such as Incident. Safe for concurrent use.
type Table[T any] struct {
	c    *Client
	name string
}

// NewTable returns the Table API of table name decoding records into T, a
// struct with json tags (embed SysFields to get the system fields and
// Keyset support). The name is checked on each call, before any I/O.
func NewTable[T any](c *Client, name string) *Table[T] {
	return &Table[T]{c: c, name: name}
}

// Table returns the Table API of any table, with raw records.
func (c *Client) Table(name string) *Table[Record] { return NewTable[Record](c, name) }

// Name returns the table name.
func (t *Table[T]) Name() string { return t.name }

// InvalidInputError says an argument was rejected before any request was sent.
type InvalidInputError struct {
	Field  string
	Reason string
}

func (e *InvalidInputError) Error() string { return "servicenow: " + e.Field + ": " + e.Reason }

func validTableName(name string) error {
	if name == "" {
		return &InvalidInputError{Field: "table", Reason: "the table name is empty"}
	}
	if len(name) > 80 {
		return &InvalidInputError{Field: "table", Reason: "the table name is longer than 80 characters"}
	}
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return &InvalidInputError{Field: "table", Reason: fmt.Sprintf("%q is not a table name (letters, digits and _ only)", name)}
		}
	}
	return nil
}

func validSysID(id string) error {
	if id == "" {
		return &InvalidInputError{Field: "sys_id", Reason: "the sys_id is empty"}
	}
	if len(id) > 64 {
		return &InvalidInputError{Field: "sys_id", Reason: "the sys_id is longer than 64 characters"}
	}
	if strings.ContainsAny(id, "/?#%\\ \t\r\n") {
		return &InvalidInputError{Field: "sys_id", Reason: fmt.Sprintf("%q is not a sys_id", id)}
	}
	return nil
}

func validFields(fields []string) error {
	for _, f := range fields {
		if f == "" || strings.ContainsAny(f, ", \t\r\n^=&") {
			return &InvalidInputError{Field: "fields", Reason: fmt.Sprintf("%q is not a field name", f)}
		}
	}
	return nil
}

func (t *Table[T]) path(sysID string) string {
	p := "api/now/"
	if t.c.apiVersion != "" {
		p += t.c.apiVersion + "/"
	}
	p += "table/" + t.name
	if sysID != "" {
		p += "/" + url.PathEscape(sysID)
	}
	return p
}

// isRaw reports whether T is Record (raw decoding of every shape).
func (t *Table[T]) isRaw() bool {
	_, ok := any((*T)(nil)).(*Record)
	return ok
}

// wireDisplay is the display mode sent: typed tables need raw values, so
// DisplayText becomes DisplayBoth for them.
func (t *Table[T]) wireDisplay(d DisplayValue) DisplayValue {
	if d == DisplayText && !t.isRaw() {
		return DisplayBoth
	}
	return d
}

// List returns one page of records.
//
// ServiceNow API docs: https://www.servicenow.com/docs/bundle/xanadu-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html
func (t *Table[T]) List(ctx context.Context, opts *ListOptions) ([]*T, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	return t.list(ctx, o)
}

func (t *Table[T]) list(ctx context.Context, o ListOptions) ([]*T, *Response, error) {
	if err := validTableName(t.name); err != nil {
		return nil, nil, err
	}
	if o.Limit < 0 {
		return nil, nil, &InvalidInputError{Field: "Limit", Reason: "must not be negative (0 means the default)"}
	}
	if o.Offset < 0 {
		return nil, nil, &InvalidInputError{Field: "Offset", Reason: "must not be negative"}
	}
	if err := validFields(o.Fields); err != nil {
		return nil, nil, err
	}
	if err := validateQueryParam(o.Query); err != nil {
		return nil, nil, err
	}
	mode := o.DisplayValue
	o.DisplayValue = t.wireDisplay(mode)
	q, err := values(o)
	if err != nil {
		return nil, nil, err
	}
	var out []*T
	resp, err := t.c.do(ctx, call{
		method: http.MethodGet, path: t.path(""), query: q, class: httpx.Idempotent, table: t.name,
		notFoundIsEmpty: t.c.apiVersion == "v1",
		decode: func(r io.Reader) error {
			out = out[:0]
			return decodeEnvelope(r, func(dec *json.Decoder) error {
				return t.decodeList(dec, mode, o.DisplayValue, &out)
			})
		},
	})
	if err != nil {
		return nil, resp, err
	}
	resp.Returned = len(out)
	if resp.TotalCount >= 0 && o.Limit > 0 {
		expect := min(o.Limit, max(resp.TotalCount-o.Offset, 0))
		resp.Hidden = max(expect-len(out), 0)
	}
	return out, resp, nil
}

// decodeList reads the result array element by element.
func (t *Table[T]) decodeList(dec *json.Decoder, asked, sent DisplayValue, out *[]*T) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf(`"result" is not a list`)
	}
	for dec.More() {
		rec, err := t.decodeOne(dec, asked, sent)
		if err != nil {
			return err
		}
		*out = append(*out, rec)
	}
	_, err = dec.Token()
	return err
}

// decodeOne reads one record in the shape the display mode gives.
func (t *Table[T]) decodeOne(dec *json.Decoder, asked, sent DisplayValue) (*T, error) {
	rec := new(T)
	if t.isRaw() || sent != DisplayBoth {
		if err := dec.Decode(rec); err != nil {
			return nil, err
		}
		if asked == DisplayText && t.isRaw() {
			// Plain strings are display values in this mode.
			r := any(rec).(*Record)
			for k, v := range *r {
				if v.Display == "" && v.Link == "" {
					(*r)[k] = Value{Display: v.Value}
				}
			}
		}
		return rec, nil
	}
	// Typed record in display=all: keep raw values in the typed fields and
	// the display values aside.
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return nil, err
	}
	raw, display, err := splitDisplay(fields)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, rec); err != nil {
		return nil, err
	}
	if ds, ok := any(rec).(displaySetter); ok {
		ds.setDisplayValues(display)
	}
	return rec, nil
}

type displaySetter interface{ setDisplayValues(map[string]string) }

// splitDisplay turns a display_value=all record into a raw-value record
// (references keep their {link,value} object) and a map of display values.
func splitDisplay(fields map[string]json.RawMessage) ([]byte, map[string]string, error) {
	display := make(map[string]string, len(fields))
	raw := make(map[string]any, len(fields))
	for k, v := range fields {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] != '{' {
			raw[k] = v
			continue
		}
		var o struct {
			Value        json.RawMessage `json:"value"`
			DisplayValue json.RawMessage `json:"display_value"`
			Link         string          `json:"link"`
		}
		if err := json.Unmarshal(v, &o); err != nil {
			return nil, nil, err
		}
		display[k] = scalarText(o.DisplayValue)
		val := scalarText(o.Value)
		if o.Link != "" {
			raw[k] = map[string]string{"link": o.Link, "value": val, "display_value": display[k]}
		} else {
			raw[k] = val
		}
	}
	b, err := json.Marshal(raw)
	return b, display, err
}

// Get returns the record with the given sys_id; ErrNotFound when it does
// not exist or an ACL hides it.
func (t *Table[T]) Get(ctx context.Context, sysID string, opts *GetOptions) (*T, *Response, error) {
	if err := validTableName(t.name); err != nil {
		return nil, nil, err
	}
	if err := validSysID(sysID); err != nil {
		return nil, nil, err
	}
	var o GetOptions
	if opts != nil {
		o = *opts
	}
	if err := validFields(o.Fields); err != nil {
		return nil, nil, err
	}
	mode := o.DisplayValue
	o.DisplayValue = t.wireDisplay(mode)
	return t.one(ctx, http.MethodGet, sysID, o, nil, mode, o.DisplayValue, httpx.Idempotent)
}

// Create inserts a record and returns it as stored, with every field the
// instance filled in (number, sys_id, defaults). body is any JSON object:
// Fields, a Record, or a struct. A create is not retried after a failure
// that may have reached the instance (the Table API has no idempotency
// keys): look the record up (for example by correlation_id) before trying
// again.
func (t *Table[T]) Create(ctx context.Context, body any, opts *WriteOptions) (*T, *Response, error) {
	return t.write(ctx, http.MethodPost, "", body, opts)
}

// Update changes the given fields of a record (PATCH) and returns the whole
// record as stored. Fields left out keep their values; send "" to clear one.
func (t *Table[T]) Update(ctx context.Context, sysID string, body any, opts *WriteOptions) (*T, *Response, error) {
	if err := validSysID(sysID); err != nil {
		return nil, nil, err
	}
	return t.write(ctx, http.MethodPatch, sysID, body, opts)
}

// Replace sends a PUT. On ServiceNow a PUT is NOT a full replace: like
// Update, it changes only the fields sent. It exists for completeness; it
// is retried like an idempotent call.
func (t *Table[T]) Replace(ctx context.Context, sysID string, body any, opts *WriteOptions) (*T, *Response, error) {
	if err := validSysID(sysID); err != nil {
		return nil, nil, err
	}
	return t.write(ctx, http.MethodPut, sysID, body, opts)
}

func (t *Table[T]) write(ctx context.Context, method, sysID string, body any, opts *WriteOptions) (*T, *Response, error) {
	if err := validTableName(t.name); err != nil {
		return nil, nil, err
	}
	if body == nil {
		return nil, nil, &InvalidInputError{Field: "body", Reason: "the body is nil (send Fields{} for an empty record)"}
	}
	var o WriteOptions
	if opts != nil {
		o = *opts
	}
	if err := validFields(o.Fields); err != nil {
		return nil, nil, err
	}
	mode := o.DisplayValue
	o.DisplayValue = t.wireDisplay(mode)
	return t.one(ctx, method, sysID, o, body, mode, o.DisplayValue, httpx.ClassOf(method))
}

// one sends a call whose answer is {"result": {record}}.
func (t *Table[T]) one(ctx context.Context, method, sysID string, opts any, body any, asked, sent DisplayValue, class httpx.RetryClass) (*T, *Response, error) {
	q, err := values(opts)
	if err != nil {
		return nil, nil, err
	}
	var rec *T
	resp, err := t.c.do(ctx, call{
		method: method, path: t.path(sysID), query: q, body: body, class: class, table: t.name,
		decode: func(r io.Reader) error {
			rec = nil
			return decodeEnvelope(r, func(dec *json.Decoder) error {
				var err error
				rec, err = t.decodeOne(dec, asked, sent)
				return err
			})
		},
	})
	if err != nil {
		return nil, resp, err
	}
	return rec, resp, nil
}

// Delete deletes a record (204). It is retried like an idempotent call; a
// retry after a delete that did happen answers ErrNotFound.
func (t *Table[T]) Delete(ctx context.Context, sysID string) (*Response, error) {
	if err := validTableName(t.name); err != nil {
		return nil, err
	}
	if err := validSysID(sysID); err != nil {
		return nil, err
	}
	return t.c.do(ctx, call{method: http.MethodDelete, path: t.path(sysID), class: httpx.Idempotent, table: t.name})
}

// Count returns how many records match the encoded query, with the
// Aggregate API (one request, no paging).
func (t *Table[T]) Count(ctx context.Context, query string) (int, *Response, error) {
	if err := validTableName(t.name); err != nil {
		return 0, nil, err
	}
	if err := validateQueryParam(query); err != nil {
		return 0, nil, err
	}
	q := url.Values{"sysparm_count": {"true"}}
	if query != "" {
		q.Set("sysparm_query", query)
	}
	var count int
	resp, err := t.c.do(ctx, call{
		method: http.MethodGet, path: "api/now/stats/" + t.name, query: q, class: httpx.Idempotent, table: t.name,
		decode: func(r io.Reader) error {
			return decodeEnvelope(r, func(dec *json.Decoder) error {
				var res struct {
					Stats struct {
						Count json.RawMessage `json:"count"`
					} `json:"stats"`
				}
				if err := dec.Decode(&res); err != nil {
					return err
				}
				n, err := strconv.Atoi(scalarText(res.Stats.Count))
				if err != nil {
					return fmt.Errorf("the Aggregate API count %q is not a number", scalarText(res.Stats.Count))
				}
				count = n
				return nil
			})
		},
	})
	if err != nil {
		return 0, resp, err
	}
	return count, resp, nil
}

// validateQueryParam refuses an encoded query that can never be what the
// caller meant: one holding a builder error, or a raw line break or NUL
// (ServiceNow has no escape for them).
func validateQueryParam(q string) error {
	if q == "" {
		return nil
	}
	return checkQuery(q)
}
