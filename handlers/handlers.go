package handlers

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Defaults applied by New.
const (
	// DefaultPendingTTL is how long a started login waits for its callback.
	DefaultPendingTTL = 10 * time.Minute
	// DefaultMaxPending is how many logins a browser may have waiting at
	// once (one per browser tab, say).
	DefaultMaxPending = 5
)

// Config configures the handlers. Client (or Tokens), Tokens and Sessions
// are required; everything else has a default.
type Config struct {
	// Client talks to TikTok: it makes the authorize URL and exchanges and
	// revokes tokens. Default Tokens.Client().
	Client *client.Client
	// Tokens is the token source: the callback saves the new token there,
	// Disconnect deletes it. Required.
	Tokens *tokenstore.Source
	// Sessions is the app's scs session manager. The handlers must be
	// served inside Sessions.LoadAndSave: the session records the logins
	// already used and the identity, and its token is renewed at login and
	// disconnect.
	// Required. Cookie attributes are the app's choice (see the package
	// documentation for the recommended ones).
	Sessions *scs.SessionManager
	// Identity maps a request to its store key. It must be the same as the
	// middleware's. Default tokenstore.SessionIdentity(Sessions).
	Identity tokenstore.Identity
	// RedirectURL is the redirect_uri sent to TikTok and repeated at the
	// exchange: the absolute URL where Callback is mounted, registered with
	// TikTok byte for byte. Default Client.Config().RedirectURL.
	RedirectURL string
	// DefaultReturnTo is where the callback sends the user when the login
	// had no return_to or an unsafe one. It must pass SafeReturnTo.
	// Default "/".
	DefaultReturnTo string
	// AfterDisconnect is where Disconnect sends the user. It must pass
	// SafeReturnTo. Default "/".
	AfterDisconnect string
	// Scopes are asked for at every login. Default Client.Config().Scopes.
	Scopes []string
	// StepUpScopes are the extra scopes a login may ask for with
	// ?scope=a,b (the middleware's step-up redirect does so). Any other
	// scope in that parameter is refused with ErrScopeNotAllowed.
	// Default none: only Scopes may be asked for.
	StepUpScopes []string
	// DisableAutoAuth makes TikTok show its consent page every time
	// (disable_auto_auth=1), which lets a user switch accounts.
	// Default false.
	DisableAutoAuth bool
	// PendingTTL is how long a started login stays valid. Default
	// DefaultPendingTTL (10 minutes).
	PendingTTL time.Duration
	// MaxPending bounds the logins a browser may have waiting at once;
	// starting one more drops the oldest. Default DefaultMaxPending (5).
	MaxPending int
	// PendingLoginKey is the secret from which the key that seals the
	// pending-login cookies is derived (HKDF-SHA256, then AES-256-GCM). Set
	// it, at least 32 random bytes and the same on every instance, to
	// seal them independently of the client secret. Changing it (or the
	// client secret) only makes the logins waiting at that moment fail
	// with ErrBadPendingLogin. Default: derived from the client's
	// ClientSecret.
	PendingLoginKey []byte
	// OnLogin, when set, is called after the token was saved and the
	// identity recorded: link the TikTok account to your own user here. A
	// non-nil error refuses the login: the token is revoked at TikTok and
	// deleted, the identity is cleared, and ErrorHandler gets an error
	// matching ErrLoginRefused (and the hook's error). Default none.
	OnLogin func(ctx context.Context, r *http.Request, res *AuthResult) error
	// ErrorHandler writes the answer for every failure. err matches one of
	// the package's Err* outcomes; StatusCode and UserMessage help to
	// answer. Never write err.Error() to the browser. Default: log err with
	// Logger and write a plain text page with StatusCode(err) and
	// UserMessage(err).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives one line per login, disconnect and failure; no line
	// carries a token, a code or a state. Default slog.Default().
	Logger *slog.Logger
	// CrossOriginProtection, when set, protects Disconnect with the
	// standard library's CSRF defence: Disconnect calls its Check on every
	// request and refuses one from another origin (ErrCrossOrigin, 403).
	// It needs no token in the page and no extra dependency; it decides by
	// Sec-Fetch-Site, or by Origin against Host for browsers that send no
	// Sec-Fetch-Site, and lets requests with neither (not from a browser)
	// through. Pass the same value the app may also wrap its mux with
	// (http.NewCrossOriginProtection(), with AddTrustedOrigin for other
	// origins of the app). nosurf around Disconnect protects it too.
	CrossOriginProtection *http.CrossOriginProtection
	// InsecureSkipCSRFCheck lets Disconnect run without nosurf around it
	// and without CrossOriginProtection. Only for apps that protect it
	// against cross-site requests some other way. Default false:
	// Disconnect refuses (ErrCSRFUnprotected) unless one of them protects it.
	InsecureSkipCSRFCheck bool
	// Hooks, when set, is told about every callback and disconnect and
	// their outcome, for metrics and traces (package otelkit implements it
	// on OpenTelemetry). Default nil: nothing is reported, at no cost.
	Hooks Hooks
}

