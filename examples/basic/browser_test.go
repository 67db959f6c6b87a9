package main

import (
	"bytes"
	"flag"
	"image"
	"image/png"
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

// update makes TestBrowserLoginFlow write the README's screenshot,
// docs/me.png, from the /me page it drives:
//
//	go test ./examples/basic -run TestBrowserLoginFlow -update
var update = flag.Bool("update", false, "write docs/me.png from the browser test")

// envScreenshotDir names a directory where TestBrowserLoginFlow keeps every
// screenshot it takes (home, consent, error, me, videos); without it they
// go to the test's temporary directory.
const envScreenshotDir = "TIKTOKKIT_SCREENSHOT_DIR"

// TestBrowserLoginFlow drives a real headless Chromium through the example:
// the app is served on localhost and the emulator on 127.0.0.1, so the hop
// to "TikTok" and back is cross-site and the cookie rules apply as in
// production. It screenshots every kind of page on the way: the home page,
// TikTok's consent, the error page of a denied login, /me and /videos.
func TestBrowserLoginFlow(t *testing.T) {
	ctx := testbrowser.New(t, 2*time.Minute)
	shots := os.Getenv(envScreenshotDir)
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	screenshot := func(name string) []byte {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		assertPicture(t, name, b)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644))
		return b
	}

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
	// One cover that no longer loads, as TikTok's expire after 6 hours:
	// the placeholder behind it must show.
	videos := a.emu.Videos(user.OpenID)
	require.NotEmpty(t, videos)
	videos[1].CoverImageURL = a.emu.URL + "/expired-cover.jpg"
	a.emu.SetVideos(user.OpenID, videos)

	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		return loc
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return s
	}

	// The home page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
	))
	screenshot("home")

	// A guarded page sends the browser to TikTok's consent page, which
	// names the app.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/me"),
		chromedp.WaitVisible(chromedp.CSS("#approve")),
	))
	assert.True(t, strings.HasPrefix(location(), a.emu.URL+"/v2/auth/authorize/"), location())
	assert.Equal(t, "tiktokkit example would like to access your TikTok account", text("h1"))
	screenshot("consent")

	// Deny: the app's own error page, with a way to log in again.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#deny")),
		chromedp.WaitVisible(chromedp.CSS("#login-again")),
	))
	assert.True(t, strings.HasPrefix(location(), base+"/auth/tiktok/callback?"), location())
	assert.Equal(t, "Login cancelled", text("#error h2"))
	screenshot("error")

	// Log in again and approve: back on /me, logged in.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#login-again")),
		chromedp.WaitVisible(chromedp.CSS("#approve")),
		chromedp.Click(chromedp.CSS("#approve")),
		chromedp.WaitVisible(chromedp.CSS("#display-name")),
	))
	assert.Equal(t, base+"/me", location())
	assert.Equal(t, user.DisplayName, text("#display-name"))
	assert.Equal(t, "181", text("#following"))
	assert.Equal(t, "452,107", text("#likes"))
	me := screenshot("me")
	if *update {
		path := filepath.Join("..", "..", "docs", "me.png")
		require.NoError(t, os.WriteFile(path, me, 0o644))
		t.Logf("wrote %s", path)
	}

	// /videos: the newest 20, a placeholder where a cover did not load,
	// and a link to the older ones.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#videos-link")),
		chromedp.WaitVisible(chromedp.CSS("#older")),
	))
	// Wait until every cover has loaded or failed, then see which failed.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`[...document.images].every(i => i.complete)`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	count, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.video").length`))
	require.NoError(t, err)
	assert.Equal(t, 20, count)
	broken, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`[...document.querySelectorAll(".cover img")].map(i => i.naturalWidth == 0)`))
	require.NoError(t, err)
	require.Len(t, broken, 20)
	assert.Equal(t, []bool{false, true}, broken[:2], "only the second cover is gone")
	screenshot("videos")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#older")),
		chromedp.WaitVisible(chromedp.CSS("#newest")),
	))
	count, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.video").length`))
	require.NoError(t, err)
	assert.Equal(t, 17, count)
	assert.Contains(t, location(), base+"/videos?cursor=")

	// The access token expires; a reload refreshes it and stays logged in.
	a.emu.AdvanceClock(25 * time.Hour)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/me"),
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

// assertPicture checks that b is a PNG of a rendered page: the browser's
// width, and more than one colour (a blank or failed render has one).
func assertPicture(t *testing.T, name string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err, name)
	bounds := img.Bounds()
	assert.Equal(t, 1280, bounds.Dx(), "%s: width", name)
	assert.GreaterOrEqual(t, bounds.Dy(), 400, "%s: height", name)
	assert.True(t, hasSeveralColours(img), "%s is blank", name)
}

func hasSeveralColours(img image.Image) bool {
	b := img.Bounds()
	r0, g0, b0, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if r, g, bl, _ := img.At(x, y).RGBA(); r != r0 || g != g0 || bl != b0 {
				return true
			}
		}
	}
	return false
}
