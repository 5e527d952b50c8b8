package mapping

import (
	"fmt"
	"strings"
)

// FixFieldMapping is the fix named by errors that a field mapping can cure.
const FixFieldMapping = "add it to the value map in Integration Hub → ServiceNow → Field Mapping"

// ConfigProblem is one problem New found in a Config.
type ConfigProblem struct {
	Table   string // ServiceNow table ("" for configuration-wide problems)
	Field   string // the field or key concerned ("" when the whole table is)
	Message string // what is wrong
	Fix     string // what to change
}

// String formats the problem on one line.
func (p ConfigProblem) String() string {
	var b strings.Builder
	if p.Table != "" {
		b.WriteString(p.Table)
		if p.Field != "" {
			b.WriteString(".")
			b.WriteString(p.Field)
		}
		b.WriteString(": ")
	} else if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(p.Fix)
		b.WriteString(")")
	}
	return b.String()
}

// ConfigError lists every problem found in a Config (or in field mappings
// being loaded), not only the first.
type ConfigError struct {
	Problems []ConfigProblem
}

// Error lists the problems, one per line.
func (e *ConfigError) Error() string {
	switch len(e.Problems) {
	case 0:
		return "mapping: invalid configuration"
	case 1:
		return "mapping: invalid configuration: " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mapping: invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects ConfigProblems.
type problems []ConfigProblem

func (ps *problems) add(table, field, fix, format string, args ...any) {
	*ps = append(*ps, ConfigProblem{Table: table, Field: field, Message: fmt.Sprintf(format, args...), Fix: fix})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ConfigError{Problems: ps}
}

// ValueError says a value met at run time cannot be mapped: a choice
// missing from a value map, a malformed number or time, a value too long
// for StackFlow. It names the table, key, field, side and value, and the
// fix. It is never replaced by a silent blank.
type ValueError struct {
	Table  string
	Key    string
	Field  string // the field on Side
	Side   Side   // the side the value comes from
	Value  string
	Reason string
	Fix    string
}

// Error names the table, key, side, field and value, why it cannot be
// mapped, and the fix.
func (e *ValueError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mapping: %s.%s: %s", e.Table, e.Key, e.Side)
	if e.Field != "" {
		fmt.Fprintf(&b, " field %s", e.Field)
	}
	fmt.Fprintf(&b, " value %q %s", v, e.Reason)
	if e.Fix != "" {
		fmt.Fprintf(&b, "; fix: %s", e.Fix)
	}
	return b.String()
}

// ReferenceError wraps the error a Resolver returned for one key, keeping
// it for errors.Is (ErrUnresolved) and errors.As.
type ReferenceError struct {
	Table string
	Key   string
	Value string // the reference being resolved
	Err   error
}

// Error names the key and the reference, with the Resolver's error.
func (e *ReferenceError) Error() string {
	return fmt.Sprintf("mapping: %s.%s: resolving %q: %v", e.Table, e.Key, e.Value, e.Err)
}

// Unwrap returns the Resolver's error.
func (e *ReferenceError) Unwrap() error { return e.Err }
