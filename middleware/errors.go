package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// ErrUnavailable matches the errors the Guard hands to Config.ErrorHandler
// when TikTok or the token store failed in a way that may pass (5xx, 429,
// timeouts, a store that is down). The user stays logged in; the answer is
// 503. The cause is wrapped too.
var ErrUnavailable = errors.New("middleware: tiktok or the token store is unavailable")

// unavailableError wraps a transient cause so that it matches
// ErrUnavailable.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return ErrUnavailable.Error() + ": " + e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return &unavailableError{err: err}
}

// StatusCode returns the HTTP status that suits an error met by a guarded
// request: 401 for "log in again" (tokenstore.ErrLoginRequired), 403 for a
// missing scope, 429 for a spent TikTok quota (client.ErrRateLimited: the
// client's own *client.QuotaError, or TikTok's 429 after the retries), 503
// for ErrUnavailable, another transient TikTok failure or a cancelled
// request, 502 for another TikTok error, and 500 for anything else.
func StatusCode(err error) int {
	var (
		oe *client.OAuthError
		ae *client.APIError
		re *client.ResponseError
	)
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, tokenstore.ErrLoginRequired):
		return http.StatusUnauthorized
	case errors.Is(err, client.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrUnavailable), client.IsTemporary(err),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, client.ErrMissingScope), errors.Is(err, client.ErrScopeNotAuthorized):
		return http.StatusForbidden
	case errors.As(err, &oe), errors.As(err, &ae), errors.As(err, &re):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// HandleError answers a guarded request whose TikTok call failed with err,
// and reports whether it wrote an answer (false only for a nil err). Call it
// from a handler behind RequireTikTok:
//
//	info, err := u.UserInfo(ctx)
//	if guard.HandleError(w, r, err) {
//		return
//	}
//
// A "log in again" (the forced refresh after access_token_invalid met
// invalid_grant: the user removed the app) clears the identity and answers
// through Config.Unauthorized, so an HTML page redirects to login and an API
// call gets 401. A transient failure (TikTok down, the store down) answers
// 503 through Config.ErrorHandler and keeps the login; a spent quota (the
// client's own *client.QuotaError or TikTok's 429) answers 429 with
// Retry-After the same way. An
// access_token_invalid that reached the handler (a call that is not safe to
// repeat) asks the token source for a forced refresh, so the next request
// works, and answers 503, or "log in again" when the grant is gone. A
// missing scope answers through Config.InsufficientScope. Anything else goes
// to Config.ErrorHandler (502 for TikTok errors, 500 otherwise).
func (g *Guard) HandleError(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, tokenstore.ErrLoginRequired):
		g.loginAgain(w, r, err)
	case errors.Is(err, ErrUnavailable) || client.IsTemporary(err):
		g.errorHandler(w, r, unavailable(err))
	case errors.Is(err, client.ErrAccessTokenInvalid):
		g.accessTokenInvalid(w, r, err)
	case errors.Is(err, client.ErrMissingScope), errors.Is(err, client.ErrScopeNotAuthorized):
		var me *client.MissingScopeError
		var missing []string
		if errors.As(err, &me) && me.Scope != "" {
			missing = []string{me.Scope}
		}
		g.insufficientScope(w, r, missing)
	default:
		g.errorHandler(w, r, err)
	}
	return true
}

// accessTokenInvalid handles a dead token that the user client could not
// replace by itself.
func (g *Guard) accessTokenInvalid(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	// One forced refresh per request: when the user client already tried
	// (and failed), trying again here would only double the wait.
	if u, ok := client.FromContext(ctx); ok && u.Key() != "" && !u.ForcedRefresh() {
		if _, ferr := g.tokens.ForceRefresh(ctx, u.Key(), u.Token()); ferr != nil {
			if errors.Is(ferr, tokenstore.ErrLoginRequired) {
				g.loginAgain(w, r, ferr)
				return
			}
			err = errors.Join(err, ferr)
		}
	}
	g.errorHandler(w, r, unavailable(err))
}

// loginAgain clears the identity and answers as Unauthorized.
func (g *Guard) loginAgain(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	g.logger.LogAttrs(ctx, slog.LevelInfo, "tiktok: login required again", slog.String("error", err.Error()))
	g.identity.Clear(ctx)
	g.unauthorized.ServeHTTP(w, r)
}

