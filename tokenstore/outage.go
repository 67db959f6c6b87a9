package tokenstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// saveLater keeps trying, in the background, to save next (refreshed from
// old) after saving it failed: TikTok rotated the refresh token, so next
// is the only valid one left and only this process knows it. One such
// goroutine runs per key. Only leasing stores get one: a per-request store
// (the session) cannot be written once its request is over.
func (s *Source) saveLater(base context.Context, key string, old, next *client.Token) {
	if s.leaser == nil {
		return
	}
	s.mu.Lock()
	if s.saving[key] {
		s.mu.Unlock()
		return
	}
	s.saving[key] = true
	s.mu.Unlock()
	go s.keepSaving(context.WithoutCancel(base), key, old, next)
}

// retryWait is the longest pause between two background save attempts,
// and the time one attempt may take: a tenth of the lease each, so that an
// instance that took over the lapsed lease, and waits a third of it (see
// takeoverWait), sees the saved token.
func (s *Source) retryWait() time.Duration { return max(s.cfg.LeaseTTL/10, time.Millisecond) }

// takeoverWait is how long an instance that took over a lapsed lease waits
// for its former holder to save: a third of the lease, well over the worst
// case of the holder's attempts (an attempt that timed out just as the
// store came back, a pause, and the attempt that saves: two tenths of it).
func (s *Source) takeoverWait() time.Duration { return s.cfg.LeaseTTL / 3 }

// keepSaving tries to save next every second at first, then at the pace
// of retryWait, until it is saved, the key changed (a delete or a new
// login stands, as in a refresh), another call of this process saved it,
// or its refresh token expired.
func (s *Source) keepSaving(base context.Context, key string, old, next *client.Token) {
	defer func() {
		s.mu.Lock()
		delete(s.saving, key)
		s.mu.Unlock()
	}()
	limit := s.retryWait()
	wait := min(time.Second, limit)
	for attempt := 1; ; attempt++ {
		time.Sleep(wait)
		wait = min(2*wait, limit)
		if !s.unsaved(old.RefreshToken, next) {
			return
		}
		if next.RefreshExpired(s.now()) {
			s.forgetSuccessor(old.RefreshToken)
			s.log.WarnContext(base, "tokenstore: gave up saving a refreshed token: its refresh token expired",
				slog.String("key", key), slog.Int("attempts", attempt))
			return
		}
		if s.trySave(base, key, old, next, attempt) {
			return
		}
	}
}

// trySave is one background save attempt. It renews this process's lease
// first, so that while the store answers other instances keep waiting;
// it writes even when another instance took the lease over meanwhile,
// because the write is a compare and swap against old. It reports whether
// the saving is over.
func (s *Source) trySave(base context.Context, key string, old, next *client.Token, attempt int) bool {
	ctx, cancel := context.WithTimeout(base, s.retryWait())
	defer cancel()
	if _, err := s.leaser.TryLease(ctx, key, s.holder, s.cfg.LeaseTTL); err != nil {
		s.log.DebugContext(ctx, "tokenstore: store still down; the refreshed token stays in memory",
			slog.String("key", key), slog.Int("attempt", attempt), slog.Any("error", err))
		return false
	}
	err := s.write(ctx, key, old, next)
	var sup *supersededError
	switch {
	case err == nil || errors.As(err, &sup) && sameToken(sup.by, next):
		now := s.now()
		s.saved(old.RefreshToken, now)
		s.cacheToken(key, next, now)
		s.release(ctx, key)
		s.log.InfoContext(ctx, "tokenstore: refreshed token saved now that the store answers again",
			slog.String("key", key), slog.Int("attempts", attempt))
		if s.cfg.OnRefresh != nil {
			s.cfg.OnRefresh(key, next)
		}
		return true
	case errors.Is(err, errDeleted) || sup != nil:
		_, _, _, _ = s.overtaken(ctx, key, old.RefreshToken, next, err)
		s.release(ctx, key)
		return true
	}
	s.log.DebugContext(ctx, "tokenstore: saving the refreshed token failed again; retrying",
		slog.String("key", key), slog.Int("attempt", attempt), slog.Any("error", err))
	return false
}

// unsaved reports whether next is still old's unsaved successor.
func (s *Source) unsaved(old string, next *client.Token) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.grace[old]
	return ok && e.until.IsZero() && e.next == next
}

// deletedFor is how long Delete remembers the refresh tokens it deleted.
const deletedFor = 24 * time.Hour

// bury remembers that the grant of refresh token rt, and every successor
// this process knows of, was deleted: a copy that comes back later (a
// session saved after the disconnect that deleted it) is not used again.
func (s *Source) bury(rt string) {
	if rt == "" {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.deleted) >= maxGrace {
		for k, until := range s.deleted {
			if !now.Before(until) || len(s.deleted) >= maxGrace {
				delete(s.deleted, k)
			}
		}
	}
	s.anyDeleted.Store(true)
	for range 8 { // a chain of rotations, as in successor
		s.deleted[rt] = now.Add(deletedFor)
		e, ok := s.grace[rt]
		if !ok {
			break
		}
		rt = e.next.RefreshToken
	}
}

// buried reports whether Delete deleted the grant of refresh token rt
// within the last day.
func (s *Source) buried(rt string) bool {
	if !s.anyDeleted.Load() {
		return false // the read path of every request: no lock while nothing was deleted
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.deleted[rt]
	if ok && !s.now().Before(until) {
		delete(s.deleted, rt)
		return false
	}
	return ok
}
