package tokenstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testmysql"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

// backend is a store under test with the context its calls need.
type backend struct {
	name  string
	store func(t *testing.T) tokenstore.Store
	ctx   func(t *testing.T, st tokenstore.Store) context.Context
}

func plainCtx(t *testing.T, _ tokenstore.Store) context.Context { return t.Context() }

var leasingBackends = []backend{
	{"memory", func(*testing.T) tokenstore.Store { return tokenstore.NewMemory() }, plainCtx},
	{"sqlite", func(t *testing.T) tokenstore.Store {
		return newSQLStore(t, openSQLite(t), tokenstore.SQLite, testKeyRing(t, "k1"))
	}, plainCtx},
	{"postgres", func(t *testing.T) tokenstore.Store {
		return newSQLStore(t, testpg.Open(t), tokenstore.Postgres, testKeyRing(t, "k1"))
	}, plainCtx},
	{"mysql", func(t *testing.T) tokenstore.Store {
		return newSQLStore(t, testmysql.Open(t), tokenstore.MySQL, testKeyRing(t, "k1"))
	}, plainCtx},
}

// sourceEnv is the setup most Source tests share: an env, a store on which
// the env's first user has logged in, a Source on that store, and the
// context the store's calls need.
type sourceEnv struct {
	*env
	store tokenstore.Store
	user  string        // e.users[0]
	tok   *client.Token // the token saved for user; nil after withoutLogin
	src   *tokenstore.Source
	ctx   context.Context
}

// sourceSetup is what the options of newSourceEnv set.
type sourceSetup struct {
	backend *backend
	store   tokenstore.Store
	cfg     tokenstore.SourceConfig
	noLogin bool
}

type sourceOpt func(*sourceSetup)

// onBackend puts the Source on a new store of b, with b's context.
func onBackend(b backend) sourceOpt { return func(s *sourceSetup) { s.backend = &b } }

// onStore puts the Source on st, with the test's context. Without
// onBackend or onStore the store is a new Memory store.
func onStore(st tokenstore.Store) sourceOpt { return func(s *sourceSetup) { s.store = st } }

// withConfig configures the Source; its Store and Client are filled in.
func withConfig(cfg tokenstore.SourceConfig) sourceOpt { return func(s *sourceSetup) { s.cfg = cfg } }

// withoutLogin leaves the store empty.
func withoutLogin() sourceOpt { return func(s *sourceSetup) { s.noLogin = true } }

// newSourceEnv makes an env, the store, logs the first user in (a token
// saved under its open_id) and makes the Source.
func newSourceEnv(t *testing.T, opts ...sourceOpt) *sourceEnv {
	t.Helper()
	var set sourceSetup
	for _, o := range opts {
		o(&set)
	}
	e := newEnv(t, 0)
	se := &sourceEnv{env: e, user: e.users[0]}
	switch {
	case set.store != nil:
		se.store, se.ctx = set.store, t.Context()
	case set.backend != nil:
		se.store = set.backend.store(t)
		se.ctx = set.backend.ctx(t, se.store)
	default:
		se.store, se.ctx = tokenstore.NewMemory(), t.Context()
	}
	if !set.noLogin {
		se.tok = e.login(t, se.store, se.user)
	}
	cfg := set.cfg
	cfg.Store = se.store
	se.src = e.source(t, cfg)
	return se
}

func TestSourceReturnsAValidTokenWithoutRefreshing(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newSourceEnv(t, onBackend(b))
			got, err := e.src.Token(e.ctx, e.user)
			require.NoError(t, err)
			assert.Empty(t, storetest.Equal(e.tok, got))
			assert.Zero(t, e.refreshes())
		})
	}
}

