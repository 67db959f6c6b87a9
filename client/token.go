package client

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Token is a user's access grant as TikTok returned it from the token
// endpoint, with lifetimes turned into absolute times.
//
// The JSON form (the struct tags) is the storage form: token stores marshal
// and unmarshal a Token with encoding/json, so it carries the secrets. Every
// printed or logged form (String, GoString, Format, LogValue) redacts them,
// also when a Token is printed with fmt inside another value. Log a Token
// (or *Token) itself: slog's JSON handler encodes values nested in other
// structs with encoding/json, which is the storage form.
//
// A Token is read-only once handed out: never mutate one you did not make.
type Token struct {
	// AccessToken is the bearer token for API calls ("act." prefix at TikTok).
	AccessToken string `json:"access_token"`
	// RefreshToken renews the grant ("rft." prefix). TikTok may rotate it on
	// every refresh; always keep the latest.
	RefreshToken string `json:"refresh_token,omitempty"`
	// TokenType is "Bearer" at TikTok.
	TokenType string `json:"token_type,omitempty"`
	// OpenID is the user's ID for this app.
	OpenID string `json:"open_id"`
	// Scopes are the scopes the user granted, possibly fewer than requested.
	Scopes []string `json:"scopes,omitempty"`
	// Expiry is when the access token expires. The zero time means unknown:
	// the token is then treated as valid until TikTok refuses it.
	Expiry time.Time `json:"expiry"`
	// RefreshExpiry is when the refresh token expires; zero means unknown.
	RefreshExpiry time.Time `json:"refresh_expiry,omitempty"`
}

// Valid reports whether t is non-nil, has an access token and has not expired
// at now. A token with an unknown (zero) expiry is valid.
func (t *Token) Valid(now time.Time) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || now.Before(t.Expiry)
}

// NeedsRefresh reports whether t is nil, has no access token, or expires
// within margin of now (an expired token needs a refresh too). A token with
// an unknown expiry never needs a refresh by time.
func (t *Token) NeedsRefresh(now time.Time, margin time.Duration) bool {
	if t == nil || t.AccessToken == "" {
		return true
	}
	if t.Expiry.IsZero() {
		return false
	}
	return !now.Add(margin).Before(t.Expiry)
}

// RefreshExpired reports whether t cannot be refreshed any more: it is nil,
// has no refresh token, or its refresh expiry is known and has passed.
func (t *Token) RefreshExpired(now time.Time) bool {
	if t == nil || t.RefreshToken == "" {
		return true
	}
	return !t.RefreshExpiry.IsZero() && !now.Before(t.RefreshExpiry)
}

// HasScopes reports whether t was granted every one of scopes. It is true for
// an empty list and false for a nil token.
func (t *Token) HasScopes(scopes ...string) bool {
	if t == nil {
		return len(scopes) == 0
	}
	for _, s := range scopes {
		if !slices.Contains(t.Scopes, s) {
			return false
		}
	}
	return true
}

