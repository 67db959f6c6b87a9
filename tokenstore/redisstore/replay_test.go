package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/handlers/webhook/webhooktest"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

func newReplayStore(t testing.TB, rdb redis.UniversalClient) *redisstore.ReplayStore {
	t.Helper()
	s, err := redisstore.NewReplayStore(rdb, redisstore.ReplayConfig{Prefix: testredis.Prefix(t, rdb)})
	require.NoError(t, err)
	return s
}

// replayKey spells the Redis key name the package documents.
func replayKey(s *redisstore.ReplayStore, id string) string {
	h := sha256.Sum256([]byte(id))
	return s.Prefix() + "replay:" + hex.EncodeToString(h[:])
}

func TestReplayStoreContract(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			rdb := srv.client(t)
			webhooktest.RunReplayStore(t, func(t *testing.T) webhook.ReplayStore { return newReplayStore(t, rdb) })
		})
	}
}

// TestReplayStoreKeys: a claim is one key under the documented name that
// expires with the claim and holds no signature.
func TestReplayStoreKeys(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.Client(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := redisstore.NewReplayStore(rdb, redisstore.ReplayConfig{
		Prefix: testredis.Prefix(t, rdb), Clock: func() time.Time { return now },
	})
	require.NoError(t, err)
	sig := strings.Repeat("cd", 32)
	ok, err := s.Claim(ctx, sig, now.Add(10*time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	keys, err := rdb.Keys(ctx, s.Prefix()+"*").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{replayKey(s, sig)}, keys)
	assert.NotContains(t, keys[0], sig, "the key holds a hash of the signature")
	v, err := rdb.Get(ctx, keys[0]).Result()
	require.NoError(t, err)
	assert.Equal(t, "1", v)
	ttl, err := rdb.PTTL(ctx, keys[0]).Result()
	require.NoError(t, err)
	assert.InDelta(t, (10 * time.Minute).Seconds(), ttl.Seconds(), 5, "the key lives until the claim's expiry")

	ok, err = s.Claim(ctx, "short", now.Add(time.Microsecond))
	require.NoError(t, err)
	assert.True(t, ok, "a claim of less than a millisecond is kept for one")

	require.NoError(t, s.Release(ctx, sig))
	n, err := rdb.Exists(ctx, replayKey(s, sig)).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "Release deletes the key")
}

func TestReplayStoreConfig(t *testing.T) {
	_, err := redisstore.NewReplayStore(nil, redisstore.ReplayConfig{})
	require.Error(t, err)
	rdb := testredis.Client(t)
	for _, p := range []string{"app{x}:", "a{", "b}"} {
		_, err = redisstore.NewReplayStore(rdb, redisstore.ReplayConfig{Prefix: p})
		require.ErrorContains(t, err, "must not contain", p)
	}
	s, err := redisstore.NewReplayStore(rdb, redisstore.ReplayConfig{})
	require.NoError(t, err)
	assert.Equal(t, redisstore.DefaultPrefix, s.Prefix())
}

// TestReplayStoreRedisDown: every call is an error that says Redis is
// unreachable and never holds the id.
func TestReplayStoreRedisDown(t *testing.T) {
	srv := testredis.StartServer(t)
	s, err := redisstore.NewReplayStore(srv.Client(t), redisstore.ReplayConfig{})
	require.NoError(t, err)
	const sig = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2"
	srv.Stop()
	for name, call := range map[string]func() error{
		"claim":         func() error { _, err := s.Claim(t.Context(), sig, time.Now().Add(time.Minute)); return err },
		"expired claim": func() error { _, err := s.Claim(t.Context(), sig, time.Now().Add(-time.Minute)); return err },
		"release":       func() error { return s.Release(t.Context(), sig) },
	} {
		err := call()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "Redis unreachable", name)
		assert.NotContains(t, err.Error(), sig, name)
	}
	require.NoError(t, srv.Start())
	ok, err := s.Claim(t.Context(), sig, time.Now().Add(time.Minute))
	require.NoError(t, err, "back when Redis is")
	assert.True(t, ok)
}

// TestReplayStoreSharedByHandlers: two instances of an app, each with its
// own Redis client, store and handler; a delivery replayed to the other
// instance is acknowledged and not handled again.
func TestReplayStoreSharedByHandlers(t *testing.T) {
	const secret = "test-client-secret"
	prefix := testredis.Prefix(t, testredis.ClusterClient(t))
	var handled atomic.Int32
	var servers []*httptest.Server
	for range 2 {
		s, err := redisstore.NewReplayStore(testredis.ClusterClient(t), redisstore.ReplayConfig{Prefix: prefix})
		require.NoError(t, err)
		h, err := webhook.New(webhook.Config{
			ClientSecret: secret,
			ReplayStore:  s,
			Logger:       slog.New(slog.DiscardHandler),
			OnEvent:      func(context.Context, webhook.Event) error { handled.Add(1); return nil },
		})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
	}
	body := `{"client_key":"k","event":"post.publish.complete","create_time":1777636800,"user_openid":"u","content":"{\"publish_id\":\"p\"}"}`
	sig := webhook.Sign(secret, time.Now(), []byte(body))
	for _, srv := range servers {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set(webhook.SignatureHeader, sig)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.EqualValues(t, 1, handled.Load(), "handled once, by the first instance")
}