func TestSourceRefreshesAndSavesBeforeReturning(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			var hookedKey string
			var hooked atomic.Pointer[client.Token]
			hookDone := make(chan struct{})
			e := newSourceEnv(t, onBackend(b), withConfig(tokenstore.SourceConfig{OnRefresh: func(key string, tok *client.Token) {
				hookedKey = key
				hooked.Store(tok)
				close(hookDone)
			}}))
			src, st, user, old, ctx := e.src, e.store, e.user, e.tok, e.ctx
			e.expire()
			got, err := src.Token(ctx, user)
			require.NoError(t, err)
			assert.NotEqual(t, old.AccessToken, got.AccessToken)
			assert.NotEqual(t, old.RefreshToken, got.RefreshToken, "the emulator rotates refresh tokens")
			assert.True(t, got.Valid(e.clock.Now()))
			assert.Equal(t, user, got.OpenID)
			assert.ElementsMatch(t, old.Scopes, got.Scopes)

			stored, err := st.Get(ctx, user)
			require.NoError(t, err)
			assert.Empty(t, storetest.Equal(got, stored), "the rotated token must be in the store when it is returned")
			<-hookDone
			assert.Equal(t, user, hookedKey)
			assert.Same(t, got, hooked.Load())
			assert.Equal(t, 1, e.refreshes())

			again, err := src.Token(ctx, user)
			require.NoError(t, err)
			assert.Equal(t, got.AccessToken, again.AccessToken)
			assert.Equal(t, 1, e.refreshes())
		})
	}
}

func TestSourceConcurrentCallersShareOneRefresh(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newSourceEnv(t, onBackend(b))
			src, user := e.src, e.user
			e.expire()
			// Slow the token endpoint so every caller arrives while the
			// refresh is in flight.
			e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 50 * time.Millisecond, Times: 1})
			const callers = 50
			toks := make([]*client.Token, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() { toks[i], errs[i] = src.Token(e.ctx, user) })
			}
			wg.Wait()
			for i := range callers {
				require.NoError(t, errs[i])
				assert.Equal(t, toks[0].AccessToken, toks[i].AccessToken)
			}
			assert.Equal(t, 1, e.refreshes(), "exactly one refresh")
			assert.Zero(t, e.emu.RefreshTokenReuse())
		})
	}
}

func TestSourceSessionStore(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	sm := scs.New()
	st := tokenstore.NewSession(sm, tokenstore.SessionConfig{Keys: testKeyRing(t, "s1")})
	src := e.source(t, tokenstore.SourceConfig{Store: st})

	login, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	e.login(t, &sessionStore{st, login}, user)
	cookie, _, err := sm.Commit(login)
	require.NoError(t, err)
	e.expire()

	// Concurrent requests of one browser: each has its own copy of the
	// session, all with the same expired token.
	const requests = 20
	ctxs := make([]context.Context, requests)
	for i := range ctxs {
		ctxs[i], err = sm.Load(t.Context(), cookie)
		require.NoError(t, err)
	}
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 50 * time.Millisecond, Times: 1})
	toks := make([]*client.Token, requests)
	errs := make([]error, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() { toks[i], errs[i] = src.Token(ctxs[i], user) })
	}
	wg.Wait()
	for i := range requests {
		require.NoError(t, errs[i])
		assert.Equal(t, toks[0].AccessToken, toks[i].AccessToken)
		// Every copy of the session now holds the new token.
		inSession, err := st.Get(ctxs[i], user)
		require.NoError(t, err)
		assert.Equal(t, toks[0].RefreshToken, inSession.RefreshToken, "request %d", i)
	}
	assert.Equal(t, 1, e.refreshes())
	assert.Zero(t, e.emu.RefreshTokenReuse())

	// A request that loaded the session before the refresh and comes
	// after it (within the grace period) gets the successor; TikTok is
	// not asked with the dead refresh token.
	late, err := sm.Load(t.Context(), cookie) // the stored session still has the old token
	require.NoError(t, err)
	got, err := src.Token(late, user)
	require.NoError(t, err)
	assert.Equal(t, toks[0].AccessToken, got.AccessToken)
	assert.Equal(t, 1, e.refreshes())
	assert.Zero(t, e.emu.RefreshTokenReuse())
	inSession, err := st.Get(late, user)
	require.NoError(t, err)
	assert.Equal(t, toks[0].RefreshToken, inSession.RefreshToken, "the late session copy is updated")
}

