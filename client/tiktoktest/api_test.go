package tiktoktest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

func TestUserInfo(t *testing.T) {
	clock := newFakeClock()
	emu := newEmu(t, tiktoktest.Config{Clock: clock.Now})
	bob := tiktoktest.DefaultUsers()[1]
	basic, err := emu.IssueToken(bob.OpenID, "user.info.basic")
	require.NoError(t, err)
	all, err := emu.IssueToken(bob.OpenID, "user.info.basic", "user.info.profile", "user.info.stats")
	require.NoError(t, err)

	t.Run("exactly the requested fields, in order", func(t *testing.T) {
		r := bearerGet(t, emu, "/v2/user/info/?fields=display_name,open_id,follower_count,is_verified,display_name", all.AccessToken)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		user := member(t, r.body, "data", "user")
		assert.Equal(t, []string{"display_name", "open_id", "follower_count", "is_verified"}, topKeys(t, user))
		assert.JSONEq(t, `{"display_name":"Bob Sample","open_id":"`+bob.OpenID+`","follower_count":52,"is_verified":false}`, string(user))
		assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
		var e struct {
			LogID string `json:"log_id"`
		}
		require.NoError(t, json.Unmarshal(member(t, r.body, "error"), &e))
		assert.Regexp(t, logIDPattern, e.LogID)
		assert.True(t, strings.HasPrefix(e.LogID, "20260314092653"), "log_id starts with the emulator's time: %s", e.LogID)
	})

	for _, tc := range []struct {
		name    string
		query   string
		token   string
		header  []string
		status  int
		code    string
		message string
	}{
		{"no fields", "", basic.AccessToken, nil, 400, "invalid_params", "Fields is required, please provide fields in the request"},
		{"empty fields", "?fields=", basic.AccessToken, nil, 400, "invalid_params", "Fields is required, please provide fields in the request"},
		{"only commas", "?fields=,,", basic.AccessToken, nil, 400, "invalid_params", "Fields is required, please provide fields in the request"},
		{"unknown field", "?fields=open_id,email", basic.AccessToken, nil, 400, "invalid_params", "Invalid field(s): email"},
		{"two unknown fields", "?fields=email,open_id,phone", basic.AccessToken, nil, 400, "invalid_params", "Invalid field(s): email,phone"},
		{"space is not trimmed", "?fields=open_id,%20union_id", basic.AccessToken, nil, 400, "invalid_params", "Invalid field(s):  union_id"},
		{"fields twice", "?fields=open_id&fields=union_id", basic.AccessToken, nil, 400, "invalid_params", ""},
		{"no token", "?fields=open_id", "", nil, 401, "access_token_invalid", "The access token is invalid or not found in the request."},
		{"unknown token", "?fields=open_id", "act.nope", nil, 401, "access_token_invalid", ""},
		{"basic scheme", "?fields=open_id", "", []string{"Authorization", "Basic " + basic.AccessToken}, 401, "access_token_invalid", ""},
		{"token in query only", "?fields=open_id&access_token=" + basic.AccessToken, "", nil, 401, "access_token_invalid", ""},
		{"refresh token as bearer", "?fields=open_id", basic.RefreshToken, nil, 401, "access_token_invalid", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r reply
			switch {
			case tc.token != "":
				r = bearerGet(t, emu, "/v2/user/info/"+tc.query, tc.token)
			default:
				r = get(t, emu, "/v2/user/info/"+tc.query, tc.header...)
			}
			apiErr(t, r, tc.status, tc.code, tc.message)
		})
	}

	t.Run("each field needs its scope", func(t *testing.T) {
		for _, f := range []string{"bio_description", "profile_deep_link", "is_verified", "username",
			"follower_count", "following_count", "likes_count", "video_count"} {
			r := bearerGet(t, emu, "/v2/user/info/?fields=open_id,"+f, basic.AccessToken)
			apiErr(t, r, http.StatusUnauthorized, "scope_not_authorized",
				"The user did not authorize the scope required for completing this request.")
		}
		for _, f := range []string{"open_id", "union_id", "avatar_url", "avatar_url_100", "avatar_large_url", "display_name"} {
			r := bearerGet(t, emu, "/v2/user/info/?fields="+f, basic.AccessToken)
			assert.Equal(t, http.StatusOK, r.status, "%s: %s", f, r.body)
		}
	})

	t.Run("stats only grant", func(t *testing.T) {
		stats, err := emu.IssueToken(bob.OpenID, "user.info.stats")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, bearerGet(t, emu, "/v2/user/info/?fields=likes_count", stats.AccessToken).status)
		apiErr(t, bearerGet(t, emu, "/v2/user/info/?fields=open_id", stats.AccessToken), 401, "scope_not_authorized", "")
	})

	t.Run("expired token", func(t *testing.T) {
		tok, err := emu.IssueToken(bob.OpenID, "user.info.basic")
		require.NoError(t, err)
		clock.Advance(24*time.Hour - time.Second)
		assert.Equal(t, http.StatusOK, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken).status)
		clock.Advance(time.Second)
		apiErr(t, bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken), 401, "access_token_invalid", "")
	})

	t.Run("POST is not allowed", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/user/info/?fields=open_id", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+all.AccessToken)
		r := do(t, emu.Client(), req)
		assert.Equal(t, http.StatusMethodNotAllowed, r.status)
		assert.Equal(t, "GET", r.header.Get("Allow"))
	})
}

