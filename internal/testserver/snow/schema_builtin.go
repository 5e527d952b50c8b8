package snow

// Built-in tables: the task family, the CMDB class hierarchy and the system
// tables a sync client touches, with the columns and choice lists seen in
// real records (servicenow-api.md §5).

func fs(names ...string) []Field {
	out := make([]Field, len(names))
	for i, n := range names {
		out[i] = Field{Name: n, Type: TypeString}
	}
	return out
}

func typed(t FieldType, names ...string) []Field {
	out := make([]Field, len(names))
	for i, n := range names {
		out[i] = Field{Name: n, Type: t}
	}
	return out
}

func ref(name, table string) Field { return Field{Name: name, Type: TypeReference, Reference: table} }

func boolf(name, def string) Field { return Field{Name: name, Type: TypeBoolean, Default: def} }

func intf(name, def string) Field { return Field{Name: name, Type: TypeInteger, Default: def} }

func choice(name string, t FieldType, def string, pairs ...string) Field {
	return Field{Name: name, Type: t, Default: def, Choices: cl(pairs...)}
}

func cl(pairs ...string) []Choice {
	out := make([]Choice, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Choice{Value: pairs[i], Label: pairs[i+1]})
	}
	return out
}

// same builds a choice list whose values are their labels.
func same(values ...string) []Choice {
	out := make([]Choice, len(values))
	for i, v := range values {
		out[i] = Choice{Value: v, Label: v}
	}
	return out
}

