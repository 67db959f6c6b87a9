package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/internal/testharness"
)

// pendingCookies returns the browser's pending-login cookies.
func (b *browser) pendingCookies() []*http.Cookie {
	u, err := url.Parse(b.Base)
	require.NoError(b.a.t, err)
	var out []*http.Cookie
	for _, c := range b.Jar.Cookies(u) {
		if strings.Contains(c.Name, "tiktokkit_login_") {
			out = append(out, c)
		}
	}
	return out
}

// withSession gives the browser a session before any login, as a site the
// user has visited before would have.
func (b *browser) withSession() {
	b.a.t.Helper()
	ctx, err := b.a.sm.Load(context.Background(), "")
	require.NoError(b.a.t, err)
	b.a.sm.Put(ctx, "visited", true)
	token, _, err := b.a.sm.Commit(ctx)
	require.NoError(b.a.t, err)
	u, _ := url.Parse(b.Base)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: b.a.sm.Cookie.Name, Value: token, Path: "/"}})
}

// tryToCallback is toCallback for other goroutines: it starts a login and
// returns the callback URL the emulator sends the browser to.
func (b *browser) tryToCallback(loginURL string) (string, error) {
	r, err := b.Try(http.MethodGet, loginURL, testharness.AcceptHTML)
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusFound {
		return "", fmt.Errorf("login answered %d: %s", r.Status, r.Body)
	}
	auth, err := b.Try(http.MethodGet, r.Location(), testharness.AcceptHTML)
	if err != nil {
		return "", err
	}
	if auth.Status != http.StatusFound {
		return "", fmt.Errorf("authorize answered %d: %s", auth.Status, auth.Body)
	}
	return auth.Location(), nil
}

// TestParallelLogins starts two logins at the same moment in one browser
// (a double click, two tabs) and finishes both, 20 times: both tabs must
// land where they asked to go.
func TestParallelLogins(t *testing.T) {
	a := newApp(t, appOptions{})
	for round := range 20 {
		b := a.newBrowser()
		b.withSession()
		tabs := []string{"/one", "/two"}
		callbacks := make([]string, len(tabs))
		errs := make([]error, len(tabs))
		var wg sync.WaitGroup
		for i, rt := range tabs {
			wg.Go(func() {
				callbacks[i], errs[i] = b.tryToCallback("/auth/tiktok/login?return_to=" + url.QueryEscape(rt))
			})
		}
		wg.Wait()
		for i := range tabs {
			require.NoError(t, errs[i], "round %d, tab %d", round, i)
		}
		answers := make([]*response, len(tabs))
		for i := range tabs {
			wg.Go(func() { answers[i], errs[i] = b.Try(http.MethodGet, callbacks[i], testharness.AcceptHTML) })
		}
		wg.Wait()
		for i, rt := range tabs {
			require.NoError(t, errs[i])
			require.Equal(t, http.StatusFound, answers[i].Status, "round %d, tab %d: %s", round, i, answers[i].Body)
			assert.Equal(t, rt, answers[i].Location(), "round %d", round)
		}
		require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status, "round %d", round)
		assert.Empty(t, b.pendingCookies(), "round %d: both pending logins were used up", round)
		for i := range tabs {
			assert.Equal(t, http.StatusBadRequest, b.Get(callbacks[i]).Status, "round %d: a reload is refused", round)
		}
		require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status, "round %d: and logs nobody out", round)
	}
	assert.Equal(t, 40, a.emu.Grants("authorization_code"))
	a.assertNoSecretLeak()
}

// TestUnknownStateDisturbsNothing: a link to the callback with a state of
// no pending login (from any site), or a reloaded callback that was used
// already, is refused and leaves the other logins of the browser usable.
func TestUnknownStateDisturbsNothing(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	first := b.toCallback("/auth/tiktok/login?return_to=%2Fone")
	second := b.toCallback("/auth/tiktok/login?return_to=%2Ftwo")
	third := b.toCallback("/auth/tiktok/login?return_to=%2Fthree")

	forged := b.Get("/auth/tiktok/callback?state=x&code=y")
	require.Equal(t, http.StatusBadRequest, forged.Status)
	assert.Contains(t, forged.Body, "Please start the login again")
	assert.Len(t, b.pendingCookies(), 3, "no pending login was dropped")
	assert.Empty(t, forged.Header.Values("Set-Cookie"), "nothing changes in the browser")

	r := b.Get(first)
	require.Equal(t, http.StatusFound, r.Status, r.Body)
	assert.Equal(t, "/one", r.Location())

	// The first tab is reloaded: refused, and the others still complete;
	// the second successful login does not log out the first.
	require.Equal(t, http.StatusBadRequest, b.Get(first).Status)
	r = b.Get(second)
	require.Equal(t, http.StatusFound, r.Status, r.Body)
	assert.Equal(t, "/two", r.Location())
	require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
	require.Equal(t, http.StatusBadRequest, b.Get("/auth/tiktok/callback?state=x&code=y").Status)
	r = b.Get(third)
	require.Equal(t, http.StatusFound, r.Status, r.Body)
	assert.Equal(t, "/three", r.Location())
	require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
	assert.Equal(t, 3, a.emu.Grants("authorization_code"))
}

