package tokenstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
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
	// disables it. It is always off for the Memory store (nothing to
	// spare) and the Session store (a token belongs to one session, not to
	// the key).
	CacheSize int
	// CacheTTL is how long a cached token is used without looking at the
	// store. It bounds how long this process can miss a change another
	// instance made to the token (see Source). Default 1 minute.
	CacheTTL time.Duration
	// LeaseTTL is the lifetime of the refresh lease taken on a Leaser
	// store, and so how long other instances wait for a holder that
	// crashed. A refresh is abandoned after three quarters of it, so that
	// the rotated token is saved while the lease is still held. It also
	// bounds how long a caller's refresh may take when the store is not a
	// Leaser. Default 30 seconds.
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
//     blocks the key for at most LeaseTTL.
//   - The rotated token is saved before it is returned; if saving fails,
//     this process keeps the new token in memory and saves it on the next
//     call, and the call fails.
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
	replacer Replacer
	holder   string
	cache    *tokenCache
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	flights map[string]*flight
	grace   map[string]graceEntry
}

var _ client.Refresher = (*Source)(nil)

// flight is one refresh in progress that several callers wait for.
type flight struct {
	done chan struct{}
	tok  *client.Token
	err  error
}

// graceEntry maps a rotated refresh token to its successor.
type graceEntry struct {
	next  *client.Token
	until time.Time // zero while the successor is not saved yet
}

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
	}
	s.leaser, _ = cfg.Store.(Leaser)
	s.replacer, _ = cfg.Store.(Replacer)
	switch cfg.Store.(type) {
	case *Memory, *Session:
	default:
		if cfg.CacheSize > 0 {
			s.cache = newTokenCache(cfg.CacheSize, cfg.CacheTTL)
		}
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
		s.cache.put(key, tok, now)
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
		s.cache.drop(key)
	}
	tok, err := s.load(ctx, key)
	if err != nil {
		return nil, err
	}
	if tok.AccessToken != failed.AccessToken && tok.Valid(now) {
		s.cache.put(key, tok, now)
		return tok, nil
	}
	return s.refresh(ctx, key, tok, failed)
}

// Save stores tok under key (after a login, say) and caches it.
func (s *Source) Save(ctx context.Context, key string, tok *client.Token) error {
	if tok == nil {
		return errNilToken
	}
	s.cache.drop(key)
	if err := s.store.Put(ctx, key, tok); err != nil {
		return err
	}
	if s.cache != nil {
		s.cache.put(key, copyToken(tok), s.now())
	}
	return nil
}

// Delete removes the token under key from the store and the cache (after a
// disconnect, say). It does not revoke it at TikTok.
func (s *Source) Delete(ctx context.Context, key string) error {
	// A refresh of key in flight in this process would save the token back
	// after the delete: let it finish first.
	s.mu.Lock()
	f := s.flights[key]
	s.mu.Unlock()
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("tokenstore: delete %q: waiting for its refresh: %w", key, ctx.Err())
		}
	}
	s.cache.drop(key)
	err := s.store.Delete(ctx, key)
	s.cache.drop(key)
	return err
}

// load reads key's token from the store; a missing one is ErrLoginRequired.
func (s *Source) load(ctx context.Context, key string) (*client.Token, error) {
	tok, err := s.store.Get(ctx, key)
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, ErrNotFound) {
		s.cache.drop(key)
		return nil, loginRequired(key, "no token stored", err)
	}
	return nil, err
}

// good reports whether tok serves a caller that held seen (and, for a
// forced refresh, saw failed die): a different valid token for a forced
// refresh; otherwise one that needs no refresh, or a valid one that
// replaced seen (TikTok may grant lifetimes shorter than the margin).
func (s *Source) good(tok, seen, failed *client.Token, now time.Time) bool {
	if tok == nil {
		return false
	}
	if failed != nil {
		return tok.AccessToken != failed.AccessToken && tok.Valid(now)
	}
	if !tok.NeedsRefresh(now, s.cfg.Margin) {
		return true
	}
	return seen != nil && tok.AccessToken != seen.AccessToken && tok.Valid(now)
}

