package tiktoktest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789abcdefghij"

func hexChallenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

func b64Challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// errorPage checks TikTok's "We couldn't log in" page: HTML, not a
// redirect, naming the parameter at fault.
func errorPage(t *testing.T, r reply, param string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
	assert.Empty(t, r.header.Get("Location"))
	assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	assert.Contains(t, html.UnescapeString(string(r.body)), "We couldn't log in with TikTok")
	assert.Contains(t, string(r.body), "<li>"+param+"</li>")
}

func TestAuthorizeRefuses(t *testing.T) {
	registered := seedConfig()
	registered.AutoApprove = true
	open := tiktoktest.Config{AutoApprove: true}
	pkce := tiktoktest.Config{AutoApprove: true, PKCE: tiktoktest.PKCERequired}
	limited := tiktoktest.Config{AutoApprove: true, Scopes: []string{"user.info.basic"}}
	good := func(extra ...string) string {
		return authorizeQuery(seedKey, seedRedirect, "user.info.basic", "s", extra...)
	}
	for _, tc := range []struct {
		name  string
		cfg   tiktoktest.Config
		query string
		param string
	}{
		{"no client_key", registered, "response_type=code&scope=user.info.basic&redirect_uri=" + url.QueryEscape(seedRedirect), "client_key"},
		{"client_id instead of client_key", registered, strings.Replace(good(), "client_key=", "client_id=", 1), "client_key"},
		{"wrong client_key", registered, authorizeQuery("other", seedRedirect, "user.info.basic", "s"), "client_key"},
		{"unregistered redirect", registered, authorizeQuery(seedKey, "https://multi.example.com/callback", "user.info.basic", "s"), "redirect_uri"},
		{"redirect differs by a slash", registered, authorizeQuery(seedKey, seedRedirect+"/", "user.info.basic", "s"), "redirect_uri"},
		{"redirect missing", registered, "client_key=" + seedKey + "&response_type=code&scope=user.info.basic", "redirect_uri"},
		{"open: relative redirect", open, authorizeQuery("test-client-key", "/callback", "user.info.basic", "s"), "redirect_uri"},
		{"open: redirect with fragment", open, authorizeQuery("test-client-key", "https://app.example/cb#x", "user.info.basic", "s"), "redirect_uri"},
		{"open: javascript redirect", open, authorizeQuery("test-client-key", "javascript:alert(1)", "user.info.basic", "s"), "redirect_uri"},
		{"open: scheme-relative redirect", open, authorizeQuery("test-client-key", "//evil.example/cb", "user.info.basic", "s"), "redirect_uri"},
		{"response_type token", registered, strings.Replace(good(), "response_type=code", "response_type=token", 1), "response_type"},
		{"response_type missing", registered, strings.Replace(good(), "response_type=code&", "", 1), "response_type"},
		{"scope empty", registered, authorizeQuery(seedKey, seedRedirect, "", "s"), "scope"},
		{"scope unknown", registered, authorizeQuery(seedKey, seedRedirect, "user.info.basic,user.email", "s"), "scope"},
		{"scope space separated", registered, authorizeQuery(seedKey, seedRedirect, "user.info.basic user.info.profile", "s"), "scope"},
		{"scope not allowed for the app", limited, authorizeQuery("test-client-key", "https://app.example/cb", "user.info.basic,video.list", "s"), "scope"},
		{"scope repeated (a Ruby gem bug)", registered, seed.Lines("authorization_urls__computed_by_gem_v0.4.0.txt")[3][len("https://www.tiktok.com/v2/auth/authorize/?"):], "scope"},
		{"client_key repeated", registered, good() + "&client_key=" + seedKey, "client_key"},
		{"challenge upper-case hex", registered, good("code_challenge", strings.ToUpper(hexChallenge(verifier)), "code_challenge_method", "S256"), "code_challenge"},
		{"challenge base64url by default", registered, good("code_challenge", b64Challenge(verifier), "code_challenge_method", "S256"), "code_challenge"},
		{"challenge too short", registered, good("code_challenge", hexChallenge(verifier)[:63], "code_challenge_method", "S256"), "code_challenge"},
		{"challenge empty", registered, good("code_challenge", "", "code_challenge_method", "S256"), "code_challenge"},
		{"method plain", registered, good("code_challenge", hexChallenge(verifier), "code_challenge_method", "plain"), "code_challenge_method"},
		{"method missing", registered, good("code_challenge", hexChallenge(verifier)), "code_challenge_method"},
		{"method without challenge", registered, good("code_challenge_method", "S256"), "code_challenge_method"},
		{"PKCE required, no challenge", pkce, authorizeQuery("test-client-key", "http://127.0.0.1:8080/cb", "user.info.basic", "s"), "code_challenge"},
		{"disable_auto_auth not 0 or 1", registered, good("disable_auto_auth", "true"), "disable_auto_auth"},
		{"broken escape", registered, good() + "&x=%zz", "query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := newEmu(t, tc.cfg)
			errorPage(t, get(t, emu, "/v2/auth/authorize/?"+tc.query), tc.param)
			assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointAuthorize))
		})
	}
}

