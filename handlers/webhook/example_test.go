package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/justinas/nosurf"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

func ExampleNew() {
	store := tokenstore.NewMemory()
	hook, err := webhook.New(webhook.Config{
		ClientSecret: "your-client-secret",
		Tokens:       store, // authorization.removed deletes the user's token here
		OnAuthorizationRemoved: func(ctx context.Context, ev webhook.Event) {
			fmt.Println("removed:", ev.UserOpenID, ev.AuthorizationRemoved.ReasonText())
		},
		OnEvent: func(ctx context.Context, ev webhook.Event) error {
			if ev.Publish != nil {
				fmt.Println(ev.Event, ev.Publish.PublishID)
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/tiktok", hook)

	// What TikTok sends:
	body := `{"client_key":"k","event":"authorization.removed","create_time":1777636800,"user_openid":"open-1","content":"{\"reason\":1}"}`
	req := httptest.NewRequest(http.MethodPost, "/webhooks/tiktok", strings.NewReader(body))
	req.Header.Set(webhook.SignatureHeader, webhook.Sign("your-client-secret", time.Now(), []byte(body)))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// removed: open-1 user disconnected
	// 200
}

// ExampleSign tests a webhook endpoint the way TikTok calls it: the
// handler is mounted behind nosurf, which must exempt its path (TikTok sends
// no CSRF token; the signature protects the endpoint instead), and every
// request is signed with the client secret.
func ExampleSign() {
	const secret = "your-client-secret"
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	store := tokenstore.NewMemory()
	_ = store.Put(ctx, "open-1", &client.Token{AccessToken: "act.example", OpenID: "open-1"})

	hook, err := webhook.New(webhook.Config{
		ClientSecret: secret,
		ClientKey:    "your-client-key", // events for another app are refused
		Tokens:       store,             // authorization.removed deletes the token here
		OnEvent: func(ctx context.Context, ev webhook.Event) error {
			fmt.Println("event:", ev.Event, ev.Publish.PublishID, ev.Publish.PublishType)
			return nil // an error answers 500, and TikTok delivers the event again
		},
		Clock:  func() time.Time { return now }, // default time.Now
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/tiktok", hook)
	csrf := nosurf.New(mux)
	csrf.ExemptPath("/webhooks/tiktok")

	send := func(body string, signedAt time.Time, sign string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/tiktok", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.SignatureHeader, webhook.Sign(sign, signedAt, []byte(body)))
		rec := httptest.NewRecorder()
		csrf.ServeHTTP(rec, req)
		return rec.Code
	}

	published := `{"client_key":"your-client-key","event":"post.publish.complete","create_time":1777636800,` +
		`"user_openid":"open-1","content":"{\"publish_id\":\"v_pub_file~v2-1.123\",\"publish_type\":\"DIRECT_PUBLISH\"}"}`
	fmt.Println(send(published, now, secret))
	fmt.Println("replayed:", send(published, now, secret))
	fmt.Println("wrong secret:", send(published, now.Add(time.Second), "another-secret"))
	fmt.Println("too old:", send(published, now.Add(-10*time.Minute), secret)) // Tolerance: 5 minutes either way

	removed := `{"client_key":"your-client-key","event":"authorization.removed","create_time":1777636800,` +
		`"user_openid":"open-1","content":"{\"reason\":1}"}`
	fmt.Println(send(removed, now, secret))
	_, err = store.Get(ctx, "open-1")
	fmt.Println("token deleted:", errors.Is(err, tokenstore.ErrNotFound))
	// Output:
	// event: post.publish.complete v_pub_file~v2-1.123 DIRECT_PUBLISH
	// 200
	// replayed: 200
	// wrong secret: 401
	// too old: 401
	// 200
	// token deleted: true
}
