// Package httpx is the HTTP plumbing the servicenow and stackflow clients
// share, written once: the retry policy on top of hashicorp/go-retryablehttp
// (which requests may be replayed, how long to wait, when to give up), the
// transports under it (host-wide pause after a 429, rate limiter, basic and
// bearer auth with one forced refresh on 401), Retry-After and
// X-RateLimit-Reset parsing, RFC 8288 Link parsing, capped body reads, and
// redaction of secrets from URLs, headers and error text.
//
// The transport stack, outermost first:
//
//	retry (retryablehttp) → pause gate → auth → rate limiter → base transport
//
// The retry loop sits on top so each attempt passes through everything
// below it: every attempt waits for the host's pause to end, carries a
// current token, and spends one limiter token. Auth sits above the limiter
// (not below, as style.md item 23 draws it) so that the one re-send the auth
// layer makes after a forced token refresh also spends a limiter token.
package httpx
