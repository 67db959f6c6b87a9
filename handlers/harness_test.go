package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/go-chi/chi/v5"
	"github.com/justinas/nosurf"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

type syncBuffer = testutil.SyncBuffer

type testClock = testutil.Clock

func newTestClock() *testClock {
	return testutil.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

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
}

// app is a complete site wired as the package documentation recommends:
// scs sessions, nosurf, the handlers, the middleware, the emulator.
type app struct {
	t      *testing.T
	clock  *testClock
	emu    *tiktoktest.Server
	client *client.Client
	store  *recordingStore
	src    *tokenstore.Source
	sm     *scs.SessionManager
	auth   *handlers.Auth
	guard  *middleware.Guard
	srv    *httptest.Server
	logs   *syncBuffer

	mu   sync.Mutex
	seen []string // bodies, URLs and headers that left the app
}

const testOpenID = "user-alice"

func newApp(t *testing.T, opt appOptions) *app {
	t.Helper()
	a := &app{t: t, clock: newTestClock(), logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ecfg := opt.emu
	ecfg.Clock = a.clock.Now
	ecfg.AutoApprove = true
	if opt.accessTTL != 0 {
		ecfg.AccessTTL = opt.accessTTL
	}
	if ecfg.Users == nil {
		ecfg.Users = append([]tiktoktest.User{{OpenID: testOpenID, DisplayName: "Alice", Username: "alice",
			BioDescription: "hello", IsVerified: true}}, tiktoktest.DefaultUsers()...)
	}
	a.emu = tiktoktest.NewServer(ecfg)
	t.Cleanup(a.emu.Close)

	// The listener exists before the server starts, so the redirect URL is
	// known while the app is wired; the server starts once the handler is set.
	a.srv = httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if opt.tls {
		scheme = "https://"
	}
	base := scheme + a.srv.Listener.Addr().String()

	c, err := client.New(client.Config{
		ClientKey:    a.emu.ClientKey(),
		ClientSecret: a.emu.ClientSecret(),
		RedirectURL:  base + "/auth/tiktok/callback",
		Scopes:       []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile},
		AuthURL:      a.emu.AuthURL(),
		APIURL:       a.emu.APIURL(),
		Logger:       logger,
		Clock:        a.clock.Now,
		Retry:        client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	a.client = c
	a.store = &recordingStore{Store: tokenstore.NewMemory()}
	a.src, err = tokenstore.NewSource(tokenstore.SourceConfig{Store: a.store, Client: c, Logger: logger})
	require.NoError(t, err)

	a.sm = scs.New()
	a.sm.Store = memstore.NewWithCleanupInterval(0)
	a.sm.Cookie.Secure = opt.tls

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
		r.Method(http.MethodGet, "/api/me", a.guard.RequireTikTokFunc(a.apiMe))
		r.Method(http.MethodGet, "/me/info", a.guard.RequireTikTokFunc(a.apiMe))
		h = r
	default:
		m := http.NewServeMux()
		m.HandleFunc("GET /{$}", a.home)
		m.HandleFunc("GET /csrf", a.csrfToken)
		m.Handle("GET /auth/tiktok/login", a.auth.Login())
		m.Handle("GET /auth/tiktok/callback", a.auth.Callback())
		m.Handle("/auth/tiktok/disconnect", a.auth.Disconnect()) // every method, to test the 405
		m.Handle("GET /me", a.guard.RequireTikTok(http.HandlerFunc(a.mePage)))
		m.Handle("GET /api/me", a.guard.RequireTikTokFunc(a.apiMe))
		m.Handle("GET /me/info", a.guard.RequireTikTokFunc(a.apiMe))
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
	if opt.tls {
		a.srv.StartTLS()
	} else {
		a.srv.Start()
	}
	t.Cleanup(a.srv.Close)
	require.Equal(t, base, a.srv.URL)
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

func (a *app) apiMe(w http.ResponseWriter, r *http.Request, u *client.UserClient) error {
	info, err := u.UserInfo(r.Context(), client.FieldOpenID, client.FieldDisplayName)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]string{"open_id": info.OpenID, "display_name": info.DisplayName})
}

// response is what a browser saw for one request.
type response struct {
	status int
	header http.Header
	body   string
	url    string
}

func (r *response) location() string { return r.header.Get("Location") }

// browser is a cookie-keeping user agent that does not follow redirects by
// itself, so tests can look at every hop.
type browser struct {
	a   *app
	c   *http.Client
	jar *cookiejar.Jar
}

func (a *app) newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(a.t, err)
	tr := a.srv.Client().Transport.(*http.Transport).Clone()
	return &browser{a: a, jar: jar, c: &http.Client{
		Jar:       jar,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (a *app) record(s ...string) {
	a.mu.Lock()
	a.seen = append(a.seen, s...)
	a.mu.Unlock()
}

// do sends req and records everything that came back.
func (b *browser) do(req *http.Request) *response {
	b.a.t.Helper()
	resp, err := b.c.Do(req)
	require.NoError(b.a.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.a.t, err)
	r := &response{status: resp.StatusCode, header: resp.Header, body: string(body), url: req.URL.String()}
	b.a.record(r.url, r.body, strings.Join(resp.Header.Values("Location"), " "),
		strings.Join(resp.Header.Values("Set-Cookie"), " "))
	return r
}

// get loads a page as a browser navigation (Accept: text/html).
func (b *browser) get(u string) *response {
	b.a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(u), nil)
	require.NoError(b.a.t, err)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	return b.do(req)
}

// getJSON calls an API route (Accept: application/json).
func (b *browser) getJSON(u string) *response {
	b.a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(u), nil)
	require.NoError(b.a.t, err)
	req.Header.Set("Accept", "application/json")
	return b.do(req)
}

// post submits a same-origin form, as a browser would (Origin set).
func (b *browser) post(u string, form url.Values) *response {
	b.a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(form.Encode()))
	require.NoError(b.a.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.a.srv.URL)
	req.Header.Set("Accept", "text/html")
	return b.do(req)
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.a.srv.URL + u
	}
	return u
}

