package boltstore

import (
	"fmt"
	"time"
)

// DefaultOpenTimeout is how long Open waits for the file's exclusive lock
// before it gives up with ErrLocked.
const DefaultOpenTimeout = time.Second

// Option configures Open. Options validate their arguments: a bad one makes
// Open fail with ErrInvalid.
type Option func(*options) error

type options struct {
	openTimeout time.Duration
	now         func() time.Time
	noSync      bool
}

func defaultOptions() options {
	return options{openTimeout: DefaultOpenTimeout, now: time.Now}
}

// WithOpenTimeout sets how long Open waits for the exclusive file lock held
// by another process before it fails with ErrLocked (default
// DefaultOpenTimeout). It must be positive: waiting forever would hang a
// second instance silently instead of telling the operator.
func WithOpenTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithOpenTimeout(%s): the timeout must be positive", ErrInvalid, d)
		}
		o.openTimeout = d
		return nil
	}
}

// WithClock sets the clock that leases are granted and checked against
// (default time.Now). Tests use it to expire leases without waiting.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return fmt.Errorf("%w: WithClock(nil): pass a clock function", ErrInvalid)
		}
		o.now = now
		return nil
	}
}

// WithNoSync turns off the fsync at each commit. UNSAFE: a crash of the
// process or the machine can lose committed transactions or corrupt the
// file. It exists for benchmarks and tests only; never use it for real
// sync state.
func WithNoSync() Option {
	return func(o *options) error {
		o.noSync = true
		return nil
	}
}
