package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/justinas/nosurf"
	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/examples/internal/ops"
	"github.com/tiktokkit/tiktokkit/examples/internal/webui"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/otelkit"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

//go:embed templates/*.html
var templateFiles embed.FS

var pages = template.Must(template.New("pages").Funcs(template.FuncMap{"count": webui.Count}).
	ParseFS(templateFiles, "templates/*.html"))

// appOptions are knobs for tests.
type appOptions struct {
	// Clock replaces time.Now for the client, the token source and the
	// token store. With the in-process emulator, the default is the
	// emulator's clock, so that advancing it expires tokens for both sides.
	Clock func() time.Time
	// AutoApprove makes the in-process emulator approve logins without
	// showing its consent page.
	AutoApprove bool
	// Telemetry, when set, receives the kit's metrics and traces.
	Telemetry *otelkit.Telemetry
}

// app is the example's whole HTTP surface.
type app struct {
	handler  http.Handler
	emu      *tiktoktest.Server // nil unless the app started the emulator
	db       *database          // nil with Redis
	rdb      *redis.Client      // nil with SQL
	where    string             // the database or Redis server, for logs
	client   *client.Client
	tokens   *tokenstore.Source
	store    tokenStore
	replays  webhook.ReplayStore
	limiter  client.Limiter // nil: the client's own, in process
	keys     *tokenstore.KeyRing
	sessions *scs.SessionManager
	identity tokenstore.Identity
	guard    *middleware.Guard
	logger   *slog.Logger
	usesEmu  bool
	// webhookSecret signs TikTok's webhook events: the client secret.
	webhookSecret string

	// sessionStore keeps the scs sessions, in the database or Redis.
	sessionStore scs.Store

	closeOnce sync.Once
	closers   []func()
}

