// Package snow is a fake ServiceNow instance for tests: an http.Handler
// over in-memory tables that answers the Table API, the Aggregate API, the
// Batch API, /api/now/ui/user/current_user and /oauth_token.do the way a
// real instance does on the wire, including the ways a real instance
// misbehaves.
//
// It imports none of snowsync's client packages: it is a second,
// independent reading of servicenow-api.md and of real recorded responses,
// so a wire bug in a client cannot hide behind shared types. The public face
// for users' tests is servicenow/servicenowtest.
//
// # Use
//
// New builds a server (no I/O); it is an http.Handler, and Transport serves
// it in process for testing/synctest bubbles. NewTest (or Start) serves it
// with httptest. Requests pass through the request log (Log, Requests),
// optional gzip and fault injection (Faults) before the instance itself.
// The instance has an admin user (admin/admin, sys_id AdminSysID); add
// users with WithUser or AddUser and OAuth applications with
// WithOAuthClient.
//
// Rows are loaded with Seed, SeedStrings or SeedJSON (as an import would:
// system columns kept when given) and changed with Insert, Update, Delete,
// BulkUpdate and BulkDelete (as a person in the UI would: system columns,
// business rules, data policies, audit rows). AsUser, At (late commits) and
// WithoutSysFields (autoSysFields(false)) shape those writes. Records and
// Record inspect the tables. Every timestamp, token expiry, rate-limit
// window and javascript:gs.* date comes from the Clock (a
// testserver.ManualClock by default).
//
// # Behaviour worth knowing
//
//   - Lists without ORDERBY come back shuffled per request (WithOrdering
//     switches to insertion order). Invalid query parts are dropped by
//     default (WithInvalidQueryMode: no rows, or 403).
//   - Read ACLs hide rows after sysparm_limit is applied, so pages come back
//     short or empty while X-Total-Count still counts the hidden rows.
//   - Resolving or closing an incident without close_code and close_notes is
//     refused with 403 (WithDataPolicy). Priority is computed from impact and
//     urgency on incident and problem.
//   - Roles are sys_user_role and sys_user_has_role rows, mirrored into the
//     sys_user.roles column. sys_properties and sys_audit_delete are readable
//     by admin only.
//   - The refresh_token grant answers with an access token only; the refresh
//     token stays valid.
//   - sysparm_no_count drops X-Total-Count and rel="last".
//   - What the fake cannot evaluate in a query (RLQUERY, most javascript:
//     expressions, ...) is refused with 400 rather than silently dropped.
//
// DIFFERENCES.md in this directory lists every known way the fake differs
// from a real instance, and the choices made where the real behaviour is
// unconfirmed.
package snow
