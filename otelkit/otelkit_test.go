package otelkit_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/internal/testharness"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/otelkit"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

const (
	alice = "user-alice"
	bob   = "user-bob"
	carol = "user-carol"
)

// secretTap is the client's transport: it keeps every credential the kit
// sends to TikTok (form fields and bearer tokens) and every token TikTok
// answers with, so that the test can look for them in the telemetry.
type secretTap struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
	// gate, when set, holds refresh requests until it is closed.
	gate atomic.Pointer[chan struct{}]
}

func (s *secretTap) add(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			s.seen = append(s.seen, v)
		}
	}
}

func (s *secretTap) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func (s *secretTap) RoundTrip(req *http.Request) (*http.Response, error) {
	if a := req.Header.Get("Authorization"); a != "" {
		s.add(strings.TrimPrefix(a, "Bearer "))
	}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil {
			for _, k := range []string{"client_secret", "code", "code_verifier", "refresh_token", "token"} {
				s.add(form[k]...)
			}
			if form.Get("grant_type") == "refresh_token" {
				if g := s.gate.Load(); g != nil {
					<-*g
					time.Sleep(50 * time.Millisecond) // let every waiter join the flight
				}
			}
		}
	}
	resp, err := s.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	for _, f := range []string{"access_token", "refresh_token"} {
		if _, rest, ok := strings.Cut(string(body), `"`+f+`":"`); ok {
			v, _, _ := strings.Cut(rest, `"`)
			s.add(v)
		}
	}
	return resp, nil
}

// startCounter wraps the Source's hooks to learn how many callers started
// a refresh.
type startCounter struct {
	tokenstore.Hooks
	started atomic.Int32
	want    int32
	reached chan struct{}
}

func (c *startCounter) RefreshStart(ctx context.Context, forced bool) context.Context {
	if c.started.Add(1) == c.want {
		close(c.reached)
	}
	return c.Hooks.RefreshStart(ctx, forced)
}

// site is a complete app on the emulator with the telemetry wired in by
// one Instrument call, on an SDK with a manual reader and a span recorder.
type site struct {
	t       *testing.T
	emu     *tiktoktest.Server
	clock   interface{ Advance(time.Duration) }
	tap     *secretTap
	reader  *sdkmetric.ManualReader
	spans   *tracetest.SpanRecorder
	srv     *httptest.Server
	counter *startCounter
	secret  string
	sign    func(body []byte) string
	extra   []string // further secrets: codes, states, signatures
	mu      sync.Mutex
}