// MissingScopes returns the scopes in the argument list that t was not
// granted, in argument order without duplicates, or nil when none is missing.
func (t *Token) MissingScopes(scopes ...string) []string {
	var missing []string
	for _, s := range scopes {
		if (t == nil || !slices.Contains(t.Scopes, s)) && !slices.Contains(missing, s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// String describes t without its secrets, for example
// client.Token{open_id=..., scopes=[user.info.basic], expiry=..., access_token=act.…REDACTED, refresh_token=rft.…REDACTED}.
// It has a value receiver so that a Token printed by value is redacted too.
func (t Token) String() string {
	var b strings.Builder
	b.WriteString("client.Token{open_id=")
	b.WriteString(t.OpenID)
	b.WriteString(", scopes=[")
	b.WriteString(strings.Join(t.Scopes, ","))
	b.WriteString("], expiry=")
	b.WriteString(formatTime(t.Expiry))
	b.WriteString(", refresh_expiry=")
	b.WriteString(formatTime(t.RefreshExpiry))
	b.WriteString(", access_token=")
	b.WriteString(redact(t.AccessToken))
	b.WriteString(", refresh_token=")
	b.WriteString(redact(t.RefreshToken))
	b.WriteString("}")
	return b.String()
}

// GoString returns the same redacted text as String, so %#v hides secrets.
func (t Token) GoString() string { return t.String() }

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %q,
// %x, %d, ...) prints the redacted form and never a secret.
func (t Token) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String()) }

// LogValue implements slog.LogValuer: a group with open_id, scopes, expiry
// and redacted token markers. It has a value receiver so that both Token and
// *Token log without secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("open_id", t.OpenID),
		slog.String("scopes", strings.Join(t.Scopes, ",")),
		slog.Time("expiry", t.Expiry),
		slog.Time("refresh_expiry", t.RefreshExpiry),
		slog.String("access_token", redact(t.AccessToken)),
		slog.String("refresh_token", redact(t.RefreshToken)),
	)
}

// ClientToken is an app-level access token from the client_credentials
// grant. It has no refresh token: ask for a new one when it expires.
// Printing, logging or encoding it as JSON never shows the access token.
type ClientToken struct {
	// AccessToken is the bearer token ("clt." prefix at TikTok).
	AccessToken string
	// TokenType is "Bearer" at TikTok.
	TokenType string
	// Expiry is when the token expires; zero means unknown.
	Expiry time.Time
}

// Valid reports whether t is non-nil, has an access token and has not expired
// at now (an unknown expiry counts as valid).
func (t *ClientToken) Valid(now time.Time) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || now.Before(t.Expiry)
}

// String describes t without its secret.
func (t ClientToken) String() string {
	return "client.ClientToken{token_type=" + t.TokenType + ", expiry=" + formatTime(t.Expiry) +
		", access_token=" + redact(t.AccessToken) + "}"
}

// GoString returns the same redacted text as String.
func (t ClientToken) GoString() string { return t.String() }

// MarshalJSON encodes t with the access token redacted, as String does, so
// that a value holding a ClientToken logged by a JSON handler or sent as
// JSON never carries it. A ClientToken has no storage form: Client caches
// it in memory and fetches a new one when it nears expiry.
func (t ClientToken) MarshalJSON() ([]byte, error) {
	out := struct {
		AccessToken string    `json:"access_token"`
		TokenType   string    `json:"token_type,omitempty"`
		Expiry      time.Time `json:"expiry"`
	}{redact(t.AccessToken), t.TokenType, t.Expiry}
	return json.Marshal(out)
}

// Format implements fmt.Formatter: every verb prints the redacted form.
func (t ClientToken) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String()) }

// LogValue implements slog.LogValuer without the secret.
func (t ClientToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_type", t.TokenType),
		slog.Time("expiry", t.Expiry),
		slog.String("access_token", redact(t.AccessToken)),
	)
}

// redact returns a non-secret marker for a secret value: "" for an empty
// value, otherwise the TikTok type prefix when there is one ("act.", "rft.",
// "clt.", at most four characters) followed by "…REDACTED".
func redact(secret string) string {
	if secret == "" {
		return ""
	}
	if i := strings.IndexByte(secret, '.'); i > 0 && i <= 3 && len(secret) > i+1 && isLowerAlpha(secret[:i]) {
		return secret[:i+1] + "…REDACTED"
	}
	return "…REDACTED"
}

func isLowerAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// formatRedacted writes s for any verb; %q quotes it. Width and flags are
// ignored on purpose: the output is a description, not the value.
func formatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s)
		return
	}
	_, _ = f.Write([]byte(s))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// ParseScopes splits a scope list as TikTok writes it (comma-separated; spaces
// are accepted too), trims each entry, drops empty ones and duplicates, and
// keeps the first-seen order. It returns nil for a list with no scopes.
func ParseScopes(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
