package client_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tiktokkit/tiktokkit/client"
)

// FuzzAuthCodeURL checks that any state, verifier, scope, redirect URL and
// extra parameter give a URL that parses back to the same values, and that
// the challenge matches the verifier.
func FuzzAuthCodeURL(f *testing.F) {
	f.Add("state", client.GenerateVerifier(), "user.info.basic", "https://example.com/callback", "v", uint8(0))
	f.Add("a&b=c#d", "short", "video.list", "https://example.com/cb?x=1", "é\x00", uint8(1))
	f.Add("", "", "", "", "", uint8(2))

	f.Fuzz(func(t *testing.T, state, verifier, scope, redirect, extra string, mode uint8) {
		pkce := client.PKCEMode(mode % 3)
		c, err := client.New(client.Config{ClientKey: "key", ClientSecret: "secret", PKCE: pkce})
		if err != nil {
			t.Fatal(err)
		}
		opts := []client.AuthCodeOption{client.WithPKCE(verifier), client.SetAuthURLParam("x_extra", extra), client.DisableAutoAuth()}
		if scope != "" {
			opts = append(opts, client.WithScopes(scope))
		}
		if redirect != "" {
			opts = append(opts, client.WithRedirectURL(redirect))
		}
		raw := c.AuthCodeURL(state, opts...)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("URL does not parse: %v: %q", err, raw)
		}
		if !strings.HasPrefix(raw, client.DefaultAuthURL+"?") || u.Fragment != "" {
			t.Fatalf("URL lost its base or gained a fragment: %q", raw)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("query does not parse: %v", err)
		}
		want := map[string]string{"client_key": "key", "response_type": "code", "state": state, "x_extra": extra, "disable_auto_auth": "1"}
		if scope != "" {
			want["scope"] = scope
		}
		if redirect != "" {
			want["redirect_uri"] = redirect
		}
		if verifier != "" && pkce != client.PKCEDisabled {
			sum := sha256.Sum256([]byte(verifier))
			want["code_challenge"] = fmt.Sprintf("%x", sum)
			if pkce == client.PKCEBase64URL {
				want["code_challenge"] = base64.RawURLEncoding.EncodeToString(sum[:])
			}
			want["code_challenge_method"] = "S256"
		}
		for k, v := range want {
			if got := q[k]; len(got) != 1 || got[0] != v {
				t.Fatalf("%s = %q, want %q (URL %q)", k, got, v, raw)
			}
		}
		if len(q) != len(want)+boolInt(scope == "") {
			t.Fatalf("unexpected parameters in %q", raw)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1 // the default scope
	}
	return 0
}

// FuzzParseScopes checks the scope list invariants: no empty entries, no
// duplicates, no separators, every entry taken from the input.
func FuzzParseScopes(f *testing.F) {
	f.Add("user.info.basic,video.list")
	f.Add(" a , b,,a ")
	f.Fuzz(func(t *testing.T, s string) {
		got := client.ParseScopes(s)
		for i, sc := range got {
			if sc == "" || strings.ContainsAny(sc, ", \t\r\n") || !strings.Contains(s, sc) {
				t.Fatalf("bad scope %q from %q", sc, s)
			}
			if slices.Contains(got[:i], sc) {
				t.Fatalf("duplicate %q from %q", sc, s)
			}
		}
	})
}

// FuzzValidateVerifier checks that an accepted verifier is within the rules
// and that generated verifiers are always accepted.
func FuzzValidateVerifier(f *testing.F) {
	f.Add(client.GenerateVerifier())
	f.Add("abc")
	f.Fuzz(func(t *testing.T, v string) {
		if client.ValidateVerifier(v) != nil {
			return
		}
		if len(v) < 43 || len(v) > 128 {
			t.Fatalf("accepted length %d", len(v))
		}
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				t.Fatalf("accepted %q", r)
			}
		}
	})
}
