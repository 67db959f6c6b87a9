package tokenstore

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tiktokkit/tiktokkit/internal/sqlname"
)

// Dialect selects the SQL flavour of a SQL store: placeholders, upsert
// syntax and column types. The zero value is not a dialect.
type Dialect int

// The supported dialects.
const (
	// Postgres: PostgreSQL 9.5 or later ($1 placeholders, ON CONFLICT).
	// Drivers: github.com/jackc/pgx/v5/stdlib ("pgx"), github.com/lib/pq.
	Postgres Dialect = iota + 1
	// SQLite: SQLite 3.24 or later (? placeholders, ON CONFLICT). Drivers:
	// modernc.org/sqlite ("sqlite"), github.com/mattn/go-sqlite3. Use WAL
	// and a busy timeout, for example
	// "file:app.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)".
	SQLite
	// MySQL: MySQL 5.7+/8 or MariaDB (? placeholders, ON DUPLICATE KEY
	// UPDATE); tested on MariaDB 10.11. Driver: github.com/go-sql-driver/mysql; set
	// clientFoundRows=true so a holder that renews its lease within the
	// same millisecond is told it still holds it.
	MySQL
)

// DefaultTable is the table a SQL store uses unless SQLConfig.Table says
// otherwise.
const DefaultTable = "tiktok_tokens"

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

// The schema of the default table for each dialect, as Migrate creates it
// (Schema gives it for another table name). Columns:
//
//   - key: the store key (the user's open_id by default);
//   - token: the token, AES-256-GCM ciphertext when the store has a
//     KeyRing, its JSON form otherwise; NULL in a row that only holds a
//     lease;
//   - key_id: the ID of the key that encrypted token, "" for JSON;
//   - updated_at: when token was last written, in Unix milliseconds;
//   - lease_holder, lease_until: the refresh lease (see Leaser); "" and 0
//     when free; lease_until in Unix milliseconds.
const (
	SchemaPostgres = `CREATE TABLE IF NOT EXISTS tiktok_tokens (
    "key"        TEXT PRIMARY KEY,
    token        BYTEA,
    key_id       TEXT NOT NULL DEFAULT '',
    updated_at   BIGINT NOT NULL DEFAULT 0,
    lease_holder TEXT NOT NULL DEFAULT '',
    lease_until  BIGINT NOT NULL DEFAULT 0
)`
	SchemaSQLite = `CREATE TABLE IF NOT EXISTS tiktok_tokens (
    "key"        TEXT PRIMARY KEY NOT NULL,
    token        BLOB,
    key_id       TEXT NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL DEFAULT 0,
    lease_holder TEXT NOT NULL DEFAULT '',
    lease_until  INTEGER NOT NULL DEFAULT 0
)`
	SchemaMySQL = "CREATE TABLE IF NOT EXISTS tiktok_tokens (\n" +
		"    `key`        VARBINARY(1024) NOT NULL PRIMARY KEY,\n" +
		"    token        BLOB,\n" +
		"    key_id       VARCHAR(64) NOT NULL DEFAULT '',\n" +
		"    updated_at   BIGINT NOT NULL DEFAULT 0,\n" +
		"    lease_holder VARCHAR(255) NOT NULL DEFAULT '',\n" +
		"    lease_until  BIGINT NOT NULL DEFAULT 0\n" +
		")"
)

// Schema returns the CREATE TABLE statement for dialect d and table (""
// means DefaultTable). The table name may be schema-qualified
// ("auth.tiktok_tokens") and must be a plain identifier.
func Schema(d Dialect, table string) (string, error) {
	if table == "" {
		table = DefaultTable
	}
	if !sqlname.ValidTable(table) {
		return "", fmt.Errorf("tokenstore: invalid table name %q", table)
	}
	var s string
	switch d {
	case Postgres:
		s = SchemaPostgres
	case SQLite:
		s = SchemaSQLite
	case MySQL:
		s = SchemaMySQL
	default:
		return "", fmt.Errorf("tokenstore: unknown dialect %v", d)
	}
	return sqlname.Render(s, DefaultTable, table), nil
}

// Statement slots of a SQL store.
const (
	qGet = iota
	qPut
	qReplace // args: token, key_id, updated_at, key, the token column as read
	qDelete
	qKeys
	qLeaseTake     // args: holder, until, key, now, latest: a lapsed lease, or one ending after latest (bogus)
	qLeaseInsert   // args: key, now, holder, until
	qLeaseRelease  // args: key, holder
	qLeaseCleanup  // args: key, holder; removes a row that only held a lease
	qPutClear      // qPut that also frees the lease
	qLeaseTakeFree // args: holder, until, key, holder; a free lease or the holder's own
	numQueries
)

// buildQueries writes the statements of dialect d for table with ?
// placeholders, then numbers them for PostgreSQL.
func buildQueries(d Dialect, table string) [numQueries]string {
	k := `"key"`
	if d == MySQL {
		k = "`key`"
	}
	var q [numQueries]string
	q[qGet] = "SELECT token, key_id, token IS NULL, lease_holder FROM " + table + " WHERE " + k + " = ?"
	q[qDelete] = "DELETE FROM " + table + " WHERE " + k + " = ?"
	q[qReplace] = "UPDATE " + table + " SET token = ?, key_id = ?, updated_at = ? WHERE " + k + " = ? AND token = ?"
	q[qKeys] = "SELECT " + k + " FROM " + table + " WHERE token IS NOT NULL"
	q[qLeaseTake] = "UPDATE " + table + " SET lease_holder = ?, lease_until = ? WHERE " + k +
		" = ? AND lease_holder <> '' AND (lease_until <= ? OR lease_until > ?)"
	q[qLeaseRelease] = "UPDATE " + table + " SET lease_holder = '', lease_until = 0 WHERE " + k + " = ? AND lease_holder = ?"
	q[qLeaseTakeFree] = "UPDATE " + table + " SET lease_holder = ?, lease_until = ? WHERE " + k +
		" = ? AND (lease_holder = '' OR lease_holder = ?)"
	q[qLeaseCleanup] = "DELETE FROM " + table + " WHERE " + k + " = ? AND lease_holder = ? AND token IS NULL"
	cols := " (" + k + ", token, key_id, updated_at) VALUES (?, ?, ?, ?)"
	leaseCols := " (" + k + ", token, key_id, updated_at, lease_holder, lease_until) VALUES (?, NULL, '', ?, ?, ?)"
	switch d {
	case MySQL:
		q[qPut] = "INSERT INTO " + table + cols +
			" ON DUPLICATE KEY UPDATE token = VALUES(token), key_id = VALUES(key_id), updated_at = VALUES(updated_at)"
		q[qPutClear] = q[qPut] + ", lease_holder = '', lease_until = 0"
		q[qLeaseInsert] = "INSERT IGNORE INTO " + table + leaseCols
	default:
		q[qPut] = "INSERT INTO " + table + cols + " ON CONFLICT (" + k +
			") DO UPDATE SET token = excluded.token, key_id = excluded.key_id, updated_at = excluded.updated_at"
		q[qPutClear] = q[qPut] + ", lease_holder = '', lease_until = 0"
		q[qLeaseInsert] = "INSERT INTO " + table + leaseCols + " ON CONFLICT (" + k + ") DO NOTHING"
	}
	if d == Postgres {
		for i := range q {
			q[i] = numberPlaceholders(q[i])
		}
	}
	return q
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
