package client_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

const emuRedirect = "https://app.example/auth/tiktok/callback"

var allScopes = []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile, client.ScopeUserInfoStats,
	client.ScopeVideoList, client.ScopeVideoPublish, client.ScopeVideoUpload}

// emulator starts an emulator and a client for it that share one fake clock.
func emulator(t *testing.T, cfg tiktoktest.Config, mod ...func(*client.Config)) (*tiktoktest.Server, *client.Client, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg.Clock = clock.Now
	if cfg.RedirectURIs == nil {
		cfg.RedirectURIs = []string{emuRedirect}
	}
	s := tiktoktest.NewServer(cfg)
	t.Cleanup(s.Close)
	ccfg := client.Config{
		ClientKey:    s.ClientKey(),
		ClientSecret: s.ClientSecret(),
		RedirectURL:  emuRedirect,
		Scopes:       allScopes,
		AuthURL:      s.AuthURL(),
		APIURL:       s.APIURL(),
		Clock:        clock.Now,
		Retry:        client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	}
	for _, m := range mod {
		m(&ccfg)
	}
	c, err := client.New(ccfg)
	require.NoError(t, err)
	return s, c, clock
}

// authorize plays the browser: it follows the authorize URL to the redirect
// back and returns the callback's query.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "the emulator redirects back at once")
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, emuRedirect, loc.Scheme+"://"+loc.Host+loc.Path)
	return loc.Query()
}

// login runs the code flow with PKCE and returns the user's token.
func login(t *testing.T, c *client.Client, opts ...client.AuthCodeOption) *client.Token {
	t.Helper()
	state, verifier := client.GenerateState(), client.GenerateVerifier()
	cb := authorize(t, c.AuthCodeURL(state, append([]client.AuthCodeOption{client.WithPKCE(verifier)}, opts...)...))
	require.Equal(t, state, cb.Get("state"))
	require.NotEmpty(t, cb.Get("code"), "callback: %v", cb)
	tok, err := c.Exchange(context.Background(), cb.Get("code"), client.WithVerifier(verifier))
	require.NoError(t, err)
	return tok
}

func TestEmulatorCodeFlowWithPKCE(t *testing.T) {
	s, c, clock := emulator(t, tiktoktest.Config{AutoApprove: true, PKCE: tiktoktest.PKCERequired})
	alice := tiktoktest.DefaultUsers()[0]
	ctx := context.Background()

	state, verifier := client.GenerateState(), client.GenerateVerifier()
	cb := authorize(t, c.AuthCodeURL(state, client.WithPKCE(verifier)))
	assert.Equal(t, state, cb.Get("state"))
	assert.Equal(t, allScopes, client.ParseScopes(cb.Get("scopes")))

	_, err := c.Exchange(ctx, cb.Get("code"), client.WithVerifier(client.GenerateVerifier()))
	require.Error(t, err, "a wrong verifier is refused")
	var oe *client.OAuthError
	require.ErrorAs(t, err, &oe)

	// A fresh code, exchanged properly.
	state, verifier = client.GenerateState(), client.GenerateVerifier()
	cb = authorize(t, c.AuthCodeURL(state, client.WithPKCE(verifier)))
	tok, err := c.Exchange(ctx, cb.Get("code"), client.WithVerifier(verifier))
	require.NoError(t, err)
	assert.Equal(t, alice.OpenID, tok.OpenID)
	assert.Equal(t, allScopes, tok.Scopes)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.True(t, strings.HasPrefix(tok.AccessToken, "act."), "access token prefix")
	assert.Equal(t, clock.Now().Add(24*time.Hour), tok.Expiry)
	assert.Equal(t, clock.Now().Add(365*24*time.Hour), tok.RefreshExpiry)
	assert.True(t, tok.Valid(clock.Now()))
	assert.Equal(t, 1, s.Grants("authorization_code"))

	_, err = c.Exchange(ctx, cb.Get("code"), client.WithVerifier(verifier))
	require.ErrorIs(t, err, client.ErrInvalidGrant, "a code is single use")

	// Without PKCE the emulator (PKCERequired) refuses the authorize request.
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(c.AuthCodeURL("s"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestEmulatorPKCEModes(t *testing.T) {
	t.Run("base64url accepted when the emulator allows it", func(t *testing.T) {
		_, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true, AcceptBase64URLChallenge: true},
			func(cfg *client.Config) { cfg.PKCE = client.PKCEBase64URL })
		assert.NotEmpty(t, login(t, c).AccessToken)
	})
	t.Run("disabled", func(t *testing.T) {
		_, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true}, func(cfg *client.Config) { cfg.PKCE = client.PKCEDisabled })
		assert.NotEmpty(t, login(t, c).AccessToken)
	})
	t.Run("redirect must repeat byte for byte", func(t *testing.T) {
		other := "https://app.example/auth/tiktok/callback/"
		_, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true, RedirectURIs: []string{emuRedirect, other}})
		verifier := client.GenerateVerifier()
		cb := authorize(t, c.AuthCodeURL("s", client.WithPKCE(verifier)))
		_, err := c.Exchange(context.Background(), cb.Get("code"), client.WithVerifier(verifier), client.WithExchangeRedirectURL(other))
		require.Error(t, err)
		var oe *client.OAuthError
		require.ErrorAs(t, err, &oe)
	})
}

