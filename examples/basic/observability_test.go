package main

import (
	"bytes"
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

// newObservedApp is newTestApp with the telemetry, /metrics and /healthz
// wired in as run does.
func newObservedApp(t *testing.T) *testApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	logs := new(bytes.Buffer)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := settingsFromEnv(func(string) string { return "" })
	require.NoError(t, err)
	s.RedirectURI = base + "/auth/tiktok/callback"
	tel, err := ops.NewTelemetry()
	require.NoError(t, err)
	a, err := newApp(s, logger, appOptions{AutoApprove: true, Telemetry: tel.Kit})
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
	ta := newObservedApp(t)
	ta.login(t)
	ta.emu.AdvanceClock(25 * time.Hour) // past the 24 h access token lifetime
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, readBody(t, resp))
	require.Equal(t, 1, ta.emu.Grants("refresh_token"))

	resp = ta.do(t, http.MethodGet, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	page := readBody(t, resp)
	for _, re := range []string{
		`(?m)^tiktokkit_token_refreshes_total\{[^}]*tiktok_outcome="ok"[^}]*\} 1$`,
		`(?m)^tiktokkit_client_requests_total\{[^}]*tiktok_endpoint="token"[^}]*tiktok_outcome="ok"[^}]*\} 2$`,
		`(?m)^tiktokkit_client_requests_total\{[^}]*tiktok_endpoint="user_info"[^}]*tiktok_outcome="ok"[^}]*\} 2$`,
		`(?m)^tiktokkit_client_duration_seconds_count\{[^}]*tiktok_endpoint="user_info"`,
		`(?m)^tiktokkit_token_lease_wait_seconds_count\{[^}]*\} 1$`,
	} {
		assert.Regexp(t, regexp.MustCompile(re), page)
	}

	// Disconnecting counts a logout.
	csrf := csrfField.FindStringSubmatch(readBody(t, ta.do(t, http.MethodGet, "/me", htmlAccept, nil)))
	require.Len(t, csrf, 2)
	resp = ta.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, url.Values{"csrf_token": {html.UnescapeString(csrf[1])}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	page = readBody(t, ta.do(t, http.MethodGet, "/metrics", "", nil))
	assert.Regexp(t, regexp.MustCompile(`(?m)^tiktokkit_logouts_total\{[^}]*reason="disconnect"[^}]*\} 1$`), page)

	// The debug log shows each TikTok call, without a secret.
	logs := ta.logs.String()
	assert.Regexp(t, regexp.MustCompile(`client: answer.*endpoint=user_info.*status=200.*log_id=\S+.*duration=`), logs)
	assert.NotContains(t, logs, ta.emu.ClientSecret())
}

func TestHealthz(t *testing.T) {
	ta := newObservedApp(t)
	resp := ta.do(t, http.MethodGet, "/healthz", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, readBody(t, resp))
	assert.Empty(t, resp.Header.Values("Set-Cookie"), "the probe makes no session")
	resp = ta.do(t, http.MethodPost, "/healthz", "", nil)
	assert.NotEqual(t, http.StatusOK, resp.StatusCode)
}
