package faultmatrix_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// storeEnv is an emulator, a client and a token source on a SQL store.
type storeEnv struct {
	emu   *tiktoktest.Server
	ctr   *counter
	cl    *client.Client
	store *tokenstore.SQL
	src   *tokenstore.Source
	ok    http.Handler // a guarded handler that answers 200 without calling TikTok
}

func newStoreEnv(t *testing.T, db *sql.DB, d tokenstore.Dialect, ring *tokenstore.KeyRing, cacheSize int) *storeEnv {
	t.Helper()
	e := &storeEnv{emu: tiktoktest.NewServer(tiktoktest.Config{}), ctr: newCounter()}
	t.Cleanup(e.emu.Close)
	e.cl = newClient(t, e.emu, e.ctr, 10*time.Second)
	e.store = sqlStore(t, db, d, ring)
	require.NoError(t, e.store.Migrate(t.Context()))
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{
		Store: e.store, Client: e.cl, Logger: quiet, Margin: refreshMargin, LeaseTTL: 10 * time.Second, CacheSize: cacheSize,
	})
	require.NoError(t, err)
	e.src = src
	e.ok = newGuard(t, src).RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	return e
}

func (e *storeEnv) withSource(t *testing.T, st *tokenstore.SQL) *storeEnv {
	t.Helper()
	c := *e
	c.store = st
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: st, Client: e.cl, Logger: quiet, CacheSize: -1})
	require.NoError(t, err)
	c.src = src
	c.ok = newGuard(t, src).RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	return &c
}

