package testserver

import (
	"sync"
	"time"
)

// RateLimiter counts requests per key in fixed windows aligned to the
// window size (an hour window resets on the hour, as ServiceNow's rate-limit
// rules do). Safe for concurrent use.
type RateLimiter struct {
	mu     sync.Mutex
	clock  Clock
	limit  int
	window time.Duration
	counts map[string]*windowCount
}

type windowCount struct {
	start time.Time
	n     int
}

// NewRateLimiter allows limit requests per key in each window of the given
// size, timed by clock.
func NewRateLimiter(clock Clock, limit int, window time.Duration) *RateLimiter {
	if clock == nil {
		clock = RealClock{}
	}
	return &RateLimiter{clock: clock, limit: limit, window: window, counts: map[string]*windowCount{}}
}

// Limit returns the number of requests allowed per window.
func (l *RateLimiter) Limit() int { return l.limit }

// Take counts one request for key. It reports whether the request is within
// the limit, how many requests remain in the current window, and when the
// window resets.
func (l *RateLimiter) Take(key string) (ok bool, remaining int, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	start := now.Truncate(l.window)
	c := l.counts[key]
	if c == nil || !c.start.Equal(start) {
		c = &windowCount{start: start}
		l.counts[key] = c
	}
	reset = start.Add(l.window)
	if c.n >= l.limit {
		return false, 0, reset
	}
	c.n++
	return true, l.limit - c.n, reset
}
