package httpx

import (
	"context"
	"sync/atomic"
)

// CallCounter counts the HTTP attempts (retries included) made with a
// context that carries it. The syncer puts one per side in the contexts of
// a run to report API calls.
type CallCounter struct{ n atomic.Int64 }

// Load returns the count so far.
func (c *CallCounter) Load() int64 { return c.n.Load() }

type counterKey struct{}

// WithCallCounter returns ctx carrying c; every attempt a Client sends with
// it (or a context derived from it) adds one.
func WithCallCounter(ctx context.Context, c *CallCounter) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

func countCall(ctx context.Context) {
	if c, ok := ctx.Value(counterKey{}).(*CallCounter); ok {
		c.n.Add(1)
	}
}
