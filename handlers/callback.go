package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// Limits on what a callback query may carry.
const (
	maxCallbackQuery = 8 << 10
	maxStateLen      = 512
	maxCodeLen       = 2048
	maxScopesLen     = 1024
	maxErrorLen      = 256
	maxErrorDescLen  = 1024
)

// revokeTimeout bounds a best-effort revoke, which runs even when the
// browser has gone away.
const revokeTimeout = 10 * time.Second

// callbackQuery is the parsed query of TikTok's redirect back.
type callbackQuery struct {
	State     string
	Code      string
	Scopes    []string
	Error     string
	ErrorDesc string
}

// parseCallbackQuery parses the raw query of a callback strictly: state is
// required, and exactly one of code and error; none of the parameters TikTok
// documents may appear twice; values are bounded and free of control
// characters. Parameters TikTok does not document are ignored.
func parseCallbackQuery(raw string) (callbackQuery, error) {
	var q callbackQuery
	if len(raw) > maxCallbackQuery {
		return q, fmt.Errorf("%w: query too long", ErrMalformedCallback)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("%w: query does not parse", ErrMalformedCallback)
	}
	one := func(name string, max int) (string, bool, error) {
		v, ok := vals[name]
		switch {
		case !ok:
			return "", false, nil
		case len(v) != 1:
			return "", false, fmt.Errorf("%w: parameter %s repeated", ErrMalformedCallback, name)
		case len(v[0]) > max:
			return "", false, fmt.Errorf("%w: parameter %s too long", ErrMalformedCallback, name)
		case hasControl(v[0]):
			return "", false, fmt.Errorf("%w: parameter %s has control characters", ErrMalformedCallback, name)
		}
		return v[0], true, nil
	}
	var scopes string
	var hasCode, hasError bool
	for _, p := range []struct {
		name string
		max  int
		dst  *string
		seen *bool
	}{
		{"state", maxStateLen, &q.State, nil},
		{"code", maxCodeLen, &q.Code, &hasCode},
		{"scopes", maxScopesLen, &scopes, nil},
		{"error", maxErrorLen, &q.Error, &hasError},
		{"error_description", maxErrorDescLen, &q.ErrorDesc, nil},
	} {
		v, ok, err := one(p.name, p.max)
		if err != nil {
			return callbackQuery{}, err
		}
		*p.dst = v
		if p.seen != nil {
			*p.seen = ok
		}
	}
	switch {
	case q.State == "":
		return callbackQuery{}, fmt.Errorf("%w: state missing", ErrMalformedCallback)
	case hasCode && hasError:
		return callbackQuery{}, fmt.Errorf("%w: both code and error", ErrMalformedCallback)
	case hasError && q.Error == "":
		return callbackQuery{}, fmt.Errorf("%w: empty error", ErrMalformedCallback)
	case !hasError && q.Code == "":
		return callbackQuery{}, fmt.Errorf("%w: code missing", ErrMalformedCallback)
	}
	q.Scopes = client.ParseScopes(scopes)
	return q, nil
}

// hasControl reports whether s holds an ASCII control character.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

