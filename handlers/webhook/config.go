package webhook

import (
	"context"
	"log/slog"
	"time"
)

// Defaults of Config.
const (
	// DefaultTolerance is how far a webhook's timestamp may be from the
	// clock, in either direction.
	DefaultTolerance = 5 * time.Minute
	// DefaultMaxBodyBytes bounds a webhook body (64 KiB).
	DefaultMaxBodyBytes = 64 << 10
	// DefaultReplayCacheSize is how many recent signatures the default
	// replay store remembers to refuse replays.
	DefaultReplayCacheSize = 10_000
)

// TokenDeleter deletes a user's token by store key. tokenstore.Store
// implementations and *tokenstore.Source satisfy it; deleting a key that is
// not there must not be an error.
type TokenDeleter interface {
	Delete(ctx context.Context, key string) error
}

// Config configures New. Only ClientSecret is required.
type Config struct {
	// ClientSecret is the app's client secret, which keys the signature.
	// Required. It is never logged.
	ClientSecret string
	// ClientKey, when set, refuses (400) signed events whose client_key is
	// another app's. Default "": not checked.
	ClientKey string
	// Tokens receives the deletion of the user's token on
	// authorization.removed. Default nil: nothing is deleted (then
	// OnAuthorizationRemoved should do it).
	Tokens TokenDeleter
	// Key maps the event's user_openid to the store key. Default: the
	// open_id itself, the kit's default key.
	Key func(openID string) string
	// OnAuthorizationRemoved is called after the token of an
	// authorization.removed event was deleted. Default nil.
	OnAuthorizationRemoved func(ctx context.Context, ev Event)
	// OnEvent receives every other verified event: the post.publish.*
	// events and any TikTok adds later. An error answers 500, so TikTok
	// delivers the event again. Default nil: such events are acknowledged
	// and dropped.
	OnEvent func(ctx context.Context, ev Event) error
	// Tolerance is how far the signed timestamp may be from the clock, in
	// either direction. Default DefaultTolerance (5 minutes).
	Tolerance time.Duration
	// MaxBodyBytes bounds the body; a larger one is answered 413. Default
	// DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// ReplayStore records the signatures handled (each for twice the
	// tolerance) to refuse a replay. Default nil: a MemoryReplayStore of
	// ReplayCacheSize signatures, on Clock, logging to Logger.
	ReplayStore ReplayStore
	// ReplayCacheSize is how many signatures the default replay store
	// remembers. Default DefaultReplayCacheSize. When full, the entry
	// closest to expiry is forgotten first (and a warning logged). It is
	// not used when ReplayStore is set.
	ReplayCacheSize int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives one line per refused or failed request. Default
	// slog.Default().
	Logger *slog.Logger
	// Hooks, when set, is told the outcome of every request, for metrics
	// (package otelkit implements it on OpenTelemetry). Default nil:
	// nothing is reported, at no cost.
	Hooks Hooks
}
