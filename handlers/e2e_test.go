package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers"
)

func hasNoStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		if strings.Contains(v, "no-store") {
			return true
		}
	}
	return false
}

func TestLoginFlow(t *testing.T) {
	for _, rt := range []router{serveMux, chiRouter} {
		t.Run(rt.String(), func(t *testing.T) {
			var got *handlers.AuthResult
			a := newApp(t, appOptions{router: rt, emu: tiktoktest.Config{PKCE: tiktoktest.PKCERequired},
				handlersCfg: func(c *handlers.Config) {
					c.OnLogin = func(_ context.Context, _ *http.Request, res *handlers.AuthResult) error {
						got = res
						return nil
					}
				}})
			b := a.newBrowser()

			r := b.get("/me?tab=videos")
			require.Equal(t, http.StatusFound, r.status)
			require.Equal(t, "/auth/tiktok/login?return_to=%2Fme%3Ftab%3Dvideos", r.location())

			hops := b.follow(r.location())
			require.Len(t, hops, 4, "login, authorize, callback, page")
			login, authorize, callback, page := hops[0], hops[1], hops[2], hops[3]

			// Login sends PKCE (the emulator requires it) and the configured scopes.
			au, err := url.Parse(login.location())
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(login.location(), a.emu.AuthURL()))
			q := au.Query()
			assert.Len(t, q.Get("code_challenge"), 64)
			assert.Equal(t, "S256", q.Get("code_challenge_method"))
			assert.Equal(t, "user.info.basic,user.info.profile", q.Get("scope"))
			assert.Len(t, q.Get("state"), 43)
			assert.Equal(t, a.srv.URL+"/auth/tiktok/callback", q.Get("redirect_uri"))
			assert.True(t, hasNoStore(login.header))

			require.Equal(t, http.StatusFound, authorize.status)
			require.Equal(t, http.StatusFound, callback.status, callback.body)
			assert.Equal(t, "/me?tab=videos", callback.location())
			assert.True(t, hasNoStore(callback.header))

			require.Equal(t, http.StatusOK, page.status)
			assert.Contains(t, page.body, "logged in as "+testOpenID)

			require.NotNil(t, got)
			assert.Equal(t, "tiktok", got.Provider)
			assert.Equal(t, testOpenID, got.UID)
			assert.Equal(t, "Alice", got.Profile.Name)
			assert.Equal(t, "alice", got.Profile.Nickname)
			assert.Equal(t, "hello", got.Profile.Description)
			assert.True(t, got.Profile.Verified)
			assert.NotEmpty(t, got.Profile.Image)
			assert.NotEmpty(t, got.Profile.ProfileURL)
			assert.ElementsMatch(t, []string{"user.info.basic", "user.info.profile"}, got.Credentials.Scopes)
			assert.NotEmpty(t, got.Credentials.Token)
			assert.False(t, got.Credentials.Expiry.IsZero())
			require.NotNil(t, got.RawProfile.User)
			assert.Contains(t, string(got.RawProfile.JSON), `"display_name"`)
			assert.NoError(t, got.RawProfile.FetchError)
			assert.Same(t, got.Token(), got.Token())
			assert.NotContains(t, got.String(), got.Credentials.Token)

			tok := a.storedToken(testOpenID)
			require.NotNil(t, tok)
			assert.Equal(t, got.Credentials.Token, tok.AccessToken)

			api := b.getJSON("/api/me")
			require.Equal(t, http.StatusOK, api.status, api.body)
			assert.JSONEq(t, `{"open_id":"`+testOpenID+`","display_name":"Alice"}`, api.body)
			assert.Equal(t, 1, a.emu.Grants("authorization_code"))
			a.assertNoSecretLeak()
		})
	}
}

func TestSessionCookie(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			a := newApp(t, appOptions{tls: tls})
			b := a.newBrowser()
			hops := b.login("/")
			callback := hops[2]
			var session *http.Cookie
			for _, c := range (&http.Response{Header: callback.header}).Cookies() {
				if c.Name == a.sm.Cookie.Name {
					session = c
				}
			}
			require.NotNil(t, session, "the callback sets the renewed session cookie")
			assert.True(t, session.HttpOnly, "HttpOnly")
			assert.Equal(t, http.SameSiteLaxMode, session.SameSite, "SameSite=Lax: Strict would break the redirect back")
			assert.Equal(t, "/", session.Path)
			assert.Equal(t, tls, session.Secure, "Secure on TLS")
		})
	}
}

