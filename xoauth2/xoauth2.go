package xoauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Names of the extra values that carry TikTok's own token fields.
const (
	ExtraOpenID           = "open_id"
	ExtraScope            = "scope"
	ExtraRefreshExpiresIn = "refresh_expires_in"
)

// ErrNoToken is returned by FromOAuth2 for a nil token or one without an
// access token.
var ErrNoToken = errors.New("xoauth2: no access token")

// ToOAuth2 returns t as an *oauth2.Token whose lifetimes are counted from
// now: Expiry is t.Expiry, and refresh_expires_in holds the whole seconds
// left until t.RefreshExpiry (omitted when that is unknown; 0 when it has
// passed). A nil t gives nil.
func ToOAuth2(t *client.Token, now time.Time) *oauth2.Token {
	if t == nil {
		return nil
	}
	out := &oauth2.Token{
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
		Expiry:       t.Expiry,
	}
	extra := map[string]any{
		ExtraOpenID: t.OpenID,
		ExtraScope:  strings.Join(t.Scopes, ","),
	}
	if !t.RefreshExpiry.IsZero() {
		left := int64(t.RefreshExpiry.Sub(now) / time.Second)
		extra[ExtraRefreshExpiresIn] = max(left, 0)
	}
	return out.WithExtra(extra)
}

// FromOAuth2 returns t as a kit token, with the refresh token's expiry
// counted from now. The extra values may come as x/oauth2 decodes them
// (JSON numbers as float64, form values as strings) or as ToOAuth2 set them;
// scope may be comma- or space-separated. A missing extra value leaves its
// field empty; one of the wrong type or a negative lifetime is an error, so
// that a broken token is never stored as if it were whole.
func FromOAuth2(t *oauth2.Token, now time.Time) (*client.Token, error) {
	if t == nil || t.AccessToken == "" {
		return nil, ErrNoToken
	}
	out := &client.Token{
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		TokenType:    t.TokenType,
		Expiry:       t.Expiry,
	}
	if v := t.Extra(ExtraOpenID); v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("xoauth2: extra %s is %T, want a string", ExtraOpenID, v)
		}
		out.OpenID = s
	}
	if v := t.Extra(ExtraScope); v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("xoauth2: extra %s is %T, want a string", ExtraScope, v)
		}
		out.Scopes = parseScopes(s)
	}
	if v := t.Extra(ExtraRefreshExpiresIn); v != nil {
		secs, err := seconds(v)
		if err != nil {
			return nil, fmt.Errorf("xoauth2: extra %s: %w", ExtraRefreshExpiresIn, err)
		}
		out.RefreshExpiry = now.Add(time.Duration(secs) * time.Second)
	}
	return out, nil
}

// parseScopes reads TikTok's comma-separated list, and the space-separated
// one of RFC 6749 that other code may have written.
func parseScopes(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// maxSeconds keeps a lifetime within what time.Duration can hold.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// seconds reads a non-negative whole number of seconds from the forms an
// extra value takes.
func seconds(v any) (int64, error) {
	var n int64
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || x < 0 || x > float64(maxSeconds) {
			return 0, fmt.Errorf("%v is not a whole number of seconds in range", x)
		}
		n = int64(x)
	case int:
		n = int64(x)
	case int64:
		n = x
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", string(x))
		}
		n = i
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", x)
		}
		n = i
	default:
		return 0, fmt.Errorf("is %T, want a number", v)
	}
	if n < 0 || n > maxSeconds {
		return 0, fmt.Errorf("%d seconds is out of range", n)
	}
	return n, nil
}

// TokenSource returns an oauth2.TokenSource for the user stored under key.
// Each Token call asks src for a valid token, refreshing it as the kit does
// for a guarded request, and converts it with ToOAuth2. ctx bounds each of
// those calls, as the context passed to oauth2.Config.TokenSource does; use
// one that lives as long as the TokenSource.
//
// When there is no token for key or the user must log in again, Token's
// error matches tokenstore.ErrLoginRequired with errors.Is; any other error
// means "try again later", and the stored token was kept. The returned source does not cache; wrap it in
// oauth2.ReuseTokenSource, as oauth2.NewClient does, to reuse a token until
// it nears its expiry.
func TokenSource(ctx context.Context, src *tokenstore.Source, key string) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, src: src, key: key}
}

type tokenSource struct {
	ctx context.Context
	src *tokenstore.Source
	key string
}

func (ts *tokenSource) Token() (*oauth2.Token, error) {
	tok, err := ts.src.Token(ts.ctx, ts.key)
	if err != nil {
		return nil, fmt.Errorf("xoauth2: token for %q: %w", ts.key, err)
	}
	return ToOAuth2(tok, ts.src.Client().Now()), nil
}
