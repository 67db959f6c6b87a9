package client_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

// queryKeys returns the parameter names of a raw query in order.
func queryKeys(rawQuery string) []string {
	var keys []string
	for _, part := range strings.Split(rawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		keys = append(keys, k)
	}
	return keys
}

func TestAuthCodeURL(t *testing.T) {
	verifier := client.GenerateVerifier()
	tests := []struct {
		name     string
		mode     client.PKCEMode
		state    string
		opts     []client.AuthCodeOption
		wantKeys []string
		want     url.Values
	}{
		{
			name: "defaults", state: "st",
			wantKeys: []string{"client_key", "response_type", "scope", "redirect_uri", "state"},
			want: url.Values{"client_key": {specClientKey}, "response_type": {"code"},
				"scope": {"user.info.basic,user.info.profile"}, "redirect_uri": {specRedirect}, "state": {"st"}},
		},
		{
			name: "every option", state: "s t&=",
			opts: []client.AuthCodeOption{
				client.WithScopes(client.ScopeVideoList, client.ScopeUserInfoBasic),
				client.WithRedirectURL("https://custom.example.com/callback"),
				client.WithPKCE(verifier),
				client.DisableAutoAuth(),
				client.SetAuthURLParam("lang", "fr"),
			},
			wantKeys: []string{"client_key", "response_type", "scope", "redirect_uri", "state",
				"code_challenge", "code_challenge_method", "disable_auto_auth", "lang"},
			want: url.Values{"client_key": {specClientKey}, "response_type": {"code"},
				"scope": {"video.list,user.info.basic"}, "redirect_uri": {"https://custom.example.com/callback"},
				"state": {"s t&="}, "code_challenge": {client.ChallengeHex(verifier)}, "code_challenge_method": {"S256"},
				"disable_auto_auth": {"1"}, "lang": {"fr"}},
		},
		{
			name: "base64url challenge", mode: client.PKCEBase64URL, state: "st",
			opts:     []client.AuthCodeOption{client.WithPKCE(verifier)},
			wantKeys: []string{"client_key", "response_type", "scope", "redirect_uri", "state", "code_challenge", "code_challenge_method"},
			want: url.Values{"client_key": {specClientKey}, "response_type": {"code"},
				"scope": {"user.info.basic,user.info.profile"}, "redirect_uri": {specRedirect}, "state": {"st"},
				"code_challenge": {client.ChallengeBase64URL(verifier)}, "code_challenge_method": {"S256"}},
		},
		{
			name: "pkce disabled ignores WithPKCE", mode: client.PKCEDisabled, state: "st",
			opts:     []client.AuthCodeOption{client.WithPKCE(verifier), client.WithScopes()},
			wantKeys: []string{"client_key", "response_type", "scope", "redirect_uri", "state"},
			want: url.Values{"client_key": {specClientKey}, "response_type": {"code"},
				"scope": {"user.info.basic,user.info.profile"}, "redirect_uri": {specRedirect}, "state": {"st"}},
		},
		{
			name: "SetAuthURLParam replaces a standard key in place", state: "st",
			opts:     []client.AuthCodeOption{client.SetAuthURLParam("response_type", "token"), nil},
			wantKeys: []string{"client_key", "response_type", "scope", "redirect_uri", "state"},
			want: url.Values{"client_key": {specClientKey}, "response_type": {"token"},
				"scope": {"user.info.basic,user.info.profile"}, "redirect_uri": {specRedirect}, "state": {"st"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, "http://127.0.0.1:1", func(cfg *client.Config) {
				cfg.PKCE = tt.mode
				cfg.Scopes = []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile}
			})
			raw := c.AuthCodeURL(tt.state, tt.opts...)
			u, err := url.Parse(raw)
			require.NoError(t, err)
			assert.Equal(t, "https://www.tiktok.com/v2/auth/authorize/", u.Scheme+"://"+u.Host+u.Path)
			assert.Equal(t, tt.wantKeys, queryKeys(u.RawQuery))
			assert.Empty(t, cmp.Diff(tt.want, u.Query()))
		})
	}
}

func TestAuthCodeURLKeepsAuthURLQuery(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", func(cfg *client.Config) { cfg.AuthURL = "https://auth.example/authorize/?tenant=a" })
	u, err := url.Parse(c.AuthCodeURL("st"))
	require.NoError(t, err)
	assert.Equal(t, "a", u.Query().Get("tenant"))
	assert.Equal(t, specClientKey, u.Query().Get("client_key"))
}

