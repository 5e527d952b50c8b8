package snow

import (
	"strconv"
	"strings"
)

// Business rules the fake runs on every write made through the Table API or
// through the test-side mutations (Insert, Update), like a real instance's
// out-of-box rules. Seeds run them only to fill what the seed left empty.

// priorityMatrix is the incident/problem priority lookup (servicenow-api.md §5.3).
var priorityMatrix = [4][4]string{
	1: {1: "1", 2: "2", 3: "3"},
	2: {1: "2", 2: "3", 3: "4"},
	3: {1: "3", 2: "4", 3: "5"},
}

// computedPriority reports whether class t computes priority from impact and
// urgency. Incident and problem do; change_request and sc_request keep the
// priority they are given, as the out-of-box instance does.
func computedPriority(t *tableDef) bool {
	for x := t; x != nil; x = x.parent {
		if x.name == "incident" || x.name == "problem" {
			return true
		}
	}
	return false
}

func (r *record) set(name, v string) {
	if i := r.class.col(name); i >= 0 {
		r.vals[i] = v
	}
}

func isClass(t *tableDef, name string) bool {
	for x := t; x != nil; x = x.parent {
		if x.name == name {
			return true
		}
	}
	return false
}

func (s *Server) insertRules(r *record, wc writeCtx) {
	t := r.class
	now := fmtTime(wc.now)
	if isClass(t, "task") {
		if r.get("opened_at") == "" {
			r.set("opened_at", now)
		}
		if r.get("opened_by") == "" && wc.userID != "" {
			r.set("opened_by", wc.userID)
		}
		if r.get("task_effective_number") == "" {
			r.set("task_effective_number", r.get("number"))
		}
	}
	if isClass(t, "sc_request") && r.get("approval_set") == "" && r.get("approval") == "not requested" {
		// With no approval rules an out-of-box request is approved at once.
		r.set("approval", "approved")
		r.set("approval_set", now)
	}
	if isClass(t, "incident") {
		st, is := r.get("state"), r.get("incident_state")
		if st != "" && st != "1" {
			r.set("incident_state", st)
		} else if is != "" && is != "1" {
			r.set("state", is)
		}
	}
	if isClass(t, "sys_user") && r.get("name") == "" {
		r.set("name", strings.TrimSpace(r.get("first_name")+" "+r.get("last_name")))
	}
	s.commonRules(r, nil, wc)
}

func (s *Server) updateRules(old, r *record, changed map[string]bool, wc writeCtx) {
	t := r.class
	if isClass(t, "incident") {
		if changed["state"] {
			r.set("incident_state", r.get("state"))
		} else if changed["incident_state"] {
			r.set("state", r.get("incident_state"))
		}
	}
	if isClass(t, "task") && changed["assignment_group"] && old.get("assignment_group") != "" {
		n, _ := strconv.Atoi(r.get("reassignment_count"))
		r.set("reassignment_count", strconv.Itoa(n+1))
	}
	if isClass(t, "sys_user") && (changed["first_name"] || changed["last_name"]) && !changed["name"] {
		r.set("name", strings.TrimSpace(r.get("first_name")+" "+r.get("last_name")))
	}
	s.commonRules(r, old, wc)
}

// commonRules derive fields on insert and update: priority, and the
// resolved/closed stamps and active flag of tasks.
func (s *Server) commonRules(r *record, old *record, wc writeCtx) {
	t := r.class
	if computedPriority(t) && !(wc.seed && wc.given["priority"] != "") {
		i, _ := strconv.Atoi(r.get("impact"))
		u, _ := strconv.Atoi(r.get("urgency"))
		if i >= 1 && i <= 3 && u >= 1 && u <= 3 {
			r.set("priority", priorityMatrix[i][u])
		}
	}
	if !isClass(t, "task") {
		return
	}
	now := fmtTime(wc.now)
	state := r.get("state")
	if old != nil && old.get("state") == state {
		return
	}
	resolved, closed := "", ""
	switch {
	case isClass(t, "incident"):
		resolved, closed = "6", "7"
		if state == "8" {
			r.set("active", "false")
		}
	case isClass(t, "problem"):
		resolved, closed = "106", "107"
	case isClass(t, "change_request"):
		closed = "3"
		if state == "4" {
			r.set("active", "false")
		}
	default:
		if state == "3" || state == "4" || state == "7" {
			r.set("active", "false")
			if r.get("closed_at") == "" {
				r.set("closed_at", now)
			}
		}
		return
	}
	if resolved != "" && (state == resolved || state == closed) {
		if r.get("resolved_at") == "" {
			r.set("resolved_at", now)
		}
		if r.get("resolved_by") == "" && wc.userID != "" {
			r.set("resolved_by", wc.userID)
		}
	}
	if state == closed {
		r.set("active", "false")
		if r.get("closed_at") == "" {
			r.set("closed_at", now)
		}
		if r.get("closed_by") == "" && wc.userID != "" {
			r.set("closed_by", wc.userID)
		}
	}
}

// dataPolicy refuses to resolve or close an incident without close_code
// and close_notes (on by default; see WithDataPolicy).
func (s *Server) dataPolicy(r *record, wc writeCtx) error {
	if wc.seed || !s.cfg.dataPolicy || !isClass(r.class, "incident") {
		return nil
	}
	st := r.get("state")
	if st != "6" && st != "7" {
		return nil
	}
	var missing []string
	if r.get("close_code") == "" {
		missing = append(missing, "Resolution code")
	}
	if r.get("close_notes") == "" {
		missing = append(missing, "Resolution notes")
	}
	if len(missing) == 0 {
		return nil
	}
	return &refusal{status: 403, message: "Operation Failed",
		detail: "Data Policy Exception: \n\tThe following fields are mandatory: " + strings.Join(missing, ", ") + "\n"}
}