// refresh joins or starts the key's refresh and waits for it, or for ctx.
func (s *Source) refresh(ctx context.Context, key string, seen, failed *client.Token) (*client.Token, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		f, leader := s.join(ctx, key, seen, failed)
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("tokenstore: waiting for the refresh of %q: %w", key, ctx.Err())
		}
		now := s.now()
		if f.err != nil {
			if failed == nil && !errors.Is(f.err, ErrLoginRequired) && seen.Valid(now) {
				s.log.WarnContext(ctx, "tokenstore: refresh failed; using the still valid token",
					slog.String("key", key), slog.Any("error", f.err))
				return seen, nil
			}
			return nil, f.err
		}
		if s.good(f.tok, seen, failed, now) {
			if !leader && s.leaser == nil && f.tok.RefreshToken != seen.RefreshToken {
				// A per-request store (the session) holds its own copy:
				// update it so that this request saves the new token too.
				if err := s.store.Put(ctx, key, f.tok); err != nil {
					s.log.WarnContext(ctx, "tokenstore: could not save the shared refresh result",
						slog.String("key", key), slog.Any("error", err))
				}
			}
			return f.tok, nil
		}
		// The flight answered another caller's question (a plain refresh
		// that found the token fresh, while this caller saw it die).
		if attempt == attempts {
			return nil, fmt.Errorf("tokenstore: no fresh token for %q after %d attempts", key, attempts)
		}
		seen = f.tok
	}
}

// join returns the flight for key, starting it when there is none. Stores
// that lease hold one token per key, so one flight per key; other stores
// (the session) may hold several grants under one key, so one flight per
// refresh token.
func (s *Source) join(ctx context.Context, key string, seen, failed *client.Token) (*flight, bool) {
	fk := key
	if s.leaser == nil {
		fk = key + "\x00" + seen.RefreshToken
	}
	s.mu.Lock()
	if f := s.flights[fk]; f != nil {
		s.mu.Unlock()
		return f, false
	}
	f := &flight{done: make(chan struct{})}
	s.flights[fk] = f
	s.mu.Unlock()
	go s.run(ctx, fk, f, key, seen, failed)
	return f, true
}

// run does the flight detached from the caller's cancellation; caller is
// only asked whether it gave up.
func (s *Source) run(caller context.Context, fk string, f *flight, key string, seen, failed *client.Token) {
	tok, after, err := s.work(caller, key, seen, failed)
	f.tok, f.err = tok, err
	s.mu.Lock()
	delete(s.flights, fk)
	s.mu.Unlock()
	close(f.done)
	if after != nil {
		after()
	}
}

