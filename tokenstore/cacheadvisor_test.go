package tokenstore_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// ownStore is a store written outside the package, as an app would: it
// counts its reads and passes everything on to a Memory store it wraps.
// Embedding the Store interface promotes Get, Put and Delete only, so the
// Memory store's own answer to CacheAdvisor does not leak through.
type ownStore struct {
	tokenstore.Store
	gets atomic.Int64
}

func (s *ownStore) Get(ctx context.Context, key string) (*client.Token, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

// advisedStore is an ownStore that answers CacheAdvisor.
type advisedStore struct {
	ownStore
	cacheable bool
}

func (s *advisedStore) Cacheable() bool { return s.cacheable }

var _ tokenstore.CacheAdvisor = (*advisedStore)(nil)

func TestBuiltInStoresAdviseAgainstTheCache(t *testing.T) {
	var m tokenstore.Store = tokenstore.NewMemory()
	var s tokenstore.Store = tokenstore.NewSession(scs.New(), tokenstore.SessionConfig{})
	for _, st := range []tokenstore.Store{m, s} {
		a, ok := st.(tokenstore.CacheAdvisor)
		require.True(t, ok, "%T", st)
		assert.False(t, a.Cacheable(), "%T", st)
	}
}

// TestSourceAsksTheStoreWhetherToCache: a store of one's own that opts out
// through CacheAdvisor gets what the Memory store gets (no cache: a token
// deleted behind the Source's back is gone at once); one that opts in, or
// does not answer, gets the cache (the token is served until CacheTTL).
func TestSourceAsksTheStoreWhetherToCache(t *testing.T) {
	tests := []struct {
		name   string
		store  func() tokenstore.Store
		cached bool
	}{
		{"Memory", func() tokenstore.Store { return tokenstore.NewMemory() }, false},
		{"own store opting out", func() tokenstore.Store {
			return &advisedStore{ownStore: ownStore{Store: tokenstore.NewMemory()}, cacheable: false}
		}, false},
		{"own store opting in", func() tokenstore.Store {
			return &advisedStore{ownStore: ownStore{Store: tokenstore.NewMemory()}, cacheable: true}
		}, true},
		{"own store without CacheAdvisor", func() tokenstore.Store {
			return &ownStore{Store: tokenstore.NewMemory()}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 0)
			st := tc.store()
			user := e.users[0]
			tok := e.login(t, st, user)
			src := e.source(t, tokenstore.SourceConfig{Store: st})
			ctx := t.Context()
			for range 3 {
				got, err := src.Token(ctx, user)
				require.NoError(t, err)
				assert.Equal(t, tok.AccessToken, got.AccessToken)
			}
			if c, ok := counted(st); ok {
				want := int64(3)
				if tc.cached {
					want = 1
				}
				assert.Equal(t, want, c.gets.Load(), "store reads for three calls")
			}

			// Another instance deletes the token.
			require.NoError(t, st.Delete(ctx, user))
			got, err := src.Token(ctx, user)
			if tc.cached {
				require.NoError(t, err, "the cache serves the token until CacheTTL")
				assert.Equal(t, tok.AccessToken, got.AccessToken)
				return
			}
			require.ErrorIs(t, err, tokenstore.ErrLoginRequired, "without a cache the deletion is seen at once")
		})
	}
}

// counted returns the ownStore inside st, if there is one.
func counted(st tokenstore.Store) (*ownStore, bool) {
	switch s := st.(type) {
	case *ownStore:
		return s, true
	case *advisedStore:
		return &s.ownStore, true
	}
	return nil, false
}
