// Package otelkit reports what tiktokkit does as OpenTelemetry metrics and
// traces. It implements the hook interfaces of the core packages
// (client.Hooks, tokenstore.Hooks, handlers.Hooks, webhook.Hooks) on the
// OpenTelemetry API only: the app chooses the SDK and the exporters. With
// the global providers (the default) and no SDK installed, nothing is
// recorded.
//
// Wire it into every config with one call, before the New functions:
//
//	tel, err := otelkit.New(otelkit.Config{MeterProvider: mp, TracerProvider: tp})
//	if err != nil { ... }
//	ccfg := client.Config{ /* ... */ }
//	scfg := tokenstore.SourceConfig{ /* ... */ }
//	hcfg := handlers.Config{ /* ... */ }
//	wcfg := webhook.Config{ /* ... */ }
//	if err := tel.Instrument(&ccfg, &scfg, &hcfg, &wcfg); err != nil { ... }
//	cl, err := client.New(ccfg) // and so on
//
// Metrics (names are stable; units in brackets):
//
//	tiktokkit.client.requests    counter  tiktok.endpoint, tiktok.outcome, http.response.status_code
//	tiktokkit.client.duration    [s]      the same attributes
//	tiktokkit.token.refreshes    counter  tiktok.outcome: ok, coalesced, overtaken, temporary_failure, invalid_grant
//	tiktokkit.token.lease_wait   [s]
//	tiktokkit.logouts            counter  reason: invalid_grant, refresh_expired, revoked, disconnect, webhook
//	tiktokkit.ratelimit.wait     [s]      tiktok.endpoint, tiktok.outcome: ok (waited), refused
//	tiktokkit.webhook.events     counter  event, tiktok.outcome: ok, bad_signature, stale, replay, malformed, error
//	tiktokkit.upload.bytes       [By]
//
// The client metrics count every request sent, retries included;
// tiktok.endpoint is a fixed name (user_info, token, video_init, ...,
// "other" for a raw call to a path the kit does not know), never a URL, and
// tiktok.outcome is "ok", TikTok's error code or one of client's Outcome*
// values. Through Prometheus the names read tiktokkit_client_requests_total,
// tiktokkit_client_duration_seconds, tiktokkit_token_refreshes_total and so on.
//
// Spans: "tiktok.<endpoint>" (client kind) per call to TikTok, with the
// endpoint, operation, status, outcome, TikTok's log_id and the retry count,
// and an event per failed attempt; "tiktokkit.token.refresh" per caller
// that needed a refresh, with its outcome, whether it was forced or
// coalesced, the lease wait and a logout event; "tiktokkit.callback" and
// "tiktokkit.disconnect" per handler request. Each is a child of the span in
// the request's context, so the kit's spans sit below the app's server span.
//
// No token, code, client secret, verifier, state or signature is ever
// passed to the hooks, so none reaches a span name, an attribute, an event
// or a metric.
package otelkit
