package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// DefaultLoginPath is where unauthenticated HTML requests are sent when
// Config.LoginPath is empty.
const DefaultLoginPath = "/auth/tiktok/login"

// DefaultAPIPrefixes are the path prefixes treated as API routes when
// Config.APIPrefixes is nil.
var DefaultAPIPrefixes = []string{"/api/"}

// Config configures a Guard. Tokens is required, and Sessions unless
// Identity is set; everything else has a default.
type Config struct {
	// Tokens is the token source that hands out valid tokens, refreshing
	// them when needed. Required.
	Tokens *tokenstore.Source
	// Sessions is the app's scs session manager; guarded handlers must be
	// served inside Sessions.LoadAndSave. Required unless Identity is set.
	Sessions *scs.SessionManager
	// Identity maps a request to its store key. It must be the same as the
	// login handlers'. Default tokenstore.SessionIdentity(Sessions).
	Identity tokenstore.Identity
	// LoginPath is the path of the login handler, where HTML requests
	// without a login go (with ?return_to=<path and query>) and where
	// missing scopes are asked for (with &scope=a,b). It may be absolute
	// if login lives on another host of the app. Default
	// DefaultLoginPath ("/auth/tiktok/login").
	LoginPath string
	// Scopes are needed by every request RequireTikTok guards. Default none.
	Scopes []string
	// APIPrefixes are path prefixes of API routes: a request under one of
	// them never gets a redirect to login, only a JSON answer (401, 403,
	// 503), whatever its Accept header says. Default DefaultAPIPrefixes
	// ("/api/"); set an empty non-nil slice for none.
	APIPrefixes []string
	// Unauthorized answers requests without a usable login: no identity in
	// the session, or a token that can no longer be refreshed (the identity
	// is then cleared first). Default: a page load (a GET or HEAD outside
	// APIPrefixes that does not ask for JSON: see the package
	// documentation) gets 302 to LoginPath?return_to=<path and query>;
	// anything else gets 401 with {"error":"login_required"}.
	Unauthorized http.Handler
	// InsufficientScope answers a logged-in request whose token lacks some
	// required scopes (missing lists them; it may be empty when TikTok
	// refused a scope without naming it). Default: a page load gets
	// 302 to a step-up login (LoginPath?return_to=...&scope=a,b; allow the
	// scopes in the login handler's StepUpScopes); anything else gets 403
	// with {"error":"insufficient_scope","missing_scopes":[...]}.
	InsufficientScope func(w http.ResponseWriter, r *http.Request, missing []string)
	// ErrorHandler answers the other failures: TikTok or the store being
	// unavailable (err matches ErrUnavailable: keep the user logged in and
	// ask to retry), and errors that guarded handlers pass to HandleError.
	// StatusCode tells the status to use. Never write err.Error() to the
	// client. Default: log err with Logger and answer StatusCode(err) with
	// a small JSON body, or a plain text page for HTML requests.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives a line for every logout forced by TikTok and every
	// failure; no line carries a token. Default slog.Default().
	Logger *slog.Logger
}

// Guard puts a TikTok user-bound client into the context of requests whose
// session holds a login. Make one with New; it is immutable and safe for
// concurrent use.
type Guard struct {
	tokens            *tokenstore.Source
	client            *client.Client
	identity          tokenstore.Identity
	loginPath         string
	loginSep          byte
	apiPrefixes       []string
	scopes            []string
	unauthorized      http.Handler
	insufficientScope func(w http.ResponseWriter, r *http.Request, missing []string)
	errorHandler      func(w http.ResponseWriter, r *http.Request, err error)
	logger            *slog.Logger
}

// New checks cfg, fills in the defaults and returns a Guard.
func New(cfg Config) (*Guard, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("middleware: Config.Tokens is required")
	}
	c := cfg.Tokens.Client()
	if c == nil {
		return nil, errors.New("middleware: Config.Tokens has no client")
	}
	g := &Guard{
		tokens:            cfg.Tokens,
		client:            c,
		identity:          cfg.Identity,
		loginPath:         cfg.LoginPath,
		scopes:            slices.Clone(cfg.Scopes),
		apiPrefixes:       slices.Clone(cfg.APIPrefixes),
		unauthorized:      cfg.Unauthorized,
		insufficientScope: cfg.InsufficientScope,
		errorHandler:      cfg.ErrorHandler,
		logger:            cfg.Logger,
	}
	if g.identity == nil {
		if cfg.Sessions == nil {
			return nil, errors.New("middleware: Config.Sessions or Config.Identity is required")
		}
		g.identity = tokenstore.SessionIdentity(cfg.Sessions)
	}
	if g.loginPath == "" {
		g.loginPath = DefaultLoginPath
	}
	if cfg.APIPrefixes == nil {
		g.apiPrefixes = slices.Clone(DefaultAPIPrefixes)
	}
	for _, p := range g.apiPrefixes {
		if !strings.HasPrefix(p, "/") {
			return nil, errors.New("middleware: Config.APIPrefixes must be paths starting with '/'")
		}
	}
	if strings.ContainsAny(g.loginPath, "#\\\r\n\t ") {
		return nil, errors.New("middleware: Config.LoginPath must be a plain path or URL")
	}
	g.loginSep = '?'
	if strings.Contains(g.loginPath, "?") {
		g.loginSep = '&'
	}
	for _, s := range g.scopes {
		if s == "" || strings.ContainsAny(s, ", ") {
			return nil, errors.New("middleware: Config.Scopes must be single scope names")
		}
	}
	if g.logger == nil {
		g.logger = slog.Default()
	}
	if g.unauthorized == nil {
		g.unauthorized = http.HandlerFunc(g.defaultUnauthorized)
	}
	if g.insufficientScope == nil {
		g.insufficientScope = g.defaultInsufficientScope
	}
	if g.errorHandler == nil {
		g.errorHandler = g.defaultError
	}
	return g, nil
}

