package tokenstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/alexedwards/scs/v2"
	_ "modernc.org/sqlite" // the app brings the driver; tokenstore imports none

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// A Source in front of a store: Token hands out a valid token and
// refreshes it when it is about to expire.
func ExampleNewSource() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	tiktok, err := client.New(client.Config{
		ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
		AuthURL: emu.AuthURL(), APIURL: emu.APIURL(),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{
		Store:  tokenstore.NewMemory(),
		Client: tiktok,
		OnDrop: func(key string, reason error) { fmt.Println("logged out:", key) },
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// The login callback saves the user's token under the store key.
	grant, err := emu.IssueToken("-000Em4L1ceXq7ZpQ2vN8KwM3tFhDr5LbJcA")
	if err != nil {
		log.Fatal(err)
	}
	tok := &client.Token{
		AccessToken: grant.AccessToken, RefreshToken: grant.RefreshToken, OpenID: grant.OpenID,
		Expiry: time.Now().Add(time.Minute), // about to expire: the next Token refreshes it
	}
	if err := src.Save(ctx, tok.OpenID, tok); err != nil {
		log.Fatal(err)
	}

	// A request.
	fresh, err := src.Token(ctx, tok.OpenID)
	if errors.Is(err, tokenstore.ErrLoginRequired) {
		fmt.Println("send the user to login")
		return
	}
	if err != nil {
		log.Fatal(err) // TikTok or the store is down: try again later, the user stays logged in
	}
	fmt.Println("refreshed:", fresh.AccessToken != tok.AccessToken, "refreshes:", emu.Grants("refresh_token"))

	_, err = src.Token(ctx, "someone-else")
	fmt.Println("unknown user:", errors.Is(err, tokenstore.ErrLoginRequired))
	// Output:
	// refreshed: true refreshes: 1
	// unknown user: true
}

// A SQL store with encryption at rest. The key ring comes from the
// environment; this example makes one.
func ExampleNewSQL() {
	dir, err := os.MkdirTemp("", "tokens")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	_, keyText, err := tokenstore.GenerateEncryptionKey("2025-06") // normally: os.Getenv("TOKEN_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	ring, err := tokenstore.ParseKeyRing(keyText)
	if err != nil {
		log.Fatal(err)
	}
	store, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Keys: ring})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if err := store.Put(ctx, "open-id-1", &client.Token{AccessToken: "act.secret", OpenID: "open-id-1"}); err != nil {
		log.Fatal(err)
	}
	tok, err := store.Get(ctx, "open-id-1")
	if err != nil {
		log.Fatal(err)
	}
	var keyID string
	var raw []byte
	if err := db.QueryRow(`SELECT key_id, token FROM tiktok_tokens`).Scan(&keyID, &raw); err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.OpenID, "key:", keyID, "clear text in the row:", string(raw) == "act.secret")
	// Output: open-id-1 key: 2025-06 clear text in the row: false
}

// Rotating keys: the new key first, the old one after it. Rows written
// with the old key still read; new writes use the new one.
func ExampleParseKeyRing() {
	ring, err := tokenstore.ParseKeyRing(
		"2025-06:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=," +
			"2024-11:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ring.PrimaryID(), ring.IDs())
	// Output: 2025-06 [2025-06 2024-11]
}

// The Session store keeps the token in the user's scs session; the handler
// must run inside SessionManager.LoadAndSave.
func ExampleNewSession() {
	sm := scs.New()
	store := tokenstore.NewSession(sm, tokenstore.SessionConfig{})
	identity := tokenstore.SessionIdentity(sm)

	// What LoadAndSave does for a request.
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		log.Fatal(err)
	}
	identity.SetKey(ctx, "open-id-1")
	if err := store.Put(ctx, identity.Key(ctx), &client.Token{AccessToken: "act.x", OpenID: "open-id-1"}); err != nil {
		log.Fatal(err)
	}
	tok, err := store.Get(ctx, identity.Key(ctx))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.OpenID)

	_, err = store.Get(context.Background(), "open-id-1")
	fmt.Println(errors.Is(err, tokenstore.ErrNoSession))
	// Output:
	// open-id-1
	// true
}

// ForceRefresh replaces a token that TikTok killed before its expiry. The
// user-bound client calls it by itself (the Source is its
// client.Refresher).
func ExampleSource_ForceRefresh() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	tiktok, err := client.New(client.Config{
		ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
		AuthURL: emu.AuthURL(), APIURL: emu.APIURL(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: tiktok})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	grant, err := emu.IssueToken("-000Em4L1ceXq7ZpQ2vN8KwM3tFhDr5LbJcA")
	if err != nil {
		log.Fatal(err)
	}
	tok := &client.Token{AccessToken: grant.AccessToken, RefreshToken: grant.RefreshToken,
		OpenID: grant.OpenID, Expiry: time.Now().Add(time.Hour)}
	if err := src.Save(ctx, tok.OpenID, tok); err != nil {
		log.Fatal(err)
	}

	emu.KillAccessTokens() // TikTok revokes the access token early
	user := tiktok.ForUser(tok.OpenID, tok, src)
	info, err := user.UserInfo(ctx, client.FieldDisplayName)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.DisplayName, "refreshes:", emu.Grants("refresh_token"))
	// Output: Alice Example refreshes: 1
}

// Replace writes a token only over the one the caller read: a refresh that
// finishes after the user logged in again leaves the new login alone.
func ExampleReplacer() {
	ctx := context.Background()
	store := tokenstore.NewMemory()
	old := &client.Token{AccessToken: "act.1", RefreshToken: "rft.1", OpenID: "user"}
	_ = store.Put(ctx, "user", old)

	// A new login lands while a refresh of old is at TikTok.
	_ = store.Put(ctx, "user", &client.Token{AccessToken: "act.login", RefreshToken: "rft.login", OpenID: "user"})

	refreshed := &client.Token{AccessToken: "act.2", RefreshToken: "rft.2", OpenID: "user"}
	var r tokenstore.Replacer = store
	ok, err := r.Replace(ctx, "user", old, refreshed)
	if err != nil {
		log.Fatal(err)
	}
	cur, _ := store.Get(ctx, "user")
	fmt.Println(ok, cur.AccessToken)
	// Output: false act.login
}
