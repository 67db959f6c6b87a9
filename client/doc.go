// Package client is a Go client for TikTok's Open API v2: Login Kit for Web
// (the OAuth authorize URL with TikTok's hex PKCE, code exchange, refresh,
// revoke, client credentials) and the user-bound API calls (user info,
// creator info, and a raw call for any other endpoint).
//
// A Client is made once per app with New and is immutable and safe for
// concurrent use. A UserClient binds it to one user's Token for API calls:
//
//	c, err := client.New(client.Config{
//		ClientKey:    os.Getenv("TIKTOK_CLIENT_KEY"),
//		ClientSecret: os.Getenv("TIKTOK_CLIENT_SECRET"),
//		RedirectURL:  "https://example.com/auth/tiktok/callback",
//		Scopes:       []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//
//	// Login: keep state and verifier on the server (for example in the session).
//	state, verifier := client.GenerateState(), client.GenerateVerifier()
//	http.Redirect(w, r, c.AuthCodeURL(state, client.WithPKCE(verifier)), http.StatusFound)
//
//	// Callback: check state, then swap the code for the user's token.
//	tok, err := c.Exchange(ctx, r.URL.Query().Get("code"), client.WithVerifier(verifier))
//
//	// API calls with the user's token.
//	info, err := c.WithToken(tok).UserInfo(ctx, client.FieldDisplayName)
//
// # Errors
//
// TikTok answers errors in two shapes, and sometimes with HTTP 200; the
// client decides by the body. The token and revoke endpoints' flat
// {error, error_description, log_id} becomes an *OAuthError; the API
// envelope {data, error:{code, message, log_id}} with a code other than "ok"
// becomes an *APIError; a body that is neither (HTML, truncated, too large,
// empty) becomes a *ResponseError. Branch with errors.Is on the sentinels
// (ErrAccessTokenInvalid, ErrInvalidGrant, ErrRateLimited, ...) and use
// IsTemporary to decide whether to try again later. Arguments that cannot be
// right are refused before any request with ErrInvalidInput or a
// *MissingScopeError.
//
// # Retries and refresh
//
// Calls that are safe to repeat (user info, creator info, the client token,
// Do with Request.Repeatable) are retried on 429 (honouring Retry-After up to
// RetryPolicy.MaxDelay), 5xx and connection errors, with exponential backoff
// and full jitter. A code exchange is never retried; a refresh or revoke only
// when the connection could not be made, because TikTok may rotate refresh
// tokens and a repeated refresh could log the user out. Context cancellation
// always wins. A UserClient made with ForUser and a Refresher (package
// tokenstore's Source) asks for a forced refresh once when TikTok refuses a
// token as access_token_invalid, then repeats the call.
//
// # Secrets
//
// Token, ClientToken, Config, Client and UserClient redact secrets in every
// fmt verb and in log/slog output. The JSON form of Token is its storage form
// and does carry the secrets: store it encrypted (see package tokenstore).
//
// # golang.org/x/oauth2
//
// The package does not depend on golang.org/x/oauth2: TikTok's client_key
// parameter, comma-separated scopes, hex PKCE challenge, error bodies with
// HTTP 200 and strictly rotating refresh tokens need handling that
// oauth2.Config does not offer. Converting is a few lines: AccessToken,
// RefreshToken, TokenType and Expiry map one to one onto *oauth2.Token, and
// UserClient.HTTPClient plays the part of oauth2.Config.Client.
//
// Package client/tiktoktest is an in-process TikTok emulator for tests.
package client