// work is one refresh: lease, reload, check again, refresh, save, release.
// The returned func runs the hooks once the waiters are released.
func (s *Source) work(caller context.Context, key string, seen, failed *client.Token) (*client.Token, func(), error) {
	base := context.WithoutCancel(caller)
	budget := s.cfg.LeaseTTL
	var lostSave error // set when the refreshed token could not be saved
	if s.leaser != nil {
		wctx, cancel := context.WithTimeout(base, s.cfg.LeaseTTL+time.Second)
		tok, err := s.acquire(wctx, key, seen, failed)
		cancel()
		if err != nil || tok != nil {
			return tok, nil, err
		}
		keepLease := false
		defer func() {
			if !keepLease {
				s.release(base, key)
			}
		}()
		// A rotated token that reached the store only after the lease ran
		// out could race another instance's refresh: finish well within it.
		budget = s.cfg.LeaseTTL * 9 / 10
		defer func() {
			// After a failed save only this process knows the rotated
			// token: keep the lease until it lapses, so that other
			// instances wait instead of refreshing with the dead one.
			if lostSave != nil {
				keepLease = true
			}
		}()
	}
	ctx, cancel := context.WithTimeout(base, budget)
	defer cancel()

	cur, err := s.load(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if s.good(cur, seen, failed, now) {
		s.cache.put(key, cur, now)
		return cur, nil, nil
	}
	if next := s.successor(cur.RefreshToken, now); next != nil {
		// This process rotated cur's refresh token a moment ago: the store
		// holds an old copy (a session saved by an earlier request, or a
		// save that failed). Write the successor back instead of presenting
		// a dead refresh token to TikTok.
		if err := s.write(ctx, key, cur, next); err != nil {
			if ok, tok, after, err := s.overtaken(ctx, key, cur.RefreshToken, next, err); ok {
				return tok, after, err
			}
			return nil, nil, err
		}
		s.saved(cur.RefreshToken, now)
		cur = next
		if s.good(cur, seen, failed, now) {
			s.cache.put(key, cur, now)
			return cur, nil, nil
		}
	}
	if cur.RefreshExpired(now) {
		return s.drop(ctx, key, "refresh token expired", nil)
	}

	rctx, rcancel := context.WithTimeout(ctx, s.cfg.LeaseTTL*3/4)
	next, err := s.cfg.Client.Refresh(rctx, cur.RefreshToken)
	rcancel()
	if err != nil {
		if errors.Is(err, client.ErrInvalidGrant) {
			return s.refused(ctx, key, cur, err)
		}
		s.log.WarnContext(ctx, "tokenstore: refresh failed; token kept", slog.String("key", key), slog.Any("error", err))
		return nil, nil, fmt.Errorf("tokenstore: refresh %q (token kept): %w", key, err)
	}
	next = inherit(cur, next)
	s.remember(cur.RefreshToken, next)
	if err := s.save(ctx, key, cur, next); err != nil {
		if ok, tok, after, err := s.overtaken(ctx, key, cur.RefreshToken, next, err); ok {
			return tok, after, err
		}
		lostSave = err
		s.log.ErrorContext(ctx, "tokenstore: refreshed token not saved; kept in memory until it is",
			slog.String("key", key), slog.Any("error", err))
		return nil, nil, fmt.Errorf("tokenstore: save refreshed token of %q: %w", key, err)
	}
	if s.leaser == nil && caller.Err() != nil {
		// The request whose session received the token gave up, and its
		// session may have been saved before the token reached it. Keep
		// the successor known for long, so that the next request with the
		// old copy gets it instead of presenting a dead refresh token.
		s.savedFor(cur.RefreshToken, now, unsavedGrace)
	} else {
		s.saved(cur.RefreshToken, now)
	}
	s.cache.put(key, next, now)
	s.log.DebugContext(ctx, "tokenstore: token refreshed", slog.String("key", key), slog.Time("expiry", next.Expiry))
	var after func()
	if s.cfg.OnRefresh != nil {
		after = func() { s.cfg.OnRefresh(key, next) }
	}
	return next, after, nil
}

// acquire takes the key's lease. It returns (nil, nil) once this Source
// holds it, or the token another holder saved meanwhile when that one
// serves the caller.
func (s *Source) acquire(ctx context.Context, key string, seen, failed *client.Token) (*client.Token, error) {
	backoff := 2 * time.Millisecond
	for {
		ok, err := s.leaser.TryLease(ctx, key, s.holder, s.cfg.LeaseTTL)
		if err != nil {
			return nil, err
		}
		if ok {
			return nil, nil
		}
		cur, err := s.load(ctx, key)
		if err != nil {
			return nil, err
		}
		if now := s.now(); s.good(cur, seen, failed, now) {
			s.cache.put(key, cur, now)
			return cur, nil
		}
		t := time.NewTimer(backoff/2 + mrand.N(backoff/2+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("tokenstore: another instance holds the refresh lease of %q: %w", key, ctx.Err())
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

func (s *Source) release(base context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(base), 5*time.Second)
	defer cancel()
	if err := s.leaser.ReleaseLease(ctx, key, s.holder); err != nil {
		s.log.WarnContext(ctx, "tokenstore: could not release the refresh lease; it expires by itself",
			slog.String("key", key), slog.Any("error", err))
	}
}

// save stores a refreshed token, trying three times: its refresh token may
// be the only valid one left.
func (s *Source) save(ctx context.Context, key string, old, tok *client.Token) error {
	var err error
	for i, wait := range []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond} {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return errors.Join(err, ctx.Err())
			}
		}
		if err = s.write(ctx, key, old, tok); err == nil || errors.Is(err, errDeleted) || errors.As(err, new(*supersededError)) {
			return err
		}
	}
	return err
}

// errDeleted: the token was deleted while it was being refreshed.
var errDeleted = errors.New("tokenstore: token deleted during its refresh")

// supersededError: the store holds another token than the one refreshed
// (the user logged in again, or another instance wrote one).
type supersededError struct{ by *client.Token }

func (e *supersededError) Error() string {
	return "tokenstore: the stored token changed during its refresh"
}

// write stores tok, refreshed from old. With a Replacer it writes only
// while the key still holds old, and otherwise returns errDeleted (the key
// was deleted by another instance: in this process Delete waits for the
// refresh) or a *supersededError with the token the key holds now.
func (s *Source) write(ctx context.Context, key string, old, tok *client.Token) error {
	if s.replacer == nil {
		return s.store.Put(ctx, key, tok)
	}
	ok, err := s.replacer.Replace(ctx, key, old, tok)
	if err != nil || ok {
		return err
	}
	stored, err := s.store.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return errDeleted
	case err != nil:
		return err
	}
	return &supersededError{by: stored}
}

