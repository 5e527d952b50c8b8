package servicenow

// Incident is a record of the incident table.
//
// State values: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8
// Canceled. Priority is computed by the instance from Impact and Urgency
// (1 High, 2 Medium, 3 Low): write those, not Priority. Resolving (6) or
// closing (7) usually needs CloseCode and CloseNotes.
type Incident struct {
	Task
	CallerID          Reference `json:"caller_id"`
	Category          string    `json:"category"`
	Subcategory       string    `json:"subcategory"`
	IncidentState     string    `json:"incident_state"`
	Severity          string    `json:"severity"`
	HoldReason        string    `json:"hold_reason"`
	ResolvedAt        Time      `json:"resolved_at"`
	ResolvedBy        Reference `json:"resolved_by"`
	CloseCode         string    `json:"close_code"`
	CloseNotes        string    `json:"close_notes"`
	ProblemID         Reference `json:"problem_id"`
	ParentIncident    Reference `json:"parent_incident"`
	BusinessService   Reference `json:"business_service"`
	ReassignmentCount Int       `json:"reassignment_count"`
	ReopenCount       Int       `json:"reopen_count"`
}

// Incident states (the state field).
const (
	IncidentStateNew        = "1"
	IncidentStateInProgress = "2"
	IncidentStateOnHold     = "3"
	IncidentStateResolved   = "6"
	IncidentStateClosed     = "7"
	IncidentStateCanceled   = "8"
)

// Incidents returns the Table API of the incident table.
func (c *Client) Incidents() *Table[Incident] { return NewTable[Incident](c, "incident") }
