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

			r := b.Get("/me?tab=videos")
			require.Equal(t, http.StatusFound, r.Status)
			require.Equal(t, "/auth/tiktok/login?return_to=%2Fme%3Ftab%3Dvideos", r.Location())

			hops := b.Follow(r.Location())
			require.Len(t, hops, 4, "login, authorize, callback, page")
			login, authorize, callback, page := hops[0], hops[1], hops[2], hops[3]

			// Login sends PKCE (the emulator requires it) and the configured scopes.
			au, err := url.Parse(login.Location())
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(login.Location(), a.emu.AuthURL()))
			q := au.Query()
			assert.Len(t, q.Get("code_challenge"), 64)
			assert.Equal(t, "S256", q.Get("code_challenge_method"))
			assert.Equal(t, "user.info.basic,user.info.profile", q.Get("scope"))
			assert.Len(t, q.Get("state"), 43)
			assert.Equal(t, a.srv.URL+"/auth/tiktok/callback", q.Get("redirect_uri"))
			assert.True(t, hasNoStore(login.Header))

			require.Equal(t, http.StatusFound, authorize.Status)
			require.Equal(t, http.StatusFound, callback.Status, callback.Body)
			assert.Equal(t, "/me?tab=videos", callback.Location())
			assert.True(t, hasNoStore(callback.Header))

			require.Equal(t, http.StatusOK, page.Status)
			assert.Contains(t, page.Body, "logged in as "+testOpenID)

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

			api := b.GetJSON("/api/me")
			require.Equal(t, http.StatusOK, api.Status, api.Body)
			assert.JSONEq(t, `{"open_id":"`+testOpenID+`","display_name":"Alice"}`, api.Body)
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
			for _, c := range (&http.Response{Header: callback.Header}).Cookies() {
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
	// The browser already has a session, one an attacker could know (a
	// planted session cookie, say).
	ctx, err := a.sm.Load(context.Background(), "")
	require.NoError(t, err)
	a.sm.Put(ctx, "seen", true)
	planted, _, err := a.sm.Commit(ctx)
	require.NoError(t, err)
	u, _ := url.Parse(a.srv.URL)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: a.sm.Cookie.Name, Value: planted, Path: "/"}})

	r := b.Get("/auth/tiktok/login")
	require.Equal(t, http.StatusFound, r.Status)
	require.Equal(t, planted, b.Cookie(a.sm.Cookie.Name).Value, "starting a login does not write the session")
	auth := b.Get(r.Location())
	cb := b.Get(auth.Location())
	require.Equal(t, http.StatusFound, cb.Status, cb.Body)
	after := b.Cookie(a.sm.Cookie.Name)
	require.NotNil(t, after)
	require.NotEqual(t, planted, after.Value, "the session token changes at login")
	require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)

	// Someone who planted the old session cookie is not logged in.
	attacker := a.newBrowser()
	attacker.Jar.SetCookies(u, []*http.Cookie{{Name: a.sm.Cookie.Name, Value: planted, Path: "/"}})
	require.Equal(t, http.StatusUnauthorized, attacker.GetJSON("/api/me").Status)
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
			r := b.Get(cb)
			require.Equal(t, http.StatusFound, r.Status, r.Body)
			assert.Equal(t, tc.want, r.Location())
		})
	}
}

func TestDeniedConsent(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	a.emu.DenyNextConsent()
	hops := b.login("/me")
	last := hops[len(hops)-1]
	require.Equal(t, http.StatusBadRequest, last.Status)
	assert.Contains(t, last.Body, "cancelled")
	assert.True(t, hasNoStore(last.Header))
	assert.Nil(t, a.storedToken(testOpenID))
	assert.Equal(t, 0, a.emu.Grants("authorization_code"))
	assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)
	assert.Contains(t, a.logs.String(), "access_denied")

	// The pending login was used up by the denied callback.
	again := b.Get(hops[len(hops)-1].URL)
	assert.Equal(t, http.StatusBadRequest, again.Status)
}