// overtaken ends a refresh whose key changed while TikTok was answering,
// when err says so (ok). What happened to the key stands and next, the
// token refreshed from the old one, is dropped:
//   - deleted: next is revoked (best effort) and the caller must log in
//     again;
//   - replaced by another token: that token is the answer when it is valid.
//     next is not revoked: the two may share a grant.
func (s *Source) overtaken(ctx context.Context, key, old string, next *client.Token, err error) (bool, *client.Token, func(), error) {
	var sup *supersededError
	deleted := errors.Is(err, errDeleted)
	if !deleted && !errors.As(err, &sup) {
		return false, nil, nil, nil
	}
	s.mu.Lock()
	delete(s.grace, old)
	s.mu.Unlock()
	s.cache.drop(key)
	if deleted {
		if err := s.cfg.Client.Revoke(ctx, next.AccessToken); err != nil {
			s.log.WarnContext(ctx, "tokenstore: could not revoke the token refreshed after its deletion",
				slog.String("key", key), slog.Any("error", err))
		}
		s.log.InfoContext(ctx, "tokenstore: token deleted while it was being refreshed; the deletion stands",
			slog.String("key", key))
		return true, nil, nil, loginRequired(key, "the token was deleted while it was being refreshed", ErrNotFound)
	}
	s.log.InfoContext(ctx, "tokenstore: the stored token changed while it was being refreshed; keeping the stored one",
		slog.String("key", key))
	if now := s.now(); sup.by.Valid(now) {
		s.cache.put(key, sup.by, now)
		return true, sup.by, nil, nil
	}
	return true, nil, nil, fmt.Errorf("tokenstore: refresh %q: %w; try again", key, err)
}

