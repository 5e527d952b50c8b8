package stackflow

// Relationship is a CMDB relationship between two CIs: a record of /cmdb/relationships (module cmdb_relationships, ServiceNow table cmdb_rel_ci).
// A field StackFlow sends as null is the zero value.
type Relationship struct {
	Common
	// ParentID is the StackFlow id of the parent CI.
	ParentID string `json:"parent_id"`
	// ChildID is the StackFlow id of the child CI (not the parent).
	ChildID string `json:"child_id"`
	// Type is the ServiceNow relationship type name, e.g. "Depends on::Used by".
	Type string `json:"type"`
}

// RelationshipInput is the body of a create, update (PATCH) or bulk upsert of /cmdb/relationships.
// Nil fields are left out: a create takes the default, an update keeps the
// stored value. List the JSON names of fields to set to null (clear) in
// Clear. A bulk upsert needs Source and ExternalID.
type RelationshipInput struct {
	Source         *string `json:"source,omitempty"`
	ExternalID     *string `json:"external_id,omitempty"`
	ExternalNumber *string `json:"external_number,omitempty"`
	ParentID       *string `json:"parent_id,omitempty"`
	ChildID        *string `json:"child_id,omitempty"`
	Type           *string `json:"type,omitempty"`
	// Attributes are custom fields; an update merges them key by key (a key
	// set to nil is removed).
	Attributes map[string]any `json:"attributes,omitempty"`
	// Clear names fields to set to null, e.g. []string{"assignee"}.
	Clear []string `json:"-"`
}

// MarshalJSON encodes the input, with the fields of Clear as null.
func (in RelationshipInput) MarshalJSON() ([]byte, error) { return in.encode() }

func (in RelationshipInput) encode() ([]byte, error) {
	type plain RelationshipInput
	return encodeInput(plain(in), "RelationshipInput", in.Clear)
}

func (in RelationshipInput) upsertKey() (source, externalID string) {
	return deref(in.Source), deref(in.ExternalID)
}
