package multiinstance_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
)

func TestMain(m *testing.M) {
	testredis.QuietLogs()
	code := m.Run()
	testpg.Stop()
	testredis.Stop()
	os.Exit(code)
}

const (
	instances = 3
	// workers bounds the requests in flight at once.
	workers = 32
	// requestTimeout is longer than the apps' refresh lease (30s by
	// default), which a request may have to wait out after a kill.
	requestTimeout = 90 * time.Second
)

// backend is where the instances share their tokens and sessions.
type backend struct {
	// env points the apps at the shared store.
	env []string
	// restart stops the store's server and starts it again on the same
	// port with its data; nil when the scenario does not restart it.
	restart func(t *testing.T)
}

// TestMultiInstance is the whole scenario, on each backend: see the
// package documentation.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-instance test skipped with -short")
	}
	bin := t.TempDir()
	build(t, bin, "tiktokemu", "github.com/tiktokkit/tiktokkit/client/tiktoktest/cmd/tiktokemu")
	build(t, bin, "chi", "github.com/tiktokkit/tiktokkit/examples/chi")

	t.Run("PostgreSQL", func(t *testing.T) {
		scenario(t, bin, backend{env: []string{"DATABASE_URL=" + testpg.OpenDSN(t)}})
	})
	t.Run("Redis", func(t *testing.T) {
		srv := testredis.StartServer(t) // appendonly yes, fsync on every write
		scenario(t, bin, backend{
			env: []string{"REDIS_URL=redis://" + srv.Addr() + "/0"},
			restart: func(t *testing.T) {
				srv.Stop() // SIGKILL: only what the append-only file holds survives
				require.NoError(t, srv.Start())
			},
		})
	})
}

