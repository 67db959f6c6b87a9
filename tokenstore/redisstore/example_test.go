package redisstore_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// A Source on Redis, shared by every instance of the app. The same code
// serves a single server, Sentinel (set MasterName) and a Cluster (list
// its nodes in Addrs). The example needs a Redis server, so it is compiled
// but not run.
func Example() {
	ctx := context.Background()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: []string{"localhost:6379"},
	})
	defer rdb.Close()

	ring, err := tokenstore.ParseKeyRing(os.Getenv("TOKEN_KEYS")) // "2025-06:base64...,2024-11:base64..."
	if err != nil {
		log.Fatal(err)
	}
	store, err := redisstore.New(rdb, redisstore.Config{Prefix: "myapp:", Keys: ring})
	if err != nil {
		log.Fatal(err)
	}
	tiktok, err := client.New(client.Config{
		ClientKey:    os.Getenv("TIKTOK_CLIENT_KEY"),
		ClientSecret: os.Getenv("TIKTOK_CLIENT_SECRET"),
	})
	if err != nil {
		log.Fatal(err)
	}
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: store, Client: tiktok})
	if err != nil {
		log.Fatal(err)
	}

	// After a login: src.Save(ctx, tok.OpenID, tok). Per request:
	tok, err := src.Token(ctx, "-000open-id")
	switch {
	case errors.Is(err, tokenstore.ErrLoginRequired):
		log.Print("send the user to log in with TikTok")
	case err != nil:
		log.Printf("try again later: %v", err) // Redis or TikTok is down; the token is kept
	default:
		log.Printf("token for %s valid until %v", tok.OpenID, tok.Expiry)
	}
}

// A Limiter shared by every instance of the app keeps TikTok's quotas
// across all of them. The client asks it before each request; here it is
// asked directly, for the app-wide quota of user info. The example needs
// a Redis server, so it is compiled but not run.
func ExampleNewLimiter() {
	ctx := context.Background()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"localhost:6379"}})
	defer rdb.Close()

	limiter, err := redisstore.NewLimiter(rdb, redisstore.LimiterConfig{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	q := client.DefaultQuotas()[client.EndpointUserInfo] // 600 a minute
	wait, ok, err := limiter.Reserve(ctx, client.EndpointUserInfo, q, 10*time.Second)
	switch {
	case err != nil:
		log.Printf("Redis is down, sending unbooked: %v", err)
	case !ok:
		log.Printf("rate limited: retry after %v", wait)
	default:
		time.Sleep(wait) // then send the request
	}
}

// A webhook replay store shared by every instance of the app, so that a
// replayed delivery is acknowledged and not handled again whichever
// instance it reaches. The example needs a Redis server, so it is compiled
// but not run.
func ExampleNewReplayStore() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"localhost:6379"}})
	defer rdb.Close()

	replays, err := redisstore.NewReplayStore(rdb, redisstore.ReplayConfig{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	hook, err := webhook.New(webhook.Config{
		ClientSecret: os.Getenv("TIKTOK_CLIENT_SECRET"),
		ReplayStore:  replays,
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /webhooks/tiktok", hook)
}
