// Package client is a Go client for TikTok's Open API v2: Login Kit for Web
// (authorize URL with TikTok's hex PKCE, code exchange, refresh, revoke,
// client credentials), user and creator info, the Display API's video list
// and query, and the Content Posting API with its chunked uploader.
//
// Three types to start with:
//
//   - Client, made once per app with New from a Config: immutable, safe for
//     concurrent use, and the only thing that talks to TikTok.
//
//   - Token, a user's grant (access and refresh token, open_id, scopes,
//     expiries). Printing or logging it never shows a secret; its JSON form
//     is its storage form.
//
//   - UserClient, a Client bound to one user's token for API calls
//     (UserInfo, CreatorInfo, Videos, DirectPostVideo, Do, ...). In a guarded
//     request, FromContext returns the one package middleware put there.
//
//     c, err := client.New(client.Config{
//     ClientKey:    os.Getenv("TIKTOK_CLIENT_KEY"),
//     ClientSecret: os.Getenv("TIKTOK_CLIENT_SECRET"),
//     RedirectURL:  "https://example.com/auth/tiktok/callback",
//     })
//     ...
//     info, err := c.WithToken(tok).UserInfo(ctx, client.FieldDisplayName)
//
// Errors come in three types (*OAuthError, *APIError, *ResponseError), all
// matched with errors.Is on the package's sentinels; IsTemporary says
// whether trying again later can help. Calls that are safe to repeat are
// retried; calls that are not (a code exchange, a posting init) never are.
//
// The guides in the repository's docs directory say more: docs/oauth-pkce.md
// (the login flow, PKCE, refresh and rotation), docs/posting.md (posting,
// chunk plans and uploads) and docs/errors-and-retries.md. examples/basic is
// a complete app; package client/tiktoktest is an in-process TikTok emulator
// for tests and offline development.
//
// Config.Hooks receives every call to TikTok (endpoint, status, outcome,
// log_id, retries), quota wait and uploaded chunk, for metrics and traces;
// package otelkit implements it on OpenTelemetry. Unset, it costs nothing.
package client
