package tokenstore

import (
	"sync"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// cacheToken caches tok for key as of now. It and uncache are the only
// writers of the Source's cache: every code path that learns a token is
// current (loaded, refreshed, saved) or gone (deleted, dropped, replaced by
// another instance) goes through them, so what the cache may hold is
// decided here. Without a cache (disabled, or the store opted out) both are
// no-ops.
func (s *Source) cacheToken(key string, tok *client.Token, now time.Time) {
	s.cache.put(key, tok, now)
}

// uncache forgets key's cached token, if any.
func (s *Source) uncache(key string) { s.cache.drop(key) }

// tokenCache is the Source's bounded cache of valid tokens. A nil
// *tokenCache is a disabled cache: every method is a no-op.
type tokenCache struct {
	mu   sync.RWMutex
	m    map[string]cacheEntry
	size int
	ttl  time.Duration
}

type cacheEntry struct {
	tok   *client.Token
	until time.Time
}

func newTokenCache(size int, ttl time.Duration) *tokenCache {
	return &tokenCache{m: make(map[string]cacheEntry), size: size, ttl: ttl}
}

// get returns the cached token for key when the entry is younger than the
// TTL and the token does not need a refresh yet; nil otherwise.
func (c *tokenCache) get(key string, now time.Time, margin time.Duration) *client.Token {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) || e.tok.NeedsRefresh(now, margin) {
		return nil
	}
	return e.tok
}

// peek returns the cached token for key whatever its age, or nil.
func (c *tokenCache) peek(key string) *client.Token {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e := c.m[key]
	c.mu.RUnlock()
	return e.tok
}

// put caches tok for key. When the cache is full it first drops expired
// entries, then arbitrary ones (Go's map order is random), so it stays
// within its size without any background work.
func (c *tokenCache) put(key string, tok *client.Token, now time.Time) {
	if c == nil || tok == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.size {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.size {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cacheEntry{tok: tok, until: now.Add(c.ttl)}
}

// drop forgets key.
func (c *tokenCache) drop(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}
