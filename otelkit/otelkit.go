package otelkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/tiktokkit/tiktokkit/otelkit"

// Metric names. Dashboards may rely on them: they change only with a major
// version.
const (
	MetricClientRequests = "tiktokkit.client.requests"  // counter, one per request sent to TikTok
	MetricClientDuration = "tiktokkit.client.duration"  // histogram [s], one per request sent to TikTok
	MetricRefreshes      = "tiktokkit.token.refreshes"  // counter, one per caller that needed a refresh
	MetricLeaseWait      = "tiktokkit.token.lease_wait" // histogram [s]
	MetricLogouts        = "tiktokkit.logouts"          // counter
	MetricRateLimitWait  = "tiktokkit.ratelimit.wait"   // histogram [s]
	MetricWebhookEvents  = "tiktokkit.webhook.events"   // counter
	MetricUploadBytes    = "tiktokkit.upload.bytes"     // counter [By]
)

// Attribute keys.
const (
	AttrEndpoint   = attribute.Key("tiktok.endpoint")           // a fixed endpoint name, such as "user_info"
	AttrOutcome    = attribute.Key("tiktok.outcome")            // "ok", TikTok's error code, or a kit outcome
	AttrStatusCode = attribute.Key("http.response.status_code") // absent when no answer came
	AttrReason     = attribute.Key("reason")                    // a logout's reason
	AttrEvent      = attribute.Key("event")                     // a webhook event's name

	// Span attributes only.
	AttrOperation  = attribute.Key("tiktok.operation")            // the client's name for the call, such as "refresh"
	AttrMethod     = attribute.Key("http.request.method")         // the HTTP method of a call
	AttrLogID      = attribute.Key("tiktok.log_id")               // TikTok's log_id of the answer
	AttrRetryCount = attribute.Key("http.request.resend_count")   // requests sent after the first
	AttrAttempt    = attribute.Key("tiktok.attempt")              // the number of a request within its call
	AttrForced     = attribute.Key("tiktokkit.refresh.forced")    // a refresh after TikTok refused the token
	AttrCoalesced  = attribute.Key("tiktokkit.refresh.coalesced") // the caller joined a refresh in flight
	AttrLeaseWait  = attribute.Key("tiktokkit.lease.wait")        // seconds waited for the refresh lease
	AttrAcquired   = attribute.Key("tiktokkit.lease.acquired")    // the wait ended holding the lease
	AttrHandler    = attribute.Key("tiktokkit.handler")           // "callback" or "disconnect"
)

// durationBuckets are the histogram boundaries, in seconds: from a fast
// loopback answer to a slow lease wait.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Config configures New. The zero value uses the global providers.
type Config struct {
	// MeterProvider makes the meter. Default otel.GetMeterProvider(), which
	// records nothing until the app installs an SDK.
	MeterProvider metric.MeterProvider
	// TracerProvider makes the tracer. Default otel.GetTracerProvider(),
	// which records nothing until the app installs an SDK.
	TracerProvider trace.TracerProvider
}

// Telemetry implements the kit's hook interfaces (client.Hooks,
// tokenstore.Hooks, handlers.Hooks and webhook.Hooks) on OpenTelemetry.
// Make one with New and wire it into the kit's configs with Instrument. It
// is safe for concurrent use and holds no global state.
type Telemetry struct {
	tracer trace.Tracer

	requests     metric.Int64Counter
	duration     metric.Float64Histogram
	refreshes    metric.Int64Counter
	leaseWait    metric.Float64Histogram
	logouts      metric.Int64Counter
	rateWait     metric.Float64Histogram
	webhooks     metric.Int64Counter
	uploadBytes  metric.Int64Counter
	attrSets     sync.Map // attrKey -> *measureOpts
	clientSpan   sync.Map // endpoint -> span name
	noAttributes *measureOpts
}

// measureOpts is one attribute set as the option slices Add and Record
// take, made once so that a measurement allocates nothing.
type measureOpts struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

