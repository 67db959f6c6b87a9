package webhook

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/internal/sqlname"
)

// Dialect selects the SQL flavour of a SQLReplayStore. The names and
// versions are those of tokenstore's SQL store. The zero value is not a
// dialect.
type Dialect int

// The supported dialects.
const (
	// Postgres: PostgreSQL 9.5 or later. Drivers:
	// github.com/jackc/pgx/v5/stdlib ("pgx"), github.com/lib/pq.
	Postgres Dialect = iota + 1
	// SQLite: SQLite 3.24 or later. Drivers: modernc.org/sqlite
	// ("sqlite"), github.com/mattn/go-sqlite3. Use WAL and a busy timeout,
	// for example
	// "file:app.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)".
	SQLite
	// MySQL: MySQL 5.7+/8 or MariaDB; tested on MariaDB 10.11. Driver:
	// github.com/go-sql-driver/mysql, with or without clientFoundRows.
	MySQL
)

// String returns "postgres", "sqlite" or "mysql".
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// DefaultReplayTable is the table a SQLReplayStore uses unless
// SQLReplayConfig.Table says otherwise.
const DefaultReplayTable = "tiktok_webhook_replays"

// The schema of the default table for each dialect, as Migrate creates it
// (ReplaySchema gives it for another table name). Columns:
//
//   - id: the SHA-256, in hex, of the id claimed (the handler's ids are
//     signatures, which the table does not keep);
//   - expires_at: when the claim expires, in Unix milliseconds. A row
//     whose time has come is free to be claimed again; Prune deletes such
//     rows.
const (
	ReplaySchemaPostgres = `CREATE TABLE IF NOT EXISTS tiktok_webhook_replays (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
)`
	ReplaySchemaSQLite = `CREATE TABLE IF NOT EXISTS tiktok_webhook_replays (
    id         TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
)`
	ReplaySchemaMySQL = "CREATE TABLE IF NOT EXISTS tiktok_webhook_replays (\n" +
		"    id         CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,\n" +
		"    expires_at BIGINT NOT NULL\n" +
		")"
)

// ReplaySchema returns the CREATE TABLE statement for dialect d and table
// ("" means DefaultReplayTable). The table name may be schema-qualified
// ("hooks.tiktok_webhook_replays") and must be a plain identifier.
func ReplaySchema(d Dialect, table string) (string, error) {
	if table == "" {
		table = DefaultReplayTable
	}
	if !sqlname.ValidTable(table) {
		return "", fmt.Errorf("webhook: invalid replay table name %q", table)
	}
	var s string
	switch d {
	case Postgres:
		s = ReplaySchemaPostgres
	case SQLite:
		s = ReplaySchemaSQLite
	case MySQL:
		s = ReplaySchemaMySQL
	default:
		return "", fmt.Errorf("webhook: unknown dialect %v", d)
	}
	return sqlname.Render(s, DefaultReplayTable, table), nil
}

// SQLReplayConfig configures a SQLReplayStore.
type SQLReplayConfig struct {
	// Dialect of the database: Postgres, SQLite or MySQL. Required.
	Dialect Dialect
	// Table is the table name, optionally schema-qualified. Default
	// DefaultReplayTable ("tiktok_webhook_replays").
	Table string
	// Clock tells whether a claim has expired. Default time.Now. Give it
	// the handler's Config.Clock. Instances sharing the table must agree
	// on the time to well within the handler's Tolerance (NTP).
	Clock func() time.Time
}

// SQLReplayStore is a ReplayStore in a database/sql table (PostgreSQL,
// SQLite or MySQL) that every instance of an app shares, so that a replay
// is refused whichever instance it reaches. Bring your own driver; this
// package imports none. It is safe for concurrent use.
//
// Claim is one atomic statement in PostgreSQL and SQLite: an INSERT that,
// when the id is already there, takes the row over only if its claim has
// expired (ON CONFLICT DO UPDATE ... WHERE). Concurrent Claims of one id
// are serialised by the primary key, and the database checks the
// condition again on the row as the winner left it, so exactly one wins,
// for a new id and for an expired one alike. In MySQL, whose affected-row
// counts depend on the driver's clientFoundRows setting, Claim is an
// INSERT IGNORE and, when the id is there, an UPDATE of the row only if
// its claim has expired, which locks the row, so again only one wins; a
// last INSERT IGNORE covers a row deleted (by Prune or Release) between
// the two.
//
// Rows stay until Prune deletes the expired ones; call it now and then
// (every few minutes, say).
type SQLReplayStore struct {
	db      *sql.DB
	dialect Dialect
	table   string
	now     func() time.Time
	q       [numReplayQueries]string
}

var _ ReplayStore = (*SQLReplayStore)(nil)

