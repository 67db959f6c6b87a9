package client

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stepClock is a clock that moves only when told.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStepClock() *stepClock { return &stepClock{now: time.Unix(1_700_000_000, 0)} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// maxInWindow returns the largest number of times that fall in one
// half-open window (t-w, t] of length w.
func maxInWindow(times []time.Time, w time.Duration) int {
	s := slices.Clone(times)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range s {
		for !s[lo].After(s[hi].Add(-w)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func reserve(t *testing.T, l *MemoryLimiter, key string, q Quota, maxWait time.Duration) (time.Duration, bool) {
	t.Helper()
	wait, ok, err := l.Reserve(context.Background(), key, q, maxWait)
	require.NoError(t, err)
	return wait, ok
}

func TestMemoryLimiterWindow(t *testing.T) {
	clock := newStepClock()
	l := NewMemoryLimiter(clock.Now)
	q := Quota{Limit: 3, Window: time.Second}

	for i := range 3 {
		wait, ok := reserve(t, l, "k", q, -1)
		require.True(t, ok)
		assert.Zero(t, wait, "request %d is inside the quota", i)
		clock.Advance(100 * time.Millisecond)
	}
	// Now at +300ms: the fourth may go when the first (at 0) has left the
	// window, that is at +1s.
	wait, ok := reserve(t, l, "k", q, -1)
	require.True(t, ok)
	assert.Equal(t, 700*time.Millisecond, wait)
	// The fifth is booked behind the fourth's slot: Window after the
	// second (at +100ms).
	wait, ok = reserve(t, l, "k", q, -1)
	require.True(t, ok)
	assert.Equal(t, 800*time.Millisecond, wait)

	t.Run("a wait past maxWait books nothing", func(t *testing.T) {
		wait, ok := reserve(t, l, "k", q, 100*time.Millisecond)
		assert.False(t, ok)
		assert.Equal(t, 900*time.Millisecond, wait)
		wait2, ok := reserve(t, l, "k", q, 0)
		assert.False(t, ok)
		assert.Equal(t, wait, wait2, "the refused call took no slot")
	})
	t.Run("other keys are counted apart", func(t *testing.T) {
		wait, ok := reserve(t, l, "other", q, 0)
		assert.True(t, ok)
		assert.Zero(t, wait)
	})
	t.Run("no quota, no limit", func(t *testing.T) {
		for range 100 {
			wait, ok := reserve(t, l, "k", Quota{}, 0)
			require.True(t, ok)
			require.Zero(t, wait)
		}
		wait, ok := reserve(t, l, "k", Quota{Limit: 5}, 0)
		assert.True(t, ok, "a quota without a window limits nothing")
		assert.Zero(t, wait)
	})
}

// TestMemoryLimiterNeverExceeds books requests arriving in bursts, at
// random, after idle periods and at the edges of windows, and checks the
// booked send times: no window of the quota's length holds more than the
// limit. A token bucket of the same rate with a full burst fails this check
// (see the second subtest).
func TestMemoryLimiterNeverExceeds(t *testing.T) {
	q := Quota{Limit: 10, Window: time.Second}
	t.Run("random arrivals", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for round := range 50 {
			clock := newStepClock()
			l := NewMemoryLimiter(clock.Now)
			var sent []time.Time
			for range 200 {
				switch rng.IntN(4) {
				case 0: // a burst: no time passes
				case 1:
					clock.Advance(time.Duration(rng.IntN(100)) * time.Millisecond)
				case 2:
					clock.Advance(time.Duration(rng.IntN(3000)) * time.Millisecond) // idle
				case 3:
					clock.Advance(q.Window - time.Millisecond)
				}
				wait, ok := reserve(t, l, "k", q, -1)
				require.True(t, ok)
				sent = append(sent, clock.Now().Add(wait))
			}
			require.LessOrEqual(t, maxInWindow(sent, q.Window), q.Limit, "round %d", round)
		}
	})
	t.Run("a token bucket with a full burst would not", func(t *testing.T) {
		// The scheme the limiter avoids: capacity Limit, refilled at
		// Limit per Window. Full at the start, it sends Limit at once at
		// the end of an idle window and Limit more over the next: twice
		// the quota inside one window's length.
		var sent []time.Time
		start := time.Unix(0, 0)
		for range q.Limit {
			sent = append(sent, start) // the full burst
		}
		step := q.Window / time.Duration(q.Limit)
		for i := 1; i <= q.Limit; i++ {
			sent = append(sent, start.Add(time.Duration(i)*step-time.Millisecond)) // the refill
		}
		assert.Equal(t, 2*q.Limit, maxInWindow(sent, q.Window))
		// The limiter, asked at the same moments, spreads them out.
		clock := newStepClock()
		l := NewMemoryLimiter(clock.Now)
		var booked []time.Time
		base := clock.Now()
		for _, s := range sent {
			clock.Advance(s.Sub(start) - clock.Now().Sub(base))
			wait, ok := reserve(t, l, "k", q, -1)
			require.True(t, ok)
			booked = append(booked, clock.Now().Add(wait))
		}
		assert.LessOrEqual(t, maxInWindow(booked, q.Window), q.Limit)
	})
}

func TestMemoryLimiterPause(t *testing.T) {
	q := Quota{Limit: 5, Window: time.Second}
	ctx := context.Background()
	t.Run("for the Retry-After", func(t *testing.T) {
		clock := newStepClock()
		l := NewMemoryLimiter(clock.Now)
		reserve(t, l, "k", q, -1)
		require.NoError(t, l.Pause(ctx, "k", q, 3*time.Second))
		wait, ok := reserve(t, l, "k", q, -1)
		assert.True(t, ok)
		assert.Equal(t, 3*time.Second, wait)
		require.NoError(t, l.Pause(ctx, "k", q, time.Second))
		wait, _ = reserve(t, l, "k", q, -1)
		assert.Equal(t, 3*time.Second, wait, "a shorter pause does not shorten a longer one")
	})
	t.Run("for the rest of the window", func(t *testing.T) {
		clock := newStepClock()
		l := NewMemoryLimiter(clock.Now)
		reserve(t, l, "k", q, -1) // at 0
		clock.Advance(300 * time.Millisecond)
		reserve(t, l, "k", q, -1) // at +300ms
		clock.Advance(300 * time.Millisecond)
		require.NoError(t, l.Pause(ctx, "k", q, 0))
		wait, _ := reserve(t, l, "k", q, -1)
		assert.Equal(t, 400*time.Millisecond, wait, "until the booking at 0 leaves the window")
	})
	t.Run("a whole window when nothing was booked", func(t *testing.T) {
		clock := newStepClock()
		l := NewMemoryLimiter(clock.Now)
		require.NoError(t, l.Pause(ctx, "fresh", q, 0))
		wait, _ := reserve(t, l, "fresh", q, -1)
		assert.Equal(t, q.Window, wait)
	})
	t.Run("no quota, no pause", func(t *testing.T) {
		clock := newStepClock()
		l := NewMemoryLimiter(clock.Now)
		require.NoError(t, l.Pause(ctx, "k", Quota{}, time.Hour))
		assert.Zero(t, l.keys())
	})
}

func TestMemoryLimiterLimitChange(t *testing.T) {
	clock := newStepClock()
	l := NewMemoryLimiter(clock.Now)
	for range 4 {
		reserve(t, l, "k", Quota{Limit: 4, Window: time.Second}, -1)
		clock.Advance(100 * time.Millisecond)
	}
	// At +400ms the quota drops to 2: the two most recent bookings (at
	// +200ms and +300ms) still count, so the next goes at +1.2s.
	wait, _ := reserve(t, l, "k", Quota{Limit: 2, Window: time.Second}, -1)
	assert.Equal(t, 800*time.Millisecond, wait)
	// Raised to 8, nothing waits.
	wait, _ = reserve(t, l, "k", Quota{Limit: 8, Window: time.Second}, -1)
	assert.Equal(t, 800*time.Millisecond, wait, "booked times never go backwards")
}

func TestMemoryLimiterDropsIdleKeys(t *testing.T) {
	clock := newStepClock()
	l := NewMemoryLimiter(clock.Now)
	q := Quota{Limit: 2, Window: time.Second, PerToken: true}
	for i := range 100 {
		reserve(t, l, "video_init:"+string(rune('a'+i%26))+string(rune('a'+i/26)), q, -1)
	}
	assert.Equal(t, 100, l.keys())
	clock.Advance(3 * time.Second)
	reserve(t, l, "video_init:new", q, -1)
	assert.Equal(t, 1, l.keys(), "keys idle for more than a window are dropped")

	t.Run("concurrent with bookings", func(t *testing.T) {
		// Sweeps race with bookings on the same keys; -race checks the
		// locking, and a dropped key must not lose a booking.
		// The clock moves only between bookings (under tick's write
		// lock), so each booked time is the clock's reading plus the wait.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var tick sync.RWMutex
		sent := map[string][]time.Time{}
		for g := range 8 {
			wg.Go(func() {
				for i := range 300 {
					key := "k" + string(rune('a'+(g+i)%4))
					if i%50 == 0 {
						tick.Lock()
						clock.Advance(1500 * time.Millisecond)
						tick.Unlock()
					}
					tick.RLock()
					now := clock.Now()
					wait, ok, err := l.Reserve(context.Background(), key, Quota{Limit: 20, Window: time.Second}, -1)
					tick.RUnlock()
					if err != nil || !ok {
						t.Errorf("Reserve: %v %v", ok, err)
						return
					}
					mu.Lock()
					sent[key] = append(sent[key], now.Add(wait))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for key, times := range sent {
			assert.LessOrEqual(t, maxInWindow(times, time.Second), 20, key)
		}
	})
}

func TestResolveQuotas(t *testing.T) {
	base := Config{ClientKey: "k", ClientSecret: "s"}
	t.Run("defaults are TikTok's", func(t *testing.T) {
		c, err := New(base)
		require.NoError(t, err)
		lp := c.quotas[PathUserInfo]
		assert.Equal(t, Quota{Limit: 600, Window: time.Minute}, lp.quota)
		assert.Equal(t, time.Minute+1200*time.Millisecond, c.bookedQuota(lp.quota).Window, "booked with a 2% margin")
		c.observeLateness(time.Second)
		assert.Equal(t, time.Minute+2*time.Second, c.bookedQuota(lp.quota).Window, "or twice the lateness seen")
		for range 2000 {
			c.observeLateness(0)
		}
		assert.Equal(t, time.Minute+1200*time.Millisecond, c.bookedQuota(lp.quota).Window, "which decays")
		assert.True(t, c.quotas[PathVideoInit].quota.PerToken)
		_, limited := c.quotas[PathToken]
		assert.False(t, limited, "OAuth endpoints have no published quota")
		assert.IsType(t, &MemoryLimiter{}, c.limiter)
	})
	t.Run("override and lift", func(t *testing.T) {
		cfg := base
		cfg.Quotas = map[string]Quota{EndpointUserInfo: {Limit: 2000, Window: time.Minute, PerToken: true}, EndpointVideoList: {}}
		c, err := New(cfg)
		require.NoError(t, err)
		assert.Equal(t, 2000, c.quotas[PathUserInfo].quota.Limit)
		assert.True(t, c.quotas[PathUserInfo].quota.PerToken)
		_, limited := c.quotas[PathVideoList]
		assert.False(t, limited)
		assert.Equal(t, 600, c.quotas[PathVideoQuery].quota.Limit, "endpoints not named keep the default")
	})
	t.Run("NoQuotas", func(t *testing.T) {
		cfg := base
		cfg.NoQuotas = true
		c, err := New(cfg)
		require.NoError(t, err)
		assert.Nil(t, c.quotas)
		assert.Nil(t, c.limiter)
	})
	for name, q := range map[string]map[string]Quota{
		"unknown endpoint": {"user_infos": {Limit: 1, Window: time.Second}},
		"negative limit":   {EndpointUserInfo: {Limit: -1, Window: time.Second}},
		"negative window":  {EndpointUserInfo: {Limit: 1, Window: -time.Second}},
		"limit, no window": {EndpointUserInfo: {Limit: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			cfg.Quotas = q
			_, err := New(cfg)
			assert.ErrorContains(t, err, "Quotas")
		})
	}
}

func TestLimiterKey(t *testing.T) {
	app := limitedPath{endpoint: EndpointUserInfo, quota: Quota{Limit: 1, Window: time.Second}}
	assert.Equal(t, "user_info", limiterKey(app, "act.secret"))
	perToken := limitedPath{endpoint: EndpointVideoInit, quota: Quota{Limit: 1, Window: time.Second, PerToken: true}}
	k1, k2 := limiterKey(perToken, "act.secret-one"), limiterKey(perToken, "act.secret-two")
	assert.NotEqual(t, k1, k2)
	assert.Regexp(t, `^video_init:[0-9a-f]{24}$`, k1)
	assert.NotContains(t, k1, "secret")
	assert.Equal(t, k1, limiterKey(perToken, "act.secret-one"), "stable")
}

func BenchmarkMemoryLimiterReserve(b *testing.B) {
	// The warm path: TikTok's 600 a minute, asked a little slower than
	// that (the clock moves 101ms per call), so no call waits. Baseline: the
	// map lookup and the lock that any booking needs, without the booking.
	q := Quota{Limit: 600, Window: time.Minute}
	ctx := context.Background()
	var now int64
	clock := func() time.Time { now += int64(101 * time.Millisecond); return time.Unix(0, now) }
	b.Run("baseline=lookup+lock", func(b *testing.B) {
		l := NewMemoryLimiter(clock)
		l.window("user_info", q)
		b.ReportAllocs()
		for b.Loop() {
			v, _ := l.windows.Load("user_info")
			w := v.(*window)
			w.mu.Lock()
			_ = l.clock()
			w.mu.Unlock()
		}
	})
	b.Run("reserve", func(b *testing.B) {
		l := NewMemoryLimiter(clock)
		b.ReportAllocs()
		for b.Loop() {
			if wait, ok, _ := l.Reserve(ctx, "user_info", q, 0); !ok || wait != 0 {
				b.Fatalf("waited %v", wait)
			}
		}
	})
}

func TestParseQuotas(t *testing.T) {
	got, err := ParseQuotas(" user_info=2000/1m, video_init=3/30s/token,video_list=off,video_query=10/1s/app ")
	require.NoError(t, err)
	assert.Equal(t, map[string]Quota{
		EndpointUserInfo:   {Limit: 2000, Window: time.Minute},
		EndpointVideoInit:  {Limit: 3, Window: 30 * time.Second, PerToken: true},
		EndpointVideoList:  {},
		EndpointVideoQuery: {Limit: 10, Window: time.Second},
	}, got)
	empty, err := ParseQuotas("")
	require.NoError(t, err)
	assert.Empty(t, empty)
	for _, bad := range []string{"user_info", "nope=1/1s", "user_info=0/1s", "user_info=-3/1s", "user_info=1/0s",
		"user_info=1/soon", "user_info=1", "user_info=1/1s/user", "user_info=1/1s/token/x", "user_info=x/1s"} {
		_, err := ParseQuotas(bad)
		assert.Error(t, err, bad)
	}
	// What Quota.String writes for a limit, ParseQuota reads back.
	for _, q := range []Quota{{Limit: 600, Window: time.Minute}, {Limit: 6, Window: time.Minute, PerToken: true}} {
		spec := strings.Replace(q.String(), " per token", "/token", 1)
		back, err := ParseQuota(spec)
		require.NoError(t, err)
		assert.Equal(t, q, back)
	}
}
