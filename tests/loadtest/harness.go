package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// Options bound and shape a run. The zero value of each field means its
// default.
type Options struct {
	// Users is how many users log in (through the real login flow) before
	// the load starts. Default 200.
	Users int
	// Concurrency is the number of workers, each with its own keep-alive
	// connection. Default 16.
	Concurrency int
	// Duration bounds each configuration's share of a round. Default 2s.
	Duration time.Duration
	// Requests bounds each configuration's share of a round. Default
	// 200000.
	Requests int
	// Rounds is how many times every configuration runs, in rotating
	// order, so that a slow moment of the machine does not land on one
	// configuration only. Default 3.
	Rounds int
	// Warmup is how many requests every configuration gets, unmeasured,
	// before the first round. Default 2000; negative means none.
	Warmup int
	// PostgresDSN names a PostgreSQL database for the "guarded, PostgreSQL
	// store" configuration, which is skipped when it is empty. The run
	// creates its own table there and drops it at the end.
	PostgresDSN string
	// RedisURL names a Redis server (a redis:// or unix:// URL, as
	// go-redis's ParseURL reads it) for the "guarded, Redis store"
	// configuration, which is skipped when it is empty. The run writes
	// under a key prefix of its own and deletes its keys at the end.
	RedisURL string
	// CacheSize is the token source's SourceConfig.CacheSize for the SQL
	// and Redis stores: 0 keeps the default (on), negative turns the cache
	// off so that every request reads the store.
	CacheSize int
	// Logger receives progress lines. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Users <= 0 {
		o.Users = 200
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if o.Requests <= 0 {
		o.Requests = 200_000
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Warmup == 0 {
		o.Warmup = 2000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// The configurations, in the order of the report.
const (
	ConfigUnguarded = "unguarded"
	ConfigMemory    = "guarded, memory store"
	ConfigSQLite    = "guarded, SQLite store"
	ConfigPostgres  = "guarded, PostgreSQL store"
	ConfigRedis     = "guarded, Redis store"
)

// Result is what one configuration did over all rounds.
type Result struct {
	// Name is one of the Config* names.
	Name string
	// Skipped says why the configuration did not run ("" when it ran).
	Skipped string
	// Requests is the number of requests measured.
	Requests int
	// Errors counts failed requests by kind ("HTTP 503", "wrong body",
	// "transport").
	Errors map[string]int
	// Elapsed is the measured time, summed over rounds.
	Elapsed time.Duration
	// Latency percentiles of the measured requests.
	P50, P90, P99, Max time.Duration
}

// Throughput is requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests.
func (r Result) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// app is one instance of the example-style app on a loopback port, with
// its users logged in.
type app struct {
	srv     *httptest.Server
	cookies []string // per user: "name=value" of the session cookie
	bodies  [][]byte // per user: the JSON both endpoints answer
	close   func()
}

// openIDBody is what both endpoints answer.
type openIDBody struct {
	OpenID string `json:"open_id"`
}

// Run starts the emulator and one app per token store, logs the users in
// and drives every configuration. Only loopback addresses are used (the
// PostgreSQL and Redis servers are the caller's).
func Run(ctx context.Context, o Options) ([]Result, error) {
	o = o.withDefaults()
	users := make([]tiktoktest.User, o.Users)
	for i := range users {
		id := fmt.Sprintf("-000load%05d", i)
		users[i] = tiktoktest.User{OpenID: id, DisplayName: "Load " + id, Username: fmt.Sprintf("load%05d", i)}
	}
	emu := tiktoktest.NewServer(tiktoktest.Config{Users: users, AutoApprove: true, NoQuotas: true})
	defer emu.Close()

	type backend struct {
		name  string
		store func() (tokenstore.Store, func(), error)
	}
	backends := []backend{
		{ConfigMemory, func() (tokenstore.Store, func(), error) { return tokenstore.NewMemory(), func() {}, nil }},
		{ConfigSQLite, func() (tokenstore.Store, func(), error) { return openSQLite(ctx, o) }},
	}
	if o.PostgresDSN != "" {
		backends = append(backends, backend{ConfigPostgres, func() (tokenstore.Store, func(), error) { return openPostgres(ctx, o) }})
	}
	if o.RedisURL != "" {
		backends = append(backends, backend{ConfigRedis, func() (tokenstore.Store, func(), error) { return openRedis(ctx, o) }})
	}
	apps := map[string]*app{}
	defer func() {
		for _, a := range apps {
			a.close()
		}
	}()
	for _, b := range backends {
		st, closeStore, err := b.store()
		if err != nil {
			return nil, fmt.Errorf("loadtest: %s: %w", b.name, err)
		}
		a, err := startApp(ctx, emu, st, closeStore, users, o)
		if err != nil {
			return nil, fmt.Errorf("loadtest: %s: %w", b.name, err)
		}
		apps[b.name] = a
		o.Logger.Info("app ready", "config", b.name, "users", len(users), "url", a.srv.URL)
	}

	type config struct {
		name, path string
		app        *app
	}
	configs := []config{
		{ConfigUnguarded, "/api/open", apps[ConfigMemory]},
		{ConfigMemory, "/api/me", apps[ConfigMemory]},
		{ConfigSQLite, "/api/me", apps[ConfigSQLite]},
	}
	if a := apps[ConfigPostgres]; a != nil {
		configs = append(configs, config{ConfigPostgres, "/api/me", a})
	}
	if a := apps[ConfigRedis]; a != nil {
		configs = append(configs, config{ConfigRedis, "/api/me", a})
	}

	tr := &http.Transport{MaxIdleConns: o.Concurrency * 2, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	acc := make(map[string]*accum, len(configs))
	for _, c := range configs {
		acc[c.name] = &accum{errors: map[string]int{}}
		if o.Warmup > 0 {
			drive(ctx, hc, c.app, c.path, o.Concurrency, o.Warmup, o.Duration, &accum{errors: map[string]int{}})
		}
	}
	for round := range o.Rounds {
		for i := range configs {
			c := configs[(i+round)%len(configs)]
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("loadtest: %w", err)
			}
			drive(ctx, hc, c.app, c.path, o.Concurrency, o.Requests, o.Duration, acc[c.name])
			o.Logger.Info("round done", "round", round+1, "config", c.name, "requests", len(acc[c.name].lat))
		}
	}

	var out []Result
	for _, c := range configs {
		out = append(out, acc[c.name].result(c.name))
	}
	if o.PostgresDSN == "" {
		out = append(out, Result{Name: ConfigPostgres, Skipped: "no PostgreSQL DSN (set -postgres or TIKTOKKIT_TEST_POSTGRES_DSN)"})
	}
	if o.RedisURL == "" {
		out = append(out, Result{Name: ConfigRedis, Skipped: "no Redis URL (set -redis or TIKTOKKIT_TEST_REDIS_URL)"})
	}
	return out, nil
}

// accum gathers one configuration's measurements.
type accum struct {
	mu      sync.Mutex
	lat     []time.Duration
	errors  map[string]int
	elapsed time.Duration
}

func (a *accum) result(name string) Result {
	slices.Sort(a.lat)
	r := Result{Name: name, Requests: len(a.lat), Errors: a.errors, Elapsed: a.elapsed}
	if n := len(a.lat); n > 0 {
		pick := func(p float64) time.Duration { return a.lat[min(n-1, int(p*float64(n)))] }
		r.P50, r.P90, r.P99, r.Max = pick(0.50), pick(0.90), pick(0.99), a.lat[n-1]
	}
	return r
}

// drive sends up to limit requests to path with workers for at most d,
// spreading them over the app's users, and adds what it measured to acc.
func drive(ctx context.Context, hc *http.Client, a *app, path string, workers, limit int, d time.Duration, acc *accum) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	target := a.srv.URL + path
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			errs := map[string]int{}
			buf := new(bytes.Buffer)
			for ctx.Err() == nil {
				n := int(next.Add(1)) - 1
				if n >= limit {
					break
				}
				u := n % len(a.cookies)
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
				if err != nil {
					errs["request"]++
					continue
				}
				req.Header.Set("Cookie", a.cookies[u])
				req.Header.Set("Accept", "application/json")
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						break // the time is up: not a failure of the app
					}
					errs["transport"]++
					continue
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				switch {
				case err != nil && ctx.Err() != nil:
					continue
				case err != nil:
					errs["reading body"]++
				case resp.StatusCode != http.StatusOK:
					errs[fmt.Sprintf("HTTP %d", resp.StatusCode)]++
				case !bytes.Equal(bytes.TrimSpace(buf.Bytes()), a.bodies[u]):
					errs["wrong body"]++
				default:
					lat = append(lat, el)
				}
			}
			acc.mu.Lock()
			acc.lat = append(acc.lat, lat...)
			for k, v := range errs {
				acc.errors[k] += v
			}
			acc.mu.Unlock()
		})
	}
	wg.Wait()
	acc.mu.Lock()
	acc.elapsed += time.Since(start)
	acc.mu.Unlock()
}