// Auth serves "Log in with TikTok": Login, Callback and Disconnect. Make one
// with New; it is immutable and safe for concurrent use.
type Auth struct {
	client          *client.Client
	tokens          *tokenstore.Source
	sm              *scs.SessionManager
	identity        tokenstore.Identity
	redirectURL     string
	defaultReturnTo string
	afterDisconnect string
	scopes          []string
	stepUp          []string
	disableAutoAuth bool
	pendingTTL      time.Duration
	maxPending      int
	onLogin         func(ctx context.Context, r *http.Request, res *AuthResult) error
	errorHandler    func(w http.ResponseWriter, r *http.Request, err error)
	logger          *slog.Logger
	skipCSRF        bool
	crossOrigin     *http.CrossOriginProtection
	aead            cipher.AEAD // seals pending-login cookies
	secureCookies   bool        // RedirectURL is https: Secure, __Host- cookies
	hooks           Hooks
}

// New checks cfg, fills in the defaults and returns the handlers.
func New(cfg Config) (*Auth, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("handlers: Config.Tokens is required")
	}
	if cfg.Sessions == nil {
		return nil, errors.New("handlers: Config.Sessions is required")
	}
	if cfg.Client == nil {
		cfg.Client = cfg.Tokens.Client()
	}
	if cfg.Client == nil {
		return nil, errors.New("handlers: Config.Client is required")
	}
	ccfg := cfg.Client.Config()
	a := &Auth{
		client:          cfg.Client,
		tokens:          cfg.Tokens,
		sm:              cfg.Sessions,
		identity:        cfg.Identity,
		redirectURL:     cfg.RedirectURL,
		defaultReturnTo: cfg.DefaultReturnTo,
		afterDisconnect: cfg.AfterDisconnect,
		scopes:          slices.Clone(cfg.Scopes),
		stepUp:          slices.Clone(cfg.StepUpScopes),
		disableAutoAuth: cfg.DisableAutoAuth,
		pendingTTL:      cfg.PendingTTL,
		maxPending:      cfg.MaxPending,
		onLogin:         cfg.OnLogin,
		errorHandler:    cfg.ErrorHandler,
		logger:          cfg.Logger,
		skipCSRF:        cfg.InsecureSkipCSRFCheck,
		crossOrigin:     cfg.CrossOriginProtection,
		hooks:           cfg.Hooks,
	}
	if a.identity == nil {
		a.identity = tokenstore.SessionIdentity(cfg.Sessions)
	}
	if a.redirectURL == "" {
		a.redirectURL = ccfg.RedirectURL
	}
	if u, err := url.Parse(a.redirectURL); a.redirectURL == "" || err != nil ||
		(u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, errors.New("handlers: an absolute http(s) RedirectURL is required (in Config or in the client's Config)")
	}
	if a.defaultReturnTo == "" {
		a.defaultReturnTo = "/"
	}
	if !SafeReturnTo(a.defaultReturnTo) {
		return nil, errors.New("handlers: Config.DefaultReturnTo must be a path on this site")
	}
	if a.afterDisconnect == "" {
		a.afterDisconnect = "/"
	}
	if !SafeReturnTo(a.afterDisconnect) {
		return nil, errors.New("handlers: Config.AfterDisconnect must be a path on this site")
	}
	if len(a.scopes) == 0 {
		a.scopes = slices.Clone(ccfg.Scopes)
	}
	for _, s := range slices.Concat(a.scopes, a.stepUp) {
		if !validScope(s) {
			return nil, errors.New("handlers: scopes must be non-empty and free of commas, spaces and control characters")
		}
	}
	a.secureCookies = strings.HasPrefix(a.redirectURL, "https:")
	secret := cfg.PendingLoginKey
	if secret == nil {
		secret = []byte(ccfg.ClientSecret)
	} else if len(secret) < 32 {
		return nil, errors.New("handlers: Config.PendingLoginKey must be at least 32 bytes")
	}
	aead, err := newPendingAEAD(secret)
	if err != nil {
		return nil, fmt.Errorf("handlers: pending-login key: %w", err)
	}
	a.aead = aead
	if a.pendingTTL < 0 || a.maxPending < 0 {
		return nil, errors.New("handlers: PendingTTL and MaxPending must not be negative")
	}
	if a.pendingTTL == 0 {
		a.pendingTTL = DefaultPendingTTL
	}
	if a.maxPending == 0 {
		a.maxPending = DefaultMaxPending
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if a.errorHandler == nil {
		a.errorHandler = defaultErrorHandler(a.logger)
	}
	return a, nil
}

