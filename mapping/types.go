package mapping

import (
	"errors"
	"fmt"
	"time"
)

// Side is one of the two systems a pair of records lives on.
type Side int

// The two sides. The zero Side is "no side" (for example the winner of a
// fill_if_empty conflict that kept both values).
const (
	ServiceNow Side = iota + 1
	StackFlow
)

// Other returns the other side (the zero Side for the zero Side).
func (s Side) Other() Side {
	switch s {
	case ServiceNow:
		return StackFlow
	case StackFlow:
		return ServiceNow
	}
	return 0
}

// String returns "servicenow", "stackflow" or "none".
func (s Side) String() string {
	switch s {
	case ServiceNow:
		return "servicenow"
	case StackFlow:
		return "stackflow"
	}
	return "none"
}

// Direction says which way values of a table or of one key flow.
type Direction string

// Directions. ReadOnly behaves like ToStackFlow for the mapping (the
// StackFlow copies are never written back to ServiceNow); StackFlow also
// keeps its users from editing them.
const (
	Bidirectional Direction = "bidirectional"
	ToStackFlow   Direction = "to_stackflow"
	ToServiceNow  Direction = "to_servicenow"
	ReadOnly      Direction = "read_only"
)

// Valid reports whether d is one of the four directions.
func (d Direction) Valid() bool {
	switch d {
	case Bidirectional, ToStackFlow, ToServiceNow, ReadOnly:
		return true
	}
	return false
}

// Flows reports whether values flow from side from to the other side.
func (d Direction) Flows(from Side) bool {
	switch from {
	case ServiceNow:
		return d == Bidirectional || d == ToStackFlow || d == ReadOnly
	case StackFlow:
		return d == Bidirectional || d == ToServiceNow
	}
	return false
}

// Ownership says which side wins when both sides changed a key to
// different values since the last sync.
type Ownership string

// Ownership rules (see the package documentation for the full merge rules).
const (
	OwnServiceNow  Ownership = "servicenow"    // ServiceNow's value wins
	OwnStackFlow   Ownership = "stackflow"     // StackFlow's value wins
	OwnLatest      Ownership = "latest"        // the later edit wins; within the skew, the table's default side
	OwnFillIfEmpty Ownership = "fill_if_empty" // only an empty side is filled; two values are both kept
	OwnNone        Ownership = "none"          // the key is never synced
	OwnOrigin      Ownership = "origin"        // the side the pair was first created on wins
)

// Valid reports whether o is one of the ownership rules.
func (o Ownership) Valid() bool {
	switch o {
	case OwnServiceNow, OwnStackFlow, OwnLatest, OwnFillIfEmpty, OwnNone, OwnOrigin:
		return true
	}
	return false
}

// ErrUnresolved is returned (wrapped) when a reference cannot be resolved
// yet: the referenced record is not paired. The syncer defers the record
// and retries it after the referenced one has synced.
var ErrUnresolved = errors.New("mapping: reference not resolved yet")

// Resolver turns references into ids of the other side. The syncer
// implements it from its pair store and cached lookups. Mapping calls it
// only for reference keys (CIs, relationship ends and types, people and
// groups), never for anything else.
type Resolver interface {
	// StackFlowID returns the StackFlow id paired with the ServiceNow
	// record table/sysID, or an error wrapping ErrUnresolved when it is
	// not paired yet. CI references always use the table "cmdb_ci",
	// whatever the CI's class.
	StackFlowID(table, sysID string) (string, error)
	// ServiceNowID returns the sys_id paired with the StackFlow record
	// module/sfID ("cmdb/cis" for CIs), or an error wrapping ErrUnresolved.
	ServiceNowID(module, sfID string) (string, error)
	// LookupServiceNow returns the sys_id of the one record of table whose
	// field equals value (people by email, groups by name, relationship
	// types by name). ("", nil) means no such record: the reference is
	// written empty. Return an error to stop the write instead.
	LookupServiceNow(table, field, value string) (string, error)
}

