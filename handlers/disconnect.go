package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/justinas/nosurf"

	"github.com/tiktokkit/tiktokkit/tokenstore"
)

func (a *Auth) serveDisconnect(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		a.fail(w, r, ErrMethodNotAllowed)
		return
	}
	// The standard library's check, when configured, runs here on every
	// request. nosurf puts a token in the request context before it calls
	// the handler it wraps, and calls it for a POST only when its check
	// passed.
	if a.crossOrigin != nil {
		if err := a.crossOrigin.Check(r); err != nil {
			a.fail(w, r, fmt.Errorf("%w: %w", ErrCrossOrigin, err))
			return
		}
	} else if !a.skipCSRF && nosurf.Token(r) == "" {
		a.fail(w, r, ErrCSRFUnprotected)
		return
	}
	ctx := r.Context()
	if !a.sessionLoaded(ctx) {
		a.fail(w, r, errNoSession)
		return
	}
	key := a.identity.Key(ctx)
	if key != "" {
		// The user asked to leave: finish even if the browser goes away.
		wctx := context.WithoutCancel(ctx)
		tok, err := a.tokens.Token(wctx, key)
		switch {
		case err == nil:
			a.revoke(ctx, tok, "disconnect")
		case errors.Is(err, tokenstore.ErrLoginRequired):
			// Nothing left to revoke.
		default:
			a.logger.LogAttrs(ctx, slog.LevelWarn, "tiktok disconnect: token not loaded, so not revoked",
				slog.String("open_id", key), errAttr(err))
		}
		derr := a.tokens.Delete(wctx, key)
		a.identity.Clear(ctx)
		rerr := a.sm.RenewToken(ctx)
		if derr != nil {
			a.fail(w, r, fmt.Errorf("%w: delete token: %w", ErrStore, derr))
			return
		}
		if rerr != nil {
			a.fail(w, r, fmt.Errorf("%w: renew session token: %w", ErrSession, rerr))
			return
		}
		a.logger.LogAttrs(ctx, slog.LevelInfo, "tiktok disconnect", slog.String("open_id", key))
		a.loggedOut(ctx)
	}
	redirect(w, a.afterDisconnect, http.StatusSeeOther)
}
