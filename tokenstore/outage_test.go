package tokenstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testmysql"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testserver"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// The store outage tests use a short lease, and an outage more than twice
// as long.
const (
	outageLease = 2 * time.Second
	outageLen   = 5 * time.Second
)

// outageBackend opens the databases of one SQL backend for the outage
// test: open gives one instance's pool, lock makes the token table
// unusable for every other connection until unlock is called.
type outageBackend struct {
	name    string
	dialect tokenstore.Dialect
	open    func(t *testing.T) *sql.DB
	lock    func(t *testing.T, db *sql.DB) (unlock func())
}

func sqliteOutage(t *testing.T) outageBackend {
	path := filepath.Join(t.TempDir(), "shared.db")
	return outageBackend{
		name: "sqlite", dialect: tokenstore.SQLite,
		open: func(t *testing.T) *sql.DB {
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(500)&_pragma=journal_mode(WAL)")
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			return db
		},
		lock: func(t *testing.T, db *sql.DB) func() {
			conn, err := db.Conn(context.Background())
			require.NoError(t, err)
			_, err = conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE")
			require.NoError(t, err)
			return func() {
				_, err := conn.ExecContext(context.Background(), "COMMIT")
				assert.NoError(t, err)
				conn.Close()
			}
		},
	}
}

func postgresOutage(t *testing.T) outageBackend {
	dsn := testpg.OpenDSN(t)
	return outageBackend{
		name: "postgres", dialect: tokenstore.Postgres,
		open: func(t *testing.T) *sql.DB {
			db, err := sql.Open("pgx", dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			return db
		},
		lock: func(t *testing.T, db *sql.DB) func() {
			tx, err := db.BeginTx(context.Background(), nil)
			require.NoError(t, err)
			_, err = tx.Exec("LOCK TABLE " + tokenstore.DefaultTable + " IN ACCESS EXCLUSIVE MODE")
			require.NoError(t, err)
			return func() { assert.NoError(t, tx.Commit()) }
		},
	}
}

func mysqlOutage(t *testing.T) outageBackend {
	cfg, err := mysql.ParseDSN(testmysql.DSN(t))
	require.NoError(t, err)
	cfg.DBName = testserver.FreshDatabase(t, "mysql", cfg.FormatDSN(), "DROP DATABASE IF EXISTS %s")
	cfg.ClientFoundRows = true
	dsn := cfg.FormatDSN()
	return outageBackend{
		name: "mysql", dialect: tokenstore.MySQL,
		open: func(t *testing.T) *sql.DB {
			db, err := sql.Open("mysql", dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			return db
		},
		lock: func(t *testing.T, db *sql.DB) func() {
			conn, err := db.Conn(context.Background())
			require.NoError(t, err)
			_, err = conn.ExecContext(context.Background(), "LOCK TABLES "+tokenstore.DefaultTable+" WRITE")
			require.NoError(t, err)
			return func() {
				_, err := conn.ExecContext(context.Background(), "UNLOCK TABLES")
				assert.NoError(t, err)
				conn.Close()
			}
		},
	}
}

func TestOutageLongerThanTheLeaseSQLite(t *testing.T)   { testOutage(t, sqliteOutage(t)) }
func TestOutageLongerThanTheLeasePostgres(t *testing.T) { testOutage(t, postgresOutage(t)) }
func TestOutageLongerThanTheLeaseMySQL(t *testing.T)    { testOutage(t, mysqlOutage(t)) }

// testOutage: instance A refreshes a token (TikTok rotates the refresh
// token) and cannot save it, because the table is locked for more than
// twice the lease time. Instance B serves the user all along, during the
// outage and after it. Nobody may be logged out, TikTok must never see the
// old refresh token again, and A's token must reach the store as soon as
// it answers.
func testOutage(t *testing.T, b outageBackend) {
	e := newEnv(t, 0)
	user := e.users[0]
	ring := testKeyRing(t, "k1")
	var dropped atomic.Int32
	var srcs [2]*tokenstore.Source
	var stores [2]*tokenstore.SQL
	for i := range srcs {
		stores[i] = newSQLStore(t, b.open(t), b.dialect, ring)
		srcs[i] = e.source(t, tokenstore.SourceConfig{
			Store:    stores[i],
			LeaseTTL: outageLease,
			OnDrop:   func(string, error) { dropped.Add(1) },
		})
	}
	locker := b.open(t)
	old := e.login(t, stores[0], user)
	e.expire()

	// A's refresh is slow at TikTok; the table is locked while TikTok
	// answers, so A has the rotated token and nowhere to save it.
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 300 * time.Millisecond, Times: 1})
	aDone := make(chan error, 1)
	go func() {
		_, err := srcs[0].Token(t.Context(), user)
		aDone <- err
	}()
	require.Eventually(t, func() bool { return e.emu.Counters().Calls[tiktoktest.EndpointToken] > 0 },
		5*time.Second, 5*time.Millisecond, "A asks TikTok")
	unlock := b.lock(t, locker)
	locked := time.Now()
	unlocked := false
	defer func() {
		if !unlocked {
			unlock()
		}
	}()
	require.Equal(t, 0, e.refreshes(), "the lock is taken before TikTok answers")
	if err := <-aDone; err == nil {
		t.Fatal("A's request succeeded although the store was locked")
	}
	require.Equal(t, 1, e.refreshes())

	// B's requests, during the outage and for a while after it.
	var loggedOut int
	var served int
	var last *client.Token
	request := func() {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		tok, err := srcs[1].Token(ctx, user)
		switch {
		case errors.Is(err, tokenstore.ErrLoginRequired):
			loggedOut++
			if loggedOut == 1 {
				t.Logf("%v after the lock: %v", time.Since(locked).Round(time.Millisecond), err)
			}
		case err == nil:
			served++
			last = tok
		}
	}
	for time.Since(locked) < outageLen {
		request()
		time.Sleep(100 * time.Millisecond)
	}
	unlock()
	unlocked = true
	released := time.Now()
	for time.Since(released) < outageLease+outageLease/2 {
		request()
		time.Sleep(100 * time.Millisecond)
	}

	assert.Zero(t, loggedOut, "nobody is logged out")
	assert.Zero(t, dropped.Load(), "no token dropped")
	assert.Zero(t, e.emu.RefreshTokenReuse(), "TikTok never saw the old refresh token again")
	assert.Equal(t, 1, e.refreshes(), "the one refresh A made serves everyone")
	require.NotZero(t, served, "B is served once the store is back")
	stored, err := stores[1].Get(t.Context(), user)
	require.NoError(t, err, "the user's token is in the store")
	assert.NotEqual(t, old.RefreshToken, stored.RefreshToken, "A's rotated token was saved")
	assert.True(t, stored.Valid(e.clock.Now()))
	assert.Equal(t, stored.AccessToken, last.AccessToken, "B hands out A's token")

	// Both instances go on with the saved token.
	for _, src := range srcs {
		tok, err := src.Token(t.Context(), user)
		require.NoError(t, err)
		assert.Equal(t, stored.AccessToken, tok.AccessToken)
	}
}

