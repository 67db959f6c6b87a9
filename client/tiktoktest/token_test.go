package tiktoktest_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

func TestTokenRefuses(t *testing.T) {
	sample := seed.String("request_form__token_authorization_code.txt")
	// Each case gets a fresh emulator and code; mk builds the request.
	for _, tc := range []struct {
		name      string
		cfg       func(*tiktoktest.Config)
		challenge string
		prepare   func(t *testing.T, emu *tiktoktest.Server, clock *fakeClock, code string)
		mk        func(emu *tiktoktest.Server, code string) (*http.Request, error)
		status    int
		errCode   string
		errDesc   string
	}{
		{
			name: "wrong secret", status: 401, errCode: "invalid_client", errDesc: "Client authentication failed.",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code, "client_secret": "wrong"})
			}),
		},
		{
			name: "wrong key", status: 401, errCode: "invalid_client",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code, "client_key": "other_key"})
			}),
		},
		{
			name: "client_id instead of client_key", status: 401, errCode: "invalid_client", errDesc: "Client key is missed in request.",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return strings.Replace(adaptFormNoT(sample, map[string]string{"code": code}), "client_key=", "client_id=", 1)
			}),
		},
		{
			name: "secret missing", status: 401, errCode: "invalid_client", errDesc: "Client secret is missed in request.",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return strings.Replace(adaptFormNoT(sample, map[string]string{"code": code}), "client_secret="+seedSecret+"&", "", 1)
			}),
		},
		{
			name: "HTTP Basic instead of body credentials", status: 401, errCode: "invalid_client",
			mk: func(emu *tiktoktest.Server, code string) (*http.Request, error) {
				body := "code=" + url.QueryEscape(code) + "&grant_type=authorization_code&redirect_uri=" + url.QueryEscape(seedRedirect)
				req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(body))
				if err == nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(seedKey, seedSecret)
				}
				return req, err
			},
		},
		{
			name: "credentials in the query string", status: 401, errCode: "invalid_client",
			mk: func(emu *tiktoktest.Server, code string) (*http.Request, error) {
				q := adaptFormNoT(sample, map[string]string{"code": code})
				req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/?"+q, strings.NewReader(""))
				if err == nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				return req, err
			},
		},
		{
			name: "JSON body", status: 400, errCode: "invalid_request", errDesc: "The request parameters are malformed.",
			mk: func(emu *tiktoktest.Server, code string) (*http.Request, error) {
				body := `{"client_key":"` + seedKey + `","client_secret":"` + seedSecret + `","code":"` + code +
					`","grant_type":"authorization_code","redirect_uri":"` + seedRedirect + `"}`
				req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(body))
				if err == nil {
					req.Header.Set("Content-Type", "application/json")
				}
				return req, err
			},
		},
		{
			name: "no Content-Type", status: 400, errCode: "invalid_request",
			mk: func(emu *tiktoktest.Server, code string) (*http.Request, error) {
				return http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/",
					strings.NewReader(adaptFormNoT(sample, map[string]string{"code": code})))
			},
		},
		{
			name: "parameter twice", status: 400, errCode: "invalid_request",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code}) + "&grant_type=authorization_code"
			}),
		},
		{
			name: "grant_type missing", status: 400, errCode: "invalid_request",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return strings.Replace(adaptFormNoT(sample, map[string]string{"code": code}), "grant_type=authorization_code&", "", 1)
			}),
		},
		{
			name: "grant_type password", status: 400, errCode: "unsupported_grant_type",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code, "grant_type": "password"})
			}),
		},
		{
			name: "unknown code", status: 400, errCode: "invalid_grant", errDesc: "Authorization code is invalid.",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code + "x"})
			}),
		},
		{
			name: "code decoded twice ('*' and '!' mangled)", status: 400, errCode: "invalid_grant",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": url.QueryEscape(code)})
			}),
		},
		{
			name: "reused code", status: 400, errCode: "invalid_grant", errDesc: "Authorization code has been used.",
			prepare: func(t *testing.T, emu *tiktoktest.Server, _ *fakeClock, code string) {
				tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", adaptForm(t, sample, map[string]string{"code": code})))
			},
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code})
			}),
		},
		{
			name: "expired code", status: 400, errCode: "invalid_grant", errDesc: "Authorization code is expired.",
			prepare: func(t *testing.T, emu *tiktoktest.Server, clock *fakeClock, code string) {
				clock.Advance(5 * time.Minute)
			},
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code})
			}),
		},
		{
			name: "code expired through AdvanceClock", status: 400, errCode: "invalid_grant", errDesc: "Authorization code is expired.",
			prepare: func(t *testing.T, emu *tiktoktest.Server, _ *fakeClock, code string) {
				emu.AdvanceClock(10 * time.Minute)
			},
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code})
			}),
		},
		{
			name: "other redirect_uri", status: 400, errCode: "invalid_grant",
			errDesc: "Redirect_uri is not matched with the uri when requesting code.",
			cfg: func(c *tiktoktest.Config) {
				c.RedirectURIs = append(c.RedirectURIs, "https://custom.example.com/callback")
			},
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code, "redirect_uri": "https://custom.example.com/callback"})
			}),
		},
		{
			name: "redirect_uri differs by a trailing slash", status: 400, errCode: "invalid_grant",
			errDesc: "Redirect_uri is not matched with the uri when requesting code.",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code, "redirect_uri": seedRedirect + "/"})
			}),
		},
		{
			name: "redirect_uri missing", status: 400, errCode: "invalid_request",
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return strings.Split(adaptFormNoT(sample, map[string]string{"code": code}), "&redirect_uri=")[0]
			}),
		},
		{
			name: "verifier missing", status: 400, errCode: "invalid_request", errDesc: "Code verifier or code challenge is invalid.",
			challenge: hexChallenge(verifier),
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code})
			}),
		},
		{
			name: "verifier wrong", status: 400, errCode: "invalid_request", errDesc: "Code verifier or code challenge is invalid.",
			challenge: hexChallenge(verifier),
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code}) + "&code_verifier=" + strings.Repeat("a", 64)
			}),
		},
		{
			name: "verifier too short", status: 400, errCode: "invalid_request",
			challenge: hexChallenge("short"),
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code}) + "&code_verifier=short"
			}),
		},
		{
			name: "verifier checked as base64url against a hex challenge", status: 400, errCode: "invalid_request",
			challenge: hexChallenge(verifier),
			mk: formReq(func(emu *tiktoktest.Server, code string) string {
				return adaptFormNoT(sample, map[string]string{"code": code}) + "&code_verifier=" + b64Challenge(verifier)
			}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			cfg := seedConfig()
			cfg.Clock = clock.Now
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			emu := newEmu(t, cfg)
			code, err := emu.Code(tiktoktest.DefaultUsers()[0].OpenID, seedRedirect, []string{"user.info.basic"}, tc.challenge)
			require.NoError(t, err)
			if tc.prepare != nil {
				tc.prepare(t, emu, clock, code)
			}
			req, err := tc.mk(emu, code)
			require.NoError(t, err)
			oauthErr(t, do(t, emu.Client(), req), tc.status, tc.errCode, tc.errDesc)
			assert.Equal(t, 0, emu.Grants("authorization_code")-boolInt(tc.name == "reused code"))
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// adaptFormNoT is adaptForm for request builders that have no *testing.T.
func adaptFormNoT(sample string, repl map[string]string) string {
	parts := strings.Split(sample, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if v, ok := repl[k]; ok {
			parts[i] = k + "=" + url.QueryEscape(v)
		}
	}
	return strings.Join(parts, "&")
}

func formReq(body func(emu *tiktoktest.Server, code string) string) func(*tiktoktest.Server, string) (*http.Request, error) {
	return func(emu *tiktoktest.Server, code string) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(body(emu, code)))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	}
}