// startApp wires the kit as an app would (sessions, login handlers, the
// guard) on st, starts it on a loopback port and logs every user in.
func startApp(ctx context.Context, emu *tiktoktest.Server, st tokenstore.Store, closeStore func(),
	users []tiktoktest.User, o Options) (*app, error) {
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	a := &app{srv: srv}
	a.close = func() {
		srv.Close()
		closeStore()
	}
	ok := false
	defer func() {
		if !ok {
			a.close()
		}
	}()

	quiet := slog.New(slog.DiscardHandler)
	c, err := client.New(client.Config{
		ClientKey:    emu.ClientKey(),
		ClientSecret: emu.ClientSecret(),
		RedirectURL:  srv.URL + "/auth/tiktok/callback",
		AuthURL:      emu.AuthURL(),
		APIURL:       emu.APIURL(),
		Logger:       quiet,
		// The harness measures what the guard costs per request, at rates
		// far past TikTok's 600 user-info calls a minute; quota keeping is
		// measured on its own (client's quota tests and benchmarks).
		NoQuotas: true,
	})
	if err != nil {
		return nil, err
	}
	srcCfg := tokenstore.SourceConfig{Store: st, Client: c, Logger: quiet}
	switch st.(type) {
	case *tokenstore.SQL, *redisstore.Store:
		srcCfg.CacheSize = o.CacheSize
	}
	src, err := tokenstore.NewSource(srcCfg)
	if err != nil {
		return nil, err
	}
	sm := scs.New() // sessions in memory in every configuration: only the token store varies
	auth, err := handlers.New(handlers.Config{Tokens: src, Sessions: sm, Logger: quiet})
	if err != nil {
		return nil, err
	}
	guard, err := middleware.New(middleware.Config{Tokens: src, Sessions: sm, Logger: quiet})
	if err != nil {
		return nil, err
	}
	identity := tokenstore.SessionIdentity(sm)

	mux := http.NewServeMux()
	mux.Handle("GET /auth/tiktok/login", auth.Login())
	mux.Handle("GET /auth/tiktok/callback", auth.Callback())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "home\n") })
	// The unguarded endpoint does the same work minus the guard: it reads
	// the identity from the session and answers it.
	mux.HandleFunc("GET /api/open", func(w http.ResponseWriter, r *http.Request) {
		key := identity.Key(r.Context())
		if key == "" {
			http.Error(w, `{"error":"login_required"}`, http.StatusUnauthorized)
			return
		}
		writeOpenID(w, key)
	})
	// The guarded endpoint answers the token's open_id without calling
	// TikTok, so that the measurement is the guard's cost.
	mux.Handle("GET /api/me", guard.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := client.FromContext(r.Context())
		writeOpenID(w, u.Token().OpenID)
	})))
	srv.Config.Handler = sm.LoadAndSave(mux)

	base, _ := url.Parse(srv.URL)
	for _, u := range users {
		cookie, err := login(ctx, emu, srv.URL, base, u.OpenID)
		if err != nil {
			return nil, fmt.Errorf("login of %s: %w", u.OpenID, err)
		}
		body, _ := json.Marshal(openIDBody{OpenID: u.OpenID})
		a.cookies = append(a.cookies, cookie)
		a.bodies = append(a.bodies, body)
	}
	ok = true
	return a, nil
}

