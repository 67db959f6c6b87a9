package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

func TestUserInfoSamples(t *testing.T) {
	all := client.AllUserFields()
	tests := []struct {
		name      string
		sample    string
		fields    []client.UserField
		wantQuery string
		want      client.UserInfo
	}{
		{
			name: "basic 3 fields", sample: "user_info__success_basic_3_fields__200.json",
			fields:    []client.UserField{client.FieldOpenID, client.FieldUnionID, client.FieldAvatarURL},
			wantQuery: "fields=open_id%2Cunion_id%2Cavatar_url",
			want: client.UserInfo{
				OpenID: "TwyXyL92boeRLas33rxKoNAXqwg9x0i000-", UnionID: "a277c13dc4ac-5f89-8865-eb15-59390905",
				AvatarURL: "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/8502945187138401952~tplv-tiktokx-cropcenter:168:168.jpeg",
			},
		},
		{
			name: "all 14 fields", sample: "user_info__success_all_14_fields__200.json", fields: all,
			wantQuery: "fields=open_id%2Cunion_id%2Cavatar_url%2Cavatar_url_100%2Cavatar_large_url%2Cdisplay_name%2Cbio_description%2Cprofile_deep_link%2Cis_verified%2Cusername%2Cfollower_count%2Cfollowing_count%2Clikes_count%2Cvideo_count",
			want: client.UserInfo{
				OpenID: "-000i0x9gbo29LyXWyTXAN0oKxrwq33asLRe", UnionID: "50909395-15be-5688-98f5-ca4cd31c772a",
				AvatarURL: "https://example.com/avatar.jpg", AvatarURL100: "https://example.com/avatar_100.jpg",
				AvatarLargeURL: "https://example.com/avatar_large.jpg", DisplayName: "Test User",
				BioDescription: "This is a test bio", ProfileDeepLink: "https://www.tiktok.com/@username",
				Username: "testuser", FollowerCount: 1000, FollowingCount: 500, LikesCount: 5000, VideoCount: 20,
			},
		},
		{
			name: "no fields asks for all the scopes unlock", sample: "user_info__success_all_14_fields__200.json",
			wantQuery: "fields=open_id%2Cunion_id%2Cavatar_url%2Cavatar_url_100%2Cavatar_large_url%2Cdisplay_name%2Cbio_description%2Cprofile_deep_link%2Cis_verified%2Cusername%2Cfollower_count%2Cfollowing_count%2Clikes_count%2Cvideo_count",
			want: client.UserInfo{
				OpenID: "-000i0x9gbo29LyXWyTXAN0oKxrwq33asLRe", UnionID: "50909395-15be-5688-98f5-ca4cd31c772a",
				AvatarURL: "https://example.com/avatar.jpg", AvatarURL100: "https://example.com/avatar_100.jpg",
				AvatarLargeURL: "https://example.com/avatar_large.jpg", DisplayName: "Test User",
				BioDescription: "This is a test bio", ProfileDeepLink: "https://www.tiktok.com/@username",
				Username: "testuser", FollowerCount: 1000, FollowingCount: 500, LikesCount: 5000, VideoCount: 20,
			},
		},
		{
			name: "answer without the error member", sample: "omniauth_mock_user_info_with_profile__response_part.json",
			fields:    []client.UserField{client.FieldOpenID, client.FieldDisplayName, client.FieldAvatarURL100, client.FieldUsername, client.FieldBioDescription, client.FieldProfileDeepLink, client.FieldOpenID},
			wantQuery: "fields=open_id%2Cdisplay_name%2Cavatar_url_100%2Cusername%2Cbio_description%2Cprofile_deep_link",
			want: client.UserInfo{
				OpenID: "test_open_id", DisplayName: "Test User", AvatarURL100: "https://example.com/avatar.jpg",
				Username: "testuser", BioDescription: "Test bio", ProfileDeepLink: "https://www.tiktok.com/@testuser",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, answer{body: seed.Bytes(tt.sample)})
			c := newClient(t, rs.URL)
			tok := userToken()
			got, err := c.WithToken(tok).UserInfo(context.Background(), tt.fields...)
			require.NoError(t, err)
			assert.Empty(t, cmp.Diff(tt.want, *got, cmpopts.IgnoreUnexported(client.UserInfo{})))

			var env struct {
				Data struct {
					User json.RawMessage `json:"user"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal(seed.Bytes(tt.sample), &env))
			assert.JSONEq(t, string(env.Data.User), string(got.Raw()))

			reqs := rs.requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, "GET", r.method)
			assert.Equal(t, client.PathUserInfo, r.path)
			assert.Equal(t, tt.wantQuery, r.rawQuery)
			assert.Equal(t, "Bearer "+tok.AccessToken, r.header.Get("Authorization"))
			assert.Empty(t, r.header.Get("Content-Type"))
			assert.Empty(t, r.body)
		})
	}
}

func TestUserInfoRefusedBeforeRequest(t *testing.T) {
	rs := newReplay(t, answer{body: seed.Bytes("user_info__success_all_14_fields__200.json")})
	c := newClient(t, rs.URL)
	basic := c.WithToken(userToken(client.ScopeUserInfoBasic))
	ctx := context.Background()

	_, err := basic.UserInfo(ctx, client.FieldOpenID, "non_existent_field")
	require.ErrorIs(t, err, client.ErrInvalidInput)
	assert.Contains(t, err.Error(), "non_existent_field")

	tests := []struct {
		field client.UserField
		scope string
	}{
		{client.FieldBioDescription, client.ScopeUserInfoProfile},
		{client.FieldIsVerified, client.ScopeUserInfoProfile},
		{client.FieldFollowerCount, client.ScopeUserInfoStats},
		{client.FieldVideoCount, client.ScopeUserInfoStats},
	}
	for _, tt := range tests {
		t.Run(string(tt.field), func(t *testing.T) {
			_, err := basic.UserInfo(ctx, client.FieldOpenID, tt.field)
			require.ErrorIs(t, err, client.ErrMissingScope)
			var mse *client.MissingScopeError
			require.ErrorAs(t, err, &mse)
			assert.Equal(t, string(tt.field), mse.Field)
			assert.Equal(t, tt.scope, mse.Scope)
			assert.Contains(t, err.Error(), string(tt.field))
			assert.Contains(t, err.Error(), tt.scope)
		})
	}

	_, err = c.WithToken(userToken(client.ScopeVideoList)).UserInfo(ctx)
	require.ErrorIs(t, err, client.ErrMissingScope, "a token with no user.info scope unlocks no field")
	_, err = c.WithToken(nil).UserInfo(ctx)
	require.ErrorIs(t, err, client.ErrInvalidInput)
	_, err = c.WithToken(&client.Token{}).UserInfo(ctx)
	require.ErrorIs(t, err, client.ErrInvalidInput)
	assert.Zero(t, rs.count(), "every refusal happens before any request")

	// A token whose scopes are unknown (for example restored from an old
	// store) is not checked: TikTok decides.
	info, err := c.WithToken(&client.Token{AccessToken: "act.x"}).UserInfo(ctx, client.FieldFollowerCount)
	require.NoError(t, err)
	assert.EqualValues(t, 1000, info.FollowerCount)
	reqs := rs.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "fields=follower_count", reqs[0].rawQuery)
}

func TestAPIErrorSamples(t *testing.T) {
	ctx := context.Background()
	userInfo := func(u *client.UserClient) error { _, err := u.UserInfo(ctx, client.FieldOpenID); return err }
	creatorInfo := func(u *client.UserClient) error { _, err := u.CreatorInfo(ctx); return err }
	tests := []struct {
		sample   string
		status   int
		call     func(*client.UserClient) error
		code     string
		sentinel error
		logID    string
	}{
		{"user_info__error_access_token_invalid__401.json", 401, userInfo, "access_token_invalid", client.ErrAccessTokenInvalid, "20250920002050100115989EF4EE2405DD"},
		{"user_info__error_fields_missing__400.json", 400, userInfo, "invalid_params", client.ErrInvalidRequest, "6F8A0BF05F038518295052798D78D57852"},
		{"user_info__error_invalid_field__400.json", 400, userInfo, "invalid_params", client.ErrInvalidRequest, "6F8A0BF05F0798D78D5785238518295052"},
		{"creator_info_query__error_access_token_invalid__401.json", 401, creatorInfo, "access_token_invalid", client.ErrAccessTokenInvalid, "20250924172335777F851BC590080C70AC"},
	}
	for _, tt := range tests {
		for _, status := range []int{tt.status, 200} {
			t.Run(tt.sample+"/"+statusName(status), func(t *testing.T) {
				rs := newReplay(t, answer{status: status, body: seed.Bytes(tt.sample)})
				c := newClient(t, rs.URL)
				err := tt.call(c.WithToken(userToken()))
				var ae *client.APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, client.APIError{StatusCode: status, Code: tt.code, Message: ae.Message, LogID: tt.logID}, *ae)
				assert.NotEmpty(t, ae.Message)
				assert.ErrorIs(t, err, tt.sentinel)
				assert.False(t, client.IsTemporary(err))
				assert.Equal(t, 1, rs.count(), "client errors are not retried")
			})
		}
	}
}

func TestCreatorInfoSample(t *testing.T) {
	rs := newReplay(t, answer{body: seed.Bytes("creator_info_query__success__200.json")})
	c := newClient(t, rs.URL)
	tok := userToken()
	got, err := c.WithToken(tok).CreatorInfo(context.Background())
	require.NoError(t, err)
	want := &client.CreatorInfo{
		CreatorAvatarURL: "https://example.com/avatar.webp", CreatorUsername: "testuser", CreatorNickname: "Test User",
		PrivacyLevelOptions:     []string{"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"},
		MaxVideoPostDurationSec: 3600,
	}
	assert.Empty(t, cmp.Diff(want, got))
	reqs := rs.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "POST", reqs[0].method)
	assert.Equal(t, client.PathCreatorInfo, reqs[0].path)
	assert.Empty(t, reqs[0].body)
	assert.Empty(t, reqs[0].header.Get("Content-Type"), "creator info is sent without a body or Content-Type")
	assert.Equal(t, "Bearer "+tok.AccessToken, reqs[0].header.Get("Authorization"))

	_, err = c.WithToken(userToken(client.ScopeUserInfoBasic)).CreatorInfo(context.Background())
	var mse *client.MissingScopeError
	require.ErrorAs(t, err, &mse)
	assert.Equal(t, client.ScopeVideoPublish, mse.Scope)
	assert.Equal(t, 1, rs.count())
}

// TestMalformedAPIAnswers: bodies that are not TikTok's envelope are a clear
// *ResponseError, never a panic, never a success.
func TestMalformedAPIAnswers(t *testing.T) {
	tests := []struct {
		name     string
		a        answer
		sentinel error
	}{
		{"plain 500", answer{status: 500, body: seed.Bytes("raw_body__internal_server_error__500.txt"), contentType: "text/plain"}, client.ErrServer},
		{"html 500", answer{status: 500, body: seed.Bytes("raw_body__html_internal_server_error__500.txt"), contentType: "text/html"}, client.ErrServer},
		{"invalid json 200", answer{body: seed.Bytes("raw_body__invalid_json__200.txt"), contentType: "text/plain"}, nil},
		{"empty 204", answer{status: 204}, nil},
		{"empty 200", answer{body: []byte{}}, nil},
		{"truncated", answer{body: seed.Bytes("user_info__success_all_14_fields__200.json")[:100]}, nil},
		{"no user", answer{body: []byte(`{"data":{},"error":{"code":"ok"}}`)}, nil},
		{"user is a string", answer{body: []byte(`{"data":{"user":"x"},"error":{"code":"ok"}}`)}, nil},
		{"wrong type", answer{body: []byte(`{"data":{"user":{"follower_count":"many"}},"error":{"code":"ok"}}`)}, nil},
		{"ok code with 404", answer{status: 404, body: seed.Bytes("user_info__success_basic_3_fields__200.json")}, nil},
		{"error member is a list", answer{body: []byte(`{"error":[1]}`)}, nil},
		{"too large", answer{body: []byte(`{"data":{"user":{"display_name":"` + strings.Repeat("x", 2048) + `"}},"error":{"code":"ok"}}`)}, client.ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, tt.a)
			c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Retry.MaxAttempts = 1; cfg.MaxBodyBytes = 1024 })
			_, err := c.WithToken(userToken()).UserInfo(context.Background(), client.FieldDisplayName)
			var re *client.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, max(tt.a.status, 200), re.StatusCode)
			assert.LessOrEqual(t, len(re.Snippet), 256)
			if tt.sentinel != nil {
				assert.ErrorIs(t, err, tt.sentinel)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "client: unexpected response"), err.Error())
		})
	}
}

func TestAPIErrorShapes(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, err error)
	}{
		{"numeric ok code", `{"data":{"user":{"open_id":"x"}},"error":{"code":0,"message":""}}`, func(t *testing.T, err error) {
			require.NoError(t, err)
		}},
		{"spam error with 200", `{"data":{},"error":{"code":"spam_risk_too_many_posts","message":"m","log_id":"l"}}`, func(t *testing.T, err error) {
			var ae *client.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, "spam_risk_too_many_posts", ae.Code)
		}},
		{"scope error", `{"data":{},"error":{"code":"scope_permission_missed","message":"m","log_id":"l"}}`, func(t *testing.T, err error) {
			require.ErrorIs(t, err, client.ErrScopeNotAuthorized)
		}},
		{"flat oauth error on an api endpoint", `{"error":"invalid_request","error_description":"bad","log_id":"l1"}`, func(t *testing.T, err error) {
			var oe *client.OAuthError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, client.OAuthError{StatusCode: 200, Code: "invalid_request", Description: "bad", LogID: "l1"}, *oe)
		}},
		{"error with type mismatch in data", `{"data":{"user":[]},"error":{"code":"access_token_invalid","message":"m"}}`, func(t *testing.T, err error) {
			require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, answer{body: []byte(tt.body)})
			c := newClient(t, rs.URL)
			_, err := c.WithToken(userToken()).UserInfo(context.Background(), client.FieldOpenID)
			tt.check(t, err)
		})
	}
}

func TestRepeatableRetries(t *testing.T) {
	okBody := seed.Bytes("user_info__success_basic_3_fields__200.json")
	tests := []struct {
		name      string
		answers   []answer
		wantCalls int
		wantErr   error
	}{
		{"429 then ok", []answer{{status: 429, retryAfter: "1", body: []byte(`{"data":{},"error":{"code":"rate_limit_exceeded","message":"slow down"}}`)}, {body: okBody}}, 2, nil},
		{"500 html then ok", []answer{{status: 500, body: seed.Bytes("raw_body__html_internal_server_error__500.txt"), contentType: "text/html"}, {body: okBody}}, 2, nil},
		{"internal_error with 200 then ok", []answer{{body: []byte(`{"data":{},"error":{"code":"internal_error"}}`)}, {body: okBody}}, 2, nil},
		{"dropped connection then ok", []answer{{drop: true}, {body: okBody}}, 2, nil},
		{"503 every time", []answer{{status: 503}}, 3, client.ErrServer},
		{"429 every time", []answer{{status: 429, body: []byte(`{"data":{},"error":{"code":"rate_limit_exceeded"}}`)}}, 3, client.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, tt.answers...)
			c := newClient(t, rs.URL)
			_, err := c.WithToken(userToken()).UserInfo(context.Background(), client.FieldOpenID)
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
				assert.True(t, client.IsTemporary(err))
			}
			assert.Equal(t, tt.wantCalls, rs.count())
		})
	}
}

func TestNonRepeatableDoIsNotRetried(t *testing.T) {
	rs := newReplay(t, answer{status: 503})
	c := newClient(t, rs.URL)
	err := c.WithToken(userToken()).Do(context.Background(), client.Request{Path: client.PathVideoInit, Body: map[string]any{}}, nil)
	require.ErrorIs(t, err, client.ErrServer)
	assert.Equal(t, 1, rs.count())
}

func TestContextCancellationWins(t *testing.T) {
	arrived := make(chan struct{}, 1)
	rs := newReplay(t)
	rs.Config.Handler = gate(arrived, make(chan struct{}), nil)
	c := newClient(t, rs.URL)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.WithToken(userToken()).UserInfo(ctx, client.FieldOpenID); errc <- err }()
	<-arrived
	cancel()
	err := <-errc
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, client.IsTemporary(err))

	// Cancelled during a backoff wait: no further attempt is made.
	arrived2 := make(chan struct{}, 1)
	rs2 := newReplay(t)
	rs2.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs2.serve(w, r)
		select {
		case arrived2 <- struct{}{}:
		default:
		}
	})
	rs2.answers = []answer{{status: 503}}
	slow := newClient(t, rs2.URL, func(cfg *client.Config) {
		cfg.Retry = client.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	})
	ctx2, cancel2 := context.WithCancel(context.Background())
	errc2 := make(chan error, 1)
	go func() { _, err := slow.WithToken(userToken()).UserInfo(ctx2, client.FieldOpenID); errc2 <- err }()
	<-arrived2 // the first attempt was answered; the client now waits up to an hour
	cancel2()
	require.ErrorIs(t, <-errc2, context.Canceled)
	assert.Equal(t, 1, rs2.count())
}

// fakeRefresher is a Refresher that hands out prepared tokens and records
// what it was asked.
type fakeRefresher struct {
	mu     sync.Mutex
	next   *client.Token
	err    error
	calls  int
	keys   []string
	failed []*client.Token
}

func (f *fakeRefresher) ForceRefresh(_ context.Context, key string, failed *client.Token) (*client.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.keys = append(f.keys, key)
	f.failed = append(f.failed, failed)
	return f.next, f.err
}

func TestForcedRefreshOnAccessTokenInvalid(t *testing.T) {
	invalid := answer{status: 401, body: seed.Bytes("user_info__error_access_token_invalid__401.json")}
	ok := answer{body: seed.Bytes("user_info__success_basic_3_fields__200.json")}
	fresh := userToken()
	fresh.AccessToken = "act.fresh"

	t.Run("repeatable call is refreshed once and repeated", func(t *testing.T) {
		rs := newReplay(t, invalid, ok)
		c := newClient(t, rs.URL)
		old := userToken()
		r := &fakeRefresher{next: fresh}
		u := c.ForUser("user-1", old, r)
		info, err := u.UserInfo(context.Background(), client.FieldOpenID)
		require.NoError(t, err)
		assert.Equal(t, "TwyXyL92boeRLas33rxKoNAXqwg9x0i000-", info.OpenID)
		assert.Equal(t, 1, r.calls)
		assert.Equal(t, []string{"user-1"}, r.keys)
		assert.Same(t, old, r.failed[0], "the failed token is named")
		assert.Same(t, fresh, u.Token(), "the new token is kept")
		reqs := rs.requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, "Bearer "+old.AccessToken, reqs[0].header.Get("Authorization"))
		assert.Equal(t, "Bearer act.fresh", reqs[1].header.Get("Authorization"))
	})
	t.Run("only once", func(t *testing.T) {
		rs := newReplay(t, invalid)
		c := newClient(t, rs.URL)
		r := &fakeRefresher{next: fresh}
		_, err := c.ForUser("k", userToken(), r).UserInfo(context.Background(), client.FieldOpenID)
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.Equal(t, 1, r.calls)
		assert.Equal(t, 2, rs.count())
	})
	t.Run("refresh failure is returned", func(t *testing.T) {
		rs := newReplay(t, invalid)
		c := newClient(t, rs.URL)
		loginAgain := errors.New("store: log in again")
		r := &fakeRefresher{err: loginAgain}
		_, err := c.ForUser("k", userToken(), r).CreatorInfo(context.Background())
		require.ErrorIs(t, err, loginAgain)
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.Equal(t, 1, rs.count())
	})
	t.Run("not again after a failed forced refresh", func(t *testing.T) {
		rs := newReplay(t, invalid)
		c := newClient(t, rs.URL)
		r := &fakeRefresher{err: errors.New("store: lease wait timed out")}
		u := c.ForUser("k", userToken(), r)
		assert.False(t, u.ForcedRefresh())
		_, err := u.UserInfo(context.Background(), client.FieldOpenID)
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.True(t, u.ForcedRefresh())
		_, err = u.CreatorInfo(context.Background())
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.Equal(t, 1, r.calls, "a second call in the same request does not wait for another forced refresh")
		assert.Equal(t, 2, rs.count())
	})
	t.Run("same token back is not repeated", func(t *testing.T) {
		rs := newReplay(t, invalid)
		c := newClient(t, rs.URL)
		tok := userToken()
		r := &fakeRefresher{next: tok}
		_, err := c.ForUser("k", tok, r).UserInfo(context.Background(), client.FieldOpenID)
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.Equal(t, 1, rs.count())
	})
	t.Run("never for a non-repeatable call", func(t *testing.T) {
		rs := newReplay(t, invalid)
		c := newClient(t, rs.URL)
		r := &fakeRefresher{next: fresh}
		err := c.ForUser("k", userToken(), r).Do(context.Background(), client.Request{Method: "POST", Path: client.PathVideoInit, Body: struct{}{}}, nil)
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.Zero(t, r.calls)
		assert.Equal(t, 1, rs.count())
	})
	t.Run("never without a refresher", func(t *testing.T) {
		rs := newReplay(t, invalid)
		c := newClient(t, rs.URL)
		_, err := c.WithToken(userToken()).UserInfo(context.Background(), client.FieldOpenID)
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.Equal(t, 1, rs.count())
	})
}

func TestDo(t *testing.T) {
	rs := newReplay(t, answer{body: []byte(`{"data":{"videos":[{"id":"1"}],"cursor":5,"has_more":true},"error":{"code":"ok","message":"","log_id":"x"}}`)})
	c := newClient(t, rs.URL)
	u := c.WithToken(userToken())
	var out struct {
		Videos []struct {
			ID string `json:"id"`
		} `json:"videos"`
		Cursor  int64 `json:"cursor"`
		HasMore bool  `json:"has_more"`
	}
	err := u.Do(context.Background(), client.Request{
		Path:       client.PathVideoList,
		Query:      url.Values{"fields": {"id,title"}},
		Body:       map[string]int{"max_count": 20},
		Repeatable: true,
	}, &out)
	require.NoError(t, err)
	assert.Equal(t, "1", out.Videos[0].ID)
	assert.EqualValues(t, 5, out.Cursor)
	assert.True(t, out.HasMore)

	reqs := rs.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "POST", reqs[0].method, "a request with a body defaults to POST")
	assert.Equal(t, client.PathVideoList, reqs[0].path)
	assert.Equal(t, "fields=id%2Ctitle", reqs[0].rawQuery)
	assert.Equal(t, "application/json; charset=UTF-8", reqs[0].header.Get("Content-Type"))
	assert.JSONEq(t, `{"max_count":20}`, string(reqs[0].body))

	require.NoError(t, u.Do(context.Background(), client.Request{Path: "/v2/anything/"}, nil))
	assert.Equal(t, "GET", rs.requests()[1].method)
	assert.Empty(t, rs.requests()[1].header.Get("Content-Type"))

	bad := []client.Request{
		{Path: ""},
		{Path: "v2/video/list/"},
		{Path: "https://evil.example/steal"},
		{Path: "//evil.example/steal"},
		{Path: "/v2/x/?a=b"},
		{Path: "/v2/x/", Body: make(chan int)},
	}
	for _, r := range bad {
		require.ErrorIs(t, u.Do(context.Background(), r, nil), client.ErrInvalidInput, "%+v", r.Path)
	}
	var notPointer struct{}
	require.ErrorIs(t, u.Do(context.Background(), client.Request{Path: "/v2/x/"}, notPointer), client.ErrInvalidInput)
	assert.Equal(t, 2, rs.count(), "bad requests are refused before any request")
}

func TestHTTPClientAddsBearer(t *testing.T) {
	var mu sync.Mutex
	var auths []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer api.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, "other:"+r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer other.Close()

	c := newClient(t, api.URL)
	tok := userToken()
	hc := c.WithToken(tok).HTTPClient()

	req, err := http.NewRequest("GET", api.URL+"/v2/research/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Custom", "1")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, req.Header.Get("Authorization"), "the caller's request is not modified")

	resp, err = hc.Get(api.URL + "/redirect?to=" + url.QueryEscape(other.URL+"/x"))
	require.NoError(t, err)
	resp.Body.Close()

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"Bearer " + tok.AccessToken, "Bearer " + tok.AccessToken, "other:"}, auths,
		"the token goes to the API host only")
}

func TestContextHelpers(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1")
	u := c.ForUser("key-1", userToken(), nil)
	ctx := client.NewContext(context.Background(), u)
	got, ok := client.FromContext(ctx)
	require.True(t, ok)
	assert.Same(t, u, got)
	assert.Equal(t, "key-1", got.Key())
	assert.Same(t, c, got.Client())

	_, ok = client.FromContext(context.Background())
	assert.False(t, ok)
	_, ok = client.FromContext(client.NewContext(context.Background(), nil))
	assert.False(t, ok)
}

func TestForUserAllocatesOnce(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1")
	tok := userToken()
	var r client.Refresher = &fakeRefresher{}
	allocs := testing.AllocsPerRun(100, func() { _ = c.ForUser("k", tok, r) })
	assert.Equal(t, 1.0, allocs)
}
