package middleware_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testharness"
	"github.com/tiktokkit/tiktokkit/internal/testtoken"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

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
	guard  func(*middleware.Config)
	client func(*client.Config)
	mount  func(e *env, mux *http.ServeMux)
}

// env is a small app: the emulator, a client, a memory token store, scs
// sessions and a Guard, plus a test-only route that logs a user in with a
// token minted by the emulator (the login handlers are tested in package
// handlers).
type env struct {
	t     *testing.T
	clock *testutil.Clock
	emu   *tiktoktest.Server
	store *flakyStore
	src   *tokenstore.Source
	sm    *scs.SessionManager
	guard *middleware.Guard
	srv   *httptest.Server
	logs  *testutil.SyncBuffer
}

func newEnv(t *testing.T, opt envOptions) *env {
	t.Helper()
	store := &flakyStore{Store: tokenstore.NewMemory()}
	st := testharness.New(t, testharness.Config{
		Emulator: tiktoktest.Config{AccessTTL: 2 * time.Hour, Users: testharness.Users(tiktoktest.User{OpenID: alice, DisplayName: "Alice"})},
		Client: func(c *client.Config) {
			c.RedirectURL = "http://app.test/cb"
			if opt.client != nil {
				opt.client(c)
			}
		},
		Store: store,
	})
	e := &env{t: t, clock: st.Clock, emu: st.Emulator, store: store, src: st.Source, sm: st.Sessions, logs: st.Logs}
	gcfg := middleware.Config{Tokens: e.src, Sessions: e.sm, Logger: st.Logger}
	if opt.guard != nil {
		opt.guard(&gcfg)
	}
	var err error
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
		mux.Handle("GET /info", withDeadline(e.guard.RequireTikTokFunc(testharness.UserInfoJSON)))
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

// withDeadline gives the request a deadline of ?deadline= seconds.
func withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := r.URL.Query().Get("deadline"); s != "" {
			secs, err := strconv.Atoi(s)
			if err != nil {
				http.Error(w, "bad deadline", http.StatusBadRequest)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), time.Duration(secs)*time.Second)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
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

// user is a cookie-keeping HTTP client that does not follow redirects.
type user = testharness.Browser

func (e *env) newUser() *user { return testharness.NewBrowser(e.t, e.srv) }

// loggedIn returns a user logged in as openID with scopes.
func (e *env) loggedIn(openID string, scopes ...string) *user {
	e.t.Helper()
	u := e.newUser()
	r := u.Do(http.MethodGet, loginURL+"?open_id="+openID+"&scopes="+strings.Join(scopes, ","), "")
	require.Equal(e.t, http.StatusNoContent, r.Status, r.Body)
	return u
}

// stored reports whether the store holds a token for key.
func (e *env) stored(key string) bool {
	_, err := e.store.Store.Get(context.Background(), key)
	return err == nil
}
