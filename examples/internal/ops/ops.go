// Package ops is what the examples share to be operated: OpenTelemetry
// metrics served for Prometheus, the health check route and LOG_LEVEL.
package ops

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

// Telemetry is an example's OpenTelemetry setup: the SDK's meter provider
// read by the Prometheus exporter into a registry of the app's own, served
// at GET /metrics. Traces stay on the global (no-op) tracer provider: an
// app that wants them installs an SDK tracer provider with its exporter and
// passes it to otelkit.New.
type Telemetry struct {
	// Kit is the kit's instrumentation, for Instrumented.
	Kit *otelkit.Telemetry
	// Metrics serves the metrics in Prometheus text format.
	Metrics  http.Handler
	provider *sdkmetric.MeterProvider
}

// NewTelemetry sets up the meter provider, its Prometheus exporter and the
// kit's instrumentation.
func NewTelemetry() (*Telemetry, error) {
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
	return &Telemetry{Kit: kit, provider: mp,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// Shutdown flushes and stops the meter provider.
func (t *Telemetry) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// Instrumented returns cfg (a tiktokkit config) with tel's hooks set; cfg
// unchanged when tel is nil.
func Instrumented[T any](tel *otelkit.Telemetry, cfg T) T {
	if tel != nil {
		if err := tel.Instrument(&cfg); err != nil {
			panic(err) // only the kit's config types are passed
		}
	}
	return cfg
}

// WithOps serves GET /metrics and GET /healthz in front of the app; every
// other request goes to the app.
func WithOps(app, metrics, health http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /healthz", health)
	mux.Handle("/", app)
	return mux
}

// ParseLogLevel reads LOG_LEVEL: debug, info (the default), warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
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