func join(parts ...[]Field) []Field {
	var out []Field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var incidentStates = cl("1", "New", "2", "In Progress", "3", "On Hold", "6", "Resolved", "7", "Closed", "8", "Canceled")

var incidentPriority = cl("1", "1 - Critical", "2", "2 - High", "3", "3 - Moderate", "4", "4 - Low", "5", "5 - Planning")

var closeCodes = same("Solved (Work Around)", "Solved (Permanently)", "Solved Remotely (Work Around)",
	"Solved Remotely (Permanently)", "Not Solved (Not Reproducible)", "Not Solved (Too Costly)",
	"Closed/Resolved by Caller", "Duplicate", "Known error", "No resolution provided", "Resolved by caller",
	"Resolved by change", "Resolved by problem", "Resolved by request", "Solution provided",
	"Workaround provided", "User error")

func builtinTables() []Table {
	task := Table{
		Name: "task", Label: "Task", NumberPrefix: "TASK", DisplayField: "number",
		Fields: join(
			[]Field{{Name: "number", Type: TypeString}},
			fs("short_description", "description", "close_notes", "correlation_id", "correlation_display",
				"task_effective_number", "user_input", "route_reason"),
			[]Field{
				choice("state", TypeInteger, "1", "-5", "Pending", "1", "Open", "2", "Work in Progress",
					"3", "Closed Complete", "4", "Closed Incomplete", "7", "Closed Skipped"),
				choice("impact", TypeInteger, "3", "1", "1 - High", "2", "2 - Medium", "3", "3 - Low"),
				choice("urgency", TypeInteger, "3", "1", "1 - High", "2", "2 - Medium", "3", "3 - Low"),
				choice("priority", TypeInteger, "4", "1", "1 - Critical", "2", "2 - High", "3", "3 - Moderate", "4", "4 - Low", "5", "5 - Planning"),
				boolf("active", "true"), boolf("made_sla", "true"), boolf("knowledge", "false"),
				intf("order", ""), intf("reassignment_count", "0"),
				choice("escalation", TypeInteger, "0", "0", "Normal", "1", "Moderate", "2", "High", "3", "Overdue"),
				choice("approval", TypeString, "not requested", "not requested", "Not Yet Requested", "requested", "Requested",
					"approved", "Approved", "rejected", "Rejected", "cancelled", "Cancelled", "not_required", "No Longer Required",
					"duplicate", "Duplicate"),
				choice("upon_approval", TypeString, "proceed", "proceed", "Proceed to Next Task", "do_nothing", "Wait for a User to Close this task"),
				choice("upon_reject", TypeString, "cancel", "cancel", "Cancel all future Tasks", "goto", "Go to a previous Task"),
				choice("contact_type", TypeString, "", "email", "Email", "phone", "Phone", "self-service", "Self-service",
					"walk-in", "Walk-in", "chat", "Chat", "virtual_agent", "Virtual Agent"),
				ref("parent", "task"), ref("opened_by", "sys_user"), ref("closed_by", "sys_user"),
				ref("assigned_to", "sys_user"), ref("assignment_group", "sys_user_group"),
				ref("cmdb_ci", "cmdb_ci"), ref("business_service", "cmdb_ci_service"), ref("company", "core_company"),
				ref("location", "cmn_location"), ref("service_offering", "service_offering"), ref("contract", "ast_contract"),
				ref("delivery_plan", "sc_cat_item_delivery_plan"), ref("delivery_task", "sc_cat_item_delivery_task"),
				ref("universal_request", "task"),
				{Name: "sla_due", Type: TypeDateTime},
				{Name: "comments", Type: TypeJournal, Label: "Additional comments"},
				{Name: "work_notes", Type: TypeJournal, Label: "Work notes"},
				{Name: "approval_history", Type: TypeJournal, Label: "Approval history"},
				{Name: "comments_and_work_notes", Type: TypeJournals, Label: "Comments and Work notes"},
				{Name: "business_duration", Type: TypeDuration}, {Name: "calendar_duration", Type: TypeDuration},
				{Name: "time_worked", Type: TypeDuration},
			},
			typed(TypeDateTime, "opened_at", "closed_at", "activity_due", "due_date", "expected_start", "work_start",
				"work_end", "approval_set", "follow_up"),
			typed(TypeList, "watch_list", "work_notes_list", "group_list", "additional_assignee_list"),
		),
	}
	incident := Table{
		Name: "incident", Label: "Incident", Extends: "task", NumberPrefix: "INC",
		Fields: join(
			[]Field{
				ref("caller_id", "sys_user"), ref("resolved_by", "sys_user"), ref("reopened_by", "sys_user"),
				ref("problem_id", "problem"), ref("rfc", "change_request"), ref("caused_by", "change_request"),
				ref("parent_incident", "incident"),
				choice("incident_state", TypeInteger, "1", "1", "New", "2", "In Progress", "3", "On Hold", "6", "Resolved", "7", "Closed", "8", "Canceled"),
				choice("hold_reason", TypeInteger, "", "1", "Awaiting Caller", "3", "Awaiting Problem", "4", "Awaiting Vendor", "5", "Awaiting Change"),
				choice("severity", TypeInteger, "3", "1", "1 - High", "2", "2 - Medium", "3", "3 - Low"),
				choice("notify", TypeInteger, "1", "1", "Do Not Notify", "2", "Send Email", "3", "Send SMS/Pager"),
				choice("category", TypeString, "inquiry", "inquiry", "Inquiry / Help", "software", "Software", "hardware", "Hardware",
					"network", "Network", "database", "Database"),
				choice("subcategory", TypeString, "", "antivirus", "Antivirus", "email", "Email", "internal application", "Internal Application",
					"dhcp", "DHCP", "dns", "DNS", "ip address", "IP Address", "vpn", "VPN", "wireless", "Wireless",
					"cpu", "CPU", "disk", "Disk", "keyboard", "Keyboard", "memory", "Memory", "monitor", "Monitor", "mouse", "Mouse",
					"db2", "DB2", "ms sql server", "MS SQL Server", "oracle", "Oracle"),
				{Name: "close_code", Type: TypeString, Label: "Resolution code", Choices: closeCodes},
				intf("child_incidents", "0"), intf("reopen_count", "0"), intf("business_stc", ""), intf("calendar_stc", ""),
				{Name: "resolved_at", Type: TypeDateTime}, {Name: "reopened_time", Type: TypeDateTime},
			},
			fs("business_impact", "cause", "origin_table", "origin_id"),
		),
		Choices: map[string][]Choice{"state": incidentStates, "priority": incidentPriority},
	}
	problem := Table{
		Name: "problem", Label: "Problem", Extends: "task", NumberPrefix: "PRB",
		Fields: join(
			[]Field{
				choice("problem_state", TypeInteger, "101", "101", "New", "102", "Assess", "103", "Root Cause Analysis",
					"104", "Fix in Progress", "106", "Resolved", "107", "Closed"),
				boolf("known_error", "false"), boolf("major_problem", "false"),
				ref("duplicate_of", "problem"), ref("first_reported_by_task", "task"), ref("resolved_by", "sys_user"),
				choice("resolution_code", TypeString, "", "fix_applied", "Fix Applied", "risk_accepted", "Risk Accepted",
					"canceled", "Canceled", "duplicate", "Duplicate"),
				intf("related_incidents", "0"),
				{Name: "resolved_at", Type: TypeDateTime},
			},
			fs("cause_notes", "fix_notes", "workaround", "category", "subcategory"),
		),
		Choices: map[string][]Choice{
			"state": cl("101", "New", "102", "Assess", "103", "Root Cause Analysis", "104", "Fix in Progress",
				"106", "Resolved", "107", "Closed"),
			"priority": incidentPriority,
		},
		Defaults: map[string]string{"state": "101"},
	}
	change := Table{
		Name: "change_request", Label: "Change Request", Extends: "task", NumberPrefix: "CHG",
		Fields: join(
			[]Field{
				choice("type", TypeString, "normal", "standard", "Standard", "normal", "Normal", "emergency", "Emergency"),
				choice("risk", TypeInteger, "3", "1", "Very High", "2", "High", "3", "Moderate", "4", "Low"),
				choice("phase", TypeString, "requested", "requested", "Requested", "approved", "Approved", "work_in_progress", "Work in Progress"),
				boolf("on_hold", "false"), boolf("cab_required", "false"), boolf("unauthorized", "false"),
				ref("requested_by", "sys_user"), ref("std_change_producer_version", "std_change_producer_version"),
				{Name: "close_code", Type: TypeString, Label: "Close code", Choices: same("successful", "successful_issues", "unsuccessful")},
			},
			typed(TypeDateTime, "start_date", "end_date", "requested_by_date"),
			fs("category", "reason", "justification", "implementation_plan", "backout_plan", "test_plan",
				"risk_impact_analysis", "change_plan", "on_hold_reason"),
		),
		Choices: map[string][]Choice{
			"state": cl("-5", "New", "-4", "Assess", "-3", "Authorize", "-2", "Scheduled", "-1", "Implement",
				"0", "Review", "3", "Closed", "4", "Canceled"),
			"priority": cl("1", "1 - Critical", "2", "2 - High", "3", "3 - Moderate", "4", "4 - Low"),
		},
		Defaults: map[string]string{"state": "-5"},
	}
	request := Table{
		Name: "sc_request", Label: "Request", Extends: "task", NumberPrefix: "REQ",
		Fields: join(
			[]Field{
				ref("requested_for", "sys_user"), ref("parent_interaction", "interaction"),
				choice("request_state", TypeString, "in_process", "draft", "Draft", "submitted", "Submitted",
					"in_process", "Approved", "requested", "Pending Approval", "delivered", "Delivered", "cancelled", "Cancelled",
					"closed_incomplete", "Closed Incomplete", "closed_complete", "Closed Complete",
					"closed_cancelled", "Closed Cancelled", "closed_rejected", "Closed Rejected"),
				choice("stage", TypeString, "requested", "requested", "Requested", "in_process", "In Process",
					"closed_complete", "Closed Complete", "closed_incomplete", "Closed Incomplete"),
				{Name: "requested_date", Type: TypeDate},
				{Name: "price", Type: TypeDecimal, Default: "0"},
				intf("calendar_stc", ""),
			},
			fs("special_instructions", "delivery_address"),
		),
	}

	ciFields := join(
		fs("name", "asset_tag", "serial_number", "ip_address", "mac_address", "fqdn", "dns_domain", "host_name",
			"short_description", "comments", "correlation_id", "discovery_source", "model_number", "category",
			"subcategory", "cost_cc", "attributes", "po_number", "invoice_number", "justification", "gl_account",
			"lease_id", "object_id", "life_cycle_stage", "life_cycle_stage_status", "change_control", "schedule",
			"maintenance_schedule", "due_in", "attestation_score", "fault_count", "sys_class_path"),
		[]Field{
			ref("manufacturer", "core_company"), ref("vendor", "core_company"), ref("model_id", "cmdb_model"),
			ref("location", "cmn_location"), ref("company", "core_company"), ref("department", "cmn_department"),
			ref("support_group", "sys_user_group"), ref("assignment_group", "sys_user_group"),
			ref("managed_by", "sys_user"), ref("owned_by", "sys_user"), ref("assigned_to", "sys_user"),
			ref("supported_by", "sys_user"), ref("managed_by_group", "sys_user_group"), ref("duplicate_of", "cmdb_ci"),
			ref("asset", "alm_asset"), ref("attested_by", "sys_user"), ref("cost_center", "cmn_cost_center"),
			choice("install_status", TypeInteger, "1", "0", "Implementing", "1", "Installed", "2", "On Order",
				"3", "In Maintenance", "4", "Pending Install", "5", "Pending Repair", "6", "In Stock", "7", "Retired",
				"8", "Stolen", "100", "Absent"),
			choice("operational_status", TypeInteger, "1", "1", "Operational", "2", "Non-Operational",
				"3", "Repair in Progress", "4", "DR Standby", "5", "Ready", "6", "Retired", "7", "Pipeline", "8", "Catalog"),
			choice("environment", TypeString, "", "Development", "Development", "Production", "Production", "Test", "Test"),
			choice("used_for", TypeString, "", "Production", "Production", "Staging", "Staging", "QA", "QA",
				"Test", "Test", "Development", "Development", "Demonstration", "Demonstration", "Training", "Training",
				"Disaster recovery", "Disaster recovery"),
			boolf("virtual", "false"), boolf("unverified", "false"), boolf("skip_sync", "false"),
			boolf("can_print", "false"), boolf("monitor", "false"), boolf("attested", "false"),
			{Name: "cost", Type: TypeDecimal},
			{Name: "warranty_expiration", Type: TypeDate}, {Name: "purchase_date", Type: TypeDate},
		},
		typed(TypeDateTime, "first_discovered", "last_discovered", "install_date", "assigned", "checked_in",
			"checked_out", "order_date", "delivery_date", "due", "start_date", "attested_date"),
	)
	return []Table{
		{Name: "sys_user", Label: "User", DisplayField: "name", Fields: join(
			fs("user_name", "first_name", "last_name", "name", "email", "title", "phone", "mobile_phone",
				"employee_number", "time_zone", "date_format", "roles", "source", "gender", "introduction", "middle_name"),
			[]Field{
				ref("department", "cmn_department"), ref("company", "core_company"), ref("location", "cmn_location"),
				ref("manager", "sys_user"),
				boolf("active", "true"), boolf("locked_out", "false"), boolf("web_service_access_only", "false"),
				boolf("internal_integration_user", "false"), boolf("password_needs_reset", "false"), boolf("vip", "false"),
				{Name: "user_password", Type: TypePassword}, {Name: "last_login_time", Type: TypeDateTime},
			})},
		{Name: "sys_user_group", Label: "Group", DisplayField: "name", Fields: join(
			fs("name", "description", "email", "type"),
			[]Field{ref("manager", "sys_user"), ref("parent", "sys_user_group"), boolf("active", "true")})},
		{Name: "sys_user_role", Label: "Role", DisplayField: "name", Fields: join(
			fs("name", "description", "suffix", "assignable_by"),
			[]Field{boolf("elevated_privilege", "false")})},
		{Name: "sys_user_has_role", Label: "User Role", DisplayField: "role", Fields: []Field{
			{Name: "user", Type: TypeReference, Reference: "sys_user", CascadeDelete: true},
			{Name: "role", Type: TypeReference, Reference: "sys_user_role", CascadeDelete: true},
			ref("granted_by", "sys_user_group"), boolf("inherited", "false"),
			choice("state", TypeString, "active", "active", "Active", "pending_approval", "Pending approval", "requested", "Requested"),
		}},
		{Name: "sys_user_grmember", Label: "Group Member", DisplayField: "user", Fields: []Field{
			{Name: "user", Type: TypeReference, Reference: "sys_user", CascadeDelete: true},
			{Name: "group", Type: TypeReference, Reference: "sys_user_group", CascadeDelete: true},
		}},
		{Name: "core_company", Label: "Company", DisplayField: "name", Fields: join(
			fs("name", "stock_symbol", "city", "state", "country", "zip", "street", "phone", "website"),
			[]Field{boolf("manufacturer", "false"), boolf("vendor", "false"), boolf("customer", "false"), ref("parent", "core_company")})},
		{Name: "cmn_location", Label: "Location", DisplayField: "name", Fields: join(
			fs("name", "full_name", "street", "city", "state", "country", "zip", "latitude", "longitude"),
			[]Field{ref("parent", "cmn_location"), ref("company", "core_company")})},
		{Name: "cmn_department", Label: "Department", DisplayField: "name", Fields: join(
			fs("name", "id", "description"), []Field{ref("company", "core_company"), ref("dept_head", "sys_user")})},
		{Name: "cmdb_model", Label: "Product Model", DisplayField: "display_name", Fields: join(
			fs("name", "display_name", "model_number"), []Field{ref("manufacturer", "core_company")})},
		task, incident, problem, change, request,
		{Name: "cmdb_ci", Label: "Configuration Item", DisplayField: "name", Fields: ciFields},
		{Name: "cmdb_ci_hardware", Label: "Hardware", Extends: "cmdb_ci", Fields: join(
			fs("default_gateway", "hardware_status", "hardware_substatus", "form_factor", "chassis_type", "cd_speed", "dr_backup"),
			[]Field{boolf("cd_rom", "false"), boolf("floppy", "false")})},
		{Name: "cmdb_ci_computer", Label: "Computer", Extends: "cmdb_ci_hardware", Fields: join(
			fs("os", "os_version", "os_domain", "os_service_pack", "os_address_width", "cpu_type", "cpu_name",
				"cpu_manufacturer", "cpu_core_thread"),
			typed(TypeInteger, "cpu_count", "cpu_speed", "cpu_core_count", "ram", "disk_space"),
			[]Field{boolf("internet_facing", "false")})},
		{Name: "cmdb_ci_server", Label: "Server", Extends: "cmdb_ci_computer", Fields: join(
			[]Field{choice("classification", TypeString, "Production", "Production", "Production", "Development", "Development",
				"Test", "Test", "Staging", "Staging", "Disaster recovery", "Disaster recovery")},
			fs("firewall_status"))},
		{Name: "cmdb_ci_linux_server", Label: "Linux Server", Extends: "cmdb_ci_server", Fields: fs("kernel_release")},
		{Name: "cmdb_ci_unix_server", Label: "UNIX Server", Extends: "cmdb_ci_server", Fields: fs("kernel_release")},
		{Name: "cmdb_ci_win_server", Label: "Windows Server", Extends: "cmdb_ci_server", Fields: fs("os_edition")},
		{Name: "cmdb_ci_netgear", Label: "Network Gear", Extends: "cmdb_ci_hardware", Fields: join(
			fs("device_type", "firmware_version"), typed(TypeInteger, "ports"))},
		{Name: "cmdb_ci_ip_router", Label: "IP Router", Extends: "cmdb_ci_netgear", Fields: fs("routing_protocols")},
		{Name: "cmdb_ci_ip_switch", Label: "IP Switch", Extends: "cmdb_ci_netgear", Fields: fs("switch_type")},
		{Name: "cmdb_ci_appl", Label: "Application", Extends: "cmdb_ci", Fields: join(
			fs("version", "edition", "running_process_command", "config_directory", "install_directory"),
			typed(TypeInteger, "tcp_port"))},
		{Name: "cmdb_ci_app_server", Label: "Application Server", Extends: "cmdb_ci_appl", Fields: fs("container")},
		{Name: "cmdb_ci_db_instance", Label: "Database Instance", Extends: "cmdb_ci_appl", Fields: fs("instance_name")},
		{Name: "cmdb_ci_db_ora_instance", Label: "Oracle Instance", Extends: "cmdb_ci_db_instance", Fields: fs("sid")},
		{Name: "cmdb_ci_db_mysql_instance", Label: "MySQL Instance", Extends: "cmdb_ci_db_instance", Fields: fs("mysql_engine")},
		{Name: "cmdb_ci_database", Label: "Database", Extends: "cmdb_ci", Fields: join(
			fs("type", "database_version"), []Field{ref("instance", "cmdb_ci_db_instance")})},
		{Name: "cmdb_ci_service", Label: "Service", Extends: "cmdb_ci", Fields: join(
			fs("service_classification", "service_status", "version", "portfolio_status"),
			[]Field{choice("busines_criticality", TypeString, "", "1 - most critical", "1 - most critical",
				"2 - somewhat critical", "2 - somewhat critical", "3 - less critical", "3 - less critical",
				"4 - not critical", "4 - not critical")})},
		{Name: "cmdb_rel_type", Label: "CI Relationship Type", DisplayField: "name", Fields: join(
			fs("name", "parent_descriptor", "child_descriptor", "sys_name"))},
		{Name: "cmdb_rel_ci", Label: "CI Relationship", DisplayField: "type", Fields: join(
			[]Field{
				{Name: "parent", Type: TypeReference, Reference: "cmdb_ci", CascadeDelete: true},
				{Name: "child", Type: TypeReference, Reference: "cmdb_ci", CascadeDelete: true},
				ref("type", "cmdb_rel_type"),
				choice("connection_strength", TypeString, "always", "always", "Always", "occasionally", "Occasionally", "infrequently", "Infrequently"),
				intf("percent_outage", ""),
			},
			fs("port"))},
		{Name: "sys_properties", Label: "System Property", DisplayField: "name", Fields: join(
			fs("name", "value", "description", "type", "suffix", "choices", "write_roles", "read_roles"),
			[]Field{boolf("ignore_cache", "false"), boolf("is_private", "false")})},
		{Name: "sys_audit_delete", Label: "Deleted Record", DisplayField: "display_value", Fields: join(
			fs("tablename", "documentkey", "display_value", "payload"))},
		{Name: "sys_db_object", Label: "Table", DisplayField: "label", Fields: join(
			fs("name", "label", "number_ref", "access"),
			[]Field{ref("super_class", "sys_db_object"), boolf("is_extendable", "false")})},
	}
}
