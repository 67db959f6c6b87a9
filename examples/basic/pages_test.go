package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// toCallback starts a login and returns the callback URL the emulator
// sends the browser back to, without loading it.
func (ta *testApp) toCallback(t *testing.T) string {
	t.Helper()
	resp := ta.do(t, http.MethodGet, "/auth/tiktok/login?return_to=%2Fme", htmlAccept, nil)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	resp = ta.do(t, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil)
	require.Equal(t, http.StatusFound, resp.StatusCode, readBody(t, resp))
	cb := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(cb, ta.srv.URL+"/auth/tiktok/callback?"), cb)
	return cb
}

// assertErrorPage checks that resp is the site's styled error page with
// status, title and, when loginAgain, a link to log in again; and that no
// error text leaks onto it.
func assertErrorPage(t *testing.T, resp *http.Response, status int, title string, loginAgain bool) {
	t.Helper()
	page := readBody(t, resp)
	require.Equal(t, status, resp.StatusCode, page)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, page, `<header><h1>tiktokkit example</h1>`, "the site's layout")
	assert.Contains(t, page, `id="error"`)
	assert.Contains(t, page, "<h2>"+title+"</h2>")
	assert.Contains(t, page, `<a id="home" href="/">`)
	if loginAgain {
		assert.Contains(t, page, `id="login-again" href="/auth/tiktok/login?return_to=%2Fme"`)
	} else {
		assert.NotContains(t, page, `id="login-again"`)
	}
	for _, leak := range []string{"handlers:", "client:", "tiktok returned", "invalid_grant", "temporarily_unavailable"} {
		assert.NotContains(t, page, leak)
	}
}

func TestCallbackFailurePages(t *testing.T) {
	t.Run("replayed callback", func(t *testing.T) {
		ta := newTestApp(t)
		cb := ta.toCallback(t)
		require.Equal(t, http.StatusFound, ta.do(t, http.MethodGet, cb, htmlAccept, nil).StatusCode)
		assertErrorPage(t, ta.do(t, http.MethodGet, cb, htmlAccept, nil), http.StatusBadRequest, "This login did not complete", true)
	})
	t.Run("stale callback from another browser", func(t *testing.T) {
		ta := newTestApp(t)
		cb := ta.toCallback(t)
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		other := *ta // another browser, with no pending login at this app
		other.http = &http.Client{Jar: jar, CheckRedirect: ta.http.CheckRedirect}
		assertErrorPage(t, other.do(t, http.MethodGet, cb, htmlAccept, nil), http.StatusBadRequest, "This login did not complete", true)
	})
	t.Run("denied consent", func(t *testing.T) {
		ta := newTestApp(t)
		ta.emu.DenyNextConsent()
		cb := ta.toCallback(t)
		assert.Contains(t, cb, "error=access_denied")
		assertErrorPage(t, ta.do(t, http.MethodGet, cb, htmlAccept, nil), http.StatusBadRequest, "Login cancelled", true)
	})
	t.Run("TikTok down at the exchange", func(t *testing.T) {
		ta := newTestApp(t)
		cb := ta.toCallback(t)
		ta.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: http.StatusServiceUnavailable})
		assertErrorPage(t, ta.do(t, http.MethodGet, cb, htmlAccept, nil), http.StatusBadGateway, "TikTok is not answering", true)
	})
	t.Run("TikTok's authorize page failed", func(t *testing.T) {
		ta := newTestApp(t)
		cb := ta.toCallback(t)
		bad := regexp.MustCompile(`code=[^&]+`).ReplaceAllString(cb, "error=server_error")
		assertErrorPage(t, ta.do(t, http.MethodGet, bad, htmlAccept, nil), http.StatusBadGateway, "TikTok is not answering", true)
	})
	t.Run("the user's failures are logged quietly", func(t *testing.T) {
		ta := newTestApp(t)
		cb := ta.toCallback(t)
		ta.do(t, http.MethodGet, cb, htmlAccept, nil)
		ta.do(t, http.MethodGet, cb, htmlAccept, nil)
		assert.Regexp(t, `level=DEBUG msg="tiktok auth request failed" .*status=400`, ta.logs.String())
		assert.NotRegexp(t, `level=(INFO|WARN|ERROR) msg="tiktok auth request failed"`, ta.logs.String())
	})
}

