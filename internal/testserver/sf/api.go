package sf

import (
	"errors"
	"fmt"
)

// Records returns every record of a module (identifier such as "incidents",
// or its path form "service-requests"), soft-deleted ones included, in id
// (creation) order.
func (s *Server) Records(module string) ([]Record, error) {
	m, err := lookupModule(module)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stores[m.id]
	out := make([]Record, len(st.order))
	for i, r := range st.order {
		out[i] = r.export()
	}
	return out, nil
}

// Record returns one record by id, and whether it exists.
func (s *Server) Record(module, id string) (Record, bool) {
	m, err := lookupModule(module)
	if err != nil {
		return Record{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.stores[m.id].byID[id]
	if r == nil {
		return Record{}, false
	}
	return r.export(), true
}

// Count returns how many records a module holds (live only, or all).
func (s *Server) Count(module string, includeDeleted bool) (int, error) {
	m, err := lookupModule(module)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stores[m.id]
	if includeDeleted {
		return len(st.order), nil
	}
	n := 0
	for _, r := range st.order {
		if r.live() {
			n++
		}
	}
	return n, nil
}

// Create adds a record as user as would a person in the StackFlow UI:
// fields are the API's JSON fields (module fields, source, external_id,
// external_number, attributes) with Go values (string, int, bool, nil,
// time.Time, map[string]any for attributes). The same validation and
// normalisation as POST apply, and webhooks fire. Errors are *APIError.
func (s *Server) Create(module string, fields map[string]any, as string) (Record, error) {
	m, err := lookupModule(module)
	if err != nil {
		return Record{}, err
	}
	if as == "" {
		return Record{}, errors.New("sf: Create: the acting user must not be empty")
	}
	ch, details := m.parseChange(fields)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, apiErr := s.createLocked(s.stores[m.id], ch, details, as)
	if apiErr != nil {
		return Record{}, apiErr
	}
	return r.export(), nil
}

// Seed creates records as the user "seed" and returns them; it stops at the
// first invalid record.
func (s *Server) Seed(module string, records ...map[string]any) ([]Record, error) {
	out := make([]Record, 0, len(records))
	for i, f := range records {
		r, err := s.Create(module, f, "seed")
		if err != nil {
			return out, fmt.Errorf("sf: Seed %s record %d: %w", module, i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Update changes a record as user would in the UI (PATCH semantics: only
// the given fields change; nil clears one). A change bumps version and
// updated_at and fires a webhook; no change leaves the record alone.
func (s *Server) Update(module, id string, fields map[string]any, as string) (Record, error) {
	m, err := lookupModule(module)
	if err != nil {
		return Record{}, err
	}
	if as == "" {
		return Record{}, errors.New("sf: Update: the acting user must not be empty")
	}
	ch, details := m.parseChange(fields)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stores[m.id]
	r := st.byID[id]
	if r == nil {
		return Record{}, notFound(m, id)
	}
	if _, apiErr := s.updateLocked(st, r, ch, details, as, ifMatch{}); apiErr != nil {
		return Record{}, apiErr
	}
	return r.export(), nil
}

// Delete soft-deletes a record as user would in the UI.
func (s *Server) Delete(module, id, as string) error {
	m, err := lookupModule(module)
	if err != nil {
		return err
	}
	if as == "" {
		return errors.New("sf: Delete: the acting user must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stores[m.id]
	r := st.byID[id]
	if r == nil {
		return notFound(m, id)
	}
	if apiErr := s.deleteLocked(st, r, as, ifMatch{}); apiErr != nil {
		return apiErr
	}
	return nil
}

// APIPath returns the path of a module relative to the base path
// ("/service-requests" for "service_requests").
func APIPath(module string) (string, error) {
	m, err := lookupModule(module)
	if err != nil {
		return "", err
	}
	return m.path, nil
}

// Modules lists the module identifiers.
func Modules() []string {
	out := make([]string, len(modules))
	for i, m := range modules {
		out[i] = m.id
	}
	return out
}

// IsStatus reports whether err is an *APIError with the given status.
func IsStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}