// validScope reports whether s can travel in a comma-separated scope list.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == ',' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Login returns the handler that starts a login; mount it for GET (POST
// and HEAD are served too).
//
// Query parameters: return_to, a path on this site to come back to (unsafe
// values are replaced by DefaultReturnTo; see SafeReturnTo), and scope, a
// comma-separated step-up request checked against Scopes and StepUpScopes.
// A step-up login asks for Scopes, the scopes the user already granted and
// the requested ones, so a new grant loses nothing.
//
// It keeps a fresh state and PKCE verifier as a single-use pending login in
// a sealed cookie of its own (see the package documentation) and answers
// 302 to TikTok's authorize page. It does not write the session.
func (a *Auth) Login() http.Handler { return http.HandlerFunc(a.serveLogin) }

// Callback returns the handler for TikTok's redirect back (the RedirectURL
// path); mount it for GET (other methods, HEAD included, get 405).
//
// It finds the pending login of the callback's state among the browser's
// pending-login cookies and uses it up (its cookie is deleted and the
// session records it as used; other pending logins are left alone), checks
// state in constant time, exchanges the code with the PKCE verifier and the exact redirect
// URI, fetches the profile for the granted scopes (a failed profile call is
// logged and the login goes on with the open_id of the token), renews the
// session token, saves the token under the open_id, records the identity,
// calls OnLogin, and answers 302 to the login's return_to.
func (a *Auth) Callback() http.Handler { return a.observed(HandlerCallback, a.serveCallback) }

// Disconnect returns the handler that logs the user out of TikTok in this
// app; mount it for POST behind nosurf.
//
// It revokes the token at TikTok (best effort: a failure is logged), deletes
// it from the store, removes the identity from the session, renews the
// session token and answers 303 to AfterDisconnect. Without a logged-in user
// it only redirects.
func (a *Auth) Disconnect() http.Handler { return a.observed(HandlerDisconnect, a.serveDisconnect) }

// errNoSession reports a wiring mistake: the handler runs outside
// Sessions.LoadAndSave.
var errNoSession = fmt.Errorf("%w: no session in the request context (serve the handlers inside Sessions.LoadAndSave)", ErrSession)

// sessionLoaded reports whether ctx holds a session of a.sm. scs panics on
// any use of a context without one; this turns that into a clear error.
func (a *Auth) sessionLoaded(ctx context.Context) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_ = a.sm.Status(ctx)
	return true
}

// fail hands err to the error handler with the no-store header set.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	if a.hooks != nil {
		noteFailure(r, err)
	}
	authHeaders(w)
	a.errorHandler(w, r, err)
}

// redirect answers with a redirect to loc, which the caller has checked.
func redirect(w http.ResponseWriter, loc string, status int) {
	h := w.Header()
	h.Set("Location", loc)
	authHeaders(w)
	w.WriteHeader(status)
}

// authHeaders marks an auth response as not cacheable anywhere, and as
// depending on cookies, in one Cache-Control and one Vary field: the
// session middleware and nosurf each add a "Vary: Cookie" of their own
// before these handlers run, and those are folded into one.
func authHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var names []string
	seen := map[string]bool{}
	for _, line := range append(h.Values("Vary"), "Cookie") {
		for _, v := range strings.Split(line, ",") {
			v = strings.TrimSpace(v)
			if k := strings.ToLower(v); v != "" && !seen[k] {
				seen[k] = true
				names = append(names, v)
			}
		}
	}
	if seen["*"] {
		names = []string{"*"}
	}
	h.Set("Vary", strings.Join(names, ", "))
}

// errAttr logs an error's text under "error".
func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }
