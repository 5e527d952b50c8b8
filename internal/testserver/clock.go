package testserver

import (
	"sync"
	"time"
)

// Clock is the time source of a fake server. Every timestamp a fake writes
// (sys_updated_on, updated_at, token expiry, rate-limit windows) comes from
// its Clock, so tests can pin and move time.
type Clock interface {
	Now() time.Time
}

// RealClock is a Clock that reads the wall clock, in UTC.
type RealClock struct{}

// Now returns the current wall-clock time in UTC.
func (RealClock) Now() time.Time { return time.Now().UTC() }

// ManualClock is a Clock that only moves when told to. The zero value starts
// at the zero time; use NewManualClock to start elsewhere. Safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock set to t (converted to UTC).
func NewManualClock(t time.Time) *ManualClock {
	return &ManualClock{now: t.UTC()}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t (converted to UTC). It may move backwards; fakes
// do not assume monotonic time.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t.UTC()
	c.mu.Unlock()
}

// Advance moves the clock forward by d and returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
