// Package servicenow is a client for the ServiceNow REST Table API: typed
// records for incident, problem, change_request, sc_request, cmdb_ci and
// cmdb_rel_ci, raw records for any table, encoded queries built and
// validated, paging as iterators, and Test Connection.
//
//	c, err := servicenow.NewClient("https://acme.service-now.com",
//		servicenow.WithBasicAuth(user, pass),
//		servicenow.WithRateLimiter(rate.NewLimiter(20, 5)))
//	inc, _, err := c.Incidents().Get(ctx, sysID, nil)
//	for rec, err := range c.Table("u_custom").All(ctx, &servicenow.ListOptions{
//		Query: servicenow.NewQuery().Equals("active", "true").String(),
//	}) { ... }
//
// A Client is safe for concurrent use. Constructors do no I/O.
//
// # Tables and records
//
// Table[T] is the Table API of one table: List (one page and a *Response),
// All (every page, lazily, as an iter.Seq2), Keyset (a walk over
// (sys_updated_on, sys_id) without offsets), Get, Create, Update (PATCH),
// Replace (PUT, which on ServiceNow also changes only the fields sent),
// Delete and Count (the Aggregate API). c.Table(name) returns raw Records,
// where every field keeps the value, display value and link the API sent;
// c.Incidents() and its siblings return typed records whose fields use the
// quirk types Time, Date, Bool, Int and Reference. NewTable[T] gives the
// same API for your own record types.
//
// Every scalar the Table API sends is a string, date-times are
// "2006-01-02 15:04:05" in UTC, and references are {"link","value"} objects
// (or "" when empty, or a bare sys_id with ExcludeReferenceLink). Display
// values come in three shapes (sysparm_display_value false, true, all);
// Record and the typed records read all of them. Typed tables always keep
// raw values in their fields: asking them for display values fetches both
// and puts the display values in SysFields.DisplayValues.
//
// # Encoded queries
//
// NewQuery builds encoded queries (date-time literals always in UTC) and
// ParseQuery validates the ones users write in configuration. ServiceNow
// has no escape for "^" or a line break in a value, so the builder refuses
// such values instead of sending a broader query than intended.
//
// # Pagination
//
// All follows the Link header (or X-Total-Count) and keeps going through
// pages that ACLs shortened or emptied: ServiceNow applies sysparm_limit
// before ACLs, so a short page is not the end. ListOptions.OnPage sees each
// page's Response, whose Hidden field counts the rows ACLs hid. Without an
// ORDERBY, All adds ORDERBYsys_id so offsets are stable. Keyset is the
// read path for incremental sync: it walks (sys_updated_on, sys_id) with an
// optional fixed upper bound, checks the order of every page, and reports
// pages that ACLs emptied as a RowsHiddenError rather than ending early.
//
// # Authentication
//
// WithBasicAuth sends the integration user's credentials. WithOAuth runs
// the OAuth 2 flows of /oauth_token.do: the password grant, then the
// refresh grant, starting from a stored refresh token when given one; a
// TokenStore persists rotated tokens; one goroutine refreshes at a time; a
// 401 forces one refresh and one more attempt. WithTokenSource takes any
// oauth2.TokenSource. Secrets never appear in errors, logs or String output.
//
// # Errors
//
// Failed calls return an *Error (status, method, sanitized URL, ServiceNow's
// message and detail, Retry-After, transaction id) that matches the
// sentinels ErrNotFound, ErrUnauthorized, ErrForbidden (its message names the
// table and the fix: the itil role or table ACLs), ErrRateLimited,
// ErrInvalidTable and ErrInstanceUnavailable (an HTML page such as a
// hibernating developer instance, a truncated body, a 503) with errors.Is.
// OAuth failures are *OAuthError, whose message says what to check in the
// OAuth application registry. Arguments are checked before any I/O
// (*InvalidInputError). Error bodies are read with a 1 MiB cap.
//
// # Retries and rate limits
//
// Requests go through hashicorp/go-retryablehttp with a policy fit for
// ServiceNow: reads, PUT and DELETE are retried on connection errors, 429,
// 500, 502, 503 and 504, and on truncated or garbled bodies; POST and PATCH
// only on 429 and on dial errors where nothing was sent (the Table API has
// no idempotency keys, so a replayed create could write twice). A 429 waits
// for its Retry-After, else its X-RateLimit-Reset; a 503 for its
// Retry-After; other failures back off exponentially with jitter; each wait
// is capped (WithRetry) and never runs past the context's
// deadline: a call that would have to wait longer returns the 429 with
// Error.RetryAfter set. A 429 also pauses every other request of the same
// client until the wait is over. WithRateLimiter paces every attempt
// (retries and token requests included) with a golang.org/x/time/rate
// limiter, which several clients may share.
package servicenow
