package tiktoktest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

func TestFaults(t *testing.T) {
	alice := tiktoktest.DefaultUsers()[0].OpenID
	type call func(t *testing.T, emu *tiktoktest.Server, tok tiktoktest.TokenResponse) reply
	userInfo := func(t *testing.T, emu *tiktoktest.Server, tok tiktoktest.TokenResponse) reply {
		return bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken)
	}
	refresh := func(t *testing.T, emu *tiktoktest.Server, tok tiktoktest.TokenResponse) reply {
		return postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken))
	}
	revoke := func(t *testing.T, emu *tiktoktest.Server, tok tiktoktest.TokenResponse) reply {
		return postForm(t, emu, "/v2/oauth/revoke/", revokeForm(emu, tok.AccessToken))
	}
	creator := func(t *testing.T, emu *tiktoktest.Server, tok tiktoktest.TokenResponse) reply {
		req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/post/publish/creator_info/query/", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return do(t, emu.Client(), req)
	}
	for _, tc := range []struct {
		name     string
		endpoint tiktoktest.Endpoint
		fault    tiktoktest.Fault
		call     call
		check    func(t *testing.T, r reply)
	}{
		{"500 on user info", tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: 500}, userInfo, func(t *testing.T, r reply) {
			apiErr(t, r, 500, "internal_error", "")
		}},
		{"429 with Retry-After on user info", tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, userInfo, func(t *testing.T, r reply) {
			apiErr(t, r, 429, "rate_limit_exceeded", "")
			assert.Equal(t, "2", r.header.Get("Retry-After"))
		}},
		{"503 with Retry-After on token", tiktoktest.EndpointToken, tiktoktest.Fault{Status: 503, RetryAfter: 3 * time.Second}, refresh, func(t *testing.T, r reply) {
			oauthErr(t, r, 503, "temporarily_unavailable", "")
			assert.Equal(t, "3", r.header.Get("Retry-After"))
		}},
		{"500 on token", tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500}, refresh, func(t *testing.T, r reply) {
			oauthErr(t, r, 500, "server_error", "")
		}},
		{"error with 200 on token", tiktoktest.EndpointToken, tiktoktest.Fault{ErrorCode: "invalid_client"}, refresh, func(t *testing.T, r reply) {
			oauthErr(t, r, 200, "invalid_client", "Client authentication failed.")
		}},
		{"error with 200 on revoke", tiktoktest.EndpointRevoke, tiktoktest.Fault{ErrorCode: "invalid_grant"}, revoke, func(t *testing.T, r reply) {
			oauthErr(t, r, 200, "invalid_grant", "")
		}},
		{"error code with chosen status", tiktoktest.EndpointRevoke, tiktoktest.Fault{ErrorCode: "invalid_request", Status: 400}, revoke, func(t *testing.T, r reply) {
			oauthErr(t, r, 400, "invalid_request", "The request parameters are malformed.")
		}},
		{"spam error with 200 on creator info", tiktoktest.EndpointCreatorInfo, tiktoktest.Fault{ErrorCode: "spam_risk_too_many_posts"}, creator, func(t *testing.T, r reply) {
			apiErr(t, r, 200, "spam_risk_too_many_posts", "")
		}},
		{"malformed JSON", tiktoktest.EndpointUserInfo, tiktoktest.Fault{Body: seed.String("raw_body__invalid_json__200.txt"), ContentType: "application/json"}, userInfo, func(t *testing.T, r reply) {
			assert.Equal(t, 200, r.status)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Equal(t, seed.String("raw_body__invalid_json__200.txt"), string(r.body))
		}},
		{"HTML page with 500, type sniffed", tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500, Body: seed.String("raw_body__html_internal_server_error__500.txt")}, refresh, func(t *testing.T, r reply) {
			assert.Equal(t, 500, r.status)
			assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
			assert.Equal(t, seed.String("raw_body__html_internal_server_error__500.txt"), string(r.body))
		}},
		{"empty 204", tiktoktest.EndpointRevoke, tiktoktest.Fault{Status: 204}, revoke, func(t *testing.T, r reply) {
			assert.Equal(t, 204, r.status)
			assert.Empty(t, r.body)
		}},
		{"delay only, then the normal answer", tiktoktest.EndpointUserInfo, tiktoktest.Fault{Delay: time.Millisecond, RetryAfter: time.Second}, userInfo, func(t *testing.T, r reply) {
			assert.Equal(t, 200, r.status)
			assert.Equal(t, "1", r.header.Get("Retry-After"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := newEmu(t, tiktoktest.Config{})
			tok, err := emu.IssueToken(alice)
			require.NoError(t, err)
			emu.InjectFault(tc.endpoint, tc.fault)
			tc.check(t, tc.call(t, emu, tok))
			assert.Equal(t, 1, emu.Calls(tc.endpoint))
			// Times 0: the fault stays until cleared.
			tc.check(t, tc.call(t, emu, tok))
			emu.ClearFaults()
			r := tc.call(t, emu, tok)
			assert.Equal(t, 200, r.status, "normal answer after ClearFaults: %s", r.body)
			assert.Equal(t, 3, emu.Calls(tc.endpoint))
		})
	}
}