// scenario runs the scenario with the apps on b.
func scenario(t *testing.T, bin string, b backend) {
	users := envInt(t, "TIKTOKKIT_MULTI_USERS", 200)
	expiries := envInt(t, "TIKTOKKIT_MULTI_EXPIRIES", 3)

	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("-000multi%05d", i)
	}
	emu := startEmulator(t, bin, ids)
	keys := "mi1:" + randomKey(t)
	apps := make([]*process, instances)
	for i := range apps {
		apps[i] = startApp(t, bin, i, emu.url, b.env, keys)
	}

	// Log every user in through the real flow, each on one instance.
	sessions := make([]*userSession, users)
	for i, id := range ids {
		sessions[i] = login(t, emu, apps[i%instances].url, id)
	}
	t.Logf("%d users logged in over %d instances", users, instances)

	// Part 1: every access token expires, several times, while requests
	// are spread over the instances.
	emu.control(t, "POST", "reset-counters", nil)
	var part1 report
	for range expiries {
		emu.control(t, "POST", "advance-clock", url.Values{"by": {"25h"}})
		part1.add(drive(t, sessions, apps, everyInstance(apps)))
	}
	part1.loggedOut = loggedOut(t, sessions, apps)
	c := emu.counters(t) // after the last requests, which could still refresh
	part1.refreshes, part1.reuse = c.Grants["refresh_token"], c.RefreshTokenReuse
	t.Logf("part 1, %d expiries:\n%s", expiries, part1.String())
	assert.Equal(t, users*expiries, part1.refreshes, "one refresh per user and expiry")
	assert.Zero(t, part1.reuse, "a rotated refresh token was presented again")
	assert.Zero(t, part1.loggedOut, "users logged out")
	assert.Empty(t, part1.errors, "requests failed")

	// Part 2: kill one instance while it holds refresh leases. TikTok is
	// slowed down so that its refreshes are still on their way when it
	// dies: TikTok never answers them, so no rotated token is lost.
	emu.control(t, "POST", "reset-counters", nil)
	emu.control(t, "POST", "advance-clock", url.Values{"by": {"25h"}})
	emu.send(t, "POST", "faults", "application/json", `{"endpoint":"token","delay":"3s"}`)
	victim := apps[instances-1]
	held := sessions[:min(20, users)]
	var part2 report
	inflight := make(chan outcome, 1)
	go func() { inflight <- drive(t, held, apps, onlyInstance(instances-1)) }()
	waitFor(t, 30*time.Second, "the refreshes of the instance to kill", func() bool {
		return emu.counters(t).Calls["token"] >= len(held)
	})
	killedAt := time.Now()
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	_ = victim.cmd.Wait()
	victim.dead = true
	killed := <-inflight
	emu.control(t, "DELETE", "faults", nil)
	part2.toKilled = killed.sent
	part2.toKilledFailed = killed.errors
	for k := range killed.errors {
		if !strings.HasPrefix(k, "transport") {
			t.Errorf("a request to the killed instance ended with %s, not with a broken connection", k)
		}
	}
	survivors := apps[:instances-1]
	o := drive(t, sessions, survivors, everyInstance(survivors))
	part2.add(o)
	takeover := time.Since(killedAt)
	part2.loggedOut = loggedOut(t, sessions, survivors)
	c = emu.counters(t)
	part2.refreshes, part2.reuse = c.Grants["refresh_token"], c.RefreshTokenReuse
	t.Logf("part 2, one of %d instances killed (SIGKILL) holding the refresh leases of %d users; the others served them %s after the kill:\n%s",
		instances, len(held), takeover.Round(100*time.Millisecond), part2.String())
	assert.Equal(t, users, part2.refreshes, "one refresh per user")
	assert.Zero(t, part2.reuse, "a rotated refresh token was presented again")
	assert.Zero(t, part2.loggedOut, "users logged out")
	assert.Empty(t, part2.errors, "requests to the surviving instances failed")
	assert.Equal(t, len(held), part2.toKilled)

	if b.restart == nil {
		return
	}
	// Part 3: the store's server is stopped and started again (with its
	// data) in the middle of a round of refreshes. TikTok is slowed down a
	// little so that the round is still going when it stops.
	emu.control(t, "POST", "reset-counters", nil)
	emu.control(t, "POST", "advance-clock", url.Values{"by": {"25h"}})
	emu.send(t, "POST", "faults", "application/json", `{"endpoint":"token","delay":"50ms"}`)
	var part3 report
	round := make(chan outcome, 1)
	go func() { round <- drive(t, sessions, survivors, everyInstance(survivors)) }()
	waitFor(t, 60*time.Second, "a third of the round's refreshes", func() bool {
		return emu.counters(t).Grants["refresh_token"] >= users/3
	})
	restartAt := time.Now()
	b.restart(t)
	down := time.Since(restartAt)
	during := <-round
	emu.control(t, "DELETE", "faults", nil)
	part3.restarted = during.errors
	part3.sent = during.sent
	part3.slowest = during.slowest
	for k := range during.errors {
		if k != "HTTP 503" {
			t.Errorf("a request during the restart ended with %s, not with 503", k)
		}
	}
	// Once every instance reaches the server again, the round is sent
	// once more, for the requests that failed while it was down.
	waitFor(t, 30*time.Second, "the instances to reach the restarted server", func() bool {
		for _, a := range survivors {
			if getMe(t.Context(), sessions[0], a.url) != "" {
				return false
			}
		}
		return true
	})
	part3.add(drive(t, sessions, survivors, everyInstance(survivors)))
	part3.loggedOut = loggedOut(t, sessions, survivors)
	c = emu.counters(t) // after the last requests, which could still refresh
	part3.refreshes, part3.reuse = c.Grants["refresh_token"], c.RefreshTokenReuse
	t.Logf("part 3, the store's server restarted (down for %s) in the middle of a round of refreshes:\n%s",
		down.Round(10*time.Millisecond), part3.String())
	assert.Equal(t, users, part3.refreshes, "one refresh per user")
	assert.Zero(t, part3.reuse, "a rotated refresh token was presented again")
	assert.Zero(t, part3.loggedOut, "users logged out")
	assert.Empty(t, part3.errors, "requests after the restart failed")
}

// report sums up one part of the scenario.
type report struct {
	sent           int
	errors         map[string]int
	slowest        time.Duration
	refreshes      int
	reuse          int
	loggedOut      int
	toKilled       int
	toKilledFailed map[string]int
	// restarted counts the failures of the requests of the round during
	// which the store's server restarted.
	restarted map[string]int
}

func (r *report) add(o outcome) {
	r.sent += o.sent
	for k, v := range o.errors {
		if r.errors == nil {
			r.errors = map[string]int{}
		}
		r.errors[k] += v
	}
	r.slowest = max(r.slowest, o.slowest)
}

