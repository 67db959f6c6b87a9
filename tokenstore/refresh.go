package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// flight is one refresh in progress that several callers wait for.
type flight struct {
	done chan struct{}
	tok  *client.Token
	err  error
	// For the hooks, set before done is closed.
	outcome   RefreshOutcome
	leaseWait time.Duration
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
	if s.cfg.Hooks != nil {
		return s.observedRefresh(ctx, key, seen, failed)
	}
	return s.refreshNoted(ctx, key, seen, failed, nil)
}

// refreshNoted is refresh, telling note (when not nil) about the flight
// that answered.
func (s *Source) refreshNoted(ctx context.Context, key string, seen, failed *client.Token, note *refreshNote) (*client.Token, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		f, leader := s.join(ctx, key, seen, failed)
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("tokenstore: waiting for the refresh of %q: %w", key, ctx.Err())
		}
		if note != nil {
			*note = refreshNote{leader: leader, outcome: f.outcome, leaseWait: f.leaseWait}
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
	tok, after, err := s.work(caller, key, seen, failed, f)
	f.tok, f.err = tok, err
	if f.outcome == "" {
		f.outcome = flightOutcome(err)
	}
	s.mu.Lock()
	delete(s.flights, fk)
	s.mu.Unlock()
	close(f.done)
	if after != nil {
		after()
	}
}

