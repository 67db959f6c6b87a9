package handlers_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

// TestUserMistakesAreQuietAtInfo runs the failures a user causes (a
// replayed callback, a denied consent, a wrong method) with the handlers'
// default logger, slog.Default() at its INFO level, as an app's own tests
// do: nothing may be written. At DEBUG the same failures are logged.
func TestUserMistakesAreQuietAtInfo(t *testing.T) {
	run := func(t *testing.T, level slog.Level) string {
		logs := new(testutil.SyncBuffer)
		old := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level})))
		t.Cleanup(func() { slog.SetDefault(old) })

		a := newApp(t, appOptions{handlersCfg: func(c *handlers.Config) { c.Logger = nil }})
		b := a.newBrowser()
		cb := b.toCallback("/auth/tiktok/login")
		require.Equal(t, http.StatusFound, b.Get(cb).Status)
		skip := len(logs.String()) // the successful login's line is not a mistake

		require.Equal(t, http.StatusBadRequest, b.Get(cb).Status, "replayed callback")
		a.emu.DenyNextConsent()
		hops := b.Follow("/auth/tiktok/login")
		require.Equal(t, http.StatusBadRequest, hops[len(hops)-1].Status, "denied consent")
		require.Equal(t, http.StatusMethodNotAllowed, b.Get("/auth/tiktok/disconnect").Status)
		return logs.String()[skip:]
	}

	t.Run("info", func(t *testing.T) {
		assert.Empty(t, run(t, slog.LevelInfo))
	})
	t.Run("debug", func(t *testing.T) {
		out := run(t, slog.LevelDebug)
		assert.Equal(t, 3, strings.Count(out, "tiktok auth request failed"), out)
		assert.Contains(t, out, "status=400")
		assert.Contains(t, out, "status=405")
	})
}
