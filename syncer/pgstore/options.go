package pgstore

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultSchema is the PostgreSQL schema the store's tables live in unless
// WithSchema names another.
const DefaultSchema = "snowsync"

// Option configures Open and OpenPool. Options validate their arguments:
// a bad one makes Open fail with ErrInvalid.
type Option func(*options) error

type options struct {
	schema string
}

func defaultOptions() options { return options{schema: DefaultSchema} }

// schemaName is what WithSchema takes: a lower-case SQL identifier, so it
// needs no quoting in an operator's psql session either.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithSchema puts the store's tables in the named PostgreSQL schema
// (default DefaultSchema), created on first Open if the role may. Several
// tenants, or several independent snowsync deployments, share one
// database by giving each its own schema: leases, tokens and state are
// per schema. The name is 1 to 63 characters of a-z, 0-9 and _, not
// starting with a digit, and not pg_... or information_schema, which
// PostgreSQL reserves.
func WithSchema(name string) Option {
	return func(o *options) error {
		if !schemaName.MatchString(name) {
			return fmt.Errorf("%w: WithSchema(%q): use 1 to 63 characters of a-z, 0-9 and _, not starting with a digit", ErrInvalid, name)
		}
		if strings.HasPrefix(name, "pg_") || name == "information_schema" {
			return fmt.Errorf("%w: WithSchema(%q): PostgreSQL reserves that name", ErrInvalid, name)
		}
		o.schema = name
		return nil
	}
}
