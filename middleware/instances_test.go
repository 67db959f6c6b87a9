package middleware_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// TestKilledTokenTwoInstances runs two instances of an app (each with its
// own client, SQL store, token source and session manager) on one SQLite
// database and one session store. TikTok kills the access token; 25
// concurrent requests on separate connections, spread over both instances,
// all meet the dead token: all succeed and TikTok sees exactly one refresh.
func TestKilledTokenTwoInstances(t *testing.T) {
	clock := testutil.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	emu := tiktoktest.NewServer(tiktoktest.Config{Clock: clock.Now,
		Users: append([]tiktoktest.User{{OpenID: alice, DisplayName: "Alice"}}, tiktoktest.DefaultUsers()...)})
	t.Cleanup(emu.Close)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "tokens.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	sessionStore := memstore.NewWithCleanupInterval(0)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))

	var servers [2]*httptest.Server
	for i := range servers {
		c, err := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
			AuthURL: emu.AuthURL(), APIURL: emu.APIURL(), Clock: clock.Now, Logger: logger,
			Retry: client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
		require.NoError(t, err)
		store, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Logger: logger, Clock: clock.Now})
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		if i == 0 {
			require.NoError(t, store.Migrate(context.Background()))
		}
		src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: store, Client: c, Logger: logger})
		require.NoError(t, err)
		sm := scs.New()
		sm.Store = sessionStore
		guard, err := middleware.New(middleware.Config{Tokens: src, Sessions: sm, Logger: logger})
		require.NoError(t, err)
		mux := http.NewServeMux()
		mux.Handle("GET "+loginURL, testLogin(emu, src, sm, clock.Now))
		mux.Handle("GET /info", guard.RequireTikTokFunc(userInfo))
		servers[i] = httptest.NewServer(sm.LoadAndSave(mux))
		t.Cleanup(servers[i].Close)
	}

	// Log in on the first instance; the cookie jar sends the session cookie
	// to both (same host), as a load balancer in front of them would.
	browser := (&env{t: t}).newUser().c
	on := func(i int) *user { return &user{e: &env{t: t, srv: servers[i]}, c: browser} }
	require.Equal(t, http.StatusNoContent, on(0).do(http.MethodGet, loginURL+"?open_id="+alice, "").status)
	for i := range servers { // both caches hold the token now
		require.Equal(t, http.StatusOK, on(i).api("/info").status)
	}

	emu.ResetCounters()
	emu.KillAccessTokens()
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 250 * time.Millisecond})
	const n = 25
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Jar: browser.Jar, Transport: &http.Transport{DisableKeepAlives: true}}
			req, _ := http.NewRequest(http.MethodGet, servers[i%2].URL+"/info", nil)
			req.Header.Set("Accept", acceptJSON)
			resp, err := c.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, http.StatusOK, statuses[i], "request %d", i)
	}
	assert.Equal(t, 1, emu.Grants("refresh_token"), "one refresh across both instances")
	assert.Equal(t, 0, emu.RefreshTokenReuse())
}