func TestSessionRenewedAtLogin(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	r := b.get("/auth/tiktok/login")
	require.Equal(t, http.StatusFound, r.status)
	before := b.cookie(a.sm.Cookie.Name)
	require.NotNil(t, before, "login keeps the pending login in a session")

	auth := b.get(r.location())
	cb := b.get(auth.location())
	require.Equal(t, http.StatusFound, cb.status, cb.body)
	after := b.cookie(a.sm.Cookie.Name)
	require.NotNil(t, after)
	require.NotEqual(t, before.Value, after.Value, "the session token changes at login")
	require.Equal(t, http.StatusOK, b.getJSON("/api/me").status)

	// Someone who planted the old session cookie is not logged in.
	attacker := a.newBrowser()
	u, _ := url.Parse(a.srv.URL)
	attacker.jar.SetCookies(u, []*http.Cookie{{Name: a.sm.Cookie.Name, Value: before.Value, Path: "/"}})
	require.Equal(t, http.StatusUnauthorized, attacker.getJSON("/api/me").status)
}

func TestOpenRedirectRefused(t *testing.T) {
	a := newApp(t, appOptions{})
	tests := []struct {
		returnTo string
		want     string
	}{
		{"https://evil.example/", "/"},
		{"http://evil.example", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{`/\evil.example`, "/"},
		{`\\evil.example`, "/"},
		{"/%2F%2Fevil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%255C%255Cevil.example", "/"},
		{"/%0d%0aSet-Cookie:%20a=b", "/"},
		{"/\r\nSet-Cookie: a=b", "/"},
		{"/\tevil", "/"},
		{"/\t/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/caf\u00e9", "/"},
		{"", "/"},
		{"/me", "/me"},
		{"/me?tab=videos&x=%2F", "/me?tab=videos&x=%2F"},
		{"/a/b#top", "/a/b#top"},
	}
	for _, tc := range tests {
		t.Run(tc.returnTo, func(t *testing.T) {
			b := a.newBrowser()
			cb := b.toCallback("/auth/tiktok/login?return_to=" + url.QueryEscape(tc.returnTo))
			r := b.get(cb)
			require.Equal(t, http.StatusFound, r.status, r.body)
			assert.Equal(t, tc.want, r.location())
		})
	}
}

func TestDeniedConsent(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	a.emu.DenyNextConsent()
	hops := b.login("/me")
	last := hops[len(hops)-1]
	require.Equal(t, http.StatusBadRequest, last.status)
	assert.Contains(t, last.body, "cancelled")
	assert.True(t, hasNoStore(last.header))
	assert.Nil(t, a.storedToken(testOpenID))
	assert.Equal(t, 0, a.emu.Grants("authorization_code"))
	assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
	assert.Contains(t, a.logs.String(), "access_denied")

	// The pending login was used up by the denied callback.
	again := b.get(hops[len(hops)-1].url)
	assert.Equal(t, http.StatusBadRequest, again.status)
}

func TestAuthorizeServerError(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	a.emu.InjectFault(tiktoktest.EndpointAuthorize, tiktoktest.Fault{ErrorCode: "server_error", Times: 1})
	hops := b.login("/me")
	last := hops[len(hops)-1]
	assert.Equal(t, http.StatusBadGateway, last.status)
	assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
}

func TestTamperedState(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	cb := b.toCallback("/auth/tiktok/login")
	u, err := url.Parse(cb)
	require.NoError(t, err)
	q := u.Query()
	state := q.Get("state")
	last := state[len(state)-1]
	flipped := byte('A')
	if last == 'A' {
		flipped = 'B'
	}
	q.Set("state", state[:len(state)-1]+string(flipped))
	u.RawQuery = q.Encode()

	r := b.get(u.String())
	require.Equal(t, http.StatusBadRequest, r.status)
	assert.True(t, hasNoStore(r.header))
	assert.NotContains(t, r.body, state)

	// A mismatch discards the pending logins: the genuine callback is dead too.
	r = b.get(cb)
	require.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, 0, a.emu.Grants("authorization_code"), "no code was exchanged")
	assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
}

