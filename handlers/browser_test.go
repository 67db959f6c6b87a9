package handlers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/internal/testbrowser"
)

// TestBrowserTwoTabs drives a real headless Chromium: two tabs of one
// browser start a login at the same moment and both wait on TikTok's
// consent page (the emulator, on another site than the app); the second
// tab approves first, then the first one. Both land where they asked to go,
// logged in, and a reload of a used callback is refused without logging
// the user out.
func TestBrowserTwoTabs(t *testing.T) {
	ctx := testbrowser.New(t, 2*time.Minute)
	a := newApp(t, appOptions{localhost: true, handlersCfg: func(c *handlers.Config) {
		c.DisableAutoAuth = true // the emulator shows its consent page
	}})
	base := strings.TrimSuffix(a.client.Config().RedirectURL, "/auth/tiktok/callback")
	require.True(t, strings.HasPrefix(base, "http://localhost:"), base)
	require.True(t, strings.HasPrefix(a.emu.URL, "http://127.0.0.1:"), "the emulator is on another site than the app")

	tab2, cancel := chromedp.NewContext(ctx)
	defer cancel()
	tabs := []context.Context{ctx, tab2}
	want := []string{"/me?tab=1", "/me?tab=2"}

	// Both tabs start a login at once and stop on the consent page.
	var wg sync.WaitGroup
	errs := make([]error, len(tabs))
	for i, tab := range tabs {
		wg.Go(func() {
			errs[i] = chromedp.Do(tab,
				chromedp.Navigate(base+"/auth/tiktok/login?return_to="+strings.ReplaceAll(want[i], "?", "%3F")),
				chromedp.WaitVisible(chromedp.CSS("#approve")),
			)
		})
	}
	wg.Wait()
	for i := range tabs {
		require.NoError(t, errs[i], "tab %d", i+1)
	}

	// The second tab approves first, then the first.
	page := func(tab context.Context) (loc, body string) {
		t.Helper()
		loc, err := chromedp.Run(tab, chromedp.Location())
		require.NoError(t, err)
		body, err = chromedp.Run(tab, chromedp.Text(chromedp.CSS("body")))
		require.NoError(t, err)
		return loc, body
	}
	for _, i := range []int{1, 0} {
		require.NoError(t, chromedp.Do(tabs[i],
			chromedp.Click(chromedp.CSS("#approve")),
			chromedp.WaitNotPresent(chromedp.CSS("#approve")),
			chromedp.WaitReady(chromedp.CSS("body")),
		), "tab %d", i+1)
		loc, body := page(tabs[i])
		assert.Equal(t, base+want[i], loc, "tab %d lands where it asked to go", i+1)
		assert.Contains(t, body, "logged in as "+testOpenID, "tab %d", i+1)
	}
	assert.Equal(t, 2, a.emu.Grants("authorization_code"))

	// A link to the callback with a state of no login (from any site) is
	// refused in one tab and logs nobody out in the other.
	require.NoError(t, chromedp.Do(tabs[0],
		chromedp.Navigate(base+"/auth/tiktok/callback?state=x&code=y"),
		chromedp.WaitReady(chromedp.CSS("body")),
	))
	_, body := page(tabs[0])
	assert.Contains(t, body, "Please start the login again")
	require.NoError(t, chromedp.Do(tabs[1],
		chromedp.Navigate(base+"/me"),
		chromedp.WaitReady(chromedp.CSS("body")),
	))
	_, body = page(tabs[1])
	assert.Contains(t, body, "logged in as "+testOpenID)
	assert.Equal(t, 2, a.emu.Grants("authorization_code"))
}
