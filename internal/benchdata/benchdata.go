// Package benchdata holds the data the read-path benchmarks share
// (servicenow's BenchmarkReadPath and examples/bench): a realistic incident
// and the struct a hand-written client would decode it into.
package benchdata

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Incident is one incident in the shape of a live v2 list answer: about
// 60 fields, references included, as the read-path benchmarks read them.
func Incident(i int) map[string]any {
	ref := func(table string, n int) map[string]string {
		id := fmt.Sprintf("%032x", n)
		return map[string]string{"link": "https://acme.service-now.com/api/now/v2/table/" + table + "/" + id, "value": id}
	}
	ts := fmt.Sprintf("2026-03-%02d %02d:%02d:%02d", 1+i%28, i%24, i%60, (i*7)%60)
	return map[string]any{
		"sys_id": fmt.Sprintf("%032x", 1<<40+i), "number": fmt.Sprintf("INC%07d", i), "sys_updated_on": ts, "sys_created_on": ts,
		"sys_updated_by": "svc.stackflow", "sys_created_by": "admin", "sys_mod_count": strconv.Itoa(i % 17), "sys_class_name": "incident",
		"sys_domain": ref("sys_user_group", 0), "sys_domain_path": "/", "sys_tags": "",
		"short_description": "Email server unreachable from site " + strconv.Itoa(i%40), "description": "Users report that Outlook cannot connect.\nTicket opened by the service desk.",
		"state": strconv.Itoa([]int{1, 2, 3, 6, 7}[i%5]), "incident_state": "2", "impact": strconv.Itoa(1 + i%3), "urgency": strconv.Itoa(1 + (i/3)%3), "priority": "3", "severity": "3",
		"active": "true", "category": "network", "subcategory": "email", "contact_type": "phone", "hold_reason": "",
		"caller_id": ref("sys_user", i%500), "opened_by": ref("sys_user", 7), "assignment_group": ref("sys_user_group", i%20), "assigned_to": ref("sys_user", i%80),
		"cmdb_ci": ref("cmdb_ci", i%1000), "business_service": "", "company": "", "location": ref("cmn_location", i%30), "problem_id": "", "parent_incident": "", "parent": "",
		"opened_at": ts, "resolved_at": "", "closed_at": "", "resolved_by": "", "closed_by": "", "due_date": "", "sla_due": "",
		"close_code": "", "close_notes": "", "correlation_id": "", "correlation_display": "", "comments": "", "work_notes": "", "watch_list": "",
		"reassignment_count": strconv.Itoa(i % 4), "reopen_count": "0", "made_sla": "true", "knowledge": "false", "upon_reject": "cancel", "upon_approval": "proceed",
		"calendar_stc": "", "business_stc": "", "calendar_duration": "", "business_duration": "", "approval": "not requested", "approval_set": "",
		"escalation": "0", "notify": "1", "order": "", "expected_start": "", "work_start": "", "work_end": "", "time_worked": "", "user_input": "",
		"additional_assignee_list": "", "group_list": "", "work_notes_list": "", "u_customer_tier": "gold",
	}
}

// BareIncident holds the same fields as servicenow.Incident, with plain
// strings for scalars and raw JSON for references (which may be "" or an
// object): what a hand-written client would decode into.
type BareIncident struct {
	SysID              string          `json:"sys_id"`
	SysClassName       string          `json:"sys_class_name"`
	SysCreatedOn       string          `json:"sys_created_on"`
	SysCreatedBy       string          `json:"sys_created_by"`
	SysUpdatedOn       string          `json:"sys_updated_on"`
	SysUpdatedBy       string          `json:"sys_updated_by"`
	SysModCount        string          `json:"sys_mod_count"`
	SysTags            string          `json:"sys_tags"`
	SysDomain          json.RawMessage `json:"sys_domain"`
	Number             string          `json:"number"`
	ShortDescription   string          `json:"short_description"`
	Description        string          `json:"description"`
	State              string          `json:"state"`
	Impact             string          `json:"impact"`
	Urgency            string          `json:"urgency"`
	Priority           string          `json:"priority"`
	Active             string          `json:"active"`
	Approval           string          `json:"approval"`
	AssignmentGroup    json.RawMessage `json:"assignment_group"`
	AssignedTo         json.RawMessage `json:"assigned_to"`
	OpenedBy           json.RawMessage `json:"opened_by"`
	OpenedAt           string          `json:"opened_at"`
	ClosedBy           json.RawMessage `json:"closed_by"`
	ClosedAt           string          `json:"closed_at"`
	DueDate            string          `json:"due_date"`
	CmdbCI             json.RawMessage `json:"cmdb_ci"`
	Company            json.RawMessage `json:"company"`
	Location           json.RawMessage `json:"location"`
	Parent             json.RawMessage `json:"parent"`
	CorrelationID      string          `json:"correlation_id"`
	CorrelationDisplay string          `json:"correlation_display"`
	ContactType        string          `json:"contact_type"`
	Comments           string          `json:"comments"`
	WorkNotes          string          `json:"work_notes"`
	CallerID           json.RawMessage `json:"caller_id"`
	Category           string          `json:"category"`
	Subcategory        string          `json:"subcategory"`
	IncidentState      string          `json:"incident_state"`
	Severity           string          `json:"severity"`
	HoldReason         string          `json:"hold_reason"`
	ResolvedAt         string          `json:"resolved_at"`
	ResolvedBy         json.RawMessage `json:"resolved_by"`
	CloseCode          string          `json:"close_code"`
	CloseNotes         string          `json:"close_notes"`
	ProblemID          json.RawMessage `json:"problem_id"`
	ParentIncident     json.RawMessage `json:"parent_incident"`
	BusinessService    json.RawMessage `json:"business_service"`
	ReassignmentCount  string          `json:"reassignment_count"`
	ReopenCount        string          `json:"reopen_count"`
}
