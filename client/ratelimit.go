package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryLimiter is the in-process Limiter, the default of every Client. It
// keeps, for each key, the send times it booked (at most Quota.Limit of
// them) and books the next one no earlier than Window after the Limit-th
// most recent. Booked times never go backwards, so any Limit+1 consecutive
// requests span at least Window: no sliding window of that length ever holds
// more than Limit, at start-up, after an idle period or under a burst. (A
// token bucket with a full burst would let twice the quota through in one
// window: a full burst at its end, then a refill's worth at the start of the
// next.)
//
// It counts only what this process sends. Instances that share one app-wide
// quota share a Limiter backed by a common store instead
// (redisstore.NewLimiter). Keys that have been idle for longer than their
// window are dropped, so per-token keys do not pile up.
type MemoryLimiter struct {
	clock   func() time.Time
	windows sync.Map // key → *window

	sweepMu   sync.Mutex
	lastSweep atomic.Int64 // unix nanos of the last sweep of idle keys
	maxWindow atomic.Int64 // the longest window seen, in nanos
}

// NewMemoryLimiter returns an in-process Limiter. clock tells the time; nil
// means time.Now.
func NewMemoryLimiter(clock func() time.Time) *MemoryLimiter {
	if clock == nil {
		clock = time.Now
	}
	l := &MemoryLimiter{clock: clock}
	l.lastSweep.Store(clock().UnixNano())
	return l
}

// window is the booking record of one key.
type window struct {
	mu     sync.Mutex
	times  []int64 // ring of the last len(times) booked send times, unix nanos
	next   int     // index of the oldest entry once the ring is full
	n      int     // entries in use (≤ len(times))
	last   int64   // the latest booked time
	paused int64   // nothing is booked before this time
	dead   bool    // dropped from the map by a sweep; look the key up again
}

// Reserve implements Limiter.
func (l *MemoryLimiter) Reserve(_ context.Context, key string, q Quota, maxWait time.Duration) (time.Duration, bool, error) {
	if !q.valid() {
		return 0, true, nil
	}
	now := l.clock().UnixNano()
	for {
		w := l.window(key, q)
		w.mu.Lock()
		if w.dead {
			w.mu.Unlock()
			continue
		}
		wait, ok := w.book(now, q, maxWait)
		w.mu.Unlock()
		l.maybeSweep(now)
		return wait, ok, nil
	}
}

// Pause implements Limiter.
func (l *MemoryLimiter) Pause(_ context.Context, key string, q Quota, d time.Duration) error {
	if !q.valid() || d < 0 {
		return nil
	}
	now := l.clock().UnixNano()
	for {
		w := l.window(key, q)
		w.mu.Lock()
		if w.dead {
			w.mu.Unlock()
			continue
		}
		until := now + int64(d)
		if d == 0 {
			until = w.restOfWindow(now, int64(q.Window))
		}
		w.paused = max(w.paused, until)
		w.mu.Unlock()
		return nil
	}
}

// window returns the record of key, creating it.
func (l *MemoryLimiter) window(key string, q Quota) *window {
	if v, ok := l.windows.Load(key); ok {
		return v.(*window)
	}
	if int64(q.Window) > l.maxWindow.Load() {
		l.maxWindow.Store(int64(q.Window))
	}
	v, _ := l.windows.LoadOrStore(key, &window{times: make([]int64, q.Limit)})
	return v.(*window)
}

// book takes the earliest slot for one more request, or reports the wait
// without booking when it is longer than maxWait (negative: no bound). The
// caller holds w.mu.
func (w *window) book(now int64, q Quota, maxWait time.Duration) (time.Duration, bool) {
	if len(w.times) != q.Limit {
		w.resize(q.Limit)
	}
	slot := max(now, w.last, w.paused)
	if w.n == len(w.times) {
		slot = max(slot, w.times[w.next]+int64(q.Window))
	}
	wait := time.Duration(slot - now)
	if maxWait >= 0 && wait > maxWait {
		return wait, false
	}
	if w.n < len(w.times) {
		w.times[(w.next+w.n)%len(w.times)] = slot
		w.n++
	} else {
		w.times[w.next] = slot
		w.next = (w.next + 1) % len(w.times)
	}
	w.last = slot
	return wait, true
}

// restOfWindow returns when the oldest booking still inside the window
// ending at now leaves it, or now plus a whole window when there is none.
// The caller holds w.mu.
func (w *window) restOfWindow(now, windowLen int64) int64 {
	for i := range w.n {
		if t := w.times[(w.next+i)%len(w.times)]; t > now-windowLen {
			return t + windowLen
		}
	}
	return now + windowLen
}

// resize keeps the most recent bookings when the quota's limit changes.
func (w *window) resize(limit int) {
	keep := min(w.n, limit)
	times := make([]int64, limit)
	for i := range keep {
		times[i] = w.times[(w.next+w.n-keep+i)%len(w.times)]
	}
	w.times, w.next, w.n = times, 0, keep
}

// idle reports whether nothing booked under w can still count at now.
func (w *window) idle(now, windowLen int64) bool {
	return w.last+windowLen < now && w.paused < now
}

// maybeSweep drops idle keys, at most once per longest window.
func (l *MemoryLimiter) maybeSweep(now int64) {
	span := l.maxWindow.Load()
	if now-l.lastSweep.Load() < span || !l.sweepMu.TryLock() {
		return
	}
	defer l.sweepMu.Unlock()
	l.lastSweep.Store(now)
	l.windows.Range(func(k, v any) bool {
		w := v.(*window)
		w.mu.Lock()
		if w.idle(now, span) {
			w.dead = true
			l.windows.Delete(k)
		}
		w.mu.Unlock()
		return true
	})
}

// keys returns the number of keys held; for tests.
func (l *MemoryLimiter) keys() int {
	n := 0
	l.windows.Range(func(any, any) bool { n++; return true })
	return n
}