func TestAuthorizeAccepts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      tiktoktest.Config
		redirect string
		scope    string
		extra    []string
	}{
		{"gem URL without state value", seedConfig(), seedRedirect, "user.info.basic,user.info.profile", nil},
		{"hex challenge", seedConfig(), seedRedirect, "user.info.basic", []string{"code_challenge", hexChallenge(verifier), "code_challenge_method", "S256"}},
		{"base64url challenge when allowed", tiktoktest.Config{AcceptBase64URLChallenge: true}, "https://app.example/cb",
			"user.info.basic", []string{"code_challenge", b64Challenge(verifier), "code_challenge_method", "S256"}},
		{"PKCE required with challenge", tiktoktest.Config{PKCE: tiktoktest.PKCERequired}, "http://127.0.0.1:8080/callback/",
			"user.info.basic", []string{"code_challenge", hexChallenge(verifier), "code_challenge_method", "S256"}},
		{"open registration, redirect with query", tiktoktest.Config{}, "https://app.example/cb?tenant=7", "video.list,user.info.basic", nil},
		{"duplicate scope items", seedConfig(), seedRedirect, "user.info.basic,user.info.basic", nil},
		{"disable_auto_auth=0", seedConfig(), seedRedirect, "user.info.basic", []string{"disable_auto_auth", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.AutoApprove = true
			emu := newEmu(t, tc.cfg)
			r := get(t, emu, "/v2/auth/authorize/?"+authorizeQuery(emu.ClientKey(), tc.redirect, tc.scope, "st=1&x", tc.extra...))
			prefix, _, _ := strings.Cut(tc.redirect, "?")
			q := callback(t, r, prefix)
			assert.Equal(t, "st=1&x", q.Get("state"))
			assert.NotEmpty(t, q.Get("code"))
			assert.Equal(t, strings.Join(dedupe(strings.Split(tc.scope, ",")), ","), q.Get("scopes"))
			if strings.Contains(tc.redirect, "?") {
				assert.Equal(t, "7", q.Get("tenant"))
			}
		})
	}
	t.Run("no state parameter", func(t *testing.T) {
		emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
		r := get(t, emu, "/v2/auth/authorize/?client_key=test-client-key&response_type=code&scope=user.info.basic&redirect_uri=https%3A%2F%2Fa.example%2Fcb")
		q := callback(t, r, "https://a.example/cb")
		assert.False(t, q.Has("state"))
	})
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !containsStr(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var nonceRE = regexp.MustCompile(`name="nonce" value="([^"]+)"`)

// consentNonce opens the consent page and returns its nonce.
func consentNonce(t *testing.T, emu *tiktoktest.Server, query string) (string, string) {
	t.Helper()
	r := get(t, emu, "/v2/auth/authorize/?"+query)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := nonceRE.FindSubmatch(r.body)
	require.NotNil(t, m, "no nonce in %s", r.body)
	return string(m[1]), string(r.body)
}

func postConsent(t *testing.T, emu *tiktoktest.Server, form url.Values) reply {
	t.Helper()
	return postForm(t, emu, "/v2/auth/authorize/", form.Encode())
}

func TestConsentPage(t *testing.T) {
	emu := newEmu(t, seedConfig())
	users := tiktoktest.DefaultUsers()
	query := authorizeQuery(seedKey, seedRedirect, "user.info.basic,user.info.profile,video.publish", "xyz")

	t.Run("page", func(t *testing.T) {
		r := get(t, emu, "/v2/auth/authorize/?"+query)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
		body := html.UnescapeString(string(r.body))
		assert.Contains(t, body, `id="approve"`)
		assert.Contains(t, body, `id="deny"`)
		assert.Contains(t, body, `method="post"`)
		for _, u := range users {
			assert.Contains(t, body, `value="`+u.OpenID+`"`)
			assert.Contains(t, body, u.DisplayName)
		}
		assert.Contains(t, body, "user.info.profile")
		assert.Contains(t, body, "video.publish")
		assert.NotContains(t, body, "user.info.stats")
		assert.Regexp(t, `value="`+regexp.QuoteMeta(users[0].OpenID)+`" checked`, body)
	})

	t.Run("approve as another user with one scope unchecked", func(t *testing.T) {
		nonce, _ := consentNonce(t, emu, query)
		r := postConsent(t, emu, url.Values{"nonce": {nonce}, "action": {"approve"}, "open_id": {users[1].OpenID},
			"scope_choice": {"1"}, "scope": {"video.publish"}})
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		q := callback(t, r, seedRedirect)
		assert.Equal(t, "xyz", q.Get("state"))
		assert.Equal(t, "user.info.basic,video.publish", q.Get("scopes"))
		tok := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, q.Get("code"), seedRedirect)))
		assert.Equal(t, users[1].OpenID, tok.OpenID)
		assert.Equal(t, "user.info.basic,video.publish", tok.Scope)

		// The nonce was single use.
		errorPage(t, postConsent(t, emu, url.Values{"nonce": {nonce}, "action": {"approve"}}), "nonce")
	})

	t.Run("approve without choices grants all requested", func(t *testing.T) {
		nonce, _ := consentNonce(t, emu, query)
		q := callback(t, postConsent(t, emu, url.Values{"nonce": {nonce}, "action": {"approve"}}), seedRedirect)
		assert.Equal(t, "user.info.basic,user.info.profile,video.publish", q.Get("scopes"))
	})

	t.Run("deny", func(t *testing.T) {
		nonce, _ := consentNonce(t, emu, query)
		q := callback(t, postConsent(t, emu, url.Values{"nonce": {nonce}, "action": {"deny"}}), seedRedirect)
		assert.Equal(t, "access_denied", q.Get("error"))
		assert.NotEmpty(t, q.Get("error_description"))
		assert.Equal(t, "xyz", q.Get("state"))
		assert.False(t, q.Has("code"))
	})

	for _, tc := range []struct {
		name  string
		form  func(nonce string) url.Values
		param string
	}{
		{"unknown nonce", func(string) url.Values { return url.Values{"nonce": {"forged"}, "action": {"approve"}} }, "nonce"},
		{"no action", func(n string) url.Values { return url.Values{"nonce": {n}} }, "action"},
		{"unknown user", func(n string) url.Values {
			return url.Values{"nonce": {n}, "action": {"approve"}, "open_id": {"nobody"}}
		}, "open_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nonce, _ := consentNonce(t, emu, query)
			errorPage(t, postConsent(t, emu, tc.form(nonce)), tc.param)
		})
	}

	t.Run("JSON form refused", func(t *testing.T) {
		nonce, _ := consentNonce(t, emu, query)
		req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/auth/authorize/", strings.NewReader(`{"nonce":"`+nonce+`","action":"approve"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		errorPage(t, do(t, noRedirect(emu), req), "form")
	})

	t.Run("page expires", func(t *testing.T) {
		clock := newFakeClock()
		emu := newEmu(t, tiktoktest.Config{Clock: clock.Now})
		nonce, _ := consentNonce(t, emu, authorizeQuery("test-client-key", "https://a.example/cb", "user.info.basic", "s"))
		clock.Advance(16 * 60e9)
		errorPage(t, postConsent(t, emu, url.Values{"nonce": {nonce}, "action": {"approve"}}), "nonce")
	})
}

