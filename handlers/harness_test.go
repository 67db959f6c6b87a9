package handlers_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/justinas/nosurf"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/internal/testharness"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// recordingStore is a token store that remembers every secret it was
// given, so tests can check that none of them leaks anywhere.
type recordingStore struct {
	tokenstore.Store
	mu      sync.Mutex
	secrets []string
}

func (s *recordingStore) Put(ctx context.Context, key string, tok *client.Token) error {
	s.mu.Lock()
	s.secrets = append(s.secrets, tok.AccessToken, tok.RefreshToken)
	s.mu.Unlock()
	return s.Store.Put(ctx, key, tok)
}

func (s *recordingStore) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, v := range s.secrets {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

type router int

const (
	serveMux router = iota
	chiRouter
)

func (r router) String() string {
	if r == chiRouter {
		return "chi"
	}
	return "ServeMux"
}

// appOptions change how newApp wires the app.
type appOptions struct {
	router      router
	noCSRF      bool // serve without nosurf
	skipCSRF    bool // Config.InsecureSkipCSRFCheck
	tls         bool
	emu         tiktoktest.Config
	handlersCfg func(*handlers.Config)
	accessTTL   time.Duration
	// localhost names the app http://localhost:port (the listener is still
	// on 127.0.0.1), so that for a real browser the emulator on 127.0.0.1
	// is another site, as TikTok is.
	localhost bool
	// fold wraps the site in FoldHeaders, outside the session middleware.
	fold bool
}

// app is a complete site wired as the package documentation recommends:
// scs sessions, nosurf, the handlers, the middleware, the emulator.
type app struct {
	t      *testing.T
	clock  *testutil.Clock
	emu    *tiktoktest.Server
	client *client.Client
	store  *recordingStore
	src    *tokenstore.Source
	sm     *scs.SessionManager
	auth   *handlers.Auth
	guard  *middleware.Guard
	srv    *httptest.Server
	logs   *testutil.SyncBuffer

	mu   sync.Mutex
	seen []string // bodies, URLs and headers that left the app
}

const testOpenID = "user-alice"

func newApp(t *testing.T, opt appOptions) *app {
	t.Helper()
	ecfg := opt.emu
	ecfg.AutoApprove = true
	if opt.accessTTL != 0 {
		ecfg.AccessTTL = opt.accessTTL
	}
	if ecfg.Users == nil {
		ecfg.Users = testharness.Users(tiktoktest.User{OpenID: testOpenID, DisplayName: "Alice", Username: "alice",
			BioDescription: "hello", IsVerified: true})
	}

	// The listener exists before the server starts, so the redirect URL is
	// known while the app is wired; the server starts once the handler is set.
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if opt.tls {
		scheme = "https://"
	}
	base := scheme + srv.Listener.Addr().String()
	if opt.localhost {
		base = scheme + "localhost:" + srv.Listener.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):]
	}

	store := &recordingStore{Store: tokenstore.NewMemory()}
	st := testharness.New(t, testharness.Config{Emulator: ecfg, Store: store, Client: func(c *client.Config) {
		c.RedirectURL = base + "/auth/tiktok/callback"
		c.Scopes = []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile}
	}})
	a := &app{t: t, clock: st.Clock, emu: st.Emulator, client: st.Client, store: store, src: st.Source,
		sm: st.Sessions, srv: srv, logs: st.Logs}
	logger := st.Logger
	a.sm.Cookie.Secure = opt.tls

	var err error
	hcfg := handlers.Config{
		Tokens:                a.src,
		Sessions:              a.sm,
		Logger:                logger,
		StepUpScopes:          []string{client.ScopeVideoList, client.ScopeUserInfoStats},
		InsecureSkipCSRFCheck: opt.skipCSRF,
	}
	if opt.handlersCfg != nil {
		opt.handlersCfg(&hcfg)
	}
	a.auth, err = handlers.New(hcfg)
	require.NoError(t, err)
	a.guard, err = middleware.New(middleware.Config{Tokens: a.src, Sessions: a.sm, Logger: logger})
	require.NoError(t, err)

	var h http.Handler
	switch opt.router {
	case chiRouter:
		r := chi.NewRouter()
		r.Get("/", a.home)
		r.Get("/csrf", a.csrfToken)
		r.Route("/auth/tiktok", func(r chi.Router) {
			r.Method(http.MethodGet, "/login", a.auth.Login())
			r.Method(http.MethodGet, "/callback", a.auth.Callback())
			r.Method(http.MethodPost, "/disconnect", a.auth.Disconnect())
		})
		r.Group(func(r chi.Router) {
			r.Use(a.guard.RequireTikTok)
			r.Get("/me", a.mePage)
		})
		r.Method(http.MethodGet, "/api/me", a.guard.RequireTikTokFunc(testharness.UserInfoJSON))
		r.Method(http.MethodGet, "/me/info", a.guard.RequireTikTokFunc(testharness.UserInfoJSON))
		h = r
	default:
		m := http.NewServeMux()
		m.HandleFunc("GET /{$}", a.home)
		m.HandleFunc("GET /csrf", a.csrfToken)
		m.Handle("GET /auth/tiktok/login", a.auth.Login())
		m.Handle("GET /auth/tiktok/callback", a.auth.Callback())
		m.Handle("/auth/tiktok/disconnect", a.auth.Disconnect()) // every method, to test the 405
		m.Handle("GET /me", a.guard.RequireTikTok(http.HandlerFunc(a.mePage)))
		m.Handle("GET /api/me", a.guard.RequireTikTokFunc(testharness.UserInfoJSON))
		m.Handle("GET /me/info", a.guard.RequireTikTokFunc(testharness.UserInfoJSON))
		h = m
	}
	if !opt.noCSRF {
		csrf := nosurf.New(h)
		csrf.SetIsTLSFunc(func(r *http.Request) bool { return r.TLS != nil })
		csrf.SetBaseCookie(http.Cookie{Path: "/", HttpOnly: true, Secure: opt.tls,
			SameSite: http.SameSiteLaxMode, MaxAge: nosurf.MaxAge})
		h = csrf
	}
	a.srv.Config.Handler = a.sm.LoadAndSave(h)
	if opt.fold {
		a.srv.Config.Handler = handlers.FoldHeaders(a.srv.Config.Handler)
	}
	if opt.tls {
		a.srv.StartTLS()
	} else {
		a.srv.Start()
	}
	t.Cleanup(a.srv.Close)
	if !opt.localhost {
		require.Equal(t, base, a.srv.URL)
	}
	return a
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "home")
}