func TestSourceSessionGraceEnds(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	sm := scs.New()
	st := tokenstore.NewSession(sm, tokenstore.SessionConfig{})
	src := e.source(t, tokenstore.SourceConfig{Store: st, Grace: time.Minute})
	login, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	e.login(t, &sessionStore{st, login}, user)
	cookie, _, err := sm.Commit(login)
	require.NoError(t, err)
	e.expire()
	first, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	_, err = src.Token(first, user)
	require.NoError(t, err)

	// After the grace period an old copy is no longer mapped: its refresh
	// token is dead at TikTok, so the user logs in again.
	e.clock.Advance(2 * time.Minute)
	stale, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	_, err = src.Token(stale, user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
	assert.Equal(t, 1, e.emu.RefreshTokenReuse(), "the stale copy presented the rotated refresh token")
}

// sessionStore binds a Session store to one session context, for setup.
type sessionStore struct {
	*tokenstore.Session
	ctx context.Context
}

func (s *sessionStore) Put(_ context.Context, key string, tok *client.Token) error {
	return s.Session.Put(s.ctx, key, tok)
}

func TestSourceTemporaryFailuresKeepTheToken(t *testing.T) {
	faults := []struct {
		name  string
		fault tiktoktest.Fault
	}{
		{"500", tiktoktest.Fault{Status: 500}},
		{"503 with Retry-After", tiktoktest.Fault{Status: 503, RetryAfter: time.Second}},
		{"429", tiktoktest.Fault{Status: 429}},
		{"server_error with 200", tiktoktest.Fault{ErrorCode: "server_error"}},
		{"malformed body", tiktoktest.Fault{Body: `{"access_token": "act.trunc`}},
		{"HTML page", tiktoktest.Fault{Status: 502, Body: "<html><body>Bad Gateway</body></html>", ContentType: "text/html"}},
		{"delay past the timeout", tiktoktest.Fault{Delay: time.Second}}, // the refresh gives up after 3/4 of LeaseTTL
		{"connection dropped", tiktoktest.Fault{Drop: true}},
		// An OAuth refusal in a 5xx answer is a gateway or an outage
		// speaking, not TikTok refusing the grant.
		{"invalid_grant with 503", tiktoktest.Fault{Status: 503, ErrorCode: "invalid_grant"}},
		{"invalid_grant with 500", tiktoktest.Fault{Status: 500, ErrorCode: "invalid_grant"}},
	}
	for _, b := range leasingBackends {
		for _, f := range faults {
			t.Run(b.name+"/"+f.name, func(t *testing.T) {
				dropped := make(chan error, 1)
				e := newSourceEnv(t, onBackend(b), withConfig(tokenstore.SourceConfig{LeaseTTL: 400 * time.Millisecond,
					OnDrop: func(_ string, err error) { dropped <- err }}))
				src, st, user, old, ctx := e.src, e.store, e.user, e.tok, e.ctx
				e.expire()
				e.emu.InjectFault(tiktoktest.EndpointToken, f.fault)

				_, err := src.Token(ctx, user)
				require.Error(t, err)
				assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired, "a temporary failure must not log the user out")
				kept, gerr := st.Get(ctx, user)
				require.NoError(t, gerr, "the token must be kept")
				assert.Empty(t, storetest.Equal(old, kept))

				// TikTok is back: the next request refreshes.
				e.emu.ClearFaults()
				got, err := src.Token(ctx, user)
				require.NoError(t, err)
				assert.True(t, got.Valid(e.clock.Now()))
				assert.Zero(t, e.emu.RefreshTokenReuse())
				assert.Empty(t, dropped)
			})
		}
	}
}

func TestSourceFailedRefreshFallsBackToAStillValidToken(t *testing.T) {
	e := newSourceEnv(t)
	// Within the 5 minute margin, not yet expired.
	e.clock.Advance(e.tok.Expiry.Sub(e.clock.Now()) - 2*time.Minute)
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500})
	got, err := e.src.Token(e.ctx, e.user)
	require.NoError(t, err)
	assert.Equal(t, e.tok.AccessToken, got.AccessToken)
}

func TestSourceInvalidGrantDeletesTheToken(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			var droppedKey string
			dropped := make(chan error, 1)
			e := newSourceEnv(t, onBackend(b), withConfig(tokenstore.SourceConfig{OnDrop: func(key string, err error) {
				droppedKey = key
				dropped <- err
			}}))
			src, st, user, ctx := e.src, e.store, e.user, e.ctx
			e.emu.RevokeAllGrants() // the user removed the app
			e.expire()

			_, err := src.Token(ctx, user)
			require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
			require.ErrorIs(t, err, client.ErrInvalidGrant)
			_, err = st.Get(ctx, user)
			require.ErrorIs(t, err, tokenstore.ErrNotFound, "the dead token is deleted")
			require.ErrorIs(t, <-dropped, tokenstore.ErrLoginRequired)
			assert.Equal(t, user, droppedKey)

			calls := e.emu.Calls(tiktoktest.EndpointToken)
			_, err = src.Token(ctx, user)
			require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
			assert.Equal(t, calls, e.emu.Calls(tiktoktest.EndpointToken), "the next request goes to login without asking TikTok")
		})
	}
}