func TestAutoApproveControls(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
	users := tiktoktest.DefaultUsers()
	redirect := "https://app.example/cb"
	query := authorizeQuery(emu.ClientKey(), redirect, "user.info.basic", "s1")

	exchange := func(code string) tiktoktest.TokenResponse {
		return tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, redirect)))
	}

	// Default approver is the first user.
	assert.Equal(t, users[0].OpenID, exchange(authCode(t, emu, redirect, "user.info.basic")).OpenID)

	// ApproveAs switches, and stays.
	emu.ApproveAs(users[2].OpenID)
	assert.Equal(t, users[2].OpenID, exchange(authCode(t, emu, redirect, "user.info.basic")).OpenID)
	assert.Equal(t, users[2].OpenID, exchange(authCode(t, emu, redirect, "user.info.basic")).OpenID)

	// An unknown open ID adds a user.
	emu.ApproveAs("load-user-17")
	tok := exchange(authCode(t, emu, redirect, "user.info.basic"))
	assert.Equal(t, "load-user-17", tok.OpenID)
	r := bearerGet(t, emu, "/v2/user/info/?fields=open_id,display_name", tok.AccessToken)
	assert.JSONEq(t, `{"open_id":"load-user-17","display_name":"User load-user-17"}`, string(member(t, r.body, "data", "user")))
	assert.Len(t, emu.Users(), 4)

	// DenyNextConsent denies once.
	emu.DenyNextConsent()
	q := callback(t, get(t, emu, "/v2/auth/authorize/?"+query), redirect)
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, "s1", q.Get("state"))
	q = callback(t, get(t, emu, "/v2/auth/authorize/?"+query), redirect)
	assert.NotEmpty(t, q.Get("code"))

	// DenyNextConsent waits for a valid request: an invalid one does not use it.
	emu.DenyNextConsent()
	errorPage(t, get(t, emu, "/v2/auth/authorize/?"+strings.Replace(query, "response_type=code", "response_type=x", 1)), "response_type")
	q = callback(t, get(t, emu, "/v2/auth/authorize/?"+query), redirect)
	assert.Equal(t, "access_denied", q.Get("error"))

	// disable_auto_auth=1 shows the consent page even with AutoApprove.
	nonce, body := consentNonce(t, emu, query+"&disable_auto_auth=1")
	assert.Contains(t, body, `id="approve"`)
	q = callback(t, postConsent(t, emu, url.Values{"nonce": {nonce}, "action": {"approve"}}), redirect)
	assert.NotEmpty(t, q.Get("code"))
}