// TestTamperedPendingCookie: a pending-login cookie that was altered is
// refused with a clear 400 and deleted; the session (a logged-in user
// stays logged in) and the other pending logins are untouched.
func TestTamperedPendingCookie(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	b.login("/")
	require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
	session := b.Cookie(a.sm.Cookie.Name).Value

	victim := b.toCallback("/auth/tiktok/login?return_to=%2Fone")
	require.Len(t, b.pendingCookies(), 1)
	target := b.pendingCookies()[0]
	other := b.toCallback("/auth/tiktok/login?return_to=%2Ftwo")
	v := []byte(target.Value)
	v[10] ^= 1
	u, _ := url.Parse(b.Base)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: target.Name, Value: string(v), Path: "/"}})

	r := b.Get(victim)
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Body, "Please start the login again")
	assert.NotContains(t, r.Body, "handlers:")
	assert.Contains(t, a.logs.String(), handlers.ErrBadPendingLogin.Error())
	assert.Len(t, b.pendingCookies(), 1, "the damaged cookie is deleted, the other kept")
	assert.Equal(t, session, b.Cookie(a.sm.Cookie.Name).Value, "the session is not touched")
	require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status, "still logged in")

	r = b.Get(other)
	require.Equal(t, http.StatusFound, r.Status, r.Body)
	assert.Equal(t, "/two", r.Location())
	assert.Equal(t, 2, a.emu.Grants("authorization_code"), "the damaged login exchanged no code")
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	require.NoError(t, err)
	return p.Query()
}

// TestReplayedPendingCookie: a used callback is refused even when its
// cookie is sent again, in the same browser before any call to TikTok, and
// in another browser by TikTok's single-use code.
func TestReplayedPendingCookie(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	cb := b.toCallback("/auth/tiktok/login?return_to=%2Fone")
	saved := b.pendingCookies()
	require.Len(t, saved, 1)
	require.Equal(t, http.StatusFound, b.Get(cb).Status)
	require.Empty(t, b.pendingCookies(), "the callback deletes the cookie")

	u, _ := url.Parse(b.Base)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: saved[0].Name, Value: saved[0].Value, Path: "/"}})
	r := b.Get(cb)
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, a.logs.String(), handlers.ErrNoPendingLogin.Error())
	assert.Equal(t, 1, a.emu.Grants("authorization_code"), "refused before the exchange")
	require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status, "the replay logs nobody out")

	thief := a.newBrowser()
	thief.Jar.SetCookies(u, []*http.Cookie{{Name: saved[0].Name, Value: saved[0].Value, Path: "/"}})
	r = thief.Get(cb)
	require.Equal(t, http.StatusBadRequest, r.Status, "TikTok refuses the used code")
	require.Equal(t, http.StatusUnauthorized, thief.GetJSON("/api/me").Status)
	require.Equal(t, http.StatusOK, b.GetJSON("/api/me").Status)
}

// TestPendingCookieBounded: however many logins a browser starts, it keeps
// at most MaxPending pending-login cookies, the newest ones.
func TestPendingCookieBounded(t *testing.T) {
	a := newApp(t, appOptions{handlersCfg: func(c *handlers.Config) { c.MaxPending = 3 }})
	b := a.newBrowser()
	var cbs []string
	for i := range 8 {
		cbs = append(cbs, b.toCallback(fmt.Sprintf("/auth/tiktok/login?return_to=%%2F%d", i)))
		assert.LessOrEqual(t, len(b.pendingCookies()), 3)
	}
	for i, cb := range cbs {
		r := b.Get(cb)
		if i < 5 {
			assert.Equal(t, http.StatusBadRequest, r.Status, "login %d was dropped", i)
			continue
		}
		require.Equal(t, http.StatusFound, r.Status, r.Body)
		assert.Equal(t, fmt.Sprintf("/%d", i), r.Location())
	}
}

// TestPendingExpiredKeepsOthers: an expired pending login is refused and
// deleted; a newer one still completes.
func TestPendingExpiredKeepsOthers(t *testing.T) {
	a := newApp(t, appOptions{})
	b := a.newBrowser()
	old := b.toCallback("/auth/tiktok/login?return_to=%2Fold")
	a.clock.Advance(handlers.DefaultPendingTTL - time.Minute)
	fresh := b.toCallback("/auth/tiktok/login?return_to=%2Ffresh")
	a.clock.Advance(2 * time.Minute)
	r := b.Get(old)
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, a.logs.String(), handlers.ErrLoginExpired.Error())
	r = b.Get(fresh)
	require.Equal(t, http.StatusFound, r.Status, r.Body)
	assert.Equal(t, "/fresh", r.Location())
	assert.Equal(t, 1, a.emu.Grants("authorization_code"))
}

