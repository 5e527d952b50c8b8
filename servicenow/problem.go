package servicenow

// Problem is a record of the problem table. State values (current releases):
// 101 New, 102 Assess, 103 Root Cause Analysis, 104 Fix in Progress,
// 106 Resolved, 107 Closed.
type Problem struct {
	Task
	ProblemState   string    `json:"problem_state"`
	Category       string    `json:"category"`
	Subcategory    string    `json:"subcategory"`
	KnownError     Bool      `json:"known_error"`
	CauseNotes     string    `json:"cause_notes"`
	FixNotes       string    `json:"fix_notes"`
	Workaround     string    `json:"workaround"`
	ResolutionCode string    `json:"resolution_code"`
	ResolvedAt     Time      `json:"resolved_at"`
	ResolvedBy     Reference `json:"resolved_by"`
	DuplicateOf    Reference `json:"duplicate_of"`
}

// Problem states (the state field).
const (
	ProblemStateNew           = "101"
	ProblemStateAssess        = "102"
	ProblemStateRootCause     = "103"
	ProblemStateFixInProgress = "104"
	ProblemStateResolved      = "106"
	ProblemStateClosed        = "107"
)

// Problems returns the Table API of the problem table.
func (c *Client) Problems() *Table[Problem] { return NewTable[Problem](c, "problem") }
