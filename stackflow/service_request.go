package stackflow

import "time"

// ServiceRequest is a service request: a record of /service-requests (module service_requests, ServiceNow table sc_request).
// A field StackFlow sends as null is the zero value.
type ServiceRequest struct {
	Common
	Title       string              `json:"title"`
	Description string              `json:"description"`
	State       ServiceRequestState `json:"state"`
	Approval    Approval            `json:"approval"`
	// RequestedFor is the user the request is for.
	RequestedFor string `json:"requested_for"`
	// Priority is 1 (critical) .. 5 (planning); 0 when not set.
	Priority int        `json:"priority"`
	DueDate  *time.Time `json:"due_date"`
}

// ServiceRequestState is a service request state.
type ServiceRequestState string

// The values of ServiceRequestState.
const (
	ServiceRequestStateOpen             ServiceRequestState = "open"
	ServiceRequestStateWorkInProgress   ServiceRequestState = "work_in_progress"
	ServiceRequestStateClosedComplete   ServiceRequestState = "closed_complete"
	ServiceRequestStateClosedIncomplete ServiceRequestState = "closed_incomplete"
	ServiceRequestStateClosedSkipped    ServiceRequestState = "closed_skipped"
)

// Approval is the approval of a service request.
type Approval string

// The values of Approval.
const (
	ApprovalNotYetRequested Approval = "not_yet_requested"
	ApprovalRequested       Approval = "requested"
	ApprovalApproved        Approval = "approved"
	ApprovalRejected        Approval = "rejected"
)

// ServiceRequestInput is the body of a create, update (PATCH) or bulk upsert of /service-requests.
// Nil fields are left out: a create takes the default, an update keeps the
// stored value. List the JSON names of fields to set to null (clear) in
// Clear. A bulk upsert needs Source and ExternalID.
type ServiceRequestInput struct {
	Source         *string              `json:"source,omitempty"`
	ExternalID     *string              `json:"external_id,omitempty"`
	ExternalNumber *string              `json:"external_number,omitempty"`
	Title          *string              `json:"title,omitempty"`
	Description    *string              `json:"description,omitempty"`
	State          *ServiceRequestState `json:"state,omitempty"`
	Approval       *Approval            `json:"approval,omitempty"`
	RequestedFor   *string              `json:"requested_for,omitempty"`
	Priority       *int                 `json:"priority,omitempty"`
	DueDate        *time.Time           `json:"due_date,omitempty"`
	// Attributes are custom fields; an update merges them key by key (a key
	// set to nil is removed).
	Attributes map[string]any `json:"attributes,omitempty"`
	// Clear names fields to set to null, e.g. []string{"assignee"}.
	Clear []string `json:"-"`
}

// MarshalJSON encodes the input, with the fields of Clear as null.
func (in ServiceRequestInput) MarshalJSON() ([]byte, error) { return in.encode() }

func (in ServiceRequestInput) encode() ([]byte, error) {
	type plain ServiceRequestInput
	return encodeInput(plain(in), "ServiceRequestInput", in.Clear)
}

func (in ServiceRequestInput) upsertKey() (source, externalID string) {
	return deref(in.Source), deref(in.ExternalID)
}