// tokenStore is what the app needs of its token store, SQL or Redis.
type tokenStore interface {
	tokenstore.Store
	tokenstore.Lister
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Close stops the session cleanup, closes the database (or the Redis
// client) and stops the emulator, if the app started one.
func (a *app) Close() {
	a.closeOnce.Do(func() {
		for i := len(a.closers) - 1; i >= 0; i-- {
			a.closers[i]()
		}
	})
}

// newApp wires tiktokkit into a chi app with its tokens and sessions in
// one SQL database, or on one Redis server when s.Redis is set.
// s.RedirectURI must be set. Every call opens its own
// connection pool, as a separate process would.
func newApp(ctx context.Context, s settings, logger *slog.Logger, opts appOptions) (*app, error) {
	logger = logger.With("instance", s.Instance)
	a := &app{logger: logger, usesEmu: s.usesEmulator(), keys: s.Keys}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if s.Emulated {
		// The emulator stands in for TikTok on its own loopback port, so the
		// hop to "TikTok" and back is a real cross-site redirect.
		a.emu = tiktoktest.NewServer(tiktoktest.Config{
			AppName:      "tiktokkit chi example",
			RedirectURIs: []string{s.RedirectURI},
			AutoApprove:  opts.AutoApprove,
			Logger:       logger.With("component", "tiktok-emulator"),
		})
		a.closers = append(a.closers, a.emu.Close)
		s.ClientKey, s.ClientSecret = a.emu.ClientKey(), a.emu.ClientSecret()
		s.AuthURL, s.APIURL = a.emu.AuthURL(), a.emu.APIURL()
		if opts.Clock == nil {
			opts.Clock = a.emu.Now
		}
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}

	var err error
	if a.keys == nil {
		if a.keys, err = ephemeralKeyRing(); err != nil {
			return nil, err
		}
		logger.Warn("!!! TIKTOKKIT_TOKEN_KEYS is not set: TikTok tokens are encrypted with a key generated at start " +
			"that exists only in this process. After a restart, or on another instance, stored tokens will not " +
			"decrypt and every user must log in again. Set TIKTOKKIT_TOKEN_KEYS to id:base64-of-32-random-bytes " +
			"(for example: echo \"$(date +%Y-%m):$(openssl rand -base64 32)\") !!!")
	}
	if s.Redis != nil {
		err = a.useRedis(ctx, s.Redis, opts.Clock)
	} else {
		err = a.useSQL(ctx, s, opts.Clock)
	}
	if err != nil {
		return nil, err
	}

	a.client, err = client.New(ops.Instrumented(opts.Telemetry, client.Config{
		ClientKey:    s.ClientKey,
		ClientSecret: s.ClientSecret,
		RedirectURL:  s.RedirectURI,
		Scopes:       s.Scopes,
		AuthURL:      s.AuthURL,
		APIURL:       s.APIURL,
		Logger:       logger,
		Clock:        opts.Clock,
		Quotas:       s.Quotas,
		NoQuotas:     s.NoQuotas,
		Limiter:      a.limiter,
	}))
	if err != nil {
		return nil, err
	}
	a.tokens, err = tokenstore.NewSource(ops.Instrumented(opts.Telemetry, tokenstore.SourceConfig{
		Store:  a.store,
		Client: a.client,
		Logger: logger,
		Clock:  opts.Clock,
	}))
	if err != nil {
		return nil, err
	}

	secure := strings.HasPrefix(s.RedirectURI, "https://")
	a.sessions = scs.New()
	a.sessions.Store = a.sessionStore
	a.sessions.Lifetime = 24 * time.Hour
	a.sessions.Cookie.Name = "tiktokkit_session"
	a.sessions.Cookie.HttpOnly = true
	a.sessions.Cookie.Path = "/"
	// Lax, not Strict: the callback is a cross-site navigation from TikTok
	// and must carry the session cookie.
	a.sessions.Cookie.SameSite = http.SameSiteLaxMode
	a.sessions.Cookie.Secure = secure
	a.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		logger.Error("session store failed", "path", r.URL.Path, "error", err)
		a.render(w, http.StatusServiceUnavailable, "error.html", webui.ErrorPage{
			Title: "Unavailable", Message: "The app cannot reach its database right now. Try again in a moment.",
		})
	}
	a.identity = tokenstore.SessionIdentity(a.sessions)

	auth, err := handlers.New(ops.Instrumented(opts.Telemetry, handlers.Config{
		Tokens:   a.tokens,
		Sessions: a.sessions,
		Identity: a.identity,
		Logger:   logger,
		// The step-up scopes a guarded page may ask for later.
		StepUpScopes: []string{client.ScopeVideoList, client.ScopeVideoPublish},
		// A failed login (a stale or replayed callback, a denied consent,
		// TikTok down) gets the site's own error page.
		ErrorHandler: a.authError,
	}))
	if err != nil {
		return nil, err
	}
	a.guard, err = middleware.New(middleware.Config{
		Tokens:       a.tokens,
		Sessions:     a.sessions,
		Identity:     a.identity,
		Logger:       logger,
		ErrorHandler: a.guardError,
	})
	if err != nil {
		return nil, err
	}

	// TikTok's webhooks: a signed authorization.removed deletes the user's
	// token at once; the post.publish.* events are logged. The replay
	// claims live in the shared database (or Redis), so a replayed
	// delivery is refused whichever instance it reaches.
	hook, err := webhook.New(ops.Instrumented(opts.Telemetry, webhook.Config{
		ClientSecret: s.ClientSecret,
		ClientKey:    s.ClientKey,
		Tokens:       a.tokens,
		ReplayStore:  a.replays,
		Logger:       logger,
		Clock:        opts.Clock,
		OnEvent: func(ctx context.Context, ev webhook.Event) error {
			logger.InfoContext(ctx, "tiktok webhook", "event", ev.Event, "open_id", ev.UserOpenID)
			return nil
		},
	}))
	if err != nil {
		return nil, err
	}
	a.webhookSecret = s.ClientSecret

	r := chi.NewRouter()
	r.Use(chimw.Recoverer)
	r.Use(chimw.GetHead)
	// FoldHeaders outside the sessions: scs adds its own Cache-Control
	// line when it writes the session cookie.
	r.Use(handlers.FoldHeaders)
	r.Use(a.sessions.LoadAndSave)
	r.Use(securityHeaders)
	r.Use(csrfProtection(secure, http.HandlerFunc(a.csrfFailed), webhookPath))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.render(w, http.StatusNotFound, "error.html", webui.NotFoundPage())
	})

	r.With(a.guard.OptionalTikTok).Get("/", a.home)
	r.Route("/auth/tiktok", func(r chi.Router) {
		r.Method(http.MethodGet, "/login", auth.Login())
		r.Method(http.MethodGet, "/callback", auth.Callback())
		r.Method(http.MethodPost, "/disconnect", auth.Disconnect()) // chi answers 405 to other methods
	})
	r.Method(http.MethodPost, webhookPath, hook)
	r.Group(func(r chi.Router) {
		r.Use(a.guard.RequireTikTok)
		r.Get("/me", a.me)
		r.Get("/api/me", a.apiMe)
	})
	// A page that needs video.list: without it, the guard sends the user to
	// a step-up login that asks TikTok for that scope.
	r.With(a.guard.RequireScopes(client.ScopeVideoList)).Get("/videos", a.videos)

	a.handler = r
	ok = true
	return a, nil
}

