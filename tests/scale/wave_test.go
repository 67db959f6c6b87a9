package scale

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

var (
	waveUsersFlag = flag.Int("wave-users", 300, "stored users in the refresh wave test (a tenth of them expire at once)")
	waveQuotaFlag = flag.String("wave-quota", "30/10s", "the user info quota of the refresh wave test, LIMIT/WINDOW")
)

// waveQuota is the refresh wave's quota on user info. The default has a
// short window, so that the wave takes seconds, and is small enough that
// the wave needs several windows.
func waveQuota(t *testing.T) client.Quota {
	q, err := client.ParseQuota(*waveQuotaFlag)
	if err != nil || q.Limit <= 0 || q.PerToken {
		t.Fatalf("-wave-quota %q: want LIMIT/WINDOW per app (%v)", *waveQuotaFlag, err)
	}
	return q
}

const (
	waveInstances = 3
	// waveWorkers per instance: more than a window's worth in all, so
	// that the quota and not the workers sets the pace.
	waveWorkers = 16
	// waveRequestsPerUser: each expired user is asked for by two
	// instances at once, which must not both refresh.
	waveRequestsPerUser = 2
)

// waveInstance is one instance of the app: its own client, token source,
// guard and server, sharing the store and the quota limiter with the
// others.
type waveInstance struct {
	srv *httptest.Server
}

// TestRefreshWave expires a tenth of the users' access tokens at once and
// has three instances serve two requests for each of those users, each
// request calling user info under the quota, with the token store on
// PostgreSQL, then on Redis. The quota is kept across the instances by one
// Redis limiter. Nobody may be logged out, no refresh token presented
// twice, TikTok (the emulator, which enforces the same quota) must answer
// no 429, and the wave must take within 10 % of the time the quota allows
// for its user info calls.
func TestRefreshWave(t *testing.T) {
	n := *waveUsersFlag
	if n < 100 {
		t.Fatalf("-wave-users %d: at least 100", n)
	}
	quota := waveQuota(t)
	stores := []struct {
		name string
		open func(t *testing.T) func() tokenstore.Store // one store per instance on the same data
	}{
		{StorePostgres, func(t *testing.T) func() tokenstore.Store {
			dsn := testpg.OpenDSN(t)
			ring := newKeyRing(t)
			first := true
			return func() tokenstore.Store {
				db, err := sql.Open("pgx", dsn)
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				// As an app under load would: keep a connection per
				// worker, opened before the wave (database/sql keeps
				// only 2 idle ones by default, and opens the others
				// anew for every burst).
				db.SetMaxIdleConns(waveWorkers + 4)
				db.SetMaxOpenConns(waveWorkers + 4)
				conns := make([]*sql.Conn, waveWorkers)
				for i := range conns {
					conns[i], err = db.Conn(context.Background())
					require.NoError(t, err)
				}
				for _, c := range conns {
					c.Close()
				}
				st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.Postgres, Keys: ring})
				require.NoError(t, err)
				t.Cleanup(func() { st.Close() })
				if first {
					require.NoError(t, st.Migrate(context.Background()))
					first = false
				}
				return st
			}
		}},
		{StoreRedis, func(t *testing.T) func() tokenstore.Store {
			url := testredis.URL(t)
			ring := newKeyRing(t)
			c := testredis.Client(t)
			prefix := testredis.Prefix(t, c)
			return func() tokenstore.Store {
				opts, err := redis.ParseURL(url)
				require.NoError(t, err)
				rdb := redis.NewClient(opts)
				t.Cleanup(func() { rdb.Close() })
				st, err := redisstore.New(rdb, redisstore.Config{Prefix: prefix, Keys: ring})
				require.NoError(t, err)
				return st
			}
		}},
	}
	for _, s := range stores {
		if !wantStore(s.name) {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			w := runWave(t, s.name, n, quota, s.open(t))
			report.Waves = append(report.Waves, w)
			t.Logf("%s: %d of %d users expired; %d refreshes; wave took %.2fs, the quota (%s) allows %.2fs; logged out %d, refresh tokens reused %d, 429s %d",
				s.name, w.WaveUsers, w.Users, w.Refreshes, w.Seconds, quota, w.AllowedSeconds, w.LoggedOut, w.Reused, w.RateLimited)
			require.Zero(t, w.LoggedOut, "users logged out")
			require.Zero(t, w.Reused, "refresh tokens presented twice")
			require.Zero(t, w.RateLimited, "429s from TikTok")
			require.Equal(t, w.WaveUsers, w.Refreshes, "each expired user refreshed exactly once")
			require.InDelta(t, w.AllowedSeconds, w.Seconds, 0.1*w.AllowedSeconds, "the wave takes what the quota allows, within 10%%")
		})
	}
}

