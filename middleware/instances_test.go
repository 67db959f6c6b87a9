package middleware_test

import (
	"context"
	"database/sql"
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

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testharness"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// TestKilledTokenTwoInstances runs two instances of an app (each with its
// own client, SQL store, token source and session manager) on one SQLite
// database and one session store. TikTok kills the access token; 25
// concurrent requests on separate connections, spread over both instances,
// all meet the dead token: all succeed and TikTok sees exactly one refresh.
func TestKilledTokenTwoInstances(t *testing.T) {
	clock := testharness.NewClock()
	emu := tiktoktest.NewServer(tiktoktest.Config{Clock: clock.Now,
		Users: testharness.Users(tiktoktest.User{OpenID: alice, DisplayName: "Alice"})})
	t.Cleanup(emu.Close)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "tokens.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	sessionStore := memstore.NewWithCleanupInterval(0)
	logger, _ := testharness.NewLogger()

	var servers [2]*httptest.Server
	for i := range servers {
		c := testharness.NewClient(t, emu, clock.Now, logger, nil)
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
		mux.Handle("GET /info", guard.RequireTikTokFunc(testharness.UserInfoJSON))
		servers[i] = httptest.NewServer(sm.LoadAndSave(mux))
		t.Cleanup(servers[i].Close)
	}

	// Log in on the first instance; the cookie jar sends the session cookie
	// to both (same host), as a load balancer in front of them would.
	browser := testharness.NewBrowser(t, servers[0])
	on := func(i int) *user { return browser.At(servers[i].URL) }
	require.Equal(t, http.StatusNoContent, on(0).Do(http.MethodGet, loginURL+"?open_id="+alice, "").Status)
	for i := range servers { // both caches hold the token now
		require.Equal(t, http.StatusOK, on(i).GetJSON("/info").Status)
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
			req.Header.Set("Accept", testharness.AcceptJSON)
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