func (r *report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  requests sent:        %d\n", r.sent+r.toKilled)
	if r.toKilled > 0 {
		fmt.Fprintf(&b, "    to the killed one:  %d, broken by the kill:%s\n", r.toKilled, kinds(r.toKilledFailed))
	}
	if r.restarted != nil {
		fmt.Fprintf(&b, "    failed during the restart:%s\n", kinds(r.restarted))
	}
	fmt.Fprintf(&b, "  refreshes at TikTok:  %d\n", r.refreshes)
	fmt.Fprintf(&b, "  refresh token reused: %d\n", r.reuse)
	fmt.Fprintf(&b, "  users logged out:     %d\n", r.loggedOut)
	fmt.Fprintf(&b, "  slowest request:      %s\n", r.slowest.Round(time.Millisecond))
	fmt.Fprintf(&b, "  errors:              %s\n", kinds(r.errors))
	return b.String()
}

// kinds lists counts by kind, " none" when there are none.
func kinds(m map[string]int) string {
	if len(m) == 0 {
		return " none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s: %d", k, m[k])
	}
	return b.String()
}

// outcome is what one drive saw.
type outcome struct {
	sent    int
	errors  map[string]int
	slowest time.Duration
}

// userSession is one user's browser: a cookie jar holding the session
// cookie, which every instance accepts (sessions live in the shared store).
type userSession struct {
	openID string
	client *http.Client
}

// route picks the instances that serve one user's requests.
type route func(user int) []int

// everyInstance sends each user one request per instance, at once.
func everyInstance(apps []*process) route {
	all := make([]int, len(apps))
	for i := range all {
		all[i] = i
	}
	return func(int) []int { return all }
}

func onlyInstance(i int) route { return func(int) []int { return []int{i} } }

// drive sends GET /api/me (which calls TikTok's user info) for every user
// to the instances r picks, with a bounded number of requests in flight.
// A user's requests are queued next to each other, so they reach the
// instances at the same moment.
func drive(t *testing.T, sessions []*userSession, apps []*process, r route) outcome {
	type job struct{ user, app int }
	jobs := make(chan job)
	var mu sync.Mutex
	o := outcome{errors: map[string]int{}}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				s := sessions[j.user]
				start := time.Now()
				kind := getMe(t.Context(), s, apps[j.app].url)
				el := time.Since(start)
				mu.Lock()
				o.sent++
				o.slowest = max(o.slowest, el)
				if kind != "" {
					o.errors[kind]++
				}
				mu.Unlock()
			}
		})
	}
	for u := range sessions {
		for _, a := range r(u) {
			jobs <- job{u, a}
		}
	}
	close(jobs)
	wg.Wait()
	return o
}

// getMe asks for the user's profile and returns "" on success or the kind
// of failure.
func getMe(ctx context.Context, s *userSession, base string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/me", nil)
	if err != nil {
		return "request"
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return "transport: " + transportKind(err)
	}
	defer resp.Body.Close()
	var body struct {
		OpenID string `json:"open_id"`
	}
	derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	switch {
	case resp.StatusCode != http.StatusOK:
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	case derr != nil:
		return "bad body"
	case body.OpenID != s.openID:
		return "another user's profile"
	}
	return ""
}

func transportKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, context.DeadlineExceeded), os.IsTimeout(err):
		return "timeout"
	}
	return "other"
}

// loggedOut asks every user's profile once more, spread over apps, and
// counts the users who are no longer logged in (or whose request fails).
func loggedOut(t *testing.T, sessions []*userSession, apps []*process) int {
	o := drive(t, sessions, apps, func(u int) []int { return []int{u % len(apps)} })
	n := 0
	for k, v := range o.errors {
		t.Logf("final check: %s: %d", k, v)
		n += v
	}
	return n
}

// login runs the real login flow for openID through the app at base: the
// app's login handler, the emulator's authorize page (approving at once as
// openID) and the app's callback.
func login(t *testing.T, emu *emulator, base, openID string) *userSession {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	s := &userSession{openID: openID, client: &http.Client{Jar: jar, Timeout: requestTimeout}}
	emu.control(t, "POST", "approve-as", url.Values{"open_id": {openID}})
	resp, err := s.client.Get(base + "/auth/tiktok/login?return_to=%2Fme")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "login of %s ended at %s", openID, resp.Request.URL)
	require.Equal(t, "/me", resp.Request.URL.Path, "login of %s", openID)
	require.Empty(t, getMe(t.Context(), s, base), "profile of %s right after login", openID)
	return s
}

// process is a started program.
type process struct {
	cmd  *exec.Cmd
	url  string
	dead bool
}

