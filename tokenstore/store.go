package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// Sentinel errors. Test for them with errors.Is: the errors returned by the
// stores and the Source wrap them with the key and the cause.
var (
	// ErrNotFound: the store holds no token under the key.
	ErrNotFound = errors.New("tokenstore: not found")

	// ErrLoginRequired: the user has to log in with TikTok again. The
	// Source returns it when there is no token for the key, when TikTok
	// answered invalid_grant to a refresh, or when the refresh token has
	// expired. In the last two cases the token has been deleted.
	ErrLoginRequired = errors.New("tokenstore: login required")

	// ErrUnknownKey: a stored token was encrypted with a key whose ID is not
	// in the KeyRing (or the store has no KeyRing at all). Add the old key
	// back to the ring as an older key; the token is kept.
	ErrUnknownKey = errors.New("tokenstore: unknown encryption key")

	// ErrCorrupt: a stored token cannot be decoded: it was truncated,
	// altered, moved to another key's row, or is not a token at all. The
	// token is kept so that it can be inspected; it is never silently
	// treated as "logged out".
	ErrCorrupt = errors.New("tokenstore: corrupt token")

	// ErrNoSession: the Session store or SessionIdentity was used with a
	// context that carries no scs session (the handler is not wrapped by
	// SessionManager.LoadAndSave).
	ErrNoSession = errors.New("tokenstore: no session in context")
)

