package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"time"
)

// sessionKeyPending is the session key under which pending logins are kept.
const sessionKeyPending = "tiktokkit.pending"

// pendingLogin is a login started by Login and waiting for its callback. It
// lives in the user's server-side session and is used at most once.
type pendingLogin struct {
	State       string    `json:"state"`
	Verifier    string    `json:"verifier"`
	ReturnTo    string    `json:"return_to"`
	Scopes      []string  `json:"scopes"`
	StepUp      []string  `json:"step_up,omitempty"` // scopes a step-up login asked for by name
	RedirectURL string    `json:"redirect_url"`
	Created     time.Time `json:"created"`
}

// loadPending returns the session's pending logins, oldest first. A value
// that does not decode counts as none. It is stored as a JSON string so that
// any scs codec can hold it without registering types.
func (a *Auth) loadPending(ctx context.Context) []pendingLogin {
	s := a.sm.GetString(ctx, sessionKeyPending)
	if s == "" {
		return nil
	}
	var list []pendingLogin
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		a.logger.WarnContext(ctx, "tiktok login: discarding unreadable pending logins", errAttr(err))
		return nil
	}
	return list
}

// storePending writes list back to the session, removing the key when the
// list is empty.
func (a *Auth) storePending(ctx context.Context, list []pendingLogin) error {
	if len(list) == 0 {
		a.sm.Remove(ctx, sessionKeyPending)
		return nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("%w: encode pending login: %w", ErrSession, err)
	}
	a.sm.Put(ctx, sessionKeyPending, string(b))
	return nil
}

// addPending keeps p as a pending login: expired entries are dropped, and
// the oldest ones go when more than MaxPending would remain.
func (a *Auth) addPending(ctx context.Context, p pendingLogin) error {
	now := p.Created
	old := a.loadPending(ctx)
	list := make([]pendingLogin, 0, len(old)+1)
	for _, q := range old {
		if now.Sub(q.Created) < a.pendingTTL {
			list = append(list, q)
		}
	}
	list = append(list, p)
	if n := len(list) - a.maxPending; n > 0 {
		list = list[n:]
	}
	return a.storePending(ctx, list)
}

// takePending removes and returns the pending login whose state equals
// state. Every stored state is compared in constant time, so the time taken
// says nothing about how much of a state matched. When none matches, every
// pending login of the session is discarded (a tampered callback leaves
// nothing to retry against). An expired match is removed too.
func (a *Auth) takePending(ctx context.Context, state string) (pendingLogin, error) {
	list := a.loadPending(ctx)
	if len(list) == 0 {
		return pendingLogin{}, ErrNoPendingLogin
	}
	found := -1
	for i := range list {
		if subtle.ConstantTimeCompare([]byte(list[i].State), []byte(state)) == 1 {
			found = i
		}
	}
	if found < 0 {
		if err := a.storePending(ctx, nil); err != nil {
			return pendingLogin{}, err
		}
		return pendingLogin{}, ErrStateMismatch
	}
	p := list[found]
	rest := append(list[:found:found], list[found+1:]...)
	if err := a.storePending(ctx, rest); err != nil {
		return pendingLogin{}, err
	}
	if age := a.client.Now().Sub(p.Created); age >= a.pendingTTL || age < -time.Minute {
		return pendingLogin{}, ErrLoginExpired
	}
	return p, nil
}
