package tokenstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
)

func cacheTestToken(i int, now time.Time) *client.Token {
	return &client.Token{AccessToken: fmt.Sprintf("at-%d", i), RefreshToken: fmt.Sprintf("rt-%d", i),
		Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(24 * time.Hour)}
}

func TestTokenCacheEvictsLeastRecentlyUsed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		// touch is run on a full cache of k0..k2 (put in that order)
		// before k3 is put.
		touch   func(c *tokenCache)
		evicted string
	}{
		{"oldest put goes first", func(*tokenCache) {}, "k0"},
		{"a get makes an entry recent", func(c *tokenCache) { require.NotNil(t, c.get("k0", now, time.Minute)) }, "k1"},
		{"a put of a cached key makes it recent", func(c *tokenCache) { c.put("k0", cacheTestToken(9, now), now) }, "k1"},
		{"gets in turn leave the least recent", func(c *tokenCache) {
			c.get("k2", now, time.Minute)
			c.get("k0", now, time.Minute)
			c.get("k1", now, time.Minute)
		}, "k2"},
		{"a peek is not a use", func(c *tokenCache) { require.NotNil(t, c.peek("k0")) }, "k0"},
		{"a miss changes nothing", func(c *tokenCache) { require.Nil(t, c.get("nope", now, time.Minute)) }, "k0"},
		{"a dropped entry frees its place", func(c *tokenCache) { c.drop("k1") }, "k1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTokenCache(3, time.Minute)
			for i := range 3 {
				c.put(fmt.Sprintf("k%d", i), cacheTestToken(i, now), now)
			}
			tt.touch(c)
			c.put("k3", cacheTestToken(3, now), now)
			require.Equal(t, 3, c.len())
			require.Nil(t, c.peek(tt.evicted), "%s is evicted", tt.evicted)
			for i := range 4 {
				if k := fmt.Sprintf("k%d", i); k != tt.evicted {
					require.NotNil(t, c.peek(k), "%s is kept", k)
				}
			}
		})
	}
}

func TestTokenCacheSizeBoundHolds(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, size := range []int{1, 2, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newTokenCache(size, time.Minute)
			for i := range 10 * size {
				c.put(fmt.Sprintf("k%d", i), cacheTestToken(i, now), now)
				require.LessOrEqual(t, c.len(), size)
				require.NotNil(t, c.get(fmt.Sprintf("k%d", i), now, time.Minute), "the last put is cached")
			}
			require.Equal(t, size, c.len())
			// The survivors are the last size keys put.
			for i := range 10 * size {
				got := c.peek(fmt.Sprintf("k%d", i)) != nil
				require.Equal(t, i >= 9*size, got, "k%d", i)
			}
		})
	}
}

func TestTokenCacheExpiryAndRefreshMargin(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTokenCache(10, time.Minute)
	c.put("a", cacheTestToken(1, now), now)
	require.NotNil(t, c.get("a", now.Add(59*time.Second), time.Minute))
	require.Nil(t, c.get("a", now.Add(time.Minute), time.Minute), "past the TTL")
	require.Equal(t, 0, c.len(), "an entry past its TTL is forgotten when seen")

	soon := cacheTestToken(2, now)
	soon.Expiry = now.Add(30 * time.Second)
	c.put("b", soon, now)
	require.Nil(t, c.get("b", now, time.Minute), "a token within the refresh margin is not served")
	require.Same(t, soon, c.peek("b"), "but is kept for peek")

	c.put("b", nil, now)
	require.Same(t, soon, c.peek("b"), "a nil token is not cached")
	c.drop("missing")
	require.Equal(t, 1, c.len())
}

func TestTokenCacheNilIsDisabled(t *testing.T) {
	var c *tokenCache
	now := time.Now()
	c.put("a", cacheTestToken(1, now), now)
	require.Nil(t, c.get("a", now, 0))
	require.Nil(t, c.peek("a"))
	c.drop("a")
	require.Equal(t, 0, c.len())
}

// BenchmarkTokenCachePutFull is the cost of caching a new key in a full
// cache, at the default size and at a hundred times it; the per-operation
// time should not grow with the size.
func BenchmarkTokenCachePutFull(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	for _, size := range []int{DefaultCacheSize / 10, DefaultCacheSize, 100 * DefaultCacheSize} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			c := newTokenCache(size, time.Hour)
			keys := make([]string, 2*size)
			toks := make([]*client.Token, len(keys))
			for i := range keys {
				keys[i] = fmt.Sprintf("k%d", i)
				toks[i] = cacheTestToken(i, now)
			}
			for i := range size {
				c.put(keys[i], toks[i], now)
			}
			// Every put is of a key the cache does not hold: the
			// keys cycle through twice the size.
			for i := 0; b.Loop(); i++ {
				k := (size + i) % len(keys)
				c.put(keys[k], toks[k], now)
			}
		})
	}
}
