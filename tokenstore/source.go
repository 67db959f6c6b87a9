package tokenstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// Defaults of SourceConfig.
const (
	DefaultMargin    = 5 * time.Minute
	DefaultCacheSize = 10000
	DefaultCacheTTL  = time.Minute
	DefaultLeaseTTL  = 30 * time.Second
	DefaultGrace     = 30 * time.Second
)

// SourceConfig configures a Source.
type SourceConfig struct {
	// Store keeps the tokens. Required.
	Store Store
	// Client refreshes tokens. Required.
	Client *client.Client
	// Margin: a token that expires within Margin is refreshed before it is
	// handed out, so a request never starts with a token about to die.
	// Default 5 minutes.
	Margin time.Duration
	// CacheSize bounds the in-process cache of valid tokens that spares a
	// store round trip per request. Default 10000 entries; negative
	// disables it. It is always off for a store that is a CacheAdvisor and
	// says no, as the Memory store (nothing to spare) and the Session store
	// (a token belongs to one session, not to the key) do.
	CacheSize int
	// CacheTTL is how long a cached token is used without looking at the
	// store. It bounds how long this process can miss a change another
	// instance made to the token (see Source). Default 1 minute.
	CacheTTL time.Duration
	// LeaseTTL is the lifetime of the refresh lease taken on a Leaser
	// store, and so how long other instances wait for a holder that
	// crashed (plus a third of it when the store is a LeaseTakeover). A
	// refresh is abandoned after three quarters of it, so that the rotated
	// token is saved while the lease is still held; a save that fails is
	// retried in the background at most every tenth of it. It also bounds
	// how long a caller's refresh may take when the store is not a Leaser.
	// Default 30 seconds.
	LeaseTTL time.Duration
	// Grace is how long, after this process refreshed a token, the old
	// refresh token still resolves to its successor. It protects stores
	// that cannot lease (the Session store): a concurrent request carrying
	// the old copy of the session gets the new token instead of presenting
	// a dead refresh token to TikTok. Default 30 seconds.
	Grace time.Duration
	// OnRefresh, if set, is called after a refreshed token was saved. It
	// runs on a background goroutine; keep it quick.
	OnRefresh func(key string, tok *client.Token)
	// OnDrop, if set, is called after a token was deleted because the user
	// must log in again (reason wraps ErrLoginRequired and the cause, such
	// as client.ErrInvalidGrant). It runs on a background goroutine.
	OnDrop func(key string, reason error)
	// Logger receives refresh outcomes (keys only, never tokens). Default
	// slog.Default().
	Logger *slog.Logger
	// Clock decides expiry. Default Client.Now.
	Clock func() time.Time
	// Hooks, when set, is told about every refresh, lease wait and logout,
	// for metrics and traces (package otelkit implements it on
	// OpenTelemetry). Default nil: nothing is reported, at no cost.
	Hooks Hooks
}

