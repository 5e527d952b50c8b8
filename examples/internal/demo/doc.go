// Package demo holds what the snowsync examples share and would only
// distract from in their mains: where the two systems are (flags and
// environment variables, or the in-process fakes), realistic demo data for
// the fakes, a check that both sides agree after a sync, and a printer for
// sync reports.
//
// It is internal to the examples: copy what you need. Credentials come from
// environment variables only (SERVICENOW_PASSWORD, SERVICENOW_CLIENT_SECRET,
// STACKFLOW_TOKEN), never from flags, so they stay out of shell history and
// process listings.
package demo
