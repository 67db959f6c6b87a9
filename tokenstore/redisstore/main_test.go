package redisstore_test

import (
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

func TestMain(m *testing.M) { testredis.Main(m) }

// newStore returns a store on rdb under a prefix of its own, whose keys are
// deleted when the test ends.
func newStore(t testing.TB, rdb redis.UniversalClient, ring *tokenstore.KeyRing) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(rdb, redisstore.Config{
		Prefix: testredis.Prefix(t, rdb),
		Keys:   ring,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return st
}

// newStoreWithPrefix returns a store on rdb under prefix: another instance
// of the app that made the first store there.
func newStoreWithPrefix(t testing.TB, rdb redis.UniversalClient, ring *tokenstore.KeyRing, prefix string) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(rdb, redisstore.Config{Prefix: prefix, Keys: ring, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return st
}

func testKeyRing(t testing.TB, ids ...string) *tokenstore.KeyRing {
	t.Helper()
	var keys []tokenstore.EncryptionKey
	for _, id := range ids {
		k, _, err := tokenstore.GenerateEncryptionKey(id)
		require.NoError(t, err)
		keys = append(keys, k)
	}
	ring, err := tokenstore.NewKeyRing(keys[0], keys[1:]...)
	require.NoError(t, err)
	return ring
}
