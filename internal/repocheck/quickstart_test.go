package repocheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/token"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testserver"
)

// readmeBlock returns the first Go block of the README after heading.
func readmeBlock(t *testing.T, root, heading string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	i := bytes.Index(text, []byte("\n"+heading+"\n"))
	require.GreaterOrEqual(t, i, 0, "README.md has no %q section", heading)
	m := goBlock.FindSubmatch(text[i:])
	require.NotNil(t, m, "no Go block after %q", heading)
	return string(m[1])
}

// TestQuickstartRuns builds the README's Quickstart as it is written, runs
// it against the emulator (pointed there by the environment variables the
// Quickstart reads) and walks through it as a browser would: the home page,
// its login link, TikTok's consent, the callback, /me, and the Disconnect
// form. Every page the app sends the browser to must exist, and Disconnect
// must work for a browser that sends Origin but no Sec-Fetch-Site on plain
// http://localhost.
func TestQuickstartRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the Quickstart")
	}
	root := moduleRoot(t)
	src, err := snippetProgram("", readmeBlock(t, root, "## Quickstart"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	bin := filepath.Join(dir, "quickstart")
	build := exec.Command("go", "build", "-o", bin, filepath.Join(dir, "main.go"))
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "the Quickstart does not build:\n%s\n--- as built:\n%s", out, src)

	base, emu := startQuickstart(t, bin)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// visit follows redirects one hop at a time, so that every page on
	// the way is checked, and returns the last answer and its body.
	visit := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		for range 10 {
			resp, err := browser.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.NotEqual(t, http.StatusNotFound, resp.StatusCode, "%s %s is not found", req.Method, req.URL)
			require.Less(t, resp.StatusCode, 500, "%s %s: %s", req.Method, req.URL, body)
			if resp.StatusCode < 300 || resp.StatusCode >= 400 {
				return resp, string(body)
			}
			loc, err := resp.Location()
			require.NoError(t, err)
			req, err = http.NewRequest(http.MethodGet, loc.String(), nil)
			require.NoError(t, err)
		}
		t.Fatalf("more than 10 redirects from %s", req.URL)
		return nil, ""
	}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		return visit(req)
	}
	disconnect := func(action string, header http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(""))
		require.NoError(t, err)
		req.Header = header
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := browser.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}

	// The home page links to the login and has the Disconnect form.
	resp, home := get(base + "/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	login, action := pageTarget(t, base, home, "href"), pageTarget(t, base, home, "action")

	// The login link goes through the emulator's consent (approved at
	// once) and the callback to /me, which greets the user.
	user := emu.Users()[0]
	resp, me := get(login)
	require.Equal(t, http.StatusOK, resp.StatusCode, me)
	assert.Equal(t, base+"/me", resp.Request.URL.String())
	assert.Contains(t, me, "Hello, "+user.DisplayName)
	require.Equal(t, 1, emu.Grants("authorization_code"))

	// A cross-site form post is refused, and the user stays logged in.
	resp = disconnect(action, http.Header{"Origin": {"https://evil.example"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = get(base + "/me")
	require.Equal(t, base+"/me", resp.Request.URL.String())
	require.Equal(t, 1, emu.Grants("authorization_code"), "still logged in, without a new login")

	// The browser's own form: Origin only, as older browsers send it.
	resp = disconnect(action, http.Header{"Origin": {base}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(t, err)
	resp, _ = get(loc.String())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointRevoke), "the token was revoked at TikTok")

	// Logged out: /me starts a new login, which shows the consent page
	// again (auto-approve is on, so it comes straight back).
	resp, _ = get(base + "/me")
	assert.Equal(t, base+"/me", resp.Request.URL.String())
	assert.Equal(t, 2, emu.Grants("authorization_code"), "/me asked for a new login")
}

// pageTarget returns the one href or action URL of page, resolved against
// base, and checks that it stays on the app.
func pageTarget(t *testing.T, base, page, attr string) string {
	t.Helper()
	re := regexp.MustCompile(attr + `="([^"]+)"`)
	m := re.FindAllStringSubmatch(page, -1)
	require.Len(t, m, 1, "want one %s in the home page:\n%s", attr, page)
	ref, err := url.Parse(m[0][1])
	require.NoError(t, err)
	b, err := url.Parse(base)
	require.NoError(t, err)
	u := b.ResolveReference(ref)
	require.Equal(t, b.Host, u.Host, "%s points off the app", attr)
	return u.String()
}

// startQuickstart starts an auto-approving emulator and the built
// Quickstart on a free localhost port, pointed at each other by the
// environment, and returns the app's base URL once it answers. A port taken
// in the meantime is retried on another.
func startQuickstart(t *testing.T, bin string) (string, *tiktoktest.Server) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port, err := testserver.FreePort()
		require.NoError(t, err)
		base := fmt.Sprintf("http://localhost:%d", port)
		emu := tiktoktest.NewServer(tiktoktest.Config{
			AutoApprove:  true,
			RedirectURIs: []string{base + "/auth/tiktok/callback"},
		})
		t.Cleanup(emu.Close)
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "TIKTOK_") || strings.HasPrefix(kv, "ADDR=")
		})
		cmd := exec.Command(bin)
		cmd.Env = append(env,
			fmt.Sprintf("ADDR=localhost:%d", port),
			"TIKTOK_CLIENT_KEY="+emu.ClientKey(),
			"TIKTOK_CLIENT_SECRET="+emu.ClientSecret(),
			"TIKTOK_AUTH_URL="+emu.AuthURL(),
			"TIKTOK_API_URL="+emu.APIURL(),
		)
		var logs syncBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("quickstart output:\n%s", logs.String())
			}
		})
		err = waitReady(base, exited)
		if err == nil {
			return base, emu
		}
		if attempt == 2 || !errors.Is(err, errExited) {
			t.Fatalf("the Quickstart did not start: %v\n%s", err, logs.String())
		}
	}
}

var errExited = errors.New("the program exited")

// waitReady polls base until it answers, the program exits, or 30 s pass.
func waitReady(base string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		if resp, err := http.DefaultTransport.RoundTrip(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the writes of a child process's
// stdout and stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var testFuncName = regexp.MustCompile(`^func (Test\w+)\(t \*testing\.T\)`)

// TestReadmeTestRuns runs the README's testing snippet, a whole test, with
// go test: it is laid over this package's directory as one more test file
// (go test -overlay), with the app constructor it takes as given, and run
// alone.
func TestReadmeTestRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on the README's test")
	}
	root := moduleRoot(t)
	body := readmeBlock(t, root, "## Testing your own app")
	m := testFuncName.FindStringSubmatch(body)
	require.NotNil(t, m, "the testing snippet is not a whole test function:\n%s", body)
	src, err := topLevelFile(token.NewFileSet(), "repocheck", readmeNewApp, body)
	require.NoError(t, err)

	dir := t.TempDir()
	file := filepath.Join(dir, "readme_snippet_test.go")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	pkgDir := filepath.Join(root, "internal", "repocheck")
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(pkgDir, "zz_readme_snippet_test.go"): file},
	})
	require.NoError(t, err)
	overlayFile := filepath.Join(dir, "overlay.json")
	require.NoError(t, os.WriteFile(overlayFile, overlay, 0o644))

	cmd := exec.Command("go", "test", "-count=1", "-overlay", overlayFile, "-run", "^"+m[1]+"$", "-v", ".")
	cmd.Dir = pkgDir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the README's test fails:\n%s\n--- as run:\n%s", out, src)
	require.Contains(t, string(out), "--- PASS: "+m[1], "the README's test did not run:\n%s", out)
}
