package redisstore_test

import (
	"encoding/base64"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// sentKey and pauseKey spell the Redis key names the package documents.
func sentKey(l *redisstore.Limiter, key string) string {
	return l.Prefix() + "quota:{" + base64.RawURLEncoding.EncodeToString([]byte(key)) + "}:sent"
}

func pauseKey(l *redisstore.Limiter, key string) string {
	return l.Prefix() + "quota:{" + base64.RawURLEncoding.EncodeToString([]byte(key)) + "}:pause"
}

func newLimiter(t testing.TB, rdb redis.UniversalClient, prefix string) *redisstore.Limiter {
	t.Helper()
	if prefix == "" {
		prefix = testredis.Prefix(t, rdb)
	}
	l, err := redisstore.NewLimiter(rdb, redisstore.LimiterConfig{Prefix: prefix})
	require.NoError(t, err)
	return l
}

var servers = []struct {
	name   string
	client func(testing.TB) redis.UniversalClient
}{
	{"standalone", testredis.Client},
	{"cluster", testredis.ClusterClient},
}

// booked returns the send times booked under key, oldest first, in Unix
// milliseconds.
func booked(t *testing.T, rdb redis.UniversalClient, l *redisstore.Limiter, key string) []int64 {
	t.Helper()
	zs, err := rdb.ZRangeWithScores(t.Context(), sentKey(l, key), 0, -1).Result()
	require.NoError(t, err)
	var out []int64
	for _, z := range zs {
		out = append(out, int64(z.Score))
	}
	return out
}

func TestLimiterWindow(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			ctx := t.Context()
			rdb := srv.client(t)
			l := newLimiter(t, rdb, "")
			q := client.Quota{Limit: 3, Window: 2 * time.Second}
			const key = client.EndpointUserInfo
			start := time.Now()
			for i := range 3 {
				wait, ok, err := l.Reserve(ctx, key, q, 0)
				require.NoError(t, err)
				require.True(t, ok, "request %d is within the limit", i)
				assert.Zero(t, wait, "request %d goes now", i)
			}
			first := booked(t, rdb, l, key)
			require.Len(t, first, 3)

			// The limit is reached: the next slot is when the oldest
			// leaves the window, and a caller that cannot wait that long
			// books nothing.
			wait, ok, err := l.Reserve(ctx, key, q, time.Second)
			require.NoError(t, err)
			assert.False(t, ok, "a wait past maxWait is refused")
			assert.LessOrEqual(t, wait, q.Window)
			assert.GreaterOrEqual(t, wait, q.Window-time.Since(start)-time.Millisecond,
				"the wait lasts until the oldest request leaves the window")
			assert.Equal(t, first, booked(t, rdb, l, key), "a refused reservation books nothing")

			slot, _, ok, err := l.ReserveSlot(ctx, key, q, time.Second)
			require.NoError(t, err)
			require.False(t, ok)
			assert.Equal(t, first[0]+q.Window.Milliseconds(), slot.UnixMilli(), "the slot is the oldest send time plus the window")
			assert.Equal(t, first, booked(t, rdb, l, key))

			slot, now, ok, err := l.ReserveSlot(ctx, key, q, -1)
			require.NoError(t, err)
			require.True(t, ok, "a negative maxWait waits as long as it takes")
			assert.Equal(t, first[0]+q.Window.Milliseconds(), slot.UnixMilli())
			assert.Equal(t, append(slices.Clone(first), slot.UnixMilli()), booked(t, rdb, l, key), "booked at the slot")
			ttl, err := rdb.PTTL(ctx, sentKey(l, key)).Result()
			require.NoError(t, err)
			wantTTL := slot.Sub(now) + q.Window
			assert.LessOrEqual(t, ttl, wantTTL, "the set expires when its last send time leaves the window")
			assert.Greater(t, ttl, wantTTL-time.Second)

			// The next one waits for the second oldest; a maxWait just
			// long enough is enough.
			slot, now, ok, err = l.ReserveSlot(ctx, key, q, 0)
			require.NoError(t, err)
			require.False(t, ok)
			assert.Equal(t, first[1]+q.Window.Milliseconds(), slot.UnixMilli())
			wait, ok, err = l.Reserve(ctx, key, q, slot.Sub(now)+time.Second)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Positive(t, wait)
			assert.Len(t, booked(t, rdb, l, key), 5)

			// Another key counts alone.
			wait, ok, err = l.Reserve(ctx, key+":fp", q, 0)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Zero(t, wait)
		})
	}
}

// TestLimiterWindowSlides: once the wait is over, the request that was
// refused goes through at once.
func TestLimiterWindowSlides(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.Client(t)
	l := newLimiter(t, rdb, "")
	q := client.Quota{Limit: 2, Window: 300 * time.Millisecond}
	for range 2 {
		_, ok, err := l.Reserve(ctx, "k", q, 0)
		require.NoError(t, err)
		require.True(t, ok)
	}
	before := booked(t, rdb, l, "k")
	wait, ok, err := l.Reserve(ctx, "k", q, 0)
	require.NoError(t, err)
	require.False(t, ok)
	require.Positive(t, wait)
	time.Sleep(wait + 5*time.Millisecond)
	wait, ok, err = l.Reserve(ctx, "k", q, 0)
	require.NoError(t, err)
	assert.True(t, ok, "the oldest request has left the window")
	assert.Zero(t, wait)
	after := booked(t, rdb, l, "k")
	assert.NotContains(t, after, before[0], "send times out of the window are dropped")
	assert.LessOrEqual(t, len(after), 2)
}