// A refresh whose answer was lost after TikTok rotated the token: the first
// request fails as temporary and keeps the token; the next presents the
// only refresh token it has, TikTok refuses the reuse, and the user is sent
// to log in once, cleanly, with the cause in the log; no loop after that.
func TestSourceLostRefreshAnswerEndsInOneLogin(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			var logs testutil.SyncBuffer
			e := newSourceEnv(t, onBackend(b), withConfig(tokenstore.SourceConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
			src, user, ctx := e.src, e.user, e.ctx
			e.expire()
			e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{LoseAnswer: true, Times: 1})

			_, err := src.Token(ctx, user)
			require.Error(t, err)
			assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired, "a lost answer is temporary")
			assert.Equal(t, 1, e.emu.Grants("refresh_token"), "TikTok did rotate the token")

			_, err = src.Token(ctx, user)
			require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
			require.ErrorIs(t, err, client.ErrInvalidGrant)
			assert.Equal(t, 1, e.emu.RefreshTokenReuse())
			assert.Contains(t, logs.String(), "invalid_grant", "the log names the cause")

			calls := e.emu.Calls(tiktoktest.EndpointToken)
			for range 3 {
				_, err = src.Token(ctx, user)
				require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
			}
			assert.Equal(t, calls, e.emu.Calls(tiktoktest.EndpointToken), "no loop: TikTok is not asked again")
		})
	}
}

func TestSourceExpiredRefreshTokenDeletesWithoutAskingTikTok(t *testing.T) {
	e := newSourceEnv(t, withoutLogin())
	tok := e.issue(t, e.user)
	tok.RefreshExpiry = e.clock.Now().Add(time.Hour)
	require.NoError(t, e.store.Put(e.ctx, e.user, tok))
	e.expire()
	_, err := e.src.Token(e.ctx, e.user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
	assert.Zero(t, e.emu.Calls(tiktoktest.EndpointToken))
	_, err = e.store.Get(e.ctx, e.user)
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}

func TestSourceNoTokenIsLoginRequired(t *testing.T) {
	e := newSourceEnv(t, withoutLogin())
	for _, key := range []string{"nobody", ""} {
		_, err := e.src.Token(e.ctx, key)
		require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
		require.ErrorIs(t, err, tokenstore.ErrNotFound)
	}
}

// TestSourceUnreadableRowsAreKept: a corrupt row or one encrypted with a key
// that left the ring is a clear error; the row stays and TikTok is not
// asked.
func TestSourceUnreadableRowsAreKept(t *testing.T) {
	tests := []struct {
		name   string
		reader func(t *testing.T, ring *tokenstore.KeyRing) *tokenstore.KeyRing
		damage func(t *testing.T, db *sql.DB)
		want   error
	}{
		{"corrupt row", func(_ *testing.T, r *tokenstore.KeyRing) *tokenstore.KeyRing { return r },
			func(t *testing.T, db *sql.DB) {
				exec(t, db, `UPDATE tiktok_tokens SET token = ?`, []byte("\x01garbage garbage garbage garbage"))
			}, tokenstore.ErrCorrupt},
		{"key missing from the ring", func(t *testing.T, _ *tokenstore.KeyRing) *tokenstore.KeyRing { return testKeyRing(t, "new") },
			func(*testing.T, *sql.DB) {}, tokenstore.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 0)
			user := e.users[0]
			db := openSQLite(t)
			ring := testKeyRing(t, "old")
			e.login(t, newSQLStore(t, db, tokenstore.SQLite, ring), user)
			tc.damage(t, db)
			before := rowToken(t, db, user)
			st := newSQLStore(t, db, tokenstore.SQLite, tc.reader(t, ring))
			dropped := make(chan error, 1)
			src := e.source(t, tokenstore.SourceConfig{Store: st, OnDrop: func(_ string, err error) { dropped <- err }})
			for _, expired := range []bool{false, true} {
				if expired {
					e.expire()
				}
				_, err := src.Token(t.Context(), user)
				require.ErrorIs(t, err, tc.want)
				assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
				_, err = src.ForceRefresh(t.Context(), user, &client.Token{AccessToken: "act.dead"})
				require.ErrorIs(t, err, tc.want)
			}
			assert.Equal(t, before, rowToken(t, db, user), "the row must be kept")
			assert.Zero(t, e.emu.Calls(tiktoktest.EndpointToken))
			assert.Empty(t, dropped)
		})
	}
}