func TestReplayedCallback(t *testing.T) {
	a := newApp(t, appOptions{})
	victim := a.newBrowser()
	cb := victim.toCallback("/auth/tiktok/login")
	require.Equal(t, http.StatusFound, victim.get(cb).status)
	require.Equal(t, http.StatusOK, victim.getJSON("/api/me").status)

	t.Run("same browser", func(t *testing.T) {
		r := victim.get(cb)
		assert.Equal(t, http.StatusBadRequest, r.status)
	})
	t.Run("other browser", func(t *testing.T) {
		attacker := a.newBrowser()
		r := attacker.get(cb)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, http.StatusUnauthorized, attacker.getJSON("/api/me").status)
		assert.Nil(t, attacker.cookie(a.sm.Cookie.Name), "no session was made")
	})
	t.Run("other browser with its own pending login", func(t *testing.T) {
		attacker := a.newBrowser()
		own := attacker.toCallback("/auth/tiktok/login")
		ou, _ := url.Parse(own)
		vu, _ := url.Parse(cb)
		q := vu.Query()
		q.Set("state", ou.Query().Get("state"))
		vu.RawQuery = q.Encode()
		r := attacker.get(vu.String())
		assert.Equal(t, http.StatusBadGateway, r.status, "the used code (and the wrong verifier) fail the exchange")
		assert.Equal(t, http.StatusUnauthorized, attacker.getJSON("/api/me").status)
	})
	assert.Equal(t, 1, a.emu.Grants("authorization_code"))
	a.assertNoSecretLeak()
}

func TestPendingLogin(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		a := newApp(t, appOptions{})
		b := a.newBrowser()
		cb := b.toCallback("/auth/tiktok/login")
		a.clock.Advance(handlers.DefaultPendingTTL + time.Second)
		r := b.get(cb)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, 0, a.emu.Grants("authorization_code"))
	})
	t.Run("several tabs", func(t *testing.T) {
		a := newApp(t, appOptions{})
		b := a.newBrowser()
		first := b.toCallback("/auth/tiktok/login?return_to=%2Fone")
		second := b.toCallback("/auth/tiktok/login?return_to=%2Ftwo")
		r := b.get(second)
		require.Equal(t, http.StatusFound, r.status, r.body)
		assert.Equal(t, "/two", r.location())
		r = b.get(first)
		require.Equal(t, http.StatusFound, r.status, r.body)
		assert.Equal(t, "/one", r.location())
	})
	t.Run("oldest evicted", func(t *testing.T) {
		a := newApp(t, appOptions{handlersCfg: func(c *handlers.Config) { c.MaxPending = 2 }})
		b := a.newBrowser()
		first := b.toCallback("/auth/tiktok/login")
		second := b.toCallback("/auth/tiktok/login")
		third := b.toCallback("/auth/tiktok/login")
		assert.Equal(t, http.StatusFound, b.get(third).status)
		assert.Equal(t, http.StatusFound, b.get(second).status)
		assert.Equal(t, http.StatusBadRequest, b.get(first).status)
	})
}

func TestStepUpLogin(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")

	r := b.get("/auth/tiktok/login?scope=video.list&return_to=%2Fvideos")
	require.Equal(t, http.StatusFound, r.status)
	u, _ := url.Parse(r.location())
	assert.Equal(t, "user.info.basic,user.info.profile,video.list", u.Query().Get("scope"))

	r = b.get("/auth/tiktok/login?scope=video.publish")
	assert.Equal(t, http.StatusBadRequest, r.status, "a scope outside the allow-list is refused")

	hops := b.follow("/auth/tiktok/login?scope=video.list,user.info.stats")
	require.Equal(t, http.StatusOK, hops[len(hops)-1].status)
	tok := a.storedToken(testOpenID)
	require.NotNil(t, tok)
	assert.ElementsMatch(t, []string{"user.info.basic", "user.info.profile", "video.list", "user.info.stats"}, tok.Scopes)

	// A later step-up keeps what was granted.
	r = b.get("/auth/tiktok/login?scope=video.list")
	u, _ = url.Parse(r.location())
	assert.ElementsMatch(t, []string{"user.info.basic", "user.info.profile", "video.list", "user.info.stats"},
		strings.Split(u.Query().Get("scope"), ","))
}

func TestOnLoginRefused(t *testing.T) {
	refusal := errors.New("account not allowed")
	a := newApp(t, appOptions{handlersCfg: func(c *handlers.Config) {
		c.OnLogin = func(context.Context, *http.Request, *handlers.AuthResult) error { return refusal }
	}})
	b := a.newBrowser()
	hops := b.login("/me")
	last := hops[len(hops)-1]
	require.Equal(t, http.StatusForbidden, last.status)
	assert.NotContains(t, last.body, refusal.Error(), "the hook's error text is not shown")
	assert.Equal(t, 1, a.emu.Calls(tiktoktest.EndpointRevoke), "the refused token is revoked")
	assert.Nil(t, a.storedToken(testOpenID), "and not kept")
	assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
	assert.Contains(t, a.logs.String(), refusal.Error())
	a.assertNoSecretLeak()
}

