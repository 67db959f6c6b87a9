package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Example guards a page and an API route. Without a login the page
// redirects to the login path with return_to, and the API answers 401 JSON.
func Example() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	c, err := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
		AuthURL: emu.AuthURL(), APIURL: emu.APIURL(), RedirectURL: "http://localhost:8080/auth/tiktok/callback"})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: c})
	if err != nil {
		log.Fatal(err)
	}
	sessions := scs.New()
	guard, err := middleware.New(middleware.Config{Tokens: tokens, Sessions: sessions,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /me", guard.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := client.FromContext(r.Context())
		fmt.Fprintf(w, "open_id %s", template.HTMLEscapeString(u.Token().OpenID))
	})))
	mux.Handle("GET /api/me", guard.RequireTikTokFunc(func(w http.ResponseWriter, r *http.Request, u *client.UserClient) error {
		info, err := u.UserInfo(r.Context(), client.FieldOpenID, client.FieldDisplayName)
		if err != nil {
			return err
		}
		return json.NewEncoder(w).Encode(info)
	}))
	app := httptest.NewServer(sessions.LoadAndSave(mux))
	defer app.Close()

	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, accept := range []string{"text/html", "application/json"} {
		path := "/me"
		if accept == "application/json" {
			path = "/api/me"
		}
		req, _ := http.NewRequest(http.MethodGet, app.URL+path+"?tab=1", nil)
		req.Header.Set("Accept", accept)
		resp, err := noRedirects.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Location")+string(body))
	}
	// Output:
	// 302 /auth/tiktok/login?return_to=%2Fme%3Ftab%3D1
	// 401 {"error":"login_required"}
}

// ExampleGuard_RequireTikTok mounts the guard on chi; the method value has
// the type func(http.Handler) http.Handler.
func ExampleGuard_RequireTikTok() {
	var guard *middleware.Guard // from middleware.New
	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(guard.RequireTikTok)
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			u, _ := client.FromContext(r.Context())
			info, err := u.UserInfo(r.Context(), client.FieldDisplayName)
			if guard.HandleError(w, r, err) {
				return
			}
			fmt.Fprintf(w, "Hello, %s", template.HTMLEscapeString(info.DisplayName))
		})
	})
}

// ExampleGuard_RequireScopes asks for video.list on one route. A user who
// did not grant it is sent to a step-up login (allow the scope in the login
// handlers' Config.StepUpScopes); an API request gets 403.
func ExampleGuard_RequireScopes() {
	var guard *middleware.Guard // from middleware.New
	mux := http.NewServeMux()
	mux.Handle("GET /videos", guard.RequireScopes(client.ScopeVideoList)(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			u, _ := client.FromContext(r.Context())
			fmt.Fprintln(w, "scopes:", u.Token().Scopes)
		})))
}

// ExampleGuard_OptionalTikTok shows a page to everyone, with more for users
// logged in with TikTok.
func ExampleGuard_OptionalTikTok() {
	var guard *middleware.Guard // from middleware.New
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", guard.OptionalTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := client.FromContext(r.Context()); ok {
			fmt.Fprintf(w, "Welcome back, %s", template.HTMLEscapeString(u.Token().OpenID))
			return
		}
		io.WriteString(w, `<a href="/auth/tiktok/login">Log in with TikTok</a>`)
	})))
}

// ExampleGuard_HandleError answers a TikTok call's error: "log in again"
// (the user removed the app) sends the user to login, an outage answers 503
// and keeps the login, a missing scope asks for it.
func ExampleGuard_HandleError() {
	var guard *middleware.Guard // from middleware.New
	http.Handle("GET /creator", guard.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := client.FromContext(r.Context())
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		info, err := u.CreatorInfo(ctx)
		if guard.HandleError(w, r, err) {
			return
		}
		fmt.Fprintln(w, "privacy options:", info.PrivacyLevelOptions)
	})))
}

// ExampleGuard_RequireTikTokFunc writes a guarded handler that returns its
// error instead of answering it.
func ExampleGuard_RequireTikTokFunc() {
	var guard *middleware.Guard // from middleware.New
	http.Handle("GET /api/me", guard.RequireTikTokFunc(func(w http.ResponseWriter, r *http.Request, u *client.UserClient) error {
		info, err := u.UserInfo(r.Context())
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(info)
	}))
}
