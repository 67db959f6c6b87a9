package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tiktokkit/tiktokkit/otelkit"
)

// telemetry is the example's OpenTelemetry setup: the SDK's meter provider
// read by the Prometheus exporter into a registry of the app's own, served
// at GET /metrics. Traces stay on the global (no-op) tracer provider: an
// app that wants them installs an SDK tracer provider with its exporter and
// passes it to otelkit.New.
type telemetry struct {
	kit      *otelkit.Telemetry
	metrics  http.Handler
	provider *sdkmetric.MeterProvider
}

func newTelemetry() (*telemetry, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	kit, err := otelkit.New(otelkit.Config{MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	return &telemetry{kit: kit, provider: mp,
		metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// Shutdown flushes and stops the meter provider.
func (t *telemetry) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// instrumented returns cfg (a tiktokkit config) with tel's hooks set; cfg
// unchanged when tel is nil.
func instrumented[T any](tel *otelkit.Telemetry, cfg T) T {
	if tel != nil {
		if err := tel.Instrument(&cfg); err != nil {
			panic(err) // only the kit's config types are passed
		}
	}
	return cfg
}

// withOps serves GET /metrics and GET /healthz in front of the app; every
// other request goes to the app.
func withOps(app, metrics, health http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /healthz", health)
	mux.Handle("/", app)
	return mux
}

// parseLogLevel reads LOG_LEVEL: debug, info (the default), warn or error.
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", s)
}
