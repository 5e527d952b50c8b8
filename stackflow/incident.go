package stackflow

import "time"

// Incident is an incident: a record of /incidents (module incidents, ServiceNow table incident).
// A field StackFlow sends as null is the zero value.
type Incident struct {
	Common
	// Title is the short summary (trimmed and truncated to 255 characters by StackFlow).
	Title string `json:"title"`
	// Description is long text (CRLF and CR become LF).
	Description string        `json:"description"`
	State       IncidentState `json:"state"`
	// Priority is 1 (critical) .. 5 (planning); 0 when not set. StackFlow never derives it from Impact and Urgency.
	Priority    int    `json:"priority"`
	Impact      Level  `json:"impact"`
	Urgency     Level  `json:"urgency"`
	Category    string `json:"category"`
	Subcategory string `json:"subcategory"`
	// AssignmentGroup is the assignment group name.
	AssignmentGroup string `json:"assignment_group"`
	// Assignee is the assignee user name.
	Assignee string `json:"assignee"`
	// Reporter is the reporter (caller) user name.
	Reporter string `json:"reporter"`
	// CIID is the affected CI: the StackFlow id of a CI.
	CIID            string `json:"ci_id"`
	ResolutionCode  string `json:"resolution_code"`
	ResolutionNotes string `json:"resolution_notes"`
	// ResolvedAt is written by clients; StackFlow never derives it from State.
	ResolvedAt *time.Time `json:"resolved_at"`
	// ClosedAt is written by clients; StackFlow never derives it from State.
	ClosedAt *time.Time `json:"closed_at"`
}

// IncidentState is an incident state.
type IncidentState string

// The values of IncidentState.
const (
	IncidentStateNew        IncidentState = "new"
	IncidentStateInProgress IncidentState = "in_progress"
	IncidentStateOnHold     IncidentState = "on_hold"
	IncidentStateResolved   IncidentState = "resolved"
	IncidentStateClosed     IncidentState = "closed"
	IncidentStateCanceled   IncidentState = "canceled"
)

// IncidentInput is the body of a create, update (PATCH) or bulk upsert of /incidents.
// Nil fields are left out: a create takes the default, an update keeps the
// stored value. List the JSON names of fields to set to null (clear) in
// Clear. A bulk upsert needs Source and ExternalID.
type IncidentInput struct {
	Source          *string        `json:"source,omitempty"`
	ExternalID      *string        `json:"external_id,omitempty"`
	ExternalNumber  *string        `json:"external_number,omitempty"`
	Title           *string        `json:"title,omitempty"`
	Description     *string        `json:"description,omitempty"`
	State           *IncidentState `json:"state,omitempty"`
	Priority        *int           `json:"priority,omitempty"`
	Impact          *Level         `json:"impact,omitempty"`
	Urgency         *Level         `json:"urgency,omitempty"`
	Category        *string        `json:"category,omitempty"`
	Subcategory     *string        `json:"subcategory,omitempty"`
	AssignmentGroup *string        `json:"assignment_group,omitempty"`
	Assignee        *string        `json:"assignee,omitempty"`
	Reporter        *string        `json:"reporter,omitempty"`
	CIID            *string        `json:"ci_id,omitempty"`
	ResolutionCode  *string        `json:"resolution_code,omitempty"`
	ResolutionNotes *string        `json:"resolution_notes,omitempty"`
	ResolvedAt      *time.Time     `json:"resolved_at,omitempty"`
	ClosedAt        *time.Time     `json:"closed_at,omitempty"`
	// Attributes are custom fields; an update merges them key by key (a key
	// set to nil is removed).
	Attributes map[string]any `json:"attributes,omitempty"`
	// Clear names fields to set to null, e.g. []string{"assignee"}.
	Clear []string `json:"-"`
}

// MarshalJSON encodes the input, with the fields of Clear as null.
func (in IncidentInput) MarshalJSON() ([]byte, error) { return in.encode() }

func (in IncidentInput) encode() ([]byte, error) {
	type plain IncidentInput
	return encodeInput(plain(in), "IncidentInput", in.Clear)
}

func (in IncidentInput) upsertKey() (source, externalID string) {
	return deref(in.Source), deref(in.ExternalID)
}
