// Package handlers serves "Log in with TikTok" for net/http apps: Login
// starts a login, Callback finishes it, Disconnect logs the user out of
// TikTok in this app. They are plain http.Handlers with no path of their
// own, so they mount on http.ServeMux patterns, chi or any other router.
//
// The data flow:
//
//  1. Login makes a fresh state and PKCE verifier, keeps them with the
//     return_to path and the scopes as a single-use pending login in a
//     sealed cookie of its own (see Pending logins below), and redirects to
//     TikTok's authorize page.
//  2. Callback finds the pending login of the callback's state and uses it
//     up, checks the state in constant time, exchanges the code (with the
//     verifier and the exact redirect URI), fetches the profile for the scopes TikTok granted,
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
// State: 32 random bytes per login, kept sealed in the browser (see
// Pending logins), used at most once (used up before anything else
// happens, even when the callback then fails), compared with crypto/subtle.
// A callback whose state matches no pending login is refused
// (ErrStateMismatch, or ErrNoPendingLogin when the browser has none) and
// changes nothing: the browser's other pending logins stay usable, so a
// link to the callback from another site, or a reloaded callback, cannot
// cancel a login in progress. Pending logins expire after
// Config.PendingTTL; a browser keeps at most Config.MaxPending of them (one
// per tab), dropping the oldest.
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
// Caching: every answer of these handlers carries one Cache-Control:
// no-store and one Vary: Cookie (scs and nosurf each add a Vary: Cookie
// before the handlers run; the handlers fold them into one field). When
// scs writes the session cookie (a callback that used a pending login, a
// Disconnect of a logged-in user), scs itself appends Cache-Control:
// no-cache="Set-Cookie" after the handler has written its headers; caches
// combine the two into "no-store, no-cache=Set-Cookie", which still
// forbids storing the answer. Login does not write the session, so its
// answer, which carries the state in its Location, has exactly one (unless
// scs's IdleTimeout is set, which makes scs write the session on every
// request).
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
// # Pending logins
//
// scs loads a session at the start of a request and writes all of it back
// at the end, so two requests of one browser at the same moment overwrite
// each other's changes. A pending login kept in the session would be lost
// whenever two logins start at once (a double click, two tabs). So each
// pending login lives in a cookie of its own, which no other request
// writes:
//
//   - Name: "__Host-tiktokkit_login_" (on https; the prefix makes the
//     browser require Secure, Path "/" and no Domain, so no other host of
//     the site can set it) or "tiktokkit_login_" (plain http), followed by
//     a hash of the state, so the callback finds its own login without
//     reading the others.
//   - Value: the state, PKCE verifier, return_to, scopes, redirect URI and
//     creation time, sealed with AES-256-GCM under a key derived by HKDF-
//     SHA256 from Config.PendingLoginKey or, by default, the client secret;
//     the cookie name is bound into the seal. The browser can neither read
//     the verifier nor change anything; every instance with the same
//     secret opens it, so nothing is shared between instances.
//   - Attributes: HttpOnly; SameSite=Lax, so that TikTok's top-level
//     redirect back carries it; Path "/", as the __Host- prefix requires
//     and so that Login sees the logins already waiting; Max-Age
//     Config.PendingTTL. A cookie is about 500 bytes; a return_to too long
//     to fit is replaced by Config.DefaultReturnTo.
//
// Login drops the browser's pending-login cookies that do not open or have
// expired, and the oldest ones beyond Config.MaxPending (logins started at
// the very same moment do not see each other yet, so a browser may hold a
// few more for a moment; the next login trims them). Login does not write
// the session.
//
// Single use. A callback that finds its pending login (the cookie opens
// and holds the callback's state) deletes the cookie in its answer and
// records the login as used in the session (a hash of the state, kept
// until the login would have expired anyway), before the code is exchanged
// and whatever happens next; an expired one is only deleted. A replay of the callback is
// refused with ErrNoPendingLogin before TikTok is called, even when the
// replay brings the cookie back, as long as it comes with this browser's
// session (the record moves with the session when its token is renewed at
// login). Elsewhere a replay needs the HttpOnly cookie and the callback
// URL and must happen within Config.PendingTTL; its code was already used,
// and TikTok refuses a code the second time, so the exchange fails and
// nobody is logged in (400). Two callbacks of one browser at the very
// same moment may each renew the session, and the record of one of them is
// then lost with the session that lost the race; its cookie is deleted
// all the same and its code is used, so the same holds for it.
//
// A cookie that does not open (altered, damaged, or sealed with a key that
// has changed since) is refused with ErrBadPendingLogin (400) and deleted;
// the session and the other pending logins are left as they are. Changing
// Config.PendingLoginKey or the client secret therefore only sends users
// who are on TikTok's consent page at that moment back to the start.
//
// # Concurrency
//
// An Auth is safe for concurrent use. Logins started at the same moment in
// several tabs of one browser each keep their pending login in their own
// cookie, and each tab's callback completes; a second successful login in
// the same browser does not log out the first (the identity is recorded
// again in the renewed session).
//
// Health serves a load balancer's probe: 200 while the token store answers
// a cheap round trip, 503 otherwise. Config.Hooks receives every callback
// and disconnect with its outcome (package otelkit implements it on
// OpenTelemetry).
package handlers
