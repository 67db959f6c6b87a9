package tiktoktest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

type fakeClock = testutil.Clock

// These tests speak raw HTTP (net/http only), never through package client,
// so that a mistake shared by the client and the emulator cannot hide.

const (
	seedKey      = "test_client_key_123"
	seedSecret   = "test_client_secret_456"
	seedRedirect = "https://example.com/callback"
)

func newFakeClock() *fakeClock {
	return testutil.NewClock(time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC))
}

// seedConfig is the configuration the seed request samples were made with.
func seedConfig() tiktoktest.Config {
	return tiktoktest.Config{ClientKey: seedKey, ClientSecret: seedSecret, RedirectURIs: []string{seedRedirect}}
}

func newEmu(t testing.TB, cfg tiktoktest.Config) *tiktoktest.Server {
	t.Helper()
	emu := tiktoktest.NewServer(cfg)
	t.Cleanup(emu.Close)
	return emu
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect(emu *tiktoktest.Server) *http.Client {
	c := *emu.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// reply is a read response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func do(t testing.TB, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

// get sends a GET without following redirects.
func get(t testing.TB, emu *tiktoktest.Server, pathAndQuery string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, emu.URL+pathAndQuery, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, noRedirect(emu), req)
}

// postForm posts a form body as TikTok's docs do (Content-Type form,
// Cache-Control no-cache).
func postForm(t testing.TB, emu *tiktoktest.Server, path, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, emu.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cache-Control", "no-cache")
	return do(t, noRedirect(emu), req)
}

func bearerGet(t testing.TB, emu *tiktoktest.Server, pathAndQuery, token string) reply {
	t.Helper()
	return get(t, emu, pathAndQuery, "Authorization", "Bearer "+token)
}

// adaptForm keeps a sample form's exact shape (keys, order, encoding) and
// replaces the values named in repl.
func adaptForm(t testing.TB, sample string, repl map[string]string) string {
	t.Helper()
	parts := strings.Split(sample, "&")
	seen := 0
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		require.True(t, ok, "sample part %q", p)
		if v, ok := repl[k]; ok {
			parts[i] = k + "=" + url.QueryEscape(v)
			seen++
		}
	}
	require.Equal(t, len(repl), seen, "every replacement must name a key of the sample")
	return strings.Join(parts, "&")
}

// topKeys returns the member names of a JSON object in document order.
func topKeys(t testing.TB, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "not an object: %s", b)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// member returns the raw JSON of a member path such as "data", "user".
func member(t testing.TB, b []byte, path ...string) []byte {
	t.Helper()
	for _, p := range path {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &m), "body: %s", b)
		v, ok := m[p]
		require.True(t, ok, "no member %q in %s", p, b)
		b = v
	}
	return b
}

// authorizeURL builds an authorize query in TikTok's documented order.
func authorizeQuery(key, redirect, scope, state string, extra ...string) string {
	q := "client_key=" + url.QueryEscape(key) + "&response_type=code&scope=" + url.QueryEscape(scope) +
		"&redirect_uri=" + url.QueryEscape(redirect) + "&state=" + url.QueryEscape(state)
	for i := 0; i+1 < len(extra); i += 2 {
		q += "&" + url.QueryEscape(extra[i]) + "=" + url.QueryEscape(extra[i+1])
	}
	return q
}

// callback parses the redirect of an authorize answer.
func callback(t testing.TB, r reply, wantPrefix string) url.Values {
	t.Helper()
	require.Equal(t, http.StatusFound, r.status, "body: %s", r.body)
	loc := r.header.Get("Location")
	require.True(t, strings.HasPrefix(loc, wantPrefix+"?"), "location %q", loc)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	return u.Query()
}

// authCode runs an auto-approved authorize request and returns the code.
func authCode(t testing.TB, emu *tiktoktest.Server, redirect, scope string, extra ...string) string {
	t.Helper()
	r := get(t, emu, "/v2/auth/authorize/?"+authorizeQuery(emu.ClientKey(), redirect, scope, "st", extra...))
	q := callback(t, r, redirect)
	require.NotEmpty(t, q.Get("code"))
	return q.Get("code")
}

// exchangeForm is the authorization_code form in the seed's shape.
func exchangeForm(emu *tiktoktest.Server, code, redirect string, extra ...string) string {
	f := "client_key=" + url.QueryEscape(emu.ClientKey()) + "&client_secret=" + url.QueryEscape(emu.ClientSecret()) +
		"&code=" + url.QueryEscape(code) + "&grant_type=authorization_code&redirect_uri=" + url.QueryEscape(redirect)
	for i := 0; i+1 < len(extra); i += 2 {
		f += "&" + extra[i] + "=" + url.QueryEscape(extra[i+1])
	}
	return f
}

func refreshForm(emu *tiktoktest.Server, rt string) string {
	return "client_key=" + url.QueryEscape(emu.ClientKey()) + "&client_secret=" + url.QueryEscape(emu.ClientSecret()) +
		"&grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt)
}

func revokeForm(emu *tiktoktest.Server, tok string) string {
	return "client_key=" + url.QueryEscape(emu.ClientKey()) + "&client_secret=" + url.QueryEscape(emu.ClientSecret()) +
		"&token=" + url.QueryEscape(tok)
}

// oauthErr checks a flat OAuth error answer.
func oauthErr(t testing.TB, r reply, status int, code, desc string) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, []string{"error", "error_description", "log_id"}, topKeys(t, r.body))
	m := r.json(t)
	require.Equal(t, code, m["error"])
	if desc != "" {
		require.Equal(t, desc, m["error_description"])
	}
	require.Regexp(t, logIDPattern, m["log_id"])
}

// apiErr checks a v2 envelope error answer.
func apiErr(t testing.TB, r reply, status int, code, msg string) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, []string{"data", "error"}, topKeys(t, r.body))
	require.JSONEq(t, `{}`, string(member(t, r.body, "data")))
	var e struct{ Code, Message, LogID string }
	require.NoError(t, json.Unmarshal(member(t, r.body, "error"), &e))
	require.Equal(t, code, e.Code)
	if msg != "" {
		require.Equal(t, msg, e.Message)
	}
	require.Equal(t, []string{"code", "message", "log_id"}, topKeys(t, member(t, r.body, "error")))
}

var logIDPattern = regexp.MustCompile(`^20\d{12}[0-9A-F]{20}$`)

// tokenJSON decodes a token success body.
func tokenJSON(t testing.TB, r reply) tiktoktest.TokenResponse {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var tok tiktoktest.TokenResponse
	require.NoError(t, json.Unmarshal(r.body, &tok))
	return tok
}

// jsonString decodes a JSON string.
func jsonString(t testing.TB, raw []byte) string {
	t.Helper()
	var s string
	require.NoError(t, json.Unmarshal(raw, &s), "not a string: %s", raw)
	return s
}
