package redisstore_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// TestOutageLongerThanTheLease: instance A refreshes a token (TikTok
// rotates the refresh token) and Redis goes down before A can save it, for
// more than twice the lease time. Instance B serves the user during the
// outage and after it. Nobody is logged out, TikTok never sees the old
// refresh token again, and A saves its token once Redis is back.
func TestOutageLongerThanTheLease(t *testing.T) {
	const lease, outage = 2 * time.Second, 5 * time.Second
	srv := testredis.StartServer(t)
	e := newEnv(t, 1)
	user := e.users[0]
	ring := testKeyRing(t, "k1")
	var dropped atomic.Int32
	var stores [2]*redisstore.Store
	var srcs [2]*tokenstore.Source
	for i := range srcs {
		rdb := srv.Client(t)
		if i == 0 {
			stores[i] = newStore(t, rdb, ring)
		} else {
			stores[i] = newStoreWithPrefix(t, rdb, ring, stores[0].Prefix())
		}
		src, err := tokenstore.NewSource(tokenstore.SourceConfig{
			Store: stores[i], Client: e.client, LeaseTTL: lease, Logger: slog.New(slog.DiscardHandler),
			OnDrop: func(string, error) { dropped.Add(1) },
		})
		require.NoError(t, err)
		srcs[i] = src
	}
	old := e.login(t, stores[0], user)
	e.clock.Advance(25 * time.Hour)

	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 300 * time.Millisecond, Times: 1})
	aDone := make(chan error, 1)
	go func() {
		_, err := srcs[0].Token(t.Context(), user)
		aDone <- err
	}()
	require.Eventually(t, func() bool { return e.emu.Counters().Calls[tiktoktest.EndpointToken] > 0 },
		5*time.Second, 5*time.Millisecond, "A asks TikTok")
	srv.Stop()
	stopped := time.Now()
	require.Error(t, <-aDone, "A cannot save")
	require.Equal(t, 1, e.refreshes())

	loggedOut := 0
	request := func() {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := srcs[1].Token(ctx, user); errors.Is(err, tokenstore.ErrLoginRequired) {
			loggedOut++
		}
	}
	for time.Since(stopped) < outage {
		request()
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, srv.Start())
	started := time.Now()
	for time.Since(started) < lease+lease/2 {
		request()
		time.Sleep(100 * time.Millisecond)
	}

	assert.Zero(t, loggedOut, "nobody is logged out")
	assert.Zero(t, dropped.Load())
	assert.Zero(t, e.emu.RefreshTokenReuse(), "TikTok never saw the old refresh token again")
	assert.Equal(t, 1, e.refreshes())
	stored, err := stores[1].Get(t.Context(), user)
	require.NoError(t, err, "the user's token is in Redis")
	assert.NotEqual(t, old.RefreshToken, stored.RefreshToken, "A's rotated token was saved")
	for _, src := range srcs {
		tok, err := src.Token(t.Context(), user)
		require.NoError(t, err)
		assert.Equal(t, stored.AccessToken, tok.AccessToken)
	}
}
