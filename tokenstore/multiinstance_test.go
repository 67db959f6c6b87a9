package tokenstore_test

import (
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// TestMultiInstancePostgres runs two instances of an app (two Sources with
// their own caches, flights and connection pools) on one PostgreSQL token
// table, against an emulator that rotates refresh tokens strictly. Every
// access token expires five times while 200 concurrent requests for 20
// users are spread over both instances. No user may be logged out, and
// each user's token must be refreshed exactly once per expiry.
func TestMultiInstancePostgres(t *testing.T) {
	const (
		users     = 20
		requests  = 200
		instances = 2
		expiries  = 5
	)
	e := newEnv(t, users)
	dsn := testpg.OpenDSN(t)
	ring := testKeyRing(t, "k1")
	var dropped atomic.Int32
	srcs := make([]*tokenstore.Source, instances)
	var first *tokenstore.SQL
	for i := range srcs {
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		db.SetMaxOpenConns(20)
		t.Cleanup(func() { db.Close() })
		st := newSQLStore(t, db, tokenstore.Postgres, ring)
		if first == nil {
			first = st
		}
		srcs[i] = e.source(t, tokenstore.SourceConfig{Store: st, OnDrop: func(string, error) { dropped.Add(1) }})
	}
	for _, u := range e.users {
		e.login(t, first, u)
	}
	// Slow TikTok down a little so that refreshes overlap with requests
	// on the other instance.
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 5 * time.Millisecond})

	start := time.Now()
	for round := 1; round <= expiries; round++ {
		e.expire()
		var wg sync.WaitGroup
		errs := make(chan error, requests)
		begin := make(chan struct{})
		for i := range requests {
			wg.Go(func() {
				<-begin
				user := e.users[i%users]
				src := srcs[(i/users)%instances]
				tok, err := src.Token(t.Context(), user)
				switch {
				case err != nil:
					errs <- fmt.Errorf("round %d, %s: %w", round, user, err)
				case !tok.Valid(e.clock.Now()) || tok.OpenID != user:
					errs <- fmt.Errorf("round %d, %s: got an invalid token %v", round, user, tok)
				}
			})
		}
		close(begin)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		require.Equal(t, users*round, e.refreshes(), "round %d: exactly one refresh per user per expiry", round)
	}
	assert.Zero(t, e.emu.RefreshTokenReuse(), "no refresh token presented twice")
	assert.Zero(t, dropped.Load(), "no user logged out")
	for _, u := range e.users {
		tok, err := first.Get(t.Context(), u)
		require.NoError(t, err, "user %s logged out", u)
		assert.True(t, tok.Valid(e.clock.Now()))
	}
	t.Logf("%d instances, %d users, %d expiries, %d requests: %d refreshes, 0 logged out, %v",
		instances, users, expiries, requests*expiries, e.refreshes(), time.Since(start).Round(time.Millisecond))
}

// TestMultiInstanceForceRefreshPostgres: both instances meet one dead
// access token at once; one refresh serves them all.
func TestMultiInstanceForceRefreshPostgres(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	dsn := testpg.OpenDSN(t)
	var srcs []*tokenstore.Source
	var first *tokenstore.SQL
	for range 2 {
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		db.SetMaxOpenConns(10)
		t.Cleanup(func() { db.Close() })
		st := newSQLStore(t, db, tokenstore.Postgres, nil)
		if first == nil {
			first = st
		}
		srcs = append(srcs, e.source(t, tokenstore.SourceConfig{Store: st}))
	}
	dead := e.login(t, first, user)
	e.emu.KillAccessTokens()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 50 * time.Millisecond, Times: 1})
	var wg sync.WaitGroup
	toks := make([]*client.Token, 25)
	errs := make([]error, 25)
	for i := range toks {
		wg.Go(func() { toks[i], errs[i] = srcs[i%2].ForceRefresh(t.Context(), user, dead) })
	}
	wg.Wait()
	for i := range toks {
		require.NoError(t, errs[i])
		assert.Equal(t, toks[0].AccessToken, toks[i].AccessToken)
	}
	assert.NotEqual(t, dead.AccessToken, toks[0].AccessToken)
	assert.Equal(t, 1, e.refreshes())
	assert.Zero(t, e.emu.RefreshTokenReuse())
}