func newMeasureOpts(kv ...attribute.KeyValue) *measureOpts {
	o := metric.WithAttributeSet(attribute.NewSet(kv...))
	return &measureOpts{add: []metric.AddOption{o}, record: []metric.RecordOption{o}}
}

// Span start options shared by every span of a kind.
var (
	clientSpanStart   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	internalSpanStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

var (
	_ client.Hooks     = (*Telemetry)(nil)
	_ tokenstore.Hooks = (*Telemetry)(nil)
	_ handlers.Hooks   = (*Telemetry)(nil)
	_ webhook.Hooks    = (*Telemetry)(nil)
)

// New makes the instruments on cfg's providers.
func New(cfg Config) (*Telemetry, error) {
	mp, tp := cfg.MeterProvider, cfg.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(ScopeName)
	t := &Telemetry{tracer: tp.Tracer(ScopeName), noAttributes: newMeasureOpts()}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		opts := []metric.Int64CounterOption{metric.WithDescription(desc)}
		if unit != "" {
			opts = append(opts, metric.WithUnit(unit))
		}
		c, err := m.Int64Counter(name, opts...)
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		errs = append(errs, err)
		return h
	}
	t.requests = counter(MetricClientRequests, "", "Requests sent to TikTok, by endpoint, outcome and HTTP status.")
	t.duration = histogram(MetricClientDuration, "Duration of the requests sent to TikTok.")
	t.refreshes = counter(MetricRefreshes, "", "Token refreshes needed, by outcome.")
	t.leaseWait = histogram(MetricLeaseWait, "Time spent taking a token's refresh lease.")
	t.logouts = counter(MetricLogouts, "", "Users whose token was deleted, by reason.")
	t.rateWait = histogram(MetricRateLimitWait, "Time calls waited for their turn under TikTok's quotas.")
	t.webhooks = counter(MetricWebhookEvents, "", "Webhook requests, by event and outcome.")
	t.uploadBytes = counter(MetricUploadBytes, "By", "Video bytes accepted by TikTok's upload servers.")
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelkit: %w", err)
	}
	return t, nil
}

// Instrument sets t as the Hooks of every config given: pointers to
// client.Config, tokenstore.SourceConfig, handlers.Config and webhook.Config,
// in any number and order. Call it before passing the configs to their New
// functions. Any other type is an error, and then no config is changed.
func (t *Telemetry) Instrument(configs ...any) error {
	for _, c := range configs {
		switch c := c.(type) {
		case *client.Config, *tokenstore.SourceConfig, *handlers.Config, *webhook.Config:
			if isNilPointer(c) {
				return errors.New("otelkit: Instrument: nil config pointer")
			}
		default:
			return fmt.Errorf("otelkit: Instrument: %T is not a pointer to a tiktokkit config", c)
		}
	}
	for _, c := range configs {
		switch c := c.(type) {
		case *client.Config:
			c.Hooks = t
		case *tokenstore.SourceConfig:
			c.Hooks = t
		case *handlers.Config:
			c.Hooks = t
		case *webhook.Config:
			c.Hooks = t
		}
	}
	return nil
}

func isNilPointer(c any) bool {
	switch c := c.(type) {
	case *client.Config:
		return c == nil
	case *tokenstore.SourceConfig:
		return c == nil
	case *handlers.Config:
		return c == nil
	case *webhook.Config:
		return c == nil
	}
	return false
}

// attrKey identifies one combination of metric attributes.
type attrKey struct {
	metric   uint8
	a, b     string
	status   int
	withCode bool
}

const (
	kindClient uint8 = iota
	kindRefresh
	kindLogout
	kindRateLimit
	kindWebhook
)