func (a *Auth) serveCallback(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	// Not even HEAD: a link checker must not use up the pending login.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		a.fail(w, r, ErrMethodNotAllowed)
		return
	}
	ctx := r.Context()
	if !a.sessionLoaded(ctx) {
		a.fail(w, r, errNoSession)
		return
	}
	q, err := parseCallbackQuery(r.URL.RawQuery)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.takePending(w, r, q.State)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if q.Error != "" {
		a.fail(w, r, &AuthorizeError{Code: cleanText(q.Error, 64), Description: cleanText(q.ErrorDesc, 256)})
		return
	}

	tok, err := a.client.Exchange(ctx, q.Code,
		client.WithVerifier(p.Verifier), client.WithExchangeRedirectURL(p.RedirectURL))
	if err != nil {
		a.fail(w, r, fmt.Errorf("%w: %w", ErrExchange, err))
		return
	}
	granted := grantedScopes(tok.Scopes, q.Scopes)
	if len(tok.Scopes) == 0 && len(granted) > 0 {
		t := *tok
		t.Scopes = granted
		tok = &t
	}
	if tok.AccessToken == "" {
		a.fail(w, r, fmt.Errorf("%w: token response without access token", ErrExchange))
		return
	}
	res := a.newResult(ctx, tok, granted)
	if tok.OpenID == "" {
		// TikTok always sends open_id; should it not, the profile's will do.
		if res.RawProfile.User == nil || res.RawProfile.User.OpenID == "" {
			a.revoke(ctx, tok, "no open_id")
			a.fail(w, r, fmt.Errorf("%w: token response without open_id", ErrExchange))
			return
		}
		t := *tok
		t.OpenID = res.RawProfile.User.OpenID
		tok = &t
		res.UID = t.OpenID
		res.token = tok
	}

	if err := a.sm.RenewToken(ctx); err != nil {
		a.revoke(ctx, tok, "session renewal failed")
		a.fail(w, r, fmt.Errorf("%w: renew session token: %w", ErrSession, err))
		return
	}
	key := res.UID
	if err := a.tokens.Save(ctx, key, tok); err != nil {
		a.revoke(ctx, tok, "token store failed")
		a.fail(w, r, fmt.Errorf("%w: save token: %w", ErrStore, err))
		return
	}
	a.identity.SetKey(ctx, key)

	if a.onLogin != nil {
		if herr := a.onLogin(ctx, r, res); herr != nil {
			a.revoke(ctx, tok, "login refused by the app")
			derr := a.tokens.Delete(context.WithoutCancel(ctx), key)
			a.identity.Clear(ctx)
			if derr != nil {
				a.logger.LogAttrs(ctx, slog.LevelError, "tiktok login: refused token not deleted",
					slog.String("open_id", key), errAttr(derr))
			}
			a.fail(w, r, fmt.Errorf("%w: %w", ErrLoginRefused, herr))
			return
		}
	}
	a.logger.LogAttrs(ctx, slog.LevelInfo, "tiktok login",
		slog.String("open_id", key), slog.Any("scopes", tok.Scopes))
	if missing := tok.MissingScopes(p.StepUp...); len(missing) > 0 && len(tok.Scopes) > 0 {
		// The user declined what the page behind return_to needs. Going
		// back there would send them to TikTok again, in a loop: stop here.
		// They stay logged in with what they granted.
		a.fail(w, r, fmt.Errorf("%w: %s", ErrScopeDeclined, strings.Join(missing, ",")))
		return
	}
	redirect(w, p.ReturnTo, http.StatusFound)
}

// grantedScopes returns the scopes to trust for the profile call: those the
// callback reported (TikTok's scopes parameter), narrowed to the token's
// when the token endpoint reported scopes too.
func grantedScopes(fromToken, fromCallback []string) []string {
	switch {
	case len(fromCallback) == 0:
		return slices.Clone(fromToken)
	case len(fromToken) == 0:
		return slices.Clone(fromCallback)
	}
	var out []string
	for _, s := range fromCallback {
		if slices.Contains(fromToken, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return slices.Clone(fromToken)
	}
	return out
}

// newResult builds the auth result, fetching the profile for the granted
// scopes. A failed profile call is logged and recorded in
// RawProfile.FetchError; the uid is then the token's open_id.
func (a *Auth) newResult(ctx context.Context, tok *client.Token, granted []string) *AuthResult {
	res := &AuthResult{
		Provider:    Provider,
		UID:         tok.OpenID,
		Credentials: credentialsOf(tok),
		token:       tok,
	}
	fields := client.UserFieldsFor(granted)
	if len(fields) == 0 {
		return res
	}
	info, err := a.client.WithToken(tok).UserInfo(ctx, fields...)
	if err != nil {
		a.logger.LogAttrs(ctx, slog.LevelWarn, "tiktok login: profile not fetched, going on with the token's open_id",
			slog.String("open_id", tok.OpenID), errAttr(err))
		res.RawProfile.FetchError = err
		return res
	}
	if info.OpenID != "" && info.OpenID != tok.OpenID {
		a.logger.LogAttrs(ctx, slog.LevelWarn, "tiktok login: profile open_id differs from the token's; keeping the token's",
			slog.String("open_id", tok.OpenID))
	}
	res.Profile = profileOf(info)
	res.RawProfile.User = info
	res.RawProfile.JSON = info.Raw()
	return res
}

// revoke revokes tok at TikTok, best effort: a failure is logged without the
// token. It runs even when the request's context was cancelled.
func (a *Auth) revoke(ctx context.Context, tok *client.Token, why string) {
	if tok == nil || tok.AccessToken == "" {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := a.client.Revoke(rctx, tok.AccessToken); err != nil {
		a.logger.LogAttrs(ctx, slog.LevelWarn, "tiktok: revoke failed; the token may stay valid at TikTok until it expires",
			slog.String("open_id", tok.OpenID), slog.String("reason", why), errAttr(err))
		return
	}
	a.logger.LogAttrs(ctx, slog.LevelDebug, "tiktok: token revoked",
		slog.String("open_id", tok.OpenID), slog.String("reason", why))
}