// refused handles invalid_grant. Before deleting, it reloads: when the
// store holds another refresh token (someone else rotated it, or the user
// logged in again), the refusal was about an old one.
func (s *Source) refused(ctx context.Context, key string, used *client.Token, cause error) (*client.Token, func(), error) {
	again, err := s.store.Get(ctx, key)
	switch {
	case err == nil && again.RefreshToken != used.RefreshToken:
		if now := s.now(); again.Valid(now) {
			s.cache.put(key, again, now)
			return again, nil, nil
		}
		return nil, nil, fmt.Errorf("tokenstore: refresh %q: the stored token changed meanwhile, try again: %w", key, cause)
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, nil, fmt.Errorf("tokenstore: refresh %q refused, and reloading failed (token kept): %w",
			key, errors.Join(cause, err))
	}
	return s.drop(ctx, key, "TikTok refused the refresh token", cause)
}

// drop deletes key's token because the user must log in again.
func (s *Source) drop(ctx context.Context, key, reason string, cause error) (*client.Token, func(), error) {
	s.cache.drop(key)
	lerr := loginRequired(key, reason, cause)
	if err := s.store.Delete(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "tokenstore: could not delete a dead token", slog.String("key", key), slog.Any("error", err))
	}
	s.cache.drop(key)
	s.log.InfoContext(ctx, "tokenstore: token dropped; the user must log in again", slog.String("key", key), slog.String("reason", reason))
	var after func()
	if s.cfg.OnDrop != nil {
		after = func() { s.cfg.OnDrop(key, lerr) }
	}
	return nil, after, lerr
}

// inherit fills what TikTok left out of a refresh answer from the token it
// replaces: an unrotated refresh token (with its expiry), the open_id, the
// scopes.
func inherit(old, next *client.Token) *client.Token {
	if next.RefreshToken == "" {
		next.RefreshToken, next.RefreshExpiry = old.RefreshToken, old.RefreshExpiry
	}
	if next.OpenID == "" {
		next.OpenID = old.OpenID
	}
	if len(next.Scopes) == 0 && len(old.Scopes) > 0 {
		next.Scopes = append([]string(nil), old.Scopes...)
	}
	if next.TokenType == "" {
		next.TokenType = old.TokenType
	}
	return next
}

// maxGrace bounds the grace map; old entries go first.
const maxGrace = 10000

// remember records next as the successor of the rotated refresh token old,
// not yet saved: such an entry lives until it is saved.
func (s *Source) remember(old string, next *client.Token) {
	if old == "" || old == next.RefreshToken {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.grace) >= maxGrace {
		now := s.now()
		for k, e := range s.grace {
			if !e.until.IsZero() && !now.Before(e.until) {
				delete(s.grace, k)
			}
		}
		for k, e := range s.grace {
			if len(s.grace) < maxGrace {
				break
			}
			if !e.until.IsZero() {
				delete(s.grace, k)
			}
		}
	}
	s.grace[old] = graceEntry{next: next}
}

// saved starts the grace period of old's entry now that its successor is
// in the store. Stores that lease hold the one current token, so the entry
// is of no more use there and goes.
func (s *Source) saved(old string, now time.Time) { s.savedFor(old, now, s.cfg.Grace) }

// unsavedGrace is how long a successor stays known when the session that
// received it may never have been saved (its request gave up).
const unsavedGrace = 24 * time.Hour

// savedFor is saved with the grace period given.
func (s *Source) savedFor(old string, now time.Time, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.grace[old]
	if !ok {
		return
	}
	if s.leaser != nil {
		delete(s.grace, old)
		return
	}
	if !e.until.IsZero() {
		return // already saved; the grace period runs from then
	}
	e.until = now.Add(grace)
	s.grace[old] = e
}

// successor returns the newest token that replaced refresh token rt in
// this process, or nil.
func (s *Source) successor(rt string, now time.Time) *client.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next *client.Token
	for range 8 { // a chain of rotations within the grace period
		e, ok := s.grace[rt]
		if !ok {
			break
		}
		if !e.until.IsZero() && !now.Before(e.until) {
			delete(s.grace, rt)
			break
		}
		next, rt = e.next, e.next.RefreshToken
	}
	return next
}
