package redisstore_test

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/internal/testtoken"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// clock is the time shared by the emulator, the client, the Sources and
// the stores: the wall clock plus an offset that tests push forward to
// expire tokens.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is an emulator that rotates refresh tokens strictly, and a client of
// it.
type env struct {
	emu    *tiktoktest.Server
	clock  *clock
	client *client.Client
	users  []string
}

func newEnv(t testing.TB, users int) *env {
	t.Helper()
	e := &env{clock: new(clock)}
	cfg := tiktoktest.Config{Clock: e.clock.Now}
	for i := range users {
		id := fmt.Sprintf("-000user%03d", i)
		cfg.Users = append(cfg.Users, tiktoktest.User{OpenID: id, DisplayName: "User " + id})
		e.users = append(e.users, id)
	}
	e.emu = tiktoktest.NewServer(cfg)
	t.Cleanup(e.emu.Close)
	cl, err := client.New(client.Config{
		ClientKey:    e.emu.ClientKey(),
		ClientSecret: e.emu.ClientSecret(),
		AuthURL:      e.emu.AuthURL(),
		APIURL:       e.emu.APIURL(),
		Clock:        e.clock.Now,
		Logger:       slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	e.client = cl
	return e
}

// login mints a grant for user at the emulator and saves it, as the login
// callback would.
func (e *env) login(t testing.TB, st tokenstore.Store, user string) *client.Token {
	t.Helper()
	r, err := e.emu.IssueToken(user)
	require.NoError(t, err)
	tok := testtoken.FromEmulator(r, e.clock.Now())
	require.NoError(t, st.Put(t.Context(), user, tok))
	return tok
}

func (e *env) source(t testing.TB, st tokenstore.Store, onDrop func(string, error)) *tokenstore.Source {
	t.Helper()
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{
		Store: st, Client: e.client, OnDrop: onDrop, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return src
}

func (e *env) refreshes() int { return e.emu.Grants("refresh_token") }

// TestTwoInstancesOneRefresh runs two instances of an app (two Sources with
// their own caches and Redis connection pools) on one Redis, against an
// emulator that rotates refresh tokens strictly. Every access token
// expires three times while concurrent requests for every user are spread
// over both instances: each expiry costs exactly one refresh per user, no
// refresh token is presented twice, and no one is logged out.
func TestTwoInstancesOneRefresh(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(testing.TB) redis.UniversalClient
	}{
		{"standalone", testredis.Client},
		{"cluster", testredis.ClusterClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const users, requests, expiries = 10, 100, 3
			e := newEnv(t, users)
			ring := testKeyRing(t, "k1")
			var dropped atomic.Int32
			onDrop := func(string, error) { dropped.Add(1) }
			first := newStore(t, tc.client(t), ring)
			srcs := []*tokenstore.Source{
				e.source(t, first, onDrop),
				e.source(t, newStoreWithPrefix(t, tc.client(t), ring, first.Prefix()), onDrop),
			}
			for _, u := range e.users {
				e.login(t, first, u)
			}
			// Slow TikTok down a little so that refreshes overlap with
			// requests on the other instance.
			e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 5 * time.Millisecond})
			for round := 1; round <= expiries; round++ {
				e.clock.Advance(25 * time.Hour) // past every access token's expiry
				var wg sync.WaitGroup
				begin := make(chan struct{})
				got := make([]*client.Token, requests)
				for i := range requests {
					wg.Go(func() {
						<-begin
						user := e.users[i%users]
						tok, err := srcs[(i/users)%len(srcs)].Token(t.Context(), user)
						switch {
						case err != nil:
							t.Errorf("round %d, %s: %v", round, user, err)
						case !tok.Valid(e.clock.Now()) || tok.OpenID != user:
							t.Errorf("round %d, %s: an invalid token %v", round, user, tok)
						}
						got[i] = tok
					})
				}
				close(begin)
				wg.Wait()
				require.Equal(t, users*round, e.refreshes(), "round %d: exactly one refresh per user per expiry", round)
				for i := users; i < requests; i++ {
					if got[i] != nil && got[i%users] != nil {
						assert.Equal(t, got[i%users].AccessToken, got[i].AccessToken, "round %d: both instances hand out one token", round)
					}
				}
			}
			assert.Zero(t, e.emu.RefreshTokenReuse(), "no refresh token presented twice")
			assert.Zero(t, dropped.Load(), "no user logged out")
			for _, u := range e.users {
				tok, err := first.Get(t.Context(), u)
				require.NoError(t, err, "user %s logged out", u)
				assert.True(t, tok.Valid(e.clock.Now()))
			}
		})
	}
}

// TestRedisDown: while Redis is down every call fails with a clear error
// that is not ErrNotFound, a Source keeps the token and logs no one out,
// and once Redis is back everything is where it was.
func TestRedisDown(t *testing.T) {
	ctx := t.Context()
	srv := testredis.StartServer(t)
	e := newEnv(t, 1)
	user := e.users[0]
	st, err := redisstore.New(srv.Client(t), redisstore.Config{Keys: testKeyRing(t, "k1"), Clock: e.clock.Now})
	require.NoError(t, err)
	var dropped atomic.Int32
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{
		Store: st, Client: e.client, CacheSize: -1, Logger: slog.New(slog.DiscardHandler),
		OnDrop: func(string, error) { dropped.Add(1) },
	})
	require.NoError(t, err)
	saved := e.login(t, st, user)

	srv.Stop()
	unreachable := func(err error) {
		t.Helper()
		require.Error(t, err)
		assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
		assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
		assert.ErrorContains(t, err, "Redis unreachable")
	}
	_, err = st.Get(ctx, user)
	unreachable(err)
	assert.ErrorContains(t, err, fmt.Sprintf("redisstore: get %q", user))
	unreachable(st.Put(ctx, "other", saved))
	_, err = st.Replace(ctx, user, saved, saved)
	unreachable(err)
	_, err = st.TryLease(ctx, user, "h", time.Second)
	unreachable(err)
	unreachable(st.ReleaseLease(ctx, user, "h"))
	_, err = st.Keys(ctx)
	unreachable(err)
	unreachable(st.Delete(ctx, user))

	e.clock.Advance(25 * time.Hour) // the Source has to read and refresh
	_, err = src.Token(ctx, user)
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired, "a Redis that is down must not log the user out")
	assert.Zero(t, e.refreshes(), "no refresh without the lease")

	require.NoError(t, srv.Start())
	var tok *client.Token
	require.Eventually(t, func() bool { // the pool may hold connections broken by the stop
		tok, err = src.Token(ctx, user)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "after Redis came back: %v", err)
	assert.True(t, tok.Valid(e.clock.Now()))
	assert.Equal(t, 1, e.refreshes())
	assert.Zero(t, e.emu.RefreshTokenReuse())
	assert.Zero(t, dropped.Load(), "no one logged out")
	stored, err := st.Get(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, stored.AccessToken, "the refreshed token was saved")
	assert.False(t, errors.Is(err, tokenstore.ErrNotFound))
}

// TestClosedPort: a store on a port nothing listens on fails at once with
// a clear error.
func TestClosedPort(t *testing.T) {
	srv := testredis.StartServer(t)
	c := srv.Client(t)
	srv.Stop()
	st, err := redisstore.New(c, redisstore.Config{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	_, err = st.Get(t.Context(), "u")
	require.ErrorContains(t, err, "Redis unreachable")
	require.ErrorContains(t, err, srv.Addr())
}