func TestFaultTimes(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: 503, Times: 2})
	assert.Equal(t, 2, emu.Faults()[tiktoktest.EndpointUserInfo].Times)
	assert.Equal(t, 503, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)
	assert.Equal(t, 1, emu.Faults()[tiktoktest.EndpointUserInfo].Times)
	assert.Equal(t, 503, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)
	assert.Empty(t, emu.Faults())
	assert.Equal(t, 200, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)

	// One endpoint's fault leaves the others alone; ClearFault removes one.
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500})
	emu.InjectFault(tiktoktest.EndpointRevoke, tiktoktest.Fault{Status: 500})
	assert.Equal(t, 200, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)
	emu.ClearFault(tiktoktest.EndpointToken)
	assert.Equal(t, 200, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken)).status)
	assert.Len(t, emu.Faults(), 1)
}

func TestFaultDrop(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Drop: true, Times: 1})

	req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(refreshForm(emu, tok.RefreshToken)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := emu.Client().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "a dropped connection gives no response")
	assert.Equal(t, 0, emu.Grants("refresh_token"), "the dropped request did nothing")

	// The refresh token was not used: the next refresh works.
	tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken)))
	assert.Equal(t, 2, emu.Calls(tiktoktest.EndpointToken))
}

func TestFaultDelayHonoursContext(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Delay: time.Hour})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, emu.URL+"/v2/user/info/?fields=open_id", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := emu.Client().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// Close (in Cleanup) returns only once the handler gave up waiting; a
	// handler stuck for the hour would hang the test.
	emu.Close()
	assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointUserInfo))
}

func TestAuthorizeFaults(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
	redirect := "https://a.example/cb"
	query := authorizeQuery(emu.ClientKey(), redirect, "user.info.basic", "s9")

	emu.InjectFault(tiktoktest.EndpointAuthorize, tiktoktest.Fault{ErrorCode: "server_error", Times: 1})
	q := callback(t, get(t, emu, "/v2/auth/authorize/?"+query), redirect)
	assert.Equal(t, "server_error", q.Get("error"))
	assert.Equal(t, "s9", q.Get("state"))

	// With an untrusted redirect the error stays on TikTok's page.
	emu.InjectFault(tiktoktest.EndpointAuthorize, tiktoktest.Fault{ErrorCode: "server_error", Times: 1})
	r := get(t, emu, "/v2/auth/authorize/?"+strings.Replace(query, "client_key=", "client_key=x", 1))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Empty(t, r.header.Get("Location"))

	emu.InjectFault(tiktoktest.EndpointAuthorize, tiktoktest.Fault{Status: 502, Times: 1})
	r = get(t, emu, "/v2/auth/authorize/?"+query)
	assert.Equal(t, http.StatusBadGateway, r.status)
	assert.Contains(t, string(r.body), "<li>server_error</li>")
	assert.Empty(t, r.header.Get("Location"))

	q = callback(t, get(t, emu, "/v2/auth/authorize/?"+query), redirect)
	assert.NotEmpty(t, q.Get("code"))
}