func runWave(t *testing.T, name string, n int, quota client.Quota, newStore func() tokenstore.Store) Wave {
	ctx := context.Background()
	users := make([]tiktoktest.User, n)
	for i := range users {
		users[i] = tiktoktest.User{OpenID: userKey(i), DisplayName: "Scale " + userKey(i), Username: fmt.Sprintf("scale%07d", i)}
	}
	emu := tiktoktest.NewServer(tiktoktest.Config{Users: users, AutoApprove: true,
		Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{tiktoktest.EndpointUserInfo: {Limit: quota.Limit, Window: quota.Window}}})
	t.Cleanup(emu.Close)

	limiterRedis := testredis.Client(t)
	limiterPrefix := testredis.Prefix(t, limiterRedis)

	var (
		mu        sync.Mutex
		start     time.Time
		refreshes []float64 // seconds since the wave started
		calls     []float64
		loggedOut int
	)
	quiet := slog.New(slog.DiscardHandler)
	var seed tokenstore.Store
	insts := make([]waveInstance, waveInstances)
	for i := range insts {
		st := newStore()
		if seed == nil {
			seed = st
		}
		lim, err := redisstore.NewLimiter(limiterRedis, redisstore.LimiterConfig{Prefix: limiterPrefix})
		require.NoError(t, err)
		c, err := client.New(client.Config{
			ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
			RedirectURL: "http://127.0.0.1:1/auth/tiktok/callback",
			AuthURL:     emu.AuthURL(), APIURL: emu.APIURL(),
			Quotas:  map[string]client.Quota{client.EndpointUserInfo: quota},
			Limiter: lim, Logger: quiet,
		})
		require.NoError(t, err)
		src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: st, Client: c, Logger: quiet,
			OnRefresh: func(string, *client.Token) {
				mu.Lock()
				refreshes = append(refreshes, time.Since(start).Seconds())
				mu.Unlock()
			},
			OnDrop: func(string, error) {
				mu.Lock()
				loggedOut++
				mu.Unlock()
			},
		})
		require.NoError(t, err)
		g, err := middleware.New(middleware.Config{Tokens: src, Identity: headerIdentity{}, Logger: quiet})
		require.NoError(t, err)
		h := g.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := client.FromContext(r.Context())
			info, err := u.UserInfo(r.Context())
			if err != nil {
				g.HandleError(w, r, err)
				return
			}
			mu.Lock()
			calls = append(calls, time.Since(start).Seconds())
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"open_id":%q}`, info.OpenID)
		}))
		insts[i].srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r.Header.Get(userHeader))))
		}))
		t.Cleanup(insts[i].srv.Close)
	}

	// Every user holds a real grant of the emulator's, valid for an hour.
	now := time.Now()
	grants := make([]*client.Token, n)
	for i := range n {
		tr, err := emu.IssueToken(userKey(i))
		require.NoError(t, err)
		grants[i] = &client.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, TokenType: "Bearer",
			OpenID: tr.OpenID, Scopes: []string{"user.info.basic"}, Expiry: now.Add(time.Hour),
			RefreshExpiry: now.Add(time.Duration(tr.RefreshExpiresIn) * time.Second)}
		require.NoError(t, seed.Put(ctx, userKey(i), grants[i]))
	}

	// The wave: a random tenth of the users' access tokens expire at once.
	rng := rand.New(rand.NewPCG(10, uint64(n)))
	wave := rng.Perm(n)[:n/10]
	for _, i := range wave {
		expired := *grants[i]
		expired.Expiry = time.Now().Add(-time.Second)
		require.NoError(t, seed.Put(ctx, userKey(i), &expired))
	}
	emu.ResetCounters()

	// Each expired user is asked for by two instances at once.
	type job struct{ user, inst int }
	queues := make([]chan job, waveInstances)
	for i := range queues {
		queues[i] = make(chan job, len(wave)*waveRequestsPerUser)
	}
	for k, u := range wave {
		for r := range waveRequestsPerUser {
			inst := (k + r) % waveInstances
			queues[inst] <- job{u, inst}
		}
	}
	for _, q := range queues {
		close(q)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: waveWorkers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	failures := map[string]int{}
	var wg sync.WaitGroup
	start = time.Now()
	for i := range insts {
		for range waveWorkers {
			wg.Go(func() {
				buf := new(bytes.Buffer)
				for j := range queues[i] {
					key := userKey(j.user)
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, insts[j.inst].srv.URL+"/api/me", nil)
					req.Header.Set(userHeader, key)
					resp, err := hc.Do(req)
					fail := ""
					if err != nil {
						fail = "transport"
					} else {
						buf.Reset()
						_, _ = buf.ReadFrom(resp.Body)
						resp.Body.Close()
						switch {
						case resp.StatusCode != http.StatusOK:
							fail = fmt.Sprintf("HTTP %d", resp.StatusCode)
						case buf.String() != fmt.Sprintf(`{"open_id":%q}`, key):
							fail = "wrong body"
						}
					}
					if fail != "" {
						mu.Lock()
						failures[fail]++
						if fail == "HTTP 401" {
							loggedOut++
						}
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.Empty(t, failures, "failed requests")

	callsNeeded := len(wave) * waveRequestsPerUser
	windows := math.Ceil(float64(callsNeeded)/float64(quota.Limit)) - 1
	mu.Lock()
	defer mu.Unlock()
	return Wave{
		Store: name, Users: n, WaveUsers: len(wave), Instances: waveInstances,
		UserInfoCalls: callsNeeded, QuotaLimit: quota.Limit, QuotaWindowSeconds: quota.Window.Seconds(),
		AllowedSeconds: windows * quota.Window.Seconds(), Seconds: elapsed.Seconds(),
		Refreshes: emu.Grants("refresh_token"), LoggedOut: loggedOut, Reused: emu.RefreshTokenReuse(),
		RateLimited:  emu.RateLimited(tiktoktest.EndpointUserInfo),
		RefreshTimes: refreshes, CallTimes: calls,
	}
}
