// Package testbrowser starts a headless Chromium for end-to-end tests.
//
// Chromium is found from TIKTOKKIT_CHROMIUM, then on PATH (chromium,
// chromium-browser, google-chrome). When none is found the test is skipped,
// or fails when CI=true, so that CI never passes without the browser tests.
package testbrowser

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tiktokkit/tiktokkit/internal/testserver"
)

// EnvChromium names the Chromium binary to use.
const EnvChromium = "TIKTOKKIT_CHROMIUM"

// Path returns the Chromium binary, skipping (or under CI=true failing) the
// test when there is none.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testserver.Unavailable(t, "testbrowser: no Chromium found (set %s or install chromium)", EnvChromium)
	return ""
}

// New starts a fresh headless browser with an empty profile and returns a
// context for chromedp actions on its first tab. The browser is closed when
// the test ends. The whole context is bounded by timeout.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	bin := Path(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("testbrowser: start %s: %v", bin, err)
	}
	return browserCtx
}