// TestPendingCookieAttributes checks the cookie a login sets, on http and
// on https.
func TestPendingCookieAttributes(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", tls), func(t *testing.T) {
			a := newApp(t, appOptions{tls: tls})
			b := a.newBrowser()
			r := b.Get("/auth/tiktok/login")
			require.Equal(t, http.StatusFound, r.Status)
			var pending []*http.Cookie
			for _, c := range (&http.Response{Header: r.Header}).Cookies() {
				assert.NotEqual(t, a.sm.Cookie.Name, c.Name, "login does not write the session")
				if strings.Contains(c.Name, "tiktokkit_login_") {
					pending = append(pending, c)
				}
			}
			require.Len(t, pending, 1)
			c := pending[0]
			if tls {
				assert.True(t, strings.HasPrefix(c.Name, "__Host-tiktokkit_login_"), c.Name)
			} else {
				assert.True(t, strings.HasPrefix(c.Name, "tiktokkit_login_"), c.Name)
			}
			assert.Equal(t, tls, c.Secure)
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, c.SameSite, "Lax: TikTok's redirect back must carry it")
			assert.Equal(t, "/", c.Path)
			assert.Empty(t, c.Domain)
			assert.Equal(t, int(handlers.DefaultPendingTTL/time.Second), c.MaxAge)
			state := mustQuery(t, r.Location()).Get("state")
			assert.NotContains(t, c.Name+c.Value, state, "neither name nor value shows the state")
			assert.Less(t, len(c.Value), 1024)
		})
	}
}

// TestHeadersOnce checks that login, callback and disconnect answers carry
// one Vary field and one Cache-Control field of their own: scs and nosurf
// each add "Vary: Cookie" before the handlers run, and the handlers fold
// them into one. scs appends its own Cache-Control: no-cache="Set-Cookie"
// when it writes the session cookie, after the handler has written its
// headers; that is the only other Cache-Control line an answer may carry,
// and only when it sets the session cookie.
func TestHeadersOnce(t *testing.T) {
	for _, fold := range []bool{false, true} {
		t.Run(fmt.Sprintf("FoldHeaders %v", fold), func(t *testing.T) {
			a := newApp(t, appOptions{fold: fold})
			b := a.newBrowser()
			answers := map[string]*response{}
			answers["login"] = b.Get("/auth/tiktok/login?return_to=%2Fme")
			answers["login, scope not allowed"] = b.Get("/auth/tiktok/login?scope=video.publish")
			cb := b.toCallback("/auth/tiktok/login")
			answers["callback, forged state"] = b.Get("/auth/tiktok/callback?state=x&code=y")
			answers["callback, malformed"] = b.Get(cb + "&state=again")
			answers["callback"] = b.Get(cb)
			answers["callback, reloaded"] = b.Get(cb)
			answers["disconnect, GET"] = b.Get("/auth/tiktok/disconnect")
			answers["disconnect"] = b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
			answers["disconnect, logged out"] = b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
			for name, r := range answers {
				t.Run(name, func(t *testing.T) {
					assert.Equal(t, []string{"Cookie"}, r.Header.Values("Vary"))
					setsSession := false
					for _, c := range (&http.Response{Header: r.Header}).Cookies() {
						setsSession = setsSession || c.Name == a.sm.Cookie.Name
					}
					// scs adds its own line when it writes the session
					// cookie; FoldHeaders joins the two.
					want := []string{"no-store"}
					switch {
					case setsSession && fold:
						want = []string{`no-store, no-cache="Set-Cookie"`}
					case setsSession:
						want = append(want, `no-cache="Set-Cookie"`)
					}
					assert.Equal(t, want, r.Header.Values("Cache-Control"), "status %d", r.Status)
				})
			}
			for _, name := range []string{"login", "login, scope not allowed",
				"callback, forged state", "callback, malformed", "disconnect, GET", "disconnect, logged out"} {
				assert.Len(t, answers[name].Header.Values("Cache-Control"), 1, "%s does not write the session", name)
			}
		})
	}
}

// TestLongReturnTo: a return_to at its length limit, full of characters
// that JSON likes to escape, still fits in the pending-login cookie and is
// kept.
func TestLongReturnTo(t *testing.T) {
	a := newApp(t, appOptions{tls: true})
	b := a.newBrowser()
	rt := "/search?" + strings.Repeat("a=b&", 509)
	require.True(t, handlers.SafeReturnTo(rt))
	require.LessOrEqual(t, len(rt), 2048)
	cb := b.toCallback("/auth/tiktok/login?return_to=" + url.QueryEscape(rt))
	r := b.Get(cb)
	require.Equal(t, http.StatusFound, r.Status, r.Body)
	assert.Equal(t, rt, r.Location())
}
