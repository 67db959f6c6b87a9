package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Names of the handlers reported to Hooks.
const (
	HandlerCallback   = "callback"
	HandlerDisconnect = "disconnect"
)

// Hooks receives what the handlers do, for metrics and traces; package
// otelkit implements it on OpenTelemetry. Set Config.Hooks to use it; a nil
// Hooks costs nothing. Methods are called synchronously on the request's
// goroutine and must be quick and safe for concurrent use. Nothing passed
// to them holds a token, a code, a state or a verifier.
type Hooks interface {
	// HandlerStart is called when Callback or Disconnect begins to serve a
	// request (handler is HandlerCallback or HandlerDisconnect). The
	// returned context (ctx itself, or one carrying a span) becomes the
	// request's context.
	HandlerStart(ctx context.Context, handler string) context.Context
	// HandlerEnd is called when the handler has answered: err is the error
	// it passed to ErrorHandler, nil on success (Outcome names it).
	HandlerEnd(ctx context.Context, handler string, err error)
	// Logout is called when Disconnect deleted the user's token, with
	// tokenstore.LogoutDisconnect.
	Logout(ctx context.Context, reason tokenstore.LogoutReason)
}

// Outcome names the result of a handler for metrics and traces: "ok" for
// nil, else the name of the package's outcome err matches
// ("no_pending_login", "login_denied", "exchange", ...), or "error".
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	for _, o := range outcomeNames {
		if errors.Is(err, o.err) {
			return o.name
		}
	}
	return "error"
}

var outcomeNames = []struct {
	err  error
	name string
}{
	{ErrMethodNotAllowed, "method_not_allowed"},
	{ErrMalformedCallback, "malformed_callback"},
	{ErrNoPendingLogin, "no_pending_login"},
	{ErrStateMismatch, "state_mismatch"},
	{ErrLoginExpired, "login_expired"},
	{ErrLoginDenied, "login_denied"},
	{ErrAuthorize, "authorize"},
	{ErrScopeNotAllowed, "scope_not_allowed"},
	{ErrScopeDeclined, "scope_declined"},
	{ErrExchange, "exchange"},
	{ErrStore, "store"},
	{ErrSession, "session"},
	{ErrLoginRefused, "login_refused"},
	{ErrCSRFUnprotected, "csrf_unprotected"},
	{ErrCrossOrigin, "cross_origin"},
}

// handlerOutcome is where fail leaves the error of an observed request.
type handlerOutcome struct{ err error }

type outcomeKey struct{}

// observed returns serve as a handler, reported to the hooks when they are
// set.
func (a *Auth) observed(name string, serve http.HandlerFunc) http.Handler {
	if a.hooks == nil {
		return serve
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out handlerOutcome
		ctx := a.hooks.HandlerStart(r.Context(), name)
		ctx = context.WithValue(ctx, outcomeKey{}, &out)
		serve(w, r.WithContext(ctx))
		a.hooks.HandlerEnd(ctx, name, out.err)
	})
}

// noteFailure records err for the hooks of an observed request.
func noteFailure(r *http.Request, err error) {
	if out, ok := r.Context().Value(outcomeKey{}).(*handlerOutcome); ok {
		out.err = err
	}
}

// loggedOut reports the user's disconnect to the hooks.
func (a *Auth) loggedOut(ctx context.Context) {
	if a.hooks != nil {
		a.hooks.Logout(ctx, tokenstore.LogoutDisconnect)
	}
}
