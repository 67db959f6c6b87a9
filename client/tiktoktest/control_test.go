package tiktoktest_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

type lockedLog = testutil.SyncBuffer

// ctl calls a control endpoint with a JSON or form body.
func ctl(t *testing.T, emu *tiktoktest.Server, method, path, contentType, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, emu.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(t, emu.Client(), req)
}

func TestControlEndpoints(t *testing.T) {
	clock := newFakeClock()
	emu := newEmu(t, tiktoktest.Config{AutoApprove: true, Clock: clock.Now})
	users := tiktoktest.DefaultUsers()
	const jsonType = "application/json"
	const formType = "application/x-www-form-urlencoded"

	// Mint a token over HTTP.
	r := ctl(t, emu, "POST", "/_emulator/issue-token", formType, "open_id="+users[0].OpenID+"&scope=user.info.basic,user.info.stats")
	tok := tokenJSON(t, r)
	assert.Equal(t, "user.info.basic,user.info.stats", tok.Scope)
	r = ctl(t, emu, "POST", "/_emulator/issue-token", jsonType, `{"open_id":"nobody"}`)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.json(t)["error"], "unknown user")

	// Faults: inject, list, use, clear.
	r = ctl(t, emu, "POST", "/_emulator/faults", jsonType, `{"endpoint":"user_info","status":429,"retry_after":"2s","delay":0.001,"times":2}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.JSONEq(t, `{"ok":true}`, string(r.body))
	r = ctl(t, emu, "GET", "/_emulator/faults", "", "")
	assert.JSONEq(t, `[{"endpoint":"user_info","status":429,"retry_after":"2s","delay":"1ms","times":2}]`, string(r.body))
	r = bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken)
	assert.Equal(t, 429, r.status)
	assert.Equal(t, "2", r.header.Get("Retry-After"))
	ctl(t, emu, "POST", "/_emulator/faults", jsonType, `{"endpoint":"token","drop":true}`)
	r = ctl(t, emu, "DELETE", "/_emulator/faults?endpoint=user_info", "", "")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, 200, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)
	assert.Len(t, emu.Faults(), 1)
	ctl(t, emu, "DELETE", "/_emulator/faults", "", "")
	assert.Empty(t, emu.Faults())

	for _, bad := range []string{
		`{"endpoint":"nowhere","status":500}`,
		`{"endpoint":"token","status":42}`,
		`{"endpoint":"token","delay":"soon"}`,
		`{"endpoint":"token","times":-1}`,
		`{"endpoint":"token","stauts":500}`,
		`not json`,
	} {
		r = ctl(t, emu, "POST", "/_emulator/faults", jsonType, bad)
		assert.Equal(t, http.StatusBadRequest, r.status, bad)
		assert.True(t, strings.HasPrefix(r.json(t)["error"].(string), "tiktoktest: "), string(r.body))
	}
	assert.Equal(t, http.StatusBadRequest, ctl(t, emu, "DELETE", "/_emulator/faults?endpoint=x", "", "").status)
	assert.Empty(t, emu.Faults())

	// Counters.
	r = ctl(t, emu, "GET", "/_emulator/counters", "", "")
	var c tiktoktest.Counters
	require.NoError(t, json.Unmarshal(r.body, &c))
	assert.Equal(t, emu.Counters(), c)
	assert.Equal(t, 2, c.Calls[tiktoktest.EndpointUserInfo])
	assert.Contains(t, c.Grants, "client_credentials")
	ctl(t, emu, "POST", "/_emulator/reset-counters", "", "")
	assert.Zero(t, emu.Calls(tiktoktest.EndpointUserInfo))

	// Kill access tokens, then revoke everything.
	ctl(t, emu, "POST", "/_emulator/kill-access-tokens", "", "")
	assert.Equal(t, 401, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)
	fresh := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken)))
	ctl(t, emu, "POST", "/_emulator/revoke-all", "", "")
	assert.Equal(t, 401, bearerGet(t, emu, "/v2/user/info/?fields=open_id", fresh.AccessToken).status)
	assert.Equal(t, 400, postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, fresh.RefreshToken)).status)

	// Consent controls.
	redirect := "https://app.example/cb"
	query := "/v2/auth/authorize/?" + authorizeQuery(emu.ClientKey(), redirect, "user.info.basic", "z")
	ctl(t, emu, "POST", "/_emulator/deny-next-consent", "", "")
	assert.Equal(t, "access_denied", callback(t, get(t, emu, query), redirect).Get("error"))
	r = ctl(t, emu, "POST", "/_emulator/approve-as?open_id="+users[1].OpenID, "", "")
	assert.Equal(t, http.StatusOK, r.status)
	code := callback(t, get(t, emu, query), redirect).Get("code")
	assert.Equal(t, users[1].OpenID, tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, redirect))).OpenID)
	ctl(t, emu, "POST", "/_emulator/approve-as", jsonType, `{"open_id":"`+users[2].OpenID+`"}`)
	code = callback(t, get(t, emu, query), redirect).Get("code")
	assert.Equal(t, users[2].OpenID, tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, redirect))).OpenID)
	assert.Equal(t, http.StatusBadRequest, ctl(t, emu, "POST", "/_emulator/approve-as", formType, "x=1").status)

	// Users.
	r = ctl(t, emu, "GET", "/_emulator/users", "", "")
	var got []tiktoktest.User
	require.NoError(t, json.Unmarshal(r.body, &got))
	assert.Equal(t, emu.Users(), got)
	assert.Equal(t, users[0].OpenID, got[0].OpenID)

	// Clock.
	code = authCode(t, emu, redirect, "user.info.basic")
	r = ctl(t, emu, "POST", "/_emulator/advance-clock", formType, "by=6m")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, clock.Now().Add(6*time.Minute).Format(time.RFC3339Nano), r.json(t)["now"])
	oauthErr(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, redirect)), 400, "invalid_grant", "Authorization code is expired.")
	assert.Equal(t, http.StatusBadRequest, ctl(t, emu, "POST", "/_emulator/advance-clock", jsonType, `{"by":"-1h"}`).status)
	r = ctl(t, emu, "POST", "/_emulator/advance-clock", jsonType, `{"by":3600}`)
	assert.Equal(t, clock.Now().Add(66*time.Minute).Format(time.RFC3339Nano), r.json(t)["now"])
	emu.SetClock(clock.Now)
	assert.Equal(t, clock.Now(), emu.Now(), "SetClock drops the offset")

	// Methods and unknown paths.
	assert.Equal(t, http.StatusMethodNotAllowed, ctl(t, emu, "GET", "/_emulator/revoke-all", "", "").status)
	assert.Equal(t, http.StatusNotFound, ctl(t, emu, "POST", "/_emulator/nothing", "", "").status)

	// Control calls are not counted, and faults do not touch them.
	emu.ResetCounters()
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500})
	ctl(t, emu, "GET", "/_emulator/users", "", "")
	assert.Equal(t, http.StatusOK, ctl(t, emu, "POST", "/_emulator/issue-token", formType, "open_id="+users[0].OpenID).status)
	for e, n := range emu.Counters().Calls {
		assert.Zero(t, n, e)
	}
}

func TestNewHandlerMounted(t *testing.T) {
	emu := tiktoktest.NewHandler(tiktoktest.Config{AutoApprove: true})
	mux := http.NewServeMux()
	mux.Handle("/", emu.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	emu.SetURL(srv.URL + "/")
	emu.Close() // no-op
	assert.Equal(t, srv.URL, emu.URL)
	assert.Equal(t, srv.URL+"/v2/auth/authorize/", emu.AuthURL())
	assert.Equal(t, srv.URL, emu.APIURL())
	assert.Same(t, http.DefaultClient, emu.Client())
	code := authCode(t, emu, "https://a.example/cb", "user.info.basic")
	tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, "https://a.example/cb")))
	assert.Panics(t, emu.Start)
}

func TestStartTLS(t *testing.T) {
	emu := tiktoktest.NewUnstartedServer(tiktoktest.Config{})
	emu.StartTLS()
	defer emu.Close()
	assert.True(t, strings.HasPrefix(emu.URL, "https://127.0.0.1:"), emu.URL)
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	r := bearerGet(t, emu, "/v2/user/info/?fields=avatar_url", tok.AccessToken)
	require.Equal(t, 200, r.status)
	assert.Contains(t, string(r.body), `"https://127.0.0.1:`)
	assert.Panics(t, emu.StartTLS)
}

