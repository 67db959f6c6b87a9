// Package xoauth2 connects tiktokkit to golang.org/x/oauth2, for code that
// speaks oauth2.Token and oauth2.TokenSource: generated API clients,
// oauth2.NewClient, libraries that take a TokenSource.
//
// ToOAuth2 and FromOAuth2 convert a kit token to and from *oauth2.Token.
// TikTok's fields that x/oauth2 has no place for travel as the token's
// extra values, under TikTok's own names:
//
//	open_id             the user's ID for this app (string)
//	scope               the granted scopes, comma-separated as TikTok sends them (string)
//	refresh_expires_in  seconds until the refresh token expires (number)
//
// TokenSource gives an oauth2.TokenSource for one user that draws on a
// tokenstore.Source, so every token it hands out comes through the kit's
// refresh rules: one refresh for all callers in the process, a lease across
// instances, the rotated refresh token saved before it is used.
//
// The code exchange itself stays with the kit (package handlers and
// client.Client.Exchange): TikTok names the app's ID client_key rather than
// client_id and wants its own PKCE form, which oauth2.Config cannot send.
//
// This package is the only part of tiktokkit that imports x/oauth2; an app
// that does not import it does not compile it.
package xoauth2