// follow loads u and follows redirects (across the app and the emulator)
// until a page that is not a redirect, returning every hop.
func (b *browser) follow(u string) []*response {
	b.a.t.Helper()
	var hops []*response
	for range 10 {
		r := b.get(u)
		hops = append(hops, r)
		if r.status < 300 || r.status > 399 {
			return hops
		}
		next, err := url.Parse(r.location())
		require.NoError(b.a.t, err)
		base, err := url.Parse(r.url)
		require.NoError(b.a.t, err)
		u = base.ResolveReference(next).String()
	}
	b.a.t.Fatalf("too many redirects from %s", u)
	return nil
}

// login runs the whole login flow from the app's login path and returns the
// hops; the last one is the page the user lands on.
func (b *browser) login(returnTo string) []*response {
	b.a.t.Helper()
	u := "/auth/tiktok/login"
	if returnTo != "" {
		u += "?return_to=" + url.QueryEscape(returnTo)
	}
	return b.follow(u)
}

// toCallback starts a login and stops at the callback URL the emulator
// sends the browser to, without loading it.
func (b *browser) toCallback(loginURL string) string {
	b.a.t.Helper()
	r := b.get(loginURL)
	require.Equal(b.a.t, http.StatusFound, r.status, r.body)
	auth := b.get(r.location())
	require.Equal(b.a.t, http.StatusFound, auth.status, auth.body)
	cb := auth.location()
	require.True(b.a.t, strings.HasPrefix(cb, b.a.srv.URL+"/auth/tiktok/callback?"), cb)
	return cb
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.a.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// csrf returns a CSRF token for a form, as a page rendered by the app would.
func (b *browser) csrf() string {
	b.a.t.Helper()
	r := b.get("/csrf")
	require.Equal(b.a.t, http.StatusOK, r.status)
	require.NotEmpty(b.a.t, r.body)
	return r.body
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
