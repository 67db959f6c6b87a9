// Package testtoken turns a grant that the TikTok emulator minted without a
// browser (tiktoktest.Server.IssueToken) into the client.Token a finished
// login would have saved, for tests that start from a logged-in user.
package testtoken

import (
	"time"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// FromEmulator returns r as a client.Token, with its lifetimes counted from
// now.
func FromEmulator(r tiktoktest.TokenResponse, now time.Time) *client.Token {
	return &client.Token{
		AccessToken:   r.AccessToken,
		RefreshToken:  r.RefreshToken,
		TokenType:     r.TokenType,
		OpenID:        r.OpenID,
		Scopes:        client.ParseScopes(r.Scope),
		Expiry:        now.Add(time.Duration(r.ExpiresIn) * time.Second),
		RefreshExpiry: now.Add(time.Duration(r.RefreshExpiresIn) * time.Second),
	}
}