func TestExchangePKCE(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       tiktoktest.Config
		challenge string
	}{
		{"hex", tiktoktest.Config{}, hexChallenge(verifier)},
		{"base64url when accepted", tiktoktest.Config{AcceptBase64URLChallenge: true}, b64Challenge(verifier)},
		{"hex still works when base64url is accepted", tiktoktest.Config{AcceptBase64URLChallenge: true}, hexChallenge(verifier)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.AutoApprove = true
			emu := newEmu(t, tc.cfg)
			redirect := "http://127.0.0.1:7000/callback/"
			code := authCode(t, emu, redirect, "user.info.basic", "code_challenge", tc.challenge, "code_challenge_method", "S256")
			tok := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, redirect, "code_verifier", verifier)))
			assert.NotEmpty(t, tok.AccessToken)
		})
	}
	t.Run("verifier without challenge is ignored", func(t *testing.T) {
		emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
		code := authCode(t, emu, "https://a.example/cb", "user.info.basic")
		tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, "https://a.example/cb", "code_verifier", verifier)))
	})
	t.Run("a failed exchange leaves the code usable", func(t *testing.T) {
		emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
		code := authCode(t, emu, "https://a.example/cb", "user.info.basic", "code_challenge", hexChallenge(verifier), "code_challenge_method", "S256")
		r := postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, "https://a.example/cb"))
		oauthErr(t, r, http.StatusBadRequest, "invalid_request", "Code verifier or code challenge is invalid.")
		tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, "https://a.example/cb", "code_verifier", verifier)))
	})
}

