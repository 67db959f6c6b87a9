package webhook_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/handlers/webhook/webhooktest"
	"github.com/tiktokkit/tiktokkit/internal/testmysql"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testserver"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testmysql.Stop()
	testpg.Stop()
	os.Exit(code)
}

func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replays.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// openMySQL opens a fresh database with clientFoundRows as asked: the
// store must read its answers right either way.
func openMySQL(t testing.TB, foundRows bool) *sql.DB {
	t.Helper()
	if foundRows {
		return testmysql.Open(t)
	}
	cfg, err := mysql.ParseDSN(testmysql.DSN(t))
	require.NoError(t, err)
	cfg.DBName = testserver.FreshDatabase(t, "mysql", cfg.FormatDSN(), "DROP DATABASE IF EXISTS %s")
	cfg.ClientFoundRows = false
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// backend is one database the SQL replay store is tested on.
type backend struct {
	name    string
	dialect webhook.Dialect
	open    func(testing.TB) *sql.DB
}

var backends = []backend{
	{"sqlite", webhook.SQLite, openSQLite},
	{"postgres", webhook.Postgres, func(t testing.TB) *sql.DB { return testpg.Open(t) }},
	{"mariadb", webhook.MySQL, func(t testing.TB) *sql.DB { return openMySQL(t, true) }},
	{"mariadb-without-clientFoundRows", webhook.MySQL, func(t testing.TB) *sql.DB { return openMySQL(t, false) }},
}

var tableSeq atomic.Int64

// newSQLReplayStore makes a store on a table of its own in db, created by
// Migrate.
func newSQLReplayStore(t testing.TB, db *sql.DB, d webhook.Dialect, clock func() time.Time) *webhook.SQLReplayStore {
	t.Helper()
	s, err := webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{
		Dialect: d, Table: fmt.Sprintf("replays_%d", tableSeq.Add(1)), Clock: clock,
	})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	return s
}

func TestSQLReplayStoreContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t) // one database, a table per subtest
			webhooktest.RunReplayStore(t, func(t *testing.T) webhook.ReplayStore {
				return newSQLReplayStore(t, db, b.dialect, nil)
			})
		})
	}
	t.Run("sqlite-fake-clock", func(t *testing.T) {
		db := openSQLite(t)
		clock := testutil.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
		webhooktest.RunReplayStore(t, func(t *testing.T) webhook.ReplayStore {
			return newSQLReplayStore(t, db, webhook.SQLite, clock.Now)
		}, webhooktest.WithClock(clock.Now, clock.Advance), webhooktest.WithTTL(10*time.Minute))
	})
}

func TestSQLReplayStorePrune(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			db := b.open(t)
			clock := testutil.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
			s := newSQLReplayStore(t, db, b.dialect, clock.Now)
			for i, ttl := range []time.Duration{time.Minute, 2 * time.Minute, 10 * time.Minute} {
				ok, err := s.Claim(ctx, fmt.Sprint(i), clock.Now().Add(ttl))
				require.NoError(t, err)
				require.True(t, ok)
			}
			n, err := s.Prune(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "nothing has expired yet")

			clock.Advance(2 * time.Minute)
			n, err = s.Prune(ctx)
			require.NoError(t, err)
			assert.EqualValues(t, 2, n, "the two expired rows, the one that expires at this instant included")
			ok, err := s.Claim(ctx, "2", clock.Now().Add(time.Minute))
			require.NoError(t, err)
			assert.False(t, ok, "the live claim is kept")
			ok, err = s.Claim(ctx, "0", clock.Now().Add(time.Minute))
			require.NoError(t, err)
			assert.True(t, ok)
		})
	}
}

// TestSQLReplayStoreKeepsNoSignature: the table holds the SHA-256 of each
// id, not the id (a signature).
func TestSQLReplayStoreKeepsNoSignature(t *testing.T) {
	db := openSQLite(t)
	s, err := webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: webhook.SQLite})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	require.NoError(t, s.Migrate(t.Context()), "Migrate twice")
	sig := strings.Repeat("ab", 32)
	ok, err := s.Claim(t.Context(), sig, time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	var id string
	var exp int64
	require.NoError(t, db.QueryRow("SELECT id, expires_at FROM "+webhook.DefaultReplayTable).Scan(&id, &exp))
	h := sha256.Sum256([]byte(sig))
	assert.Equal(t, hex.EncodeToString(h[:]), id)
	assert.NotContains(t, id, sig)
	assert.InDelta(t, time.Now().Add(time.Minute).UnixMilli(), exp, 5000)
}

