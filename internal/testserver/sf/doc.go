// Package sf is the fake StackFlow: an in-memory http.Handler that serves
// the API of stackflow/openapi.yaml, for snowsync's own tests, the examples
// and, through stackflow/stackflowtest, users' tests.
//
// It imports only the standard library and internal/testserver: it is a
// second, independent reading of the contract, so a wire bug in the
// stackflow client cannot hide behind shared types. Its own tests run every
// exchange through stackflow/contract, so the fake and the OpenAPI document
// cannot drift apart.
//
//	srv, err := sf.New(sf.WithClock(clock), sf.WithToken("tok", "sync-bot", sf.RoleAgent))
//	ts := srv.Start() // or httptest.NewServer(srv), or &testserver.HandlerTransport{Handler: srv}
//	defer func() { ts.Close(); srv.Close() }()
//	// the client's base URL: ts.URL + srv.BasePath() ("/prod/api" by default)
//
// Requests pass through the request log (Log), then the fault injector
// (Faults, ErrorFault), then the fake.
//
// # What it implements
//
//   - The six modules, with ids prefixed per module and a monotonic
//     ULID-like suffix (ids sort in creation order even when the clock stands
//     still or moves back), numbers (SF-INC-1001, ...; none on CIs and
//     relationships), version, created_at/updated_at from the Clock
//     (milliseconds), updated_by (the token's subject), attributes, soft
//     deletes, and the documented normalisation (titles trimmed and
//     truncated to 255 characters, CRLF and CR to LF, "" to null).
//   - Validation that reports every bad field (422 validation_failed with
//     details): types, enums, ranges, lengths, unknown and read-only fields,
//     CI references, cross-field rules; 400 bad_request for malformed JSON,
//     non-object bodies and bad query parameters.
//   - Lists with the filters source, external_id (repeatable, up to 100),
//     updated_since (inclusive), include_deleted, limit (1..1000, default
//     100, out of range is 400) and an opaque keyset cursor bound to the
//     filters: id order, or (updated_at, id) order with updated_since.
//     Inserts between pages never make a page skip or repeat a record.
//   - (source, external_id) uniqueness among live records (409
//     duplicate_external_id), If-Match (409 version_conflict), ETag,
//     Idempotency-Key replay for 24 hours of the fake clock (keyed by token
//     subject, method, path and key; another body is 422
//     idempotency_key_reused), and bulk upsert of up to 500 records with a
//     per-record result.
//   - Bearer tokens with roles (viewer, agent, super_admin) and expiry, a
//     per-token fixed-window rate limit with X-RateLimit-* headers on every
//     answer and 429 with Retry-After, and X-Request-Id everywhere.
//   - The Integration Hub: the ServiceNow configuration with validation of
//     every field, defaults and write-only secrets; Test Connection, which
//     really calls the configured instance (Basic auth or the OAuth password
//     grant at /oauth_token.do, sys_user with sysparm_limit=2,
//     sys_properties for the version, one read per mapped table) through the
//     client set with WithServiceNowClient; sync jobs (queued → running →
//     succeeded/failed) run by the JobRunner set with WithJobRunner.
//   - Webhooks: Subscribe(url, secret) delivers every created, updated and
//     deleted event, signed (X-StackFlow-Signature: sha256=<hex HMAC of the
//     raw body>) and stamped (X-StackFlow-Timestamp, from the Clock),
//     asynchronously but in write order per subscriber, with retries;
//     FlushWebhooks waits for them and Deliveries reports the outcomes.
//   - Test-side inspection (Records, Record, Count) and edits that behave
//     like a person in the UI (Create, Update, Delete, Seed: same
//     validation, own version and updated_at, webhooks).
//
// Close cancels running jobs and webhook deliveries and waits for them, so
// no goroutine outlives the server.
//
// # Where the fake is simpler than StackFlow
//
//   - Data lives in memory, in one process, for one tenant. One mutex
//     serialises every request's work, so there are no concurrency
//     anomalies to observe: in particular 409 idempotency_key_in_use, which
//     StackFlow returns while a first request with the same key is still
//     running, never happens (the second request waits and gets the replay).
//   - A replayed Idempotency-Key answer repeats the status, body and ETag,
//     not other headers; only 2xx answers are stored.
//   - Roles are the three of the contract, global to the token: there are
//     no per-module permissions, groups or tenants. Tokens are static
//     strings registered by the test; there is no token endpoint.
//   - The rate limit is a fixed window per token (requests without one are
//     counted per client IP), 100,000 per minute unless WithRateLimit says
//     otherwise; StackFlow's real limits are not known.
//   - Text is normalised exactly as documented and no further: no HTML
//     sanitising, no Unicode normalisation. ip_address and fqdn are not
//     checked for format. Attribute values compare as JSON, numbers by
//     their literal text (1 and 1.0 differ).
//   - References are checked on write only: deleting a CI leaves incidents
//     and relationships pointing at it, and (parent_id, child_id, type) is not
//     unique among relationships.
//   - Cursors and jobs never expire (StackFlow keeps jobs for 7 days); the
//     sync intervals of the configuration are stored but nothing runs on
//     them. Jobs run one at a time, in process; without a JobRunner they fail
//     at once.
//   - Test Connection infers write access from the ServiceNow user's roles
//     (admin; itil for task tables; itil_admin, sn_cmdb_editor or
//     sn_cmdb_admin for CMDB tables) and reads roles from sys_user.roles or,
//     when that is empty, sys_user_has_role.
//   - Webhook subscriptions are made with Subscribe, not in an admin UI;
//     retries use a short real-time backoff (WithWebhookRetry) rather than
//     minutes, and undelivered events are dropped after the last attempt.
//   - Request bodies are limited to 16 MiB; the Accept header is ignored and
//     answers are never compressed.
package sf