func TestEmulatorRefreshRotation(t *testing.T) {
	s, c, clock := emulator(t, tiktoktest.Config{AutoApprove: true})
	ctx := context.Background()
	tok := login(t, c)

	clock.Advance(time.Hour)
	fresh, err := c.Refresh(ctx, tok.RefreshToken)
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	assert.NotEqual(t, tok.RefreshToken, fresh.RefreshToken, "the refresh token rotates")
	assert.Equal(t, tok.OpenID, fresh.OpenID)
	assert.Equal(t, clock.Now().Add(24*time.Hour), fresh.Expiry)
	assert.Equal(t, tok.RefreshExpiry, fresh.RefreshExpiry, "a refresh does not extend the grant")
	assert.Equal(t, 1, s.Grants("refresh_token"))

	_, err = c.Refresh(ctx, tok.RefreshToken)
	require.ErrorIs(t, err, client.ErrInvalidGrant, "the rotated-out refresh token is dead")
	assert.False(t, client.IsTemporary(err))
	assert.Equal(t, 1, s.RefreshTokenReuse())

	_, err = c.Refresh(ctx, fresh.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, 2, s.Grants("refresh_token"))
}

func TestEmulatorRevoke(t *testing.T) {
	s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
	ctx := context.Background()
	tok := login(t, c)
	u := c.WithToken(tok)
	_, err := u.UserInfo(ctx)
	require.NoError(t, err)

	require.NoError(t, c.Revoke(ctx, tok.AccessToken))
	assert.Equal(t, 1, s.Calls(tiktoktest.EndpointRevoke))
	_, err = u.UserInfo(ctx)
	require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
	_, err = c.Refresh(ctx, tok.RefreshToken)
	require.ErrorIs(t, err, client.ErrInvalidGrant, "revoking ends the whole grant")

	err = c.Revoke(ctx, tok.AccessToken)
	var oe *client.OAuthError
	require.ErrorAs(t, err, &oe, "revoking a dead token is an OAuth error, not a success")
}