// attrs returns the measurement option for k, made once per combination.
// Every attribute value comes from a small fixed set (endpoint names,
// outcomes, statuses), so the cache stays small.
func (t *Telemetry) attrs(k attrKey) *measureOpts {
	if o, ok := t.attrSets.Load(k); ok {
		return o.(*measureOpts)
	}
	var kv []attribute.KeyValue
	switch k.metric {
	case kindClient:
		kv = []attribute.KeyValue{AttrEndpoint.String(k.a), AttrOutcome.String(k.b)}
		if k.withCode {
			kv = append(kv, AttrStatusCode.Int(k.status))
		}
	case kindRefresh:
		kv = []attribute.KeyValue{AttrOutcome.String(k.a)}
	case kindLogout:
		kv = []attribute.KeyValue{AttrReason.String(k.a)}
	case kindRateLimit:
		kv = []attribute.KeyValue{AttrEndpoint.String(k.a), AttrOutcome.String(k.b)}
	case kindWebhook:
		kv = []attribute.KeyValue{AttrEvent.String(k.a), AttrOutcome.String(k.b)}
	}
	o, _ := t.attrSets.LoadOrStore(k, newMeasureOpts(kv...))
	return o.(*measureOpts)
}

// CallStart starts the span of a call to TikTok. It implements client.Hooks.
func (t *Telemetry) CallStart(ctx context.Context, call client.CallInfo) context.Context {
	ctx, span := t.tracer.Start(ctx, t.clientSpanName(call.Endpoint), clientSpanStart...)
	if span.IsRecording() {
		span.SetAttributes(AttrEndpoint.String(call.Endpoint), AttrOperation.String(call.Operation),
			AttrMethod.String(call.Method))
	}
	return ctx
}

func (t *Telemetry) clientSpanName(endpoint string) string {
	if n, ok := t.clientSpan.Load(endpoint); ok {
		return n.(string)
	}
	n, _ := t.clientSpan.LoadOrStore(endpoint, "tiktok."+endpoint)
	return n.(string)
}

// Attempt counts a request sent to TikTok and its duration; a failed one
// is also an event on the call's span. It implements client.Hooks.
func (t *Telemetry) Attempt(ctx context.Context, a client.AttemptReport) {
	o := t.attrs(attrKey{metric: kindClient, a: a.Endpoint, b: a.Outcome, status: a.StatusCode, withCode: a.StatusCode != 0})
	t.requests.Add(ctx, 1, o.add...)
	t.duration.Record(ctx, a.Duration.Seconds(), o.record...)
	if a.Outcome != client.OutcomeOK {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.AddEvent("tiktok.attempt_failed", trace.WithAttributes(AttrAttempt.Int(a.Attempt),
				AttrStatusCode.Int(a.StatusCode), AttrOutcome.String(a.Outcome), AttrLogID.String(a.LogID)))
		}
	}
}

// CallEnd ends the call's span with its result. It implements client.Hooks.
func (t *Telemetry) CallEnd(ctx context.Context, r client.CallReport) {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		attrs := []attribute.KeyValue{AttrOutcome.String(r.Outcome), AttrRetryCount.Int(max(r.Attempts-1, 0))}
		if r.StatusCode != 0 {
			attrs = append(attrs, AttrStatusCode.Int(r.StatusCode))
		}
		if r.LogID != "" {
			attrs = append(attrs, AttrLogID.String(r.LogID))
		}
		span.SetAttributes(attrs...)
		if r.Err != nil {
			span.SetStatus(codes.Error, r.Outcome)
		}
	}
	span.End()
}

// QuotaWait records a wait under TikTok's quotas: outcome "ok" for a call
// that waited and went on, "refused" for one whose deadline did not allow
// the wait. It implements client.Hooks.
func (t *Telemetry) QuotaWait(ctx context.Context, endpoint string, wait time.Duration, refused bool) {
	outcome := "ok"
	if refused {
		outcome = "refused"
	}
	t.rateWait.Record(ctx, wait.Seconds(), t.attrs(attrKey{metric: kindRateLimit, a: endpoint, b: outcome}).record...)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("tiktokkit.ratelimit.wait", trace.WithAttributes(AttrEndpoint.String(endpoint),
			AttrOutcome.String(outcome), attribute.Float64("tiktokkit.ratelimit.wait", wait.Seconds())))
	}
}