func TestSourceStoreDownKeepsTheUserLoggedIn(t *testing.T) {
	db := openSQLite(t)
	e := newSourceEnv(t, onStore(newSQLStore(t, db, tokenstore.SQLite, nil)), withConfig(tokenstore.SourceConfig{CacheSize: -1}))
	require.NoError(t, db.Close())
	_, err := e.src.Token(e.ctx, e.user)
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
}

func TestSourceForceRefresh(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newSourceEnv(t, onBackend(b))
			src, user, dead, ctx := e.src, e.user, e.tok, e.ctx
			e.emu.KillAccessTokens() // dead before the expiry it announced
			e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 50 * time.Millisecond, Times: 1})

			const callers = 25
			toks := make([]*client.Token, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() { toks[i], errs[i] = src.ForceRefresh(ctx, user, dead) })
			}
			wg.Wait()
			for i := range callers {
				require.NoError(t, errs[i])
				assert.Equal(t, toks[0].AccessToken, toks[i].AccessToken)
			}
			assert.NotEqual(t, dead.AccessToken, toks[0].AccessToken)
			assert.Equal(t, 1, e.refreshes(), "one dead token, one refresh")
			assert.Zero(t, e.emu.RefreshTokenReuse())

			// A late caller with the same dead token gets the new one.
			late, err := src.ForceRefresh(ctx, user, dead)
			require.NoError(t, err)
			assert.Equal(t, toks[0].AccessToken, late.AccessToken)
			assert.Equal(t, 1, e.refreshes())

			// A caller whose new token dies too gets another refresh.
			e.emu.KillAccessTokens()
			next, err := src.ForceRefresh(ctx, user, toks[0])
			require.NoError(t, err)
			assert.NotEqual(t, toks[0].AccessToken, next.AccessToken)
			assert.Equal(t, 2, e.refreshes())
		})
	}
}

func TestSourceForceRefreshAfterTheGrantWasRevoked(t *testing.T) {
	e := newSourceEnv(t)
	e.emu.RevokeAllGrants()
	_, err := e.src.ForceRefresh(e.ctx, e.user, e.tok)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
	_, err = e.store.Get(e.ctx, e.user)
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}

func TestSourceForceRefreshTemporaryFailure(t *testing.T) {
	e := newSourceEnv(t)
	src, user, dead := e.src, e.user, e.tok
	e.emu.KillAccessTokens()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500, Times: 1})
	_, err := src.ForceRefresh(t.Context(), user, dead)
	require.Error(t, err, "a dead token must not be handed out again")
	assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
	got, err := src.ForceRefresh(t.Context(), user, dead)
	require.NoError(t, err, "the next request refreshes")
	assert.NotEqual(t, dead.AccessToken, got.AccessToken)
	assert.Equal(t, 1, e.refreshes())
}

// TestSourceTwoInstancesForceRefresh: two Sources (two instances) on one
// SQLite file, each with its own pool, meet the same dead token.
func TestSourceTwoInstancesForceRefresh(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	path := filepath.Join(t.TempDir(), "shared.db")
	var srcs []*tokenstore.Source
	ring := testKeyRing(t, "k1")
	for range 2 {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		st := newSQLStore(t, db, tokenstore.SQLite, ring)
		srcs = append(srcs, e.source(t, tokenstore.SourceConfig{Store: st}))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	dead := e.login(t, newSQLStore(t, db, tokenstore.SQLite, ring), user)
	e.emu.KillAccessTokens()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 50 * time.Millisecond, Times: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			tok, err := srcs[i%2].ForceRefresh(t.Context(), user, dead)
			if err == nil && tok.AccessToken == dead.AccessToken {
				err = errors.New("got the dead token back")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, e.refreshes())
	assert.Zero(t, e.emu.RefreshTokenReuse())
}

func TestSourceCallerThatGivesUpDoesNotAbandonTheRefresh(t *testing.T) {
	e := newSourceEnv(t)
	src, user, old := e.src, e.user, e.tok
	e.expire()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 200 * time.Millisecond, Times: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := src.Token(ctx, user)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)

	// The refresh went on; this call joins it (or finds its result).
	got, err := src.Token(t.Context(), user)
	require.NoError(t, err)
	assert.NotEqual(t, old.AccessToken, got.AccessToken)
	assert.Equal(t, 1, e.refreshes())
	assert.Zero(t, e.emu.RefreshTokenReuse())
}