func sqlStore(t *testing.T, db *sql.DB, d tokenstore.Dialect, ring *tokenstore.KeyRing) *tokenstore.SQL {
	t.Helper()
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: d, Keys: ring, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func newKey(t *testing.T, id string) tokenstore.EncryptionKey {
	t.Helper()
	k, _, err := tokenstore.GenerateEncryptionKey(id)
	require.NoError(t, err)
	return k
}

func ring(t *testing.T, primary tokenstore.EncryptionKey, older ...tokenstore.EncryptionKey) *tokenstore.KeyRing {
	t.Helper()
	r, err := tokenstore.NewKeyRing(primary, older...)
	require.NoError(t, err)
	return r
}

// login stores a fresh grant for the n-th default user, expired when
// stale, and returns the user's key and token.
func (e *storeEnv) login(t *testing.T, n int, stale bool) (string, *client.Token) {
	t.Helper()
	user := tiktoktest.DefaultUsers()[n].OpenID
	tok := issue(t, e.emu, user, client.ScopeUserInfoBasic)
	if stale {
		tok = expired(tok)
	}
	require.NoError(t, e.src.Save(t.Context(), user, tok))
	return user, tok
}

// storeError describes an error of the store itself (the database being
// down), which carries none of the kit's sentinels, and asserts that it
// does not log the user out.
func storeError(t *testing.T, err error, what string) string {
	t.Helper()
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
	for _, s := range sentinels {
		assert.NotErrorIs(t, err, s.err)
	}
	return what + "; not ErrLoginRequired"
}

// storeCases is the number of rows testStore adds.
const storeCases = 7

func testStore(t *testing.T, rep *report) {
	t.Run("postgres stopped", func(t *testing.T) {
		t.Parallel()
		for _, r := range postgresStopped(t) {
			rep.add(r)
		}
	})
	t.Run("postgres stopped longer than the lease", func(t *testing.T) {
		t.Parallel()
		rep.add(postgresOutageTwoInstances(t))
	})
	t.Run("bad rows", func(t *testing.T) {
		t.Parallel()
		for _, r := range badRows(t) {
			rep.add(r)
		}
	})
}

// postgresStopped stops PostgreSQL under a running token source: while a
// cached token is in use, while a token is due for a refresh, and between
// TikTok's answer to a refresh and the save of the rotated token.
func postgresStopped(t *testing.T) []row {
	cl := testpg.StartCluster(t)
	db, err := sql.Open("pgx", cl.DSN())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	e := newStoreEnv(t, db, tokenstore.Postgres, ring(t, newKey(t, "k1")), 0)
	const target = "SQL store on PostgreSQL"

	warm, _ := e.login(t, 0, false)
	_, err = e.src.Token(ctx, warm) // cached from now on
	require.NoError(t, err)
	due, dueTok := e.login(t, 1, true)
	mid, midTok := e.login(t, 2, true)
	e.ctr.take(client.PathToken)

	cached := row{section: sectionStore, order: 0, Target: target,
		Fault: "PostgreSQL stopped; the token is in the source's cache"}
	stale := row{section: sectionStore, order: 1, Target: target,
		Fault: "PostgreSQL stopped; the token is due for a refresh"}
	during := row{section: sectionStore, order: 2, Target: target,
		Fault: "PostgreSQL stops between TikTok's refresh answer and the save"}

	require.NoError(t, cl.Stop())

	err = call(func() error { _, err := e.src.Token(ctx, warm); return err })
	require.NoError(t, err, "a cached token must be served while the database is down")
	cached.Error, cached.Requests = describe(err), requests0(e)
	cached.Guarded = status(t, guarded(t, e.ok, warm), http.StatusOK)

	err = call(func() error { _, err := e.src.Token(ctx, due); return err })
	stale.Error = storeError(t, err, "the driver's error (database unreachable)")
	stale.Requests = requests0(e)
	assert.Equal(t, "0", stale.Requests, "TikTok must not be asked while the token cannot be saved")
	stale.Guarded = status(t, guarded(t, e.ok, due), http.StatusServiceUnavailable)

	require.NoError(t, cl.Start())
	for _, k := range []string{warm, due} {
		_, err := e.src.Token(ctx, k)
		require.NoError(t, err, "after the restart")
	}
	cached.Token, cached.Next = "kept", "succeeds"
	got, err := e.store.Get(ctx, due)
	require.NoError(t, err)
	require.NotEqual(t, dueTok.RefreshToken, got.RefreshToken, "the token due was refreshed after the restart")
	stale.Token, stale.Next = "kept", "succeeds (refreshed once)"
	e.ctr.take(client.PathToken)

	// Stop the database while the refresh request is on its way to TikTok:
	// TikTok rotates the refresh token, and the source cannot save it.
	e.ctr.once(client.PathToken, func() { require.NoError(t, cl.Stop()) })
	err = call(func() error { _, err := e.src.Token(ctx, mid); return err })
	during.Error = storeError(t, err, "save failed (the driver's error)")
	during.Requests = requests0(e)
	require.Equal(t, "1", during.Requests)
	require.Equal(t, 1, e.emu.Grants("refresh_token")-1, "TikTok rotated the token")
	during.Guarded = status(t, guarded(t, e.ok, mid), http.StatusServiceUnavailable)

	require.NoError(t, cl.Start())
	tok, err := e.src.Token(ctx, mid)
	require.NoError(t, err, "the rotated token kept in memory must be saved and used after the restart")
	assert.Equal(t, "0", requests0(e), "no second refresh")
	assert.Zero(t, e.emu.RefreshTokenReuse(), "the rotated-out refresh token was presented again")
	got, err = e.store.Get(ctx, mid)
	require.NoError(t, err)
	assert.Equal(t, tok.RefreshToken, got.RefreshToken)
	assert.NotEqual(t, midTok.RefreshToken, got.RefreshToken)
	during.Token = "rotated token held in memory, saved as soon as PostgreSQL answers (background retry or next call)"
	during.Next = "succeeds, no second refresh"
	return []row{cached, stale, during}
}

// postgresOutageTwoInstances stops PostgreSQL between TikTok's refresh
// answer to instance A and A's save, for more than twice the refresh lease,
// while instance B serves the same user during the outage and after it.
func postgresOutageTwoInstances(t *testing.T) row {
	const lease, outage = 2 * time.Second, 5 * time.Second
	cl := testpg.StartCluster(t)
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	t.Cleanup(emu.Close)
	ctr := newCounter()
	c := newClient(t, emu, ctr, 10*time.Second)
	k := ring(t, newKey(t, "k1"))
	var srcs [2]*tokenstore.Source
	var stores [2]*tokenstore.SQL
	for i := range srcs {
		db, err := sql.Open("pgx", cl.DSN())
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		stores[i] = sqlStore(t, db, tokenstore.Postgres, k)
		require.NoError(t, stores[i].Migrate(t.Context()))
		srcs[i], err = tokenstore.NewSource(tokenstore.SourceConfig{
			Store: stores[i], Client: c, Logger: quiet, Margin: refreshMargin, LeaseTTL: lease,
		})
		require.NoError(t, err)
	}
	okB := newGuard(t, srcs[1]).RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	user := tiktoktest.DefaultUsers()[0].OpenID
	old := expired(issue(t, emu, user, client.ScopeUserInfoBasic))
	require.NoError(t, srcs[0].Save(t.Context(), user, old))
	r := row{section: sectionStore, order: 3, Target: "SQL store on PostgreSQL, two instances",
		Fault: "PostgreSQL stops between instance A's refresh answer and its save, for longer than the refresh lease"}

	ctr.once(client.PathToken, func() { require.NoError(t, cl.Stop()) })
	stopped := time.Now()
	_, err := srcs[0].Token(t.Context(), user)
	require.Error(t, err)
	require.Equal(t, 1, ctr.take(client.PathToken))
	var errB error
	var guardedB []int
	for time.Since(stopped) < outage {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := srcs[1].Token(ctx, user)
		cancel()
		require.Error(t, err, "the store is down")
		if errB == nil {
			errB = err
		}
		guardedB = append(guardedB, guarded(t, okB, user))
		time.Sleep(200 * time.Millisecond)
	}
	r.Error = "instance B: " + storeError(t, errB, "the driver's error (database unreachable)")
	for _, code := range guardedB {
		require.Equal(t, http.StatusServiceUnavailable, code)
	}
	r.Guarded = "instance B: " + status(t, guardedB[0], http.StatusServiceUnavailable)

	require.NoError(t, cl.Start())
	require.Eventually(t, func() bool {
		got, err := stores[1].Get(t.Context(), user)
		return err == nil && got.RefreshToken != old.RefreshToken
	}, lease, 20*time.Millisecond, "A saves its rotated token once PostgreSQL is back")
	for _, src := range srcs {
		_, err := src.Token(t.Context(), user)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, guarded(t, okB, user))
	}
	require.Zero(t, ctr.take(client.PathToken), "no second refresh")
	require.Zero(t, emu.RefreshTokenReuse(), "the old refresh token was never presented again")
	r.Requests = "1"
	r.Token = "A keeps the rotated token in memory and saves it within a tenth of the lease once PostgreSQL is back; B never refreshes with the old one"
	r.Next = "succeeds on both instances, no second refresh, nobody logged out"
	return r
}

