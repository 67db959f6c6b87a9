package middleware_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// benchSetup is a guarded and an unguarded handler, both inside scs's
// LoadAndSave with its memory store, and a request whose session holds a
// login with a token that stays valid for a day (warm: no refresh, and for
// the SQL store no database round trip once the token source's cache holds
// it).
type benchSetup struct {
	guarded, unguarded http.Handler
	sessionRead        http.Handler // unguarded, plus one read of the identity
	req                *http.Request

	// The middleware alone: the page with and without RequireTikTok, and a
	// request whose context already holds the loaded session.
	bareGuarded, bare http.Handler
	loadedReq         *http.Request
}

// nopWriter is a ResponseWriter that keeps nothing, for the isolated runs.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func newBenchSetup(tb testing.TB, store tokenstore.Store, cacheSize int) *benchSetup {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s", Logger: logger})
	require.NoError(tb, err)
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: store, Client: c, Logger: logger,
		CacheSize: cacheSize, CacheTTL: time.Hour})
	require.NoError(tb, err)
	ctx := context.Background()
	tok := &client.Token{AccessToken: "act.bench", RefreshToken: "rft.bench", OpenID: alice,
		Scopes: []string{client.ScopeUserInfoBasic}, Expiry: time.Now().Add(24 * time.Hour)}
	require.NoError(tb, src.Save(ctx, alice, tok))

	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	guard, err := middleware.New(middleware.Config{Tokens: src, Sessions: sm, Logger: logger})
	require.NoError(tb, err)

	// The page itself: it looks the client up, as a real handler would.
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = client.FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	id := tokenstore.SessionIdentity(sm)
	s := &benchSetup{
		guarded:   sm.LoadAndSave(guard.RequireTikTok(page)),
		unguarded: sm.LoadAndSave(page),
		sessionRead: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id.Key(r.Context()) == "" {
				panic("no identity")
			}
			page(w, r)
		})),
	}

	// Log in once to get a session cookie.
	login := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenstore.SessionIdentity(sm).SetKey(r.Context(), alice)
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	cookies := rec.Result().Cookies()
	require.Len(tb, cookies, 1)
	s.req = httptest.NewRequest(http.MethodGet, "/page", nil)
	s.req.AddCookie(cookies[0])

	s.bare, s.bareGuarded = page, guard.RequireTikTok(page)
	loaded, err := sm.Load(ctx, cookies[0].Value)
	require.NoError(tb, err)
	require.Equal(tb, alice, id.Key(loaded))
	s.loadedReq = s.req.WithContext(loaded)

	// Warm up: the token source's cache now holds the token.
	for range 3 {
		rec := httptest.NewRecorder()
		s.guarded.ServeHTTP(rec, s.req)
		require.Equal(tb, http.StatusNoContent, rec.Code)
	}
	return s
}

func newSQLiteStore(tb testing.TB) tokenstore.Store {
	tb.Helper()
	db, err := sql.Open("sqlite", filepath.Join(tb.TempDir(), "tokens.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(tb, err)
	require.NoError(tb, st.Migrate(context.Background()))
	tb.Cleanup(func() { st.Close() })
	return st
}

func serveBench(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkGuard compares a handler behind RequireTikTok with the same
// handler unguarded, both inside LoadAndSave, with a warm token. The
// middleware's own cost is the difference between guarded/* and its
// unguarded baseline.
func BenchmarkGuard(b *testing.B) {
	for _, tc := range []struct {
		name  string
		store func(testing.TB) tokenstore.Store
		cache int
	}{
		{"memory", func(testing.TB) tokenstore.Store { return tokenstore.NewMemory() }, 0},
		{"sqlite", newSQLiteStore, 1024},
	} {
		s := newBenchSetup(b, tc.store(b), tc.cache)
		b.Run(tc.name+"/unguarded", func(b *testing.B) { serveBench(b, s.unguarded, s.req) })
		b.Run(tc.name+"/guarded", func(b *testing.B) { serveBench(b, s.guarded, s.req) })
		// The same without scs around: the session is already in the
		// request's context, so the difference is the middleware alone
		// (the identity read included), free of LoadAndSave's noise.
		b.Run(tc.name+"/isolated/bare", func(b *testing.B) { serveIsolated(b, s.bare, s.loadedReq) })
		b.Run(tc.name+"/isolated/guarded", func(b *testing.B) { serveIsolated(b, s.bareGuarded, s.loadedReq) })
	}
}

func serveIsolated(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	w := &nopWriter{h: http.Header{}}
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// TestGuardAllocations holds the middleware to its allocation budget: at
// most three allocations of its own (the user client, the context value,
// the request copy) on top of the unguarded handler, with the memory store
// and with the SQL store's cache warm. Reading the identity from the scs
// session costs what any scs read costs (scs converts its string-typed
// context key to an interface on every read: one allocation); it is
// measured in the same run and counted apart.
func TestGuardAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts need a full run")
	}
	for _, tc := range []struct {
		name  string
		store func(testing.TB) tokenstore.Store
		cache int
	}{
		{"memory", func(testing.TB) tokenstore.Store { return tokenstore.NewMemory() }, 0},
		{"sqlite", newSQLiteStore, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newBenchSetup(t, tc.store(t), tc.cache)
			run := func(h http.Handler) float64 {
				return testing.AllocsPerRun(200, func() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, s.req)
					_, _ = io.Discard.Write(rec.Body.Bytes())
				})
			}
			base := run(s.unguarded)
			guarded := run(s.guarded)
			session := run(s.sessionRead)
			t.Logf("unguarded %.0f allocs, guarded %.0f, unguarded plus one session read %.0f", base, guarded, session)
			if read := session - base; read > 1 {
				t.Errorf("a session read costs %.0f allocations; expected at most 1", read)
			}
			// The budget covers everything the guard adds, the session
			// read of the identity included.
			if added := guarded - base; added > 3 {
				t.Errorf("the guard adds %.0f allocations per request; the budget is 3", added)
			}
		})
	}
}
