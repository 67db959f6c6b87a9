package tokenstore_test

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testmysql"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

// benchBackend is a store for benchmarks, with the context its calls need
// and, for SQL stores, the database, dialect and table for the bare
// baseline.
type benchBackend struct {
	store   tokenstore.Store
	ctx     context.Context
	db      *sql.DB
	dialect tokenstore.Dialect
	table   string
}

// benchBackends makes each backend inside its own sub-benchmark, so that a
// missing PostgreSQL skips only its cases.
var benchBackends = []struct {
	name string
	make func(b *testing.B) benchBackend
}{
	{"memory", func(*testing.B) benchBackend {
		return benchBackend{store: tokenstore.NewMemory(), ctx: context.Background()}
	}},
	{"session", func(b *testing.B) benchBackend { return sessionBackend(b, nil) }},
	{"session-encrypted", func(b *testing.B) benchBackend { return sessionBackend(b, testKeyRing(b, "k1")) }},
	{"sqlite", func(b *testing.B) benchBackend { return sqlBackend(b, openSQLite(b), tokenstore.SQLite, nil) }},
	{"sqlite-encrypted", func(b *testing.B) benchBackend {
		return sqlBackend(b, openSQLite(b), tokenstore.SQLite, testKeyRing(b, "k1"))
	}},
	{"postgres", func(b *testing.B) benchBackend { return sqlBackend(b, testpg.Open(b), tokenstore.Postgres, nil) }},
	{"postgres-encrypted", func(b *testing.B) benchBackend {
		return sqlBackend(b, testpg.Open(b), tokenstore.Postgres, testKeyRing(b, "k1"))
	}},
	{"mysql", func(b *testing.B) benchBackend { return sqlBackend(b, testmysql.Open(b), tokenstore.MySQL, nil) }},
	{"mysql-encrypted", func(b *testing.B) benchBackend {
		return sqlBackend(b, testmysql.Open(b), tokenstore.MySQL, testKeyRing(b, "k1"))
	}},
}

func sessionBackend(b *testing.B, ring *tokenstore.KeyRing) benchBackend {
	sm := scs.New()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	return benchBackend{store: tokenstore.NewSession(sm, tokenstore.SessionConfig{Keys: ring}), ctx: ctx}
}

func sqlBackend(b *testing.B, db *sql.DB, d tokenstore.Dialect, ring *tokenstore.KeyRing) benchBackend {
	st, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: d, Keys: ring, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return benchBackend{store: st, ctx: context.Background(), db: db, dialect: d, table: tokenstore.DefaultTable}
}

// BenchmarkStoreGet reads one stored token per operation.
func BenchmarkStoreGet(b *testing.B) {
	for _, mk := range benchBackends {
		b.Run(mk.name, func(b *testing.B) {
			be := mk.make(b)
			if err := be.store.Put(be.ctx, "open-id-1", storetest.FullToken(1)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.store.Get(be.ctx, "open-id-1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStorePut writes (upserts) one token per operation. SQLite's
// figure is mostly the commit's sync (synchronous=FULL, the default).
func BenchmarkStorePut(b *testing.B) {
	for _, mk := range benchBackends {
		b.Run(mk.name, func(b *testing.B) {
			be := mk.make(b)
			// Alternate two tokens: a database may skip rewriting a row
			// with the same bytes, which would flatter the figure.
			toks := []*client.Token{storetest.FullToken(1), storetest.FullToken(2)}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if err := be.store.Put(be.ctx, "open-id-1", toks[i%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSQLGetVsBareSelect compares the SQL store's Get (decryption and
// decoding included) with a hand-written SELECT of the same row through
// the same *sql.DB in the same run: "bare" is db.QueryRowContext with the
// query text, "bare-prepared" the same through a prepared *sql.Stmt.
func BenchmarkSQLGetVsBareSelect(b *testing.B) {
	for _, mk := range benchBackends {
		if mk.name == "memory" || mk.name == "session" || mk.name == "session-encrypted" {
			continue
		}
		b.Run(mk.name, func(b *testing.B) {
			be := mk.make(b)
			if err := be.store.Put(be.ctx, "open-id-1", storetest.FullToken(1)); err != nil {
				b.Fatal(err)
			}
			query := `SELECT token, key_id FROM ` + be.table + ` WHERE "key" = ?`
			switch be.dialect {
			case tokenstore.Postgres:
				query = `SELECT token, key_id FROM ` + be.table + ` WHERE "key" = $1`
			case tokenstore.MySQL:
				query = "SELECT token, key_id FROM " + be.table + " WHERE `key` = ?"
			}
			b.Run("bare", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var data []byte
					var keyID string
					if err := be.db.QueryRowContext(be.ctx, query, "open-id-1").Scan(&data, &keyID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("bare-prepared", func(b *testing.B) {
				st, err := be.db.PrepareContext(be.ctx, query)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				b.ReportAllocs()
				for b.Loop() {
					var data []byte
					var keyID string
					if err := st.QueryRowContext(be.ctx, "open-id-1").Scan(&data, &keyID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("store", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := be.store.Get(be.ctx, "open-id-1"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkSourceToken is the guarded request's path: a valid token for a
// key. "direct" is a bare store Get, the baseline.
func BenchmarkSourceToken(b *testing.B) {
	cl, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	tok := storetest.FullToken(1)
	tok.Expiry = time.Now().Add(24 * time.Hour)
	ctx := context.Background()
	stores := []struct {
		name  string
		store tokenstore.Store
	}{
		{"memory", tokenstore.NewMemory()},
		{"sqlite-cached", newSQLStore(b, openSQLite(b), tokenstore.SQLite, testKeyRing(b, "k1"))},
	}
	for _, s := range stores {
		if err := s.store.Put(ctx, "open-id-1", tok); err != nil {
			b.Fatal(err)
		}
		src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: s.store, Client: cl})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := src.Token(ctx, "open-id-1"); err != nil { // warm the cache
			b.Fatal(err)
		}
		b.Run(s.name+"/direct-get", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.store.Get(ctx, "open-id-1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/source", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Token(ctx, "open-id-1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/source-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := src.Token(ctx, "open-id-1"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