func TestAuthorizeServerError(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	a.emu.InjectFault(tiktoktest.EndpointAuthorize, tiktoktest.Fault{ErrorCode: "server_error", Times: 1})
	hops := b.login("/me")
	last := hops[len(hops)-1]
	assert.Equal(t, http.StatusBadGateway, last.Status)
	assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)
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

	r := b.Get(u.String())
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.True(t, hasNoStore(r.Header))
	assert.NotContains(t, r.Body, state)

	assert.Equal(t, 0, a.emu.Grants("authorization_code"), "no code was exchanged")
	assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)

	// A forged state disturbs nothing: the genuine callback still completes.
	r = b.Get(cb)
	require.Equal(t, http.StatusFound, r.Status, r.Body)
	assert.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
}

func TestReplayedCallback(t *testing.T) {
	a := newApp(t, appOptions{})
	victim := a.newBrowser()
	cb := victim.toCallback("/auth/tiktok/login")
	require.Equal(t, http.StatusFound, victim.Get(cb).Status)
	require.Equal(t, http.StatusOK, victim.GetJSON("/api/me").Status)

	t.Run("same browser", func(t *testing.T) {
		r := victim.Get(cb)
		assert.Equal(t, http.StatusBadRequest, r.Status)
	})
	t.Run("other browser", func(t *testing.T) {
		attacker := a.newBrowser()
		r := attacker.Get(cb)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Equal(t, http.StatusUnauthorized, attacker.GetJSON("/api/me").Status)
		assert.Nil(t, attacker.Cookie(a.sm.Cookie.Name), "no session was made")
	})
	t.Run("other browser with its own pending login", func(t *testing.T) {
		attacker := a.newBrowser()
		own := attacker.toCallback("/auth/tiktok/login")
		ou, _ := url.Parse(own)
		vu, _ := url.Parse(cb)
		q := vu.Query()
		q.Set("state", ou.Query().Get("state"))
		vu.RawQuery = q.Encode()
		r := attacker.Get(vu.String())
		assert.Equal(t, http.StatusBadRequest, r.Status, "the used code (and the wrong verifier) fail the exchange: the user's problem, not TikTok's")
		assert.Contains(t, r.Body, "Please start the login again")
		assert.Equal(t, http.StatusUnauthorized, attacker.GetJSON("/api/me").Status)
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
		r := b.Get(cb)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Equal(t, 0, a.emu.Grants("authorization_code"))
	})
	t.Run("several tabs", func(t *testing.T) {
		a := newApp(t, appOptions{})
		b := a.newBrowser()
		first := b.toCallback("/auth/tiktok/login?return_to=%2Fone")
		second := b.toCallback("/auth/tiktok/login?return_to=%2Ftwo")
		r := b.Get(second)
		require.Equal(t, http.StatusFound, r.Status, r.Body)
		assert.Equal(t, "/two", r.Location())
		r = b.Get(first)
		require.Equal(t, http.StatusFound, r.Status, r.Body)
		assert.Equal(t, "/one", r.Location())
	})
	t.Run("oldest evicted", func(t *testing.T) {
		a := newApp(t, appOptions{handlersCfg: func(c *handlers.Config) { c.MaxPending = 2 }})
		b := a.newBrowser()
		first := b.toCallback("/auth/tiktok/login")
		second := b.toCallback("/auth/tiktok/login")
		third := b.toCallback("/auth/tiktok/login")
		assert.Equal(t, http.StatusFound, b.Get(third).Status)
		assert.Equal(t, http.StatusFound, b.Get(second).Status)
		assert.Equal(t, http.StatusBadRequest, b.Get(first).Status)
	})
}

