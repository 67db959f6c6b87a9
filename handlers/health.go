package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// DefaultHealthTimeout bounds a health check when HealthConfig.Timeout is
// zero.
const DefaultHealthTimeout = 2 * time.Second

// HealthProbeKey is the key the health check reads from a token store that
// is not a Pinger. No login can produce it (open_ids carry no colon); a
// token found there still counts as healthy.
const HealthProbeKey = "tiktokkit:health-probe"

// Pinger is a token store (or anything else) that can check its backend
// with one cheap round trip.
type Pinger interface {
	Ping(ctx context.Context) error
}

// HealthConfig configures Health.
type HealthConfig struct {
	// Store is the token store to check: its Ping when it is a Pinger,
	// otherwise a Get of HealthProbeKey, for which an answer of
	// tokenstore.ErrNotFound is healthy. Required. A tokenstore.Session
	// store needs a session in the context and always fails here: check
	// the scs store through Checks instead.
	Store tokenstore.Store
	// Checks are further checks that must pass (a database pool's
	// PingContext, say), run in order after the store's. Default none.
	Checks []func(ctx context.Context) error
	// Timeout bounds the whole check; a check still running then fails.
	// Default DefaultHealthTimeout (2 s), below the usual load balancer
	// timeouts.
	Timeout time.Duration
	// Logger receives a WARN line for each failed check. Default
	// slog.Default().
	Logger *slog.Logger
}

// Health returns a handler for load balancers and orchestrators: it
// answers GET and HEAD with 200 {"status":"ok"} when the token store (and
// every extra check) answers within the timeout, and 503
// {"status":"unavailable"} otherwise. The answer never carries the error;
// the log does. Other methods get 405.
func Health(cfg HealthConfig) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("handlers: HealthConfig.Store is required")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("handlers: HealthConfig.Timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultHealthTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	checks := append([]func(context.Context) error{storeCheck(cfg.Store)}, cfg.Checks...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), cfg.Timeout)
		defer cancel()
		status, body := http.StatusOK, `{"status":"ok"}`+"\n"
		if err := runChecks(ctx, checks); err != nil {
			cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "health check failed", slog.String("error", err.Error()))
			status, body = http.StatusServiceUnavailable, `{"status":"unavailable"}`+"\n"
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(body))
		}
	}), nil
}

// storeCheck returns the cheap round trip that checks st.
func storeCheck(st tokenstore.Store) func(context.Context) error {
	if p, ok := st.(Pinger); ok {
		return p.Ping
	}
	return func(ctx context.Context) error {
		_, err := st.Get(ctx, HealthProbeKey)
		if err == nil || errors.Is(err, tokenstore.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("token store: %w", err)
	}
}

// runChecks runs checks in order, each bounded by ctx: a check that does
// not return when ctx ends is left behind and the run fails.
func runChecks(ctx context.Context, checks []func(context.Context) error) error {
	done := make(chan error, 1)
	go func() {
		for i, c := range checks {
			if err := c(ctx); err != nil {
				done <- fmt.Errorf("check %d: %w", i, err)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err == nil && ctx.Err() != nil {
			return ctx.Err() // answered, but too late
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("health check: %w", ctx.Err())
	}
}