// KeyInfo describes one logical key of a table: the unit of comparison,
// merge and conflict reporting.
type KeyInfo struct {
	// Name is the key, which is the StackFlow field ("state",
	// "attributes.customer_tier") or a FieldMapper's Key.
	Name string
	// ServiceNowFields are the fields read from ServiceNow for this key
	// (dot-walks such as "assigned_to.email" included).
	ServiceNowFields []string
	// ServiceNowWrite is the field written on ServiceNow ("" when the key
	// never flows to ServiceNow or is written by a FieldMapper).
	ServiceNowWrite string
	// StackFlowFields are the StackFlow fields of this key.
	StackFlowFields []string
	// Direction is the effective direction: the key's own, restricted by
	// the table's.
	Direction Direction
	// Ownership decides conflicts on bidirectional keys.
	Ownership Ownership
	// Lossy, when not empty, says how a round trip through the other side
	// can change a value (e.g. "StackFlow keeps milliseconds, ServiceNow
	// whole seconds"). Merge treats values that convert to each other in
	// either direction as converged, so the loss never causes a write.
	Lossy string
}

// Conflict is a value that lost a merge, for the conflict log. Both
// values are in their own side's terms.
type Conflict struct {
	Key        string
	ServiceNow string // ServiceNow's value (its own terms)
	StackFlow  string // StackFlow's value (its own terms)
	Winner     Side   // the side whose value was kept; 0 when both were kept
	Rule       string // one of the Rule constants
}

// String describes the conflict in one line.
func (c Conflict) String() string {
	return fmt.Sprintf("%s: servicenow=%q stackflow=%q winner=%s rule=%q", c.Key, c.ServiceNow, c.StackFlow, c.Winner, c.Rule)
}

// Conflict rules, as reported in Conflict.Rule.
const (
	RuleOneWay       = "one-way"                 // the key only flows one way: the other side's edit was reverted
	RuleOwner        = "owner"                   // ownership servicenow or stackflow
	RuleOrigin       = "origin"                  // ownership origin: the side the pair was created on won
	RuleLatest       = "latest"                  // the later edit won
	RuleLatestSkew   = "latest within skew"      // edits too close to order: the table's default side won
	RuleFillKeptBoth = "fill_if_empty kept both" // fill_if_empty with two values: nothing written
)

const (
	defaultMergeSkew  = 2 * time.Minute // MergeInput.Skew when zero
	maxStackFlowShort = 255             // ShortText and Name limit (code points)
	maxStackFlowText  = 65536           // LongText limit (code points)
	maxStackFlowTitle = 255             // titles are truncated to this
	correlationName   = "StackFlow"     // correlation_display on ServiceNow records we create
	sourceServiceNow  = "servicenow"    // StackFlow source of imported records
)

// MergeInput is everything Merge needs for one pair.
type MergeInput struct {
	// BaseSN and BaseSF are the stored snapshots of each side (nil on the
	// first sync of a pair, when there is no base); CurSN and CurSF are
	// the current projections.
	BaseSN, CurSN, BaseSF, CurSF Canon
	// Origin is the side the pair was first created on (ownership origin).
	Origin Side
	// UpdatedSN and UpdatedSF are the last-update times of each side's
	// current record (ownership latest).
	UpdatedSN, UpdatedSF time.Time
	// Skew: edits closer than this are concurrent and the table's default
	// side wins (default 2 minutes).
	Skew time.Duration
	// Resolver converts references; needed when a reference key moves.
	Resolver Resolver
}

// MergeResult is what Merge decided for one pair.
type MergeResult struct {
	ToStackFlow  Canon      // StackFlow-side values to write (only keys whose value must change)
	ToServiceNow Canon      // ServiceNow-side values to write
	Conflicts    []Conflict // losing values, in key order
}