// start runs the program with env and waits for the base URL it prints
// on its first line of standard output (found with re). Its output goes to
// files in the test's temporary directory.
func start(t *testing.T, name string, env []string, re *regexp.Regexp, path string, args ...string) *process {
	t.Helper()
	logs := t.TempDir()
	stderr, err := os.Create(filepath.Join(logs, name+".log"))
	require.NoError(t, err)
	t.Cleanup(func() { stderr.Close() })
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd}
	t.Cleanup(func() {
		if !p.dead {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}
		if t.Failed() {
			if b, err := os.ReadFile(stderr.Name()); err == nil {
				t.Logf("%s log (last 4 KiB):\n%s", name, tail(b, 4096))
			}
		}
	})
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		} else {
			close(first)
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-first:
		require.True(t, ok, "%s exited before printing its URL", name)
		m := re.FindStringSubmatch(line)
		require.NotNil(t, m, "%s printed %q", name, line)
		p.url = m[1]
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start within a minute", name)
	}
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// baseEnv is the environment of the started programs: nothing of the
// test's own, so that no TikTok or database setting leaks in.
func baseEnv() []string {
	env := []string{}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

type emulator struct {
	*process
	hc *http.Client
}

// startEmulator runs tiktokemu on a free loopback port, approving logins at
// once, with one fake user per id.
func startEmulator(t *testing.T, bin string, ids []string) *emulator {
	t.Helper()
	type user struct {
		OpenID      string `json:"open_id"`
		DisplayName string `json:"display_name"`
	}
	list := make([]user, len(ids))
	for i, id := range ids {
		list[i] = user{OpenID: id, DisplayName: "User " + id}
	}
	raw, err := json.Marshal(list)
	require.NoError(t, err)
	usersFile := filepath.Join(t.TempDir(), "users.json")
	require.NoError(t, os.WriteFile(usersFile, raw, 0o600))
	// -no-quotas: each round sends a user info call per user and instance
	// (600 with the default sizes) within seconds, on top of the logins, past
	// TikTok's 600 a minute per app; refreshes, not quotas, are what this
	// test checks.
	p := start(t, "tiktokemu", baseEnv(), regexp.MustCompile(`^(http://\S+)$`), filepath.Join(bin, "tiktokemu"),
		"-addr", "127.0.0.1:0", "-auto-approve", "-no-quotas", "-users", usersFile)
	return &emulator{process: p, hc: &http.Client{Timeout: 30 * time.Second}}
}

// control calls one of the emulator's /_emulator/ endpoints with a form.
func (e *emulator) control(t *testing.T, method, name string, form url.Values) {
	t.Helper()
	e.send(t, method, name, "application/x-www-form-urlencoded", form.Encode())
}

// send calls one of the emulator's /_emulator/ endpoints.
func (e *emulator) send(t *testing.T, method, name, contentType, payload string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+"/_emulator/"+name, strings.NewReader(payload))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	resp, err := e.hc.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, name, body)
}

type counters struct {
	Calls             map[string]int `json:"calls"`
	Grants            map[string]int `json:"grants"`
	RefreshTokenReuse int            `json:"refresh_token_reuse"`
}

func (e *emulator) counters(t *testing.T) counters {
	t.Helper()
	resp, err := e.hc.Get(e.url + "/_emulator/counters")
	require.NoError(t, err)
	defer resp.Body.Close()
	var c counters
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	return c
}

// startApp runs instance i of examples/chi on a free port of localhost
// (another site than the emulator on 127.0.0.1, as an app and TikTok are),
// on the shared store (storeEnv) and key ring.
func startApp(t *testing.T, bin string, i int, emuURL string, storeEnv []string, keys string) *process {
	t.Helper()
	env := append(append(baseEnv(), storeEnv...),
		"ADDR=localhost:0",
		"TIKTOK_EMULATOR_URL="+emuURL,
		"TIKTOKKIT_TOKEN_KEYS="+keys,
		"TIKTOKKIT_INSTANCE=app"+strconv.Itoa(i),
		// Each round sends more user-info calls than TikTok's 600 a minute
		// (the emulator runs with -no-quotas too): this test is about
		// refreshes, not quotas.
		"TIKTOK_QUOTAS=off",
	)
	return start(t, "app"+strconv.Itoa(i), env, regexp.MustCompile(`open (http://\S+)`), filepath.Join(bin, "chi"))
}

// build compiles pkg into dir/name.
func build(t *testing.T, dir, name, pkg string) {
	t.Helper()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", pkg, out)
}

func randomKey(t *testing.T) string {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	require.Positive(t, n, name)
	return n
}

// waitFor polls cond, which asks another process, until it holds.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		<-tick.C
	}
}