// ephemeralKeyRing makes a ring with one random key whose ID says when it
// was made, so a later process's key never shares its ID.
func ephemeralKeyRing() (*tokenstore.KeyRing, error) {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, fmt.Errorf("generate token key: %w", err)
	}
	id := "ephemeral-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(suffix)
	key, _, err := tokenstore.GenerateEncryptionKey(id)
	if err != nil {
		return nil, err
	}
	return tokenstore.NewKeyRing(key)
}

// webhookPath is TikTok's webhook callback URL's path.
const webhookPath = "/webhooks/tiktok"

// csrfProtection is nosurf as a chi middleware. nosurf checks Origin and
// Referer against the request's scheme, which it must be told: plain http
// on localhost, or https when the public redirect URI says so (a
// TLS-terminating proxy). The exempt paths are signed by TikTok instead.
func csrfProtection(secure bool, failed http.Handler, exempt ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		h := nosurf.New(next)
		h.SetBaseCookie(http.Cookie{
			Name:     "tiktokkit_csrf",
			Path:     "/", // the token set on /me must reach /auth/tiktok/disconnect
			HttpOnly: true,
			Secure:   secure,
			SameSite: http.SameSiteLaxMode,
			MaxAge:   12 * 60 * 60,
		})
		h.SetIsTLSFunc(func(r *http.Request) bool { return r.TLS != nil || secure })
		h.SetFailureHandler(failed)
		h.ExemptPaths(exempt...)
		return h
	}
}

func (a *app) csrfFailed(w http.ResponseWriter, r *http.Request) {
	a.logger.Warn("csrf check failed", "path", r.URL.Path, "reason", nosurf.Reason(r))
	a.render(w, http.StatusForbidden, "error.html", webui.ErrorPage{
		Title: "Forbidden", Message: "This form has expired or came from another site. Go back, reload the page and try again.",
	})
}

