package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// redisEnv is the environment of an instance on the Redis server at addr,
// with the shared emulator emuURL.
func redisEnv(addr, emuURL, keys, instance string) map[string]string {
	return map[string]string{
		"REDIS_URL":            "redis://" + addr + "/0",
		"TIKTOK_EMULATOR_URL":  emuURL,
		"TIKTOKKIT_TOKEN_KEYS": keys,
		"TIKTOKKIT_INSTANCE":   instance,
	}
}

// TestTwoInstancesShareRedis runs two instances of the app on one Redis
// server (its own for this test) and one emulator reached over HTTP, as
// two processes behind a load balancer would: a login through A holds on
// B (session and token are in Redis, the token encrypted); an expiry with
// requests spread over both costs exactly one refresh and no reuse; a
// webhook delivered to A logs the user out, and the same delivery replayed
// to B is refused; Disconnect through B logs the user out on A.
func TestTwoInstancesShareRedis(t *testing.T) {
	srv := testredis.StartServer(t)
	rdb := srv.Client(t)
	emu := tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true})
	t.Cleanup(emu.Close)
	keys := testKeys(t, "redis-1")
	jar, err := cookiejar.New(nil) // one browser; cookies ignore the port
	require.NoError(t, err)
	opts := appOptions{Clock: emu.Now}
	a := startApp(t, redisEnv(srv.Addr(), emu.URL, keys, "a"), opts, "", jar)
	b := startApp(t, redisEnv(srv.Addr(), emu.URL, keys, "b"), opts, a.srv.URL+"/auth/tiktok/callback", jar)
	require.Nil(t, a.db, "no SQL database with Redis")
	require.IsType(t, &redisstore.Store{}, a.store)
	require.IsType(t, &redisstore.ReplayStore{}, a.replays)
	require.IsType(t, &redisstore.Limiter{}, a.limiter)
	user := emu.Users()[0]

	status, _ := b.apiMe(t)
	require.Equal(t, http.StatusUnauthorized, status)
	a.login(t)

	status, me := b.apiMe(t)
	require.Equal(t, http.StatusOK, status, me)
	assert.Equal(t, user.OpenID, me["open_id"])
	assert.Contains(t, readBody(t, b.do(t, http.MethodGet, "/", htmlAccept, nil)), "Redis")
	assertEncryptedInRedis(t, b.app, rdb, user.OpenID)
	// The user-info quota is counted in Redis, where both instances see it.
	sent, err := rdb.Keys(t.Context(), redisPrefix+"quota:*").Result()
	require.NoError(t, err)
	assert.NotEmpty(t, sent, "the quota limiter books its requests in Redis")
	assert.Equal(t, "Redis "+srv.Addr()+" db 0", a.where)

	// The access token expires; concurrent requests over both instances,
	// with TikTok's token endpoint slowed so that refreshes would overlap.
	emu.AdvanceClock(25 * time.Hour)
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 20 * time.Millisecond})
	const requests = 16
	statuses := make([]int, requests)
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range requests {
		ta := []*testApp{a, b}[i%2]
		wg.Go(func() {
			<-begin
			req, err := http.NewRequest(http.MethodGet, ta.srv.URL+"/api/me", nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Accept", "application/json")
			resp, err := ta.http.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(begin)
	wg.Wait()
	emu.ClearFaults()
	for i, s := range statuses {
		assert.Equal(t, http.StatusOK, s, "request %d", i)
	}
	assert.Equal(t, 1, emu.Grants("refresh_token"), "exactly one refresh for both instances")
	assert.Zero(t, emu.RefreshTokenReuse(), "no refresh token presented twice")
	assertEncryptedInRedis(t, a.app, rdb, user.OpenID)

	// TikTok's authorization.removed, delivered to A, logs the user out.
	now := emu.Now()
	body := `{"client_key":"` + emu.ClientKey() + `","event":"authorization.removed","create_time":` +
		strconv.FormatInt(now.Unix(), 10) + `,"user_openid":"` + user.OpenID + `","content":"{\"reason\":1}"}`
	sig := webhook.Sign(a.webhookSecret, now, []byte(body))
	assert.Equal(t, http.StatusUnauthorized, postWebhook(t, a, body, webhook.Sign("not-the-secret", now, []byte(body))))
	assert.Equal(t, http.StatusOK, postWebhook(t, a, body, sig))
	_, err = a.store.Get(t.Context(), user.OpenID)
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	status, _ = a.apiMe(t)
	assert.Equal(t, http.StatusUnauthorized, status)

	// The user logs in again; the same delivery replayed to B is
	// acknowledged but not handled again: the login stays.
	b.login(t)
	assert.Equal(t, http.StatusOK, postWebhook(t, b, body, sig))
	assert.Contains(t, b.logs.String(), "replay acknowledged")
	_, err = a.store.Get(t.Context(), user.OpenID)
	require.NoError(t, err, "the replay deleted no token")
	status, _ = a.apiMe(t)
	assert.Equal(t, http.StatusOK, status, "the replay logged nobody out")

	// Disconnect through B logs the user out on A too.
	m := csrfField.FindStringSubmatch(readBody(t, b.do(t, http.MethodGet, "/me", htmlAccept, nil)))
	require.Len(t, m, 2)
	resp := b.do(t, http.MethodPost, "/auth/tiktok/disconnect", htmlAccept, map[string][]string{"csrf_token": {htmlUnescape(m[1])}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	status, _ = a.apiMe(t)
	assert.Equal(t, http.StatusUnauthorized, status)
	left, err := a.store.Keys(t.Context())
	require.NoError(t, err)
	assert.Empty(t, left, "the token is gone from Redis")
}

// postWebhook sends a webhook delivery with its signature header.
func postWebhook(t *testing.T, ta *testApp, body, signature string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ta.srv.URL+webhookPath, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("TikTok-Signature", signature)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// assertEncryptedInRedis checks that the token hash of key holds neither
// the access nor the refresh token nor the key, that it names the ring's
// primary key, and that the sessions live in Redis without tokens.
func assertEncryptedInRedis(t *testing.T, a *app, rdb redis.UniversalClient, key string) {
	t.Helper()
	ctx := context.Background()
	tok, err := a.store.Get(ctx, key)
	require.NoError(t, err)
	require.NotEmpty(t, tok.AccessToken)
	names, err := rdb.Keys(ctx, redisPrefix+"{*}:token").Result()
	require.NoError(t, err)
	require.Len(t, names, 1)
	fields, err := rdb.HGetAll(ctx, names[0]).Result()
	require.NoError(t, err)
	assert.Equal(t, a.keys.PrimaryID(), fields["key_id"])
	for f, v := range fields {
		assert.NotContains(t, v, tok.AccessToken, f)
		assert.NotContains(t, v, tok.RefreshToken, f)
		assert.NotContains(t, v, key, "not even the open_id is in clear")
	}
	sessions, err := rdb.Keys(ctx, "scs:session:*").Result()
	require.NoError(t, err)
	assert.NotEmpty(t, sessions, "the sessions live in Redis")
	for _, s := range sessions {
		data, err := rdb.Get(ctx, s).Result()
		require.NoError(t, err)
		assert.NotContains(t, data, tok.AccessToken)
		assert.NotContains(t, data, tok.RefreshToken)
	}
}

// TestRedisDownAnswers503 stops Redis under a logged-in user: requests
// answer 503 and nobody is logged out; once Redis is back (with its
// append-only file), the same session works again.
func TestRedisDownAnswers503(t *testing.T) {
	srv := testredis.StartServer(t)
	emu := tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true})
	t.Cleanup(emu.Close)
	ta := startApp(t, redisEnv(srv.Addr(), emu.URL, testKeys(t, "redis-2"), "a"), appOptions{Clock: emu.Now}, "", nil)
	ta.login(t)
	status, _ := ta.apiMe(t)
	require.Equal(t, http.StatusOK, status)

	srv.Stop()
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp = ta.do(t, http.MethodGet, "/me", htmlAccept, nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, readBody(t, resp), "cannot reach its database")

	require.NoError(t, srv.Start())
	emu.AdvanceClock(25 * time.Hour)
	status, me := ta.apiMe(t)
	require.Equal(t, http.StatusOK, status, me)
	assert.Equal(t, emu.Users()[0].OpenID, me["open_id"])
	assert.Equal(t, 1, emu.Grants("refresh_token"))
	assert.Zero(t, emu.RefreshTokenReuse())
}

func TestRedisSettings(t *testing.T) {
	base := map[string]string{"TIKTOKKIT_INSTANCE": "test"}
	for name, tc := range map[string]struct {
		url, dbURL string
		want       string // part of the error; "" means no error
		addr       string
		tls        bool
	}{
		"redis":              {url: "redis://:pw@example.test:6380/2", addr: "example.test:6380"},
		"rediss":             {url: "rediss://example.test:6390", addr: "example.test:6390", tls: true},
		"unix":               {url: "unix:///run/redis.sock?db=1", addr: "/run/redis.sock"},
		"http scheme":        {url: "http://example.test:6379", want: `REDIS_URL has scheme "http"`},
		"no scheme":          {url: "example.test:6379", want: "REDIS_URL"},
		"bad port, password": {url: "redis://user:hunter2@example.test:port/0", want: "REDIS_URL is not a valid URL"},
		"bad database":       {url: "redis://example.test:6379/x", want: "REDIS_URL"},
		"with DATABASE_URL":  {url: "redis://example.test:6379", dbURL: "postgres://example.test/app", want: "DATABASE_URL and REDIS_URL are both set"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"REDIS_URL": tc.url, "DATABASE_URL": tc.dbURL}
			for k, v := range base {
				env[k] = v
			}
			s, err := settingsFromEnv(func(k string) string { return env[k] })
			if tc.want != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
				assert.NotContains(t, err.Error(), "hunter2", "the password is never in the error")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, s.Redis)
			assert.Equal(t, tc.addr, s.Redis.Addr)
			assert.Equal(t, tc.tls, s.Redis.TLSConfig != nil)
			assert.NotContains(t, describeRedis(s.Redis), "pw")
		})
	}
	s, err := settingsFromEnv(func(k string) string { return base[k] })
	require.NoError(t, err)
	assert.Nil(t, s.Redis, "SQL without REDIS_URL")
}

// TestRedisUnreachableAtStart: a REDIS_URL nobody answers on stops the
// app at start with an error that names the server.
func TestRedisUnreachableAtStart(t *testing.T) {
	srv := testredis.StartServer(t)
	srv.Stop()
	env := map[string]string{"REDIS_URL": "redis://" + srv.Addr(), "TIKTOKKIT_INSTANCE": "test", "TIKTOKKIT_TOKEN_KEYS": testKeys(t, "k")}
	s, err := settingsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	s.RedirectURI = "http://localhost:1/auth/tiktok/callback"
	start := time.Now()
	_, err = newApp(t.Context(), s, slog.New(slog.DiscardHandler), appOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connect to Redis "+srv.Addr()+" db 0")
	assert.Less(t, time.Since(start), 15*time.Second)
}

// TestRedisTokenUnderUnknownKey: an instance whose key ring lacks the key
// a token was sealed with answers 503 token_store_unreadable and leaves
// the token in Redis; the instance with the key still serves the user.
func TestRedisTokenUnderUnknownKey(t *testing.T) {
	srv := testredis.StartServer(t)
	emu := tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true})
	t.Cleanup(emu.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	opts := appOptions{Clock: emu.Now}
	a := startApp(t, redisEnv(srv.Addr(), emu.URL, testKeys(t, "old"), "a"), opts, "", jar)
	b := startApp(t, redisEnv(srv.Addr(), emu.URL, testKeys(t, "new"), "b"), opts, a.srv.URL+"/auth/tiktok/callback", jar)
	a.login(t)

	status, body := b.apiMe(t)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "token_store_unreadable", body["error"])
	assert.Contains(t, b.logs.String(), "check TIKTOKKIT_TOKEN_KEYS")
	_, err = b.store.Get(t.Context(), emu.Users()[0].OpenID)
	require.ErrorIs(t, err, tokenstore.ErrUnknownKey)

	status, me := a.apiMe(t)
	require.Equal(t, http.StatusOK, status, "the token is still there")
	assert.Equal(t, emu.Users()[0].OpenID, me["open_id"])
}
