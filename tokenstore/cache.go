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

// tokenCache is the Source's bounded cache of valid tokens, evicting the
// least recently used entry when it is full. Every operation is O(1): the
// entries are on a doubly linked list in order of use (most recent at the
// front), so a full cache evicts its back without looking at the others,
// however large it is. A nil *tokenCache is a disabled cache: every method
// is a no-op.
type tokenCache struct {
	mu   sync.Mutex
	m    map[string]*cacheEntry
	root cacheEntry // sentinel: root.next is the most recently used, root.prev the least
	size int
	ttl  time.Duration
}

type cacheEntry struct {
	key        string
	tok        *client.Token
	until      time.Time
	prev, next *cacheEntry
}

func newTokenCache(size int, ttl time.Duration) *tokenCache {
	c := &tokenCache{m: make(map[string]*cacheEntry), size: size, ttl: ttl}
	c.root.prev, c.root.next = &c.root, &c.root
	return c
}

// unlink takes e off the list. c.mu is held.
func (c *tokenCache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// pushFront puts e at the front of the list (most recently used). c.mu is
// held.
func (c *tokenCache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}

// remove forgets e. c.mu is held.
func (c *tokenCache) remove(e *cacheEntry) {
	c.unlink(e)
	delete(c.m, e.key)
}

// get returns the cached token for key when the entry is younger than the
// TTL and the token does not need a refresh yet; nil otherwise. A hit makes
// the entry the most recently used; an entry past its TTL is forgotten.
func (c *tokenCache) get(key string, now time.Time, margin time.Duration) *client.Token {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil
	}
	if !now.Before(e.until) {
		c.remove(e)
		return nil
	}
	if e.tok.NeedsRefresh(now, margin) {
		return nil
	}
	if c.root.next != e {
		c.unlink(e)
		c.pushFront(e)
	}
	return e.tok
}

// peek returns the cached token for key whatever its age, or nil. It does
// not count as a use.
func (c *tokenCache) peek(key string) *client.Token {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		return e.tok
	}
	return nil
}

// put caches tok for key as the most recently used entry. When the cache
// is full it evicts the least recently used entry, so it stays within its
// size without any background work.
func (c *tokenCache) put(key string, tok *client.Token, now time.Time) {
	if c == nil || tok == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		e.tok, e.until = tok, now.Add(c.ttl)
		if c.root.next != e {
			c.unlink(e)
			c.pushFront(e)
		}
		return
	}
	for len(c.m) >= c.size && c.root.prev != &c.root {
		c.remove(c.root.prev)
	}
	e := &cacheEntry{key: key, tok: tok, until: now.Add(c.ttl)}
	c.m[key] = e
	c.pushFront(e)
}

// drop forgets key.
func (c *tokenCache) drop(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		c.remove(e)
	}
	c.mu.Unlock()
}

// len returns the number of cached entries.
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
