package main

import (
	"html"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/examples/internal/ops"
	"github.com/tiktokkit/tiktokkit/handlers"
)

// startObservedApp is startApp with the telemetry, /metrics and /healthz
// wired in as run does, on SQLite.
func startObservedApp(t *testing.T) *testApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	logs := new(syncBuffer)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := sqliteEnv(t)
	s, err := settingsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	s.RedirectURI = base + "/auth/tiktok/callback"
	tel, err := ops.NewTelemetry()
	require.NoError(t, err)
	a, err := newApp(t.Context(), s, logger, appOptions{AutoApprove: true, Telemetry: tel.Kit})
	require.NoError(t, err)
	health, err := handlers.Health(handlers.HealthConfig{Store: a.store, Logger: logger})
	require.NoError(t, err)
	srv.Config.Handler = ops.WithOps(a, tel.Metrics, health)
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close(); _ = tel.Shutdown(t.Context()) })
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &testApp{app: a, srv: srv, logs: logs, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func TestMetricsAfterALoginAndARefresh(t *testing.T) {
	ta := startObservedApp(t)
	ta.login(t)
	ta.emu.AdvanceClock(25 * time.Hour) // past the 24 h access token lifetime
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, readBody(t, resp))

	page := readBody(t, ta.do(t, http.MethodGet, "/metrics", "", nil))
	for _, re := range []string{
		`(?m)^tiktokkit_token_refreshes_total\{[^}]*tiktok_outcome="ok"[^}]*\} 1$`,
		`(?m)^tiktokkit_client_requests_total\{[^}]*tiktok_endpoint="user_info"[^}]*tiktok_outcome="ok"`,
		`(?m)^tiktokkit_token_lease_wait_seconds_count\{[^}]*\} 1$`,
	} {
		assert.Regexp(t, regexp.MustCompile(re), page)
	}

	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(readBody(t, ta.do(t, http.MethodGet, "/me", htmlAccept, nil)))
	require.Len(t, csrf, 2)
	resp = ta.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, url.Values{"csrf_token": {html.UnescapeString(csrf[1])}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	page = readBody(t, ta.do(t, http.MethodGet, "/metrics", "", nil))
	assert.Regexp(t, regexp.MustCompile(`(?m)^tiktokkit_logouts_total\{[^}]*reason="disconnect"[^}]*\} 1$`), page)
}

func TestHealthzChecksTheDatabase(t *testing.T) {
	ta := startObservedApp(t)
	resp := ta.do(t, http.MethodGet, "/healthz", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, readBody(t, resp))
	assert.Empty(t, resp.Header.Values("Set-Cookie"), "the probe makes no session")

	// The database goes away: the probe says so.
	require.NoError(t, ta.db.db.Close())
	resp = ta.do(t, http.MethodGet, "/healthz", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.JSONEq(t, `{"status":"unavailable"}`, readBody(t, resp))
}
