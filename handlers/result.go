package handlers

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// Provider is the AuthResult.Provider of every TikTok login.
const Provider = "tiktok"

// AuthResult describes a completed login, shaped like OmniAuth's auth hash
// so that code ported from Rails finds its way: Provider and UID are
// OmniAuth's provider and uid, Profile its info, Credentials its
// credentials and RawProfile its extra. Config.OnLogin receives it.
//
// Printing or logging an AuthResult never shows a token.
type AuthResult struct {
	// Provider is always "tiktok".
	Provider string
	// UID is the user's open_id for this app, never empty. It is also the
	// store key under which the token was saved.
	UID string
	// Profile is the user's profile, as far as the granted scopes and the
	// profile call allowed; empty when the profile could not be fetched.
	Profile Profile
	// Credentials are the token's secrets and lifetimes.
	Credentials Credentials
	// RawProfile is the profile as TikTok sent it, or why it could not be
	// fetched.
	RawProfile RawProfile

	token *client.Token
}

// Token returns the saved token. Treat it as read-only; use it with
// Client.ForUser to call TikTok from the OnLogin hook.
func (r *AuthResult) Token() *client.Token { return r.token }

// String describes r without secrets.
func (r AuthResult) String() string {
	return "handlers.AuthResult{provider=" + r.Provider + ", uid=" + r.UID +
		", name=" + r.Profile.Name + ", credentials=" + r.Credentials.String() + "}"
}

// GoString returns the same text as String.
func (r AuthResult) GoString() string { return r.String() }

// Format implements fmt.Formatter: every verb prints the form of String.
func (r AuthResult) Format(f fmt.State, verb rune) { formatText(f, verb, r.String()) }

// LogValue implements slog.LogValuer without secrets.
func (r AuthResult) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", r.Provider),
		slog.String("uid", r.UID),
		slog.String("name", r.Profile.Name),
		slog.Any("credentials", r.Credentials),
	)
}

// Profile is the profile part of an AuthResult (OmniAuth's "info").
type Profile struct {
	// Name is the display name (user.info.basic).
	Name string
	// Nickname is the username, the @handle (user.info.profile).
	Nickname string
	// Image is the largest avatar URL available (user.info.basic).
	Image string
	// Description is the bio (user.info.profile).
	Description string
	// ProfileURL is the profile deep link (user.info.profile).
	ProfileURL string
	// Verified tells whether TikTok verified the account
	// (user.info.profile).
	Verified bool
	// UnionID is the user's ID across the developer's apps
	// (user.info.basic).
	UnionID string
}

// profileOf maps TikTok's user info onto Profile.
func profileOf(u *client.UserInfo) Profile {
	img := u.AvatarLargeURL
	if img == "" {
		img = u.AvatarURL
	}
	if img == "" {
		img = u.AvatarURL100
	}
	return Profile{
		Name:        u.DisplayName,
		Nickname:    u.Username,
		Image:       img,
		Description: u.BioDescription,
		ProfileURL:  u.ProfileDeepLink,
		Verified:    u.IsVerified,
		UnionID:     u.UnionID,
	}
}

// Credentials is the token part of an AuthResult (OmniAuth's
// "credentials"). Its String, GoString, Format, LogValue and MarshalJSON
// hide the tokens.
type Credentials struct {
	// Token is the access token.
	Token string
	// RefreshToken is the refresh token.
	RefreshToken string
	// Expiry is when the access token expires (zero: unknown).
	Expiry time.Time
	// RefreshExpiry is when the refresh token expires (zero: unknown).
	RefreshExpiry time.Time
	// Scopes are the scopes the user granted.
	Scopes []string
}

func credentialsOf(t *client.Token) Credentials {
	return Credentials{
		Token:         t.AccessToken,
		RefreshToken:  t.RefreshToken,
		Expiry:        t.Expiry,
		RefreshExpiry: t.RefreshExpiry,
		Scopes:        append([]string(nil), t.Scopes...),
	}
}

// String describes c with the tokens hidden.
func (c Credentials) String() string {
	return "handlers.Credentials{scopes=[" + strings.Join(c.Scopes, ",") + "], expiry=" +
		timeText(c.Expiry) + ", token=" + hidden(c.Token) + ", refresh_token=" + hidden(c.RefreshToken) + "}"
}

// GoString returns the same text as String.
func (c Credentials) GoString() string { return c.String() }

// Format implements fmt.Formatter: every verb prints the form of String.
func (c Credentials) Format(f fmt.State, verb rune) { formatText(f, verb, c.String()) }

// LogValue implements slog.LogValuer without the tokens.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("scopes", strings.Join(c.Scopes, ",")),
		slog.Time("expiry", c.Expiry),
		slog.Time("refresh_expiry", c.RefreshExpiry),
		slog.String("token", hidden(c.Token)),
		slog.String("refresh_token", hidden(c.RefreshToken)),
	)
}

// MarshalJSON encodes c with the tokens hidden, as LogValue does, so that
// an AuthResult encoded as JSON (an API answer, or a JSON log of a value
// that holds one) never carries a secret. The token itself is
// AuthResult.Token; store it with a token store, not as this JSON.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Token         string
		RefreshToken  string
		Expiry        time.Time
		RefreshExpiry time.Time
		Scopes        []string
	}{hidden(c.Token), hidden(c.RefreshToken), c.Expiry, c.RefreshExpiry, c.Scopes})
}

// RawProfile is the raw part of an AuthResult (OmniAuth's "extra"): the
// profile as TikTok sent it, with every field the profile call returned.
type RawProfile struct {
	// JSON is the data.user object as TikTok sent it; nil when the profile
	// was not fetched.
	JSON json.RawMessage
	// User is the typed profile; nil when it was not fetched.
	User *client.UserInfo
	// FetchError is why the profile could not be fetched, or nil.
	FetchError error
}

// hidden stands in for a secret in printed forms.
func hidden(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// formatText writes s for any verb; %q quotes it.
func formatText(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s)
		return
	}
	_, _ = f.Write([]byte(s))
}
