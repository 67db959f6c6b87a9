package client

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// Refresher replaces a user's token that TikTok refused before its announced
// expiry. The token source of package tokenstore implements it.
type Refresher interface {
	// ForceRefresh returns a token to replace failed, which TikTok refused
	// as access_token_invalid before its expiry. key identifies the user
	// (the store key). An implementation that already holds a newer token
	// than failed returns it without asking TikTok again.
	ForceRefresh(ctx context.Context, key string, failed *Token) (*Token, error)
}

// UserClient is a Client bound to one user's token, for API calls. It is
// safe for concurrent use. Make one per request with ForUser (a single
// allocation) or WithToken.
type UserClient struct {
	c   *Client
	tok atomic.Pointer[Token]
	key string
	r   Refresher
	// forced is set once the UserClient has asked r for a forced refresh,
	// forceFailed once such a refresh failed: after that it asks no more,
	// however many calls meet a dead token.
	forced      atomic.Bool
	forceFailed atomic.Bool
}

// WithToken binds tok to the client. The token is used as is: it is never
// refreshed, and an access_token_invalid answer is returned to the caller.
func (c *Client) WithToken(tok *Token) *UserClient {
	return c.ForUser("", tok, nil)
}

// ForUser binds the token of the user identified by key to the client. When
// a call that is safe to repeat fails with access_token_invalid and r is not
// nil, the UserClient asks r.ForceRefresh once for a replacement, keeps it,
// and repeats the call once. A nil r means no refresh, like WithToken.
func (c *Client) ForUser(key string, tok *Token, r Refresher) *UserClient {
	u := &UserClient{c: c, key: key, r: r}
	u.tok.Store(tok)
	return u
}

// Token returns the current token: the one given to ForUser, or the one a
// forced refresh replaced it with. Treat it as read-only.
func (u *UserClient) Token() *Token { return u.tok.Load() }

// ForcedRefresh reports whether the UserClient has already asked its
// Refresher for a forced refresh. Once such a refresh has failed, the
// UserClient asks no more (it lives for one request, as package middleware
// makes them), so that a refresh that fails or hangs is not waited for
// twice; an error handler that would force a refresh itself checks
// ForcedRefresh first. Only a replacement token that TikTok refuses in its
// turn is refreshed again.
func (u *UserClient) ForcedRefresh() bool { return u.forced.Load() }

// Key returns the user's key given to ForUser ("" for WithToken).
func (u *UserClient) Key() string { return u.key }

// Client returns the app client the UserClient was made from.
func (u *UserClient) Client() *Client { return u.c }

// String describes the user client without secrets.
func (u *UserClient) String() string {
	if u == nil {
		return "client.UserClient(nil)"
	}
	s := "client.UserClient{key=" + u.key + ", token="
	if t := u.tok.Load(); t != nil {
		s += t.String()
	} else {
		s += "nil"
	}
	return s + "}"
}

// Format implements fmt.Formatter: every verb prints the form of String.
func (u *UserClient) Format(f fmt.State, verb rune) { formatRedacted(f, verb, u.String()) }

// LogValue implements slog.LogValuer without secrets.
func (u *UserClient) LogValue() slog.Value {
	if u == nil {
		return slog.StringValue("client.UserClient(nil)")
	}
	attrs := []slog.Attr{slog.String("key", u.key)}
	if t := u.tok.Load(); t != nil {
		attrs = append(attrs, slog.Any("token", *t))
	}
	return slog.GroupValue(attrs...)
}

// contextKey is the type of the context key for a *UserClient.
type contextKey struct{ name string }

var userClientKey = &contextKey{"user client"}

// NewContext returns a copy of ctx that carries u. Middleware uses it to hand
// a request's user-bound client to handlers.
func NewContext(ctx context.Context, u *UserClient) context.Context {
	return context.WithValue(ctx, userClientKey, u)
}

// userContext is a context that carries a UserClient allocated with it, so
// that binding a token and handing it to a request costs one allocation.
type userContext struct {
	context.Context
	u UserClient
}

func (c *userContext) Value(key any) any {
	if key == userClientKey {
		return &c.u
	}
	return c.Context.Value(key)
}

func (c *userContext) String() string { return "client.NewUserContext" }

// NewUserContext is ForUser and NewContext in one allocation: it binds tok to
// the client for the user named key (refreshing through r like ForUser) and
// returns a copy of parent that carries the new UserClient, which it also
// returns. Middleware that runs on every request uses it.
func (c *Client) NewUserContext(parent context.Context, key string, tok *Token, r Refresher) (context.Context, *UserClient) {
	uc := &userContext{Context: parent}
	uc.u.c, uc.u.key, uc.u.r = c, key, r
	uc.u.tok.Store(tok)
	return uc, &uc.u
}

// FromContext returns the *UserClient stored by NewContext or
// NewUserContext, and whether there was a non-nil one.
func FromContext(ctx context.Context) (*UserClient, bool) {
	u, ok := ctx.Value(userClientKey).(*UserClient)
	return u, ok && u != nil
}
