package tiktoktest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

// TestSeedFlow drives the whole flow with requests built from the recorded
// request samples (same keys, order and encoding; only the values the
// emulator issued are swapped in) and checks each answer has the shape of
// the recorded TikTok answer.
func TestSeedFlow(t *testing.T) {
	cfg := seedConfig()
	cfg.AutoApprove = true
	emu := newEmu(t, cfg)

	// Authorize with the URL the Ruby gem computes (state given), on the
	// emulator's host.
	urls := seed.Lines("authorization_urls__computed_by_gem_v0.4.0.txt")
	authURL := urls[1]
	require.Contains(t, authURL, "state=random_state_string")
	r := get(t, emu, strings.TrimPrefix(authURL, "https://www.tiktok.com"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	cb := callback(t, r, seedRedirect)
	assert.Equal(t, "random_state_string", cb.Get("state"))
	assert.Equal(t, "user.info.basic,user.info.profile", cb.Get("scopes"))
	code := cb.Get("code")
	assert.Contains(t, code, "*")
	assert.Contains(t, code, "!")

	// Exchange: the sample form with the code the emulator issued.
	form := adaptForm(t, seed.String("request_form__token_authorization_code.txt"), map[string]string{"code": code})
	r = postForm(t, emu, "/v2/oauth/token/", form)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, topKeys(t, seed.Bytes("token_authorization_code__success__200.json")), topKeys(t, r.body))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	tok := tokenJSON(t, r)
	assert.True(t, strings.HasPrefix(tok.AccessToken, "act."), tok.AccessToken)
	assert.True(t, strings.HasPrefix(tok.RefreshToken, "rft."), tok.RefreshToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, "user.info.basic,user.info.profile", tok.Scope)
	assert.Equal(t, tiktoktest.DefaultUsers()[0].OpenID, tok.OpenID)
	assert.EqualValues(t, 86400, tok.ExpiresIn)
	assert.EqualValues(t, 31536000, tok.RefreshExpiresIn)

	// User info with the sample's fields query, sent as the Ruby gem sends it.
	r = bearerGet(t, emu, "/v2/user/info/?fields=open_id%2Cunion_id%2Cavatar_url", tok.AccessToken)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	want := seed.Bytes("user_info__success_basic_3_fields__200.json")
	assert.Equal(t, topKeys(t, want), topKeys(t, r.body))
	assert.Equal(t, topKeys(t, member(t, want, "data", "user")), topKeys(t, member(t, r.body, "data", "user")))
	assert.Equal(t, topKeys(t, member(t, want, "error")), topKeys(t, member(t, r.body, "error")))
	assert.JSONEq(t, `"ok"`, string(member(t, r.body, "error", "code")))
	assert.JSONEq(t, `""`, string(member(t, r.body, "error", "message")))

	// The code is single use: the same sample form again is refused.
	r = postForm(t, emu, "/v2/oauth/token/", form)
	oauthErr(t, r, http.StatusBadRequest, "invalid_grant", "Authorization code has been used.")

	// Refresh: the sample form with the issued refresh token.
	form = adaptForm(t, seed.String("request_form__token_refresh.txt"), map[string]string{"refresh_token": tok.RefreshToken})
	r = postForm(t, emu, "/v2/oauth/token/", form)
	assert.Equal(t, topKeys(t, seed.Bytes("token_refresh__success__200.json")), topKeys(t, r.body))
	tok2 := tokenJSON(t, r)
	assert.NotEqual(t, tok.RefreshToken, tok2.RefreshToken)
	assert.NotEqual(t, tok.AccessToken, tok2.AccessToken)
	assert.Equal(t, tok.OpenID, tok2.OpenID)
	assert.Equal(t, tok.Scope, tok2.Scope)

	// Revoke: the sample form with the access token (the sample sends a
	// refresh token, which TikTok's docs do not allow; see TestRevoke).
	form = adaptForm(t, seed.String("request_form__revoke.txt"), map[string]string{"token": tok2.AccessToken})
	r = postForm(t, emu, "/v2/oauth/revoke/", form)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.JSONEq(t, seed.String("revoke__success_empty_object__200.json"), string(r.body))

	// After revoke: user info refused with TikTok's shape, refresh refused.
	r = bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok2.AccessToken)
	apiErr(t, r, http.StatusUnauthorized, "access_token_invalid", "The access token is invalid or not found in the request.")
	assert.Equal(t, topKeys(t, seed.Bytes("user_info__error_access_token_invalid__401.json")), topKeys(t, r.body))
	r = postForm(t, emu, "/v2/oauth/token/", refreshForm(emu, tok2.RefreshToken))
	oauthErr(t, r, http.StatusBadRequest, "invalid_grant", "Refresh token is invalid or expired.")
}

