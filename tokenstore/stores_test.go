package tokenstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/tiktokkit/tiktokkit/internal/testmysql"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tokenstore.Store { return tokenstore.NewMemory() })
}

func TestMemoryGetSharesThePointer(t *testing.T) {
	m := tokenstore.NewMemory()
	ctx := t.Context()
	require.NoError(t, m.Put(ctx, "k", storetest.FullToken(1)))
	a, err := m.Get(ctx, "k")
	require.NoError(t, err)
	b, err := m.Get(ctx, "k")
	require.NoError(t, err)
	assert.Same(t, a, b, "Memory.Get must hand out the stored token without copying")
	allocs := testing.AllocsPerRun(100, func() { _, _ = m.Get(ctx, "k") })
	assert.Zero(t, allocs)
}

// openSQLite opens a fresh SQLite database file in the test's temp dir.
func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func testKeyRing(t testing.TB, ids ...string) *tokenstore.KeyRing {
	t.Helper()
	var keys []tokenstore.EncryptionKey
	for _, id := range ids {
		k, _, err := tokenstore.GenerateEncryptionKey(id)
		require.NoError(t, err)
		keys = append(keys, k)
	}
	ring, err := tokenstore.NewKeyRing(keys[0], keys[1:]...)
	require.NoError(t, err)
	return ring
}

func newSQLStore(t testing.TB, db *sql.DB, d tokenstore.Dialect, ring *tokenstore.KeyRing) *tokenstore.SQL {
	t.Helper()
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: d, Keys: ring, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, st.Migrate(context.Background()))
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSQLiteConformance(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		name := "plain"
		if encrypted {
			name = "encrypted"
		}
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) tokenstore.Store {
				var ring *tokenstore.KeyRing
				if encrypted {
					ring = testKeyRing(t, "k1")
				}
				return newSQLStore(t, openSQLite(t), tokenstore.SQLite, ring)
			})
		})
	}
}

func TestPostgresConformance(t *testing.T) {
	db := testpg.Open(t)
	n := 0
	storetest.Run(t, func(t *testing.T) tokenstore.Store {
		// One database, a fresh table per subtest.
		n++
		table := fmt.Sprintf("tokens_%d", n)
		st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.Postgres, Table: table, Keys: testKeyRing(t, "k1")})
		require.NoError(t, err)
		require.NoError(t, st.Migrate(t.Context()))
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestMySQLConformance(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		t.Run(map[bool]string{true: "encrypted", false: "plain"}[encrypted], func(t *testing.T) {
			db := testmysql.Open(t)
			n := 0
			storetest.Run(t, func(t *testing.T) tokenstore.Store {
				// One database, a fresh table per subtest.
				n++
				var ring *tokenstore.KeyRing
				if encrypted {
					ring = testKeyRing(t, "k1")
				}
				st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.MySQL, Table: fmt.Sprintf("tokens_%d", n),
					Keys: ring, Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				require.NoError(t, st.Migrate(t.Context()))
				t.Cleanup(func() { st.Close() })
				return st
			})
		})
	}
}

func TestSessionConformance(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		t.Run(map[bool]string{true: "encrypted", false: "plain"}[encrypted], func(t *testing.T) {
			sm := scs.New()
			var ring *tokenstore.KeyRing
			if encrypted {
				ring = testKeyRing(t, "s1")
			}
			storetest.Run(t,
				func(t *testing.T) tokenstore.Store {
					return tokenstore.NewSession(sm, tokenstore.SessionConfig{Keys: ring})
				},
				storetest.WithContext(func(t *testing.T) context.Context {
					ctx, err := sm.Load(t.Context(), "")
					require.NoError(t, err)
					return ctx
				}))
		})
	}
}

func TestSessionWithoutSessionIsAnError(t *testing.T) {
	st := tokenstore.NewSession(scs.New(), tokenstore.SessionConfig{})
	ctx := t.Context()
	_, err := st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNoSession)
	require.ErrorIs(t, st.Put(ctx, "k", storetest.FullToken(1)), tokenstore.ErrNoSession)
	require.ErrorIs(t, st.Delete(ctx, "k"), tokenstore.ErrNoSession)
}

func TestSessionSurvivesCommitAndLoad(t *testing.T) {
	sm := scs.New()
	ring := testKeyRing(t, "s1")
	st := tokenstore.NewSession(sm, tokenstore.SessionConfig{Keys: ring})
	ctx, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, "open-1", storetest.FullToken(1)))
	cookie, _, err := sm.Commit(ctx)
	require.NoError(t, err)

	// The next request loads the session from the scs store.
	next, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	got, err := st.Get(next, "open-1")
	require.NoError(t, err)
	assert.Empty(t, storetest.Equal(storetest.FullToken(1), got))

	// The session data holds ciphertext, not the token.
	raw, ok := sm.Get(next, tokenstore.DefaultSessionPrefix+"open-1").([]byte)
	require.True(t, ok)
	assert.False(t, bytes.Contains(raw, []byte(storetest.FullToken(1).AccessToken)), "access token in clear in the session")

	// Another session does not see it.
	other, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	_, err = st.Get(other, "open-1")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}

func TestSessionIdentity(t *testing.T) {
	sm := scs.New()
	id := tokenstore.SessionIdentity(sm)
	assert.Empty(t, id.Key(t.Context()), "no session: no identity")
	assert.Panics(t, func() { id.SetKey(t.Context(), "x") }, "SetKey without a session is a wiring mistake")

	ctx, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	assert.Empty(t, id.Key(ctx))
	id.SetKey(ctx, "open-1")
	assert.Equal(t, "open-1", id.Key(ctx))
	assert.Equal(t, "open-1", sm.GetString(ctx, tokenstore.SessionKeyName))
	id.Clear(ctx)
	assert.Empty(t, id.Key(ctx))
	assert.False(t, sm.Exists(ctx, tokenstore.SessionKeyName))
}