// work is one refresh: lease, reload, check again, refresh, save, release.
// The returned func runs the hooks once the waiters are released. It sets
// f's outcome when it knows better than the error it returns.
func (s *Source) work(caller context.Context, key string, seen, failed *client.Token, f *flight) (*client.Token, func(), error) {
	base := context.WithoutCancel(caller)
	budget := s.cfg.LeaseTTL
	var lostSave error // set when the refreshed token could not be saved
	if s.leaser != nil {
		wctx, cancel := context.WithTimeout(base, s.acquireBudget())
		var t0 time.Time
		if s.cfg.Hooks != nil {
			t0 = time.Now()
		}
		tok, err := s.acquire(wctx, key, seen, failed)
		if s.cfg.Hooks != nil {
			f.leaseWait = time.Since(t0)
			s.cfg.Hooks.LeaseWait(base, f.leaseWait, err == nil && tok == nil)
		}
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
		s.cacheToken(key, cur, now)
		return cur, nil, nil
	}
	if next := s.successor(cur.RefreshToken, now); next != nil {
		// This process rotated cur's refresh token a moment ago: the store
		// holds an old copy (a session saved by an earlier request, or a
		// save that failed). Write the successor back instead of presenting
		// a dead refresh token to TikTok.
		if s.replacer == nil && s.buried(next.RefreshToken) {
			return nil, nil, s.unbury(ctx, key) // deleted since (a disconnect)
		}
		if err := s.write(ctx, key, cur, next); err != nil {
			if ok, tok, after, err := s.overtaken(ctx, key, cur.RefreshToken, next, err); ok {
				return tok, after, err
			}
			return nil, nil, err
		}
		s.saved(cur.RefreshToken, now)
		cur = next
		if s.good(cur, seen, failed, now) {
			s.cacheToken(key, cur, now)
			return cur, nil, nil
		}
	}
	if cur.RefreshExpired(now) {
		f.outcome = RefreshInvalidGrant
		return s.drop(ctx, key, "refresh token expired", nil, LogoutRefreshExpired)
	}

	rctx, rcancel := context.WithTimeout(ctx, s.cfg.LeaseTTL*3/4)
	next, err := s.cfg.Client.Refresh(rctx, cur.RefreshToken)
	rcancel()
	if err != nil {
		// Only a definite refusal logs the user out: invalid_grant in an
		// answer with a 5xx status (a gateway or an outage speaking) is as
		// temporary as any other server error, and the token is kept.
		if errors.Is(err, client.ErrInvalidGrant) && !client.IsTemporary(err) {
			reason := LogoutInvalidGrant
			if failed != nil {
				reason = LogoutRevoked // the access token died early, and the grant with it
			}
			tok, after, err := s.refused(ctx, key, cur, err, reason)
			if errors.Is(err, ErrLoginRequired) {
				f.outcome = RefreshInvalidGrant
			}
			return tok, after, err
		}
		f.outcome = RefreshTemporaryFailure
		s.log.WarnContext(ctx, "tokenstore: refresh failed; token kept", slog.String("key", key), slog.Any("error", err))
		return nil, nil, fmt.Errorf("tokenstore: refresh %q (token kept): %w", key, err)
	}
	next = inherit(cur, next)
	s.remember(cur.RefreshToken, next)
	if s.replacer == nil && s.buried(cur.RefreshToken) {
		// Deleted (a disconnect) while TikTok was answering: the deletion
		// stands, as with a Replacer.
		_, tok, after, err := s.overtaken(ctx, key, cur.RefreshToken, next, errDeleted)
		return tok, after, err
	}
	if err := s.save(ctx, key, cur, next); err != nil {
		if ok, tok, after, err := s.overtaken(ctx, key, cur.RefreshToken, next, err); ok {
			return tok, after, err
		}
		lostSave = err
		s.log.ErrorContext(ctx, "tokenstore: refreshed token not saved; kept in memory and saved as soon as the store answers",
			slog.String("key", key), slog.Any("error", err))
		s.saveLater(base, key, cur, next)
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
	s.cacheToken(key, next, now)
	f.outcome = RefreshOK
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
		ok, tookOver, err := s.tryLease(ctx, key)
		if err != nil {
			return nil, err
		}
		if ok && !tookOver {
			return nil, nil
		}
		if ok {
			// The lease lapsed without being released. Its holder may be
			// alive, with a rotated token it could not save while the
			// store was down, and saving it again every LeaseTTL/10: give
			// it a third of the lease before refreshing with what the
			// store holds. The next round renews the lease, and work
			// reloads the token.
			s.log.InfoContext(ctx, "tokenstore: took over a lapsed refresh lease; giving its holder time to save",
				slog.String("key", key))
			t := time.NewTimer(s.takeoverWait())
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("tokenstore: waiting for the former lease holder of %q: %w", key, ctx.Err())
			}
			continue
		}
		cur, err := s.load(ctx, key)
		if err != nil {
			return nil, err
		}
		if now := s.now(); s.good(cur, seen, failed, now) {
			s.cacheToken(key, cur, now)
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

// acquireBudget bounds acquire: a lease of a crashed holder runs out
// within LeaseTTL, and then a takeover waits takeoverWait.
func (s *Source) acquireBudget() time.Duration {
	d := s.cfg.LeaseTTL + time.Second
	if s.takeover != nil {
		d += s.takeoverWait()
	}
	return d
}

// tryLease takes or renews the key's lease, and tells a takeover from a
// lapsed holder when the store can (LeaseTakeover).
func (s *Source) tryLease(ctx context.Context, key string) (won, tookOver bool, err error) {
	if s.takeover != nil {
		return s.takeover.TryLeaseTakeover(ctx, key, s.holder, s.cfg.LeaseTTL)
	}
	won, err = s.leaser.TryLease(ctx, key, s.holder, s.cfg.LeaseTTL)
	return won, false, err
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
	s.forgetSuccessor(old)
	s.uncache(key)
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
		s.cacheToken(key, sup.by, now)
		return true, sup.by, nil, nil
	}
	return true, nil, nil, fmt.Errorf("tokenstore: refresh %q: %w; try again", key, err)
}

// refused handles invalid_grant. Before deleting, it reloads: when the
// store holds another refresh token (someone else rotated it, or the user
// logged in again), the refusal was about an old one.
func (s *Source) refused(ctx context.Context, key string, used *client.Token, cause error, reason LogoutReason) (*client.Token, func(), error) {
	again, err := s.store.Get(ctx, key)
	switch {
	case err == nil && again.RefreshToken != used.RefreshToken:
		if now := s.now(); again.Valid(now) {
			s.cacheToken(key, again, now)
			return again, nil, nil
		}
		return nil, nil, fmt.Errorf("tokenstore: refresh %q: the stored token changed meanwhile, try again: %w", key, cause)
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, nil, fmt.Errorf("tokenstore: refresh %q refused, and reloading failed (token kept): %w",
			key, errors.Join(cause, err))
	}
	return s.drop(ctx, key, "TikTok refused the refresh token: it was revoked, has expired, or was used "+
		"already (by a refresh whose answer was lost on the way, for one)", cause, reason)
}

// drop deletes key's token because the user must log in again; why is
// reported to the hooks.
func (s *Source) drop(ctx context.Context, key, reason string, cause error, why LogoutReason) (*client.Token, func(), error) {
	s.uncache(key)
	lerr := loginRequired(key, reason, cause)
	if err := s.store.Delete(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "tokenstore: could not delete a dead token", slog.String("key", key), slog.Any("error", err))
	}
	s.uncache(key)
	attrs := []any{slog.String("key", key), slog.String("reason", reason)}
	if cause != nil {
		attrs = append(attrs, slog.String("cause", cause.Error()))
	}
	s.log.InfoContext(ctx, "tokenstore: token dropped; the user must log in again", attrs...)
	s.logout(ctx, why)
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
