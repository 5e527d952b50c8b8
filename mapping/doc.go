// Package mapping translates between ServiceNow records and StackFlow
// records: which table feeds which module, which field maps to which, how
// values convert, how each side's values are normalised for comparison,
// and how a change on either side merges with the other. It is pure: no
// I/O, no context, no goroutines, no mutable globals. Given records it
// returns records (or errors).
//
//	m, err := mapping.New(mapping.DefaultConfig())   // every problem at once, as *ConfigError
//	for _, t := range m.Tables() { ... }              // dependency order: cmdb_ci before cmdb_rel_ci
//	inc, _ := m.Table("incident")
//	sn, err := inc.ProjectServiceNow(rec)             // read with inc.ServiceNowFields()
//	sf, err := inc.ProjectStackFlow(sfRecord)
//	res, err := inc.Merge(mapping.MergeInput{BaseSN: snapSN, CurSN: sn, BaseSF: snapSF, CurSF: sf,
//		Origin: pair.Origin, UpdatedSN: snUpdated, UpdatedSF: sfUpdated, Resolver: resolver})
//	body, err := inc.StackFlowBody(res.ToStackFlow)          // PATCH StackFlow
//	fields, err := inc.ServiceNowBody(res.ToServiceNow, sn, resolver) // PATCH ServiceNow
//
// # Tables
//
// The guide's table map, with the directions each table allows:
//
//	ServiceNow table   StackFlow module       default         allowed
//	incident           incidents              bidirectional   all four
//	problem            problems               bidirectional   all four
//	change_request     changes                bidirectional   all four
//	sc_request         service-requests       to_stackflow    bidirectional, to_stackflow, read_only
//	cmdb_ci            cmdb/cis               read_only       to_stackflow, read_only
//	cmdb_rel_ci        cmdb/relationships     to_stackflow    to_stackflow, read_only
//
// A CMDB class table (cmdb_ci_linux_server) may replace cmdb_ci with the
// same mapping (not both: cmdb_ci already lists every class). A custom
// table (u_*) maps to any module through field mappings only, typically
// into attributes.<key>; when it feeds StackFlow it must map the fields
// StackFlow needs on create (title; name for CIs).
//
// # Keys
//
// A key is the unit of comparison, merge and conflict reporting: one
// StackFlow field (its name is the key's name) and the ServiceNow field(s)
// it maps to. Built-in keys (→ both ways, ← to StackFlow only; ownership
// in brackets):
//
//	incident        title↔short_description [latest], description [latest],
//	                state↔state 1 new, 2 in_progress, 3 on_hold, 6 resolved, 7 closed, 8 canceled [origin],
//	                priority←priority 1..5 [servicenow], impact, urgency 1..3 [latest],
//	                category, subcategory [latest], assignment_group↔assignment_group.name,
//	                assignee↔assigned_to.email, reporter↔caller_id.email [latest],
//	                ci_id↔cmdb_ci [servicenow], resolution_code↔close_code,
//	                resolution_notes↔close_notes [latest], resolved_at←resolved_at,
//	                closed_at←closed_at [servicenow: ServiceNow stamps them itself]
//	problem         title, description, state 101 new, 102 assess, 103 root_cause_analysis,
//	                104 fix_in_progress, 106 resolved, 107 closed [origin], priority←, impact,
//	                urgency, assignment_group, assignee, known_error, root_cause↔cause_notes,
//	                workaround, ci_id
//	change_request  title, description, type (normal, standard, emergency),
//	                state -5 new, -4 assess, -3 authorize, -2 scheduled, -1 implement, 0 review,
//	                3 closed, 4 canceled [origin], risk 1,2 high, 3 moderate, 4 low (high→2),
//	                impact, priority← 1..4, assignment_group, assignee, planned_start↔start_date,
//	                planned_end↔end_date, implementation_plan, backout_plan, close_code, ci_id
//	sc_request      title, description, state↔request_state (draft, submitted, requested→open;
//	                in_process→work_in_progress; delivered, closed_complete→closed_complete;
//	                closed_incomplete, closed_rejected→closed_incomplete; cancelled,
//	                closed_cancelled→closed_skipped; back: open→submitted,
//	                closed_skipped→closed_cancelled), approval ("not requested"→not_yet_requested,
//	                requested, approved, rejected), requested_for↔requested_for.email,
//	                priority←, due_date  [all servicenow: a one-way table]
//	cmdb_ci         name, class←sys_class_name, operational_status 1..6 (operational,
//	                non_operational, repair_in_progress, dr_standby, ready, retired),
//	                install_status 1..8, 100 (installed, on_order, in_maintenance, pending_install,
//	                pending_repair, in_stock, retired, stolen, absent), ip_address, fqdn,
//	                serial_number, manufacturer←manufacturer.name, model←model_id.name,
//	                location←location.name, owned_by←owned_by.email, environment (lower case)
//	cmdb_rel_ci     parent_id←parent, child_id←child (CI ids through the Resolver),
//	                type←type as its name ("Depends on::Used by"): the five well-known
//	                cmdb_rel_type sys_ids are known, others come from the type.name dot-walk
//
// Every writable StackFlow field of the contract is mapped. The StackFlow
// fields source, external_id, external_number, id, number, version,
// created_at, updated_at, updated_by, deleted_at and attributes belong to
// the sync and are never mapped as values (attributes.<key> can be).
// ServiceNow fields with no StackFlow counterpart are not read: among
// them incident severity, hold_reason, contact_type, business_service,
// problem_id; problem fix_notes, resolution_code; change urgency, test_plan,
// on_hold; sc_request stage, price, special_instructions; CI asset_tag,
// mac_address, host_name, os, support_group, used_for; and the journal
// fields comments and work_notes, which are append-only and must be synced
// entry by entry (sys_journal_field), never as values.
//
// Choices with no StackFlow counterpart are not guessed: CI
// operational_status 7 (Pipeline), 8 (Catalog) and install_status 0
// (Implementing), an incident state 5 or a problem in the old state model
// give a *ValueError naming the table, key, value and the fix (add it to
// the value map in Integration Hub → ServiceNow → Field Mapping). A field
// mapping for the key's StackFlow field with a value_map replaces the
// built-in map; New checks that it still covers the built-in choices.
//
// Priority is computed by ServiceNow from impact and urgency: it flows to
// StackFlow only, and nothing ever writes it to ServiceNow (New refuses a
// mapping that would). Resolving or closing an incident needs close_code
// and close_notes: Merge and ServiceNowBody supply Config.CloseCode
// ("Solution provided") and Config.CloseNotes when neither side has them.
//
// # People, groups and references
//
// People are matched by Config.PeopleBy (email by default): ServiceNow is
// read through the dot-walk <reference>.email, StackFlow holds the email,
// and writes to ServiceNow look the sys_id up with
// Resolver.LookupServiceNow("sys_user", "email", value). Groups go the
// same way by name. A reference whose dot-walked value is empty (a user
// without an email) on a key that flows back to ServiceNow is a
// *ValueError rather than "": mapping it to empty would clear the
// StackFlow field, and the clear would flow back and drop the reference.
// CI references (ci_id, parent_id, child_id) map sys_ids to StackFlow CI
// ids through Resolver.StackFlowID("cmdb_ci", sysID) and
// Resolver.ServiceNowID("cmdb/cis", id); an unpaired CI is an error
// wrapping ErrUnresolved, so the syncer can defer the record.
//
// # Canonical values
//
// A Canon holds each key's value in its own side's terms, normalised so
// that equal content compares equal and a value read back after a write
// equals what was written (the property canon(Y, write(Y, x)) == x, which
// the tests check for every key and every value of every value map):
//
//   - all text: valid UTF-8, CRLF and lone CR as LF, Unicode NFC
//     (golang.org/x/text/unicode/norm; the StackFlow side does not
//     normalise, so both sides are normalised here);
//   - titles and single-line fields (short_description, category, names,
//     people, groups, choices): also trimmed, because StackFlow trims them
//     and an untrimmed ServiceNow value would echo forever; titles are
//     also cut to 255 code points as StackFlow does (declared lossy); an
//     empty ServiceNow title field is NoTitle on StackFlow (which requires
//     a title), and NoTitle is empty again on its way back;
//   - long text (description, notes, plans): not trimmed, as StackFlow;
//   - numbers in canonical decimal ("02" and "2.0" are "2"), booleans
//     "true"/"false" ("" is false on both sides);
//   - ServiceNow date-times in its layout "2006-01-02 15:04:05" (UTC),
//     StackFlow times RFC 3339 UTC with milliseconds; a StackFlow time
//     reaches ServiceNow in whole seconds (declared lossy);
//   - empty references, null and absent values are "".
//
// Hash encodes keys in sorted order with length prefixes, so equal maps
// give equal hashes and different maps different encodings.
//
// # Merge
//
// Merge decides per key, in key order, with changed(X) meaning
// CurX[k] != BaseX[k] (no base: X changed everything) and two values being
// the same when either converts to the other in the key's flows (so a
// lossy round trip never writes):
//
//   - Ownership none, or a direction the table does not allow: the key is
//     never synced (left out of projections, reads and writes).
//   - A key that only flows A→B: B is forced to A's converted value
//     whenever they differ. If B had been edited (changed(B), and not just
//     empty on a first sync) the overwritten B value is a Conflict with
//     rule "one-way", winner A.
//   - A bidirectional key that neither side changed: nothing.
//   - Same values: converged, nothing written.
//   - Only one side changed: its converted value flows to the other.
//   - Both changed to values that differ, ownership decides:
//     servicenow / stackflow: that side wins (rule "owner");
//     origin: MergeInput.Origin wins, "the side that holds the ticket"
//     (rule "origin"; an unknown origin falls back to the table's default
//     side); latest: the side with the later UpdatedX wins (rule
//     "latest"), unless the two times are within MergeInput.Skew (default
//     2 minutes) or one is unknown: then the table's DefaultSide,
//     ServiceNow unless configured (rule "latest within skew");
//     fill_if_empty: only an empty side is filled; two non-empty values
//     are both kept, nothing is written, and a Conflict with rule
//     "fill_if_empty kept both" and no winner is reported.
//     Every loser is a Conflict holding both values.
//
// Defaults: state follows the side that holds the ticket (origin); title,
// description, impact, urgency, people, groups and everything else on
// bidirectional tables latest; priority and CI references servicenow;
// every key of a one-way table servicenow (stackflow on a to_servicenow
// table). TableConfig.Ownership overrides per key.
//
// # Settling after a write
//
// Snapshot what a side stored (the write's response), not what was sent.
// ServiceNow derives fields from a write (priority from impact and
// urgency, resolved_at from state) and may shorten values; to carry those
// back in the same cycle, merge once more after writing side Y with the
// expected values as the base:
//
//	exp := curSN.With(res.ToServiceNow)              // what we meant ServiceNow to hold
//	got, _ := t.ProjectServiceNow(patchResponse)     // what it holds
//	again, _ := t.Merge(MergeInput{BaseSN: exp, CurSN: got, BaseSF: sfNow, CurSF: sfNow, ...})
//	// again.ToStackFlow carries priority & co. to StackFlow; snapshots: got and sfNow after that write.
//
// After a create, the expected values are ConvertToServiceNow(sf) (or
// ConvertToStackFlow(sn)).
//
// # Custom mappings
//
// Declarative field mappings are the Integration Hub's field_mappings
// (LoadFieldMappings reads them from JSON or YAML): table,
// servicenow_field (dot-walks allowed), stackflow_field (a module field or
// attributes.<key>), direction, and optionally value_map,
// reverse_value_map, transform (lower, upper, trim, date, datetime, int,
// bool) and ownership. Go code implements FieldMapper (optionally
// DirectionMapper and OwnershipMapper) for keys that need logic or span
// several fields. Either replaces a built-in key of the same StackFlow
// field or name.
//
// # Errors
//
// New returns a *ConfigError listing every ConfigProblem (table, field,
// message, fix): unknown tables, modules, StackFlow fields, transforms,
// directions or ownership; a field mapped twice; a direction the table
// does not allow; a transform that does not fit the field; a value map
// that does not cover a built-in choice list or that cannot be reversed.
// At run time, values that cannot be mapped are *ValueError, and Resolver
// failures *ReferenceError (errors.Is(err, ErrUnresolved) for an unpaired
// reference). Nothing is ever silently blanked.
package mapping
