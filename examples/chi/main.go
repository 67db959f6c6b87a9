// Command chi is the tiktokkit "Log in with TikTok" example on the chi
// router, with tokens and sessions in a SQL database (or on Redis) so that
// several instances of the app can serve the same users: the same pages as
// examples/basic, ready to run behind a load balancer.
//
// Run it from the repository root:
//
//	go run ./examples/chi
//
// With no TIKTOK_CLIENT_KEY it starts tiktokkit's TikTok emulator on its own
// loopback port and logs in against it, and keeps its data in the SQLite
// file tiktokkit-example.db in the working directory. With DATABASE_URL it
// uses PostgreSQL instead:
//
//	DATABASE_URL=postgres://app:secret@localhost:5432/app \
//	TIKTOKKIT_TOKEN_KEYS="2025-06:$(openssl rand -base64 32)" \
//	go run ./examples/chi
//
// The token table (tokenstore.SchemaPostgres or tokenstore.SchemaSQLite)
// and the scs session table ("sessions") are created at start when missing.
// Tokens are encrypted at rest with AES-256-GCM. Every instance serving the
// same users must share the database and TIKTOKKIT_TOKEN_KEYS, and, with
// the emulator, one emulator: start it with
// `go run ./client/tiktoktest/cmd/tiktokemu -auto-approve` and give its URL
// in TIKTOK_EMULATOR_URL. Instances refreshing one user's token at once
// take a lease in the token table, so TikTok's rotating refresh token is
// used exactly once.
//
// With REDIS_URL the app keeps everything it shares on that one Redis (or
// Valkey) server instead, through one client: the tokens
// (tokenstore/redisstore, encrypted with TIKTOKKIT_TOKEN_KEYS, leases and
// compare and swap on the server), the scs sessions (scs's goredisstore),
// the webhook replay claims and the counts of TikTok's quotas, which the
// instances then share:
//
//	REDIS_URL=redis://:secret@localhost:6379/0 \
//	TIKTOKKIT_TOKEN_KEYS="2025-06:$(openssl rand -base64 32)" \
//	go run ./examples/chi
//
// Give the server persistence (appendonly yes) so that a restart of Redis
// does not log everyone out.
//
// TikTok's webhooks go to POST /webhooks/tiktok, signed with the client
// secret: authorization.removed deletes the user's token; a replayed
// delivery is refused by every instance, as the claims are shared.
//
// The environment it reads:
//
//	ADDR                  listen address (default localhost:8080)
//	TIKTOK_CLIENT_KEY     your app's client key (default: use the emulator)
//	TIKTOK_CLIENT_SECRET  your app's client secret
//	TIKTOK_REDIRECT_URI   default http://<ADDR>/auth/tiktok/callback; behind a
//	                      load balancer, its public callback URL
//	TIKTOK_SCOPES         comma-separated (default: user.info.basic with TikTok;
//	                      every display and posting scope with an emulator)
//	TIKTOK_AUTH_URL       authorize URL (default TikTok's)
//	TIKTOK_API_URL        API base URL (default https://open.tiktokapis.com)
//	TIKTOK_QUOTAS         the app's TikTok quotas where they differ from
//	                      TikTok's published ones, as ENDPOINT=LIMIT/WINDOW
//	                      [/token], comma-separated (user_info=2000/1m), or
//	                      off to keep none in the app
//	TIKTOK_EMULATOR_URL   base URL of a running tiktokkit emulator to use
//	                      instead of TikTok or an in-process emulator; the
//	                      authorize URL is <base>/v2/auth/authorize/, the API
//	                      base is <base>, and the client key and secret default
//	                      to the emulator's (test-client-key,
//	                      test-client-secret). It excludes TIKTOK_AUTH_URL and
//	                      TIKTOK_API_URL.
//	DATABASE_URL          PostgreSQL URL or DSN (driver pgx); default: SQLite
//	REDIS_URL             Redis instead of SQL, as go-redis's ParseURL reads
//	                      it: redis://[user:password@]host:port[/db],
//	                      rediss://... for TLS, or unix:///path/to/socket;
//	                      it excludes DATABASE_URL
//	SQLITE_PATH           SQLite file when DATABASE_URL is unset
//	                      (default tiktokkit-example.db)
//	TIKTOKKIT_TOKEN_KEYS  keys that encrypt tokens at rest, comma-separated,
//	                      newest first: id:secret, where secret is 32 bytes in
//	                      base64 or hex. New tokens use the first key; the
//	                      others still decrypt older rows, for rotation.
//	                      Default: a key generated at start, with a warning in
//	                      the log (stored tokens do not survive a restart).
//	TIKTOKKIT_INSTANCE    this instance's name in logs (default <hostname>-<pid>)
//	LOG_LEVEL             debug, info, warn or error (default info); debug
//	                      shows each TikTok call with its endpoint, status,
//	                      log_id and duration, never a secret
//
// GET /healthz answers 200 while the token store (the database or Redis) answers a
// cheap query within 2 seconds, else 503, for load balancer probes; it
// loads no session. GET /metrics serves the kit's metrics in Prometheus
// text format, through the OpenTelemetry SDK and its Prometheus exporter.
// The app stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tiktokkit/tiktokkit/examples/internal/ops"
	"github.com/tiktokkit/tiktokkit/handlers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level, err := ops.ParseLogLevel(os.Getenv("LOG_LEVEL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(ctx, os.Getenv, os.Stdout, logger, nil); err != nil {
		logger.Error("example stopped", "error", err)
		os.Exit(1)
	}
}

// run listens, serves the app until ctx is done, then shuts down cleanly.
// When ready is not nil it receives the app's base URL once it is serving.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer, logger *slog.Logger, ready chan<- string) error {
	s, err := settingsFromEnv(getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Addr, err)
	}
	defer ln.Close()
	base := baseURL(s.Addr, ln.Addr())
	if s.RedirectURI == "" {
		s.RedirectURI = base + "/auth/tiktok/callback"
	}

	tel, err := ops.NewTelemetry()
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	a, err := newApp(ctx, s, logger, appOptions{Telemetry: tel.Kit})
	if err != nil {
		return err
	}
	defer a.Close()
	health, err := handlers.Health(handlers.HealthConfig{Store: a.store, Logger: a.logger})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           ops.WithOps(a, tel.Metrics, health),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	switch {
	case a.emu != nil:
		fmt.Fprintf(stdout, "tiktokkit example: open %s (TikTok emulator at %s; no TikTok account needed; data in %s)\n", base, a.emu.URL, a.where)
	case s.EmulatorURL != "":
		fmt.Fprintf(stdout, "tiktokkit example: open %s (TikTok emulator at %s; data in %s)\n", base, s.EmulatorURL, a.where)
	default:
		fmt.Fprintf(stdout, "tiktokkit example: open %s (TikTok at %s; data in %s)\n", base, s.AuthURL, a.where)
	}
	a.logger.Info("serving", "url", base, "database", a.where, "token_key", a.keys.PrimaryID())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready <- base
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// baseURL is the URL a browser on this machine uses to reach the app. An
// empty or wildcard host becomes localhost, so that the app (on localhost)
// and the emulator (on 127.0.0.1) are different sites, as the app and TikTok
// are in production.
func baseURL(addr string, actual net.Addr) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = ""
	}
	_, port, _ := net.SplitHostPort(actual.String())
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