func TestSourceWaitsOutACrashedLeaseHolder(t *testing.T) {
	st := newSQLStore(t, openSQLite(t), tokenstore.SQLite, nil)
	e := newSourceEnv(t, onStore(st), withConfig(tokenstore.SourceConfig{LeaseTTL: time.Second}))
	src, user := e.src, e.user
	ok, err := st.TryLease(t.Context(), user, "crashed-instance", 300*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	e.expire()
	start := time.Now()
	got, err := src.Token(t.Context(), user)
	require.NoError(t, err)
	assert.True(t, got.Valid(e.clock.Now()))
	// The lease was honoured, and then a third of the Source's lease
	// time given to its holder to save what it may hold.
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond+300*time.Millisecond, "the lease was honoured")
	assert.Equal(t, 1, e.refreshes())
	// The Source released its lease.
	ok, err = st.TryLease(t.Context(), user, "someone-else", time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestSourceCache(t *testing.T) {
	db := openSQLite(t)
	e := newSourceEnv(t, onStore(newSQLStore(t, db, tokenstore.SQLite, nil)), withConfig(tokenstore.SourceConfig{CacheTTL: time.Minute}))
	src, user, tok, ctx := e.src, e.user, e.tok, e.ctx
	_, err := src.Token(ctx, user)
	require.NoError(t, err)

	// Another instance deletes the row: this one keeps serving from its
	// cache until the entry's TTL, as documented.
	exec(t, db, `DELETE FROM tiktok_tokens`)
	got, err := src.Token(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, got.AccessToken)
	e.clock.Advance(2 * time.Minute)
	_, err = src.Token(ctx, user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired, "after CacheTTL the store decides")

	// This process's own Save and Delete update the cache at once.
	require.NoError(t, src.Save(ctx, user, tok))
	exec(t, db, `DELETE FROM tiktok_tokens`)
	got, err = src.Token(ctx, user)
	require.NoError(t, err, "Save caches the token")
	assert.Equal(t, tok.AccessToken, got.AccessToken)
	require.NoError(t, src.Save(ctx, user, tok))
	require.NoError(t, src.Delete(ctx, user))
	_, err = src.Token(ctx, user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
}

func TestSourceSaveAndDelete(t *testing.T) {
	e := newSourceEnv(t, withoutLogin())
	src := e.src
	tok := e.issue(t, e.user)
	require.NoError(t, src.Save(t.Context(), "k", tok))
	got, err := src.Token(t.Context(), "k")
	require.NoError(t, err)
	assert.Empty(t, storetest.Equal(tok, got))
	require.Error(t, src.Save(t.Context(), "k", nil))
	require.NoError(t, src.Delete(t.Context(), "k"))
	_, err = src.Token(t.Context(), "k")
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
	assert.Same(t, e.client, src.Client())
}

func TestNewSourceValidates(t *testing.T) {
	e := newEnv(t, 0)
	_, err := tokenstore.NewSource(tokenstore.SourceConfig{Client: e.client})
	require.ErrorContains(t, err, "Store is required")
	_, err = tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory()})
	require.ErrorContains(t, err, "Client is required")
	_, err = tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: e.client, Margin: -time.Second})
	require.ErrorContains(t, err, "must not be negative")
}

func TestSourceLogsNoSecrets(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		logs = append(logs, string(p))
		mu.Unlock()
		return len(p), nil
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newSourceEnv(t, withConfig(tokenstore.SourceConfig{Logger: logger}))
	src, user, old := e.src, e.user, e.tok
	e.expire()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500, Times: 1})
	_, err := src.Token(t.Context(), user)
	require.Error(t, err)
	got, err := src.Token(t.Context(), user)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, logs)
	for _, line := range logs {
		for _, secret := range []string{old.AccessToken, old.RefreshToken, got.AccessToken, got.RefreshToken} {
			assert.NotContains(t, line, secret)
		}
	}
	_ = fmt.Sprint(got)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestSourceWarmPathAllocatesNothing: a valid token costs no allocation,
// from the Memory store and from the cache in front of a SQL store.
func TestSourceWarmPathAllocatesNothing(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newSourceEnv(t, onBackend(b))
			src, user, ctx := e.src, e.user, e.ctx
			_, err := src.Token(ctx, user)
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(200, func() {
				if _, err := src.Token(ctx, user); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs)
		})
	}
}
