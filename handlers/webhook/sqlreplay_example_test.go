package webhook_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"time"

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
)

// A replay store that every instance of the app shares, in the app's own
// database (SQLite here; PostgreSQL and MySQL work the same with their
// Dialect). Pass it as Config.ReplayStore, and prune it now and then.
func ExampleNewSQLReplayStore() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file::memory:") // your *sql.DB, with the driver you use
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one in-memory database, for the example

	replays, err := webhook.NewSQLReplayStore(db, webhook.SQLReplayConfig{Dialect: webhook.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := replays.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	hook, err := webhook.New(webhook.Config{ClientSecret: "your-client-secret", ReplayStore: replays})
	if err != nil {
		log.Fatal(err)
	}
	_ = hook // mux.Handle("POST /webhooks/tiktok", hook)

	go func() {
		for range time.Tick(10 * time.Minute) {
			if _, err := replays.Prune(ctx); err != nil {
				log.Printf("pruning webhook replays: %v", err)
			}
		}
	}()

	// What the handler does with each signature it verifies:
	first, _ := replays.Claim(ctx, "signature-1", time.Now().Add(10*time.Minute))
	again, _ := replays.Claim(ctx, "signature-1", time.Now().Add(10*time.Minute))
	fmt.Println(first, again)
	// Output: true false
}