func (a *app) csrfToken(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, nosurf.Token(r))
}

func (a *app) mePage(w http.ResponseWriter, r *http.Request) {
	u, ok := client.FromContext(r.Context())
	if !ok {
		http.Error(w, "no client", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, "<p>logged in as "+u.Token().OpenID+"</p>")
}

// response is what a browser saw for one request.
type response = testharness.Response

// browser is a cookie-keeping user agent that does not follow redirects by
// itself, so tests can look at every hop; it records everything that came
// back in its app.
type browser struct {
	*testharness.Browser
	a *app
}

func (a *app) newBrowser() *browser {
	b := testharness.NewBrowser(a.t, a.srv)
	b.OnResponse = a.record
	return &browser{Browser: b, a: a}
}

// record keeps what left the app in r: its URL, body, redirect and cookies.
func (a *app) record(r *response) {
	a.mu.Lock()
	a.seen = append(a.seen, r.URL, r.Body, strings.Join(r.Header.Values("Location"), " "),
		strings.Join(r.Header.Values("Set-Cookie"), " "))
	a.mu.Unlock()
}

// login runs the whole login flow from the app's login path and returns the
// hops; the last one is the page the user lands on.
func (b *browser) login(returnTo string) []*response {
	b.a.t.Helper()
	u := "/auth/tiktok/login"
	if returnTo != "" {
		u += "?return_to=" + url.QueryEscape(returnTo)
	}
	return b.Follow(u)
}

// toCallback starts a login and stops at the callback URL the emulator
// sends the browser to, without loading it.
func (b *browser) toCallback(loginURL string) string {
	b.a.t.Helper()
	r := b.Get(loginURL)
	require.Equal(b.a.t, http.StatusFound, r.Status, r.Body)
	auth := b.Get(r.Location())
	require.Equal(b.a.t, http.StatusFound, auth.Status, auth.Body)
	cb := auth.Location()
	require.True(b.a.t, strings.HasPrefix(cb, b.a.srv.URL+"/auth/tiktok/callback?"), cb)
	return cb
}

// csrf returns a CSRF token for a form, as a page rendered by the app would.
func (b *browser) csrf() string {
	b.a.t.Helper()
	r := b.Get("/csrf")
	require.Equal(b.a.t, http.StatusOK, r.Status)
	require.NotEmpty(b.a.t, r.Body)
	return r.Body
}

// storedToken returns the token kept for key, or nil when there is none.
func (a *app) storedToken(key string) *client.Token {
	a.t.Helper()
	tok, err := a.store.Get(context.Background(), key)
	if err != nil {
		require.ErrorIs(a.t, err, tokenstore.ErrNotFound)
		return nil
	}
	return tok
}

// assertNoSecretLeak checks that no token the store ever held appears in a
// log line, a URL, a header or a body that left the app.
func (a *app) assertNoSecretLeak() {
	a.t.Helper()
	secrets := a.store.Secrets()
	require.NotEmpty(a.t, secrets, "the test should have made tokens")
	logs := a.logs.String()
	a.mu.Lock()
	seen := strings.Join(a.seen, "\n")
	a.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			a.t.Errorf("a token appears in the logs")
		}
		if strings.Contains(seen, s) {
			a.t.Errorf("a token appears in a URL, header or body")
		}
	}
}