func TestRefreshRotation(t *testing.T) {
	clock := newFakeClock()
	emu := newEmu(t, tiktoktest.Config{Clock: clock.Now, AccessTTL: 2 * time.Hour, RefreshTTL: 180 * 24 * time.Hour})
	first, err := emu.IssueToken(tiktoktest.DefaultUsers()[1].OpenID, "user.info.basic", "user.info.stats")
	require.NoError(t, err)
	assert.EqualValues(t, 7200, first.ExpiresIn)
	assert.EqualValues(t, 180*24*3600, first.RefreshExpiresIn)

	clock.Advance(3 * time.Hour) // access token expired, refresh token fine
	r := bearerGet(t, emu, "/v2/user/info/?fields=open_id", first.AccessToken)
	apiErr(t, r, http.StatusUnauthorized, "access_token_invalid", "")

	second := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, first.RefreshToken)))
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
	assert.Equal(t, first.OpenID, second.OpenID)
	assert.Equal(t, "user.info.basic,user.info.stats", second.Scope)
	assert.EqualValues(t, 180*24*3600-3*3600, second.RefreshExpiresIn, "the refresh lifetime counts from the authorization")
	r = bearerGet(t, emu, "/v2/user/info/?fields=open_id,follower_count", second.AccessToken)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	// The rotated refresh token is dead at once, and reuse is counted.
	r = postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, first.RefreshToken))
	oauthErr(t, r, http.StatusBadRequest, "invalid_grant", "Refresh token is invalid or expired.")
	assert.Equal(t, 1, emu.RefreshTokenReuse())
	// The reuse did not hurt the live one.
	third := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, second.RefreshToken)))
	assert.Equal(t, 2, emu.Grants("refresh_token"))

	// Unknown and empty refresh tokens are invalid_grant, a missing one invalid_request.
	oauthErr(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, "rft.unknown")), http.StatusBadRequest, "invalid_grant", "")
	oauthErr(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, "")), http.StatusBadRequest, "invalid_grant", "")
	oauthErr(t, postForm(t, emu, "/v2/oauth/token/", strings.Split(refreshForm(emu, "x"), "&refresh_token=")[0]),
		http.StatusBadRequest, "invalid_request", "The request parameters are malformed.")
	assert.Equal(t, 1, emu.RefreshTokenReuse(), "only rotated tokens count as reuse")

	// The refresh expiry is honoured.
	clock.Advance(180 * 24 * time.Hour)
	oauthErr(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, third.RefreshToken)), http.StatusBadRequest, "invalid_grant", "")
	assert.Equal(t, 1, emu.RefreshTokenReuse())
}

func TestConcurrentRefreshOneWins(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	const n = 12
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(refreshForm(emu, tok.RefreshToken)))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := emu.Client().Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, http.StatusBadRequest, s)
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, n-1, emu.RefreshTokenReuse())
	assert.Equal(t, 1, emu.Grants("refresh_token"))
}