func TestCounters(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
	redirect := "https://a.example/cb"
	code := authCode(t, emu, redirect, "user.info.basic,video.publish")
	tok := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, redirect)))
	tok = tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken)))
	postForm(t, emu, "/v2/oauth/token/", "client_key="+emu.ClientKey()+"&client_secret="+emu.ClientSecret()+"&grant_type=client_credentials")
	postForm(t, emu, "/v2/oauth/token/", "client_key="+emu.ClientKey()+"&client_secret=bad&grant_type=client_credentials")
	bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken)
	bearerGet(t, emu, "/v2/user/info/?fields=nope", tok.AccessToken)
	creatorReq, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/post/publish/creator_info/query/", nil)
	require.NoError(t, err)
	creatorReq.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	do(t, emu.Client(), creatorReq)
	postForm(t, emu, "/v2/oauth/revoke/", revokeForm(emu, tok.AccessToken))

	want := tiktoktest.Counters{
		Calls: map[tiktoktest.Endpoint]int{
			tiktoktest.EndpointAuthorize: 1, tiktoktest.EndpointToken: 4, tiktoktest.EndpointRevoke: 1,
			tiktoktest.EndpointUserInfo: 2, tiktoktest.EndpointCreatorInfo: 1,
			// Every endpoint is listed, the ones not called with 0.
			tiktoktest.EndpointVideoList: 0, tiktoktest.EndpointVideoQuery: 0, tiktoktest.EndpointVideoInit: 0,
			tiktoktest.EndpointInboxInit: 0, tiktoktest.EndpointContentInit: 0, tiktoktest.EndpointPublishStatus: 0,
			tiktoktest.EndpointPublishCancel: 0, tiktoktest.EndpointUpload: 0,
		},
		Grants: map[string]int{"authorization_code": 1, "refresh_token": 1, "client_credentials": 1},
		// Every endpoint that can carry a quota, none refused.
		RateLimited: map[tiktoktest.Endpoint]int{
			tiktoktest.EndpointUserInfo: 0, tiktoktest.EndpointCreatorInfo: 0, tiktoktest.EndpointVideoList: 0,
			tiktoktest.EndpointVideoQuery: 0, tiktoktest.EndpointVideoInit: 0, tiktoktest.EndpointInboxInit: 0,
			tiktoktest.EndpointContentInit: 0, tiktoktest.EndpointPublishStatus: 0, tiktoktest.EndpointPublishCancel: 0,
		},
		// Every endpoint with a quota (TikTok's defaults; cancel has none):
		// both user info requests fell in one window.
		QuotaPeak: map[tiktoktest.Endpoint]int{
			tiktoktest.EndpointUserInfo: 2, tiktoktest.EndpointCreatorInfo: 1, tiktoktest.EndpointVideoList: 0,
			tiktoktest.EndpointVideoQuery: 0, tiktoktest.EndpointVideoInit: 0, tiktoktest.EndpointInboxInit: 0,
			tiktoktest.EndpointContentInit: 0, tiktoktest.EndpointPublishStatus: 0,
		},
	}
	assert.Equal(t, want, emu.Counters())
	assert.Equal(t, 4, emu.Calls(tiktoktest.EndpointToken))
	assert.Equal(t, 1, emu.Grants("client_credentials"))
	assert.Equal(t, 0, emu.Grants("password"))

	emu.ResetCounters()
	c := emu.Counters()
	for e, n := range c.Calls {
		assert.Zero(t, n, e)
	}
	for e, n := range c.QuotaPeak {
		assert.Zero(t, n, e)
	}
	assert.Zero(t, emu.Grants("authorization_code"))
}

// LoseAnswer: the endpoint does its work, and the answer never arrives. A
// refresh has rotated the token, so the client's next try with the refresh
// token it still holds is a reuse that TikTok refuses.
func TestLoseAnswer(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic")
	require.NoError(t, err)
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{LoseAnswer: true, Times: 1})

	req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(refreshForm(emu, tok.RefreshToken)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the answer arrived: HTTP %d", resp.StatusCode)
	}
	assert.Equal(t, 1, emu.Grants("refresh_token"), "the refresh was carried out")
	assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointToken))

	r := postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken))
	oauthErr(t, r, http.StatusBadRequest, "invalid_grant", "")
	assert.Equal(t, 1, emu.RefreshTokenReuse())

	// The control route sets the same fault.
	r = ctl(t, emu, "POST", "/_emulator/faults", "application/json", `{"endpoint":"user_info","lose_answer":true,"times":1}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.True(t, emu.Faults()[tiktoktest.EndpointUserInfo].LoseAnswer)
	r = ctl(t, emu, "GET", "/_emulator/faults", "", "")
	assert.Contains(t, string(r.body), `"lose_answer":true`)
}
