package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tiktokkit/tiktokkit/client"
)

// Outcomes of the login, callback and disconnect handlers. Every error that
// reaches Config.ErrorHandler matches exactly one of them with errors.Is
// (the cause, when there is one, is wrapped too). StatusCode maps them onto
// HTTP statuses.
var (
	// ErrMethodNotAllowed: the request used a method the handler does not
	// serve (Login serves GET, HEAD and POST; Callback GET; Disconnect
	// POST). Status 405.
	ErrMethodNotAllowed = errors.New("handlers: method not allowed")
	// ErrMalformedCallback: the callback query is not what TikTok sends
	// (missing or repeated parameters, both code and error, values too long
	// or with control characters). Status 400.
	ErrMalformedCallback = errors.New("handlers: malformed callback")
	// ErrNoPendingLogin: the browser has no login waiting for this
	// callback: it was already used (a replayed callback), it was dropped
	// for newer ones, or the callback came from another browser. Status
	// 400.
	ErrNoPendingLogin = errors.New("handlers: no pending login")
	// ErrStateMismatch: the browser has pending logins, but none for the
	// callback's state (a forged or foreign callback link). They are left
	// as they are: each can still complete. Status 400.
	ErrStateMismatch = errors.New("handlers: state mismatch")
	// ErrBadPendingLogin: the cookie of the pending login for this state
	// does not open: it was altered or damaged, or it was sealed with
	// another key (Config.PendingLoginKey or the client secret changed).
	// That cookie is deleted; other pending logins and the session are left
	// as they are. Status 400.
	ErrBadPendingLogin = errors.New("handlers: unreadable pending login")
	// ErrLoginExpired: the pending login is older than Config.PendingTTL.
	// Status 400.
	ErrLoginExpired = errors.New("handlers: login expired")
	// ErrLoginDenied: the user refused the consent at TikTok
	// (error=access_denied). Status 400.
	ErrLoginDenied = errors.New("handlers: login denied")
	// ErrAuthorize: TikTok sent the user back with an error other than
	// access_denied; the *AuthorizeError carries its code. Status 502 for
	// server_error and temporarily_unavailable, 400 otherwise.
	ErrAuthorize = errors.New("handlers: authorization failed")
	// ErrScopeNotAllowed: a login asked for a scope that is neither in
	// Config.Scopes nor in Config.StepUpScopes. Status 400.
	ErrScopeNotAllowed = errors.New("handlers: scope not allowed")
	// ErrScopeDeclined: a step-up login (?scope=...) came back without
	// some of the scopes it asked for, because the user unticked them at
	// TikTok. The login itself succeeded with what was granted; the callback
	// answers 403 instead of sending the user back to a page that would
	// ask again.
	ErrScopeDeclined = errors.New("handlers: requested scope declined")
	// ErrExchange: TikTok did not turn the code into a token (it refused
	// the code, failed, or answered without an open_id). Status 502, or
	// 400 when TikTok refused the code itself (invalid_grant: expired,
	// already used, or not from this login), which a new login fixes.
	ErrExchange = errors.New("handlers: code exchange failed")
	// ErrStore: the token store failed to save or delete the token.
	// Status 500.
	ErrStore = errors.New("handlers: token store failed")
	// ErrSession: the session could not be renewed or saved, or the handler
	// runs outside Sessions.LoadAndSave. Status 500.
	ErrSession = errors.New("handlers: session failed")
	// ErrLoginRefused: Config.OnLogin refused the login; the hook's error is
	// wrapped too. The token was revoked and not kept. Status 403.
	ErrLoginRefused = errors.New("handlers: login refused")
	// ErrCSRFUnprotected: Disconnect ran without a nosurf handler around it
	// and Config.InsecureSkipCSRFCheck is false. Status 403.
	ErrCSRFUnprotected = errors.New("handlers: disconnect is not protected against csrf")
	// ErrCrossOrigin: Config.CrossOriginProtection refused a Disconnect
	// that came from another origin (a cross-site form or script); its
	// error is wrapped too. Status 403.
	ErrCrossOrigin = errors.New("handlers: cross-origin request refused")
)

// AuthorizeError is an error TikTok reported on the callback (the error and
// error_description query parameters). It matches ErrAuthorize, and
// ErrLoginDenied too when Code is "access_denied".
type AuthorizeError struct {
	// Code is TikTok's error value, such as "access_denied" or
	// "server_error".
	Code string
	// Description is TikTok's error_description, with control characters
	// removed and cut to 256 bytes. It comes from the browser: never show it
	// as HTML without escaping.
	Description string
}

