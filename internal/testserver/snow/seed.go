package snow

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// RelType is a well-known out-of-box cmdb_rel_type row.
type RelType struct {
	SysID, Name, Parent, Child string
}

// WellKnownRelTypes are the relationship types a fresh instance has, with
// their out-of-box sys_ids (servicenow-api.md §5.8).
var WellKnownRelTypes = []RelType{
	{"1a9cb166f1571100a92eb60da2bce5c5", "Depends on::Used by", "Depends on", "Used by"},
	{"60bc4e22c0a8010e01f074cbe6bd73c3", "Runs on::Runs", "Runs on", "Runs"},
	{"55c95bf6c0a8010e0118ec7056ebc54d", "Contains::Contained by", "Contains", "Contained by"},
	{"607ad1b2c0a8010e01941856b365af90", "Exchanges data with::Exchanges data with", "Exchanges data with", "Exchanges data with"},
	{"41008aa6ef32010098d5925495c0fb94", "Consumes::Consumed by", "Consumes", "Consumed by"},
}

// seedDefaults loads what every fresh instance has: the admin user and
// base roles, the relationship types, sys_properties and sys_db_object.
func (s *Server) seedDefaults() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	wc := writeCtx{user: "system", now: s.Now(), seed: true}
	ins := func(table string, vals map[string]string) error {
		_, err := s.insert(s.schema.tables[table], vals, wc)
		return err
	}
	for _, t := range s.schema.list {
		s.addDBObject(t)
	}
	for _, role := range []string{"admin", "itil", "itil_admin", "rest_api_explorer", "cmdb_read", "snc_platform_rest_api_access", "web_service_admin"} {
		if err := ins("sys_user_role", map[string]string{"name": role}); err != nil {
			return err
		}
	}
	for _, rt := range WellKnownRelTypes {
		if err := ins("cmdb_rel_type", map[string]string{"sys_id": rt.SysID, "name": rt.Name,
			"parent_descriptor": rt.Parent, "child_descriptor": rt.Child}); err != nil {
			return err
		}
	}
	b := s.cfg.build
	props := [][2]string{
		{"glide.buildname", b.Name}, {"glide.buildtag", b.Tag}, {"glide.war", b.War},
	}
	for _, p := range props {
		if err := ins("sys_properties", map[string]string{"name": p[0], "value": p[1], "type": "string"}); err != nil {
			return err
		}
	}
	admin, err := s.insert(s.schema.tables["sys_user"], map[string]string{
		"sys_id": AdminSysID, "user_name": "admin", "first_name": "System", "last_name": "Administrator",
		"email": "admin@example.com"}, wc)
	if err != nil {
		return err
	}
	s.passwords["admin"] = "admin"
	return s.grantLocked(admin, "admin")
}

// addDBObject writes the sys_db_object row of a table. Callers hold s.mu.
func (s *Server) addDBObject(t *tableDef) {
	dbo := s.schema.tables["sys_db_object"]
	if dbo == nil || s.lookup(dbo, t.sysID) != nil {
		return
	}
	vals := map[string]string{"sys_id": t.sysID, "name": t.name, "label": t.label,
		"is_extendable": fmt.Sprint(t.parent == nil && (t.name == "task" || t.name == "cmdb_ci") || len(t.children) > 0)}
	if t.parent != nil {
		vals["super_class"] = t.parent.sysID
	}
	if t.prefix != "" {
		vals["number_ref"] = t.prefix
	}
	_, _ = s.insert(dbo, vals, writeCtx{user: "system", now: s.Now(), seed: true})
}

// Seed loads rows into a table as a data import would: values are stored
// as given (sys_id, number, sys_created_on, sys_updated_on, sys_mod_count
// and the other system columns included), columns left out get their
// defaults and system values, and derived fields (priority) are computed
// only where the row has none. Data policies do not run. A row whose
// sys_class_name names a table that extends table is stored in that class.
// Values may be strings, numbers, booleans, nil, or Table API reference
// objects ({"link","value"} or {"display_value","value"}: the value is kept).
// It returns the sys_ids of the new rows.
func (s *Server) Seed(table string, rows ...map[string]any) ([]string, error) {
	conv := make([]map[string]string, len(rows))
	for i, row := range rows {
		m := make(map[string]string, len(row))
		for k, v := range row {
			sv, err := seedValue(v)
			if err != nil {
				return nil, fmt.Errorf("snow: Seed %s row %d column %s: %w", table, i, k, err)
			}
			m[k] = sv
		}
		conv[i] = m
	}
	return s.SeedStrings(table, conv...)
}

// SeedStrings is Seed for rows of strings.
func (s *Server) SeedStrings(table string, rows ...map[string]string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.schema.tables[table]
	if t == nil {
		return nil, fmt.Errorf("snow: Seed: unknown table %q (define it with DefineTable)", table)
	}
	ids := make([]string, 0, len(rows))
	now := s.Now()
	for i, row := range rows {
		user := row["sys_created_by"]
		if user == "" {
			user = "admin"
		}
		wc := writeCtx{user: user, now: now, seed: true}
		if u := s.userByNameLocked(user); u != nil {
			wc.userID = u.id()
		}
		r, err := s.insert(t, row, wc)
		if err != nil {
			return ids, fmt.Errorf("snow: Seed %s row %d: %w", table, i, err)
		}
		ids = append(ids, r.id())
	}
	return ids, nil
}

// SeedJSON loads rows from JSON: a Table API body ({"result":[...]} or
// {"result":{...}}), an array of objects, or one object. References may be
// in any display-value shape; their value is kept.
func (s *Server) SeedJSON(table string, data []byte) ([]string, error) {
	data = bytes.TrimSpace(data)
	var rows []map[string]any
	dec := func(b []byte, v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		return d.Decode(v)
	}
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := dec(data, &rows); err != nil {
			return nil, fmt.Errorf("snow: SeedJSON %s: %w", table, err)
		}
	default:
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		if err := dec(data, &env); err != nil {
			return nil, fmt.Errorf("snow: SeedJSON %s: %w", table, err)
		}
		if len(env.Result) == 0 {
			var one map[string]any
			if err := dec(data, &one); err != nil {
				return nil, fmt.Errorf("snow: SeedJSON %s: %w", table, err)
			}
			rows = []map[string]any{one}
			break
		}
		res := bytes.TrimSpace(env.Result)
		if len(res) > 0 && res[0] == '[' {
			if err := dec(res, &rows); err != nil {
				return nil, fmt.Errorf("snow: SeedJSON %s: %w", table, err)
			}
		} else {
			var one map[string]any
			if err := dec(res, &one); err != nil {
				return nil, fmt.Errorf("snow: SeedJSON %s: %w", table, err)
			}
			rows = []map[string]any{one}
		}
	}
	return s.Seed(table, rows...)
}

// seedValue turns a Go or JSON value into a stored string.
func seedValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return fmt.Sprint(x), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprint(x), nil
	case fmt.Stringer:
		return x.String(), nil
	case map[string]any:
		if val, ok := x["value"]; ok {
			return seedValue(val)
		}
		if dv, ok := x["display_value"]; ok {
			return seedValue(dv)
		}
		return "", fmt.Errorf("object without a \"value\" key")
	case map[string]string:
		if val, ok := x["value"]; ok {
			return val, nil
		}
		return "", fmt.Errorf("object without a \"value\" key")
	}
	return "", fmt.Errorf("unsupported value type %T", v)
}