func TestLimiterPause(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			ctx := t.Context()
			rdb := srv.client(t)
			l := newLimiter(t, rdb, "")
			q := client.Quota{Limit: 100, Window: time.Minute}

			require.NoError(t, l.Pause(ctx, "k", q, -time.Second))
			n, err := rdb.Exists(ctx, pauseKey(l, "k")).Result()
			require.NoError(t, err)
			assert.Zero(t, n, "a negative pause does nothing")

			start := time.Now()
			require.NoError(t, l.Pause(ctx, "k", q, 1500*time.Millisecond))
			wait, ok, err := l.Reserve(ctx, "k", q, time.Second)
			require.NoError(t, err)
			assert.False(t, ok, "nothing is booked during a pause")
			assert.LessOrEqual(t, wait, 1500*time.Millisecond)
			assert.Greater(t, wait, 1500*time.Millisecond-time.Since(start)-time.Millisecond)
			assert.Empty(t, booked(t, rdb, l, "k"))

			require.NoError(t, l.Pause(ctx, "k", q, 100*time.Millisecond))
			wait, ok, err = l.Reserve(ctx, "k", q, 0)
			require.NoError(t, err)
			assert.False(t, ok)
			assert.Greater(t, wait, 1500*time.Millisecond-time.Since(start)-time.Millisecond, "a shorter pause does not cut a longer one")

			end, err := rdb.Get(ctx, pauseKey(l, "k")).Int64()
			require.NoError(t, err)
			ttl, err := rdb.PTTL(ctx, pauseKey(l, "k")).Result()
			require.NoError(t, err)
			assert.LessOrEqual(t, ttl, 1500*time.Millisecond, "the pause key goes when the pause ends")
			assert.Positive(t, ttl)
			slot, _, ok, err := l.ReserveSlot(ctx, "k", q, -1)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, end, slot.UnixMilli(), "booked at the end of the pause")

			wait, ok, err = l.Reserve(ctx, "other", q, 0)
			require.NoError(t, err)
			assert.True(t, ok, "a pause is per key")
			assert.Zero(t, wait)
		})
	}
}

// TestLimiterPauseRestOfWindow: a pause of 0 (TikTok sent no Retry-After)
// lasts until the oldest send time in the window leaves it, or a whole
// window when none was booked.
func TestLimiterPauseRestOfWindow(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			ctx := t.Context()
			rdb := srv.client(t)
			l := newLimiter(t, rdb, "")
			q := client.Quota{Limit: 100, Window: 2 * time.Second}

			start := time.Now()
			require.NoError(t, l.Pause(ctx, "idle", q, 0))
			wait, ok, err := l.Reserve(ctx, "idle", q, 0)
			require.NoError(t, err)
			assert.False(t, ok)
			assert.LessOrEqual(t, wait, q.Window, "a whole window when nothing was booked")
			assert.Greater(t, wait, q.Window-time.Since(start)-time.Millisecond)

			for range 2 {
				_, ok, err := l.Reserve(ctx, "busy", q, 0)
				require.NoError(t, err)
				require.True(t, ok)
			}
			sent := booked(t, rdb, l, "busy")
			require.NoError(t, l.Pause(ctx, "busy", q, 0))
			end, err := rdb.Get(ctx, pauseKey(l, "busy")).Int64()
			require.NoError(t, err)
			assert.Equal(t, sent[0]+q.Window.Milliseconds(), end, "until the oldest send time leaves the window")
			slot, _, ok, err := l.ReserveSlot(ctx, "busy", q, 0)
			require.NoError(t, err)
			assert.False(t, ok)
			assert.Equal(t, end, slot.UnixMilli())
		})
	}
}

// TestLimiterNoLimit: a Quota that limits nothing never reaches Redis, so
// it answers even with Redis down.
func TestLimiterNoLimit(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { down.Close() })
	l, err := redisstore.NewLimiter(down, redisstore.LimiterConfig{})
	require.NoError(t, err)
	for _, q := range []client.Quota{{}, {Limit: 0, Window: time.Minute}, {Limit: -1, Window: time.Minute}, {Limit: 5}, {Limit: 5, Window: -time.Second}} {
		wait, ok, err := l.Reserve(t.Context(), "k", q, 0)
		require.NoError(t, err, "%+v", q)
		assert.True(t, ok, "%+v", q)
		assert.Zero(t, wait, "%+v", q)
		require.NoError(t, l.Pause(t.Context(), "k", q, time.Second), "%+v", q)
	}
}

