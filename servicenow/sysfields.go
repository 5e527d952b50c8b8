package servicenow

// SysFields are the system fields every ServiceNow record has. Embed it in
// your own record types to get them and Keyset support.
type SysFields struct {
	SysID        string    `json:"sys_id"`
	SysClassName string    `json:"sys_class_name,omitempty"`
	SysCreatedOn Time      `json:"sys_created_on"`
	SysCreatedBy string    `json:"sys_created_by,omitempty"`
	SysUpdatedOn Time      `json:"sys_updated_on"`
	SysUpdatedBy string    `json:"sys_updated_by,omitempty"`
	SysModCount  Int       `json:"sys_mod_count"`
	SysTags      string    `json:"sys_tags,omitempty"`
	SysDomain    Reference `json:"sys_domain"`

	// DisplayValues holds each field's display value when the call asked
	// for display values (DisplayText or DisplayBoth); nil otherwise.
	DisplayValues map[string]string `json:"-"`
}

// KeysetKey returns the record's position in a keyset walk.
func (s SysFields) KeysetKey() (Time, string, error) { return s.SysUpdatedOn, s.SysID, nil }

// Display returns the display value of field, when display values were
// asked for ("" otherwise).
func (s SysFields) Display(field string) string { return s.DisplayValues[field] }

func (s *SysFields) setDisplayValues(m map[string]string) { s.DisplayValues = m }

// Task holds the fields of ServiceNow's task table, which incident, problem,
// change_request and sc_request extend.
type Task struct {
	SysFields
	Number             string    `json:"number"`
	ShortDescription   string    `json:"short_description"`
	Description        string    `json:"description"`
	State              string    `json:"state"`
	Impact             string    `json:"impact"`
	Urgency            string    `json:"urgency"`
	Priority           string    `json:"priority"`
	Active             Bool      `json:"active"`
	Approval           string    `json:"approval,omitempty"`
	AssignmentGroup    Reference `json:"assignment_group"`
	AssignedTo         Reference `json:"assigned_to"`
	OpenedBy           Reference `json:"opened_by"`
	OpenedAt           Time      `json:"opened_at"`
	ClosedBy           Reference `json:"closed_by"`
	ClosedAt           Time      `json:"closed_at"`
	DueDate            Time      `json:"due_date"`
	CmdbCI             Reference `json:"cmdb_ci"`
	Company            Reference `json:"company"`
	Location           Reference `json:"location"`
	Parent             Reference `json:"parent"`
	CorrelationID      string    `json:"correlation_id"`
	CorrelationDisplay string    `json:"correlation_display"`
	ContactType        string    `json:"contact_type,omitempty"`
	// Comments and WorkNotes are journal fields: the raw value reads "" and
	// a write appends an entry.
	Comments  string `json:"comments,omitempty"`
	WorkNotes string `json:"work_notes,omitempty"`
}