func TestInvalidConfigPanics(t *testing.T) {
	for _, cfg := range []tiktoktest.Config{
		{Scopes: []string{"user.email"}},
		{RedirectURIs: []string{"/relative"}},
		{Users: []tiktoktest.User{{DisplayName: "no id"}}},
		{Users: []tiktoktest.User{{OpenID: "a"}, {OpenID: "a"}}},
		{AccessTTL: -time.Second},
		{PKCE: tiktoktest.PKCEPolicy(7)},
	} {
		assert.Error(t, cfg.Validate())
		assert.Panics(t, func() { tiktoktest.NewHandler(cfg) })
	}
	assert.NoError(t, tiktoktest.Config{}.Validate())
}

// TestConcurrentUse exercises every mutable path at once under -race. The
// goroutines only use assert (never require), as FailNow must stay on the
// test goroutine.
func TestConcurrentUse(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
	redirect := "https://a.example/cb"
	client := noRedirect(emu)
	send := func(method, path, body string, header ...string) (int, []byte) {
		req, err := http.NewRequest(method, emu.URL+path, strings.NewReader(body))
		if !assert.NoError(t, err) {
			return 0, nil
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if !assert.NoError(t, err) {
			return 0, nil
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		assert.NoError(t, err)
		if loc := resp.Header.Get("Location"); loc != "" {
			return resp.StatusCode, []byte(loc)
		}
		return resp.StatusCode, b
	}
	const form = "application/x-www-form-urlencoded"
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			status, loc := send("GET", "/v2/auth/authorize/?"+authorizeQuery(emu.ClientKey(), redirect, "user.info.basic,video.publish", "s"), "")
			if !assert.Equal(t, http.StatusFound, status) {
				return
			}
			u, err := url.Parse(string(loc))
			if !assert.NoError(t, err) {
				return
			}
			var tok tiktoktest.TokenResponse
			status, body := send("POST", "/v2/oauth/token/", exchangeForm(emu, u.Query().Get("code"), redirect), "Content-Type", form)
			if !assert.Equal(t, http.StatusOK, status) || !assert.NoError(t, json.Unmarshal(body, &tok)) {
				return
			}
			for range 3 {
				status, _ = send("GET", "/v2/user/info/?fields=open_id,display_name", "", "Authorization", "Bearer "+tok.AccessToken)
				assert.Equal(t, http.StatusOK, status)
				status, body = send("POST", "/v2/oauth/token/", refreshForm(emu, tok.RefreshToken), "Content-Type", form)
				if !assert.Equal(t, http.StatusOK, status) || !assert.NoError(t, json.Unmarshal(body, &tok)) {
					return
				}
			}
			if i%2 == 0 {
				status, _ = send("POST", "/v2/oauth/revoke/", revokeForm(emu, tok.AccessToken), "Content-Type", form)
				assert.Equal(t, http.StatusOK, status)
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			emu.Counters()
			emu.InjectFault(tiktoktest.EndpointCreatorInfo, tiktoktest.Fault{Status: 500, Times: 1})
			emu.Faults()
			emu.Users()
			emu.AdvanceClock(time.Millisecond)
		}
	})
	wg.Wait()
	assert.Equal(t, 8, emu.Grants("authorization_code"))
	assert.Equal(t, 24, emu.Grants("refresh_token"))
	assert.Zero(t, emu.RefreshTokenReuse())
}