// Error returns "handlers: tiktok returned error <code>: <description>".
func (e *AuthorizeError) Error() string {
	s := "handlers: tiktok returned error " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is reports whether target is ErrAuthorize, or ErrLoginDenied for
// access_denied.
func (e *AuthorizeError) Is(target error) bool {
	switch target {
	case ErrAuthorize:
		return true
	case ErrLoginDenied:
		return e.Code == "access_denied"
	}
	return false
}

// temporary reports whether TikTok's authorize page failed on its side.
func (e *AuthorizeError) temporary() bool {
	return e.Code == "server_error" || e.Code == "temporarily_unavailable"
}

// StatusCode returns the HTTP status that suits err: 400 for a bad or
// replayed callback, a bad state, an expired or denied login and a refused
// scope; 403 when the OnLogin hook refused, a step-up scope was declined or
// Disconnect is unprotected; 405
// for a wrong method; 502 when TikTok failed; 500 for the store, the session
// and anything unknown.
func StatusCode(err error) int {
	var ae *AuthorizeError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrLoginRefused), errors.Is(err, ErrCSRFUnprotected), errors.Is(err, ErrScopeDeclined),
		errors.Is(err, ErrCrossOrigin):
		return http.StatusForbidden
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.As(err, &ae):
		if ae.temporary() {
			return http.StatusBadGateway
		}
		return http.StatusBadRequest
	case errors.Is(err, ErrMalformedCallback), errors.Is(err, ErrNoPendingLogin),
		errors.Is(err, ErrStateMismatch), errors.Is(err, ErrBadPendingLogin), errors.Is(err, ErrLoginExpired),
		errors.Is(err, ErrLoginDenied), errors.Is(err, ErrScopeNotAllowed):
		return http.StatusBadRequest
	case codeRefused(err):
		return http.StatusBadRequest
	case errors.Is(err, ErrExchange):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// UserMessage returns a short, fixed sentence about err that is safe to show
// to the user: it never contains error text, a token or anything that came
// with the request.
func UserMessage(err error) string {
	switch {
	case errors.Is(err, ErrLoginRefused):
		return "This TikTok account cannot sign in here."
	case errors.Is(err, ErrCSRFUnprotected):
		return "This action is not available."
	case errors.Is(err, ErrCrossOrigin):
		return "This request came from another site and was refused."
	case errors.Is(err, ErrMethodNotAllowed):
		return "This address does not accept this kind of request."
	case errors.Is(err, ErrLoginDenied):
		return "TikTok login was cancelled."
	case errors.Is(err, ErrLoginExpired), errors.Is(err, ErrNoPendingLogin), errors.Is(err, ErrStateMismatch),
		errors.Is(err, ErrBadPendingLogin), codeRefused(err):
		return "This login link is no longer valid. Please start the login again."
	case errors.Is(err, ErrMalformedCallback):
		return "The answer from TikTok could not be understood. Please start the login again."
	case errors.Is(err, ErrScopeNotAllowed):
		return "This permission cannot be requested."
	case errors.Is(err, ErrScopeDeclined):
		return "TikTok did not grant the permission this page needs. You are still logged in; start again to grant it."
	case errors.Is(err, ErrAuthorize), errors.Is(err, ErrExchange):
		return "TikTok could not complete the login. Please try again later."
	}
	return "Something went wrong. Please try again later."
}

// codeRefused reports whether err is a code exchange that TikTok refused
// for the code itself (invalid_grant in an answer that is not a 5xx): the
// user's stale or reused callback, not TikTok failing.
func codeRefused(err error) bool {
	return errors.Is(err, ErrExchange) && errors.Is(err, client.ErrInvalidGrant) && !client.IsTemporary(err)
}

// LogLevel is the level the default error handler logs err at: DEBUG for
// what the user caused and a new login fixes (a stale or replayed
// callback, denied consent or a declined scope, a refused code, a wrong
// method), so that an app's tests of those paths and a busy site's log
// stay quiet at slog.Default's INFO level; INFO for a login the OnLogin
// hook refused (the app's own decision); WARN for a refused cross-origin
// request or an unprotected Disconnect (an attack or a wiring mistake);
// ERROR for 5xx.
func LogLevel(err error) slog.Level {
	status := StatusCode(err)
	switch {
	case status >= 500:
		return slog.LevelError
	case errors.Is(err, ErrCrossOrigin), errors.Is(err, ErrCSRFUnprotected):
		return slog.LevelWarn
	case errors.Is(err, ErrLoginRefused):
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// defaultErrorHandler logs err at LogLevel with its status and writes a
// plain text page with UserMessage. It never writes the error's text.
func defaultErrorHandler(logger *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status := StatusCode(err)
		level := LogLevel(err)
		logger.LogAttrs(r.Context(), level, "tiktok auth request failed",
			slog.Int("status", status),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("error", err.Error()))
		writePlain(w, status, UserMessage(err))
	}
}

// writePlain writes a small text/plain page that caches nowhere.
func writePlain(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Del("Location")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n\n" + msg + "\n"))
}

// cleanText removes control characters from s and cuts it to max bytes on a
// character boundary, for text that came from the browser and goes to logs.
func cleanText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return -1
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}
