package ops

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
)

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "info": slog.LevelInfo, "DEBUG": slog.LevelDebug,
		"warn": slog.LevelWarn, "warning": slog.LevelWarn, " error ": slog.LevelError} {
		got, err := ParseLogLevel(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"verbose", "loud", "3"} {
		_, err := ParseLogLevel(bad)
		require.ErrorContains(t, err, "LOG_LEVEL", bad)
	}
}

func TestWithOpsAndInstrumented(t *testing.T) {
	tel, err := NewTelemetry()
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(t.Context()) })

	cfg := Instrumented(tel.Kit, client.Config{ClientKey: "k"})
	assert.NotNil(t, cfg.Hooks, "the kit's hooks are set")
	assert.Nil(t, Instrumented(nil, client.Config{}).Hooks, "no telemetry, no hooks")

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "app") })
	health := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "healthy") })
	srv := httptest.NewServer(WithOps(app, tel.Metrics, health))
	t.Cleanup(srv.Close)
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	status, body := get("/healthz")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "healthy", body)
	status, body = get("/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "# HELP", "Prometheus text")
	status, body = get("/anything")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "app", body)
}