func newSite(t *testing.T) *site {
	clock := testharness.NewClock()
	emu := tiktoktest.NewServer(tiktoktest.Config{Clock: clock.Now, AutoApprove: true,
		Users: testharness.Users(tiktoktest.User{OpenID: alice, DisplayName: "Alice"},
			tiktoktest.User{OpenID: bob, DisplayName: "Bob"}, tiktoktest.User{OpenID: carol, DisplayName: "Carol"})})
	t.Cleanup(emu.Close)
	s := &site{t: t, emu: emu, clock: clock, tap: &secretTap{next: http.DefaultTransport.(*http.Transport).Clone()},
		reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder(), secret: emu.ClientSecret()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans))
	tel, err := otelkit.New(otelkit.Config{MeterProvider: mp, TracerProvider: tp})
	require.NoError(t, err)

	s.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + s.srv.Listener.Addr().String()
	logger := slog.New(slog.DiscardHandler)
	ccfg := client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), AuthURL: emu.AuthURL(),
		APIURL: emu.APIURL(), RedirectURL: base + "/auth/tiktok/callback", Clock: clock.Now, Logger: logger,
		HTTPClient: &http.Client{Transport: s.tap}, Retry: client.RetryPolicy{BaseDelay: time.Millisecond}}
	scfg := tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Logger: logger, Clock: clock.Now}
	sessions := testharness.NewSessions()
	hcfg := handlers.Config{Sessions: sessions, Logger: logger, CrossOriginProtection: http.NewCrossOriginProtection()}
	wcfg := webhook.Config{ClientSecret: emu.ClientSecret(), Clock: clock.Now, Logger: logger}
	require.NoError(t, tel.Instrument(&ccfg, &scfg, &hcfg, &wcfg))
	require.Same(t, tel, ccfg.Hooks)

	cl, err := client.New(ccfg)
	require.NoError(t, err)
	scfg.Client = cl
	s.counter = &startCounter{Hooks: scfg.Hooks, reached: make(chan struct{})}
	scfg.Hooks = s.counter
	src, err := tokenstore.NewSource(scfg)
	require.NoError(t, err)
	hcfg.Tokens = src
	auth, err := handlers.New(hcfg)
	require.NoError(t, err)
	wcfg.Tokens = src
	hook, err := webhook.New(wcfg)
	require.NoError(t, err)
	guard, err := middleware.New(middleware.Config{Tokens: src, Sessions: sessions, Logger: logger})
	require.NoError(t, err)
	s.sign = func(body []byte) string { return webhook.Sign(emu.ClientSecret(), clock.Now(), body) }

	mux := http.NewServeMux()
	mux.Handle("GET /auth/tiktok/login", auth.Login())
	mux.Handle("GET /auth/tiktok/callback", auth.Callback())
	mux.Handle("POST /auth/tiktok/disconnect", auth.Disconnect())
	mux.Handle("GET /api/me", guard.RequireTikTokFunc(testharness.UserInfoJSON))
	mux.Handle("POST /webhooks/tiktok", hook)
	// The app's own server span: the kit's spans hang below it.
	tracer := tp.Tracer("app")
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), "app "+r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		sessions.LoadAndSave(mux).ServeHTTP(w, r.WithContext(ctx))
	})
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// login logs user in with a new browser and returns it.
func (s *site) login(user string) *testharness.Browser {
	s.t.Helper()
	s.emu.ApproveAs(user)
	b := testharness.NewBrowser(s.t, s.srv)
	hops := b.Follow("/auth/tiktok/login")
	require.Equal(s.t, http.StatusNotFound, hops[len(hops)-1].Status, "the login lands on / (not served here)")
	for _, h := range hops {
		if q, err := url.Parse(h.URL); err == nil {
			s.mu.Lock()
			for _, k := range []string{"code", "state", "code_challenge"} {
				if v := q.Query().Get(k); len(v) >= 8 {
					s.extra = append(s.extra, v)
				}
			}
			s.mu.Unlock()
		}
	}
	return b
}

