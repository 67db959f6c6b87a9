package tokenstore

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestQueries pins the SQL each dialect runs, so that a change to a
// statement is a deliberate one; the stores run them on real servers in
// stores_test.go and source_test.go.
func TestQueries(t *testing.T) {
	tests := []struct {
		d    Dialect
		want [numQueries]string
	}{
		{MySQL, [numQueries]string{
			qGet:           "SELECT token, key_id, token IS NULL, lease_holder FROM t WHERE `key` = ?",
			qPut:           "INSERT INTO t (`key`, token, key_id, updated_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE token = VALUES(token), key_id = VALUES(key_id), updated_at = VALUES(updated_at)",
			qReplace:       "UPDATE t SET token = ?, key_id = ?, updated_at = ? WHERE `key` = ? AND token = ?",
			qDelete:        "DELETE FROM t WHERE `key` = ?",
			qKeys:          "SELECT `key` FROM t WHERE token IS NOT NULL",
			qLeaseTake:     "UPDATE t SET lease_holder = ?, lease_until = ? WHERE `key` = ? AND lease_holder <> '' AND (lease_until <= ? OR lease_until > ?)",
			qLeaseInsert:   "INSERT IGNORE INTO t (`key`, token, key_id, updated_at, lease_holder, lease_until) VALUES (?, NULL, '', ?, ?, ?)",
			qLeaseRelease:  "UPDATE t SET lease_holder = '', lease_until = 0 WHERE `key` = ? AND lease_holder = ?",
			qLeaseCleanup:  "DELETE FROM t WHERE `key` = ? AND lease_holder = ? AND token IS NULL",
			qPutClear:      "INSERT INTO t (`key`, token, key_id, updated_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE token = VALUES(token), key_id = VALUES(key_id), updated_at = VALUES(updated_at), lease_holder = '', lease_until = 0",
			qLeaseTakeFree: "UPDATE t SET lease_holder = ?, lease_until = ? WHERE `key` = ? AND (lease_holder = '' OR lease_holder = ?)",
		}},
		{Postgres, [numQueries]string{
			qGet:           `SELECT token, key_id, token IS NULL, lease_holder FROM t WHERE "key" = $1`,
			qPut:           `INSERT INTO t ("key", token, key_id, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT ("key") DO UPDATE SET token = excluded.token, key_id = excluded.key_id, updated_at = excluded.updated_at`,
			qReplace:       `UPDATE t SET token = $1, key_id = $2, updated_at = $3 WHERE "key" = $4 AND token = $5`,
			qDelete:        `DELETE FROM t WHERE "key" = $1`,
			qKeys:          `SELECT "key" FROM t WHERE token IS NOT NULL`,
			qLeaseTake:     `UPDATE t SET lease_holder = $1, lease_until = $2 WHERE "key" = $3 AND lease_holder <> '' AND (lease_until <= $4 OR lease_until > $5)`,
			qLeaseInsert:   `INSERT INTO t ("key", token, key_id, updated_at, lease_holder, lease_until) VALUES ($1, NULL, '', $2, $3, $4) ON CONFLICT ("key") DO NOTHING`,
			qLeaseRelease:  `UPDATE t SET lease_holder = '', lease_until = 0 WHERE "key" = $1 AND lease_holder = $2`,
			qLeaseCleanup:  `DELETE FROM t WHERE "key" = $1 AND lease_holder = $2 AND token IS NULL`,
			qPutClear:      `INSERT INTO t ("key", token, key_id, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT ("key") DO UPDATE SET token = excluded.token, key_id = excluded.key_id, updated_at = excluded.updated_at, lease_holder = '', lease_until = 0`,
			qLeaseTakeFree: `UPDATE t SET lease_holder = $1, lease_until = $2 WHERE "key" = $3 AND (lease_holder = '' OR lease_holder = $4)`,
		}},
		{SQLite, [numQueries]string{
			qGet:           `SELECT token, key_id, token IS NULL, lease_holder FROM t WHERE "key" = ?`,
			qPut:           `INSERT INTO t ("key", token, key_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT ("key") DO UPDATE SET token = excluded.token, key_id = excluded.key_id, updated_at = excluded.updated_at`,
			qReplace:       `UPDATE t SET token = ?, key_id = ?, updated_at = ? WHERE "key" = ? AND token = ?`,
			qDelete:        `DELETE FROM t WHERE "key" = ?`,
			qKeys:          `SELECT "key" FROM t WHERE token IS NOT NULL`,
			qLeaseTake:     `UPDATE t SET lease_holder = ?, lease_until = ? WHERE "key" = ? AND lease_holder <> '' AND (lease_until <= ? OR lease_until > ?)`,
			qLeaseInsert:   `INSERT INTO t ("key", token, key_id, updated_at, lease_holder, lease_until) VALUES (?, NULL, '', ?, ?, ?) ON CONFLICT ("key") DO NOTHING`,
			qLeaseRelease:  `UPDATE t SET lease_holder = '', lease_until = 0 WHERE "key" = ? AND lease_holder = ?`,
			qLeaseCleanup:  `DELETE FROM t WHERE "key" = ? AND lease_holder = ? AND token IS NULL`,
			qPutClear:      `INSERT INTO t ("key", token, key_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT ("key") DO UPDATE SET token = excluded.token, key_id = excluded.key_id, updated_at = excluded.updated_at, lease_holder = '', lease_until = 0`,
			qLeaseTakeFree: `UPDATE t SET lease_holder = ?, lease_until = ? WHERE "key" = ? AND (lease_holder = '' OR lease_holder = ?)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			if d := cmp.Diff(tc.want, buildQueries(tc.d, "t")); d != "" {
				t.Errorf("queries (-want +got):\n%s", d)
			}
		})
	}
}

func TestMySQLSchemaKeepsKeysDistinct(t *testing.T) {
	// A binary key column: no case folding and no trailing-space padding,
	// so "User", "user" and "user " stay three keys as the Store contract
	// requires.
	s, err := Schema(MySQL, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "`key`        VARBINARY(1024) NOT NULL PRIMARY KEY"; !strings.Contains(s, want) {
		t.Errorf("MySQL schema lacks %q:\n%s", want, s)
	}
}