// badRows damages stored rows: a sealed token altered, a token that is not
// JSON, a token sealed with a key that left the ring. The sources run with
// their cache off so that every call reads the row, as a new instance does.
func badRows(t *testing.T) []row {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "tokens.db"))
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	e := newStoreEnv(t, db, tokenstore.SQLite, ring(t, k1), -1)
	const target = "SQL store on SQLite"

	readRaw := func(key string) []byte {
		var b []byte
		require.NoError(t, db.QueryRowContext(ctx, `SELECT token FROM tiktok_tokens WHERE "key" = ?`, key).Scan(&b))
		return b
	}
	writeRaw := func(key string, b []byte, keyID string) {
		_, err := db.ExecContext(ctx, `UPDATE tiktok_tokens SET token = ?, key_id = ? WHERE "key" = ?`, b, keyID, key)
		require.NoError(t, err)
	}
	// bad runs the source on a damaged row and checks that the row is left
	// as it is.
	bad := func(r *row, e *storeEnv, key string, sentinel error) {
		before := readRaw(key)
		err := call(func() error { _, err := e.src.Token(ctx, key); return err })
		require.ErrorIs(t, err, sentinel)
		require.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
		r.Error, r.Requests = describe(err), requests0(e)
		assert.Equal(t, "0", r.Requests)
		r.Guarded = status(t, guarded(t, e.ok, key), http.StatusServiceUnavailable)
		require.True(t, bytes.Equal(before, readRaw(key)), "the damaged row was changed")
		r.Token = "kept, row untouched"
	}

	altered := row{section: sectionStore, order: 4, Target: target,
		Fault: "corrupt row: one byte of the sealed token altered"}
	key, _ := e.login(t, 0, false)
	raw := readRaw(key)
	raw[len(raw)-1] ^= 0x01
	writeRaw(key, raw, "k1")
	bad(&altered, e, key, tokenstore.ErrCorrupt)
	e.login(t, 0, false)
	_, err = e.src.Token(ctx, key)
	require.NoError(t, err)
	altered.Next = "succeeds after a new login overwrote it"

	notJSON := row{section: sectionStore, order: 5, Target: target,
		Fault: "corrupt row: not a token (unencrypted store)"}
	plain := e.withSource(t, sqlStore(t, db, tokenstore.SQLite, nil))
	key, _ = plain.login(t, 1, false)
	writeRaw(key, []byte("<html>not a token</html>"), "")
	bad(&notJSON, plain, key, tokenstore.ErrCorrupt)
	plain.login(t, 1, false)
	_, err = plain.src.Token(ctx, key)
	require.NoError(t, err)
	notJSON.Next = "succeeds after a new login overwrote it"

	lost := row{section: sectionStore, order: 6, Target: target,
		Fault: "row sealed with a key no longer in the ring"}
	key, tok := e.login(t, 2, false)
	rotated := e.withSource(t, sqlStore(t, db, tokenstore.SQLite, ring(t, k2)))
	bad(&lost, rotated, key, tokenstore.ErrUnknownKey)
	restored := e.withSource(t, sqlStore(t, db, tokenstore.SQLite, ring(t, k2, k1)))
	got, err := restored.src.Token(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, tok.RefreshToken, got.RefreshToken)
	lost.Next = "succeeds once the old key is back in the ring as an older key"
	return []row{altered, notJSON, lost}
}

// requests0 returns how many refresh requests the source sent since the
// last call.
func requests0(e *storeEnv) string {
	return strconv.Itoa(e.ctr.take(client.PathToken))
}

// status asserts a guarded request's status and says it.
func status(t *testing.T, code, want int) string {
	t.Helper()
	assert.Equal(t, want, code)
	return strconv.Itoa(code) + " " + http.StatusText(code)
}
