package tokenstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

func rowKeyID(t *testing.T, db *sql.DB, key string) string {
	t.Helper()
	var id string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT key_id FROM tiktok_tokens WHERE "key" = ?`, key).Scan(&id))
	return id
}

func rowToken(t *testing.T, db *sql.DB, key string) []byte {
	t.Helper()
	var b []byte
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT token FROM tiktok_tokens WHERE "key" = ?`, key).Scan(&b))
	return b
}

func TestSQLEncryptsAtRest(t *testing.T) {
	db := openSQLite(t)
	st := newSQLStore(t, db, tokenstore.SQLite, testKeyRing(t, "k1"))
	tok := storetest.FullToken(1)
	require.NoError(t, st.Put(t.Context(), "u", tok))
	raw := rowToken(t, db, "u")
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, tok.OpenID, "access_token"} {
		assert.False(t, bytes.Contains(raw, []byte(secret)), "%q in clear in the row", secret)
	}
	assert.Equal(t, "k1", rowKeyID(t, db, "u"))
}

func TestSQLWithoutKeysWarnsOnce(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	db := openSQLite(t)
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Logger: logger})
	require.NoError(t, err)
	require.NoError(t, st.Migrate(t.Context()))
	for i := range 3 {
		require.NoError(t, st.Put(t.Context(), "u", storetest.FullToken(i)))
		_, err := st.Get(t.Context(), "u")
		require.NoError(t, err)
	}
	assert.Equal(t, 1, strings.Count(buf.String(), "unencrypted"), buf.String())
	assert.Contains(t, string(rowToken(t, db, "u")), `"access_token"`, "without keys the row holds JSON")

	buf.Reset()
	_, err = tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Logger: logger, Keys: testKeyRing(t, "k")})
	require.NoError(t, err)
	assert.Empty(t, buf.String(), "no warning with a key ring")
}

// TestSQLBadRowsAreClearErrors covers rows a store cannot read: each is a
// typed error, never a panic, and the row is left in place.
func TestSQLBadRowsAreClearErrors(t *testing.T) {
	ctx := t.Context()
	quiet := slog.New(slog.DiscardHandler)
	tests := []struct {
		name    string
		corrupt func(t *testing.T, db *sql.DB)
		keys    *tokenstore.KeyRing // nil: the ring that wrote
		plain   bool                // reader has no ring
		want    error
	}{
		{name: "garbage ciphertext", want: tokenstore.ErrCorrupt, corrupt: func(t *testing.T, db *sql.DB) {
			exec(t, db, `UPDATE tiktok_tokens SET token = ? WHERE "key" = 'victim'`, []byte("\x01not a ciphertext at all, sorry"))
		}},
		{name: "flipped bit", want: tokenstore.ErrCorrupt, corrupt: func(t *testing.T, db *sql.DB) {
			b := rowToken(t, db, "victim")
			b[len(b)/2] ^= 0x40
			exec(t, db, `UPDATE tiktok_tokens SET token = ? WHERE "key" = 'victim'`, b)
		}},
		{name: "ciphertext moved from another row", want: tokenstore.ErrCorrupt, corrupt: func(t *testing.T, db *sql.DB) {
			exec(t, db, `UPDATE tiktok_tokens SET token = ? WHERE "key" = 'victim'`, rowToken(t, db, "attacker"))
		}},
		{name: "key missing from the ring", want: tokenstore.ErrUnknownKey, keys: testKeyRing(t, "other"), corrupt: func(*testing.T, *sql.DB) {}},
		{name: "reader without a ring", want: tokenstore.ErrUnknownKey, plain: true, corrupt: func(*testing.T, *sql.DB) {}},
		{name: "plaintext row in an encrypted store", want: tokenstore.ErrUnknownKey, corrupt: func(t *testing.T, db *sql.DB) {
			exec(t, db, `UPDATE tiktok_tokens SET token = ?, key_id = '' WHERE "key" = 'victim'`, []byte(`{"access_token":"act.planted"}`))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openSQLite(t)
			ring := testKeyRing(t, "k1")
			writer := newSQLStore(t, db, tokenstore.SQLite, ring)
			require.NoError(t, writer.Put(ctx, "victim", storetest.FullToken(1)))
			require.NoError(t, writer.Put(ctx, "attacker", storetest.FullToken(2)))
			tc.corrupt(t, db)
			before := rowToken(t, db, "victim")

			readerKeys := ring
			if tc.keys != nil {
				readerKeys = tc.keys
			}
			if tc.plain {
				readerKeys = nil
			}
			reader, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Keys: readerKeys, Logger: quiet})
			require.NoError(t, err)
			tok, err := reader.Get(ctx, "victim")
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, tok)
			assert.Contains(t, err.Error(), `"victim"`, "the error names the key")
			assert.True(t, strings.HasPrefix(err.Error(), "tokenstore: "), err.Error())
			assert.Equal(t, before, rowToken(t, db, "victim"), "a bad row must be left as it is")
		})
	}
}