func TestProfileFailureStillLogsIn(t *testing.T) {
	var got *handlers.AuthResult
	a := newApp(t, appOptions{handlersCfg: func(c *handlers.Config) {
		c.OnLogin = func(_ context.Context, _ *http.Request, res *handlers.AuthResult) error {
			got = res
			return nil
		}
	}})
	b := a.newBrowser()
	a.emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: http.StatusInternalServerError})
	hops := b.login("/me")
	a.emu.ClearFaults()
	require.Equal(t, http.StatusOK, hops[len(hops)-1].status)
	require.NotNil(t, got)
	assert.Equal(t, testOpenID, got.UID, "uid comes from the token response")
	assert.Error(t, got.RawProfile.FetchError)
	assert.Nil(t, got.RawProfile.User)
	assert.Empty(t, got.Profile.Name)
	assert.NotNil(t, a.storedToken(testOpenID))
}

func TestExchangeFailure(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	cb := b.toCallback("/auth/tiktok/login")
	a.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: http.StatusInternalServerError})
	r := b.get(cb)
	assert.Equal(t, http.StatusBadGateway, r.status)
	assert.NotContains(t, r.body, "internal_error", "no TikTok error text on the page")
	assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
}

func TestMalformedCallback(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	cb := b.toCallback("/auth/tiktok/login")
	for _, bad := range []string{
		cb + "&state=again",
		cb + "&code=again",
		strings.Replace(cb, "state=", "xstate=", 1),
		strings.Replace(cb, "code=", "xcode=", 1),
		cb + "&error=access_denied",
	} {
		r := b.get(bad)
		assert.Equal(t, http.StatusBadRequest, r.status, bad)
	}
	// Malformed queries were refused before the pending login was touched.
	assert.Equal(t, http.StatusFound, b.get(cb).status)
}

