// Package servicenowtest runs a fake ServiceNow instance for your own
// tests: an in-memory instance that answers the Table API, the Aggregate
// API, the Batch API, /api/now/ui/user/current_user and /oauth_token.do the
// way a real instance does on the wire, including the ways a real instance
// misbehaves (invalid query parts silently dropped, unstable order without
// ORDERBY, short pages under ACLs, rate limits, hibernation, truncated
// bodies). It is the pattern of Google's pstest.
//
// # Connecting
//
// NewServer starts a plain-HTTP server on a loopback port and closes it
// when the test ends. Point your client at Server.URL as the instance URL
// (https://<instance>.service-now.com in production) and authenticate with
// Basic auth as AdminUser/AdminPassword, as a user added with WithUser, or
// with a Bearer token from URL+"/oauth_token.do" for a client added with
// WithOAuthClient. With WithTLS the server speaks HTTPS; use Server.Client,
// which trusts its certificate. For tests inside testing/synctest bubbles,
// use Server.Transport, which serves requests in process with any host.
// Reference links, Link headers and Location headers use the scheme and
// host of your request.
//
// # Time
//
// The server runs on a ManualClock (2026-01-01 00:00:00 UTC) unless given
// WithClock. Every sys_created_on/sys_updated_on, token expiry, rate-limit
// window and javascript:gs.* date function reads it; move it with Advance
// and SetTime.
//
// # Data
//
// Seed and SeedJSON load rows as an import would; Insert, Update and
// Delete change rows as a person in the UI would (system fields, business
// rules, audit rows); Records and Record inspect them; Requests lists what
// your code sent. The fake knows the task family (incident, problem,
// change_request, sc_request), the CMDB class hierarchy, cmdb_rel_ci,
// users, groups, roles, sys_properties, sys_audit_delete and sys_db_object;
// DefineTable and AddFields add your own tables and u_ columns.
//
// # Differences from a real instance
//
// The fake is a second, independent reading of ServiceNow's documented and
// observed behaviour. DIFFERENCES.md in internal/testserver/snow lists
// every known way it differs, for example: no XML, no UI pages, no
// sysparm_view filtering, javascript: query values limited to the common
// gs.* date and user functions (others are refused with 400 rather than
// dropped).
package servicenowtest
