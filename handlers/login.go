package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/tiktokkit/tiktokkit/client"
)

// maxFormBytes bounds the body a POST to Login may carry.
const maxFormBytes = 64 << 10

func (a *Auth) serveLogin(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		a.fail(w, r, ErrMethodNotAllowed)
		return
	}
	ctx := r.Context()
	if !a.sessionLoaded(ctx) {
		a.fail(w, r, errNoSession)
		return
	}

	returnTo := r.FormValue("return_to")
	if !SafeReturnTo(returnTo) {
		if returnTo != "" {
			a.logger.LogAttrs(ctx, slog.LevelInfo, "tiktok login: unsafe return_to replaced by the default",
				slog.String("return_to", cleanText(returnTo, 200)))
		}
		returnTo = a.defaultReturnTo
	}
	requested := client.ParseScopes(r.FormValue("scope"))
	scopes, err := a.loginScopes(ctx, requested)
	if err != nil {
		a.fail(w, r, err)
		return
	}

	p := pendingLogin{
		State:       client.GenerateState(),
		Verifier:    client.GenerateVerifier(),
		ReturnTo:    returnTo,
		Scopes:      scopes,
		StepUp:      requested,
		RedirectURL: a.redirectURL,
		Created:     a.client.Now(),
	}
	if err := a.addPending(w, r, p); err != nil {
		a.fail(w, r, err)
		return
	}
	opts := []client.AuthCodeOption{
		client.WithScopes(scopes...),
		client.WithRedirectURL(p.RedirectURL),
		client.WithPKCE(p.Verifier),
	}
	if a.disableAutoAuth {
		opts = append(opts, client.DisableAutoAuth())
	}
	redirect(w, a.client.AuthCodeURL(p.State, opts...), http.StatusFound)
}

// loginScopes returns the scopes a login asks for: the configured ones, and
// for a step-up request (param not empty) also the scopes the user already
// granted and the requested ones, each of which must be allowed.
func (a *Auth) loginScopes(ctx context.Context, requested []string) ([]string, error) {
	scopes := slices.Clone(a.scopes)
	if len(requested) == 0 {
		return scopes, nil
	}
	for _, s := range requested {
		if !a.allowedScope(s) {
			return nil, fmt.Errorf("%w: %q", ErrScopeNotAllowed, cleanText(s, 64))
		}
	}
	if key := a.identity.Key(ctx); key != "" {
		if tok, err := a.tokens.Token(ctx, key); err == nil {
			for _, s := range tok.Scopes {
				if a.allowedScope(s) && !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
		} else {
			a.logger.LogAttrs(ctx, slog.LevelDebug, "tiktok login: current scopes unknown", errAttr(err))
		}
	}
	for _, s := range requested {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes, nil
}

// allowedScope reports whether a login may ask for s.
func (a *Auth) allowedScope(s string) bool {
	return slices.Contains(a.scopes, s) || slices.Contains(a.stepUp, s)
}
