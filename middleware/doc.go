// Package middleware guards net/http handlers with a TikTok login.
//
// A Guard reads the request's store key from the scs session (the Identity
// the login handlers of package handlers recorded), asks the token source
// for a valid token (refreshing it when it is about to expire), and hands
// the next handler a client bound to that token in the request context:
//
//	guard, _ := middleware.New(middleware.Config{Tokens: src, Sessions: sm})
//	mux.Handle("GET /me", guard.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		u, _ := client.FromContext(r.Context())
//		info, err := u.UserInfo(r.Context(), client.FieldDisplayName)
//		if guard.HandleError(w, r, err) {
//			return
//		}
//		fmt.Fprintf(w, "Hello, %s", html.EscapeString(info.DisplayName))
//	})))
//
// Every middleware has the type func(http.Handler) http.Handler (as method
// values), so it plugs into chi's Use or any chain:
//
//   - RequireTikTok: no login, or a login TikTok no longer honours (the
//     refresh answered invalid_grant): a page load is redirected to the
//     login path with return_to set to the current path and query; anything
//     else gets 401 with {"error":"login_required"}. TikTok or the store
//     being down answers 503 and keeps the user logged in.
//   - RequireScopes(scopes...): the same, and a token without the scopes
//     sends a page load to a step-up login (login?return_to=..&scope=..)
//     and answers 403 JSON otherwise.
//   - OptionalTikTok: injects the client when there is a usable login and
//     calls the next handler either way.
//
// # Page loads and API calls
//
// A page load is a GET or HEAD whose path is not under Config.APIPrefixes
// (default "/api/") and whose client does not ask for JSON: a browser's
// navigation (Accept with text/html), or a plain HTTP client that accepts
// anything (no Accept, or */*). Everything else is an API call and gets JSON:
// other methods, paths under an API prefix, Accept without text/html or */*
// (application/json, say), and scripts (X-Requested-With, or Sec-Fetch-Mode
// cors, no-cors or same-origin). Mount JSON endpoints under an API prefix so
// that they answer 401, never a redirect, to every client.
//
// # Tokens that die early
//
// TikTok may kill an access token before its announced expiry. The
// user-bound client then asks the token source for a forced refresh once and
// repeats a call that is safe to repeat; concurrent requests that meet the
// same dead token share one refresh. When that refresh answers invalid_grant
// (the user removed the app), the token is deleted and the call's error
// matches tokenstore.ErrLoginRequired: pass it to Guard.HandleError (or use
// RequireTikTokFunc, which does) and the request ends as "log in again"
// (redirect for HTML, 401 for JSON) while the next request goes straight to
// login. A 5xx or timeout during the forced refresh keeps the token and
// answers 503 for this request only.
//
// # Quotas
//
// The client keeps TikTok's published quotas (client.Config.Quotas): a call
// waits for its turn while its context allows. Give the call a deadline, or
// bound only the quota wait with client.WithQuotaWait, and a call whose wait
// would pass it fails at once with a *client.QuotaError;
// HandleError (and RequireTikTokFunc) then answer 429 with Retry-After, JSON
// {"error":"rate_limited"} or a short page, and the user stays logged in. A
// 429 from TikTok itself, after the client's retries, answers the same.
//
// # Cost
//
// With a warm token the middleware adds three allocations to a request (the
// scs session read of the identity, the context that carries the user-bound
// client, and the request copy) and no store round trip when the token
// source's cache is on.
package middleware
