package scale

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// userKey is the store key of user i.
func userKey(i int) string { return fmt.Sprintf("-000scale%07d", i) }

// userToken is user i's token: valid for a day, so nothing is refreshed
// while the test runs, and as long as TikTok's.
func userToken(i int, now time.Time) *client.Token {
	return &client.Token{
		AccessToken:   fmt.Sprintf("act.%060d!%d.va", i, i%7),
		RefreshToken:  fmt.Sprintf("rft.%060d!%d.va", i, i%5),
		TokenType:     "Bearer",
		OpenID:        userKey(i),
		Scopes:        []string{"user.info.basic", "video.list"},
		Expiry:        now.Add(24 * time.Hour),
		RefreshExpiry: now.Add(365 * 24 * time.Hour),
	}
}

// loaded is a store holding n users.
type loaded struct {
	store tokenstore.Store
	load  time.Duration
	db    *sql.DB // the SQL stores' database, for counting rows
	table string
}

func newKeyRing(t testing.TB) *tokenstore.KeyRing {
	k, _, err := tokenstore.GenerateEncryptionKey("scale")
	require.NoError(t, err)
	ring, err := tokenstore.NewKeyRing(k)
	require.NoError(t, err)
	return ring
}

// loadMemory fills a Memory store through Put.
func loadMemory(t testing.TB, n int) loaded {
	st := tokenstore.NewMemory()
	ctx := context.Background()
	now := time.Now()
	start := time.Now()
	for i := range n {
		require.NoError(t, st.Put(ctx, userKey(i), userToken(i, now)))
	}
	return loaded{store: st, load: time.Since(start)}
}

// sqlStore makes an encrypted SQL store on db in table and migrates it.
func sqlStore(t testing.TB, db *sql.DB, d tokenstore.Dialect, table string, ring *tokenstore.KeyRing) *tokenstore.SQL {
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: d, Table: table, Keys: ring})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(context.Background()))
	return st
}

// sealedRows calls row for each of n users with what the SQL store writes
// for it: the key, the sealed token and its key ID, made with the store's
// own Codec.
func sealedRows(n int, codec tokenstore.Codec, row func(key string, data []byte, keyID string) error) error {
	now := time.Now()
	for i := range n {
		key := userKey(i)
		keyID, data, err := codec.Encode(key, userToken(i, now))
		if err != nil {
			return err
		}
		if err := row(key, data, keyID); err != nil {
			return err
		}
	}
	return nil
}

// loadSQLite fills an encrypted SQL store in a SQLite file of its own,
// with prepared INSERTs in transactions of 10,000 rows.
func loadSQLite(t testing.TB, n int) loaded {
	dsn := "file:" + filepath.Join(t.TempDir(), "tokens.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ring := newKeyRing(t)
	st := sqlStore(t, db, tokenstore.SQLite, "", ring)
	ctx := context.Background()
	start := time.Now()
	var tx *sql.Tx
	var stmt *sql.Stmt
	inTx := 0
	commit := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx, stmt, inTx = nil, nil, 0
		return err
	}
	err = sealedRows(n, tokenstore.NewCodec(ring, false), func(key string, data []byte, keyID string) error {
		if tx == nil {
			var err error
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return err
			}
			if stmt, err = tx.PrepareContext(ctx, `INSERT INTO tiktok_tokens ("key", token, key_id, updated_at) VALUES (?, ?, ?, ?)`); err != nil {
				return err
			}
		}
		if _, err := stmt.ExecContext(ctx, key, data, keyID, time.Now().UnixMilli()); err != nil {
			return err
		}
		if inTx++; inTx == 10_000 {
			return commit()
		}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, commit())
	return loaded{store: st, load: time.Since(start), db: db, table: "tiktok_tokens"}
}

// loadPostgres fills an encrypted SQL store in a table of its own with
// COPY.
func loadPostgres(t testing.TB, db *sql.DB, n int) loaded {
	ring := newKeyRing(t)
	table := fmt.Sprintf("tiktok_tokens_%d", n)
	st := sqlStore(t, db, tokenstore.Postgres, table, ring)
	ctx := context.Background()
	start := time.Now()
	rows := make([][]any, 0, n)
	updated := time.Now().UnixMilli()
	require.NoError(t, sealedRows(n, tokenstore.NewCodec(ring, false), func(key string, data []byte, keyID string) error {
		rows = append(rows, []any{key, data, keyID, updated})
		return nil
	}))
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Raw(func(dc any) error {
		copied, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table},
			[]string{"key", "token", "key_id", "updated_at"}, pgx.CopyFromRows(rows))
		if err == nil && copied != int64(n) {
			err = fmt.Errorf("copied %d rows of %d", copied, n)
		}
		return err
	}))
	_, err = db.ExecContext(ctx, "ANALYZE "+table)
	require.NoError(t, err)
	return loaded{store: st, load: time.Since(start), db: db, table: table}
}

// loadRedis fills a Redis store through its own Put from 64 goroutines
// at once (so that the keys, hashes and expiries are exactly the store's),
// each Put one round trip.
func loadRedis(t testing.TB, n int) loaded {
	rdb := testredis.Client(t)
	st, err := redisstore.New(rdb, redisstore.Config{Prefix: testredis.Prefix(t, rdb), Keys: newKeyRing(t)})
	require.NoError(t, err)
	ctx := context.Background()
	now := time.Now()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := st.Put(ctx, userKey(i), userToken(i, now)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
	return loaded{store: st, load: time.Since(start)}
}

// countRows checks that the store holds exactly n users: it lists them
// when it can (Memory, Redis), counts the rows of the SQL stores, and
// reads the first and last user back and a user that was never stored.
func countRows(t testing.TB, l loaded, n int) {
	ctx := context.Background()
	st, db, table := l.store, l.db, l.table
	if db != nil {
		var count int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&count))
		require.Equal(t, n, count, "rows in %s", table)
	} else if lister, ok := st.(tokenstore.Lister); ok {
		keys, err := lister.Keys(ctx)
		require.NoError(t, err)
		require.Len(t, keys, n)
	}
	for _, i := range []int{0, n - 1} {
		tok, err := st.Get(ctx, userKey(i))
		require.NoError(t, err)
		require.Equal(t, userKey(i), tok.OpenID)
	}
	_, err := st.Get(ctx, userKey(n))
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}
