package scale

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

var (
	usersFlag   = flag.String("users", "", "comma-separated numbers of stored users (default 1000,10000; env TIKTOKKIT_SCALE_USERS)")
	samplesFlag = flag.Int("samples", 1000, "measured calls per metric, size and round")
	roundsFlag  = flag.Int("rounds", 3, "measurement rounds")
	jsonOut     = flag.String("json-out", "", "write the measurements as JSON to this file")
	storesFlag  = flag.String("stores", "", "comma-separated stores to measure (default all: memory,SQLite,PostgreSQL,Redis)")
)

// maxRatio bounds p50 at the largest size over p50 at the smallest.
const maxRatio = 1.5

// activeUsers is how many distinct users the warm measurements cycle
// over: fewer than the token cache holds, so they are all cached.
const activeUsers = 1000

// report gathers what the tests measured; TestMain writes it to -json-out.
var report = &Report{GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU()}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	testpg.Stop()
	testredis.Stop()
	if *jsonOut != "" {
		if err := WriteReport(*jsonOut, report); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func sizes(t *testing.T) []int {
	spec := *usersFlag
	if spec == "" {
		spec = os.Getenv("TIKTOKKIT_SCALE_USERS")
	}
	if spec == "" {
		spec = "1000,10000"
	}
	var out []int
	for f := range strings.SplitSeq(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < activeUsers {
			t.Fatalf("-users: %q is not a number of users of at least %d", f, activeUsers)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func wantStore(name string) bool {
	if *storesFlag == "" {
		return true
	}
	for f := range strings.SplitSeq(*storesFlag, ",") {
		if strings.EqualFold(strings.TrimSpace(f), name) {
			return true
		}
	}
	return false
}

// userHeader names the user of a measured request.
const userHeader = "X-Scale-User"

// headerIdentity takes the store key that the test server put in the
// context from the userHeader header, so that a million users need no
// million sessions: the guard's work per request is the same as with
// SessionIdentity, less the session lookup, which does not depend on the
// token store.
type headerIdentity struct{}

type requestKey struct{}

func (headerIdentity) Key(ctx context.Context) string {
	k, _ := ctx.Value(requestKey{}).(string)
	return k
}
func (headerIdentity) SetKey(context.Context, string) {}
func (headerIdentity) Clear(context.Context)          {}

// target is one store at one size, ready to measure.
type target struct {
	store, cold *tokenstore.Source // default cache; cache off
	srv         *httptest.Server   // GET /warm and /cold: guarded over store and cold
	users       int
	load        time.Duration
	lat         map[string][]time.Duration
}

func newClient(t testing.TB) *client.Client {
	// The tokens never need a refresh while the test runs, so TikTok is
	// never called: the URLs point at a closed loopback port.
	c, err := client.New(client.Config{
		ClientKey: "scale-client", ClientSecret: "scale-secret",
		RedirectURL: "http://127.0.0.1:1/auth/tiktok/callback",
		AuthURL:     "http://127.0.0.1:1", APIURL: "http://127.0.0.1:1",
		NoQuotas: true, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return c
}

func newTarget(t testing.TB, st tokenstore.Store, users int, load time.Duration) *target {
	quiet := slog.New(slog.DiscardHandler)
	c := newClient(t)
	mk := func(cacheSize int) (*tokenstore.Source, http.Handler) {
		src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: st, Client: c, CacheSize: cacheSize, Logger: quiet})
		require.NoError(t, err)
		g, err := middleware.New(middleware.Config{Tokens: src, Identity: headerIdentity{}, Logger: quiet})
		require.NoError(t, err)
		h := g.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := client.FromContext(r.Context())
			if !ok {
				http.Error(w, "no user", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"open_id":"`+u.Token().OpenID+`"}`)
		}))
		return src, h
	}
	tg := &target{users: users, load: load, lat: map[string][]time.Duration{}}
	var warm, cold http.Handler
	tg.store, warm = mk(0)
	tg.cold, cold = mk(-1)
	mux := http.NewServeMux()
	mux.Handle("GET /warm", warm)
	mux.Handle("GET /cold", cold)
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r.Header.Get(userHeader))))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

// measureRound runs samples calls of each metric on every target and
// appends the latencies. The targets take turns call by call, so that a
// slow moment of the machine falls on every size alike. Warm calls cycle
// over the first activeUsers users (read once before, so cached); cold
// calls pick users at random among all of the target's.
func measureRound(t testing.TB, hc *http.Client, targets []*target, rng *rand.Rand, samples int) {
	ctx := context.Background()
	warmKeys := make([][]string, len(targets))
	coldKeys := make([][]string, len(targets))
	for j, tg := range targets {
		warmKeys[j] = make([]string, samples)
		coldKeys[j] = make([]string, samples)
		for i := range samples {
			warmKeys[j][i] = userKey(rng.IntN(activeUsers))
			coldKeys[j][i] = userKey(rng.IntN(tg.users))
		}
		for i := range activeUsers {
			_, err := tg.store.Token(ctx, userKey(i))
			require.NoError(t, err)
		}
	}
	get := func(src *tokenstore.Source, k string) time.Duration {
		t0 := time.Now()
		tok, err := src.Token(ctx, k)
		el := time.Since(t0)
		require.NoError(t, err)
		require.Equal(t, k, tok.OpenID)
		return el
	}
	buf := new(bytes.Buffer)
	guard := func(tg *target, path, k string) time.Duration {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tg.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "application/json")
		req.Header.Set(userHeader, k)
		t0 := time.Now()
		resp, err := hc.Do(req)
		require.NoError(t, err)
		buf.Reset()
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		el := time.Since(t0)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "guarded request for %s", k)
		require.Equal(t, `{"open_id":"`+k+`"}`, buf.String())
		return el
	}
	metrics := []struct {
		name string
		keys [][]string
		call func(tg *target, k string) time.Duration
	}{
		{"get_warm", warmKeys, func(tg *target, k string) time.Duration { return get(tg.store, k) }},
		{"get_cold", coldKeys, func(tg *target, k string) time.Duration { return get(tg.cold, k) }},
		{"guard_warm", warmKeys, func(tg *target, k string) time.Duration { return guard(tg, "/warm", k) }},
		{"guard_cold", coldKeys, func(tg *target, k string) time.Duration { return guard(tg, "/cold", k) }},
	}
	for _, m := range metrics {
		for i := range samples {
			for j, tg := range targets {
				tg.lat[m.name] = append(tg.lat[m.name], m.call(tg, m.keys[j][i]))
			}
		}
	}
}

func pct(lat []time.Duration, p float64) float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))]) / float64(time.Microsecond)
}

func (tg *target) result(store string) Latency {
	l := tg.lat
	return Latency{
		Store: store, Users: tg.users, LoadSeconds: tg.load.Seconds(), Samples: len(l["get_warm"]),
		GetWarmP50: pct(l["get_warm"], .5), GetWarmP99: pct(l["get_warm"], .99),
		GetColdP50: pct(l["get_cold"], .5), GetColdP99: pct(l["get_cold"], .99),
		GuardWarmP50: pct(l["guard_warm"], .5), GuardWarmP99: pct(l["guard_warm"], .99),
		GuardColdP50: pct(l["guard_cold"], .5), GuardColdP99: pct(l["guard_cold"], .99),
	}
}

// TestScale loads every store at every size, measures, and checks that the
// p50 of a guarded request stays flat.
func TestScale(t *testing.T) {
	ns := sizes(t)
	rep := report
	rep.Sizes = ns

	type storeDef struct {
		name string
		load func(t testing.TB, n int) loaded
	}
	defs := []storeDef{
		{StoreMemory, loadMemory},
		{StoreSQLite, loadSQLite},
		{StorePostgres, func(t testing.TB, n int) loaded { return loadPostgres(t, testpg.Open(t), n) }},
		{StoreRedis, loadRedis},
	}
	for _, d := range defs {
		if !wantStore(d.name) {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			targets := make([]*target, len(ns))
			for i, n := range ns {
				l := d.load(t, n)
				countRows(t, l, n)
				t.Logf("%s: loaded %d users in %v (%.0f/s)", d.name, n, l.load.Round(time.Millisecond), float64(n)/l.load.Seconds())
				targets[i] = newTarget(t, l.store, n, l.load)
			}
			rng := rand.New(rand.NewPCG(17, uint64(len(d.name))))
			tr := &http.Transport{MaxIdleConnsPerHost: 2}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			for range *roundsFlag {
				measureRound(t, hc, targets, rng, *samplesFlag)
			}
			var res []Latency
			for _, tg := range targets {
				r := tg.result(d.name)
				res = append(res, r)
				t.Logf("%s at %d users: get warm p50 %.1fµs p99 %.1fµs, cold p50 %.1fµs p99 %.1fµs; guarded warm p50 %.1fµs p99 %.1fµs, cold p50 %.1fµs p99 %.1fµs",
					d.name, r.Users, r.GetWarmP50, r.GetWarmP99, r.GetColdP50, r.GetColdP99, r.GuardWarmP50, r.GuardWarmP99, r.GuardColdP50, r.GuardColdP99)
			}
			rep.Latency = append(rep.Latency, res...)
			first, last := res[0], res[len(res)-1]
			for _, c := range []struct {
				what         string
				small, large float64
			}{
				{"guarded request, token cached", first.GuardWarmP50, last.GuardWarmP50},
				{"guarded request, cache off", first.GuardColdP50, last.GuardColdP50},
			} {
				require.LessOrEqualf(t, c.large, maxRatio*c.small,
					"%s: p50 of a %s is %.1fµs at %d users, more than %.1fx the %.1fµs at %d users",
					d.name, c.what, c.large, last.Users, maxRatio, c.small, first.Users)
			}
		})
	}

	t.Run("bytes per user", func(t *testing.T) {
		for _, n := range ns {
			m := measureMemory(t, n)
			rep.Memory = append(rep.Memory, m)
			t.Logf("at %d users: Memory store %.0f B/user, token cache %.0f B/user, cache bounded to %d holds %.0f B",
				n, m.MemoryStoreBytesPerUser, m.CacheBytesPerUser, m.CacheBound, m.CacheBoundBytes)
			// The bounded cache holds about a tenth of the users: well
			// under a fifth of the unbounded one.
			require.Less(t, m.CacheBoundBytes, 0.2*m.CacheBytesPerUser*float64(n), "the cache's size bound holds")
			require.Greater(t, m.CacheBytesPerUser, 0.0)
			require.Greater(t, m.MemoryStoreBytesPerUser, 0.0)
		}
	})
}

// liveHeap is the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// copying is a Store over a Memory store that hands out a new token for
// every Get, as the SQL and Redis stores do (they decode one per read),
// and that a Source caches (it is no CacheAdvisor).
type copying struct{ m *tokenstore.Memory }

func (c copying) Get(ctx context.Context, key string) (*client.Token, error) {
	tok, err := c.m.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	cp := *tok
	cp.Scopes = slices.Clone(tok.Scopes)
	return &cp, nil
}
func (c copying) Put(ctx context.Context, key string, tok *client.Token) error {
	return c.m.Put(ctx, key, tok)
}
func (c copying) Delete(ctx context.Context, key string) error { return c.m.Delete(ctx, key) }

func measureMemory(t *testing.T, n int) Memory {
	ctx := context.Background()
	keys := make([]string, n) // made before, so not counted
	for i := range keys {
		keys[i] = userKey(i)
	}
	now := time.Now()
	before := liveHeap()
	mem := tokenstore.NewMemory()
	for i, k := range keys {
		require.NoError(t, mem.Put(ctx, k, userToken(i, now)))
	}
	afterStore := liveHeap()
	out := Memory{Users: n, MemoryStoreBytesPerUser: float64(int64(afterStore)-int64(before)) / float64(n)}

	cached := func(size int) float64 {
		src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: copying{mem}, Client: newClient(t), CacheSize: size,
			CacheTTL: time.Hour, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		b := liveHeap()
		for _, k := range keys {
			_, err := src.Token(ctx, k)
			require.NoError(t, err)
		}
		a := liveHeap()
		runtime.KeepAlive(src)
		return float64(int64(a) - int64(b))
	}
	out.CacheBytesPerUser = cached(n) / float64(n)
	out.CacheBound = max(1, n/10)
	out.CacheBoundBytes = cached(out.CacheBound)
	runtime.KeepAlive(mem)
	runtime.KeepAlive(keys)
	return out
}