// TestOutageSaveRetriedInTheBackground: with a single instance, a rotated
// token that could not be saved reaches the store once it answers again,
// without any further request.
func TestOutageSaveRetriedInTheBackground(t *testing.T) {
	b := sqliteOutage(t)
	e := newEnv(t, 0)
	user := e.users[0]
	st := newSQLStore(t, b.open(t), b.dialect, nil)
	var refreshed atomic.Int32
	src := e.source(t, tokenstore.SourceConfig{Store: st, LeaseTTL: outageLease,
		OnRefresh: func(string, *client.Token) { refreshed.Add(1) }})
	old := e.login(t, st, user)
	e.expire()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 300 * time.Millisecond, Times: 1})
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(t.Context(), user)
		done <- err
	}()
	require.Eventually(t, func() bool { return e.emu.Counters().Calls[tiktoktest.EndpointToken] > 0 },
		5*time.Second, 5*time.Millisecond)
	unlock := b.lock(t, b.open(t))
	require.Error(t, <-done)
	time.Sleep(outageLease)
	unlock()
	require.Eventually(t, func() bool {
		tok, err := st.Get(t.Context(), user)
		return err == nil && tok.RefreshToken != old.RefreshToken
	}, outageLease, 20*time.Millisecond, "the rotated token is saved without another request")
	require.Eventually(t, func() bool { return refreshed.Load() == 1 }, time.Second, 10*time.Millisecond)
	// The lease was given up once the token was saved.
	ok, err := st.TryLease(t.Context(), user, "someone-else", time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1, e.refreshes())
}