// guardError answers the guard's failures. A stored token this process
// cannot read (sealed with a key that is not in the ring, such as the key a
// previous run generated, or damaged) is the operator's problem, not the
// user's: the answer is 503 with a page that says so, the row is left as it
// is for the operator (add the old key back to TIKTOKKIT_TOKEN_KEYS), and the
// user stays logged in; logging in again overwrites the row. Everything else
// (TikTok or the database down) keeps the login and answers 503 or 502.
func (a *app) guardError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, tokenstore.ErrUnknownKey) || errors.Is(err, tokenstore.ErrCorrupt) {
		a.logger.Error("stored TikTok token cannot be read; the token store needs attention (check TIKTOKKIT_TOKEN_KEYS)",
			"key", a.identity.Key(r.Context()), "error", err)
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			a.render(w, http.StatusServiceUnavailable, "error.html", webui.ErrorPage{
				Title: "Token store needs attention",
				Message: "Your TikTok login is stored in a form this server cannot read right now. " +
					"The site's operator has been told. You can also log in with TikTok again.",
				LoginAgain: true,
			})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"token_store_unreadable"}` + "\n"))
		return
	}
	status := middleware.StatusCode(err)
	a.logger.Warn("guarded request failed", "path", r.URL.Path, "status", status, "error", err)
	webui.SetRetryAfter(w, status, err)
	if webui.WantsHTML(r) && !strings.HasPrefix(r.URL.Path, "/api/") {
		a.render(w, status, "error.html", webui.GuardErrorPage(status))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": webui.GuardErrorCode(status)})
}

// securityHeaders sets the headers every page of the example carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

type homePage struct {
	LoggedIn bool
	Emulated bool
	Database string
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	_, loggedIn := client.FromContext(r.Context())
	db := "SQLite"
	switch {
	case a.rdb != nil:
		db = "Redis"
	case a.db.dialect == tokenstore.Postgres:
		db = "PostgreSQL"
	}
	a.render(w, http.StatusOK, "home.html", homePage{LoggedIn: loggedIn, Emulated: a.usesEmu, Database: db})
}

type mePage struct {
	User      *client.UserInfo
	Stats     bool // user.info.stats granted: the counts are TikTok's
	CanList   bool
	Scopes    []string
	Creator   *client.CreatorInfo
	CreatorOK bool
	CSRF      string
	Expiry    time.Time
}

// me is the guarded HTML page: profile, granted scopes, creator info when
// video.publish was granted, and the Disconnect button.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	u, _ := client.FromContext(r.Context())
	info, err := u.UserInfo(r.Context())
	if a.guard.HandleError(w, r, err) {
		return
	}
	tok := u.Token()
	p := mePage{User: info, Scopes: tok.Scopes, CSRF: nosurf.Token(r), Expiry: tok.Expiry,
		CanList: tok.HasScopes(client.ScopeVideoList), Stats: tok.HasScopes(client.ScopeUserInfoStats)}
	if tok.HasScopes(client.ScopeVideoPublish) {
		ci, err := u.CreatorInfo(r.Context())
		switch {
		case err == nil:
			p.Creator, p.CreatorOK = ci, true
		case errors.Is(err, client.ErrAccessTokenInvalid):
			a.guard.HandleError(w, r, err)
			return
		default:
			// Creator info is a bonus on this page: show the rest.
			a.logger.Warn("creator info failed", "error", err)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	a.render(w, http.StatusOK, "me.html", p)
}

// apiQuotaWait is how long /api/me waits for TikTok's quota for user info
// before it answers 429 with Retry-After. It bounds only that wait: a
// refresh that waits for another instance's lease may take longer and
// still keeps the user logged in.
const apiQuotaWait = 10 * time.Second

// apiMe answers the user's profile as JSON, fetched from TikTok on every
// request through the request's user-bound client.
func (a *app) apiMe(w http.ResponseWriter, r *http.Request) {
	u, _ := client.FromContext(r.Context())
	// When TikTok's quota for user info is spent and the wait would be
	// longer than apiQuotaWait, the call fails at once and the guard
	// answers 429 with Retry-After.
	info, err := u.UserInfo(client.WithQuotaWait(r.Context(), apiQuotaWait))
	if a.guard.HandleError(w, r, err) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(meJSON(info, u.Token().Scopes))
}

// videos lists the user's public videos, newest first, one page of TikTok's
// video list at a time: ?cursor= carries TikTok's cursor to the next,
// older page.
func (a *app) videos(w http.ResponseWriter, r *http.Request) {
	cursor, err := webui.ParseCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		a.render(w, http.StatusBadRequest, "error.html", webui.BadCursorPage())
		return
	}
	u, _ := client.FromContext(r.Context())
	p, err := webui.LoadVideos(r.Context(), u, "/videos", cursor)
	if a.guard.HandleError(w, r, err) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	a.render(w, http.StatusOK, "videos.html", p)
}

// authError answers the login handlers' failures with the error page:
// 400 for what the user caused, 502 when TikTok failed; the log line is at
// handlers.LogLevel, so a user's stale callback does not make noise.
func (a *app) authError(w http.ResponseWriter, r *http.Request, err error) {
	status := handlers.StatusCode(err)
	a.logger.Log(r.Context(), handlers.LogLevel(err), "tiktok auth request failed",
		"status", status, "path", r.URL.Path, "error", err)
	a.render(w, status, "error.html", webui.AuthErrorPage(err))
}

func (a *app) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		a.logger.Error("render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// meJSON is the /api/me answer: the profile fields TikTok returned (only
// those the granted scopes allow, so a missing stats scope shows as absent
// counts rather than zeros) and the granted scopes.
func meJSON(info *client.UserInfo, scopes []string) map[string]any {
	out := map[string]any{}
	if err := json.Unmarshal(info.Raw(), &out); err != nil || out == nil {
		out = map[string]any{}
	}
	out["open_id"] = info.OpenID
	out["display_name"] = info.DisplayName
	out["scopes"] = scopes
	return out
}
