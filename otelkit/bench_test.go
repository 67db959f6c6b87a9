package otelkit_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/otelkit"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// fixedIdentity maps every request to one key, so that the guard runs
// without a session store around it.
type fixedIdentity string

func (f fixedIdentity) Key(context.Context) string   { return string(f) }
func (fixedIdentity) SetKey(context.Context, string) {}
func (fixedIdentity) Clear(context.Context)          {}

// benchKit is the kit wired with tel (nil: no hooks at all) on the emulator.
type benchKit struct {
	user  *client.UserClient
	guard http.Handler
	req   *http.Request
}

func newBenchKit(b *testing.B, ts *httptest.Server, tok *client.Token, tel *otelkit.Telemetry) *benchKit {
	b.Helper()
	logger := slog.New(slog.DiscardHandler)
	ccfg := client.Config{ClientKey: "test-client-key", ClientSecret: "test-client-secret", APIURL: ts.URL, Logger: logger,
		HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	scfg := tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Logger: logger}
	if tel != nil {
		require.NoError(b, tel.Instrument(&ccfg, &scfg))
	}
	cl, err := client.New(ccfg)
	require.NoError(b, err)
	scfg.Client = cl
	src, err := tokenstore.NewSource(scfg)
	require.NoError(b, err)
	require.NoError(b, src.Save(context.Background(), tok.OpenID, tok))
	g, err := middleware.New(middleware.Config{Tokens: src, Identity: fixedIdentity(tok.OpenID), Logger: logger})
	require.NoError(b, err)
	return &benchKit{
		user:  cl.WithToken(tok),
		guard: g.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })),
		req:   httptest.NewRequest(http.MethodGet, "/api/me", nil),
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkTelemetry compares a guarded request (warm token) and a user
// info call over loopback HTTP against the emulator, with no hooks, with
// otelkit on the global no-op providers (the default), and with otelkit on
// the SDK (a manual reader for metrics, a tracer provider that samples
// every span and exports none).
//
//	go test -run '^$' -bench BenchmarkTelemetry -benchmem -count 6 ./otelkit
func BenchmarkTelemetry(b *testing.B) {
	emu := tiktoktest.NewHandler(tiktoktest.Config{})
	ts := httptest.NewServer(emu.Handler())
	b.Cleanup(ts.Close)
	emu.SetURL(ts.URL)
	tr, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(b, err)
	tok := &client.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, OpenID: tr.OpenID,
		Scopes: client.ParseScopes(tr.Scope), Expiry: time.Now().Add(24 * time.Hour)}

	noop, err := otelkit.New(otelkit.Config{})
	require.NoError(b, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
	sdk, err := otelkit.New(otelkit.Config{MeterProvider: mp, TracerProvider: tp})
	require.NoError(b, err)

	kits := []struct {
		name string
		kit  *benchKit
	}{
		{"nohooks", newBenchKit(b, ts, tok, nil)},
		{"noop", newBenchKit(b, ts, tok, noop)},
		{"sdk", newBenchKit(b, ts, tok, sdk)},
	}
	ctx := context.Background()
	for _, k := range kits {
		b.Run("guard/"+k.name, func(b *testing.B) {
			b.ReportAllocs()
			w := &nopWriter{h: http.Header{}}
			for b.Loop() {
				k.kit.guard.ServeHTTP(w, k.kit.req)
			}
		})
	}
	for _, k := range kits {
		b.Run("userinfo/"+k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.kit.user.UserInfo(ctx, client.FieldOpenID, client.FieldDisplayName); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHooksPerCall measures what otelkit adds to one call to TikTok
// without the network around it: the hooks a successful user info call
// makes (CallStart, Attempt, CallEnd), on the no-op default and on the SDK.
//
//	go test -run '^$' -bench BenchmarkHooksPerCall -benchmem -count 6 ./otelkit
func BenchmarkHooksPerCall(b *testing.B) {
	noop, err := otelkit.New(otelkit.Config{})
	require.NoError(b, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
	sdk, err := otelkit.New(otelkit.Config{MeterProvider: mp, TracerProvider: tp})
	require.NoError(b, err)
	info := client.CallInfo{Endpoint: client.EndpointUserInfo, Operation: "user_info", Method: http.MethodGet}
	for _, tc := range []struct {
		name string
		tel  *otelkit.Telemetry
	}{{"noop", noop}, {"sdk", sdk}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				cctx := tc.tel.CallStart(ctx, info)
				tc.tel.Attempt(cctx, client.AttemptReport{CallInfo: info, Attempt: 1, StatusCode: 200, Outcome: "ok",
					LogID: "202601011200000000000000000000", Duration: 50 * time.Microsecond})
				tc.tel.CallEnd(cctx, client.CallReport{CallInfo: info, Attempts: 1, StatusCode: 200, Outcome: "ok",
					LogID: "202601011200000000000000000000", Duration: 50 * time.Microsecond})
			}
		})
	}
}
