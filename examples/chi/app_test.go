package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

type syncBuffer = testutil.SyncBuffer

// testKeys returns a fresh TIKTOKKIT_TOKEN_KEYS value with one key.
func testKeys(t *testing.T, id string) string {
	t.Helper()
	secret := make([]byte, 32)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	return id + ":" + base64.StdEncoding.EncodeToString(secret)
}

// testApp is one instance of the example served by an httptest server.
type testApp struct {
	*app
	srv  *httptest.Server
	http *http.Client
	logs *syncBuffer
}

// startApp serves newApp(settings from env) on a fresh loopback port.
// redirect, when not empty, is the redirect URI (another instance's
// callback); otherwise the app's own callback. jar may be shared between
// instances, as one browser's cookies are.
func startApp(t *testing.T, env map[string]string, opts appOptions, redirect string, jar http.CookieJar) *testApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	logs := new(syncBuffer)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := settingsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	s.RedirectURI = redirect
	if s.RedirectURI == "" {
		s.RedirectURI = base + "/auth/tiktok/callback"
	}
	a, err := newApp(t.Context(), s, logger, opts)
	require.NoError(t, err)
	srv.Config.Handler = a
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	if jar == nil {
		jar, err = cookiejar.New(nil)
		require.NoError(t, err)
	}
	return &testApp{app: a, srv: srv, logs: logs, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// sqliteEnv is the environment of an instance on a fresh SQLite file with
// the in-process emulator.
func sqliteEnv(t *testing.T) map[string]string {
	return map[string]string{
		"SQLITE_PATH":          filepath.Join(t.TempDir(), "app.db"),
		"TIKTOKKIT_TOKEN_KEYS": testKeys(t, "test-2"),
		"TIKTOKKIT_INSTANCE":   "test",
	}
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	return startApp(t, sqliteEnv(t), appOptions{AutoApprove: true}, "", nil)
}

// do runs one request without following redirects.
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
	for range 5 {
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

// apiMe asks /api/me and decodes the answer.
func (ta *testApp) apiMe(t *testing.T) (int, map[string]any) {
	t.Helper()
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestHomeIsPublic(t *testing.T) {
	ta := newTestApp(t)
	resp := ta.do(t, http.MethodGet, "/", htmlAccept, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	page := readBody(t, resp)
	assert.Contains(t, page, `href="/auth/tiktok/login?return_to=%2Fme"`)
	assert.Contains(t, page, "SQLite")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

	resp = ta.do(t, http.MethodHead, "/", htmlAccept, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestNotLoggedIn(t *testing.T) {
	ta := newTestApp(t)

	resp := ta.do(t, http.MethodGet, "/me", htmlAccept, nil)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fme", resp.Header.Get("Location"))

	status, body := ta.apiMe(t)
	require.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "login_required", body["error"])

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
	for range 2 {
		status, me := ta.apiMe(t)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, user.OpenID, me["open_id"])
		assert.Equal(t, user.DisplayName, me["display_name"])
	}
	// /api/me asks TikTok on every request: no caching.
	assert.Equal(t, before+2, ta.emu.Calls(tiktoktest.EndpointUserInfo))

	// The home page now knows the user.
	assert.Contains(t, readBody(t, ta.do(t, http.MethodGet, "/", htmlAccept, nil)), `href="/me"`)
}

func TestTokensAreEncryptedAtRest(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	assertEncryptedAtRest(t, ta.app, ta.emu.Users()[0].OpenID)
}

// assertEncryptedAtRest checks that the token row of key holds neither the
// access nor the refresh token, that it names the ring's primary key, and
// that no session row holds a token either.
func assertEncryptedAtRest(t *testing.T, a *app, key string) {
	t.Helper()
	ctx := context.Background()
	tok, err := a.store.Get(ctx, key)
	require.NoError(t, err)
	require.NotEmpty(t, tok.AccessToken)

	q := "SELECT token, key_id FROM tiktok_tokens WHERE \"key\" = ?"
	if a.db.dialect == tokenstore.Postgres {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var (
		raw   []byte
		keyID string
	)
	require.NoError(t, a.db.db.QueryRowContext(ctx, q, key).Scan(&raw, &keyID))
	assert.Equal(t, a.keys.PrimaryID(), keyID)
	assert.NotContains(t, string(raw), tok.AccessToken)
	assert.NotContains(t, string(raw), tok.RefreshToken)
	assert.NotContains(t, string(raw), key, "not even the open_id is in clear")

	rows, err := a.db.db.QueryContext(ctx, "SELECT data FROM sessions")
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var data []byte
		require.NoError(t, rows.Scan(&data))
		assert.NotContains(t, string(data), tok.AccessToken)
		assert.NotContains(t, string(data), tok.RefreshToken)
		n++
	}
	require.NoError(t, rows.Err())
	assert.Positive(t, n, "the sessions live in the database")
}

func TestExpiredTokenIsRefreshed(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	ta.emu.AdvanceClock(25 * time.Hour) // past the 24 h access token lifetime
	status, me := ta.apiMe(t)
	require.Equal(t, http.StatusOK, status, me)
	assert.Equal(t, 1, ta.emu.Grants("refresh_token"))
	assertEncryptedAtRest(t, ta.app, ta.emu.Users()[0].OpenID)
}

func TestTikTokDownAnswers5xx(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	ta.emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: http.StatusInternalServerError, ErrorCode: "internal_error"})
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, resp.StatusCode)
	assert.NotContains(t, readBody(t, resp), "internal_error")

	ta.emu.ClearFaults()
	status, _ := ta.apiMe(t)
	assert.Equal(t, http.StatusOK, status, "the user stays logged in")
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// htmlUnescape undoes html/template's escaping of an attribute value (it
// writes "+" as "&#43;", and CSRF tokens are base64).
func htmlUnescape(s string) string { return html.UnescapeString(s) }

func TestDisconnect(t *testing.T) {
	ta := newTestApp(t)
	ta.login(t)
	page := readBody(t, ta.do(t, http.MethodGet, "/me", htmlAccept, nil))
	m := csrfField.FindStringSubmatch(page)
	require.Len(t, m, 2, "the /me page has a CSRF token")

	// GET is refused, and so is a POST without the token.
	assert.Equal(t, http.StatusMethodNotAllowed, ta.do(t, http.MethodGet, "/auth/tiktok/disconnect", htmlAccept, nil).StatusCode)
	assert.Equal(t, http.StatusForbidden, ta.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, url.Values{}).StatusCode)
	status, _ := ta.apiMe(t)
	assert.Equal(t, http.StatusOK, status, "still logged in")

	resp := ta.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, url.Values{"csrf_token": {htmlUnescape(m[1])}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/", resp.Header.Get("Location"))
	assert.Equal(t, 1, ta.emu.Calls(tiktoktest.EndpointRevoke))
	status, _ = ta.apiMe(t)
	assert.Equal(t, http.StatusUnauthorized, status)
	keys, err := ta.store.Keys(context.Background())
	require.NoError(t, err)
	assert.Empty(t, keys, "the token is gone from the database")
}

func TestNoSecretInLogs(t *testing.T) {
	env := sqliteEnv(t)
	ta := startApp(t, env, appOptions{AutoApprove: true}, "", nil)
	ta.login(t)
	ta.apiMe(t)
	tok, err := ta.store.Get(context.Background(), ta.emu.Users()[0].OpenID)
	require.NoError(t, err)
	logs := ta.logs.String()
	assert.Contains(t, logs, "instance=test")
	assert.NotContains(t, logs, tok.AccessToken)
	assert.NotContains(t, logs, tok.RefreshToken)
	assert.NotContains(t, logs, ta.emu.ClientSecret())
	_, secret, _ := strings.Cut(env["TIKTOKKIT_TOKEN_KEYS"], ":")
	assert.NotContains(t, logs, secret)
}

// TestGeneratedKeyDoesNotSurviveRestart: without TIKTOKKIT_TOKEN_KEYS the
// app warns, and after a restart (a new generated key, the same database
// and session) the user is asked to log in again instead of meeting an
// error page; logging in again works.
func TestGeneratedKeyDoesNotSurviveRestart(t *testing.T) {
	env := sqliteEnv(t)
	delete(env, "TIKTOKKIT_TOKEN_KEYS")
	first := startApp(t, env, appOptions{AutoApprove: true}, "", nil)
	assert.Contains(t, first.logs.String(), "TIKTOKKIT_TOKEN_KEYS is not set")
	first.login(t)
	status, _ := first.apiMe(t)
	require.Equal(t, http.StatusOK, status)
	first.srv.Close()
	first.Close()

	second := startApp(t, env, appOptions{AutoApprove: true}, "", first.http.Jar)
	assert.NotEqual(t, first.keys.PrimaryID(), second.keys.PrimaryID())
	assert.Contains(t, second.logs.String(), "tokens=1", "the start-up warning counts the unreadable token")

	// The unreadable row is the operator's problem: 503 with a page that
	// says so, the row kept, nobody logged out.
	resp := second.do(t, http.MethodGet, "/me", htmlAccept, nil)
	body := readBody(t, resp)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	assert.Contains(t, body, "Token store needs attention")
	status, _ = second.apiMe(t)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	_, err := second.app.store.Get(context.Background(), second.emu.Users()[0].OpenID)
	assert.ErrorIs(t, err, tokenstore.ErrUnknownKey, "the row is left for the operator")
	assert.Contains(t, second.logs.String(), "token store needs attention")

	// Logging in again overwrites the row with a token under the new key.
	second.login(t)
	status, me := second.apiMe(t)
	require.Equal(t, http.StatusOK, status, me)
	assertEncryptedAtRest(t, second.app, second.emu.Users()[0].OpenID)
}

func TestSettingsFromEnv(t *testing.T) {
	keys := testKeys(t, "new") + "," + testKeys(t, "old")
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, s settings)
	}{
		{name: "defaults use the emulator and SQLite", env: nil, check: func(t *testing.T, s settings) {
			assert.True(t, s.Emulated)
			assert.Equal(t, "localhost:8080", s.Addr)
			assert.Equal(t, emulatorScopes, s.Scopes)
			assert.Equal(t, "tiktokkit-example.db", s.SQLitePath)
			assert.Empty(t, s.DatabaseURL)
			assert.Nil(t, s.Keys)
			assert.Regexp(t, `-\d+$`, s.Instance)
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
		{name: "external emulator", env: map[string]string{"TIKTOK_EMULATOR_URL": "http://127.0.0.1:9090/"}, check: func(t *testing.T, s settings) {
			assert.False(t, s.Emulated)
			assert.True(t, s.usesEmulator())
			assert.Equal(t, "http://127.0.0.1:9090/v2/auth/authorize/", s.AuthURL)
			assert.Equal(t, "http://127.0.0.1:9090", s.APIURL)
			assert.Equal(t, "test-client-key", s.ClientKey)
			assert.Equal(t, "test-client-secret", s.ClientSecret)
			assert.Equal(t, emulatorScopes, s.Scopes)
		}},
		{name: "external emulator with own credentials", env: map[string]string{"TIKTOK_EMULATOR_URL": "http://emu.test", "TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s"}, check: func(t *testing.T, s settings) {
			assert.Equal(t, "k", s.ClientKey)
			assert.Equal(t, "s", s.ClientSecret)
			assert.Equal(t, "http://emu.test", s.APIURL)
		}},
		{name: "database, keys and instance", env: map[string]string{"DATABASE_URL": "postgres://u:p@db:5432/app", "SQLITE_PATH": "/tmp/x.db", "TIKTOKKIT_TOKEN_KEYS": keys, "TIKTOKKIT_INSTANCE": "web-1"}, check: func(t *testing.T, s settings) {
			assert.Equal(t, "postgres://u:p@db:5432/app", s.DatabaseURL)
			assert.Equal(t, "/tmp/x.db", s.SQLitePath)
			require.NotNil(t, s.Keys)
			assert.Equal(t, "new", s.Keys.PrimaryID())
			assert.ElementsMatch(t, []string{"new", "old"}, s.Keys.IDs())
			assert.Equal(t, "web-1", s.Instance)
		}},
		{name: "secret without key", env: map[string]string{"TIKTOK_CLIENT_SECRET": "s"}, wantErr: "TIKTOK_CLIENT_KEY is not"},
		{name: "key without secret", env: map[string]string{"TIKTOK_CLIENT_KEY": "k"}, wantErr: "TIKTOK_CLIENT_SECRET is not"},
		{name: "URLs without key", env: map[string]string{"TIKTOK_API_URL": "http://127.0.0.1:1"}, wantErr: "need TIKTOK_CLIENT_KEY"},
		{name: "emulator and API URL", env: map[string]string{"TIKTOK_EMULATOR_URL": "http://127.0.0.1:1", "TIKTOK_API_URL": "http://127.0.0.1:2"}, wantErr: "leave TIKTOK_AUTH_URL and TIKTOK_API_URL unset"},
		{name: "relative emulator URL", env: map[string]string{"TIKTOK_EMULATOR_URL": "127.0.0.1:9090"}, wantErr: "TIKTOK_EMULATOR_URL"},
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
		{name: "short key", env: map[string]string{"TIKTOKKIT_TOKEN_KEYS": "k1:c2hvcnQ="}, wantErr: "TIKTOKKIT_TOKEN_KEYS"},
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

func TestDescribePostgresHidesPassword(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://app:hunter2@db.internal:5432/app?sslmode=require": "db.internal:5432/app",
		"host=db.internal user=app password=hunter2 dbname=app":       "db.internal/app",
	} {
		assert.Equal(t, want, describePostgres(dsn))
	}
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{"ADDR": "127.0.0.1:0", "SQLITE_PATH": filepath.Join(t.TempDir(), "run.db")}
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
	assert.Contains(t, out.String(), "run.db")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRefusesBadEnvironment(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"key without secret", map[string]string{"TIKTOK_CLIENT_KEY": "only-a-key"}, "TIKTOK_CLIENT_SECRET"},
		{"unreachable database", map[string]string{"ADDR": "127.0.0.1:0", "DATABASE_URL": "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=5"}, "connect to PostgreSQL 127.0.0.1:1/none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), func(k string) string { return tt.env[k] }, io.Discard, logger, nil)
			require.ErrorContains(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), "secret@")
		})
	}
}