// collect returns the metrics recorded so far, by name.
func (s *site) collect() map[string]metricdata.Metrics {
	s.t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(s.t, s.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// attrString renders an attribute set as "k=v,k=v" in key order.
func attrString(set attribute.Set) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// sums returns a counter's values by attribute set.
func sums(t *testing.T, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a counter", m.Name)
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		out[attrString(dp.Attributes)] += dp.Value
	}
	return out
}

// counts returns a histogram's counts by attribute set.
func counts(t *testing.T, m metricdata.Metrics) map[string]uint64 {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a histogram", m.Name)
	out := map[string]uint64{}
	for _, dp := range h.DataPoints {
		out[attrString(dp.Attributes)] += dp.Count
	}
	return out
}

func TestTelemetryOfAWholeStory(t *testing.T) {
	s := newSite(t)

	// Three users log in.
	ab := s.login(alice)
	bb := s.login(bob)
	cb := s.login(carol)

	// Alice's token expires; 25 concurrent requests share one refresh.
	s.clock.Advance(25 * time.Hour)
	gate := make(chan struct{})
	s.tap.gate.Store(&gate)
	s.counter.want = 25
	go func() { <-s.counter.reached; close(gate) }()
	var wg sync.WaitGroup
	statuses := make([]int, 25)
	for i := range 25 {
		wg.Go(func() {
			r, err := ab.Try(http.MethodGet, "/api/me", testharness.AcceptJSON)
			if assert.NoError(t, err) {
				statuses[i] = r.Status
			}
		})
	}
	wg.Wait()
	s.tap.gate.Store(nil)
	for i, st := range statuses {
		assert.Equal(t, http.StatusOK, st, "request %d", i)
	}
	require.Equal(t, 1, s.emu.Grants("refresh_token"))

	// Bob revokes the app at TikTok while his token still looks valid (it
	// expired too: refresh it through one request first).
	require.Equal(t, http.StatusOK, bb.GetJSON("/api/me").Status)
	bobTok, err := tokenFor(s, bob)
	require.NoError(t, err)
	plain, err := client.New(client.Config{ClientKey: s.emu.ClientKey(), ClientSecret: s.emu.ClientSecret(), APIURL: s.emu.APIURL()})
	require.NoError(t, err)
	require.NoError(t, plain.Revoke(context.Background(), bobTok))
	assert.Equal(t, http.StatusUnauthorized, bb.GetJSON("/api/me").Status, "Bob must log in again")

	// Carol disconnects (her expired token is refreshed to be revoked).
	r := cb.PostForm("/auth/tiktok/disconnect", nil)
	require.Equal(t, http.StatusSeeOther, r.Status, r.Body)

	// TikTok tells the app that Alice removed it.
	body := []byte(fmt.Sprintf(`{"client_key":%q,"event":"authorization.removed","create_time":1,"user_openid":%q,"content":"{\"reason\":1}"}`,
		s.emu.ClientKey(), alice))
	sig := s.sign(body)
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/webhooks/tiktok", bytes.NewReader(body))
	req.Header.Set(webhook.SignatureHeader, sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	s.extra = append(s.extra, sig[strings.Index(sig, "s=")+2:])
	assert.Equal(t, http.StatusUnauthorized, ab.GetJSON("/api/me").Status)

	// Metrics: exactly what happened.
	m := s.collect()
	assert.Equal(t, map[string]int64{
		"http.response.status_code=200,tiktok.endpoint=token,tiktok.outcome=ok":                       3 + 3, // exchanges; refreshes of Alice, Bob, Carol
		"http.response.status_code=200,tiktok.endpoint=user_info,tiktok.outcome=ok":                   3 + 25 + 1,
		"http.response.status_code=401,tiktok.endpoint=user_info,tiktok.outcome=access_token_invalid": 1,
		"http.response.status_code=400,tiktok.endpoint=token,tiktok.outcome=invalid_grant":            1,
		"http.response.status_code=200,tiktok.endpoint=revoke,tiktok.outcome=ok":                      1,
	}, sums(t, m[otelkit.MetricClientRequests]))
	assert.Equal(t, map[string]uint64{
		"http.response.status_code=200,tiktok.endpoint=token,tiktok.outcome=ok":                       6,
		"http.response.status_code=200,tiktok.endpoint=user_info,tiktok.outcome=ok":                   29,
		"http.response.status_code=401,tiktok.endpoint=user_info,tiktok.outcome=access_token_invalid": 1,
		"http.response.status_code=400,tiktok.endpoint=token,tiktok.outcome=invalid_grant":            1,
		"http.response.status_code=200,tiktok.endpoint=revoke,tiktok.outcome=ok":                      1,
	}, counts(t, m[otelkit.MetricClientDuration]))
	assert.Equal(t, map[string]int64{
		"tiktok.outcome=ok":            3, // Alice's, Bob's, Carol's
		"tiktok.outcome=coalesced":     24,
		"tiktok.outcome=invalid_grant": 1, // Bob's forced refresh after the revocation
	}, sums(t, m[otelkit.MetricRefreshes]))
	assert.Equal(t, map[string]uint64{"": 4}, counts(t, m[otelkit.MetricLeaseWait]), "one lease per refresh made")
	assert.Equal(t, map[string]int64{"reason=revoked": 1, "reason=disconnect": 1, "reason=webhook": 1},
		sums(t, m[otelkit.MetricLogouts]))
	assert.Equal(t, map[string]int64{"event=authorization.removed,tiktok.outcome=ok": 1},
		sums(t, m[otelkit.MetricWebhookEvents]))
	for _, name := range []string{otelkit.MetricRateLimitWait, otelkit.MetricUploadBytes} {
		_, seen := m[name]
		assert.False(t, seen, "%s: nothing waited or uploaded", name)
	}

	// Spans.
	spans := s.spans.Ended()
	byName := map[string][]sdktrace.ReadOnlySpan{}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, sp := range spans {
		byName[sp.Name()] = append(byName[sp.Name()], sp)
		byID[sp.SpanContext().SpanID()] = sp
	}
	parentName := func(sp sdktrace.ReadOnlySpan) string {
		if p, ok := byID[sp.Parent().SpanID()]; ok {
			return p.Name()
		}
		return ""
	}
	require.Len(t, byName["tiktokkit.callback"], 3)
	for _, sp := range byName["tiktokkit.callback"] {
		assert.Equal(t, "app GET /auth/tiktok/callback", parentName(sp))
		assert.Equal(t, "ok", attr(sp, otelkit.AttrOutcome))
	}
	refreshes := byName["tiktokkit.token.refresh"]
	require.Len(t, refreshes, 28)
	outcomes := map[string]int{}
	for _, sp := range refreshes {
		outcomes[attr(sp, otelkit.AttrOutcome)]++
		assert.Contains(t, []string{"app GET /api/me", "tiktokkit.disconnect"}, parentName(sp))
	}
	assert.Equal(t, map[string]int{"ok": 3, "coalesced": 24, "invalid_grant": 1}, outcomes)
	tokenParents := map[string]int{}
	for _, sp := range byName["tiktok.token"] {
		tokenParents[parentName(sp)+"/"+attr(sp, otelkit.AttrOperation)]++
		assert.Equal(t, trace.SpanKindClient, sp.SpanKind())
	}
	assert.Equal(t, map[string]int{"tiktokkit.callback/exchange": 3, "tiktokkit.token.refresh/refresh": 4}, tokenParents)
	var revoked sdktrace.ReadOnlySpan
	for _, sp := range refreshes {
		if attr(sp, otelkit.AttrOutcome) == "invalid_grant" {
			revoked = sp
		}
	}
	require.NotNil(t, revoked)
	assert.Equal(t, "true", attr(revoked, otelkit.AttrForced))
	assert.Contains(t, eventNames(revoked), "tiktokkit.logout")
	userInfo := 0
	for _, sp := range byName["tiktok.user_info"] {
		if attr(sp, otelkit.AttrOutcome) == "access_token_invalid" {
			userInfo++
			assert.Equal(t, "401", attr(sp, otelkit.AttrStatusCode))
			assert.NotEmpty(t, attr(sp, otelkit.AttrLogID))
			assert.Equal(t, "0", attr(sp, otelkit.AttrRetryCount))
		}
	}
	assert.Equal(t, 1, userInfo)
	require.Len(t, byName["tiktokkit.disconnect"], 1)
	assert.Contains(t, eventNames(byName["tiktokkit.disconnect"][0]), "tiktokkit.logout")
	require.Len(t, byName["tiktok.revoke"], 1)
	assert.Equal(t, "tiktokkit.disconnect", parentName(byName["tiktok.revoke"][0]))

	// No credential anywhere in the telemetry.
	secrets := append(s.tap.secrets(), s.extra...)
	secrets = append(secrets, s.secret)
	require.Greater(t, len(secrets), 10, "the tap saw the credentials")
	values := recordedValues(spans, s.collect())
	require.NotEmpty(t, values)
	for _, v := range values {
		for _, sec := range secrets {
			if strings.Contains(v, sec) {
				t.Errorf("a credential appears in the telemetry: %q", v)
			}
		}
	}
}

// tokenFor returns the last access token of user that the app sent to
// TikTok, as the emulator's user info tells whose a token is.
func tokenFor(s *site, user string) (string, error) {
	// The emulator's user info answers the owner of a token: find Bob's.
	plain := &http.Client{}
	secrets := s.tap.secrets()
	for i := len(secrets) - 1; i >= 0; i-- {
		v := secrets[i]
		if !strings.HasPrefix(v, "act.") {
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, s.emu.APIURL()+client.PathUserInfo+"?fields=open_id", nil)
		req.Header.Set("Authorization", "Bearer "+v)
		resp, err := plain.Do(req)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `"`+user+`"`) {
			return v, nil
		}
	}
	return "", fmt.Errorf("no access token of %s seen", user)
}

func attr(sp sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range sp.Attributes() {
		if kv.Key == k {
			return kv.Value.String()
		}
	}
	return ""
}

func eventNames(sp sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range sp.Events() {
		out = append(out, e.Name)
	}
	return out
}

// recordedValues lists every string the telemetry holds: span names,
// attribute keys and values, event names and attributes, status
// descriptions, metric names and metric attribute values.
func recordedValues(spans []sdktrace.ReadOnlySpan, metrics map[string]metricdata.Metrics) []string {
	var out []string
	kvs := func(set []attribute.KeyValue) {
		for _, kv := range set {
			out = append(out, string(kv.Key), kv.Value.String())
		}
	}
	for _, sp := range spans {
		out = append(out, sp.Name(), sp.Status().Description)
		kvs(sp.Attributes())
		for _, e := range sp.Events() {
			out = append(out, e.Name)
			kvs(e.Attributes)
		}
	}
	for name, m := range metrics {
		out = append(out, name, m.Description, m.Unit)
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				kvs(dp.Attributes.ToSlice())
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				kvs(dp.Attributes.ToSlice())
			}
		}
	}
	return out
}
