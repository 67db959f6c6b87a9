package middleware_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testtoken"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

type syncBuffer = testutil.SyncBuffer

type testClock = testutil.Clock

// flakyStore is a token store whose reads can be made to fail, as a
// database that is down would.
type flakyStore struct {
	tokenstore.Store
	mu   sync.Mutex
	down bool
}

var errStoreDown = errorString("database is down")

type errorString string

func (e errorString) Error() string { return string(e) }

func (s *flakyStore) setDown(v bool) {
	s.mu.Lock()
	s.down = v
	s.mu.Unlock()
}

func (s *flakyStore) Get(ctx context.Context, key string) (*client.Token, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errStoreDown
	}
	return s.Store.Get(ctx, key)
}

const (
	alice       = "user-alice"
	loginURL    = "/test/login"
	identityURL = "/test/identity"
)

type envOptions struct {
	guard func(*middleware.Config)
	mount func(e *env, mux *http.ServeMux)
}

// env is a small app: the emulator, a client, a memory token store, scs
// sessions and a Guard, plus a test-only route that logs a user in with a
// token minted by the emulator (the login handlers are tested in package
// handlers).
type env struct {
	t     *testing.T
	clock *testClock
	emu   *tiktoktest.Server
	store *flakyStore
	src   *tokenstore.Source
	sm    *scs.SessionManager
	guard *middleware.Guard
	srv   *httptest.Server
	logs  *syncBuffer
}

func newEnv(t *testing.T, opt envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: testutil.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.emu = tiktoktest.NewServer(tiktoktest.Config{Clock: e.clock.Now, AccessTTL: 2 * time.Hour,
		Users: append([]tiktoktest.User{{OpenID: alice, DisplayName: "Alice"}}, tiktoktest.DefaultUsers()...)})
	t.Cleanup(e.emu.Close)
	c, err := client.New(client.Config{
		ClientKey: e.emu.ClientKey(), ClientSecret: e.emu.ClientSecret(),
		RedirectURL: "http://app.test/cb", AuthURL: e.emu.AuthURL(), APIURL: e.emu.APIURL(),
		Logger: logger, Clock: e.clock.Now,
		Retry: client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	e.store = &flakyStore{Store: tokenstore.NewMemory()}
	e.src, err = tokenstore.NewSource(tokenstore.SourceConfig{Store: e.store, Client: c, Logger: logger})
	require.NoError(t, err)
	e.sm = scs.New()
	e.sm.Store = memstore.NewWithCleanupInterval(0)
	gcfg := middleware.Config{Tokens: e.src, Sessions: e.sm, Logger: logger}
	if opt.guard != nil {
		opt.guard(&gcfg)
	}
	e.guard, err = middleware.New(gcfg)
	require.NoError(t, err)

	mux := http.NewServeMux()
	mux.Handle("GET "+loginURL, testLogin(e.emu, e.src, e.sm, e.clock.Now))
	mux.HandleFunc("GET "+identityURL, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, tokenstore.SessionIdentity(e.sm).Key(r.Context()))
	})
	if opt.mount != nil {
		opt.mount(e, mux)
	} else {
		mux.Handle("/page", e.guard.RequireTikTok(http.HandlerFunc(whoAmI)))
		mux.Handle("/api/page", e.guard.RequireTikTok(http.HandlerFunc(whoAmI)))
		mux.Handle("GET /videos", e.guard.RequireScopes(client.ScopeVideoList)(http.HandlerFunc(whoAmI)))
		mux.Handle("GET /optional", e.guard.OptionalTikTok(http.HandlerFunc(whoAmI)))
		mux.Handle("GET /info", e.guard.RequireTikTokFunc(userInfo))
		mux.Handle("/app/", http.StripPrefix("/app", e.guard.RequireTikTok(http.HandlerFunc(whoAmI))))
	}
	e.srv = httptest.NewServer(e.sm.LoadAndSave(mux))
	t.Cleanup(e.srv.Close)
	return e
}

// testLogin mints a grant at the emulator for ?open_id= with ?scopes=,
// saves it and records the identity, like a finished login.
func testLogin(emu *tiktoktest.Server, src *tokenstore.Source, sm *scs.SessionManager, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		openID := r.URL.Query().Get("open_id")
		tr, err := emu.IssueToken(openID, client.ParseScopes(r.URL.Query().Get("scopes"))...)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := src.Save(r.Context(), openID, testtoken.FromEmulator(tr, now())); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = sm.RenewToken(r.Context())
		tokenstore.SessionIdentity(sm).SetKey(r.Context(), openID)
		w.WriteHeader(http.StatusNoContent)
	})
}

// whoAmI answers with the open_id of the client in the context, or "anonymous".
func whoAmI(w http.ResponseWriter, r *http.Request) {
	u, ok := client.FromContext(r.Context())
	if !ok {
		_, _ = io.WriteString(w, "anonymous")
		return
	}
	_, _ = io.WriteString(w, "user "+u.Key()+" "+u.Token().OpenID)
}

// userInfo calls TikTok with the request's client.
func userInfo(w http.ResponseWriter, r *http.Request, u *client.UserClient) error {
	info, err := u.UserInfo(r.Context(), client.FieldOpenID, client.FieldDisplayName)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]string{"open_id": info.OpenID, "display_name": info.DisplayName})
}

// user is a cookie-keeping HTTP client that does not follow redirects.
type user struct {
	e *env
	c *http.Client
}

func (e *env) newUser() *user {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &user{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// loggedIn returns a user logged in as openID with scopes.
func (e *env) loggedIn(openID string, scopes ...string) *user {
	e.t.Helper()
	u := e.newUser()
	r := u.do(http.MethodGet, loginURL+"?open_id="+openID+"&scopes="+strings.Join(scopes, ","), "")
	require.Equal(e.t, http.StatusNoContent, r.status, r.body)
	return u
}

type result struct {
	status int
	header http.Header
	body   string
}

func (u *user) do(method, path, accept string) result {
	u.e.t.Helper()
	r, err := u.try(method, path, accept)
	require.NoError(u.e.t, err)
	return r
}

// try is do without assertions, for use from other goroutines.
func (u *user) try(method, path, accept string) (result, error) {
	req, err := http.NewRequest(method, u.e.srv.URL+path, nil)
	if err != nil {
		return result{}, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := u.c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}, err
}

const (
	acceptHTML = "text/html,application/xhtml+xml,*/*;q=0.8"
	acceptJSON = "application/json"
)

func (u *user) page(path string) result {
	u.e.t.Helper()
	return u.do(http.MethodGet, path, acceptHTML)
}
func (u *user) api(path string) result { u.e.t.Helper(); return u.do(http.MethodGet, path, acceptJSON) }

// stored reports whether the store holds a token for key.
func (e *env) stored(key string) bool {
	_, err := e.store.Store.Get(context.Background(), key)
	return err == nil
}