func TestStepUpLogin(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")

	r := b.Get("/auth/tiktok/login?scope=video.list&return_to=%2Fvideos")
	require.Equal(t, http.StatusFound, r.Status)
	u, _ := url.Parse(r.Location())
	assert.Equal(t, "user.info.basic,user.info.profile,video.list", u.Query().Get("scope"))

	r = b.Get("/auth/tiktok/login?scope=video.publish")
	assert.Equal(t, http.StatusBadRequest, r.Status, "a scope outside the allow-list is refused")

	hops := b.Follow("/auth/tiktok/login?scope=video.list,user.info.stats")
	require.Equal(t, http.StatusOK, hops[len(hops)-1].Status)
	tok := a.storedToken(testOpenID)
	require.NotNil(t, tok)
	assert.ElementsMatch(t, []string{"user.info.basic", "user.info.profile", "video.list", "user.info.stats"}, tok.Scopes)

	// A later step-up keeps what was granted.
	r = b.Get("/auth/tiktok/login?scope=video.list")
	u, _ = url.Parse(r.Location())
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
	require.Equal(t, http.StatusForbidden, last.Status)
	assert.NotContains(t, last.Body, refusal.Error(), "the hook's error text is not shown")
	assert.Equal(t, 1, a.emu.Calls(tiktoktest.EndpointRevoke), "the refused token is revoked")
	assert.Nil(t, a.storedToken(testOpenID), "and not kept")
	assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)
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
	require.Equal(t, http.StatusOK, hops[len(hops)-1].Status)
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
	r := b.Get(cb)
	assert.Equal(t, http.StatusBadGateway, r.Status)
	assert.NotContains(t, r.Body, "internal_error", "no TikTok error text on the page")
	assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)
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
		r := b.Get(bad)
		assert.Equal(t, http.StatusBadRequest, r.Status, bad)
	}
	// Malformed queries were refused before the pending login was touched.
	assert.Equal(t, http.StatusFound, b.Get(cb).Status)
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
				return b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
			},
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
		{
			name: "POST with CSRF token on chi",
			opt:  appOptions{router: chiRouter},
			send: func(b *browser) *response {
				return b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
			},
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
		{
			name:       "POST without CSRF token",
			send:       func(b *browser) *response { return b.PostForm("/auth/tiktok/disconnect", nil) },
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "POST from another origin",
			send: func(b *browser) *response {
				req, _ := http.NewRequest(http.MethodPost, b.Abs("/auth/tiktok/disconnect"),
					strings.NewReader(url.Values{"csrf_token": {b.csrf()}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://evil.example")
				return b.Send(req)
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "GET",
			send:       func(b *browser) *response { return b.Get("/auth/tiktok/disconnect") },
			wantStatus: http.StatusMethodNotAllowed,
		},
		{
			name:       "not wrapped by nosurf",
			opt:        appOptions{noCSRF: true},
			send:       func(b *browser) *response { return b.PostForm("/auth/tiktok/disconnect", nil) },
			wantStatus: http.StatusForbidden,
		},
		{
			name: "CrossOriginProtection: same origin",
			opt:  appOptions{noCSRF: true, handlersCfg: withCrossOrigin},
			send: func(b *browser) *response {
				return b.Send(disconnectFrom(b, b.Abs("/")[:len(b.Abs("/"))-1], "same-origin"))
			},
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
		{
			name: "CrossOriginProtection: same origin, browser without Sec-Fetch-Site",
			opt:  appOptions{noCSRF: true, handlersCfg: withCrossOrigin},
			send: func(b *browser) *response {
				return b.Send(disconnectFrom(b, b.Abs("/")[:len(b.Abs("/"))-1], ""))
			},
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
		{
			name: "CrossOriginProtection: another site",
			opt:  appOptions{noCSRF: true, handlersCfg: withCrossOrigin},
			send: func(b *browser) *response {
				return b.Send(disconnectFrom(b, "https://evil.example", "cross-site"))
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "CrossOriginProtection: another origin, no Sec-Fetch-Site",
			opt:  appOptions{noCSRF: true, handlersCfg: withCrossOrigin},
			send: func(b *browser) *response {
				return b.Send(disconnectFrom(b, "https://evil.example", ""))
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "CrossOriginProtection: not from a browser",
			opt:  appOptions{noCSRF: true, handlersCfg: withCrossOrigin},
			send: func(b *browser) *response {
				return b.PostForm("/auth/tiktok/disconnect", nil)
			},
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
		{
			name:       "not wrapped by nosurf, check skipped on purpose",
			opt:        appOptions{noCSRF: true, skipCSRF: true},
			send:       func(b *browser) *response { return b.PostForm("/auth/tiktok/disconnect", nil) },
			wantStatus: http.StatusSeeOther, loggedOut: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, tc.opt)
			b := a.newBrowser()
			b.login("/")
			require.NotNil(t, a.storedToken(testOpenID))
			before := b.Cookie(a.sm.Cookie.Name).Value

			r := tc.send(b)
			require.Equal(t, tc.wantStatus, r.Status, r.Body)
			if tc.wantStatus != http.StatusBadRequest { // 400 is nosurf's own answer
				assert.True(t, hasNoStore(r.Header))
			}
			if tc.loggedOut {
				assert.Equal(t, "/", r.Location())
				assert.Equal(t, 1, a.emu.Calls(tiktoktest.EndpointRevoke))
				assert.Nil(t, a.storedToken(testOpenID))
				assert.NotEqual(t, before, b.Cookie(a.sm.Cookie.Name).Value, "session token renewed")
				assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)
			} else {
				assert.Equal(t, 0, a.emu.Calls(tiktoktest.EndpointRevoke))
				assert.NotNil(t, a.storedToken(testOpenID))
				assert.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
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
	r := b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
	require.Equal(t, http.StatusSeeOther, r.Status)
	assert.Nil(t, a.storedToken(testOpenID), "deleted locally anyway")
	assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)
	assert.Contains(t, a.logs.String(), "revoke failed")
	a.assertNoSecretLeak()
}

func TestExpiryAndRefresh(t *testing.T) {
	a := newApp(t, appOptions{accessTTL: 2 * time.Hour})
	b := a.newBrowser()
	b.login("/")
	first := a.storedToken(testOpenID)
	a.clock.Advance(3 * time.Hour)

	r := b.GetJSON("/api/me")
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	now := a.storedToken(testOpenID)
	require.NotNil(t, now)
	assert.NotEqual(t, first.AccessToken, now.AccessToken)
	assert.NotEqual(t, first.RefreshToken, now.RefreshToken, "the rotated refresh token was saved")
	assert.Equal(t, http.StatusOK, b.Get("/me").Status)
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

	r := b.GetJSON("/api/me")
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	assert.JSONEq(t, `{"error":"temporarily_unavailable"}`, r.Body)
	page := b.Get("/me")
	require.Equal(t, http.StatusServiceUnavailable, page.Status)
	assert.Contains(t, page.Header.Get("Content-Type"), "text/plain")
	assert.Equal(t, before, a.storedToken(testOpenID), "the token is kept")

	a.emu.ClearFaults()
	r = b.GetJSON("/api/me")
	require.Equal(t, http.StatusOK, r.Status, "the user is still logged in")
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	a.assertNoSecretLeak()
}

func TestRefreshTokenRevokedAtTikTok(t *testing.T) {
	a := newApp(t, appOptions{accessTTL: 2 * time.Hour})
	b := a.newBrowser()
	b.login("/")
	a.emu.RevokeAllGrants()
	a.clock.Advance(3 * time.Hour)

	r := b.GetJSON("/api/me")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	assert.JSONEq(t, `{"error":"login_required"}`, r.Body)
	assert.Nil(t, a.storedToken(testOpenID), "the dead token is deleted")

	calls := a.emu.Calls(tiktoktest.EndpointToken)
	r = b.Get("/me")
	require.Equal(t, http.StatusFound, r.Status)
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fme", r.Location())
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

	r := b.GetJSON("/api/me")
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	assert.Equal(t, 2, a.emu.Calls(tiktoktest.EndpointUserInfo), "refused once, repeated once")
	assert.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
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
			c := &http.Client{Jar: b.Jar, Transport: tr}
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
		r := b.GetJSON("/api/me")
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Body)
		assert.JSONEq(t, `{"error":"login_required"}`, r.Body)
		assert.Nil(t, a.storedToken(testOpenID))
		calls := a.emu.Calls(tiktoktest.EndpointToken)
		assert.Equal(t, http.StatusUnauthorized, b.GetJSON("/api/me").Status)
		assert.Equal(t, calls, a.emu.Calls(tiktoktest.EndpointToken), "next request goes straight to login")
	})
	t.Run("HTML", func(t *testing.T) {
		a := newApp(t, appOptions{})
		b := a.newBrowser()
		b.login("/")
		a.emu.RevokeAllGrants()
		a.emu.KillAccessTokens()
		r := b.Get("/me/info")
		require.Equal(t, http.StatusFound, r.Status, r.Body)
		assert.Equal(t, "/auth/tiktok/login?return_to=%2Fme%2Finfo", r.Location())
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

	r := b.GetJSON("/api/me")
	require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Body)
	assert.Equal(t, before, a.storedToken(testOpenID), "still logged in")
	assert.Equal(t, 0, a.emu.Grants("refresh_token"), "no second refresh within the failed request")

	r = b.GetJSON("/api/me")
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	assert.Equal(t, 1, a.emu.Grants("refresh_token"))
	assert.Equal(t, 0, a.emu.RefreshTokenReuse())
}

func TestNoStoreOnAuthResponses(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	var all []*response
	all = append(all, b.Get("/me"))                                  // redirect to login
	all = append(all, b.GetJSON("/api/me"))                          // 401
	all = append(all, b.Get("/auth/tiktok/callback?state=x&code=y")) // failure
	hops := b.login("/")
	all = append(all, hops[0], hops[2]) // login, callback
	all = append(all, b.Get("/auth/tiktok/disconnect"))
	all = append(all, b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}}))
	for _, r := range all {
		assert.True(t, hasNoStore(r.Header), "%s answered %d without no-store", r.URL, r.Status)
	}
}

func TestErrorPagesShowNoDetail(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	cb := b.toCallback("/auth/tiktok/login")
	a.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{ErrorCode: "invalid_client"})
	r := b.Get(cb)
	require.Equal(t, http.StatusBadGateway, r.Status)
	for _, leak := range []string{"invalid_client", "client:", "handlers:", "log_id"} {
		assert.NotContains(t, r.Body, leak)
	}
	assert.Contains(t, a.logs.String(), "invalid_client", "the detail is in the log")
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
}

func TestAPIResponseIsJSON(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	r := b.GetJSON("/api/me")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	var body map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.Body), &body))
	assert.Equal(t, "login_required", body["error"])
}