// Store keeps one token per key. The key is the user's identity for the
// app, by default the TikTok open_id (see Identity).
//
// The contract every implementation follows, checked by package storetest:
//
//   - Get returns ErrNotFound (possibly wrapped) when there is no token.
//   - Put is an upsert that is atomic per key: a Get never sees a mix of two
//     tokens, only the whole of one of them.
//   - Concurrent Puts on one key: one of them wins, whole (last writer wins;
//     there is no ordering between writers). A Put concurrent with a Delete
//     leaves either the token or nothing. Callers that must not lose a
//     rotated refresh token serialise their writes per key with a lease (see
//     Leaser), which is what Source does; callers that must not undo a
//     delete overwrite with Replace (see Replacer).
//   - Delete of a missing key is not an error.
//   - Put stores a copy, so the caller may reuse its *client.Token. The
//     *client.Token returned by Get is read-only: it may be shared with other
//     callers (the Memory store hands out the same pointer every time), so
//     never modify it; copy it first.
//   - Keys are arbitrary non-empty UTF-8 strings (no NUL byte), compared byte
//     for byte, at least 255 characters long.
//   - All methods are safe for concurrent use.
type Store interface {
	// Get returns the token stored under key, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, key string) (*client.Token, error)
	// Put stores tok under key, replacing any token there (upsert).
	Put(ctx context.Context, key string, tok *client.Token) error
	// Delete removes the token under key. A missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Leaser is implemented by stores that can lend a short, exclusive lease on
// a key to one holder at a time. Several instances of an app sharing a
// store use it so that only one of them refreshes a user's token while the
// others wait and reload (TikTok rotates refresh tokens: two refreshes with
// the same refresh token log the user out).
//
// A lease is independent of the token: Put and Get work whatever its state,
// and Put keeps it. Delete of the key may end it.
type Leaser interface {
	// TryLease takes the lease on key for holder for ttl and reports
	// whether it did. It succeeds when no one holds the lease, when the
	// lease has expired (so a crashed holder is survived after ttl), when
	// holder already holds it (the lease is then extended), or when the
	// lease ends further ahead than a lease of ttl taken now could (more
	// than ttl plus a quarter of it for clock differences): a clock gone
	// wrong or a bad write never blocks a key for longer than the lease
	// time. It never blocks waiting for another holder.
	TryLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if holder holds it; otherwise it does
	// nothing and returns nil.
	ReleaseLease(ctx context.Context, key, holder string) error
}

// LeaseTakeover is implemented by leasing stores that can tell a lease
// that was free (never taken, or released) from one taken over from a
// holder whose lease lapsed without being released. Such a holder may be
// alive, with a rotated token that it could not save while the store was
// down: Source, when it takes over a lapsed lease, gives that holder a
// third of the lease time to save it before it refreshes itself (see
// the package documentation, "Store outages").
type LeaseTakeover interface {
	Leaser
	// TryLeaseTakeover is TryLease that also reports, when it won the
	// lease, whether it took it from another holder (tookOver): the lease
	// had lapsed, or ended too far ahead, without being released.
	TryLeaseTakeover(ctx context.Context, key, holder string, ttl time.Duration) (won, tookOver bool, err error)
}

// LeaseClearer is implemented by leasing stores that can store a token and
// end any lease on its key in one write. Source.Save (a login) uses it, so
// that a lease left behind by an instance that crashed never holds up the
// user's new login.
type LeaseClearer interface {
	// PutClearLease is Put that also frees the key's lease, whoever holds
	// it.
	PutClearLease(ctx context.Context, key string, tok *client.Token) error
}

// Replacer is implemented by stores that can overwrite a token only if it
// is still the one the caller read (compare and swap). Source saves a
// refreshed token with Replace when the store has it, so that whatever
// happened to the key while the refresh was at TikTok stands: a delete (a
// disconnect or a deauthorization webhook served by another instance) is
// not undone, and a newer token (the user logged in again) is not
// overwritten with the old grant's.
type Replacer interface {
	// Replace stores tok under key if key still holds old, compared by
	// access and refresh token, and reports whether it did. When key holds
	// nothing or another token, it stores nothing and returns false and a
	// nil error. Like Put, it is atomic per key and keeps any lease on the
	// key.
	Replace(ctx context.Context, key string, old, tok *client.Token) (bool, error)
}

// Lister is implemented by stores that can list their keys, for maintenance
// jobs (refreshing tokens ahead of time, migrating rows to a new encryption
// key, counting users).
type Lister interface {
	// Keys returns every key that holds a token, in byte order.
	Keys(ctx context.Context) ([]string, error)
}

// CacheAdvisor is implemented by stores that tell a Source whether it may
// keep their tokens in its in-process cache (SourceConfig.CacheSize).
// NewSource asks once: when Cacheable returns false, the Source has no
// cache whatever CacheSize says, and every Token and ForceRefresh reads the
// store; when it returns true, or the store is no CacheAdvisor, CacheSize
// decides.
//
// Say no when a cache would not help or would be wrong: when Get costs no
// more than a cache hit (Memory keeps its tokens in this process), or when
// the token a Get returns depends on the call's context and not on the key
// alone (Session reads it from the request's own session, so a cache keyed
// by store key would hand one session's grant to another session's
// request). Memory and Session return false.
type CacheAdvisor interface {
	// Cacheable reports whether a Source may cache this store's tokens by
	// key.
	Cacheable() bool
}

// cacheable reports whether a Source may cache st's tokens: unless st is a
// CacheAdvisor that says no.
func cacheable(st Store) bool {
	a, ok := st.(CacheAdvisor)
	return !ok || a.Cacheable()
}

// sameToken reports whether stored is the token old, as Replace compares
// them: by access and refresh token.
func sameToken(stored, old *client.Token) bool {
	return stored != nil && stored.AccessToken == old.AccessToken && stored.RefreshToken == old.RefreshToken
}

// loginRequiredError is the error behind ErrLoginRequired: it names the key
// and keeps the cause (ErrNotFound, client.ErrInvalidGrant, ...).
type loginRequiredError struct {
	key    string
	reason string
	cause  error
}

func (e *loginRequiredError) Error() string {
	msg := fmt.Sprintf("tokenstore: login required for key %q: %s", e.key, e.reason)
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *loginRequiredError) Is(target error) bool { return target == ErrLoginRequired }

func (e *loginRequiredError) Unwrap() error { return e.cause }

func loginRequired(key, reason string, cause error) error {
	return &loginRequiredError{key: key, reason: reason, cause: cause}
}

// notFound wraps ErrNotFound with the key.
func notFound(key string) error {
	return fmt.Errorf("%w: key %q", ErrNotFound, key)
}

// copyToken returns a deep copy of tok (the Scopes slice is not shared).
func copyToken(tok *client.Token) *client.Token {
	c := *tok
	if tok.Scopes != nil {
		c.Scopes = append(make([]string, 0, len(tok.Scopes)), tok.Scopes...)
	}
	return &c
}

var (
	errNilToken    = errors.New("tokenstore: nil token")
	errEmptyHolder = errors.New("tokenstore: lease holder must not be empty")
)

// maxLeaseAhead is how far ahead of now a lease of ttl may end before
// TryLease treats it as bogus: ttl, plus a quarter of it for the clocks of
// instances that differ a little.
func maxLeaseAhead(ttl time.Duration) time.Duration { return ttl + ttl/4 }