// TestLoginClearsAStaleLease: a lease left on a row by an instance that
// crashed does not hold up the user's next login: its save clears it.
func TestLoginClearsAStaleLease(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newSourceEnv(t, onBackend(b), withoutLogin(), withConfig(tokenstore.SourceConfig{LeaseTTL: time.Minute}))
			l := e.store.(tokenstore.Leaser)
			ok, err := l.TryLease(e.ctx, e.user, "crashed-instance", time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, e.src.Save(e.ctx, e.user, e.issue(t, e.user)))
			ok, err = l.TryLease(e.ctx, e.user, "another-instance", time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "the login's save cleared the stale lease")

			// A plain Put keeps the lease, as the Store contract says.
			require.NoError(t, e.store.Put(e.ctx, e.user, e.issue(t, e.user)))
			ok, err = l.TryLease(e.ctx, e.user, "third-instance", time.Minute)
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
}

// TestSessionDisconnectRacingARefresh: one browser, two requests. The
// first refreshes the token (slowly); the second disconnects meanwhile.
// scs saves whole sessions, so the first request's session, saved last,
// holds the refreshed token again. The user must stay disconnected.
func TestSessionDisconnectRacingARefresh(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	sm := scs.New()
	st := tokenstore.NewSession(sm, tokenstore.SessionConfig{})
	src := e.source(t, tokenstore.SourceConfig{Store: st})
	login, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	e.login(t, &sessionStore{st, login}, user)
	cookie, _, err := sm.Commit(login)
	require.NoError(t, err)
	e.expire()

	refreshing, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	disconnecting, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 300 * time.Millisecond, Times: 1})
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = src.Token(refreshing, user) })
	require.Eventually(t, func() bool { return e.emu.Counters().Calls[tiktoktest.EndpointToken] > 0 },
		5*time.Second, 5*time.Millisecond)
	require.NoError(t, src.Delete(disconnecting, user))
	_, _, err = sm.Commit(disconnecting)
	require.NoError(t, err)
	wg.Wait()
	_, _, err = sm.Commit(refreshing) // last writer wins
	require.NoError(t, err)

	next, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	_, err = src.Token(next, user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired, "the disconnect stands")
	_, err = st.Get(next, user)
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "the token is gone from the session")
	_, err = src.Token(next, user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
	assert.Zero(t, e.emu.RefreshTokenReuse())

	// A new login in the same session works as usual.
	e.login(t, &sessionStore{st, next}, user)
	tok, err := src.Token(next, user)
	require.NoError(t, err)
	assert.True(t, tok.Valid(e.clock.Now()))
}

// TestSessionDisconnectStandsAgainstAnOlderCopy: a request carrying a copy
// of the session from before a refresh comes after the disconnect. Its
// refresh token resolves to the successor this process knows of, but that
// grant was deleted: the user stays disconnected.
func TestSessionDisconnectStandsAgainstAnOlderCopy(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	sm := scs.New()
	st := tokenstore.NewSession(sm, tokenstore.SessionConfig{})
	src := e.source(t, tokenstore.SourceConfig{Store: st})
	login, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	e.login(t, &sessionStore{st, login}, user)
	cookie, _, err := sm.Commit(login)
	require.NoError(t, err)
	e.expire()

	older, err := sm.Load(t.Context(), cookie) // holds the first token
	require.NoError(t, err)
	refreshing, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	_, err = src.Token(refreshing, user)
	require.NoError(t, err)
	_, _, err = sm.Commit(refreshing)
	require.NoError(t, err)

	disconnecting, err := sm.Load(t.Context(), cookie) // holds the refreshed token
	require.NoError(t, err)
	require.NoError(t, src.Delete(disconnecting, user))
	_, _, err = sm.Commit(disconnecting)
	require.NoError(t, err)

	_, err = src.Token(older, user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired, "the older copy does not bring the login back")
	_, err = st.Get(older, user)
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	assert.Equal(t, 1, e.refreshes())
	assert.Zero(t, e.emu.RefreshTokenReuse())
}