func TestSeedAllFields(t *testing.T) {
	emu := newEmu(t, seedConfig())
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic", "user.info.profile", "user.info.stats")
	require.NoError(t, err)
	var fields string
	for _, l := range seed.Lines("stub_urls.txt") {
		if strings.Contains(l, "video_count") {
			fields = l[strings.Index(l, "fields: '")+len("fields: '") : strings.LastIndex(l, "'")]
		}
	}
	require.NotEmpty(t, fields)
	r := bearerGet(t, emu, "/v2/user/info/?fields="+fields, tok.AccessToken)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	want := seed.Bytes("user_info__success_all_14_fields__200.json")
	assert.Equal(t, topKeys(t, member(t, want, "data", "user")), topKeys(t, member(t, r.body, "data", "user")))

	alice := tiktoktest.DefaultUsers()[0]
	var got struct {
		Data struct {
			User map[string]any `json:"user"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.body, &got))
	u := got.Data.User
	assert.Equal(t, alice.OpenID, u["open_id"])
	assert.Equal(t, alice.UnionID, u["union_id"])
	assert.Equal(t, alice.DisplayName, u["display_name"])
	assert.Equal(t, alice.Username, u["username"])
	assert.Equal(t, "https://www.tiktok.com/@"+alice.Username, u["profile_deep_link"])
	assert.Equal(t, true, u["is_verified"])
	assert.EqualValues(t, alice.FollowerCount, u["follower_count"])
	assert.EqualValues(t, alice.VideoCount, u["video_count"])
	assert.True(t, strings.HasPrefix(u["avatar_url"].(string), emu.URL+"/_emulator/avatar?"), u["avatar_url"])

	// The avatar it points to is served.
	r = get(t, emu, strings.TrimPrefix(u["avatar_url_100"].(string), emu.URL))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "image/svg+xml", r.header.Get("Content-Type"))
	assert.Contains(t, string(r.body), ">AE</text>")
}

func TestSeedErrorShapes(t *testing.T) {
	emu := newEmu(t, seedConfig())
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic")
	require.NoError(t, err)

	t.Run("fields missing", func(t *testing.T) {
		r := bearerGet(t, emu, "/v2/user/info/?fields=", tok.AccessToken)
		want := seed.Bytes("user_info__error_fields_missing__400.json")
		apiErr(t, r, http.StatusBadRequest, "invalid_params", jsonString(t, member(t, want, "error", "message")))
	})
	t.Run("invalid field", func(t *testing.T) {
		r := bearerGet(t, emu, "/v2/user/info/?fields=open_id,non_existent_field", tok.AccessToken)
		want := seed.Bytes("user_info__error_invalid_field__400.json")
		apiErr(t, r, http.StatusBadRequest, "invalid_params", jsonString(t, member(t, want, "error", "message")))
	})
	t.Run("invalid token", func(t *testing.T) {
		r := bearerGet(t, emu, "/v2/user/info/?fields=open_id", "invalid_token")
		want := seed.Bytes("user_info__error_access_token_invalid__401.json")
		apiErr(t, r, http.StatusUnauthorized, "access_token_invalid", jsonString(t, member(t, want, "error", "message")))
	})
	t.Run("creator info invalid token", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/post/publish/creator_info/query/", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer act.test_access_token_d60341ec2b987fa5_valid")
		r := do(t, emu.Client(), req)
		want := seed.Bytes("creator_info_query__error_access_token_invalid__401.json")
		apiErr(t, r, http.StatusUnauthorized, "access_token_invalid", jsonString(t, member(t, want, "error", "message")))
	})
	t.Run("revoke with the sample's refresh token", func(t *testing.T) {
		r := postForm(t, emu, "/v2/oauth/revoke/", seed.String("request_form__revoke.txt"))
		want := seed.Bytes("revoke__invalid_grant_token_invalid__200.json")
		oauthErr(t, r, http.StatusOK, "invalid_grant", jsonString(t, member(t, want, "error_description")))
	})
	t.Run("sample client credentials with other keys", func(t *testing.T) {
		r := postForm(t, emu, "/v2/oauth/token/", seed.String("request_form__token_client_credentials.txt"))
		oauthErr(t, r, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
	})
}

func TestSeedClientCredentials(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{ClientKey: "dummy_client_key", ClientSecret: "dummy_client_secret"})
	r := postForm(t, emu, "/v2/oauth/token/", seed.String("request_form__token_client_credentials.txt"))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, topKeys(t, seed.Bytes("token_client_credentials__success__200.json")), topKeys(t, r.body))
	m := r.json(t)
	assert.True(t, strings.HasPrefix(m["access_token"].(string), "clt."))
	assert.EqualValues(t, 7200, m["expires_in"])
	assert.Equal(t, "Bearer", m["token_type"])
	assert.Equal(t, 1, emu.Grants("client_credentials"))

	// A client token is no user token.
	r = bearerGet(t, emu, "/v2/user/info/?fields=open_id", m["access_token"].(string))
	apiErr(t, r, http.StatusUnauthorized, "access_token_invalid", "")
	r = postForm(t, emu, "/v2/oauth/revoke/", revokeForm(emu, m["access_token"].(string)))
	oauthErr(t, r, http.StatusOK, "invalid_grant", "")
}

func TestSeedCreatorInfo(t *testing.T) {
	emu := newEmu(t, seedConfig())
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic", "video.publish")
	require.NoError(t, err)
	want := seed.Bytes("creator_info_query__success__200.json")

	for _, tc := range []struct {
		name, body, contentType string
	}{
		{"no body, no content type (TikTok's own example)", "", ""},
		{"empty JSON object", "{}", "application/json; charset=UTF-8"},
		{"blank body with JSON type", " \n", "application/json"},
		{"object with members", `{"unused":1}`, "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req *http.Request
			if tc.body == "" {
				req, err = http.NewRequest(http.MethodPost, emu.URL+"/v2/post/publish/creator_info/query/", nil)
			} else {
				req, err = http.NewRequest(http.MethodPost, emu.URL+"/v2/post/publish/creator_info/query/", strings.NewReader(tc.body))
			}
			require.NoError(t, err)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			r := do(t, emu.Client(), req)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.ElementsMatch(t, topKeys(t, member(t, want, "data")), topKeys(t, member(t, r.body, "data")))
			assert.JSONEq(t, `"ok"`, string(member(t, r.body, "error", "code")))
			assert.JSONEq(t, `["PUBLIC_TO_EVERYONE","MUTUAL_FOLLOW_FRIENDS","SELF_ONLY"]`, string(member(t, r.body, "data", "privacy_level_options")))
			assert.JSONEq(t, `"Alice Example"`, string(member(t, r.body, "data", "creator_nickname")))
		})
	}
}

// TestSeedOAuthErrors puts the emulator in each situation a recorded OAuth
// error answer comes from and checks it answers the same: HTTP status, error
// code and description.
func TestSeedOAuthErrors(t *testing.T) {
	emu := newEmu(t, seedConfig())
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic")
	require.NoError(t, err)
	wrongSecret := func(form string) string {
		return strings.Replace(form, "client_secret="+url.QueryEscape(emu.ClientSecret()), "client_secret=wrong", 1)
	}
	for _, tc := range []struct {
		vector, path, form string
		status             int
	}{
		{"token_refresh__invalid_client__401.json", "/v2/oauth/token/", wrongSecret(refreshForm(emu, tok.RefreshToken)), http.StatusUnauthorized},
		{"token_refresh__invalid_grant_refresh_token_invalid__400.json", "/v2/oauth/token/", refreshForm(emu, ""), http.StatusBadRequest},
		{"token_refresh__invalid_request_malformed__400.json", "/v2/oauth/token/",
			strings.Replace(refreshForm(emu, ""), "&refresh_token=", "", 1), http.StatusBadRequest},
		{"revoke__invalid_client__401.json", "/v2/oauth/revoke/", wrongSecret(revokeForm(emu, tok.AccessToken)), http.StatusUnauthorized},
		{"revoke__invalid_request_malformed__400.json", "/v2/oauth/revoke/",
			strings.Replace(revokeForm(emu, ""), "&token=", "", 1), http.StatusBadRequest},
	} {
		t.Run(tc.vector, func(t *testing.T) {
			want := seed.Bytes(tc.vector)
			r := postForm(t, emu, tc.path, tc.form)
			oauthErr(t, r, tc.status, jsonString(t, member(t, want, "error")), jsonString(t, member(t, want, "error_description")))
		})
	}
	t.Run("token_authorization_code__invalid_grant_code_expired__400.json", func(t *testing.T) {
		cfg := seedConfig()
		cfg.AutoApprove = true
		emu := newEmu(t, cfg)
		urls := seed.Lines("authorization_urls__computed_by_gem_v0.4.0.txt")
		cb := callback(t, get(t, emu, strings.TrimPrefix(urls[1], "https://www.tiktok.com")), seedRedirect)
		emu.AdvanceClock(time.Hour) // past the code's lifetime
		form := adaptForm(t, seed.String("request_form__token_authorization_code.txt"), map[string]string{"code": cb.Get("code")})
		want := seed.Bytes("token_authorization_code__invalid_grant_code_expired__400.json")
		oauthErr(t, postForm(t, emu, "/v2/oauth/token/", form), http.StatusBadRequest,
			jsonString(t, member(t, want, "error")), jsonString(t, member(t, want, "error_description")))
	})
	t.Run("token_authorization_code__invalid_client__401.json", func(t *testing.T) {
		form := adaptForm(t, seed.String("request_form__token_authorization_code.txt"), map[string]string{"client_secret": "wrong"})
		want := seed.Bytes("token_authorization_code__invalid_client__401.json")
		oauthErr(t, postForm(t, emu, "/v2/oauth/token/", form), http.StatusUnauthorized,
			jsonString(t, member(t, want, "error")), jsonString(t, member(t, want, "error_description")))
	})
}