func TestSQLReplayStoreSchemaQualifiedTable(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		db := testpg.Open(t)
		_, err := db.Exec("CREATE SCHEMA hooks")
		require.NoError(t, err)
		testQualified(t, db, webhook.Postgres, "hooks.replays")
	})
	t.Run("sqlite", func(t *testing.T) { testQualified(t, openSQLite(t), webhook.SQLite, "main.replays") })
	t.Run("mariadb", func(t *testing.T) {
		db := testmysql.Open(t)
		var name string
		require.NoError(t, db.QueryRow("SELECT DATABASE()").Scan(&name))
		testQualified(t, db, webhook.MySQL, name+".replays")
	})
}

func testQualified(t *testing.T, db *sql.DB, d webhook.Dialect, table string) {
	clock := testutil.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	s, err := webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: d, Table: table, Clock: clock.Now})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	claim := func() bool {
		ok, err := s.Claim(t.Context(), "x", clock.Now().Add(time.Minute))
		require.NoError(t, err)
		return ok
	}
	assert.True(t, claim())
	assert.False(t, claim())
	clock.Advance(time.Minute)
	assert.True(t, claim(), "an expired row is taken over")
	assert.False(t, claim())
}

func TestSQLReplayStoreConfig(t *testing.T) {
	db := openSQLite(t)
	_, err := webhook.NewSQLReplayStore(nil, webhook.SQLReplayConfig{Dialect: webhook.SQLite})
	assert.ErrorContains(t, err, "nil *sql.DB")
	_, err = webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{})
	assert.ErrorContains(t, err, "unknown dialect")
	_, err = webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: webhook.Dialect(9)})
	assert.ErrorContains(t, err, "unknown dialect Dialect(9)")
	for _, table := range []string{"a;DROP TABLE x", "1abc", "a.b.c", "a b", `"a"`, "a-b"} {
		_, err = webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: webhook.SQLite, Table: table})
		assert.ErrorContains(t, err, "invalid replay table name", table)
	}
	for d, want := range map[webhook.Dialect]string{webhook.Postgres: "postgres", webhook.SQLite: "sqlite", webhook.MySQL: "mysql"} {
		assert.Equal(t, want, d.String())
		ddl, err := webhook.ReplaySchema(d, "")
		require.NoError(t, err)
		assert.Contains(t, ddl, "CREATE TABLE IF NOT EXISTS "+webhook.DefaultReplayTable+" (")
		ddl, err = webhook.ReplaySchema(d, "app.hooks")
		require.NoError(t, err)
		assert.Contains(t, ddl, "CREATE TABLE IF NOT EXISTS app.hooks (")
	}
}

// TestSQLReplayStoreErrors: a table that is missing or a database that is
// closed is an error (the handler answers 500), which never holds the id.
func TestSQLReplayStoreErrors(t *testing.T) {
	const sig = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2"
	for _, b := range backends[:3] {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			s, err := webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: b.dialect, Table: "never_migrated"})
			require.NoError(t, err)
			_, err = s.Claim(t.Context(), sig, time.Now().Add(time.Minute))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "webhook: replay store: claim")
			assert.NotContains(t, err.Error(), sig)
			assert.Error(t, s.Release(t.Context(), sig))
			_, err = s.Prune(t.Context())
			assert.Error(t, err)

			s = newSQLReplayStore(t, db, b.dialect, nil)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err = s.Claim(ctx, sig, time.Now().Add(time.Minute))
			assert.ErrorIs(t, err, context.Canceled)
			db.Close()
			_, err = s.Claim(t.Context(), sig, time.Now().Add(time.Minute))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), sig)
			_, err = s.Claim(t.Context(), sig, time.Now().Add(-time.Minute))
			require.Error(t, err, "an expired claim still asks the database")
		})
	}
}

// TestSQLReplayStoreSharedByHandlers: two instances of an app, each with
// its own handler and store on one table; a delivery replayed to the
// other instance is acknowledged and not handled again.
func TestSQLReplayStoreSharedByHandlers(t *testing.T) {
	db := openSQLite(t)
	const secret = "test-client-secret"
	var handled atomic.Int32
	var servers []*httptest.Server
	for range 2 {
		s, err := webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: webhook.SQLite})
		require.NoError(t, err)
		require.NoError(t, s.Migrate(t.Context()))
		h, err := webhook.New(webhook.Config{
			ClientSecret: secret,
			ReplayStore:  s,
			Logger:       slog.New(slog.DiscardHandler),
			OnEvent:      func(context.Context, webhook.Event) error { handled.Add(1); return nil },
		})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
	}
	body := `{"client_key":"k","event":"post.publish.complete","create_time":1777636800,"user_openid":"u","content":"{\"publish_id\":\"p\"}"}`
	sig := webhook.Sign(secret, time.Now(), []byte(body))
	for _, srv := range servers {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set(webhook.SignatureHeader, sig)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.EqualValues(t, 1, handled.Load(), "handled once, by the first instance")
}
