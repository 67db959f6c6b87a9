// Command basic is the smallest complete "Log in with TikTok" app built with
// tiktokkit: net/http's ServeMux, scs sessions, nosurf CSRF protection and the
// in-memory token store.
//
// Run it from the repository root:
//
//	go run ./examples/basic
//
// With no TIKTOK_CLIENT_KEY in the environment it starts tiktokkit's TikTok
// emulator on its own loopback port and logs in against it, so the whole flow
// works offline. With a client key it talks to the URLs given (TikTok's by
// default). The environment it reads:
//
//	ADDR                  listen address (default localhost:8080)
//	TIKTOK_CLIENT_KEY     your app's client key (default: use the emulator)
//	TIKTOK_CLIENT_SECRET  your app's client secret
//	TIKTOK_REDIRECT_URI   default http://<ADDR>/auth/tiktok/callback
//	TIKTOK_SCOPES         comma-separated (default: user.info.basic with TikTok;
//	                      every display and posting scope with the emulator)
//	TIKTOK_AUTH_URL       authorize URL (default TikTok's)
//	TIKTOK_API_URL        API base URL (default https://open.tiktokapis.com)
//	TIKTOK_QUOTAS         the app's TikTok quotas where they differ from
//	                      TikTok's published ones, as ENDPOINT=LIMIT/WINDOW
//	                      [/token], comma-separated (user_info=2000/1m), or
//	                      off to keep none in the app
//	LOG_LEVEL             debug, info, warn or error (default info); debug
//	                      shows each TikTok call with its endpoint, status,
//	                      log_id and duration, never a secret
//
// Besides the pages, GET /metrics serves the kit's metrics in Prometheus
// text format (through the OpenTelemetry SDK and its Prometheus exporter),
// and GET /healthz answers 200 while the token store answers, else 503.
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
	a, err := newApp(s, logger, appOptions{Telemetry: tel.Kit})
	if err != nil {
		return err
	}
	defer a.Close()
	health, err := handlers.Health(handlers.HealthConfig{Store: a.store, Logger: logger})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           ops.WithOps(a, tel.Metrics, health),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if a.emu != nil {
		fmt.Fprintf(stdout, "tiktokkit example: open %s (TikTok emulator at %s; no TikTok account needed)\n", base, a.emu.URL)
	} else {
		fmt.Fprintf(stdout, "tiktokkit example: open %s (TikTok at %s)\n", base, s.AuthURL)
	}
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
	logger.Info("shutting down")
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