func TestDisconnect(t *testing.T) {
	tests := []struct {
		name       string
		opt        appOptions
		send       func(b *browser) *response
		wantStatus int
		loggedOut  bool
	}{
		{
			name: "POST with CSRF token",
			send: func(b *browser) *response {
				return b.post("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
			},
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
		{
			name: "POST with CSRF token on chi",
			opt:  appOptions{router: chiRouter},
			send: func(b *browser) *response {
				return b.post("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
			},
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
		{
			name:       "POST without CSRF token",
			send:       func(b *browser) *response { return b.post("/auth/tiktok/disconnect", nil) },
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "POST from another origin",
			send: func(b *browser) *response {
				req, _ := http.NewRequest(http.MethodPost, b.abs("/auth/tiktok/disconnect"),
					strings.NewReader(url.Values{"csrf_token": {b.csrf()}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://evil.example")
				return b.do(req)
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "GET",
			send:       func(b *browser) *response { return b.get("/auth/tiktok/disconnect") },
			wantStatus: http.StatusMethodNotAllowed,
		},
		{
			name:       "not wrapped by nosurf",
			opt:        appOptions{noCSRF: true},
			send:       func(b *browser) *response { return b.post("/auth/tiktok/disconnect", nil) },
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "not wrapped by nosurf, check skipped on purpose",
			opt:        appOptions{noCSRF: true, skipCSRF: true},
			send:       func(b *browser) *response { return b.post("/auth/tiktok/disconnect", nil) },
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, tc.opt)
			b := a.newBrowser()
			b.login("/")
			require.NotNil(t, a.storedToken(testOpenID))
			before := b.cookie(a.sm.Cookie.Name).Value

			r := tc.send(b)
			require.Equal(t, tc.wantStatus, r.status, r.body)
			if tc.wantStatus != http.StatusBadRequest { // 400 is nosurf's own answer
				assert.True(t, hasNoStore(r.header))
			}
			if tc.loggedOut {
				assert.Equal(t, "/", r.location())
				assert.Equal(t, 1, a.emu.Calls(tiktoktest.EndpointRevoke))
				assert.Nil(t, a.storedToken(testOpenID))
				assert.NotEqual(t, before, b.cookie(a.sm.Cookie.Name).Value, "session token renewed")
				assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
			} else {
				assert.Equal(t, 0, a.emu.Calls(tiktoktest.EndpointRevoke))
				assert.NotNil(t, a.storedToken(testOpenID))
				assert.Equal(t, http.StatusOK, b.getJSON("/api/me").status)
			}
			a.assertNoSecretLeak()
		})
	}
}

func TestDisconnectRevokeFails(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")
	a.emu.InjectFault(tiktoktest.EndpointRevoke, tiktoktest.Fault{Status: http.StatusInternalServerError})
	r := b.post("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Nil(t, a.storedToken(testOpenID), "deleted locally anyway")
	assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
	assert.Contains(t, a.logs.String(), "revoke failed")
	a.assertNoSecretLeak()
}

func TestExpiryAndRefresh(t *testing.T) {
	a := newApp(t, appOptions{accessTTL: 2 * time.Hour})
	b := a.newBrowser()
	b.login("/")
	first := a.storedToken(testOpenID)
	a.clock.Advance(3 * time.Hour)

	r := b.getJSON("/api/me")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	now := a.storedToken(testOpenID)
	require.NotNil(t, now)
	assert.NotEqual(t, first.AccessToken, now.AccessToken)
	assert.NotEqual(t, first.RefreshToken, now.RefreshToken, "the rotated refresh token was saved")
	assert.Equal(t, http.StatusOK, b.get("/me").status)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	a.assertNoSecretLeak()
}

func TestTikTokDownDuringRefresh(t *testing.T) {
	a := newApp(t, appOptions{accessTTL: 2 * time.Hour})
	b := a.newBrowser()
	b.login("/")
	before := a.storedToken(testOpenID)
	a.clock.Advance(3 * time.Hour)
	a.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: http.StatusInternalServerError})

	r := b.getJSON("/api/me")
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.JSONEq(t, `{"error":"temporarily_unavailable"}`, r.body)
	page := b.get("/me")
	require.Equal(t, http.StatusServiceUnavailable, page.status)
	assert.Contains(t, page.header.Get("Content-Type"), "text/plain")
	assert.Equal(t, before, a.storedToken(testOpenID), "the token is kept")

	a.emu.ClearFaults()
	r = b.getJSON("/api/me")
	require.Equal(t, http.StatusOK, r.status, "the user is still logged in")
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	a.assertNoSecretLeak()
}

func TestRefreshTokenRevokedAtTikTok(t *testing.T) {
	a := newApp(t, appOptions{accessTTL: 2 * time.Hour})
	b := a.newBrowser()
	b.login("/")
	a.emu.RevokeAllGrants()
	a.clock.Advance(3 * time.Hour)

	r := b.getJSON("/api/me")
	require.Equal(t, http.StatusUnauthorized, r.status)
	assert.JSONEq(t, `{"error":"login_required"}`, r.body)
	assert.Nil(t, a.storedToken(testOpenID), "the dead token is deleted")

	calls := a.emu.Calls(tiktoktest.EndpointToken)
	r = b.get("/me")
	require.Equal(t, http.StatusFound, r.status)
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fme", r.location())
	assert.Equal(t, calls, a.emu.Calls(tiktoktest.EndpointToken), "straight to login, TikTok not asked")
}

// The tests below are the tokens-killed-early cases: TikTok refuses an
// access token before its announced expiry.

func TestKilledTokenOneRequest(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")
	a.emu.ResetCounters()
	a.emu.KillAccessTokens()

	r := b.getJSON("/api/me")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	assert.Equal(t, 2, a.emu.Calls(tiktoktest.EndpointUserInfo), "refused once, repeated once")
	assert.Equal(t, http.StatusOK, b.getJSON("/api/me").status)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	a.assertNoSecretLeak()
}

func TestKilledTokenConcurrentRequests(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")
	a.emu.ResetCounters()
	a.emu.KillAccessTokens()
	a.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 250 * time.Millisecond})

	const n = 25
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := a.srv.Client().Transport.(*http.Transport).Clone()
			tr.DisableKeepAlives = true // one connection per request
			c := &http.Client{Jar: b.jar, Transport: tr}
			req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/api/me", nil)
			req.Header.Set("Accept", "application/json")
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
	assert.Equal(t, 1, a.emu.Grants("refresh_token"), "one refresh for all")
	assert.Equal(t, 0, a.emu.RefreshTokenReuse())
}

func TestKilledTokenAndRevokedGrant(t *testing.T) {
	t.Run("JSON", func(t *testing.T) {
		a := newApp(t, appOptions{})
		b := a.newBrowser()
		b.login("/")
		a.emu.RevokeAllGrants()
		a.emu.KillAccessTokens()
		r := b.getJSON("/api/me")
		require.Equal(t, http.StatusUnauthorized, r.status, r.body)
		assert.JSONEq(t, `{"error":"login_required"}`, r.body)
		assert.Nil(t, a.storedToken(testOpenID))
		calls := a.emu.Calls(tiktoktest.EndpointToken)
		assert.Equal(t, http.StatusUnauthorized, b.getJSON("/api/me").status)
		assert.Equal(t, calls, a.emu.Calls(tiktoktest.EndpointToken), "next request goes straight to login")
	})
	t.Run("HTML", func(t *testing.T) {
		a := newApp(t, appOptions{})
		b := a.newBrowser()
		b.login("/")
		a.emu.RevokeAllGrants()
		a.emu.KillAccessTokens()
		r := b.get("/me/info")
		require.Equal(t, http.StatusFound, r.status, r.body)
		assert.Equal(t, "/auth/tiktok/login?return_to=%2Fme%2Finfo", r.location())
		assert.Nil(t, a.storedToken(testOpenID))
	})
}

func TestKilledTokenRefreshFailsOnce(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")
	before := a.storedToken(testOpenID)
	a.emu.ResetCounters()
	a.emu.KillAccessTokens()
	a.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: http.StatusInternalServerError, Times: 1})

	r := b.getJSON("/api/me")
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
	assert.Equal(t, before, a.storedToken(testOpenID), "still logged in")
	assert.Equal(t, 0, a.emu.Grants("refresh_token"), "no second refresh within the failed request")

	r = b.getJSON("/api/me")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	assert.Equal(t, 0, a.emu.RefreshTokenReuse())
}

func TestNoStoreOnAuthResponses(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	var all []*response
	all = append(all, b.get("/me"))                                  // redirect to login
	all = append(all, b.getJSON("/api/me"))                          // 401
	all = append(all, b.get("/auth/tiktok/callback?state=x&code=y")) // failure
	hops := b.login("/")
	all = append(all, hops[0], hops[2]) // login, callback
	all = append(all, b.get("/auth/tiktok/disconnect"))
	all = append(all, b.post("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}}))
	for _, r := range all {
		assert.True(t, hasNoStore(r.header), "%s answered %d without no-store", r.url, r.status)
	}
}

func TestErrorPagesShowNoDetail(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	cb := b.toCallback("/auth/tiktok/login")
	a.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{ErrorCode: "invalid_client"})
	r := b.get(cb)
	require.Equal(t, http.StatusBadGateway, r.status)
	for _, leak := range []string{"invalid_client", "client:", "handlers:", "log_id"} {
		assert.NotContains(t, r.body, leak)
	}
	assert.Contains(t, a.logs.String(), "invalid_client", "the detail is in the log")
	assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
}

func TestAPIResponseIsJSON(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	r := b.getJSON("/api/me")
	require.Equal(t, http.StatusUnauthorized, r.status)
	var body map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.body), &body))
	assert.Equal(t, "login_required", body["error"])
}

