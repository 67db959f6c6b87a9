package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// testApp is the example served by an httptest server, with the emulator
// approving logins by itself.
type testApp struct {
	*app
	srv  *httptest.Server
	http *http.Client
	logs *bytes.Buffer
}

func newTestApp(t *testing.T, scopes ...string) *testApp {
	t.Helper()
	return newTestAppEnv(t, nil, scopes...)
}

// newTestAppEnv starts the app with env as its environment.
func newTestAppEnv(t *testing.T, env map[string]string, scopes ...string) *testApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	logs := new(bytes.Buffer)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := settingsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	s.RedirectURI = base + "/auth/tiktok/callback"
	if len(scopes) > 0 {
		s.Scopes = scopes
	}
	a, err := newApp(s, logger, appOptions{AutoApprove: true})
	require.NoError(t, err)
	srv.Config.Handler = a
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &testApp{app: a, srv: srv, logs: logs, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get does one request without following redirects.
func (ta *testApp) do(t *testing.T, method, path, accept string, body url.Values) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	target := path
	if strings.HasPrefix(path, "/") {
		target = ta.srv.URL + path
	}
	req, err := http.NewRequest(method, target, rd)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ta.srv.URL)
	}
	resp, err := ta.http.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

const htmlAccept = "text/html,application/xhtml+xml"

// login runs the whole login flow: app -> emulator -> callback -> /me.
func (ta *testApp) login(t *testing.T) {
	t.Helper()
	next := "/auth/tiktok/login?return_to=%2Fme"
	for i := 0; i < 5; i++ {
		resp := ta.do(t, http.MethodGet, next, htmlAccept, nil)
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			require.Equal(t, http.StatusOK, resp.StatusCode, readBody(t, resp))
			return
		}
		loc, err := resp.Location()
		require.NoError(t, err)
		next = loc.String()
		if loc.Path == "/me" {
			return
		}
	}
	t.Fatal("login did not reach /me")
}

func TestHomeIsPublic(t *testing.T) {
	ta := newTestApp(t)
	resp := ta.do(t, http.MethodGet, "/", htmlAccept, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, readBody(t, resp), `href="/auth/tiktok/login?return_to=%2Fme"`)
}

func TestNotLoggedIn(t *testing.T) {
	ta := newTestApp(t)

	resp := ta.do(t, http.MethodGet, "/me", htmlAccept, nil)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fme", resp.Header.Get("Location"))

	resp = ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "login_required", body["error"])

	// A plain HTTP client (curl sends */*) gets the same answers.
	resp = ta.do(t, http.MethodGet, "/me", "*/*", nil)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fme", resp.Header.Get("Location"))
	resp = ta.do(t, http.MethodGet, "/api/me", "*/*", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp = ta.do(t, http.MethodGet, "/api/me", htmlAccept, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "an API route never redirects")

	resp = ta.do(t, http.MethodGet, "/nowhere", htmlAccept, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestLoginShowsProfileAndAPI(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	user := ta.emu.Users()[0]

	resp := ta.do(t, http.MethodGet, "/me", htmlAccept, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	page := readBody(t, resp)
	assert.Contains(t, page, user.DisplayName)
	assert.Contains(t, page, "video.publish")     // granted scopes
	assert.Contains(t, page, `id="creator"`)      // creator info shown with video.publish
	assert.Contains(t, page, `name="csrf_token"`) // the Disconnect form
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	before := ta.emu.Calls(tiktoktest.EndpointUserInfo)
	for i := 0; i < 2; i++ {
		resp = ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var me map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&me))
		assert.Equal(t, user.OpenID, me["open_id"])
		assert.Equal(t, user.DisplayName, me["display_name"])
	}
	// /api/me asks TikTok on every request: no caching.
	assert.Equal(t, before+2, ta.emu.Calls(tiktoktest.EndpointUserInfo))

	// The home page now knows the user.
	assert.Contains(t, readBody(t, ta.do(t, http.MethodGet, "/", htmlAccept, nil)), `href="/me"`)
}

// /api/me shows the fields TikTok returned for the granted scopes: without
// user.info.stats the counts are absent, not zeros that look like data.
func TestAPIMeShowsOnlyGrantedFields(t *testing.T) {
	for _, tc := range []struct {
		scopes    []string
		withStats bool
	}{
		{[]string{"user.info.basic", "user.info.profile"}, false},
		{[]string{"user.info.basic", "user.info.stats"}, true},
	} {
		t.Run(strings.Join(tc.scopes, ","), func(t *testing.T) {
			ta := newTestApp(t, tc.scopes...)
			ta.login(t)
			resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var me map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&me))
			assert.NotEmpty(t, me["open_id"])
			assert.NotEmpty(t, me["display_name"])
			assert.ElementsMatch(t, tc.scopes, me["scopes"])
			_, hasCount := me["follower_count"]
			assert.Equal(t, tc.withStats, hasCount, "follower_count in %v", me)
			_, hasBio := me["bio_description"]
			assert.Equal(t, !tc.withStats, hasBio, "bio_description (user.info.profile) in %v", me)
		})
	}
}

