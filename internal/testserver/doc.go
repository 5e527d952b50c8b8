// Package testserver holds the pieces both fakes share: an injectable
// clock, a request log, fault injection and a fixed-window rate limiter,
// plus an in-process transport for tests that must not touch sockets
// (testing/synctest bubbles).
//
// The fakes themselves live in subpackages: snow (ServiceNow) and sf
// (StackFlow). None of them imports snowsync's client packages: they speak
// HTTP and JSON on their own, a second, independent reading of the API
// documents, so a wire bug in a client cannot hide behind shared types.
package testserver
