package tokenstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/tiktokkit/tiktokkit/client"
)

// SessionConfig configures a Session store.
type SessionConfig struct {
	// Keys encrypts the token inside the session data (AES-256-GCM). Default
	// nil: the token's JSON is kept in the session as it is. With a
	// server-side scs store (memory, PostgreSQL, Redis, ...) the session
	// data never reaches the browser, but a key still protects the tokens
	// in the session table and its backups; with a cookie-based scs store
	// it is required.
	Keys *KeyRing
	// Prefix is prepended to the store key to name the session value.
	// Default "tiktokkit.token.".
	Prefix string
}

// DefaultSessionPrefix is the default SessionConfig.Prefix.
const DefaultSessionPrefix = "tiktokkit.token."

// Session is a Store that keeps the token in the user's own scs session,
// for apps that want no token table. Every call needs a context carrying
// the session (inside SessionManager.LoadAndSave); without one it returns
// ErrNoSession.
//
// What it cannot do, by design:
//   - it is not a Leaser: instances cannot coordinate a refresh. Source
//     makes up for part of it in one process (concurrent refreshes of one
//     grant are shared, and a refresh token rotated a moment ago still
//     resolves to its successor for SourceConfig.Grace), but two instances
//     refreshing the same session at the same moment can still log the
//     user out. Use the SQL store for several instances.
//   - it is not a Lister: tokens cannot be found outside their session, so
//     no background refresh or key rotation job can reach them.
//   - a user's other devices have other sessions, hence other grants;
//     logging out on one does not touch the others, and a webhook or an
//     admin cannot delete a user's token.
//   - the token lives as long as the session: when it expires the user logs
//     in again.
type Session struct {
	sm     *scs.SessionManager
	prefix string
	codec  codec
}

var (
	_ Store        = (*Session)(nil)
	_ CacheAdvisor = (*Session)(nil)
)

// NewSession returns a Session store on sm.
func NewSession(sm *scs.SessionManager, cfg SessionConfig) *Session {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultSessionPrefix
	}
	return &Session{sm: sm, prefix: cfg.Prefix, codec: codec{keys: cfg.Keys}}
}

// Cacheable returns false: the token under a key belongs to one session,
// so a Source must not cache it by key (see CacheAdvisor).
func (s *Session) Cacheable() bool { return false }

// Get returns the token kept in the session under key.
func (s *Session) Get(ctx context.Context, key string) (*client.Token, error) {
	v, err := sessionGet(s.sm, ctx, s.prefix+key)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, notFound(key)
	}
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: session value for key %q is a %T, not bytes", ErrCorrupt, key, v)
	}
	keyID, data, err := splitSessionValue(b)
	if err != nil {
		return nil, fmt.Errorf("tokenstore: session value for key %q: %w", key, err)
	}
	return s.codec.decode(key, keyID, data)
}

// Put keeps tok in the session under key. The session is saved when the
// request ends, by LoadAndSave.
func (s *Session) Put(ctx context.Context, key string, tok *client.Token) error {
	keyID, data, err := s.codec.encode(key, tok)
	if err != nil {
		return err
	}
	return sessionDo(ctx, func() { s.sm.Put(ctx, s.prefix+key, joinSessionValue(keyID, data)) })
}

// Delete removes the token under key from the session.
func (s *Session) Delete(ctx context.Context, key string) error {
	return sessionDo(ctx, func() { s.sm.Remove(ctx, s.prefix+key) })
}

// A session value is the token's JSON (first byte '{') or an envelope:
// the marker byte, the key ID's length, the key ID, and the ciphertext.
const sessionSealed = 0xE1

func joinSessionValue(keyID string, data []byte) []byte {
	if keyID == "" {
		return data
	}
	b := make([]byte, 0, 2+len(keyID)+len(data))
	b = append(b, sessionSealed, byte(len(keyID)))
	b = append(b, keyID...)
	return append(b, data...)
}

func splitSessionValue(b []byte) (string, []byte, error) {
	if len(b) == 0 || b[0] != sessionSealed {
		return "", b, nil
	}
	if len(b) < 2 || len(b) < 2+int(b[1]) || b[1] == 0 {
		return "", nil, fmt.Errorf("%w: truncated envelope", ErrCorrupt)
	}
	n := int(b[1])
	return string(b[2 : 2+n]), b[2+n:], nil
}

// scs panics when the context has no session; these turn that into
// ErrNoSession.
func sessionGet(sm *scs.SessionManager, ctx context.Context, name string) (v any, err error) {
	err = sessionDo(ctx, func() { v = sm.Get(ctx, name) })
	return v, err
}

func sessionDo(_ context.Context, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if msg, ok := r.(string); !ok || !strings.Contains(msg, "no session data in context") {
				panic(r)
			}
			err = fmt.Errorf("%w (wrap the handler with SessionManager.LoadAndSave)", ErrNoSession)
		}
	}()
	f()
	return nil
}