func TestLimiterRedisDown(t *testing.T) {
	srv := testredis.StartServer(t)
	rdb := srv.Client(t)
	l := newLimiter(t, rdb, "app:")
	q := client.Quota{Limit: 5, Window: time.Minute}
	_, ok, err := l.Reserve(t.Context(), "user_info", q, 0)
	require.NoError(t, err)
	require.True(t, ok)

	srv.Stop()
	wait, ok, err := l.Reserve(t.Context(), "user_info", q, 0)
	require.Error(t, err)
	assert.False(t, ok)
	assert.Zero(t, wait)
	assert.ErrorContains(t, err, `redisstore: reserve "user_info": Redis unreachable`)
	err = l.Pause(t.Context(), "user_info", q, time.Second)
	assert.ErrorContains(t, err, `redisstore: pause "user_info": Redis unreachable`)

	require.NoError(t, srv.Start())
	_, ok, err = l.Reserve(t.Context(), "user_info", q, 0)
	require.NoError(t, err, "back when Redis is")
	assert.True(t, ok)
}

func TestLimiterConfig(t *testing.T) {
	_, err := redisstore.NewLimiter(nil, redisstore.LimiterConfig{})
	require.Error(t, err)
	rdb := testredis.Client(t)
	for _, p := range []string{"app{x}:", "a{", "b}"} {
		_, err = redisstore.NewLimiter(rdb, redisstore.LimiterConfig{Prefix: p})
		require.ErrorContains(t, err, "must not contain", p)
	}
	l, err := redisstore.NewLimiter(rdb, redisstore.LimiterConfig{})
	require.NoError(t, err)
	assert.Equal(t, redisstore.DefaultPrefix, l.Prefix())
}

// TestLimiterKeys: limiter keys with characters that mean something to
// Redis map to distinct Redis keys under the documented names, each one's
// two keys in one Cluster slot.
func TestLimiterKeys(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.ClusterClient(t)
	l := newLimiter(t, rdb, "")
	q := client.Quota{Limit: 1, Window: time.Minute}
	keys := []string{"user_info", "user_info:", "creator_info:{fp}", "}{", "*", "用户"}
	for _, k := range keys {
		_, ok, err := l.Reserve(ctx, k, q, 0)
		require.NoError(t, err, "key %q", k)
		require.True(t, ok, "key %q counts alone", k)
		require.NoError(t, l.Pause(ctx, k, q, time.Minute))
	}
	for _, k := range keys {
		assert.Len(t, booked(t, rdb, l, k), 1, "key %q", k)
		a, err := rdb.ClusterKeySlot(ctx, sentKey(l, k)).Result()
		require.NoError(t, err)
		b, err := rdb.ClusterKeySlot(ctx, pauseKey(l, k)).Result()
		require.NoError(t, err)
		assert.Equal(t, a, b, "key %q: send times and pause in one slot", k)
	}
	_, ok, err := l.Reserve(ctx, "", q, 0)
	assert.ErrorContains(t, err, "empty limiter key")
	assert.False(t, ok)
	assert.ErrorContains(t, l.Pause(ctx, "", q, time.Second), "empty limiter key")
}

// TestLimiterSharedByInstances is three instances of an app, each with its
// own Redis client and Limiter and four goroutines that book a request,
// wait its turn and book the next, for three seconds against 50 a second.
// The send times booked, as the server computed them, never hold more
// than 50 in any window of a second, and they use the quota: at least 90%
// of the 150 that three seconds allow.
func TestLimiterSharedByInstances(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			const (
				instances = 3
				workers   = 4
				run       = 3 * time.Second
			)
			q := client.Quota{Limit: 50, Window: time.Second}
			prefix := testredis.Prefix(t, srv.client(t))
			var limiters []*redisstore.Limiter
			for range instances {
				limiters = append(limiters, newLimiter(t, srv.client(t), prefix))
			}
			var (
				mu    sync.Mutex
				slots []int64
				wg    sync.WaitGroup
			)
			deadline := time.Now().Add(run)
			for _, l := range limiters {
				for range workers {
					wg.Go(func() {
						for time.Now().Before(deadline) {
							slot, now, ok, err := l.ReserveSlot(t.Context(), client.EndpointUserInfo, q, -1)
							if !assert.NoError(t, err) || !assert.True(t, ok) {
								return
							}
							mu.Lock()
							slots = append(slots, slot.UnixMilli())
							mu.Unlock()
							time.Sleep(slot.Sub(now)) // the request is sent then
						}
					})
				}
			}
			wg.Wait()
			slices.Sort(slots)
			require.NotEmpty(t, slots)
			for i := 0; i+q.Limit < len(slots); i++ {
				if d := slots[i+q.Limit] - slots[i]; d < q.Window.Milliseconds() {
					t.Fatalf("%d send times within %d ms, from %d: more than %v", q.Limit+1, d, slots[i], q)
				}
			}
			first := slots[0]
			inRun := 0
			for _, s := range slots {
				if s < first+run.Milliseconds() {
					inRun++
				}
			}
			allowed := q.Limit * int(run/q.Window)
			t.Logf("%d requests booked in the first %v (the quota allows %d), %d in all", inRun, run, allowed, len(slots))
			assert.GreaterOrEqual(t, inRun, allowed*9/10, "throughput within 10%% of the quota")
		})
	}
}
