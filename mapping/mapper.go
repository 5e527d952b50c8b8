package mapping

// FieldSet holds field values of one side by field name: raw ServiceNow
// values (strings, references as sys_ids, dot-walks under their dotted
// name) or StackFlow values rendered as strings (numbers in decimal,
// booleans "true"/"false", times RFC 3339 UTC with milliseconds, absent or
// null as "").
type FieldSet map[string]string

// FieldMapper is a custom mapping written in Go for one logical key that
// may span several fields on each side. Register it in Config.Mappers
// under its table. A mapper whose Key is the name of a built-in key
// replaces that key.
//
// ToStackFlow gets the values of ServiceNowFields (text normalised: CRLF
// to LF, Unicode NFC) and returns values for StackFlowFields;
// ToServiceNow does the reverse. Both must be pure and deterministic, and
// should round-trip: ToServiceNow(ToStackFlow(x)) == x for the values the
// mapper owns, or the key echoes. Missing output fields mean "".
type FieldMapper interface {
	Key() string
	ServiceNowFields() []string
	StackFlowFields() []string
	ToStackFlow(sn FieldSet) (FieldSet, error)
	ToServiceNow(sf FieldSet) (FieldSet, error)
}

// DirectionMapper is implemented by FieldMappers whose key flows only one
// way (or not at all); the default is the table's direction.
type DirectionMapper interface {
	Direction() Direction
}

// OwnershipMapper is implemented by FieldMappers with their own conflict
// rule; the default is OwnLatest.
type OwnershipMapper interface {
	Ownership() Ownership
}