func TestRevoke(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	alice := tiktoktest.DefaultUsers()[0].OpenID
	tok, err := emu.IssueToken(alice)
	require.NoError(t, err)
	other, err := emu.IssueToken(alice)
	require.NoError(t, err)

	// The refresh token is not what revoke takes.
	// An invalid or expired token is refused with HTTP 200, as TikTok does.
	oauthErr(t, postForm(t, emu, "/v2/oauth/revoke/", revokeForm(emu, tok.RefreshToken)), http.StatusOK, "invalid_grant", "Access token is invalid or expired.")
	oauthErr(t, postForm(t, emu, "/v2/oauth/revoke/", revokeForm(emu, "act.unknown")), http.StatusOK, "invalid_grant", "")
	oauthErr(t, postForm(t, emu, "/v2/oauth/revoke/", strings.Split(revokeForm(emu, "x"), "&token=")[0]), http.StatusBadRequest, "invalid_request", "")
	oauthErr(t, postForm(t, emu, "/v2/oauth/revoke/", strings.Replace(revokeForm(emu, tok.AccessToken), emu.ClientSecret(), "bad", 1)),
		http.StatusUnauthorized, "invalid_client", "")

	r := postForm(t, emu, "/v2/oauth/revoke/", revokeForm(emu, tok.AccessToken))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "{}", string(r.body))
	assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))

	apiErr(t, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken), http.StatusUnauthorized, "access_token_invalid", "")
	oauthErr(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken)), http.StatusBadRequest, "invalid_grant", "")
	oauthErr(t, postForm(t, emu, "/v2/oauth/revoke/", revokeForm(emu, tok.AccessToken)), http.StatusOK, "invalid_grant", "")
	assert.Equal(t, 0, emu.RefreshTokenReuse(), "a revoked token is not a rotated one")

	// Another grant of the same user lives on.
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, "/v2/user/info/?fields=open_id", other.AccessToken).status)
}

func TestKillAccessTokens(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)

	emu.KillAccessTokens()
	apiErr(t, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken), http.StatusUnauthorized, "access_token_invalid", "")
	// The refresh token still works and gives a live access token.
	fresh := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken)))
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, "/v2/user/info/?fields=open_id", fresh.AccessToken).status)

	emu.RevokeAllGrants()
	apiErr(t, bearerGet(t, emu, "/v2/user/info/?fields=open_id", fresh.AccessToken), http.StatusUnauthorized, "access_token_invalid", "")
	oauthErr(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, fresh.RefreshToken)), http.StatusBadRequest, "invalid_grant", "")

	// New grants after RevokeAllGrants work.
	again, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, "/v2/user/info/?fields=open_id", again.AccessToken).status)
}

func TestMintErrors(t *testing.T) {
	emu := newEmu(t, seedConfig())
	alice := tiktoktest.DefaultUsers()[0].OpenID
	_, err := emu.IssueToken("nobody")
	assert.ErrorContains(t, err, "tiktoktest: unknown user")
	_, err = emu.IssueToken(alice, "user.email")
	assert.ErrorContains(t, err, "tiktoktest: scopes")
	_, err = emu.Code(alice, "https://elsewhere.example/cb", []string{"user.info.basic"}, "")
	assert.ErrorContains(t, err, "not registered")
	_, err = emu.Code(alice, seedRedirect, []string{"user.info.basic"}, "ABC")
	assert.ErrorContains(t, err, "challenge")
	_, err = emu.Code("nobody", seedRedirect, []string{"user.info.basic"}, "")
	assert.ErrorContains(t, err, "unknown user")
	tok, err := emu.IssueToken(alice)
	require.NoError(t, err)
	assert.Equal(t, "user.info.basic,user.info.profile,user.info.stats,video.list,video.publish,video.upload", tok.Scope)
	assert.Equal(t, 0, emu.Grants("authorization_code")+emu.Grants("refresh_token"), "minted grants are not counted")
}
