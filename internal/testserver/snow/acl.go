package snow

import (
	"errors"
	"fmt"
	"slices"
)

// Operation is what an ACL rule guards.
type Operation string

// Operations an ACL can guard.
const (
	OpRead   Operation = "read"
	OpCreate Operation = "create"
	OpWrite  Operation = "write"
	OpDelete Operation = "delete"
)

// ACL is an access rule on a table (and the tables that extend it). It
// applies to the users named in Users and to users holding any of Roles
// (to everyone when both are empty), except users holding any of
// ExceptRoles. Its effect is one or more of:
//
//   - Deny: the operation is refused. Writes get 403 "Operation Failed" /
//     "ACL Exception <Insert|Update|Delete> Failed due to security
//     constraints"; reads of the table get 403 "Insufficient rights to query
//     records".
//   - HideRow (reads): rows for which it returns true are invisible. A GET by
//     sys_id answers 404; lists drop them after sysparm_limit is applied, so
//     pages come back short (or empty) while X-Total-Count still counts
//     them, as the real instance does.
//   - HideFields (reads): the columns are left out of every record returned.
//     Under InvalidQueryForbidden, a query condition on one of them gets 403.
//
// HideRow runs while the server holds its lock: it must not call the Server.
type ACL struct {
	Table       string
	Operations  []Operation // empty means every operation
	Users       []string
	Roles       []string
	ExceptRoles []string
	Deny        bool
	HideRow     func(Record) bool
	HideFields  []string
}

func (a ACL) validate() error {
	if a.Table == "" {
		return errors.New("snow: ACL.Table is required")
	}
	if !a.Deny && a.HideRow == nil && len(a.HideFields) == 0 {
		return fmt.Errorf("snow: ACL on %s has no effect: set Deny, HideRow or HideFields", a.Table)
	}
	for _, op := range a.Operations {
		switch op {
		case OpRead, OpCreate, OpWrite, OpDelete:
		default:
			return fmt.Errorf("snow: ACL on %s: unknown operation %q", a.Table, op)
		}
	}
	return nil
}

// defaultACLs are the out-of-box rules the fake models.
func defaultACLs() []ACL {
	admin := []string{"admin"}
	return []ACL{
		{Table: "sys_properties", Deny: true, ExceptRoles: admin},
		{Table: "sys_audit_delete", Deny: true, ExceptRoles: admin},
		{Table: "sys_user_role", Operations: []Operation{OpCreate, OpWrite, OpDelete}, Deny: true, ExceptRoles: admin},
		{Table: "sys_user_has_role", Operations: []Operation{OpCreate, OpWrite, OpDelete}, Deny: true, ExceptRoles: admin},
		{Table: "sys_db_object", Operations: []Operation{OpCreate, OpWrite, OpDelete}, Deny: true, ExceptRoles: admin},
	}
}

// AddACL adds an access rule.
func (s *Server) AddACL(a ACL) error {
	if err := a.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.acls = append(s.acls, a)
	s.mu.Unlock()
	return nil
}

// ClearACLs removes every access rule, the built-in ones included.
func (s *Server) ClearACLs() {
	s.mu.Lock()
	s.acls = nil
	s.mu.Unlock()
}

func (a *ACL) appliesTo(p *principal, t *tableDef, op Operation, tables map[string]*tableDef) bool {
	at := tables[a.Table]
	if at == nil || !t.isA(at) {
		return false
	}
	if len(a.Operations) > 0 && !slices.Contains(a.Operations, op) {
		return false
	}
	for _, r := range a.ExceptRoles {
		if p.hasRole(r) {
			return false
		}
	}
	if len(a.Users) == 0 && len(a.Roles) == 0 {
		return true
	}
	if slices.Contains(a.Users, p.userName) {
		return true
	}
	for _, r := range a.Roles {
		if p.hasRole(r) {
			return true
		}
	}
	return false
}

// access is the outcome of the ACLs for one principal, table and operation.
type access struct {
	denied  bool
	rowHide []func(Record) bool
	fields  map[string]bool
}

func (a *access) hidesRows() bool { return len(a.rowHide) > 0 }

func (a *access) hidden(r *record) bool {
	if len(a.rowHide) == 0 {
		return false
	}
	rec := r.toRecord()
	for _, h := range a.rowHide {
		if h(rec) {
			return true
		}
	}
	return false
}

// accessFor evaluates the ACLs. Callers hold s.mu.
func (s *Server) accessFor(p *principal, t *tableDef, op Operation) *access {
	a := &access{}
	for i := range s.acls {
		rule := &s.acls[i]
		if !rule.appliesTo(p, t, op, s.schema.tables) {
			continue
		}
		if rule.Deny {
			a.denied = true
		}
		if op == OpRead {
			if rule.HideRow != nil {
				a.rowHide = append(a.rowHide, rule.HideRow)
			}
			for _, f := range rule.HideFields {
				if a.fields == nil {
					a.fields = map[string]bool{}
				}
				a.fields[f] = true
			}
		}
	}
	return a
}
