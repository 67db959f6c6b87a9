package testutil_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := testutil.NewClock(start)
	assert.Equal(t, start, c.Now())
	c.Advance(90 * time.Second)
	assert.Equal(t, start.Add(90*time.Second), c.Now())
}

func TestWallClock(t *testing.T) {
	c := testutil.NewWallClock()
	before := time.Now()
	first := c.Now()
	assert.False(t, first.Before(before), "a wall clock starts at the wall clock's time")
	assert.Less(t, first.Sub(before), time.Minute)

	time.Sleep(2 * time.Millisecond)
	assert.True(t, c.Now().After(first), "a wall clock runs by itself")

	c.Advance(time.Hour)
	c.Advance(time.Hour)
	ahead := time.Until(c.Now())
	assert.Greater(t, ahead, 2*time.Hour-time.Minute, "Advance moves it ahead of the wall clock")
	assert.LessOrEqual(t, ahead, 2*time.Hour)
}

func TestSyncBufferConcurrentWriters(t *testing.T) {
	var b testutil.SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
	}
	wg.Wait()
	for i := range 8 {
		assert.Contains(t, b.String(), fmt.Sprintf("line %d\n", i))
	}
}