func TestSQLInsecureAcceptPlaintextMigrates(t *testing.T) {
	ctx := t.Context()
	db := openSQLite(t)
	plain := newSQLStore(t, db, tokenstore.SQLite, nil)
	require.NoError(t, plain.Put(ctx, "u", storetest.FullToken(1)))
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Keys: testKeyRing(t, "k1"), InsecureAcceptPlaintext: true})
	require.NoError(t, err)
	got, err := st.Get(ctx, "u")
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, "u", got))
	assert.Equal(t, "k1", rowKeyID(t, db, "u"), "rewritten rows are encrypted")
}

func TestSQLStoreDown(t *testing.T) {
	db := openSQLite(t)
	st := newSQLStore(t, db, tokenstore.SQLite, nil)
	require.NoError(t, db.Close())
	_, err := st.Get(t.Context(), "u")
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrNotFound, "a store that is down must not look like a missing token")
	require.Error(t, st.Put(t.Context(), "u", storetest.FullToken(1)))
}

func TestSQLConfigValidation(t *testing.T) {
	db := openSQLite(t)
	_, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{})
	require.ErrorContains(t, err, "unknown dialect")
	_, err = tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Table: "x; DROP TABLE y"})
	require.ErrorContains(t, err, "invalid table name")
	_, err = tokenstore.NewSQL(nil, tokenstore.SQLConfig{Dialect: tokenstore.SQLite})
	require.Error(t, err)
}

func TestSchema(t *testing.T) {
	for _, d := range []tokenstore.Dialect{tokenstore.Postgres, tokenstore.SQLite, tokenstore.MySQL} {
		s, err := tokenstore.Schema(d, "auth.user_tokens")
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(s, "CREATE TABLE IF NOT EXISTS auth.user_tokens ("), s)
		for _, col := range []string{"key", "token", "key_id", "updated_at", "lease_holder", "lease_until"} {
			assert.Contains(t, s, col, "%v schema", d)
		}
		def, err := tokenstore.Schema(d, "")
		require.NoError(t, err)
		assert.Contains(t, def, tokenstore.DefaultTable)
	}
	_, err := tokenstore.Schema(tokenstore.Dialect(42), "")
	require.Error(t, err)
	assert.Equal(t, "Dialect(42)", tokenstore.Dialect(42).String())
}

func TestSQLMigrateIsIdempotent(t *testing.T) {
	db := openSQLite(t)
	st := newSQLStore(t, db, tokenstore.SQLite, nil)
	require.NoError(t, st.Put(t.Context(), "u", storetest.FullToken(1)))
	require.NoError(t, st.Migrate(t.Context()))
	_, err := st.Get(t.Context(), "u")
	require.NoError(t, err, "Migrate must not drop data")
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	_, err := db.ExecContext(context.Background(), q, args...)
	require.NoError(t, err)
}