// UploadBytes counts uploaded bytes. It implements client.Hooks.
func (t *Telemetry) UploadBytes(ctx context.Context, n int64) {
	t.uploadBytes.Add(ctx, n, t.noAttributes.add...)
}

// RefreshStart starts the span of a refresh. It implements
// tokenstore.Hooks.
func (t *Telemetry) RefreshStart(ctx context.Context, forced bool) context.Context {
	ctx, span := t.tracer.Start(ctx, "tiktokkit.token.refresh", internalSpanStart...)
	if span.IsRecording() {
		span.SetAttributes(AttrForced.Bool(forced))
	}
	return ctx
}

// RefreshEnd counts the refresh and ends its span. It implements
// tokenstore.Hooks.
func (t *Telemetry) RefreshEnd(ctx context.Context, r tokenstore.RefreshReport) {
	t.refreshes.Add(ctx, 1, t.attrs(attrKey{metric: kindRefresh, a: string(r.Outcome)}).add...)
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		span.SetAttributes(AttrOutcome.String(string(r.Outcome)),
			AttrCoalesced.Bool(r.Outcome == tokenstore.RefreshCoalesced),
			AttrLeaseWait.Float64(r.LeaseWait.Seconds()))
		if r.Err != nil {
			span.SetStatus(codes.Error, string(r.Outcome))
		}
	}
	span.End()
}

// LeaseWait records the time spent taking a refresh lease. It implements
// tokenstore.Hooks.
func (t *Telemetry) LeaseWait(ctx context.Context, wait time.Duration, acquired bool) {
	t.leaseWait.Record(ctx, wait.Seconds(), t.noAttributes.record...)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("tiktokkit.lease.wait", trace.WithAttributes(AttrLeaseWait.Float64(wait.Seconds()),
			AttrAcquired.Bool(acquired)))
	}
}

// Logout counts a user logged out, by reason. It implements
// tokenstore.Hooks and handlers.Hooks.
func (t *Telemetry) Logout(ctx context.Context, reason tokenstore.LogoutReason) {
	t.logouts.Add(ctx, 1, t.attrs(attrKey{metric: kindLogout, a: string(reason)}).add...)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("tiktokkit.logout", trace.WithAttributes(AttrReason.String(string(reason))))
	}
}

// HandlerStart starts the span of a callback or disconnect. It implements
// handlers.Hooks.
func (t *Telemetry) HandlerStart(ctx context.Context, handler string) context.Context {
	ctx, span := t.tracer.Start(ctx, "tiktokkit."+handler, internalSpanStart...)
	if span.IsRecording() {
		span.SetAttributes(AttrHandler.String(handler))
	}
	return ctx
}

// HandlerEnd ends the handler's span with its outcome. It implements
// handlers.Hooks.
func (t *Telemetry) HandlerEnd(ctx context.Context, _ string, err error) {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		outcome := handlers.Outcome(err)
		span.SetAttributes(AttrOutcome.String(outcome))
		if err != nil && handlers.StatusCode(err) >= 500 {
			span.SetStatus(codes.Error, outcome)
		}
	}
	span.End()
}

// WebhookEvent counts a webhook request; a handled authorization.removed
// also counts a logout with reason "webhook". It implements webhook.Hooks.
func (t *Telemetry) WebhookEvent(ctx context.Context, event, outcome string) {
	name := eventName(event)
	t.webhooks.Add(ctx, 1, t.attrs(attrKey{metric: kindWebhook, a: name, b: outcome}).add...)
	if event == webhook.EventAuthorizationRemoved && outcome == webhook.OutcomeOK {
		t.Logout(ctx, tokenstore.LogoutWebhook)
	}
}

// eventName keeps webhook event names to TikTok's dotted lower-case form;
// "" (refused before the event was read) and anything else is "unknown".
func eventName(event string) string {
	if event == "" || len(event) > 64 || strings.IndexFunc(event, func(r rune) bool {
		return (r < 'a' || r > 'z') && r != '.' && r != '_'
	}) >= 0 {
		return "unknown"
	}
	return event
}
