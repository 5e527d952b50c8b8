// Package syncer keeps ServiceNow and StackFlow in sync: incremental,
// bidirectional, and correct under the failures real peers have.
package syncer
