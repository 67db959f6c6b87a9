package tokenstore

import (
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// graceEntry maps a rotated refresh token to its successor.
type graceEntry struct {
	next  *client.Token
	until time.Time // zero while the successor is not saved yet
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

// forgetSuccessor drops old's entry: its successor was never stored, as
// the key changed while it was being refreshed.
func (s *Source) forgetSuccessor(old string) {
	s.mu.Lock()
	delete(s.grace, old)
	s.mu.Unlock()
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
