package servicenow

// ChangeRequest is a record of the change_request table. State values:
// -5 New, -4 Assess, -3 Authorize, -2 Scheduled, -1 Implement, 0 Review,
// 3 Closed, 4 Canceled. Risk: 1 Very High, 2 High, 3 Moderate, 4 Low.
// Type: normal, standard, emergency.
type ChangeRequest struct {
	Task
	Type               string    `json:"type"`
	Risk               string    `json:"risk"`
	Category           string    `json:"category"`
	Reason             string    `json:"reason"`
	StartDate          Time      `json:"start_date"`
	EndDate            Time      `json:"end_date"`
	OnHold             Bool      `json:"on_hold"`
	RequestedBy        Reference `json:"requested_by"`
	Justification      string    `json:"justification"`
	ImplementationPlan string    `json:"implementation_plan"`
	BackoutPlan        string    `json:"backout_plan"`
	TestPlan           string    `json:"test_plan"`
	CloseCode          string    `json:"close_code"`
	CloseNotes         string    `json:"close_notes"`
}

// Change request states (the state field).
const (
	ChangeStateNew       = "-5"
	ChangeStateAssess    = "-4"
	ChangeStateAuthorize = "-3"
	ChangeStateScheduled = "-2"
	ChangeStateImplement = "-1"
	ChangeStateReview    = "0"
	ChangeStateClosed    = "3"
	ChangeStateCanceled  = "4"
)

// ChangeRequests returns the Table API of the change_request table.
func (c *Client) ChangeRequests() *Table[ChangeRequest] {
	return NewTable[ChangeRequest](c, "change_request")
}