func TestLogger(t *testing.T) {
	var buf lockedLog
	emu := newEmu(t, tiktoktest.Config{AutoApprove: true, ClientSecret: "very-secret-value", Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	code := authCode(t, emu, "https://a.example/cb", "user.info.basic")
	tok := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, "https://a.example/cb")))
	emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: 500, Times: 1})
	bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken)
	emu.InjectFault(tiktoktest.EndpointRevoke, tiktoktest.Fault{Drop: true, Times: 1})
	req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/revoke/", strings.NewReader(revokeForm(emu, tok.AccessToken)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := emu.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	get(t, emu, "/nowhere")
	emu.Close() // every handler, and so every log line, is done

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 5, buf.String())
	assert.Contains(t, lines[0], "method=GET path=/v2/auth/authorize/ status=302")
	assert.Contains(t, lines[0], "endpoint=authorize")
	assert.Contains(t, lines[1], "path=/v2/oauth/token/ status=200")
	assert.Contains(t, lines[2], "status=500")
	assert.Contains(t, lines[2], "fault=true")
	// The dropped request's line is written after its connection is
	// closed, so the client may already have sent the next request.
	dropped, nowhere := lines[3], lines[4]
	if strings.Contains(dropped, "path=/nowhere") {
		dropped, nowhere = nowhere, dropped
	}
	assert.Contains(t, dropped, "path=/v2/oauth/revoke/ status=0")
	assert.Contains(t, dropped, "dropped=true")
	assert.Contains(t, nowhere, "path=/nowhere status=404")
	for _, secret := range []string{"very-secret-value", code, tok.AccessToken, tok.RefreshToken, "fields=", "state"} {
		assert.NotContains(t, buf.String(), secret)
	}
}
