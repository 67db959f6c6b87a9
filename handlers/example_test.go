package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/nosurf"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Example wires a complete "Log in with TikTok" site: sessions, CSRF
// protection, the login handlers and a guarded page, here against the
// emulator, and walks through a login with a cookie-keeping HTTP client.
func Example() {
	emu := tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true})
	defer emu.Close()

	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()

	c, err := client.New(client.Config{
		ClientKey:    emu.ClientKey(),
		ClientSecret: emu.ClientSecret(),
		RedirectURL:  base + "/auth/tiktok/callback",
		Scopes:       []string{client.ScopeUserInfoBasic},
		AuthURL:      emu.AuthURL(), // leave both empty for the real TikTok
		APIURL:       emu.APIURL(),
	})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: c})
	if err != nil {
		log.Fatal(err)
	}
	sessions := scs.New() // HttpOnly, SameSite=Lax; set Cookie.Secure when served over https
	auth, err := handlers.New(handlers.Config{Tokens: tokens, Sessions: sessions,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := middleware.New(middleware.Config{Tokens: tokens, Sessions: sessions})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /auth/tiktok/login", auth.Login())
	mux.Handle("GET /auth/tiktok/callback", auth.Callback())
	mux.Handle("POST /auth/tiktok/disconnect", auth.Disconnect())
	mux.Handle("GET /me", guard.RequireTikTokFunc(func(w http.ResponseWriter, r *http.Request, u *client.UserClient) error {
		info, err := u.UserInfo(r.Context(), client.FieldDisplayName)
		if err != nil {
			return err // a "log in again" redirects to login, TikTok down answers 503
		}
		fmt.Fprintf(w, "Hello, %s!", template.HTMLEscapeString(info.DisplayName))
		return nil
	}))

	csrf := nosurf.New(mux)
	csrf.SetIsTLSFunc(func(r *http.Request) bool { return r.TLS != nil }) // plain http works too
	csrf.SetBaseCookie(http.Cookie{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: nosurf.MaxAge})
	app.Config.Handler = sessions.LoadAndSave(csrf)
	app.Start()
	defer app.Close()

	// A browser: /me sends it to login, TikTok (the emulator) approves, the
	// callback logs it in and sends it back to /me.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	req, _ := http.NewRequest(http.MethodGet, base+"/me", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Request.URL.Path, string(body))
	// Output: /me Hello, Alice Example!
}

// ExampleAuth_Login shows the routes on chi-like routers and what the login
// path accepts.
func ExampleAuth_Login() {
	var auth *handlers.Auth // from handlers.New
	mux := http.NewServeMux()
	// GET /auth/tiktok/login?return_to=/settings starts a login that ends on
	// /settings; ?scope=video.list asks for a scope from
	// Config.StepUpScopes on top of the usual ones.
	mux.Handle("GET /auth/tiktok/login", auth.Login())
	mux.Handle("GET /auth/tiktok/callback", auth.Callback())
}

// ExampleAuth_Callback links the TikTok account to the app's own user in
// the OnLogin hook, which may refuse the login.
func ExampleAuth_Callback() {
	var (
		tokens   *tokenstore.Source  // from tokenstore.NewSource
		sessions *scs.SessionManager // from scs.New
	)
	banned := map[string]bool{"open-id-of-a-banned-user": true}
	auth, err := handlers.New(handlers.Config{
		Tokens:   tokens,
		Sessions: sessions,
		OnLogin: func(ctx context.Context, r *http.Request, res *handlers.AuthResult) error {
			if banned[res.UID] {
				return errors.New("account banned") // token revoked, login refused (403)
			}
			slog.InfoContext(ctx, "tiktok user logged in", "uid", res.UID, "name", res.Profile.Name,
				"credentials", res.Credentials) // credentials log without tokens
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			slog.WarnContext(r.Context(), "login failed", "error", err)
			http.Error(w, handlers.UserMessage(err), handlers.StatusCode(err))
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("GET /auth/tiktok/callback", auth.Callback())
}

// ExampleAuth_Disconnect protects Disconnect with nosurf and renders the
// form that calls it. nosurf v1.2 checks Origin or Referer and assumes
// https; SetIsTLSFunc makes plain http://localhost work as well, and the
// cookie's Path "/" lets the token made on /me reach the disconnect path.
func ExampleAuth_Disconnect() {
	var auth *handlers.Auth // from handlers.New
	var guard *middleware.Guard
	page := template.Must(template.New("me").Parse(
		`<form method="post" action="/auth/tiktok/disconnect">` +
			`<input type="hidden" name="csrf_token" value="{{.}}">` +
			`<button>Disconnect TikTok</button></form>`))

	mux := http.NewServeMux()
	mux.Handle("POST /auth/tiktok/disconnect", auth.Disconnect())
	mux.Handle("GET /me", guard.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = page.Execute(w, nosurf.Token(r))
	})))

	https := false // true behind https
	csrf := nosurf.New(mux)
	csrf.SetIsTLSFunc(func(r *http.Request) bool { return r.TLS != nil || https })
	csrf.SetBaseCookie(http.Cookie{Path: "/", HttpOnly: true, Secure: https,
		SameSite: http.SameSiteLaxMode, MaxAge: nosurf.MaxAge})
	_ = csrf // serve sessions.LoadAndSave(csrf)
}

func ExampleSafeReturnTo() {
	for _, s := range []string{"/me?tab=videos", "https://evil.example", "//evil.example", `/\evil.example`, "/%2F%2Fevil.example"} {
		fmt.Printf("%-22s %v\n", s, handlers.SafeReturnTo(s))
	}
	// Output:
	// /me?tab=videos         true
	// https://evil.example   false
	// //evil.example         false
	// /\evil.example         false
	// /%2F%2Fevil.example    false
}
