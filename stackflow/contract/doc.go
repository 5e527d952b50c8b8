// Package contract checks HTTP traffic against StackFlow's OpenAPI document,
// stackflow/openapi.yaml, the single source of truth for the StackFlow API.
//
// It is test support: the stackflow client's tests and the fake StackFlow's
// tests route their requests through a [Transport] (client side) or a
// [Contract.Middleware] (server side), and every request and response that
// does not match the document is recorded as a [Violation]. A client bug
// (a wrong query parameter, a misspelt field) and a fake bug (a missing
// header, a field of the wrong type) both fail the test that caused them.
//
// The document is read from the source tree at run time ([Load] finds
// ../openapi.yaml next to this package's source), so there is exactly one
// copy of it; [LoadFile] and [LoadData] take it from elsewhere.
//
// # What is checked
//
// Requests: the route (path and method), path, query and header parameters,
// the bearer token's presence, and the JSON body against the operation's
// schema (unknown fields included, as the API rejects them). Responses: the
// status must be documented for the operation, every required header must
// be present and well formed (X-Request-Id, the rate-limit headers, ETag,
// Retry-After, ...) and the body must match the schema, which is closed:
// an undocumented field is a violation.
//
// Requests that are meant to be invalid (a test of the server's 400 or 422
// answers) are marked with [ExpectInvalidRequest]; their request violations
// are recorded as expected while their responses are still checked.
//
// Schema validation follows JSON Schema 2020-12 (OpenAPI 3.1) as implemented
// by github.com/getkin/kin-openapi. That module is only imported here and in
// tests, never by the stackflow client or the fake's own code.
package contract
