package stackflow

import "time"

// Change is a change: a record of /changes (module changes, ServiceNow table change_request).
// A field StackFlow sends as null is the zero value.
type Change struct {
	Common
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Type        ChangeType  `json:"type"`
	State       ChangeState `json:"state"`
	// Risk is "" when not assessed.
	Risk   ChangeRisk `json:"risk"`
	Impact Level      `json:"impact"`
	// Priority is 1 (critical) .. 5 (planning); 0 when not set.
	Priority        int        `json:"priority"`
	AssignmentGroup string     `json:"assignment_group"`
	Assignee        string     `json:"assignee"`
	PlannedStart    *time.Time `json:"planned_start"`
	// PlannedEnd must not be before PlannedStart when both are set.
	PlannedEnd         *time.Time `json:"planned_end"`
	ImplementationPlan string     `json:"implementation_plan"`
	BackoutPlan        string     `json:"backout_plan"`
	CloseCode          string     `json:"close_code"`
	// CIID is the affected CI: the StackFlow id of a CI.
	CIID string `json:"ci_id"`
}

// ChangeType is the type of a change.
type ChangeType string

// The values of ChangeType.
const (
	ChangeTypeNormal    ChangeType = "normal"
	ChangeTypeStandard  ChangeType = "standard"
	ChangeTypeEmergency ChangeType = "emergency"
)

// ChangeState is a change state.
type ChangeState string

// The values of ChangeState.
const (
	ChangeStateNew       ChangeState = "new"
	ChangeStateAssess    ChangeState = "assess"
	ChangeStateAuthorize ChangeState = "authorize"
	ChangeStateScheduled ChangeState = "scheduled"
	ChangeStateImplement ChangeState = "implement"
	ChangeStateReview    ChangeState = "review"
	ChangeStateClosed    ChangeState = "closed"
	ChangeStateCanceled  ChangeState = "canceled"
)

// ChangeRisk is the risk of a change.
type ChangeRisk string

// The values of ChangeRisk.
const (
	ChangeRiskHigh     ChangeRisk = "high"
	ChangeRiskModerate ChangeRisk = "moderate"
	ChangeRiskLow      ChangeRisk = "low"
)

// ChangeInput is the body of a create, update (PATCH) or bulk upsert of /changes.
// Nil fields are left out: a create takes the default, an update keeps the
// stored value. List the JSON names of fields to set to null (clear) in
// Clear. A bulk upsert needs Source and ExternalID.
type ChangeInput struct {
	Source             *string      `json:"source,omitempty"`
	ExternalID         *string      `json:"external_id,omitempty"`
	ExternalNumber     *string      `json:"external_number,omitempty"`
	Title              *string      `json:"title,omitempty"`
	Description        *string      `json:"description,omitempty"`
	Type               *ChangeType  `json:"type,omitempty"`
	State              *ChangeState `json:"state,omitempty"`
	Risk               *ChangeRisk  `json:"risk,omitempty"`
	Impact             *Level       `json:"impact,omitempty"`
	Priority           *int         `json:"priority,omitempty"`
	AssignmentGroup    *string      `json:"assignment_group,omitempty"`
	Assignee           *string      `json:"assignee,omitempty"`
	PlannedStart       *time.Time   `json:"planned_start,omitempty"`
	PlannedEnd         *time.Time   `json:"planned_end,omitempty"`
	ImplementationPlan *string      `json:"implementation_plan,omitempty"`
	BackoutPlan        *string      `json:"backout_plan,omitempty"`
	CloseCode          *string      `json:"close_code,omitempty"`
	CIID               *string      `json:"ci_id,omitempty"`
	// Attributes are custom fields; an update merges them key by key (a key
	// set to nil is removed).
	Attributes map[string]any `json:"attributes,omitempty"`
	// Clear names fields to set to null, e.g. []string{"assignee"}.
	Clear []string `json:"-"`
}

// MarshalJSON encodes the input, with the fields of Clear as null.
func (in ChangeInput) MarshalJSON() ([]byte, error) { return in.encode() }

func (in ChangeInput) encode() ([]byte, error) {
	type plain ChangeInput
	return encodeInput(plain(in), "ChangeInput", in.Clear)
}

func (in ChangeInput) upsertKey() (source, externalID string) {
	return deref(in.Source), deref(in.ExternalID)
}
