package main

import (
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
)

// TestTwoInstancesSharePostgres runs two instances of the app, each with
// its own connection pool, token source and HTTP server, on one PostgreSQL
// database and one emulator reached over HTTP (TIKTOK_EMULATOR_URL), as two
// processes behind a load balancer would. Both use instance A's callback as
// the redirect URI. A user who logs in through A is logged in on B (the
// session and the token are in the database); when the access token
// expires, concurrent requests spread over both instances cause exactly
// one refresh, and no refresh token is presented twice.
func TestTwoInstancesSharePostgres(t *testing.T) {
	dsn := testpg.OpenDSN(t)
	emu := tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true})
	t.Cleanup(emu.Close)
	keys := testKeys(t, "shared-1")
	env := func(instance string) map[string]string {
		return map[string]string{
			"DATABASE_URL":         dsn,
			"TIKTOK_EMULATOR_URL":  emu.URL,
			"TIKTOKKIT_TOKEN_KEYS": keys,
			"TIKTOKKIT_INSTANCE":   instance,
		}
	}
	jar, err := cookiejar.New(nil) // one browser; cookies ignore the port
	require.NoError(t, err)
	opts := appOptions{Clock: emu.Now}
	a := startApp(t, env("a"), opts, "", jar)
	b := startApp(t, env("b"), opts, a.srv.URL+"/auth/tiktok/callback", jar)
	require.Nil(t, a.emu, "the instances use the shared emulator")
	user := emu.Users()[0]

	status, _ := b.apiMe(t)
	require.Equal(t, http.StatusUnauthorized, status)
	a.login(t)

	// B sees the login A made: the session and the token are shared.
	status, me := b.apiMe(t)
	require.Equal(t, http.StatusOK, status, me)
	assert.Equal(t, user.OpenID, me["open_id"])
	resp := b.do(t, http.MethodGet, "/me", htmlAccept, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, readBody(t, resp), user.DisplayName)
	assert.Contains(t, readBody(t, b.do(t, http.MethodGet, "/", htmlAccept, nil)), "PostgreSQL")
	assertEncryptedAtRest(t, b.app, user.OpenID)
	assert.Contains(t, a.logs.String(), "instance=a")
	assert.Contains(t, b.logs.String(), "instance=b")

	// The access token expires. Slow TikTok's token endpoint down so that
	// the instances' refreshes would overlap if both tried.
	emu.AdvanceClock(25 * time.Hour)
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 20 * time.Millisecond})
	const requests = 16
	statuses := make([]int, requests)
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range requests {
		ta := a
		if i%2 == 1 {
			ta = b
		}
		wg.Go(func() {
			<-begin
			req, err := http.NewRequest(http.MethodGet, ta.srv.URL+"/api/me", nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Accept", "application/json")
			resp, err := ta.http.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(begin)
	wg.Wait()
	for i, s := range statuses {
		assert.Equal(t, http.StatusOK, s, "request %d", i)
	}
	assert.Equal(t, 1, emu.Grants("refresh_token"), "exactly one refresh for both instances")
	assert.Zero(t, emu.RefreshTokenReuse(), "no refresh token presented twice")
	assertEncryptedAtRest(t, a.app, user.OpenID)

	// Disconnect through B logs the user out on A too.
	m := csrfField.FindStringSubmatch(readBody(t, b.do(t, http.MethodGet, "/me", htmlAccept, nil)))
	require.Len(t, m, 2)
	resp = b.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, map[string][]string{"csrf_token": {htmlUnescape(m[1])}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	status, _ = a.apiMe(t)
	assert.Equal(t, http.StatusUnauthorized, status)
}
