// Package testutil holds the small test doubles that several packages'
// tests share: a clock that tests move by hand (standing still, or running
// with the wall clock) and a log sink that is safe for concurrent writers.
package testutil

import (
	"bytes"
	"sync"
	"time"
)

// Clock is a clock that tests move by hand. One made by NewClock only moves
// when told to; one made by NewWallClock also runs with the wall clock. It
// is safe for concurrent use; pass its Now method wherever a
// func() time.Time is wanted.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	wall   bool          // Now is the wall clock plus offset
	offset time.Duration // what Advance added, in wall mode
}

// NewClock returns a clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// NewWallClock returns a clock that reads the wall clock, ahead of it by
// whatever Advance has added: for tests whose code also waits on real
// timers (timeouts, leases that expire on the wall clock) and that jump
// forward to expire things.
func NewWallClock() *Clock { return &Clock{wall: true} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		return time.Now().Add(c.offset)
	}
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	if c.wall {
		c.offset += d
	} else {
		c.now = c.now.Add(d)
	}
	c.mu.Unlock()
}

// SyncBuffer is a bytes.Buffer for log output that several goroutines
// write at once. The zero value is ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
