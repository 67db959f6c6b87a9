package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/nosurf"

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
	// Clock replaces time.Now for the client and the token source. With the
	// emulator, the default is the emulator's clock, so that advancing it
	// expires tokens for both sides.
	Clock func() time.Time
	// AutoApprove makes the emulator approve logins without showing its
	// consent page.
	AutoApprove bool
	// Telemetry, when set, receives the kit's metrics and traces.
	Telemetry *otelkit.Telemetry
}

// app is the example's whole HTTP surface.
type app struct {
	handler  http.Handler
	emu      *tiktoktest.Server // nil when talking to TikTok
	client   *client.Client
	tokens   *tokenstore.Source
	store    *tokenstore.Memory
	sessions *scs.SessionManager
	guard    *middleware.Guard
	logger   *slog.Logger

	webhookSecret string // for tests that sign events
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Close stops the emulator, if the app started one.
func (a *app) Close() {
	if a.emu != nil {
		a.emu.Close()
	}
}

// newApp wires tiktokkit into a net/http app. s.RedirectURI must be set.
func newApp(s settings, logger *slog.Logger, opts appOptions) (*app, error) {
	a := &app{logger: logger}
	if s.Emulated {
		// The emulator stands in for TikTok on its own loopback port, so the
		// hop to "TikTok" and back is a real cross-site redirect.
		a.emu = tiktoktest.NewServer(tiktoktest.Config{
			AppName:      "tiktokkit example",
			RedirectURIs: []string{s.RedirectURI},
			AutoApprove:  opts.AutoApprove,
			Logger:       logger.With("component", "tiktok-emulator"),
		})
		s.ClientKey, s.ClientSecret = a.emu.ClientKey(), a.emu.ClientSecret()
		s.AuthURL, s.APIURL = a.emu.AuthURL(), a.emu.APIURL()
		if opts.Clock == nil {
			opts.Clock = a.emu.Now
		}
	}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	var err error
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
	}))
	if err != nil {
		return nil, err
	}
	a.store = tokenstore.NewMemory()
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
	a.sessions.Lifetime = 24 * time.Hour
	a.sessions.Cookie.Name = "tiktokkit_session"
	a.sessions.Cookie.HttpOnly = true
	a.sessions.Cookie.Path = "/"
	// Lax, not Strict: the callback is a cross-site navigation from TikTok
	// and must carry the session cookie.
	a.sessions.Cookie.SameSite = http.SameSiteLaxMode
	a.sessions.Cookie.Secure = secure

	auth, err := handlers.New(ops.Instrumented(opts.Telemetry, handlers.Config{
		Client:   a.client,
		Tokens:   a.tokens,
		Sessions: a.sessions,
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
		Logger:       logger,
		ErrorHandler: a.guardError,
	})
	if err != nil {
		return nil, err
	}

	// TikTok's webhooks: a signed authorization.removed deletes the user's
	// token at once; the post.publish.* events are logged.
	hook, err := webhook.New(ops.Instrumented(opts.Telemetry, webhook.Config{
		ClientSecret: s.ClientSecret,
		ClientKey:    s.ClientKey,
		Tokens:       a.tokens,
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

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", a.guard.OptionalTikTok(http.HandlerFunc(a.home)))
	mux.Handle("GET /auth/tiktok/login", auth.Login())
	mux.Handle("GET /auth/tiktok/callback", auth.Callback())
	mux.Handle("/auth/tiktok/disconnect", auth.Disconnect()) // answers 405 to anything but POST
	mux.Handle("GET /me", a.guard.RequireTikTok(http.HandlerFunc(a.me)))
	mux.Handle("GET /api/me", a.guard.RequireTikTok(http.HandlerFunc(a.apiMe)))
	// A page that needs video.list: without it, the guard sends the user to
	// a step-up login that asks TikTok for that scope.
	mux.Handle("POST /webhooks/tiktok", hook)
	mux.Handle("GET /videos", a.guard.RequireScopes(client.ScopeVideoList)(http.HandlerFunc(a.videos)))
	// Every other path: the styled 404.
	mux.HandleFunc("/", a.notFound)

	// nosurf guards every POST. It checks Origin/Referer against the
	// request's scheme, which it must be told: plain http on localhost, or
	// https when the public redirect URI says so (a TLS-terminating proxy).
	csrf := nosurf.New(mux)
	csrf.SetBaseCookie(http.Cookie{
		Name:     "tiktokkit_csrf",
		Path:     "/", // the token set on /me must reach /auth/tiktok/disconnect
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   12 * 60 * 60,
	})
	csrf.ExemptPath("/webhooks/tiktok") // signed by TikTok instead
	csrf.SetIsTLSFunc(func(r *http.Request) bool { return r.TLS != nil || secure })
	csrf.SetFailureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.Warn("csrf check failed", "path", r.URL.Path, "reason", nosurf.Reason(r))
		a.render(w, http.StatusForbidden, "error.html", webui.ErrorPage{
			Title: "Forbidden", Message: "This form has expired or came from another site. Go back, reload the page and try again.",
		})
	}))

	// FoldHeaders outside the sessions: scs adds its own Cache-Control
	// line when it writes the session cookie.
	a.handler = handlers.FoldHeaders(a.sessions.LoadAndSave(securityHeaders(csrf)))
	ok = true
	return a, nil
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
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	_, loggedIn := client.FromContext(r.Context())
	a.render(w, http.StatusOK, "home.html", homePage{LoggedIn: loggedIn, Emulated: a.emu != nil})
}

type mePage struct {
	User      *client.UserInfo
	Stats     bool // user.info.stats granted: the counts are TikTok's
	Scopes    []string
	Creator   *client.CreatorInfo
	CreatorOK bool
	CSRF      string
	Expiry    time.Time
	CanList   bool
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

// guardError answers the guard's failures (TikTok or the store down; the
// user stays logged in): the error page for a page load, JSON otherwise.
func (a *app) guardError(w http.ResponseWriter, r *http.Request, err error) {
	status := middleware.StatusCode(err)
	a.logger.Warn("guarded request failed", "path", r.URL.Path, "status", status, "error", err)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept")
	webui.SetRetryAfter(w, status, err)
	if webui.WantsHTML(r) && !strings.HasPrefix(r.URL.Path, "/api/") {
		a.render(w, status, "error.html", webui.GuardErrorPage(status))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": webui.GuardErrorCode(status)})
}

func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusNotFound, "error.html", webui.NotFoundPage())
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
