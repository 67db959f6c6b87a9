// Package webhook receives TikTok's signed webhook events for net/http
// apps. New returns the handler for the callback URL configured for the
// app in TikTok's developer portal; it is a plain http.Handler with no path
// of its own. Only Config.ClientSecret is required:
//
//	hook, err := webhook.New(webhook.Config{
//		ClientSecret: secret,
//		ClientKey:    key, // optional: refuse events for another app
//		Tokens:       src, // authorization.removed deletes the user's token
//		OnEvent: func(ctx context.Context, ev webhook.Event) error {
//			if ev.Event == webhook.EventPublishFailed {
//				return markFailed(ctx, ev.Publish.PublishID, ev.Publish.Reason)
//			}
//			return nil
//		},
//	})
//	mux.Handle("POST /webhooks/tiktok", hook)
//	csrf := nosurf.New(mux)
//	csrf.ExemptPath("/webhooks/tiktok") // TikTok sends no CSRF token; the signature stands in
//
// # Checks
//
// Each POST is checked in this order: the body's size (MaxBodyBytes,
// default 64 KiB: 413), the TikTok-Signature header "t=<unix
// seconds>,s=<hex>" (400 when malformed), the signature, an HMAC-SHA256 of
// "<t>.<raw body>" keyed with the client secret and compared in constant
// time (401; several s= values are accepted, for a secret rotation), and
// the timestamp, which must lie within Tolerance of the clock in either
// direction (default DefaultTolerance, 5 minutes: 401). Then the body must
// be TikTok's event JSON and, when ClientKey is set, name this app (400).
// A signature already handled within the window is a replay: it answers
// 200 and is not handled again (TikTok redelivers any answer but 2xx for up
// to 72 hours); any method but POST answers 405. Handler.Verify checks a header and
// body the same way (signature and timestamp, no replays), for events that
// reach the app another way.
//
// # Replays
//
// The handler records each signature it accepts in a ReplayStore for twice
// the tolerance, the time a signed request stays valid. The default is a
// MemoryReplayStore of ReplayCacheSize signatures (default 10,000) that
// forgets the one closest to expiry first when full. It lives in memory, so
// each instance of an app run on several machines keeps its own. Apps with
// several instances share one store instead, so that a replay is refused
// whichever instance it reaches:
//
//	replays, err := webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: webhook.Postgres})
//	err = replays.Migrate(ctx) // or create the table from ReplaySchema
//	hook, err := webhook.New(webhook.Config{ClientSecret: secret, ReplayStore: replays})
//	// now and then: replays.Prune(ctx)
//
// NewSQLReplayStore keeps the claims in a database/sql table (PostgreSQL,
// SQLite or MySQL; bring your own driver), each claimed by one atomic
// statement; package tokenstore/redisstore has one on Redis. Both keep a
// SHA-256 of each signature, not the signature. Package webhooktest checks
// any ReplayStore, your own included, against the contract the handler
// relies on.
//
// # Events
//
// A verified event is decoded into an Event (the content, which TikTok
// sends as a string holding JSON, as an object). authorization.removed
// means the user or the developer removed the app, and TikTok has already
// revoked the token: the handler deletes it through Tokens (any
// TokenDeleter, such as tokenstore's Source or a Store) under Key(open_id)
// (default: the open_id, the key package handlers' Callback saves under),
// then calls OnAuthorizationRemoved; the user's next request meets no token
// and logs in again. Every other event, the post.publish.* ones (complete,
// failed, inbox_delivered, publicly_available,
// no_longer_publicaly_available) with Event.Publish filled and any event
// TikTok adds later, goes to OnEvent. When deleting the token or OnEvent
// fails, the handler answers 500 and forgets the signature, so TikTok's
// next delivery is handled. Answers carry only the status text; the reason
// is logged.
//
// # CSRF
//
// The webhook is a POST from TikTok's servers, without nosurf's token or a
// same-site Origin, so nosurf refuses it (400) unless its path is exempt
// with csrf.ExemptPath. The signature check takes the token's place.
//
// # Testing
//
// Tests sign requests the way TikTok does with Sign(secret, t, body) and
// set Config.Clock to a fixed time; see the Sign example.
//
// Config.Hooks receives every request's event and outcome (ok,
// bad_signature, stale, replay, malformed, error), for metrics; package
// otelkit implements it on OpenTelemetry.
package webhook
