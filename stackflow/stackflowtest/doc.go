// Package stackflowtest runs a fake StackFlow for tests of code that talks
// to the StackFlow REST API (stackflow/openapi.yaml), in the manner of
// cloud.google.com/go/pubsub/pstest.
//
//	srv := stackflowtest.NewServer(t, stackflowtest.WithClock(clock))
//	client, err := stackflow.NewClient(srv.BaseURL(), stackflow.WithToken(srv.Token))
//
// The server keeps every module in memory (incidents, problems, changes,
// service requests, CMDB CIs and relationships) and behaves like StackFlow
// on the wire: ids, numbers, versions, server timestamps from the
// configured clock, the documented normalisation (trimmed and truncated
// titles, LF line endings), soft deletes, keyset cursor paging,
// (source, external_id) uniqueness, bulk upserts, Idempotency-Key replay,
// If-Match, bearer tokens with roles, rate-limit headers and 429s, the
// Integration Hub (configuration with write-only secrets, Test Connection
// against a real ServiceNow URL, sync jobs run by a pluggable JobRunner) and
// signed webhooks.
//
// Tests seed and inspect it directly (Seed, Records, Record), edit records
// the way a person in the StackFlow UI would (Create, Update, Delete: the
// edits get their own version and updated_at and fire webhooks), inject
// failures (InjectError, AddFault), and read the request log (Requests).
//
// # Authentication
//
// Every server accepts DefaultToken (role super_admin) unless
// WithoutDefaultToken is given; WithToken and AddToken add tokens with the
// roles viewer (read), agent (read and write) or super_admin (everything,
// the Integration Hub included). The token's subject is what records show
// in updated_by.
//
// # Time
//
// Timestamps, token expiry, rate-limit windows and idempotency-key expiry
// follow the server's Clock; pass a *ManualClock to control them. Webhook
// retry backoff uses real time (see WithWebhookRetry).
//
// # Differences from StackFlow
//
// The fake is simpler than the real service in the ways listed in the
// documentation of package internal/testserver/sf; the most visible are:
// writes are serialised (so 409 idempotency_key_in_use never happens),
// data lives in memory only, and Test Connection infers write access from
// the ServiceNow user's roles.
package stackflowtest
