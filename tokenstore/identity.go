package tokenstore

import (
	"context"
	"fmt"

	"github.com/alexedwards/scs/v2"
)

// Identity maps a request to its store key. It is the one place that
// decides who the user is for TikTok: the login callback calls SetKey,
// the middleware calls Key, Disconnect calls Clear.
type Identity interface {
	// Key returns the store key of the request's user, or "" when the
	// user has not logged in with TikTok.
	Key(ctx context.Context) string
	// SetKey records key as the request's user.
	SetKey(ctx context.Context, key string)
	// Clear forgets the request's user.
	Clear(ctx context.Context)
}

// SessionKeyName is the scs session value that SessionIdentity uses.
const SessionKeyName = "tiktokkit.key"

// SessionIdentity returns an Identity that keeps the key in the user's scs
// session under SessionKeyName ("tiktokkit.key"). Key returns "" when the
// context has no session; SetKey and Clear panic then, as scs does, since
// that is a wiring mistake (the handler is not inside LoadAndSave).
// Renewing the session token on login (against session fixation) is the
// caller's job: see scs.SessionManager.RenewToken.
func SessionIdentity(sm *scs.SessionManager) Identity {
	return sessionIdentity{sm: sm}
}

type sessionIdentity struct{ sm *scs.SessionManager }

func (id sessionIdentity) Key(ctx context.Context) (key string) {
	if err := sessionDo(ctx, func() { key = id.sm.GetString(ctx, SessionKeyName) }); err != nil {
		return ""
	}
	return key
}

func (id sessionIdentity) SetKey(ctx context.Context, key string) {
	if err := sessionDo(ctx, func() { id.sm.Put(ctx, SessionKeyName, key) }); err != nil {
		panic(fmt.Errorf("tokenstore: SessionIdentity.SetKey: %w", err))
	}
}

func (id sessionIdentity) Clear(ctx context.Context) {
	if err := sessionDo(ctx, func() { id.sm.Remove(ctx, SessionKeyName) }); err != nil {
		panic(fmt.Errorf("tokenstore: SessionIdentity.Clear: %w", err))
	}
}
