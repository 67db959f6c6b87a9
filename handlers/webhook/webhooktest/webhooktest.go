// Package webhooktest is a conformance suite for webhook.ReplayStore
// implementations, the package's own and yours. Call RunReplayStore from a
// test with a function that makes an empty store:
//
//	func TestMyReplayStore(t *testing.T) {
//		webhooktest.RunReplayStore(t, func(t *testing.T) webhook.ReplayStore {
//			return myreplay.New(...) // empty, private to this subtest
//		})
//	}
//
// The suite checks what the webhook handler relies on: a first Claim wins
// and a repeat loses (even with a later expiry) until the id expires or is
// released, releasing an unknown id is not an error, ids that differ only
// slightly are distinct, a Claim whose expiry has already passed protects
// nothing, and of concurrent Claims of one id, fresh or expired, exactly
// one wins. Expiry is checked in real time (a few hundred milliseconds of
// waiting) unless WithClock gives the suite the store's clock.
package webhooktest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
)

// Option changes how RunReplayStore drives the store.
type Option func(*config)

type config struct {
	now     func() time.Time
	advance func(time.Duration)
	ttl     time.Duration
	workers int
}

// WithClock says that the stores newStore makes read the time from now,
// and that advance moves that clock forward, so that the suite checks
// expiry by advancing it instead of waiting. Default: the real clock.
func WithClock(now func() time.Time, advance func(time.Duration)) Option {
	return func(c *config) { c.now, c.advance = now, advance }
}

// WithTTL sets the lifetime of the claims the suite lets expire. Default
// 300ms; raise it for a store whose calls take longer than a tenth of
// that. With WithClock it only sets how far the clock is advanced.
func WithTTL(d time.Duration) Option {
	return func(c *config) { c.ttl = d }
}

// WithWorkers sets how many goroutines claim one id at once in the
// concurrency checks. Default 20.
func WithWorkers(n int) Option {
	return func(c *config) { c.workers = n }
}

// RunReplayStore runs the suite as subtests of t. newStore must return an
// empty store each time it is called; the suite calls it once per subtest.
func RunReplayStore(t *testing.T, newStore func(t *testing.T) webhook.ReplayStore, opts ...Option) {
	cfg := config{ttl: 300 * time.Millisecond, workers: 20}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now == nil {
		cfg.now = time.Now
		cfg.advance = func(d time.Duration) { time.Sleep(d) }
	}
	tests := []struct {
		name string
		run  func(*suite, *testing.T)
	}{
		{"FirstClaimWins", (*suite).firstClaimWins},
		{"Release", (*suite).release},
		{"Expires", (*suite).expires},
		{"AlreadyExpired", (*suite).alreadyExpired},
		{"DistinctIDs", (*suite).distinctIDs},
		{"ConcurrentClaims", (*suite).concurrentClaims},
		{"ConcurrentReclaims", (*suite).concurrentReclaims},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			tc.run(&suite{cfg: cfg, t: t, s: s, ctx: t.Context()}, t)
		})
	}
}

type suite struct {
	cfg config
	t   *testing.T
	s   webhook.ReplayStore
	ctx context.Context
}

// claim claims id until ttl from now.
func (s *suite) claim(id string, ttl time.Duration) bool {
	s.t.Helper()
	ok, err := s.s.Claim(s.ctx, id, s.cfg.now().Add(ttl))
	require.NoError(s.t, err, "Claim")
	return ok
}

func (s *suite) release(t *testing.T) {
	require.True(t, s.claim("a", time.Hour))
	require.True(t, s.claim("b", time.Hour))
	require.NoError(t, s.s.Release(s.ctx, "a"))
	assert.True(t, s.claim("a", time.Hour), "released, then claimed again")
	assert.False(t, s.claim("a", time.Hour), "and recorded again")
	assert.False(t, s.claim("b", time.Hour), "releasing one id keeps the others")
	require.NoError(t, s.s.Release(s.ctx, "never-claimed"), "releasing an unknown id")
	require.NoError(t, s.s.Release(s.ctx, "a"))
	require.NoError(t, s.s.Release(s.ctx, "a"), "releasing twice")
	assert.True(t, s.claim("a", time.Hour))
}

func (s *suite) firstClaimWins(t *testing.T) {
	assert.True(t, s.claim("a", time.Minute), "first claim")
	assert.False(t, s.claim("a", time.Minute), "a replay")
	assert.False(t, s.claim("a", time.Hour), "a replay with a later expiry")
	assert.True(t, s.claim("b", time.Minute), "another id")
	assert.False(t, s.claim("b", time.Minute), "a replay of the other id")
}

func (s *suite) expires(t *testing.T) {
	ttl := s.cfg.ttl
	require.True(t, s.claim("a", ttl))
	assert.False(t, s.claim("a", time.Hour), "a replay with a later expiry changes nothing")
	s.cfg.advance(ttl + ttl/5)
	assert.True(t, s.claim("a", time.Hour), "expired at its time, not an hour later")
	assert.False(t, s.claim("a", time.Hour), "the new claim is recorded")
}

// alreadyExpired: a Claim whose expiry has passed finds nothing ahead of
// it and leaves nothing ahead of the next one, but it does not clear a
// claim that is still live.
func (s *suite) alreadyExpired(t *testing.T) {
	assert.True(t, s.claim("e", -time.Second))
	assert.True(t, s.claim("e", -time.Second), "an expired claim protects nothing")
	assert.True(t, s.claim("e", time.Hour))
	assert.False(t, s.claim("e", -time.Second), "a live claim is kept")
	assert.False(t, s.claim("e", time.Hour))
}

func (s *suite) distinctIDs(t *testing.T) {
	ids := []string{
		"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", // a signature in hex
		"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f1",
		"0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0", // case differs
		"abc", "abc ", " abc", "ab", "a:b", "a{b}", "*", "%", "_", "'", `"`, `\`,
		"caf\u00e9", "cafe\u0301", strings.Repeat("用", 64),
	}
	for _, id := range ids {
		assert.True(t, s.claim(id, time.Hour), "first claim of %q", id)
	}
	for _, id := range ids {
		assert.False(t, s.claim(id, time.Hour), "replay of %q", id)
	}
	require.NoError(t, s.s.Release(s.ctx, "abc"))
	assert.True(t, s.claim("abc", time.Hour))
	assert.False(t, s.claim("abc ", time.Hour), "releasing %q keeps %q", "abc", "abc ")
}

// race runs the suite's workers, each claiming id until an hour from now,
// and returns how many won.
func (s *suite) race(t *testing.T, id string) int {
	t.Helper()
	wins := make([]bool, s.cfg.workers)
	until := s.cfg.now().Add(time.Hour)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range wins {
		wg.Go(func() {
			<-start
			ok, err := s.s.Claim(s.ctx, id, until)
			assert.NoError(t, err)
			wins[i] = ok
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, w := range wins {
		if w {
			won++
		}
	}
	return won
}

func (s *suite) concurrentClaims(t *testing.T) {
	assert.Equal(t, 1, s.race(t, "c"), "one of %d concurrent claims of a new id wins", s.cfg.workers)
	assert.False(t, s.claim("c", time.Hour))
}

func (s *suite) concurrentReclaims(t *testing.T) {
	ttl := s.cfg.ttl
	require.True(t, s.claim("c", ttl))
	s.cfg.advance(ttl + ttl/5)
	assert.Equal(t, 1, s.race(t, "c"), "one of %d concurrent claims of an expired id wins", s.cfg.workers)
	assert.False(t, s.claim("c", time.Hour))
}