// Source hands out valid tokens for keys, refreshing them when they are
// about to expire. It is the only code in the kit that calls
// client.Client.Refresh, and it does so such that a refresh never logs a
// user out:
//
//   - In one process, concurrent callers for one key share one refresh.
//   - With a store that is a Leaser (SQL, Memory), instances take the key's
//     lease, reload, check again, refresh, save and release; the others
//     wait, reload and use the token the holder saved. A crashed holder
//     blocks the key for at most LeaseTTL and a third of it (see the
//     package documentation, "Store outages").
//   - The rotated token is saved before it is returned; if saving fails,
//     the call fails, and this process keeps the new token in memory and
//     saves it in the background as soon as the store answers (or on the
//     next call, whichever comes first).
//   - Only TikTok's invalid_grant, or a refresh token known to have
//     expired, deletes the token (ErrLoginRequired, OnDrop). A 5xx, 429,
//     timeout, a store that is down, an undecryptable row: the error is
//     returned and the token kept; the next call tries again. If the
//     access token is still valid (only within Margin of its expiry), it
//     is returned instead of the error.
//   - With a store that is a Replacer (SQL, Memory), the refreshed token
//     is written only if the key still holds the token it was refreshed
//     from: a delete by another instance during the refresh stands (the
//     new token is revoked and the caller gets ErrLoginRequired), and so
//     does a new login (the caller gets the new login's token).
//   - A refresh runs detached from the caller's cancellation, bounded by
//     LeaseTTL: a caller that gives up does not abandon a rotated refresh
//     token half way.
//
// The in-process cache: valid tokens are kept up to CacheTTL, so a guarded
// request costs no store round trip. This process updates it on every
// refresh, Save and Delete. A change made by another instance (a new login,
// a refresh, a disconnect) is seen here when the entry expires or when
// TikTok refuses the cached token (ForceRefresh reloads). A disconnect
// elsewhere also removes the identity from the user's shared session, so the
// cache is never the only guard.
//
// A Source is safe for concurrent use and starts goroutines only while a
// refresh is in flight.
type Source struct {
	cfg      SourceConfig
	store    Store
	leaser   Leaser
	takeover LeaseTakeover // nil unless the store is one
	clearer  LeaseClearer  // nil unless the store is one
	replacer Replacer
	holder   string
	cache    *tokenCache
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	flights map[string]*flight
	grace   map[string]graceEntry
	saving  map[string]bool      // keys whose refreshed token is saved in the background
	deleted map[string]time.Time // refresh tokens deleted by Delete, until when they stay dead
	// anyDeleted is set once deleted holds an entry, so that Token skips
	// the lock on every read while nothing was ever deleted.
	anyDeleted atomic.Bool
}

var _ client.Refresher = (*Source)(nil)

// NewSource validates cfg, applies the defaults and returns a Source.
func NewSource(cfg SourceConfig) (*Source, error) {
	if cfg.Store == nil {
		return nil, errors.New("tokenstore: SourceConfig.Store is required")
	}
	if cfg.Client == nil {
		return nil, errors.New("tokenstore: SourceConfig.Client is required")
	}
	if cfg.Margin < 0 || cfg.CacheTTL < 0 || cfg.LeaseTTL < 0 || cfg.Grace < 0 {
		return nil, errors.New("tokenstore: SourceConfig durations must not be negative")
	}
	if cfg.Margin == 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = cfg.Client.Now
	}
	s := &Source{
		cfg:     cfg,
		store:   cfg.Store,
		log:     cfg.Logger,
		now:     cfg.Clock,
		holder:  newHolderID(),
		flights: make(map[string]*flight),
		grace:   make(map[string]graceEntry),
		saving:  make(map[string]bool),
		deleted: make(map[string]time.Time),
	}
	s.leaser, _ = cfg.Store.(Leaser)
	s.takeover, _ = cfg.Store.(LeaseTakeover)
	s.clearer, _ = cfg.Store.(LeaseClearer)
	s.replacer, _ = cfg.Store.(Replacer)
	if cfg.CacheSize > 0 && cacheable(cfg.Store) {
		s.cache = newTokenCache(cfg.CacheSize, cfg.CacheTTL)
	}
	return s, nil
}

func newHolderID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "tiktokkit-" + hex.EncodeToString(b)
}

// Client returns the client the Source refreshes with.
func (s *Source) Client() *client.Client { return s.cfg.Client }

// Token returns a valid token for key, refreshing it first when it expires
// within Margin. The token is shared and read-only.
//
// Errors: ErrLoginRequired (errors.Is) when there is no token for key or
// the user must log in again; anything else (TikTok or the store failing)
// means "try again later" and the token was kept.
func (s *Source) Token(ctx context.Context, key string) (*client.Token, error) {
	now := s.now()
	if tok := s.cache.get(key, now, s.cfg.Margin); tok != nil {
		return tok, nil
	}
	tok, err := s.load(ctx, key)
	if err != nil {
		return nil, err
	}
	if !tok.NeedsRefresh(now, s.cfg.Margin) {
		s.cacheToken(key, tok, now)
		return tok, nil
	}
	return s.refresh(ctx, key, tok, nil)
}

