package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testbrowser"
)

// TestBrowserLoginFlow drives a real headless Chromium through the example:
// the app is served on localhost and the emulator on 127.0.0.1, so the hop
// to "TikTok" and back is cross-site and the cookie rules apply as in
// production.
//
// Set TIKTOKKIT_SCREENSHOT to a PNG path to keep a screenshot of /me.
func TestBrowserLoginFlow(t *testing.T) {
	ctx := testbrowser.New(t, 2*time.Minute)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://localhost:" + port

	s, err := settingsFromEnv(func(string) string { return "" })
	require.NoError(t, err)
	s.RedirectURI = base + "/auth/tiktok/callback"
	a, err := newApp(s, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	require.NoError(t, err)
	defer a.Close()
	require.True(t, strings.HasPrefix(a.emu.URL, "http://127.0.0.1:"), "the emulator is on another site than the app")
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	user := a.emu.Users()[0]
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		return loc
	}

	// A guarded page sends the browser to TikTok's consent page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/me"),
		chromedp.WaitVisible(chromedp.CSS("#approve")),
	))
	assert.True(t, strings.HasPrefix(location(), a.emu.URL+"/v2/auth/authorize/"), location())

	// Approve: back on /me, logged in.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#approve")),
		chromedp.WaitVisible(chromedp.CSS("#display-name")),
	))
	assert.Equal(t, base+"/me", location())
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#display-name")))
	require.NoError(t, err)
	assert.Equal(t, user.DisplayName, name)

	if path := os.Getenv("TIKTOKKIT_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, png, 0o644))
	}

	// The access token expires; a reload refreshes it and stays logged in.
	a.emu.AdvanceClock(25 * time.Hour)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#display-name")),
	))
	assert.Equal(t, base+"/me", location())
	assert.Equal(t, 1, a.emu.Grants("refresh_token"), "exactly one refresh")

	// Disconnect: a POST with the CSRF token, then logged out.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#disconnect")),
		chromedp.WaitVisible(chromedp.CSS("#login")),
	))
	assert.Equal(t, base+"/", location())
	assert.Equal(t, 1, a.emu.Calls(tiktoktest.EndpointRevoke))

	// /me asks for a login again.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/me"),
		chromedp.WaitVisible(chromedp.CSS("#approve")),
	))
}
