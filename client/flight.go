package client

import (
	"context"
	"math/rand/v2"
	"time"
)

// call is one fetch in flight that several callers wait for. The first
// caller runs it; the others wait on done and read val and err afterwards.
type call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func newCall[T any]() *call[T] { return &call[T]{done: make(chan struct{})} }

// wait blocks until the call finishes or ctx ends, whichever comes first.
// A caller that gives up does not stop the call for the others.
func (c *call[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// finish records the outcome and wakes every waiter.
func (c *call[T]) finish(v T, err error) {
	c.val, c.err = v, err
	close(c.done)
}

// fullJitter returns a random duration in [0, d] ("full jitter" backoff).
func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}