// Statement slots of a SQLReplayStore.
const (
	rqClaim   = iota // args: id, expires_at, now (MySQL: id, expires_at)
	rqReclaim        // MySQL only; args: expires_at, id, now
	rqLive           // args: id, now
	rqRelease        // args: id
	rqPrune          // args: now
	numReplayQueries
)

// NewSQLReplayStore returns a SQLReplayStore on db. It does not touch the
// database; call Migrate to create the table, or create it yourself from
// ReplaySchema.
func NewSQLReplayStore(db *sql.DB, cfg SQLReplayConfig) (*SQLReplayStore, error) {
	if db == nil {
		return nil, errors.New("webhook: NewSQLReplayStore: nil *sql.DB")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultReplayTable
	}
	if _, err := ReplaySchema(cfg.Dialect, cfg.Table); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	s := &SQLReplayStore{db: db, dialect: cfg.Dialect, table: cfg.Table, now: cfg.Clock}
	t := cfg.Table
	switch cfg.Dialect {
	case MySQL:
		s.q[rqClaim] = "INSERT IGNORE INTO " + t + " (id, expires_at) VALUES (?, ?)"
		s.q[rqReclaim] = "UPDATE " + t + " SET expires_at = ? WHERE id = ? AND expires_at <= ?"
	default:
		// The stored row's column: in PostgreSQL a bare name would be
		// ambiguous with excluded's, so the table gets an alias; in SQLite
		// a bare name is the stored row's.
		into, col := t, "expires_at"
		if cfg.Dialect == Postgres {
			into, col = t+" AS r", "r.expires_at"
		}
		s.q[rqClaim] = "INSERT INTO " + into + " (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE" +
			" SET expires_at = excluded.expires_at WHERE " + col + " <= ?"
	}
	s.q[rqLive] = "SELECT COUNT(*) FROM " + t + " WHERE id = ? AND expires_at > ?"
	s.q[rqRelease] = "DELETE FROM " + t + " WHERE id = ?"
	s.q[rqPrune] = "DELETE FROM " + t + " WHERE expires_at <= ?"
	if cfg.Dialect == Postgres {
		for i := range s.q {
			s.q[i] = numberPlaceholders(s.q[i])
		}
	}
	return s, nil
}

// Migrate creates the table if it does not exist. It never alters an
// existing table.
func (s *SQLReplayStore) Migrate(ctx context.Context) error {
	ddl, _ := ReplaySchema(s.dialect, s.table)
	if _, err := s.db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("webhook: replay store: migrate: %w", err)
	}
	return nil
}

// Claim implements ReplayStore (see SQLReplayStore for how it stays
// atomic). A Claim whose until has already passed records nothing and
// reports whether the id is free. Errors never contain the id.
func (s *SQLReplayStore) Claim(ctx context.Context, id string, until time.Time) (bool, error) {
	key, now, exp := replayKey(id), s.now().UnixMilli(), until.UnixMilli()
	if exp <= now {
		// Already expired: recording it would protect nothing.
		var n int
		if err := s.db.QueryRowContext(ctx, s.q[rqLive], key, now).Scan(&n); err != nil {
			return false, fmt.Errorf("webhook: replay store: claim: %w", err)
		}
		return n == 0, nil
	}
	if s.dialect != MySQL {
		n, err := s.exec(ctx, rqClaim, key, exp, now)
		if err != nil {
			return false, fmt.Errorf("webhook: replay store: claim: %w", err)
		}
		return n == 1, nil
	}
	for i, q := range []int{rqClaim, rqReclaim, rqClaim} {
		args := []any{key, exp}
		if q == rqReclaim {
			args = []any{exp, key, now}
		}
		n, err := s.exec(ctx, q, args...)
		if err != nil {
			return false, fmt.Errorf("webhook: replay store: claim (step %d): %w", i+1, err)
		}
		if n == 1 {
			return true, nil
		}
	}
	return false, nil
}

func (s *SQLReplayStore) exec(ctx context.Context, q int, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q[q], args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Release implements ReplayStore: it deletes the id's row.
func (s *SQLReplayStore) Release(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.q[rqRelease], replayKey(id)); err != nil {
		return fmt.Errorf("webhook: replay store: release: %w", err)
	}
	return nil
}

// Prune deletes the rows whose claim has expired and returns how many it
// deleted. Claims treat such rows as absent whether or not they are
// pruned, so how often it runs only decides the table's size.
func (s *SQLReplayStore) Prune(ctx context.Context) (int64, error) {
	n, err := s.exec(ctx, rqPrune, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("webhook: replay store: prune: %w", err)
	}
	return n, nil
}

// replayKey is the key a store keeps for id: its SHA-256 in hex, so that
// the store holds no signature, and every id, of any length or alphabet,
// has a key of 64 ASCII characters.
func replayKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// numberPlaceholders turns each ? into $1, $2, ... in order. The statements
// above have no ? inside literals.
func numberPlaceholders(s string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