func TestEmulatorUserInfo(t *testing.T) {
	_, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
	ctx := context.Background()
	alice := tiktoktest.DefaultUsers()[0]
	u := c.WithToken(login(t, c))

	info, err := u.UserInfo(ctx)
	require.NoError(t, err)
	want := client.UserInfo{
		OpenID: alice.OpenID, UnionID: alice.UnionID, DisplayName: alice.DisplayName, Username: alice.Username,
		BioDescription: alice.BioDescription, ProfileDeepLink: "https://www.tiktok.com/@" + alice.Username,
		IsVerified: alice.IsVerified, FollowerCount: alice.FollowerCount, FollowingCount: alice.FollowingCount,
		LikesCount: alice.LikesCount, VideoCount: alice.VideoCount,
	}
	assert.Empty(t, cmp.Diff(want, *info, cmpopts.IgnoreFields(client.UserInfo{}, "AvatarURL", "AvatarURL100", "AvatarLargeURL"), cmpopts.IgnoreUnexported(client.UserInfo{})))
	assert.NotEmpty(t, info.AvatarURL)
	assert.NotEmpty(t, info.AvatarURL100)
	assert.NotEmpty(t, info.AvatarLargeURL)
	for _, f := range client.AllUserFields() {
		assert.Contains(t, string(info.Raw()), `"`+string(f)+`"`, "all 14 fields are in the answer")
	}

	only, err := u.UserInfo(ctx, client.FieldDisplayName)
	require.NoError(t, err)
	assert.Equal(t, client.UserInfo{DisplayName: alice.DisplayName}, client.UserInfo{DisplayName: only.DisplayName, FollowerCount: only.FollowerCount})
	assert.Zero(t, only.FollowerCount)

	// Scope errors: refused by the client when it knows the scopes...
	s2, c2, _ := emulator(t, tiktoktest.Config{AutoApprove: true}, func(cfg *client.Config) { cfg.Scopes = []string{client.ScopeUserInfoBasic} })
	basicTok := login(t, c2)
	assert.Equal(t, []string{client.ScopeUserInfoBasic}, basicTok.Scopes)
	_, err = c2.WithToken(basicTok).UserInfo(ctx, client.FieldOpenID, client.FieldLikesCount)
	var mse *client.MissingScopeError
	require.ErrorAs(t, err, &mse)
	assert.Equal(t, client.MissingScopeError{Field: "likes_count", Scope: client.ScopeUserInfoStats}, *mse)
	basicInfo, err := c2.WithToken(basicTok).UserInfo(ctx)
	require.NoError(t, err, "no fields: only what user.info.basic unlocks")
	assert.Empty(t, basicInfo.Username)
	assert.NotEmpty(t, basicInfo.DisplayName)

	// ...and by TikTok (the emulator) when the client does not.
	unknownScopes := *basicTok
	unknownScopes.Scopes = nil
	before := s2.Calls(tiktoktest.EndpointUserInfo)
	_, err = c2.WithToken(&unknownScopes).UserInfo(ctx, client.FieldOpenID, client.FieldLikesCount)
	require.ErrorIs(t, err, client.ErrScopeNotAuthorized)
	var ae *client.APIError
	require.ErrorAs(t, err, &ae)
	assert.NotEmpty(t, ae.LogID)
	assert.Equal(t, before+1, s2.Calls(tiktoktest.EndpointUserInfo), "TikTok refused it once; a scope error is not retried")
}

func TestEmulatorCreatorInfo(t *testing.T) {
	s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
	ctx := context.Background()
	users := tiktoktest.DefaultUsers()
	tests := []struct {
		user tiktoktest.User
		want client.CreatorInfo
	}{
		{users[0], client.CreatorInfo{CreatorUsername: users[0].Username, CreatorNickname: users[0].DisplayName,
			PrivacyLevelOptions: []string{"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"}, MaxVideoPostDurationSec: 600}},
		{users[1], client.CreatorInfo{CreatorUsername: users[1].Username, CreatorNickname: users[1].DisplayName,
			PrivacyLevelOptions: users[1].PrivacyLevelOptions, DuetDisabled: true, StitchDisabled: true, MaxVideoPostDurationSec: 600}},
		{users[2], client.CreatorInfo{CreatorUsername: users[2].Username, CreatorNickname: users[2].DisplayName,
			PrivacyLevelOptions: []string{"SELF_ONLY"}, CommentDisabled: true, MaxVideoPostDurationSec: 180}},
	}
	for _, tt := range tests {
		t.Run(tt.user.Username, func(t *testing.T) {
			s.ApproveAs(tt.user.OpenID)
			got, err := c.WithToken(login(t, c)).CreatorInfo(ctx)
			require.NoError(t, err)
			assert.NotEmpty(t, got.CreatorAvatarURL)
			assert.Empty(t, cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(client.CreatorInfo{}, "CreatorAvatarURL")))
		})
	}
}

func TestEmulatorClientTokenCache(t *testing.T) {
	s, c, clock := emulator(t, tiktoktest.Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ct, err := c.ClientToken(ctx)
			assert.NoError(t, err)
			assert.True(t, ct.Valid(clock.Now()))
		})
	}
	wg.Wait()
	assert.Equal(t, 1, s.Grants("client_credentials"))

	clock.Advance(time.Hour)
	_, err := c.ClientToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Grants("client_credentials"), "an hour in, the 2 hour token is still cached")

	clock.Advance(56 * time.Minute) // 4 minutes left: inside the 5 minute margin
	_, err = c.ClientToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, s.Grants("client_credentials"))

	_, err = c.FetchClientToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, s.Grants("client_credentials"), "FetchClientToken bypasses the cache")
}

// storeRefresher is a minimal Refresher over one stored token, the way a
// token store's source works: it refreshes with the stored refresh token
// unless the stored token already differs from the failed one.
type storeRefresher struct {
	c     *client.Client
	mu    sync.Mutex
	tok   *client.Token
	calls int
}

func (r *storeRefresher) ForceRefresh(ctx context.Context, _ string, failed *client.Token) (*client.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.tok.AccessToken != failed.AccessToken {
		return r.tok, nil
	}
	fresh, err := r.c.Refresh(ctx, r.tok.RefreshToken)
	if err != nil {
		return nil, err
	}
	r.tok = fresh
	return fresh, nil
}