func TestNotFoundPage(t *testing.T) {
	ta := newTestApp(t)
	for _, path := range []string{"/nowhere", "/me/", "/auth/tiktok/", "/videos/x"} {
		t.Run(path, func(t *testing.T) {
			assertErrorPage(t, ta.do(t, http.MethodGet, path, htmlAccept, nil), http.StatusNotFound, "Page not found", false)
		})
	}
	// A wrong method on the disconnect path is the handler's 405, styled.
	assertErrorPage(t, ta.do(t, http.MethodGet, "/auth/tiktok/disconnect", htmlAccept, nil), http.StatusMethodNotAllowed, "Not available here", false)
}

func TestGuardFailurePage(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	ta.emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: http.StatusServiceUnavailable})
	resp := ta.do(t, http.MethodGet, "/me", htmlAccept, nil)
	assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode)
	assertErrorPage(t, resp, resp.StatusCode, "TikTok is not answering", false)
}

func TestMeShowsCounts(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	user := ta.emu.Users()[0]
	require.Equal(t, int64(452107), user.LikesCount)
	page := readBody(t, ta.do(t, http.MethodGet, "/me", htmlAccept, nil))
	assert.Contains(t, page, `<strong id="followers">12,840</strong> followers`)
	assert.Contains(t, page, `<strong id="following">181</strong> following`)
	assert.Contains(t, page, `<strong id="likes">452,107</strong> likes`)
	assert.Contains(t, page, `<strong id="video-count">37</strong> videos`)

	// Without user.info.stats there are no counts, rather than zeros.
	ta = newTestApp(t, "user.info.basic", "user.info.profile")
	ta.login(t)
	assert.NotContains(t, readBody(t, ta.do(t, http.MethodGet, "/me", htmlAccept, nil)), `id="stats"`)
}

var olderLink = regexp.MustCompile(`<a href="(/videos\?cursor=\d+)" id="older">`)

func TestVideosPages(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	require.Equal(t, int64(37), ta.emu.Users()[0].VideoCount)

	first := readBody(t, ta.do(t, http.MethodGet, "/videos", htmlAccept, nil))
	assert.Equal(t, 20, strings.Count(first, `class="video"`))
	assert.NotContains(t, first, `id="newest"`)
	m := olderLink.FindStringSubmatch(first)
	require.NotNil(t, m, "the first page links to older videos")

	resp := ta.do(t, http.MethodGet, m[1], htmlAccept, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	second := readBody(t, resp)
	assert.Equal(t, 17, strings.Count(second, `class="video"`))
	assert.Contains(t, second, `<a href="/videos" id="newest">`)
	assert.NotContains(t, second, `id="older"`, "the last page")
	assert.Equal(t, 2, ta.emu.Calls(tiktoktest.EndpointVideoList), "one TikTok call a page")

	// Every video has a cover with a placeholder behind it.
	assert.Equal(t, 20, strings.Count(first, `<div class="cover"><span>no cover</span><img src="`))

	for _, bad := range []string{"abc", "-5", "1e9", "99999999999999999999", "12%2034"} {
		t.Run("cursor "+bad, func(t *testing.T) {
			assertErrorPage(t, ta.do(t, http.MethodGet, "/videos?cursor="+bad, htmlAccept, nil), http.StatusBadRequest, "Bad page link", false)
		})
	}
	assert.Equal(t, 2, ta.emu.Calls(tiktoktest.EndpointVideoList), "a bad cursor never reaches TikTok")
}

func TestConsentPageNamesTheApp(t *testing.T) {
	s, err := settingsFromEnv(func(string) string { return "" })
	require.NoError(t, err)
	s.RedirectURI = "http://localhost:1/auth/tiktok/callback"
	a, err := newApp(s, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	require.NoError(t, err)
	defer a.Close()
	resp, err := http.Get(a.client.AuthCodeURL("state"))
	require.NoError(t, err)
	defer resp.Body.Close()
	page := readBody(t, resp)
	assert.Contains(t, page, "tiktokkit example would like to access your TikTok account")
}
