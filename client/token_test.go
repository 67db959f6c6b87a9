package client_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
)

func TestTokenTimes(t *testing.T) {
	now := newFakeClock().Now()
	tests := []struct {
		name           string
		tok            *client.Token
		valid          bool
		needsRefresh   bool // with a 5 minute margin
		refreshExpired bool
	}{
		{"nil", nil, false, true, true},
		{"empty", &client.Token{}, false, true, true},
		{"fresh", &client.Token{AccessToken: "a", RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(24 * time.Hour)}, true, false, false},
		{"inside margin", &client.Token{AccessToken: "a", RefreshToken: "r", Expiry: now.Add(4 * time.Minute)}, true, true, false},
		{"exactly at margin", &client.Token{AccessToken: "a", RefreshToken: "r", Expiry: now.Add(5 * time.Minute)}, true, true, false},
		{"expired", &client.Token{AccessToken: "a", RefreshToken: "r", Expiry: now}, false, true, false},
		{"unknown expiry", &client.Token{AccessToken: "a", RefreshToken: "r"}, true, false, false},
		{"refresh expired", &client.Token{AccessToken: "a", RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(-time.Second)}, true, false, true},
		{"no refresh token", &client.Token{AccessToken: "a", Expiry: now.Add(time.Hour)}, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.valid, tt.tok.Valid(now), "Valid")
			assert.Equal(t, tt.needsRefresh, tt.tok.NeedsRefresh(now, 5*time.Minute), "NeedsRefresh")
			assert.Equal(t, tt.refreshExpired, tt.tok.RefreshExpired(now), "RefreshExpired")
		})
	}
}

func TestTokenScopes(t *testing.T) {
	tok := &client.Token{Scopes: []string{client.ScopeUserInfoBasic, client.ScopeVideoList}}
	assert.True(t, tok.HasScopes())
	assert.True(t, tok.HasScopes(client.ScopeVideoList, client.ScopeUserInfoBasic))
	assert.False(t, tok.HasScopes(client.ScopeVideoList, client.ScopeVideoPublish))
	assert.Nil(t, tok.MissingScopes(client.ScopeUserInfoBasic))
	assert.Equal(t, []string{client.ScopeVideoPublish, client.ScopeUserInfoStats},
		tok.MissingScopes(client.ScopeVideoPublish, client.ScopeUserInfoBasic, client.ScopeUserInfoStats, client.ScopeVideoPublish))
	var none *client.Token
	assert.True(t, none.HasScopes())
	assert.False(t, none.HasScopes(client.ScopeUserInfoBasic))
	assert.Equal(t, []string{client.ScopeUserInfoBasic}, none.MissingScopes(client.ScopeUserInfoBasic))
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"user.info.basic", []string{"user.info.basic"}},
		{"user.info.basic,video.list", []string{"user.info.basic", "video.list"}},
		{" user.info.basic , video.list ,", []string{"user.info.basic", "video.list"}},
		{"user.info.basic video.list", []string{"user.info.basic", "video.list"}},
		{"video.list,user.info.basic,video.list", []string{"video.list", "user.info.basic"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Empty(t, cmp.Diff(tt.want, client.ParseScopes(tt.in)))
		})
	}
}

func TestTokenStorageForm(t *testing.T) {
	now := newFakeClock().Now()
	tok := &client.Token{
		AccessToken: "act.secret-access", RefreshToken: "rft.secret-refresh", TokenType: "Bearer", OpenID: "oid",
		Scopes: []string{"user.info.basic"}, Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(48 * time.Hour),
	}
	b, err := json.Marshal(tok)
	require.NoError(t, err)
	assert.JSONEq(t, `{"access_token":"act.secret-access","refresh_token":"rft.secret-refresh","token_type":"Bearer",
		"open_id":"oid","scopes":["user.info.basic"],"expiry":"2026-03-01T13:00:00Z","refresh_expiry":"2026-03-03T12:00:00Z"}`, string(b))
	var back client.Token
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Empty(t, cmp.Diff(*tok, back))
}

// TestRedaction prints and logs every value that holds a secret in every way
// a program might, and checks that no secret shows.
func TestRedaction(t *testing.T) {
	const (
		access  = "act.SECRETaccessVALUE"
		refresh = "rft.SECRETrefreshVALUE"
		clt     = "clt.SECRETclientVALUE"
		secret  = "SECRETclientSECRET"
	)
	secrets := []string{"SECRETaccessVALUE", "SECRETrefreshVALUE", "SECRETclientVALUE", secret}
	tok := client.Token{AccessToken: access, RefreshToken: refresh, OpenID: "open-1", Scopes: []string{"user.info.basic"}}
	ct := client.ClientToken{AccessToken: clt, TokenType: "Bearer"}
	cfg := client.Config{ClientKey: "key-1", ClientSecret: secret, APIURL: "http://127.0.0.1:1"}
	c, err := client.New(cfg)
	require.NoError(t, err)
	u := c.ForUser("user-1", &tok, nil)

	values := map[string]any{
		"Token": tok, "*Token": &tok, "ClientToken": ct, "*ClientToken": &ct,
		"Config": cfg, "*Config": &cfg, "effective Config": c.Config(), "*Client": c, "*UserClient": u,
	}
	// fmt redacts a Token anywhere inside another value. slog's JSON handler
	// marshals nested values with encoding/json, the storage form, so those
	// are only checked with fmt (the Token docs say to log a Token itself).
	nested := map[string]any{
		"struct holding a Token": struct{ T client.Token }{tok},
		"slice of tokens":        []*client.Token{&tok},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %v"}
	for name, v := range nested {
		values[name] = v
	}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				assert.NotContains(t, out, s, "%s printed with %s: %s", name, verb, out)
			}
		}
		if _, ok := nested[name]; ok {
			continue
		}
		var buf bytes.Buffer
		for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
			slog.New(h).Info("value", "v", v)
			slog.New(h).Info("attr", slog.Any("v", v))
		}
		for _, s := range secrets {
			assert.NotContains(t, buf.String(), s, "%s logged: %s", name, buf.String())
		}
	}

	// A ClientToken has no storage form, so its JSON is redacted too, also
	// inside a struct a JSON log handler encodes.
	for name, v := range map[string]any{"ClientToken": ct, "*ClientToken": &ct,
		"struct holding a ClientToken": struct{ CT client.ClientToken }{ct}} {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "SECRETclientVALUE", "%s as JSON: %s", name, raw)
		assert.Contains(t, string(raw), `"access_token":"clt.…REDACTED"`, "%s as JSON", name)
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("nested", "v", v)
		assert.NotContains(t, buf.String(), "SECRETclientVALUE")
	}

	assert.Contains(t, tok.String(), "open_id=open-1")
	assert.Contains(t, tok.String(), "access_token=act.…REDACTED")
	assert.Contains(t, tok.String(), "refresh_token=rft.…REDACTED")
	assert.Contains(t, ct.String(), "clt.…REDACTED")
	assert.Contains(t, fmt.Sprint(cfg), "key-1")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("t", "tok", &tok)
	assert.Contains(t, buf.String(), `"open_id":"open-1"`)

	// A token without a type prefix shows nothing of itself.
	short := client.Token{AccessToken: "abcd", RefreshToken: "a.b"}
	assert.NotContains(t, short.String(), "abcd")
	assert.Contains(t, short.String(), "access_token=…REDACTED")
	var nilTok *client.Token
	assert.Equal(t, "<nil>", fmt.Sprint(nilTok))
	assert.False(t, strings.Contains(fmt.Sprintf("%v", client.Token{}), "REDACTED"), "an empty token has nothing to redact")
}