// A user who unticks the scope a step-up login asked for must not be sent
// back to the page that asked, which would send them to TikTok again.
func TestStepUpDeclinedDoesNotLoop(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")

	r := b.get("/auth/tiktok/login?scope=video.list&return_to=%2Fvideos")
	require.Equal(t, http.StatusFound, r.status)
	authz, err := url.Parse(r.location())
	require.NoError(t, err)
	q := authz.Query()
	granted := []string{"user.info.basic", "user.info.profile"} // video.list unticked
	code, err := a.emu.Code(testOpenID, q.Get("redirect_uri"), granted, q.Get("code_challenge"))
	require.NoError(t, err)
	cb := url.Values{"code": {code}, "scopes": {strings.Join(granted, ",")}, "state": {q.Get("state")}}

	r = b.get(q.Get("redirect_uri") + "?" + cb.Encode())
	require.Equal(t, http.StatusForbidden, r.status, r.body)
	assert.Empty(t, r.location(), "no redirect back to the page that needs the scope")
	assert.Contains(t, r.body, "did not grant")
	tok := a.storedToken(testOpenID)
	require.NotNil(t, tok, "still logged in with what was granted")
	assert.ElementsMatch(t, granted, tok.Scopes)
	assert.Equal(t, http.StatusOK, b.getJSON("/api/me").status)
	a.assertNoSecretLeak()
}
