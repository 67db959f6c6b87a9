package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

type lockedBuffer = testutil.SyncBuffer

// started is a running tiktokemu.
type started struct {
	base   string
	stderr *lockedBuffer
	stop   func() error // cancels the context and returns run's error
}

// start runs the command with args and waits for the base URL line.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no base URL line: %v (run: %v; log: %s)", err, <-done, stderr.String())
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return &started{base: strings.TrimSpace(line), stderr: stderr, stop: stop}
}

func postForm(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

func TestRunServesAndStops(t *testing.T) {
	s := start(t, "-addr", "127.0.0.1:0", "-client-key", "k1", "-client-secret", "s3cr3t-value")
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, s.base)

	status, body := postForm(t, s.base+"/v2/oauth/token/", url.Values{
		"client_key": {"k1"}, "client_secret": {"s3cr3t-value"}, "grant_type": {"client_credentials"},
	})
	assert.Equal(t, http.StatusOK, status)
	token := body["access_token"].(string)
	assert.True(t, strings.HasPrefix(token, "clt."))

	resp, err := http.Get(s.base + "/_emulator/counters")
	require.NoError(t, err)
	var counters struct {
		Grants map[string]int `json:"grants"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counters))
	resp.Body.Close()
	assert.Equal(t, 1, counters.Grants["client_credentials"])

	require.NoError(t, s.stop())
	log := s.stderr.String()
	assert.Contains(t, log, "tiktokemu listening")
	assert.Contains(t, log, "path=/v2/oauth/token/")
	assert.Contains(t, log, "status=200")
	assert.Contains(t, log, "tiktokemu stopped")
	assert.NotContains(t, log, "s3cr3t-value")
	assert.NotContains(t, log, token)

	// The port is free again.
	_, err = http.Get(s.base + "/_emulator/users")
	assert.Error(t, err)
}

func TestRunFromEnvironment(t *testing.T) {
	t.Setenv("TIKTOKEMU_ADDR", "127.0.0.1:0")
	t.Setenv("TIKTOKEMU_CLIENT_KEY", "env-key")
	t.Setenv("TIKTOKEMU_CLIENT_SECRET", "env-secret")
	t.Setenv("TIKTOKEMU_REDIRECT_URIS", "http://localhost:3000/callback, http://localhost:3000/other")
	t.Setenv("TIKTOKEMU_SCOPES", "user.info.basic,video.list")
	t.Setenv("TIKTOKEMU_ACCESS_TTL", "2h")
	t.Setenv("TIKTOKEMU_REFRESH_TTL", "4320h")
	t.Setenv("TIKTOKEMU_CODE_TTL", "1m")
	t.Setenv("TIKTOKEMU_PKCE", "required")
	t.Setenv("TIKTOKEMU_AUTO_APPROVE", "true")
	t.Setenv("TIKTOKEMU_APP_NAME", "Env App")
	users := filepath.Join(t.TempDir(), "users.json")
	require.NoError(t, os.WriteFile(users, []byte(`[{"open_id":"u-1","display_name":"Dana Demo","follower_count":10}]`), 0o600))
	t.Setenv("TIKTOKEMU_USERS", users)
	// A flag wins over its environment variable.
	s := start(t, "-client-secret", "flag-secret")

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := strings.Repeat("v", 50)
	q := url.Values{
		"client_key": {"env-key"}, "response_type": {"code"}, "scope": {"user.info.basic,video.list"},
		"redirect_uri": {"http://localhost:3000/other"}, "state": {"s"},
	}
	// PKCE required: no challenge is refused.
	resp, err := noFollow.Get(s.base + "/v2/auth/authorize/?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	q.Set("code_challenge", sha256Hex(verifier))
	q.Set("code_challenge_method", "S256")
	resp, err = noFollow.Get(s.base + "/v2/auth/authorize/?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "localhost:3000", back.Host)

	status, tok := postForm(t, s.base+"/v2/oauth/token/", url.Values{
		"client_key": {"env-key"}, "client_secret": {"flag-secret"}, "code": {back.Query().Get("code")},
		"grant_type": {"authorization_code"}, "redirect_uri": {"http://localhost:3000/other"}, "code_verifier": {verifier},
	})
	require.Equal(t, http.StatusOK, status, "%v", tok)
	assert.Equal(t, "u-1", tok["open_id"])
	assert.EqualValues(t, 7200, tok["expires_in"])
	assert.EqualValues(t, 4320*3600, tok["refresh_expires_in"])

	// disable_auto_auth=1 shows the consent page, which names the app.
	q.Set("disable_auto_auth", "1")
	resp, err = noFollow.Get(s.base + "/v2/auth/authorize/?" + q.Encode())
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), "Env App would like to access your TikTok account")
	require.NoError(t, s.stop())
}

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badJSON, []byte(`[{"open_id":"a","nickname":"typo"}]`), 0o600))
	empty := filepath.Join(dir, "empty.json")
	require.NoError(t, os.WriteFile(empty, []byte(`[]`), 0o600))
	dup := filepath.Join(dir, "dup.json")
	require.NoError(t, os.WriteFile(dup, []byte(`[{"open_id":"a"},{"open_id":"a"}]`), 0o600))

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		usage bool
		want  string
	}{
		{"unknown flag", []string{"-nope"}, nil, true, "not defined"},
		{"positional argument", []string{"serve"}, nil, true, "unexpected argument"},
		{"bad duration", []string{"-access-ttl", "soon"}, nil, true, "invalid value"},
		{"zero lifetime", []string{"-code-ttl", "0s"}, nil, true, "lifetimes must be positive"},
		{"bad PKCE policy", []string{"-pkce", "sometimes"}, nil, true, "-pkce must be optional or required"},
		{"unknown scope", []string{"-scopes", "user.info.basic,user.email"}, nil, true, "unknown scope"},
		{"bad redirect", []string{"-redirect-uris", "/relative"}, nil, true, "redirect URI"},
		{"empty key", []string{"-client-key", ""}, nil, true, "must not be empty"},
		{"remote address", []string{"-addr", "0.0.0.0:0"}, nil, true, "not a loopback address"},
		{"bad port", []string{"-addr", ":x"}, nil, false, "tiktokemu:"},
		{"malformed address", []string{"-addr", "nocolon"}, nil, true, "-addr"},
		{"address in use", []string{"-addr", busy.Addr().String()}, nil, false, "address already in use"},
		{"missing users file", []string{"-users", filepath.Join(dir, "none.json")}, nil, false, "users file"},
		{"users file with a typo", []string{"-users", badJSON}, nil, false, "unknown field"},
		{"empty users file", []string{"-users", empty}, nil, false, "holds no users"},
		{"duplicate users", []string{"-users", dup}, nil, true, "used twice"},
		{"bad env duration", nil, map[string]string{"TIKTOKEMU_ACCESS_TTL": "abc"}, true, "TIKTOKEMU_ACCESS_TTL"},
		{"bad env bool", nil, map[string]string{"TIKTOKEMU_AUTO_APPROVE": "maybe"}, true, "TIKTOKEMU_AUTO_APPROVE"},
		{"quota without =", []string{"-quota", "user_info"}, nil, true, `"user_info" is not ENDPOINT=LIMIT/WINDOW`},
		{"quota without spec", []string{"-quota", "user_info="}, nil, true, "is not ENDPOINT=LIMIT/WINDOW"},
		{"quota for the token endpoint", []string{"-quota", "token=1/1s"}, nil, true, `endpoint "token" takes no quota`},
		{"quota for an unknown endpoint", []string{"-quota", "userinfo=1/1s"}, nil, true, `endpoint "userinfo" takes no quota`},
		{"quota of zero", []string{"-quota", "user_info=0/1s"}, nil, true, "the limit must be a positive integer"},
		{"quota without unit", []string{"-quota", "user_info=5/2"}, nil, true, "the window must be a positive duration"},
		{"quota with bad keying", []string{"-quota", "user_info=5/1s/user"}, nil, true, "the keying must be token or app"},
		{"bad item in a list", []string{"-quota", "user_info=5/1s,video_list"}, nil, true, `"video_list" is not ENDPOINT`},
		{"no quotas and a quota", []string{"-no-quotas", "-quota", "user_info=5/1s"}, nil, true, "-no-quotas and -quota cannot be combined"},
		{"bad env quota", nil, map[string]string{"TIKTOKEMU_QUOTAS": "user_info=lots"}, true, "TIKTOKEMU_QUOTAS"},
		{"bad env no quotas", nil, map[string]string{"TIKTOKEMU_NO_QUOTAS": "maybe"}, true, "TIKTOKEMU_NO_QUOTAS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "tiktokemu: "), err.Error())
			assert.Equal(t, tc.usage, errors.Is(err, errUsage), err.Error())
			assert.Empty(t, stdout.String(), "nothing printed when it does not start")
		})
	}

	t.Run("help", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"-h"}, &stdout, &stderr)
		assert.ErrorIs(t, err, flag.ErrHelp)
		assert.Contains(t, stderr.String(), "TIKTOKEMU_REDIRECT_URIS")
		assert.Contains(t, stderr.String(), "-auto-approve")
		assert.Contains(t, stderr.String(), "-quota ENDPOINT=LIMIT/WINDOW[/token]")
		assert.Contains(t, stderr.String(), "TIKTOKEMU_NO_QUOTAS")
	})
}

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct {
		in, listen, host string
		remote, ok       bool
	}{
		{":0", "127.0.0.1:0", "127.0.0.1", false, true},
		{"localhost:9090", "localhost:9090", "localhost", false, true},
		{"[::1]:0", "[::1]:0", "::1", false, true},
		{"127.0.0.2:0", "127.0.0.2:0", "127.0.0.2", false, true},
		{"192.0.2.1:0", "", "", false, false},
		{"example.com:80", "", "", false, false},
		{"0.0.0.0:0", "0.0.0.0:0", "0.0.0.0", true, true},
	} {
		listen, host, err := listenAddr(tc.in, tc.remote)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.listen, listen)
		assert.Equal(t, tc.host, host)
	}
}

func TestRunStopsWithRequestInFlight(t *testing.T) {
	old := shutdownTimeout
	shutdownTimeout = 50 * time.Millisecond
	t.Cleanup(func() { shutdownTimeout = old })
	s := start(t, "-addr", ":0")
	// A fault that would hold user info for an hour.
	req, err := http.NewRequest(http.MethodPost, s.base+"/_emulator/faults", strings.NewReader(`{"endpoint":"user_info","delay":"1h"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inflight := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/v2/user/info/?fields=open_id", nil)
		if err == nil {
			var resp *http.Response
			resp, err = http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}
		inflight <- err
	}()
	// Wait until the request reached the emulator (its log line is written
	// only when it ends, so poll the counters).
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.base + "/_emulator/counters")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var c struct {
			Calls map[string]int `json:"calls"`
		}
		return json.NewDecoder(resp.Body).Decode(&c) == nil && c.Calls["user_info"] == 1
	}, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, s.stop(), "shutdown is clean even when it has to cut a request")
	assert.Error(t, <-inflight)
	assert.Contains(t, s.stderr.String(), "closing them")
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// quotaLines reads GET /_emulator/quotas as endpoint -> "limit/window[/token]".
func quotaLines(t *testing.T, base string) (map[string]string, bool) {
	t.Helper()
	resp, err := http.Get(base + "/_emulator/quotas")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct {
		RetryAfter bool `json:"retry_after"`
		Quotas     []struct {
			Endpoint string `json:"endpoint"`
			Limit    int    `json:"limit"`
			Window   string `json:"window"`
			PerToken bool   `json:"per_token"`
		} `json:"quotas"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	out := map[string]string{}
	for _, q := range st.Quotas {
		if q.Limit == 0 {
			continue
		}
		v := fmt.Sprintf("%d/%s", q.Limit, q.Window)
		if q.PerToken {
			v += "/token"
		}
		out[q.Endpoint] = v
	}
	return out, st.RetryAfter
}

func TestRunQuotas(t *testing.T) {
	s := start(t, "-addr", "127.0.0.1:0", "-quota", "user_info=2/1h", "-quota", "creator_info=1/30s/token,video_list=off",
		"-quota", "user_info=3/1m", "-quota-retry-after")
	got, retryAfter := quotaLines(t, s.base)
	assert.True(t, retryAfter)
	assert.Equal(t, map[string]string{
		"user_info": "3/1m0s", "creator_info": "1/30s/token", // the last -quota for an endpoint wins
		"video_query": "600/1m0s", "video_init": "6/1m0s/token", "inbox_init": "6/1m0s/token",
		"content_init": "6/1m0s/token", "publish_status": "30/1m0s/token",
	}, got)

	status, tok := postForm(t, s.base+"/_emulator/issue-token", url.Values{"open_id": {"-000Em4L1ceXq7ZpQ2vN8KwM3tFhDr5LbJcA"}})
	require.Equal(t, http.StatusOK, status, "%v", tok)
	at := tok["access_token"].(string)
	userInfo := func() *http.Response {
		req, err := http.NewRequest(http.MethodGet, s.base+"/v2/user/info/?fields=open_id", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+at)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for range 3 {
		require.Equal(t, http.StatusOK, userInfo().StatusCode)
	}
	resp := userInfo()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Contains(t, []string{"59", "60"}, resp.Header.Get("Retry-After"))

	require.NoError(t, s.stop())
	assert.Contains(t, s.stderr.String(), `quotas="content_init=6/1m0s/token,creator_info=1/30s/token,inbox_init=6/1m0s/token,publish_status=30/1m0s/token,user_info=3/1m0s,video_init=6/1m0s/token,video_query=600/1m0s"`)
	assert.Contains(t, s.stderr.String(), "status=429")
}

func TestRunQuotasFromEnvironment(t *testing.T) {
	t.Run("quotas", func(t *testing.T) {
		t.Setenv("TIKTOKEMU_QUOTAS", "user_info=1/1h, video_list=5/10s/token")
		s := start(t, "-addr", "127.0.0.1:0")
		got, retryAfter := quotaLines(t, s.base)
		assert.False(t, retryAfter)
		assert.Equal(t, "1/1h0m0s", got["user_info"])
		assert.Equal(t, "5/10s/token", got["video_list"])
		assert.Equal(t, "600/1m0s", got["video_query"], "the others keep TikTok's")
	})
	t.Run("none", func(t *testing.T) {
		t.Setenv("TIKTOKEMU_NO_QUOTAS", "true")
		t.Setenv("TIKTOKEMU_QUOTA_RETRY_AFTER", "true")
		s := start(t, "-addr", "127.0.0.1:0")
		got, retryAfter := quotaLines(t, s.base)
		assert.True(t, retryAfter)
		assert.Empty(t, got)
		require.NoError(t, s.stop())
		assert.Contains(t, s.stderr.String(), "quotas=off")
	})
}

func TestQuotaFlag(t *testing.T) {
	var f quotaFlag
	assert.Equal(t, "", f.String())
	require.NoError(t, f.Set("user_info=100/2s"))
	require.NoError(t, f.Set("video_list=6/1m/token, user_info=off"))
	assert.Equal(t, quotaFlag{
		tiktoktest.EndpointUserInfo:  {},
		tiktoktest.EndpointVideoList: {Limit: 6, Window: time.Minute, PerToken: true},
	}, f)
	assert.Equal(t, "user_info=off,video_list=6/1m0s/token", f.String())
	assert.Error(t, f.Set("video_query=1/1s,bad"))
	assert.NotContains(t, f, tiktoktest.EndpointVideoQuery, "a bad list sets nothing")
}
