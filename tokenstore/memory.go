package tokenstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// Memory is a Store that keeps tokens in a map in this process. It is meant
// for tests, examples and single-instance apps that accept that every user
// logs in again after a restart. It implements Leaser (in this process only),
// Replacer, Lister and CacheAdvisor (a Source keeps no cache in front of
// it). It starts no goroutines and needs no closing.
//
// Put stores a copy; Get returns the stored pointer without copying (no
// allocation), which callers treat as read-only as the Store contract says.
type Memory struct {
	mu     sync.RWMutex
	tokens map[string]*client.Token
	leases map[string]memLease
	now    func() time.Time
}

type memLease struct {
	holder string
	until  time.Time
}

var (
	_ Store        = (*Memory)(nil)
	_ Leaser       = (*Memory)(nil)
	_ Lister       = (*Memory)(nil)
	_ Replacer     = (*Memory)(nil)
	_ CacheAdvisor = (*Memory)(nil)

	_ LeaseTakeover = (*Memory)(nil)
	_ LeaseClearer  = (*Memory)(nil)
)

// NewMemory returns an empty Memory store. Leases expire on the wall clock.
func NewMemory() *Memory {
	return &Memory{
		tokens: make(map[string]*client.Token),
		leases: make(map[string]memLease),
		now:    time.Now,
	}
}

// Cacheable returns false: a Source's cache would only copy this store's
// map (see CacheAdvisor).
func (m *Memory) Cacheable() bool { return false }

// Get returns the token under key or an error wrapping ErrNotFound. The
// token is shared: do not modify it.
func (m *Memory) Get(_ context.Context, key string) (*client.Token, error) {
	m.mu.RLock()
	tok := m.tokens[key]
	m.mu.RUnlock()
	if tok == nil {
		return nil, notFound(key)
	}
	return tok, nil
}

// Put stores a copy of tok under key.
func (m *Memory) Put(_ context.Context, key string, tok *client.Token) error {
	if tok == nil {
		return errNilToken
	}
	c := copyToken(tok)
	m.mu.Lock()
	m.tokens[key] = c
	m.mu.Unlock()
	return nil
}

// Replace implements Replacer: it stores a copy of tok only when key still
// holds old.
func (m *Memory) Replace(_ context.Context, key string, old, tok *client.Token) (bool, error) {
	if tok == nil || old == nil {
		return false, errNilToken
	}
	c := copyToken(tok)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !sameToken(m.tokens[key], old) {
		return false, nil
	}
	m.tokens[key] = c
	return true, nil
}

// Delete removes the token under key, and any lease on it.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.tokens, key)
	delete(m.leases, key)
	m.mu.Unlock()
	return nil
}

// Keys returns the keys that hold a token, sorted.
func (m *Memory) Keys(_ context.Context) ([]string, error) {
	m.mu.RLock()
	keys := make([]string, 0, len(m.tokens))
	for k := range m.tokens {
		keys = append(keys, k)
	}
	m.mu.RUnlock()
	slices.Sort(keys)
	return keys, nil
}

// PutClearLease implements LeaseClearer: Put that also ends any lease on
// key.
func (m *Memory) PutClearLease(_ context.Context, key string, tok *client.Token) error {
	if tok == nil {
		return errNilToken
	}
	c := copyToken(tok)
	m.mu.Lock()
	m.tokens[key] = c
	delete(m.leases, key)
	m.mu.Unlock()
	return nil
}

// TryLease implements Leaser within this process.
func (m *Memory) TryLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	won, _, err := m.TryLeaseTakeover(ctx, key, holder, ttl)
	return won, err
}

// TryLeaseTakeover implements LeaseTakeover within this process.
func (m *Memory) TryLeaseTakeover(_ context.Context, key, holder string, ttl time.Duration) (won, tookOver bool, err error) {
	if holder == "" {
		return false, false, errEmptyHolder
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	l, held := m.leases[key]
	other := held && l.holder != holder
	if other && now.Before(l.until) && !l.until.After(now.Add(maxLeaseAhead(ttl))) {
		return false, false, nil
	}
	m.leases[key] = memLease{holder: holder, until: now.Add(ttl)}
	return true, other, nil
}

// ReleaseLease implements Leaser within this process.
func (m *Memory) ReleaseLease(_ context.Context, key, holder string) error {
	m.mu.Lock()
	if l, ok := m.leases[key]; ok && l.holder == holder {
		delete(m.leases, key)
	}
	m.mu.Unlock()
	return nil
}