// ForceRefresh returns a token to replace failed, which TikTok refused
// (access_token_invalid) although it looked valid. It implements
// client.Refresher. Under the same coalescing and lease as a refresh, it
// first reloads: when the store already holds a different valid token
// (another request refreshed first), that one is returned and TikTok is not
// asked. So any number of concurrent callers that meet one dead token cause
// exactly one refresh. Errors are those of Token.
func (s *Source) ForceRefresh(ctx context.Context, key string, failed *client.Token) (*client.Token, error) {
	if failed == nil {
		return s.Token(ctx, key)
	}
	now := s.now()
	if c := s.cache.peek(key); c != nil {
		if c.AccessToken != failed.AccessToken && c.Valid(now) {
			return c, nil
		}
		s.uncache(key)
	}
	tok, err := s.load(ctx, key)
	if err != nil {
		return nil, err
	}
	if tok.AccessToken != failed.AccessToken && tok.Valid(now) {
		s.cacheToken(key, tok, now)
		return tok, nil
	}
	return s.refresh(ctx, key, tok, failed)
}

// Save stores tok under key (after a login, say) and caches it. With a
// store that is a LeaseClearer it also ends any refresh lease on key, so
// that a lease left by an instance that crashed does not hold up the new
// login's first refresh.
func (s *Source) Save(ctx context.Context, key string, tok *client.Token) error {
	if tok == nil {
		return errNilToken
	}
	s.uncache(key)
	put := s.store.Put
	if s.clearer != nil {
		put = s.clearer.PutClearLease
	}
	if err := put(ctx, key, tok); err != nil {
		return err
	}
	if s.cache != nil {
		s.cacheToken(key, copyToken(tok), s.now())
	}
	return nil
}

// Delete removes the token under key from the store and the cache (after a
// disconnect, say). It does not revoke it at TikTok.
//
// With a store that is no Replacer (the session), a save that comes after
// the delete could bring the token back: scs saves whole sessions, so a
// request that refreshed the token and ends after the disconnect writes
// its copy, token included. Delete therefore remembers, for a day, the
// refresh token it deleted and every successor this process gave it; a
// token with one of them is deleted when it is read again, and the
// caller must log in (ErrLoginRequired).
func (s *Source) Delete(ctx context.Context, key string) error {
	fk := key
	if s.replacer == nil {
		if tok, err := s.store.Get(ctx, key); err == nil {
			s.bury(tok.RefreshToken)
			if s.leaser == nil {
				fk = key + "\x00" + tok.RefreshToken
			}
		}
	}
	// A refresh of key in flight in this process would save the token back
	// after the delete: let it finish first.
	s.mu.Lock()
	f := s.flights[fk]
	s.mu.Unlock()
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("tokenstore: delete %q: waiting for its refresh: %w", key, ctx.Err())
		}
		if f.tok != nil && s.replacer == nil {
			s.bury(f.tok.RefreshToken)
		}
	}
	s.uncache(key)
	err := s.store.Delete(ctx, key)
	s.uncache(key)
	return err
}

// unbury deletes a token that came back after Delete deleted it.
func (s *Source) unbury(ctx context.Context, key string) error {
	s.uncache(key)
	if err := s.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("tokenstore: delete %q again: %w", key, err)
	}
	s.log.InfoContext(ctx, "tokenstore: a deleted token came back (a copy saved after the disconnect); deleted again",
		slog.String("key", key))
	return loginRequired(key, "the token was deleted (a disconnect)", ErrNotFound)
}

// load reads key's token from the store; a missing one is ErrLoginRequired.
func (s *Source) load(ctx context.Context, key string) (*client.Token, error) {
	tok, err := s.store.Get(ctx, key)
	if err == nil {
		if s.replacer == nil && s.buried(tok.RefreshToken) {
			return nil, s.unbury(ctx, key)
		}
		return tok, nil
	}
	if errors.Is(err, ErrNotFound) {
		s.uncache(key)
		return nil, loginRequired(key, "no token stored", err)
	}
	return nil, err
}