// RequireTikTok lets a request through only with a valid token: it finds
// the store key in the session, asks the token source for a valid token
// (refreshing it when it is about to expire), checks Config.Scopes, and
// calls next with a user-bound client in the request context
// (client.FromContext). Without a usable login it answers through
// Config.Unauthorized; with the token source unavailable it answers 503
// through Config.ErrorHandler and keeps the login.
//
// Its method value has the type func(http.Handler) http.Handler, so it
// plugs into chi's Use and any middleware chain.
func (g *Guard) RequireTikTok(next http.Handler) http.Handler {
	return &guarded{g: g, next: next, scopes: g.scopes, required: true}
}

// OptionalTikTok puts a user-bound client in the request context when the
// session holds a usable login, and calls next either way. A token that can
// no longer be refreshed clears the identity; an unavailable token source is
// logged. Config.Scopes are not checked.
func (g *Guard) OptionalTikTok(next http.Handler) http.Handler {
	return &guarded{g: g, next: next}
}

// RequireScopes returns a middleware like RequireTikTok that also needs
// scopes (on top of Config.Scopes). A token without them is answered
// through Config.InsufficientScope.
func (g *Guard) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	all := slices.Clone(g.scopes)
	for _, s := range scopes {
		if !slices.Contains(all, s) {
			all = append(all, s)
		}
	}
	return func(next http.Handler) http.Handler {
		return &guarded{g: g, next: next, scopes: all, required: true}
	}
}

// UserHandlerFunc is a guarded handler that gets the request's user-bound
// client and returns the error of its TikTok calls instead of answering it.
type UserHandlerFunc func(w http.ResponseWriter, r *http.Request, u *client.UserClient) error

// RequireTikTokFunc is RequireTikTok around fn: fn runs with the request's
// user-bound client, and an error it returns is answered by HandleError (a
// "log in again" sends the user to login, a TikTok outage answers 503, ...).
// fn must not have written a response when it returns an error.
func (g *Guard) RequireTikTokFunc(fn UserHandlerFunc) http.Handler {
	return g.RequireTikTok(userHandler{g: g, fn: fn})
}

type userHandler struct {
	g  *Guard
	fn UserHandlerFunc
}

func (h userHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, _ := client.FromContext(r.Context())
	if err := h.fn(w, r, u); err != nil {
		h.g.HandleError(w, r, err)
	}
}

// guarded is one guarded handler. It is a struct rather than a closure so
// the hot path allocates nothing of its own beyond the user client and the
// request's new context.
type guarded struct {
	g        *Guard
	next     http.Handler
	scopes   []string
	required bool
}

func (h *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := h.g
	ctx := r.Context()
	key := g.identity.Key(ctx)
	if key == "" {
		if h.required {
			g.unauthorized.ServeHTTP(w, r)
		} else {
			h.next.ServeHTTP(w, r)
		}
		return
	}
	tok, err := g.tokens.Token(ctx, key)
	if err != nil {
		h.tokenFailed(w, r, key, err)
		return
	}
	if len(h.scopes) > 0 && !tok.HasScopes(h.scopes...) {
		g.insufficientScope(w, r, tok.MissingScopes(h.scopes...))
		return
	}
	ctx, _ = g.client.NewUserContext(ctx, key, tok, g.tokens)
	h.next.ServeHTTP(w, r.WithContext(ctx))
}

// tokenFailed answers a request whose token could not be had.
func (h *guarded) tokenFailed(w http.ResponseWriter, r *http.Request, key string, err error) {
	g := h.g
	ctx := r.Context()
	if errors.Is(err, tokenstore.ErrLoginRequired) {
		g.logger.LogAttrs(ctx, slog.LevelInfo, "tiktok: login required again",
			slog.String("key", key), slog.String("error", err.Error()))
		g.identity.Clear(ctx)
		if h.required {
			g.unauthorized.ServeHTTP(w, r)
		} else {
			h.next.ServeHTTP(w, r)
		}
		return
	}
	if !h.required {
		g.logger.LogAttrs(ctx, slog.LevelWarn, "tiktok: token unavailable; serving the request without it",
			slog.String("key", key), slog.String("error", err.Error()))
		h.next.ServeHTTP(w, r)
		return
	}
	g.errorHandler(w, r, unavailable(err))
}
