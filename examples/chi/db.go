package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Session tables, as the scs stores' documentation gives them. The stores
// read and write them but do not create them.
const (
	sessionSchemaPostgres = `CREATE TABLE IF NOT EXISTS sessions (
    token  TEXT PRIMARY KEY,
    data   BYTEA NOT NULL,
    expiry TIMESTAMPTZ NOT NULL
)`
	sessionIndexPostgres = `CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry)`

	sessionSchemaSQLite = `CREATE TABLE IF NOT EXISTS sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
)`
	sessionIndexSQLite = `CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry)`
)

// migrationLock is the PostgreSQL advisory lock key held while the schema
// is created, so that instances starting at the same moment do not race
// on CREATE TABLE (PostgreSQL's IF NOT EXISTS is not safe against that).
const migrationLock = 0x74696b746f6b // "tiktok"

// sessionCleanup is how often the scs store deletes expired sessions.
const sessionCleanup = 5 * time.Minute

// database is the app's one database: tokens and sessions live in it.
type database struct {
	db      *sql.DB
	dialect tokenstore.Dialect
	// where describes the database for logs, without credentials.
	where string
}

// openDatabase opens PostgreSQL when s.DatabaseURL is set, the SQLite file
// s.SQLitePath otherwise, and checks that it answers.
func openDatabase(ctx context.Context, s settings) (*database, error) {
	d := &database{}
	var err error
	if s.DatabaseURL != "" {
		d.dialect, d.where = tokenstore.Postgres, "PostgreSQL "+describePostgres(s.DatabaseURL)
		d.db, err = sql.Open("pgx", s.DatabaseURL)
		if err == nil {
			d.db.SetMaxOpenConns(20)
			d.db.SetMaxIdleConns(10)
			d.db.SetConnMaxIdleTime(5 * time.Minute)
		}
	} else {
		d.dialect, d.where = tokenstore.SQLite, "SQLite file "+s.SQLitePath
		d.db, err = sql.Open("sqlite", sqliteDSN(s.SQLitePath))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := d.db.PingContext(pingCtx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.where, err)
	}
	return d, nil
}

// sqliteDSN is the modernc.org/sqlite DSN for a file: WAL, so readers do
// not block the writer, and a busy timeout, so concurrent writers wait
// for each other instead of failing.
func sqliteDSN(path string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
}

// describePostgres names the host and database of a PostgreSQL URL or
// key=value DSN, leaving out the user and password.
func describePostgres(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Host + u.Path
	}
	var host, name string
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "host="); ok {
			host = v
		}
		if v, ok := strings.CutPrefix(f, "dbname="); ok {
			name = v
		}
	}
	return host + "/" + name
}

// useSQL opens the database of s and puts the app's shared state in it:
// the token store, the scs sessions and the webhook replay store, creating
// their tables when missing.
func (a *app) useSQL(ctx context.Context, s settings, clock func() time.Time) error {
	var err error
	a.db, err = openDatabase(ctx, s)
	if err != nil {
		return err
	}
	a.where = a.db.where
	a.closers = append(a.closers, func() { a.db.db.Close() })
	store, err := tokenstore.NewSQL(a.db.db, tokenstore.SQLConfig{
		Dialect: a.db.dialect,
		Keys:    a.keys,
		Logger:  a.logger,
		Clock:   clock,
	})
	if err != nil {
		return err
	}
	a.store = store
	a.closers = append(a.closers, func() { store.Close() })
	replays, err := webhook.NewSQLReplayStore(a.db.db, webhook.SQLReplayConfig{Dialect: a.db.replayDialect(), Clock: clock})
	if err != nil {
		return err
	}
	a.replays = replays
	if err := a.db.migrate(ctx, store, replays); err != nil {
		return err
	}
	a.closers = append(a.closers, pruneReplays(replays, a.logger))
	if n, err := a.db.unreadableTokens(ctx, a.keys); err != nil {
		return err
	} else if n > 0 {
		a.logger.Warn("stored TikTok tokens were encrypted with keys that are not in the key ring: add the old key to TIKTOKKIT_TOKEN_KEYS, or those users must log in again",
			"tokens", n, "keys", strings.Join(a.keys.IDs(), ","))
	}
	sessions := a.db.sessionStore()
	a.closers = append(a.closers, sessions.StopCleanup)
	a.sessionStore = sessions
	return nil
}

// replayDialect is the database's dialect as the webhook replay store
// names it.
func (d *database) replayDialect() webhook.Dialect {
	if d.dialect == tokenstore.Postgres {
		return webhook.Postgres
	}
	return webhook.SQLite
}

// pruneReplays deletes the expired webhook replay claims every
// sessionCleanup, until the returned function is called.
func pruneReplays(replays *webhook.SQLReplayStore, logger *slog.Logger) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(sessionCleanup)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := replays.Prune(ctx); err != nil && ctx.Err() == nil {
					logger.Warn("prune webhook replay claims", "error", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// migrate creates the token table (with store.Migrate), the webhook
// replay table (with replays.Migrate) and the session table when they do
// not exist.
func (d *database) migrate(ctx context.Context, store *tokenstore.SQL, replays *webhook.SQLReplayStore) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ddl := []string{sessionSchemaSQLite, sessionIndexSQLite}
	if d.dialect == tokenstore.Postgres {
		ddl = []string{sessionSchemaPostgres, sessionIndexPostgres}
		conn, err := d.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer func() {
			// A lost unlock ends with the connection anyway.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
		}()
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := replays.Migrate(ctx); err != nil {
		return err
	}
	for _, stmt := range ddl {
		if _, err := d.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: sessions table: %w", err)
		}
	}
	return nil
}

// sessionStore is an scs store in the database, with its cleanup
// goroutine.
type sessionStore interface {
	scs.Store
	StopCleanup()
}

func (d *database) sessionStore() sessionStore {
	if d.dialect == tokenstore.Postgres {
		return postgresstore.NewWithCleanupInterval(d.db, sessionCleanup)
	}
	return sqlite3store.NewWithCleanupInterval(d.db, sessionCleanup)
}

// unreadableTokens counts the stored tokens that the key ring cannot
// decrypt: rows written under a key ID that is not in the ring.
func (d *database) unreadableTokens(ctx context.Context, ring *tokenstore.KeyRing) (int, error) {
	ids := ring.IDs()
	args := make([]any, len(ids))
	marks := make([]string, len(ids))
	for i, id := range ids {
		args[i] = id
		marks[i] = "?"
		if d.dialect == tokenstore.Postgres {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
	}
	q := "SELECT count(*) FROM " + tokenstore.DefaultTable +
		" WHERE token IS NOT NULL AND key_id NOT IN (" + strings.Join(marks, ", ") + ")"
	var n int
	if err := d.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count unreadable tokens: %w", err)
	}
	return n, nil
}
