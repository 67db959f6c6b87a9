package tokenstore_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/internal/testmysql"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

// sqlDialects opens each SQL backend with the placeholder and key-column
// quoting its dialect uses, for tests that write rows behind the store.
var sqlDialects = []struct {
	name    string
	dialect tokenstore.Dialect
	open    func(t *testing.T) *sql.DB
	ph      func(n int) string
	key     string
}{
	{"sqlite", tokenstore.SQLite, func(t *testing.T) *sql.DB { return openSQLite(t) }, func(int) string { return "?" }, `"key"`},
	{"postgres", tokenstore.Postgres, func(t *testing.T) *sql.DB { return testpg.Open(t) }, func(n int) string { return fmt.Sprintf("$%d", n) }, `"key"`},
	{"mysql", tokenstore.MySQL, func(t *testing.T) *sql.DB { return testmysql.Open(t) }, func(int) string { return "?" }, "`key`"},
}

// A row whose token column is empty or NULL is damaged, not absent: Get
// must say so (ErrCorrupt) instead of "not found", which would log the
// user out. Only a row that a lease holder inserted to hold a lease is
// absent.
func TestSQLEmptyOrNullTokenIsCorrupt(t *testing.T) {
	for _, d := range sqlDialects {
		t.Run(d.name, func(t *testing.T) {
			for _, ring := range []string{"encrypted", "plain"} {
				t.Run(ring, func(t *testing.T) {
					db := d.open(t)
					var keys *tokenstore.KeyRing
					if ring == "encrypted" {
						keys = testKeyRing(t, "k1")
					}
					st := newSQLStore(t, db, d.dialect, keys)
					ctx := t.Context()
					for _, k := range []string{"empty", "null"} {
						require.NoError(t, st.Put(ctx, k, storetest.FullToken(1)))
					}
					set := func(expr, key string) {
						_, err := db.ExecContext(ctx, "UPDATE "+tokenstore.DefaultTable+" SET token = "+expr+
							" WHERE "+d.key+" = "+d.ph(1), key)
						require.NoError(t, err)
					}
					set("''", "empty")
					set("NULL", "null")

					for _, k := range []string{"empty", "null"} {
						_, err := st.Get(ctx, k)
						assert.ErrorIs(t, err, tokenstore.ErrCorrupt, "%s token", k)
						assert.NotErrorIs(t, err, tokenstore.ErrNotFound, "%s token", k)
						ok, err := st.Replace(ctx, k, storetest.FullToken(1), storetest.FullToken(2))
						assert.False(t, ok)
						assert.ErrorIs(t, err, tokenstore.ErrCorrupt, "Replace must not overwrite a %s token", k)
					}

					// A row that only holds a lease is absent, and gone once released.
					won, err := st.TryLease(ctx, "leased", "holder-1", time.Minute)
					require.NoError(t, err)
					require.True(t, won)
					_, err = st.Get(ctx, "leased")
					assert.ErrorIs(t, err, tokenstore.ErrNotFound)
					require.NoError(t, st.ReleaseLease(ctx, "leased", "holder-1"))
					_, err = st.Get(ctx, "leased")
					assert.ErrorIs(t, err, tokenstore.ErrNotFound)
				})
			}
		})
	}
}