func TestCreatorInfoRefuses(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{})
	users := tiktoktest.DefaultUsers()
	noPublish, err := emu.IssueToken(users[1].OpenID, "user.info.basic", "video.upload")
	require.NoError(t, err)
	publish, err := emu.IssueToken(users[1].OpenID, "video.publish")
	require.NoError(t, err)

	post := func(token, body string) reply {
		req, err := http.NewRequest(http.MethodPost, emu.URL+"/v2/post/publish/creator_info/query/", strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return do(t, emu.Client(), req)
	}
	apiErr(t, post("", ""), 401, "access_token_invalid", "")
	apiErr(t, post(noPublish.AccessToken, ""), 401, "scope_not_authorized", "")
	apiErr(t, post(publish.AccessToken, "[1]"), 400, "invalid_param", "")
	apiErr(t, post(publish.AccessToken, "{"), 400, "invalid_param", "")
	apiErr(t, post(publish.AccessToken, "null"), 400, "invalid_param", "")

	r := post(publish.AccessToken, "")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.JSONEq(t, `{
		"creator_avatar_url": "`+emu.URL+`/_emulator/avatar?open_id=`+users[1].OpenID+`&size=168",
		"creator_username": "bob_sample", "creator_nickname": "Bob Sample",
		"privacy_level_options": ["FOLLOWER_OF_CREATOR","MUTUAL_FOLLOW_FRIENDS","SELF_ONLY"],
		"comment_disabled": false, "duet_disabled": true, "stitch_disabled": true,
		"max_video_post_duration_sec": 600}`, string(member(t, r.body, "data")))

	req, err := http.NewRequest(http.MethodGet, emu.URL+"/v2/post/publish/creator_info/query/", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusMethodNotAllowed, do(t, emu.Client(), req).status)
}

func TestPathsAreExact(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	require.NoError(t, err)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v2/auth/authorize?" + authorizeQuery(emu.ClientKey(), "https://a.example/cb", "user.info.basic", "s")},
		{"POST", "/v2/oauth/token"},
		{"POST", "/v2/oauth/revoke"},
		{"GET", "/v2/user/info?fields=open_id"},
		{"POST", "/v2/post/publish/creator_info/query"},
		{"GET", "/v2/user/info/extra/?fields=open_id"},
		{"GET", "/v2/user/info//?fields=open_id"},
		{"GET", "/v2/user/./info/?fields=open_id"},
		{"GET", "/v2/user/INFO/?fields=open_id"},
		{"GET", "/"},
		{"GET", "/_emulator"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, emu.URL+tc.path, strings.NewReader(refreshForm(emu, tok.RefreshToken)))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r := do(t, noRedirect(emu), req)
			assert.Equal(t, http.StatusNotFound, r.status)
			assert.Empty(t, r.header.Get("Location"))
		})
	}
	c := emu.Counters()
	for e, n := range c.Calls {
		assert.Zero(t, n, "endpoint %s counted a 404", e)
	}
	assert.Equal(t, 0, emu.Grants("refresh_token"))
}