func writeOpenID(w http.ResponseWriter, openID string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(openIDBody{OpenID: openID})
}

// login runs the real login flow for one user: the app's login handler,
// the emulator's authorize page (approving at once as openID), the app's
// callback. It returns the session cookie.
func login(ctx context.Context, emu *tiktoktest.Server, appURL string, base *url.URL, openID string) (string, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	emu.ApproveAs(openID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, appURL+"/auth/tiktok/login", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		return "", fmt.Errorf("login ended with HTTP %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	for _, c := range jar.Cookies(base) {
		if c.Name == "session" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("no session cookie after login")
}

func newKeyRing() (*tokenstore.KeyRing, error) {
	k, _, err := tokenstore.GenerateEncryptionKey("load")
	if err != nil {
		return nil, err
	}
	return tokenstore.NewKeyRing(k)
}

// openSQLite makes an encrypted SQL store in a temporary SQLite file.
func openSQLite(ctx context.Context, o Options) (tokenstore.Store, func(), error) {
	dir, err := os.MkdirTemp("", "tiktokkit-loadtest-")
	if err != nil {
		return nil, nil, err
	}
	dsn := "file:" + filepath.Join(dir, "tokens.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	cleanup := func() {
		db.Close()
		os.RemoveAll(dir)
	}
	st, err := sqlStore(ctx, db, tokenstore.SQLite, "")
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return st, func() { st.Close(); cleanup() }, nil
}

// openPostgres makes an encrypted SQL store in a table of its own in the
// database o.PostgresDSN names, dropped by the returned func.
func openPostgres(ctx context.Context, o Options) (tokenstore.Store, func(), error) {
	db, err := sql.Open("pgx", o.PostgresDSN)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(o.Concurrency + 4)
	db.SetMaxIdleConns(o.Concurrency + 4)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	table := "tiktokkit_loadtest_" + hex.EncodeToString(suffix)
	st, err := sqlStore(ctx, db, tokenstore.Postgres, table)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return st, func() {
		st.Close()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = db.ExecContext(dctx, "DROP TABLE IF EXISTS "+table)
		db.Close()
	}, nil
}

// openRedis makes an encrypted Redis store under a key prefix of its own
// on the server o.RedisURL names; the returned func deletes its keys.
func openRedis(ctx context.Context, o Options) (tokenstore.Store, func(), error) {
	opts, err := redis.ParseURL(o.RedisURL)
	if err != nil {
		// ParseURL's errors may repeat the URL, which may hold a password.
		return nil, nil, errors.New("the Redis URL cannot be parsed")
	}
	opts.PoolSize = o.Concurrency + 4
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("connect to Redis: %w", err)
	}
	ring, err := newKeyRing()
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	prefix := "tiktokkit-loadtest-" + hex.EncodeToString(suffix) + ":"
	st, err := redisstore.New(rdb, redisstore.Config{Prefix: prefix, Keys: ring})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return st, func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(dctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(dctx) {
			_ = rdb.Del(dctx, iter.Val()).Err()
		}
		rdb.Close()
	}, nil
}

func sqlStore(ctx context.Context, db *sql.DB, d tokenstore.Dialect, table string) (*tokenstore.SQL, error) {
	ring, err := newKeyRing()
	if err != nil {
		return nil, err
	}
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: d, Table: table, Keys: ring})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// WriteTable writes the results as a Markdown table, with each
// configuration's throughput relative to the unguarded endpoint.
func WriteTable(w io.Writer, rs []Result) {
	var base float64
	for _, r := range rs {
		if r.Name == ConfigUnguarded {
			base = r.Throughput()
		}
	}
	fmt.Fprintln(w, "| Configuration | Requests | Throughput (req/s) | vs unguarded | p50 | p90 | p99 | max | Errors |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rs {
		if r.Skipped != "" {
			fmt.Fprintf(w, "| %s | skipped: %s | | | | | | | |\n", r.Name, r.Skipped)
			continue
		}
		ratio := "n/a"
		if base > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Throughput()/base)
		}
		errs := "0"
		if n := r.ErrorCount(); n > 0 {
			keys := make([]string, 0, len(r.Errors))
			for k := range r.Errors {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			errs = ""
			for i, k := range keys {
				if i > 0 {
					errs += ", "
				}
				errs += fmt.Sprintf("%s: %d", k, r.Errors[k])
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Requests, r.Throughput(), ratio,
			fmtLatency(r.P50), fmtLatency(r.P90), fmtLatency(r.P99), fmtLatency(r.Max), errs)
	}
}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d/time.Microsecond)
}