// TestAuthCodeURLMatchesGem compares our URLs with the ones the Ruby gem
// v0.4.0 computed for the same inputs. The parameter sets must agree; our
// form is better: one comma-joined scope and no bare keys for empty values.
func TestAuthCodeURLMatchesGem(t *testing.T) {
	lines := seed.Lines("authorization_urls__computed_by_gem_v0.4.0.txt")
	require.Len(t, lines, 6)
	gem := func(i int) url.Values {
		u, err := url.Parse(lines[i])
		require.NoError(t, err)
		return u.Query()
	}
	c := newClient(t, "http://127.0.0.1:1", func(cfg *client.Config) {
		cfg.Scopes = []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile}
	})
	parse := func(raw string) url.Values {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		assert.NotContains(t, u.RawQuery, "&&")
		for _, k := range queryKeys(u.RawQuery) {
			assert.NotEmpty(t, k)
		}
		return u.Query()
	}

	t.Run("no arguments", func(t *testing.T) {
		// The gem sends a bare "state" key; we send state= with the value given.
		want := gem(0)
		want.Set("state", "")
		assert.Empty(t, cmp.Diff(want, parse(c.AuthCodeURL(""))))
	})
	t.Run("state", func(t *testing.T) {
		assert.Empty(t, cmp.Diff(gem(1), parse(c.AuthCodeURL("random_state_string"))))
	})
	t.Run("scope, redirect and state", func(t *testing.T) {
		got := parse(c.AuthCodeURL("multi_param_state", client.WithScopes(client.ScopeUserInfoBasic),
			client.WithRedirectURL("https://multi.example.com/callback")))
		assert.Empty(t, cmp.Diff(gem(2), got))
	})
	t.Run("two scopes are one comma-joined parameter", func(t *testing.T) {
		want := gem(3)
		assert.Equal(t, []string{"user.info.basic", "video.list"}, want["scope"], "the gem repeats the key")
		want["scope"] = []string{"user.info.basic,video.list"}
		got := parse(c.AuthCodeURL("s", client.WithScopes(client.ScopeUserInfoBasic, client.ScopeVideoList)))
		assert.Empty(t, cmp.Diff(want, got))
	})
	t.Run("no redirect and no scope: keys left out, not bare", func(t *testing.T) {
		bare := newClient(t, "http://127.0.0.1:1", func(cfg *client.Config) { cfg.RedirectURL = "" })
		raw := bare.AuthCodeURL("")
		got := parse(raw)
		assert.Equal(t, url.Values{"client_key": {specClientKey}, "response_type": {"code"},
			"scope": {"user.info.basic"}, "state": {""}}, got)
		assert.Equal(t, []string{"client_key", "response_type", "scope", "state"}, queryKeys(strings.SplitN(raw, "?", 2)[1]))
		gemBare := gem(5)
		for k := range got {
			_, ok := gemBare[k]
			assert.True(t, ok, "gem also has %s", k)
		}
	})
}

func TestPKCEHelpers(t *testing.T) {
	// RFC 7636 appendix B.
	const rfcVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	assert.Equal(t, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", client.ChallengeBase64URL(rfcVerifier))
	assert.Equal(t, "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3", client.ChallengeHex(rfcVerifier))

	seen := map[string]bool{}
	for range 50 {
		v := client.GenerateVerifier()
		require.Len(t, v, 64)
		require.NoError(t, client.ValidateVerifier(v))
		assert.False(t, seen[v])
		seen[v] = true

		s := client.GenerateState()
		require.Len(t, s, 43)
		assert.NotContains(t, s, "=")
		assert.False(t, seen[s])
		seen[s] = true
	}

	tests := []struct {
		v  string
		ok bool
	}{
		{strings.Repeat("a", 42), false},
		{strings.Repeat("a", 43), true},
		{strings.Repeat("Z9-._~", 21) + "ab", true}, // 128
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 50) + " ", false},
		{strings.Repeat("a", 50) + "+", false},
		{strings.Repeat("é", 30), false},
	}
	for _, tt := range tests {
		err := client.ValidateVerifier(tt.v)
		if tt.ok {
			assert.NoError(t, err, tt.v)
		} else {
			assert.ErrorIs(t, err, client.ErrInvalidInput, tt.v)
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  client.Config
	}{
		{"no key", client.Config{ClientSecret: "s"}},
		{"no secret", client.Config{ClientKey: "k"}},
		{"relative api url", client.Config{ClientKey: "k", ClientSecret: "s", APIURL: "/api"}},
		{"ftp auth url", client.Config{ClientKey: "k", ClientSecret: "s", AuthURL: "ftp://x/"}},
		{"redirect with fragment", client.Config{ClientKey: "k", ClientSecret: "s", RedirectURL: "https://a.example/cb#x"}},
		{"scope with comma", client.Config{ClientKey: "k", ClientSecret: "s", Scopes: []string{"a,b"}}},
		{"unknown pkce mode", client.Config{ClientKey: "k", ClientSecret: "s", PKCE: 7}},
		{"negative retry", client.Config{ClientKey: "k", ClientSecret: "s", Retry: client.RetryPolicy{MaxAttempts: -1}}},
		{"negative body limit", client.Config{ClientKey: "k", ClientSecret: "s", MaxBodyBytes: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.New(tt.cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "client: "), err.Error())
			assert.NotContains(t, err.Error(), "s\"", "no secret in the message")
		})
	}

	scopes := []string{client.ScopeVideoList}
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s", Scopes: scopes})
	require.NoError(t, err)
	cfg := c.Config()
	assert.Equal(t, client.DefaultAuthURL, cfg.AuthURL)
	assert.Equal(t, client.DefaultAPIURL, cfg.APIURL)
	assert.Equal(t, client.DefaultUserAgent, cfg.UserAgent)
	assert.EqualValues(t, 1<<20, cfg.MaxBodyBytes)
	assert.Equal(t, client.RetryPolicy{MaxAttempts: 3, BaseDelay: 100_000_000, MaxDelay: 5_000_000_000}, cfg.Retry)
	assert.NotNil(t, cfg.HTTPClient)
	assert.NotZero(t, cfg.HTTPClient.Timeout)
	assert.NotNil(t, cfg.Logger)
	assert.NotNil(t, cfg.Clock)
	scopes[0] = "changed"
	cfg.Scopes[0] = "changed too"
	assert.Equal(t, []string{client.ScopeVideoList}, c.Config().Scopes, "the client keeps its own copy")

	d, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s"})
	require.NoError(t, err)
	assert.Equal(t, []string{client.ScopeUserInfoBasic}, d.Config().Scopes)
}
