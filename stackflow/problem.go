package stackflow

// Problem is a problem: a record of /problems (module problems, ServiceNow table problem).
// A field StackFlow sends as null is the zero value.
type Problem struct {
	Common
	Title       string       `json:"title"`
	Description string       `json:"description"`
	State       ProblemState `json:"state"`
	// Priority is 1 (critical) .. 5 (planning); 0 when not set.
	Priority        int    `json:"priority"`
	Impact          Level  `json:"impact"`
	Urgency         Level  `json:"urgency"`
	AssignmentGroup string `json:"assignment_group"`
	Assignee        string `json:"assignee"`
	// KnownError marks a known error (never null).
	KnownError bool   `json:"known_error"`
	RootCause  string `json:"root_cause"`
	Workaround string `json:"workaround"`
	// CIID is the affected CI: the StackFlow id of a CI.
	CIID string `json:"ci_id"`
}

// ProblemState is a problem state.
type ProblemState string

// The values of ProblemState.
const (
	ProblemStateNew               ProblemState = "new"
	ProblemStateAssess            ProblemState = "assess"
	ProblemStateRootCauseAnalysis ProblemState = "root_cause_analysis"
	ProblemStateFixInProgress     ProblemState = "fix_in_progress"
	ProblemStateResolved          ProblemState = "resolved"
	ProblemStateClosed            ProblemState = "closed"
)

// ProblemInput is the body of a create, update (PATCH) or bulk upsert of /problems.
// Nil fields are left out: a create takes the default, an update keeps the
// stored value. List the JSON names of fields to set to null (clear) in
// Clear. A bulk upsert needs Source and ExternalID.
type ProblemInput struct {
	Source          *string       `json:"source,omitempty"`
	ExternalID      *string       `json:"external_id,omitempty"`
	ExternalNumber  *string       `json:"external_number,omitempty"`
	Title           *string       `json:"title,omitempty"`
	Description     *string       `json:"description,omitempty"`
	State           *ProblemState `json:"state,omitempty"`
	Priority        *int          `json:"priority,omitempty"`
	Impact          *Level        `json:"impact,omitempty"`
	Urgency         *Level        `json:"urgency,omitempty"`
	AssignmentGroup *string       `json:"assignment_group,omitempty"`
	Assignee        *string       `json:"assignee,omitempty"`
	KnownError      *bool         `json:"known_error,omitempty"`
	RootCause       *string       `json:"root_cause,omitempty"`
	Workaround      *string       `json:"workaround,omitempty"`
	CIID            *string       `json:"ci_id,omitempty"`
	// Attributes are custom fields; an update merges them key by key (a key
	// set to nil is removed).
	Attributes map[string]any `json:"attributes,omitempty"`
	// Clear names fields to set to null, e.g. []string{"assignee"}.
	Clear []string `json:"-"`
}

// MarshalJSON encodes the input, with the fields of Clear as null.
func (in ProblemInput) MarshalJSON() ([]byte, error) { return in.encode() }

func (in ProblemInput) encode() ([]byte, error) {
	type plain ProblemInput
	return encodeInput(plain(in), "ProblemInput", in.Clear)
}

func (in ProblemInput) upsertKey() (source, externalID string) {
	return deref(in.Source), deref(in.ExternalID)
}
