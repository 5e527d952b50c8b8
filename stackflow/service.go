package stackflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stackflow-tech/snowsync/internal/httpx"
)

// Service is the API of one module: List, All, Get, Create, Update,
// Delete and BulkUpsert, decoding records into T and sending bodies of type
// B. The typed services (Client.Incidents, ...) use the module's record and
// input types; Client.Records uses Record and Fields for any module. Safe
// for concurrent use.
type Service[T any, B input] struct {
	c      *Client
	module Module
}

// The services of the Client, one per module, and the raw one.
type (
	// IncidentsService is the API of /incidents.
	IncidentsService = Service[Incident, IncidentInput]
	// ProblemsService is the API of /problems.
	ProblemsService = Service[Problem, ProblemInput]
	// ChangesService is the API of /changes.
	ChangesService = Service[Change, ChangeInput]
	// ServiceRequestsService is the API of /service-requests.
	ServiceRequestsService = Service[ServiceRequest, ServiceRequestInput]
	// CIsService is the API of /cmdb/cis.
	CIsService = Service[CI, CIInput]
	// RelationshipsService is the API of /cmdb/relationships.
	RelationshipsService = Service[Relationship, RelationshipInput]
	// RecordsService is the API of any module over raw records.
	RecordsService = Service[Record, Fields]
)

func newService[T any, B input](c *Client, m Module) *Service[T, B] {
	return &Service[T, B]{c: c, module: m}
}

// Module returns the service's module.
func (s *Service[T, B]) Module() Module { return s.module }

// path returns the module path relative to the base URL, with the escaped
// id appended when given.
func (s *Service[T, B]) path(id string) string {
	p := moduleTable[s.module].path
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

// validID checks a record id before it goes into a URL path.
func validID(id string) error {
	if id == "" {
		return &InvalidInputError{Field: "id", Reason: "the record id is empty"}
	}
	if len(id) > 64 {
		return &InvalidInputError{Field: "id", Reason: "the record id is longer than 64 characters"}
	}
	if strings.ContainsAny(id, "/?#%\\") || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return &InvalidInputError{Field: "id", Reason: fmt.Sprintf("%q is not a StackFlow record id", id)}
	}
	return nil
}

// decodeRecord decodes one record and checks that it has an id.
func decodeRecord[T any](r io.Reader) (*T, error) {
	rec := new(T)
	if err := decodeJSON(r, rec); err != nil {
		return nil, err
	}
	if id, ok := any(rec).(identified); ok && id.recordID() == "" {
		return nil, errors.New("the answer is not a record (no id)")
	}
	return rec, nil
}

// one sends a call whose answer is a single record.
func (s *Service[T, B]) one(ctx context.Context, cl call) (*T, *Response, error) {
	var rec *T
	cl.decode = func(r io.Reader) error {
		var err error
		rec, err = decodeRecord[T](r)
		return err
	}
	resp, err := s.c.do(ctx, cl)
	if err != nil {
		return nil, resp, err
	}
	return rec, resp, nil
}

// Get returns one record by id. Soft-deleted records are returned too,
// with DeletedAt set.
//
// StackFlow API docs: GET /{module}/{id}
func (s *Service[T, B]) Get(ctx context.Context, id string) (*T, *Response, error) {
	if err := s.module.check(); err != nil {
		return nil, nil, err
	}
	if err := validID(id); err != nil {
		return nil, nil, err
	}
	return s.one(ctx, call{method: http.MethodGet, path: s.path(id), class: httpx.Idempotent})
}

// CreateOptions shape a Create.
type CreateOptions struct {
	// IdempotencyKey is sent as the Idempotency-Key header: StackFlow answers
	// a repeat of the same body with the same key (within 24 hours) with the
	// first answer and creates nothing. Empty means a random 128-bit key,
	// generated per call. Give your own (for example derived from the
	// ServiceNow sys_id and the sync run) to make a create safe to repeat
	// across process restarts.
	IdempotencyKey string
}

// Create creates a record and returns it as stored (with StackFlow's
// normalisation applied: compare with what it returns, not with what you
// sent).
//
// Every create carries an Idempotency-Key, so it is retried like a read
// (on 429, 5xx, timeouts and connection resets), always with the same key:
// a retry after a create that did happen returns that record instead of
// creating a second one (Response.Replayed is then true). When no attempt
// got an answer the error is a *TransportError with OutcomeUnknown set and
// the key to repeat the create with.
//
// StackFlow API docs: POST /{module}
func (s *Service[T, B]) Create(ctx context.Context, body B, opts *CreateOptions) (*T, *Response, error) {
	if err := s.module.check(); err != nil {
		return nil, nil, err
	}
	data, err := body.encode()
	if err != nil {
		return nil, nil, err
	}
	var key string
	if opts != nil && opts.IdempotencyKey != "" {
		key = opts.IdempotencyKey
		if err := validIdempotencyKey(key); err != nil {
			return nil, nil, err
		}
	} else if key, err = newIdempotencyKey(); err != nil {
		return nil, nil, err
	}
	return s.one(ctx, call{
		method: http.MethodPost, path: s.path(""), body: data, class: httpx.Keyed,
		header: http.Header{"Idempotency-Key": {key}}, idempotencyKey: key,
	})
}

// UpdateOptions shape an Update.
type UpdateOptions struct {
	// IfVersion, when not 0, is sent as If-Match: the update is applied only
	// if the record still has this version, else it fails with
	// ErrVersionConflict and nothing is written.
	IfVersion int64
}

// Update changes the given fields of a record (PATCH) and returns the whole
// record as stored. Fields left out keep their values; attributes are
// merged key by key. An update that changes nothing does not bump the
// version. Soft-deleted records cannot be updated (ErrNotFound).
//
// An update has no idempotency key, so it is retried only when nothing
// reached StackFlow (429, dial errors); after other failures the error says
// the outcome is unknown.
//
// StackFlow API docs: PATCH /{module}/{id}
func (s *Service[T, B]) Update(ctx context.Context, id string, patch B, opts *UpdateOptions) (*T, *Response, error) {
	if err := s.module.check(); err != nil {
		return nil, nil, err
	}
	if err := validID(id); err != nil {
		return nil, nil, err
	}
	data, err := patch.encode()
	if err != nil {
		return nil, nil, err
	}
	cl := call{method: http.MethodPatch, path: s.path(id), body: data, class: httpx.NonIdempotent}
	if opts != nil && opts.IfVersion != 0 {
		if opts.IfVersion < 0 {
			return nil, nil, &InvalidInputError{Field: "IfVersion", Reason: "must be a record version (1 or more), or 0 for none"}
		}
		cl.header = http.Header{"If-Match": {strconv.Quote(strconv.FormatInt(opts.IfVersion, 10))}}
	}
	return s.one(ctx, cl)
}

// Delete soft-deletes a record (it keeps its id, gets DeletedAt, leaves
// lists unless IncludeDeleted, and frees its (source, external_id)).
// Deleting a deleted record succeeds and changes nothing, so a delete is
// retried like a read.
//
// StackFlow API docs: DELETE /{module}/{id}
func (s *Service[T, B]) Delete(ctx context.Context, id string) (*Response, error) {
	if err := s.module.check(); err != nil {
		return nil, err
	}
	if err := validID(id); err != nil {
		return nil, err
	}
	return s.c.do(ctx, call{method: http.MethodDelete, path: s.path(id), class: httpx.Idempotent})
}