// wantsHTML reports whether r is a page load that a redirect can answer: a
// GET or HEAD outside the API prefixes from a client that does not ask for
// JSON. A browser's navigation (Accept with text/html) is one; so is a plain
// HTTP client that accepts anything. A script's fetch (Sec-Fetch-Mode cors,
// X-Requested-With) or a client that prefers JSON gets JSON.
func (g *Guard) wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	for _, p := range g.apiPrefixes {
		if strings.HasPrefix(r.URL.Path, p) {
			return false
		}
	}
	h := r.Header
	accept := h.Get("Accept")
	if strings.Contains(accept, "text/html") {
		return true
	}
	if h.Get("X-Requested-With") != "" {
		return false
	}
	switch h.Get("Sec-Fetch-Mode") {
	case "cors", "no-cors", "same-origin", "websocket":
		return false
	}
	return accept == "" || strings.Contains(accept, "*/*")
}

// loginURL returns LoginPath with return_to set to r's path and query, and
// scope set to scopes when there are any.
func (g *Guard) loginURL(r *http.Request, scopes []string) string {
	ret := r.RequestURI // unchanged by http.StripPrefix and routers
	if ret == "" || ret[0] != '/' {
		ret = r.URL.RequestURI()
	}
	var b strings.Builder
	b.WriteString(g.loginPath)
	b.WriteByte(g.loginSep)
	b.WriteString("return_to=")
	b.WriteString(url.QueryEscape(ret))
	if len(scopes) > 0 {
		b.WriteString("&scope=")
		b.WriteString(url.QueryEscape(strings.Join(scopes, ",")))
	}
	return b.String()
}

var bodyLoginRequired = []byte(`{"error":"login_required"}`)

func (g *Guard) defaultUnauthorized(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept")
	if g.wantsHTML(r) {
		h.Set("Location", g.loginURL(r, nil))
		w.WriteHeader(http.StatusFound)
		return
	}
	writeJSON(w, http.StatusUnauthorized, bodyLoginRequired)
}

func (g *Guard) defaultInsufficientScope(w http.ResponseWriter, r *http.Request, missing []string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept")
	if g.wantsHTML(r) {
		if len(missing) == 0 {
			writePlain(w, http.StatusForbidden, "TikTok did not grant a permission this page needs.")
			return
		}
		h.Set("Location", g.loginURL(r, missing))
		w.WriteHeader(http.StatusFound)
		return
	}
	if missing == nil {
		missing = []string{}
	}
	body, _ := json.Marshal(struct {
		Error         string   `json:"error"`
		MissingScopes []string `json:"missing_scopes"`
	}{"insufficient_scope", missing})
	writeJSON(w, http.StatusForbidden, body)
}

// defaultError logs err and answers StatusCode(err) without its text.
func (g *Guard) defaultError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusCode(err)
	level := slog.LevelWarn
	if status == http.StatusInternalServerError {
		level = slog.LevelError
	}
	g.logger.LogAttrs(r.Context(), level, "tiktok: guarded request failed",
		slog.Int("status", status),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("error", err.Error()))
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept")
	if status == http.StatusTooManyRequests {
		h.Set("Retry-After", RetryAfterSeconds(err))
	}
	if g.wantsHTML(r) {
		writePlain(w, status, errorMessage(status))
		return
	}
	writeJSON(w, status, []byte(`{"error":"`+errorCode(status)+`"}`))
}

// RetryAfterSeconds returns the value of a Retry-After header for err: the
// wait it carries (client.RetryAfter) in whole seconds, rounded up, and at
// least 1.
func RetryAfterSeconds(err error) string {
	d := client.RetryAfter(err)
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

// errorCode is the JSON error code for a status.
func errorCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "login_required"
	case http.StatusForbidden:
		return "insufficient_scope"
	case http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusBadGateway:
		return "tiktok_error"
	}
	return "internal_error"
}

// errorMessage is the sentence an HTML page shows for a status.
func errorMessage(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "TikTok is not reachable right now. Please try again in a moment."
	case http.StatusTooManyRequests:
		return "This app has used its share of TikTok's requests for the moment. Please try again shortly."
	case http.StatusBadGateway:
		return "TikTok could not answer this request."
	case http.StatusForbidden:
		return "TikTok did not grant a permission this page needs."
	case http.StatusUnauthorized:
		return "Please log in with TikTok."
	}
	return "Something went wrong. Please try again later."
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Location")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writePlain(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Location")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n\n" + msg + "\n"))
}