// A user who unticks the scope a step-up login asked for must not be sent
// back to the page that asked, which would send them to TikTok again.
func TestStepUpDeclinedDoesNotLoop(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")

	r := b.Get("/auth/tiktok/login?scope=video.list&return_to=%2Fvideos")
	require.Equal(t, http.StatusFound, r.Status)
	authz, err := url.Parse(r.Location())
	require.NoError(t, err)
	q := authz.Query()
	granted := []string{"user.info.basic", "user.info.profile"} // video.list unticked
	code, err := a.emu.Code(testOpenID, q.Get("redirect_uri"), granted, q.Get("code_challenge"))
	require.NoError(t, err)
	cb := url.Values{"code": {code}, "scopes": {strings.Join(granted, ",")}, "state": {q.Get("state")}}

	r = b.Get(q.Get("redirect_uri") + "?" + cb.Encode())
	require.Equal(t, http.StatusForbidden, r.Status, r.Body)
	assert.Empty(t, r.Location(), "no redirect back to the page that needs the scope")
	assert.Contains(t, r.Body, "did not grant")
	tok := a.storedToken(testOpenID)
	require.NotNil(t, tok, "still logged in with what was granted")
	assert.ElementsMatch(t, granted, tok.Scopes)
	assert.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
	a.assertNoSecretLeak()
}

// withCrossOrigin protects Disconnect with the standard library's
// CrossOriginProtection instead of nosurf.
func withCrossOrigin(c *handlers.Config) { c.CrossOriginProtection = http.NewCrossOriginProtection() }

// disconnectFrom is a Disconnect POST as a browser on origin sends it, with
// Sec-Fetch-Site when site is not empty.
func disconnectFrom(b *browser, origin, site string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, b.Abs("/auth/tiktok/disconnect"), strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	return req
}
