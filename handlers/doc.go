// Package handlers serves "Log in with TikTok" for net/http apps: Login
// starts a login, Callback finishes it, Disconnect logs the user out of
// TikTok in this app. They are plain http.Handlers with no path of their
// own, so they mount on http.ServeMux patterns, chi or any other router.
//
// The data flow:
//
//  1. Login makes a fresh state and PKCE verifier, keeps them with the
//     return_to path and the scopes as a single-use pending login in the
//     user's scs session, and redirects to TikTok's authorize page.
//  2. Callback takes the pending login out of the session, checks the state
//     in constant time, exchanges the code (with the verifier and the exact
//     redirect URI), fetches the profile for the scopes TikTok granted,
//     renews the session token, saves the token in the token source under
//     the user's open_id, records that key in the session (the Identity),
//     calls Config.OnLogin, and redirects to return_to.
//  3. Package middleware then guards pages: it reads the key from the
//     session and puts a client bound to the user's token in the context.
//  4. Disconnect (POST, CSRF-checked) revokes the token at TikTok, deletes
//     it, removes the key from the session and redirects.
//
// Wiring, in short (see the package example for a complete program):
//
//	sm := scs.New()                    // sessions: HttpOnly and SameSite=Lax by default
//	sm.Cookie.Secure = true            // when the app is served over https
//	c, _ := client.New(client.Config{ClientKey: key, ClientSecret: secret,
//		RedirectURL: "https://app.example/auth/tiktok/callback"})
//	src, _ := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: c})
//	auth, _ := handlers.New(handlers.Config{Tokens: src, Sessions: sm})
//
//	mux := http.NewServeMux()
//	mux.Handle("GET /auth/tiktok/login", auth.Login())
//	mux.Handle("GET /auth/tiktok/callback", auth.Callback())
//	mux.Handle("POST /auth/tiktok/disconnect", auth.Disconnect())
//	csrf := nosurf.New(mux)
//	http.ListenAndServe(addr, sm.LoadAndSave(csrf))
//
// # Security
//
// State: 32 random bytes per login, kept server-side in the session, used at
// most once (taken out before anything else happens, even when the callback
// then fails), compared with crypto/subtle. A callback whose state matches
// no pending login discards every pending login of the session. Pending
// logins expire after Config.PendingTTL; a session keeps at most
// Config.MaxPending of them (one per tab), dropping the oldest.
//
// PKCE: every login sends a code challenge and the exchange sends its
// verifier (the client's Config.PKCE chooses TikTok's hex form, RFC 7636's
// base64url or none).
//
// Session fixation: the session token is renewed when a login succeeds and
// when the user disconnects.
//
// Open redirects: return_to must be a path on this site (SafeReturnTo);
// anything else falls back to Config.DefaultReturnTo.
//
// CSRF: Disconnect changes state, so it answers POST only and refuses to
// run unprotected. Two protections count. The standard library's
// http.CrossOriginProtection, given as Config.CrossOriginProtection, needs
// no token in the page and no dependency: Disconnect runs its Check and
// refuses a request from another origin with ErrCrossOrigin (403); it
// works on plain http://localhost as on https, and with browsers that send
// Origin but no Sec-Fetch-Site. Or github.com/justinas/nosurf wraps it (it
// checks nosurf.Token(r)). With neither, Disconnect answers
// ErrCSRFUnprotected unless Config.InsecureSkipCSRFCheck is set. nosurf v1.2 and
// later also checks Origin or Referer and assumes https; an app that also
// runs on plain http (such as http://localhost in development) must say
// which requests are TLS, and the token cookie needs Path "/" so that the
// token given out on one page is sent to the disconnect path:
//
//	csrf := nosurf.New(mux)
//	csrf.SetIsTLSFunc(func(r *http.Request) bool { return r.TLS != nil })
//	csrf.SetBaseCookie(http.Cookie{Path: "/", HttpOnly: true, Secure: https,
//		SameSite: http.SameSiteLaxMode, MaxAge: nosurf.MaxAge})
//
// Cookies: the session cookie's attributes are the app's scs settings. Keep
// HttpOnly (scs's default) and SameSite=Lax (scs's default; Strict would
// drop the cookie on TikTok's cross-site redirect back and break every
// login), and set Secure when the app is served over https.
//
// Caching: every answer of these handlers carries Cache-Control: no-store.
//
// Secrets: no token reaches a URL, a log line or an error page, and these
// handlers never log a code or a state (the callback URL that carries them
// is TikTok's redirect; keep it out of access logs if you keep those). Failures go through Config.ErrorHandler; the default logs
// the detail with slog and writes a fixed text with the status from
// StatusCode.
//
// # Webhooks
//
// Webhooks: see package handlers/webhook
// (github.com/tiktokkit/tiktokkit/handlers/webhook), which verifies TikTok's
// signed events and deletes the token of a user who removed the app.
//
// # Concurrency
//
// An Auth is safe for concurrent use. Two logins started at the same moment
// in two tabs of one browser load and save the session independently, as
// scs does for every request, so the last one to finish wins and the other
// tab's callback then fails with ErrNoPendingLogin.
//
// Health serves a load balancer's probe: 200 while the token store answers
// a cheap round trip, 503 otherwise. Config.Hooks receives every callback
// and disconnect with its outcome (package otelkit implements it on
// OpenTelemetry).
package handlers