func TestEmulatorForcedRefreshAfterKilledToken(t *testing.T) {
	s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
	ctx := context.Background()
	tok := login(t, c)
	r := &storeRefresher{c: c, tok: tok}
	u := c.ForUser(tok.OpenID, tok, r)

	s.KillAccessTokens()
	info, err := u.UserInfo(ctx, client.FieldDisplayName)
	require.NoError(t, err)
	assert.NotEmpty(t, info.DisplayName)
	assert.Equal(t, 1, r.calls)
	assert.Equal(t, 1, s.Grants("refresh_token"))
	assert.NotEqual(t, tok.AccessToken, u.Token().AccessToken)

	_, err = u.CreatorInfo(ctx)
	require.NoError(t, err, "the new token is kept for later calls")
	assert.Equal(t, 1, r.calls)

	s.RevokeAllGrants()
	_, err = u.UserInfo(ctx, client.FieldDisplayName)
	require.ErrorIs(t, err, client.ErrInvalidGrant, "a dead grant surfaces as invalid_grant from the refresh")
	assert.Zero(t, s.RefreshTokenReuse())
}

func TestEmulatorFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("5xx twice then success", func(t *testing.T) {
		s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
		u := c.WithToken(login(t, c))
		s.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: 503, Times: 2})
		_, err := u.UserInfo(ctx, client.FieldOpenID)
		require.NoError(t, err)
		assert.Equal(t, 3, s.Calls(tiktoktest.EndpointUserInfo))
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
		u := c.WithToken(login(t, c))
		s.InjectFault(tiktoktest.EndpointCreatorInfo, tiktoktest.Fault{Status: 429, ErrorCode: "rate_limit_exceeded", RetryAfter: time.Second, Times: 1})
		_, err := u.CreatorInfo(ctx)
		require.NoError(t, err, "the retry waits out the Retry-After (the limiter pauses creator_info for this token)")
		assert.Equal(t, 2, s.Calls(tiktoktest.EndpointCreatorInfo))
	})
	t.Run("spam error with 200 is not retried", func(t *testing.T) {
		s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
		u := c.WithToken(login(t, c))
		s.InjectFault(tiktoktest.EndpointCreatorInfo, tiktoktest.Fault{ErrorCode: "spam_risk_too_many_posts"})
		_, err := u.CreatorInfo(ctx)
		var ae *client.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "spam_risk_too_many_posts", ae.Code)
		assert.Equal(t, 200, ae.StatusCode)
		assert.Equal(t, 1, s.Calls(tiktoktest.EndpointCreatorInfo))
	})
	t.Run("html page", func(t *testing.T) {
		s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
		u := c.WithToken(login(t, c))
		s.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: 502, Body: "<html><body>Bad Gateway</body></html>", ContentType: "text/html"})
		_, err := u.UserInfo(ctx, client.FieldOpenID)
		var re *client.ResponseError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "text/html", re.ContentType)
		assert.Contains(t, re.Snippet, "Bad Gateway")
		assert.True(t, client.IsTemporary(err))
		assert.Equal(t, 3, s.Calls(tiktoktest.EndpointUserInfo), "5xx is retried up to MaxAttempts")
	})
	t.Run("token error with 200", func(t *testing.T) {
		s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
		s.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{ErrorCode: "invalid_client", Times: 1})
		_, err := c.FetchClientToken(ctx)
		require.ErrorIs(t, err, client.ErrInvalidClient)
		var oe *client.OAuthError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, 200, oe.StatusCode)
	})
	t.Run("exchange not retried on a dropped connection", func(t *testing.T) {
		s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
		verifier := client.GenerateVerifier()
		cb := authorize(t, c.AuthCodeURL("s", client.WithPKCE(verifier)))
		s.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Drop: true, Times: 1})
		_, err := c.Exchange(ctx, cb.Get("code"), client.WithVerifier(verifier))
		require.Error(t, err)
		assert.Equal(t, 1, s.Calls(tiktoktest.EndpointToken))
	})
	t.Run("delay beyond the caller's deadline", func(t *testing.T) {
		s, c, _ := emulator(t, tiktoktest.Config{AutoApprove: true})
		u := c.WithToken(login(t, c))
		s.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Delay: time.Hour})
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := u.UserInfo(dctx, client.FieldOpenID)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 1, s.Calls(tiktoktest.EndpointUserInfo), "no retry once the context is done")
	})
}