func TestExpiredTokenIsRefreshed(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	ta.emu.AdvanceClock(25 * time.Hour) // past the 24 h access token lifetime
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, readBody(t, resp))
	assert.Equal(t, 1, ta.emu.Grants("refresh_token"))
}

func TestTikTokDownAnswers5xx(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	ta.emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: http.StatusInternalServerError, ErrorCode: "internal_error"})
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode)
	assert.NotContains(t, readBody(t, resp), "internal_error")

	ta.emu.ClearFaults()
	resp = ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the user stays logged in")
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func TestDisconnect(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	page := readBody(t, ta.do(t, http.MethodGet, "/me", htmlAccept, nil))
	m := csrfField.FindStringSubmatch(page)
	require.Len(t, m, 2, "the /me page has a CSRF token")

	// GET is refused, and so is a POST without the token.
	assert.Equal(t, http.StatusMethodNotAllowed, ta.do(t, http.MethodGet, "/auth/tiktok/disconnect", htmlAccept, nil).StatusCode)
	assert.Equal(t, http.StatusForbidden, ta.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, url.Values{}).StatusCode)
	assert.Equal(t, http.StatusOK, ta.do(t, http.MethodGet, "/api/me", "application/json", nil).StatusCode, "still logged in")

	token := html.UnescapeString(m[1]) // html/template writes '+' as &#43;
	resp := ta.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, url.Values{"csrf_token": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/", resp.Header.Get("Location"))
	assert.Equal(t, 1, ta.emu.Calls(tiktoktest.EndpointRevoke))
	assert.Equal(t, http.StatusUnauthorized, ta.do(t, http.MethodGet, "/api/me", "application/json", nil).StatusCode)
	keys, err := ta.store.Keys(context.Background())
	require.NoError(t, err)
	assert.Empty(t, keys, "the token is gone from the store")
}

func TestNoSecretInLogs(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	tok, err := ta.store.Get(context.Background(), ta.emu.Users()[0].OpenID)
	require.NoError(t, err)
	logs := ta.logs.String()
	assert.NotContains(t, logs, tok.AccessToken)
	assert.NotContains(t, logs, tok.RefreshToken)
	assert.NotContains(t, logs, ta.emu.ClientSecret())
}

func TestSettingsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, s settings)
	}{
		{name: "defaults use the emulator", env: nil, check: func(t *testing.T, s settings) {
			assert.True(t, s.Emulated)
			assert.Equal(t, "localhost:8080", s.Addr)
			assert.Equal(t, emulatorScopes, s.Scopes)
		}},
		{name: "real TikTok", env: map[string]string{"TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s", "ADDR": ":9000"}, check: func(t *testing.T, s settings) {
			assert.False(t, s.Emulated)
			assert.Equal(t, "https://www.tiktok.com/v2/auth/authorize/", s.AuthURL)
			assert.Equal(t, "https://open.tiktokapis.com", s.APIURL)
			assert.Equal(t, []string{"user.info.basic"}, s.Scopes)
		}},
		{name: "scopes", env: map[string]string{"TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s", "TIKTOK_SCOPES": "user.info.basic, video.list"}, check: func(t *testing.T, s settings) {
			assert.Equal(t, []string{"user.info.basic", "video.list"}, s.Scopes)
		}},
		{name: "secret without key", env: map[string]string{"TIKTOK_CLIENT_SECRET": "s"}, wantErr: "TIKTOK_CLIENT_KEY is not"},
		{name: "key without secret", env: map[string]string{"TIKTOK_CLIENT_KEY": "k"}, wantErr: "TIKTOK_CLIENT_SECRET is not"},
		{name: "URLs without key", env: map[string]string{"TIKTOK_API_URL": "http://127.0.0.1:1"}, wantErr: "need TIKTOK_CLIENT_KEY"},
		{name: "redirect with query", env: map[string]string{"TIKTOK_REDIRECT_URI": "https://x.example/cb?a=1"}, wantErr: "without query"},
		{name: "relative redirect", env: map[string]string{"TIKTOK_REDIRECT_URI": "/cb"}, wantErr: "absolute"},
		{name: "quotas", env: map[string]string{"TIKTOK_QUOTAS": "user_info=2000/1m, video_init=off"}, check: func(t *testing.T, s settings) {
			assert.Equal(t, map[string]client.Quota{"user_info": {Limit: 2000, Window: time.Minute}, "video_init": {}}, s.Quotas)
			assert.False(t, s.NoQuotas)
		}},
		{name: "quotas off", env: map[string]string{"TIKTOK_QUOTAS": "off"}, check: func(t *testing.T, s settings) {
			assert.True(t, s.NoQuotas)
		}},
		{name: "bad quota", env: map[string]string{"TIKTOK_QUOTAS": "user_info=lots"}, wantErr: "TIKTOK_QUOTAS"},
		{name: "unknown quota endpoint", env: map[string]string{"TIKTOK_QUOTAS": "token=1/1s"}, wantErr: "unknown endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := settingsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{"ADDR": "127.0.0.1:0"}
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, &out, slog.New(slog.NewTextHandler(io.Discard, nil)), ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not start")
	}
	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, out.String(), "open "+base)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRefusesBadEnvironment(t *testing.T) {
	err := run(context.Background(), func(k string) string {
		return map[string]string{"TIKTOK_CLIENT_KEY": "only-a-key"}[k]
	}, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	require.ErrorContains(t, err, "TIKTOK_CLIENT_SECRET")
}

func TestVideosPage(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	resp := ta.do(t, http.MethodGet, "/videos", htmlAccept, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	page := readBody(t, resp)
	assert.Contains(t, page, `id="videos"`)
	assert.GreaterOrEqual(t, strings.Count(page, `class="video"`), 1)
	assert.GreaterOrEqual(t, ta.emu.Calls(tiktoktest.EndpointVideoList), 1)
}

func TestVideosPageAsksForTheScope(t *testing.T) {
	// An app that asks for little at first.
	ta := newTestApp(t, "user.info.basic", "user.info.profile")
	ta.login(t)
	assert.Contains(t, readBody(t, ta.do(t, http.MethodGet, "/me", htmlAccept, nil)), "TikTok will ask you for the video.list permission")

	resp := ta.do(t, http.MethodGet, "/videos", htmlAccept, nil)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc := resp.Header.Get("Location")
	assert.Contains(t, loc, "/auth/tiktok/login?return_to=%2Fvideos")
	assert.Contains(t, loc, "scope=video.list")

	resp = ta.do(t, http.MethodGet, "/videos", "application/json", nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// The step-up login asks TikTok for the scope and lands on /videos.
	next := loc
	for i := 0; i < 5 && next != "/videos"; i++ {
		resp = ta.do(t, http.MethodGet, next, htmlAccept, nil)
		require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, resp.StatusCode, readBody(t, resp))
		next = resp.Header.Get("Location")
		if strings.HasPrefix(next, ta.emu.URL) {
			assert.Contains(t, next, "video.list")
		}
	}
	require.Equal(t, "/videos", next)
	resp = ta.do(t, http.MethodGet, "/videos", htmlAccept, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, readBody(t, resp), `class="video"`)
}

func TestWebhookAuthorizationRemovedLogsOut(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	user := ta.emu.Users()[0]
	require.Equal(t, http.StatusOK, ta.do(t, http.MethodGet, "/api/me", "application/json", nil).StatusCode)

	send := func(body string, signature string) int {
		req, err := http.NewRequest(http.MethodPost, ta.srv.URL+"/webhooks/tiktok", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("TikTok-Signature", signature)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	now := ta.emu.Now()
	body := `{"client_key":"` + ta.emu.ClientKey() + `","event":"authorization.removed","create_time":` +
		strconv.FormatInt(now.Unix(), 10) + `,"user_openid":"` + user.OpenID + `","content":"{\"reason\":1}"}`

	// Unsigned or wrongly signed: refused, nothing deleted.
	assert.Equal(t, http.StatusBadRequest, send(body, "t=1,s=00"), "a signature from 1970 is stale")
	assert.Equal(t, http.StatusUnauthorized, send(body, webhook.Sign("not-the-secret", now, []byte(body))))
	require.Equal(t, http.StatusOK, ta.do(t, http.MethodGet, "/api/me", "application/json", nil).StatusCode)

	assert.Equal(t, http.StatusOK, send(body, webhook.Sign(ta.webhookSecret, now, []byte(body))))
	_, err := ta.store.Get(context.Background(), user.OpenID)
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	assert.Equal(t, http.StatusUnauthorized, ta.do(t, http.MethodGet, "/api/me", "application/json", nil).StatusCode)
}
