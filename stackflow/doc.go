// Package stackflow is a client for the StackFlow REST API
// (stackflow/openapi.yaml): the six record modules (incidents, problems,
// changes, service requests, CMDB CIs and relationships) as typed services
// and as raw records, the ServiceNow Integration Hub, and webhook
// verification.
//
//	sf, err := stackflow.NewClient("https://acme.stackflow-tech.com/prod/api",
//		stackflow.WithToken(token))
//	// The integration guide's lookup, GET /prod/api/incidents?source=servicenow&external_id=SN_SYS_ID:
//	incs, _, err := sf.Incidents.List(ctx, &stackflow.ListOptions{Source: "servicenow", ExternalIDs: []string{sysID}})
//	inc, _, err := sf.Incidents.Create(ctx, stackflow.IncidentInput{
//		Title: stackflow.Ptr("Disk full on web01"), Source: stackflow.Ptr("servicenow"), ExternalID: stackflow.Ptr(sysID),
//	}, nil)
//	for rec, err := range sf.Records(stackflow.ModuleCIs).All(ctx, nil) { ... }
//
// A Client is safe for concurrent use. Constructors do no I/O.
//
// # Services and records
//
// Each module is a Service (sf.Incidents, sf.Problems, sf.Changes,
// sf.ServiceRequests, sf.CIs, sf.Relationships) with List, All, Get,
// Create, Update (PATCH), Delete (soft) and BulkUpsert. The typed services
// decode into Incident, Problem, ... which embed Common (id, number,
// source, external_id, version, timestamps, attributes); enums are typed
// string constants, and a field StackFlow sends as null is the zero value.
// sf.Records(module) is the same API over Record (a map with accessors such
// as ID, Version, UpdatedAt and String) and Fields (a map body), for code
// that treats every module alike.
//
// Bodies: the typed inputs (IncidentInput, ...) have pointer fields, set
// with Ptr; nil fields are left out, so an update changes only what is set,
// and Clear lists fields to set to null. Through Records, a Fields map is
// sent as it is: a key with a nil value clears the field. StackFlow
// normalises what it stores (trimmed and truncated titles, LF line
// endings, "" as null, timestamps in UTC milliseconds), so keep what it
// returns, not what you sent.
//
// # Authentication
//
// WithToken sends a static bearer token; WithTokenSource takes any
// oauth2.TokenSource, and when the source can Invalidate a token a 401
// forces one refresh and one more attempt. Record calls need the agent role
// to write (viewer to read); the Integration Hub needs super_admin. Tokens
// never appear in errors, logs or String output; redirects to other hosts
// are refused so the token never leaves the StackFlow host.
//
// # Pagination
//
// List returns one page and a *Response whose NextCursor and HasMore lead
// to the next; All walks every page lazily as an iter.Seq2 (nothing is
// fetched before the first iteration, break stops, ranging twice starts
// over, an error is yielded once). StackFlow's cursors are keyset
// positions: records created during a walk never make it skip or repeat
// one. Without UpdatedSince the order is id (creation) order; with it,
// (updated_at, id), and UpdatedSince is inclusive. ListOptions are checked
// before any I/O (ExternalIDs at most 100, Limit 1..1000).
//
// # Errors
//
// Error answers are *Error (status, code, message, request id, field
// Details, sanitized URL, Retry-After) and match the sentinels ErrNotFound,
// ErrConflict (and, by code, ErrVersionConflict and
// ErrDuplicateExternalID), ErrValidation, ErrBadRequest, ErrRateLimited,
// ErrUnauthorized, ErrForbidden and ErrUnavailable (5xx, non-JSON answers,
// truncated bodies, and *TransportError when no answer came) with
// errors.Is. Arguments are checked before any I/O (*InvalidInputError);
// ServiceNowConfig.Validate returns every problem at once
// (*ValidationError). Error bodies are read with a 1 MiB cap.
//
// # Retries and rate limits
//
// Requests go through the shared retry loop (hashicorp/go-retryablehttp,
// see internal/httpx) with a retry class per call: reads, DELETE and PUT
// are retried on 429, 5xx, timeouts, connection errors and truncated
// bodies; creates and bulk upserts carry an Idempotency-Key and are retried
// the same way, always with the same key; PATCH and job starts only on 429
// and dial errors, where nothing reached StackFlow. A 429 waits for its
// Retry-After, else its X-RateLimit-Reset; a 503 for its Retry-After; other
// failures back off exponentially with jitter (X-RateLimit-Reset rides on
// every StackFlow answer and is not a reason to wait); each wait is capped by WithRetry and never past the context's deadline (a
// call that would have to wait longer returns the 429 with
// Error.RetryAfter). A 429 pauses every request of the client until the
// wait is over. WithRateLimiter paces every attempt with a
// golang.org/x/time/rate limiter that several clients may share. Every
// Response carries the parsed X-RateLimit-* headers and X-Request-Id.
//
// # Idempotency
//
// Create sends an Idempotency-Key (a random 128-bit key unless
// CreateOptions gives one) and BulkUpsert one per request; StackFlow keeps
// the first answer to a key for 24 hours and answers repeats with it
// (Response.Replayed), writing nothing. A create is therefore never
// duplicated by a retry, even after a timeout or a connection reset that
// followed the write. When no attempt got an answer the error is a
// *TransportError with OutcomeUnknown and the key: repeating the same body
// with that key gets the first outcome. Bulk upsert is also keyed by
// (source, external_id) and cannot duplicate. Updates carry no key: use
// UpdateOptions.IfVersion (If-Match) to make a repeated or concurrent
// update fail with ErrVersionConflict instead of overwriting.
//
// # Webhooks
//
// StackFlow POSTs record events ({module singular}.created, .updated,
// .deleted) signed with HMAC-SHA256 of the raw body
// (X-StackFlow-Signature: sha256=<hex>) and stamped with
// X-StackFlow-Timestamp. VerifyWebhook and WebhookVerifier check the
// signature in constant time, refuse timestamps more than 5 minutes off
// (ErrStaleWebhook) and oversized bodies, and decode the WebhookEvent;
// WebhookHandler wraps that as an http.Handler answering 401, 400 or 413
// without calling your function. StackFlow signs only the body, so use
// WebhookEvent.DeliveryID and record versions to drop repeats.
//
// # Integration Hub
//
// sf.Integrations.ServiceNow reads and saves StackFlow's own ServiceNow
// integration (Get, Put with write-only secrets and client-side Validate),
// runs Test Connection (Test), starts manual syncs (SyncCMDB,
// SyncIncidents) and follows their jobs (Job, WaitJob).
package stackflow
