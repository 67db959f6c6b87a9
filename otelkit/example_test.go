package otelkit_test

import (
	"context"
	"fmt"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/otelkit"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// One call sets the hooks of every config; then build the kit as usual.
func ExampleTelemetry_Instrument() {
	// An app installs its SDK's providers (or sets the global ones).
	reader := sdkmetric.NewManualReader()
	tel, err := otelkit.New(otelkit.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		panic(err)
	}
	ccfg := client.Config{ClientKey: "key", ClientSecret: "secret"}
	scfg := tokenstore.SourceConfig{Store: tokenstore.NewMemory()}
	hcfg := handlers.Config{}
	wcfg := webhook.Config{ClientSecret: "secret"}
	if err := tel.Instrument(&ccfg, &scfg, &hcfg, &wcfg); err != nil {
		panic(err)
	}
	fmt.Println(ccfg.Hooks != nil, scfg.Hooks != nil, hcfg.Hooks != nil, wcfg.Hooks != nil)
	fmt.Println(tel.Instrument(ccfg)) // a config by value cannot be changed
	// Output:
	// true true true true
	// otelkit: Instrument: client.Config is not a pointer to a tiktokkit config
}

// The quota and upload hooks, as the client calls them.
func ExampleTelemetry_QuotaWait() {
	reader := sdkmetric.NewManualReader()
	tel, _ := otelkit.New(otelkit.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	ctx := context.Background()
	tel.QuotaWait(ctx, client.EndpointUserInfo, 250*time.Millisecond, false)
	tel.QuotaWait(ctx, client.EndpointUserInfo, 20*time.Second, true)
	tel.UploadBytes(ctx, 6_000_000)
	tel.UploadBytes(ctx, 7_000_000)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				outcome, _ := dp.Attributes.Value(otelkit.AttrOutcome)
				fmt.Printf("%s %s: %d wait(s), %.2f s\n", m.Name, outcome.AsString(), dp.Count, dp.Sum)
			}
		case metricdata.Sum[int64]:
			fmt.Printf("%s: %d\n", m.Name, d.DataPoints[0].Value)
		}
	}
	// Unordered output:
	// tiktokkit.ratelimit.wait ok: 1 wait(s), 0.25 s
	// tiktokkit.ratelimit.wait refused: 1 wait(s), 20.00 s
	// tiktokkit.upload.bytes: 13000000
}
