package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
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

// The default users of the emulator: Alice has 37 videos, Bob 4, Carol none.
var (
	mediaAlice = tiktoktest.DefaultUsers()[0].OpenID
	mediaBob   = tiktoktest.DefaultUsers()[1].OpenID
	mediaCarol = tiktoktest.DefaultUsers()[2].OpenID
)

// mediaEmu starts an emulator and a client for it with fast retries.
func mediaEmu(t testing.TB) (*tiktoktest.Server, *client.Client) {
	t.Helper()
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	t.Cleanup(emu.Close)
	c, err := client.New(client.Config{
		ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL(), AuthURL: emu.AuthURL(),
		Retry: client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		// The posting tests send more inits per token than TikTok's 6 a
		// minute; the client's own quota keeping is tested in quota_test.go.
		NoQuotas: true,
	})
	require.NoError(t, err)
	return emu, c
}

// mediaToken mints a token at the emulator for the user with the scopes.
func mediaToken(t testing.TB, emu *tiktoktest.Server, openID string, scopes ...string) *client.Token {
	t.Helper()
	tr, err := emu.IssueToken(openID, scopes...)
	require.NoError(t, err)
	return &client.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, OpenID: tr.OpenID,
		Scopes: client.ParseScopes(tr.Scope), Expiry: time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)}
}

// mediaUser binds a fresh token of the user to c.
func mediaUser(t testing.TB, emu *tiktoktest.Server, c *client.Client, openID string, scopes ...string) *client.UserClient {
	t.Helper()
	return c.WithToken(mediaToken(t, emu, openID, scopes...))
}

// mediaRefresher refreshes through the client and counts its calls.
type mediaRefresher struct {
	c     *client.Client
	mu    sync.Mutex
	calls int
}

func (r *mediaRefresher) ForceRefresh(ctx context.Context, key string, failed *client.Token) (*client.Token, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	return r.c.Refresh(ctx, failed.RefreshToken)
}

func TestVideoFields(t *testing.T) {
	all := client.AllVideoFields()
	require.Len(t, all, 15)
	for _, f := range all {
		assert.Equal(t, client.ScopeVideoList, f.Scope(), f)
	}
	assert.Empty(t, client.VideoField("email").Scope())
	all[0] = "changed"
	assert.Equal(t, client.VideoFieldID, client.AllVideoFields()[0], "a new slice on every call")
}

func TestVideoListPages(t *testing.T) {
	emu, c := mediaEmu(t)
	uc := mediaUser(t, emu, c, mediaAlice, client.ScopeVideoList)
	want := emu.Videos(mediaAlice)
	require.Len(t, want, 37)

	page, err := uc.VideoList(context.Background(), client.VideoListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Videos, 20, "default page size is the maximum, 20")
	assert.True(t, page.HasMore)
	assert.Equal(t, want[19].CreateTime*1000, page.Cursor, "cursor in milliseconds")
	v := page.Videos[0]
	assert.Equal(t, want[0].ID, v.ID)
	assert.Equal(t, want[0].Title, v.Title)
	assert.Equal(t, want[0].ViewCount, v.ViewCount)
	assert.Equal(t, time.Unix(want[0].CreateTime, 0).UTC(), v.Created())
	assert.Contains(t, v.CoverImageURL, "/_emulator/cover?video_id="+v.ID)
	assert.JSONEq(t, `"`+v.ID+`"`, string(mustField(t, v.Raw, "id")))

	page2, err := uc.VideoList(context.Background(), client.VideoListOptions{Cursor: page.Cursor, MaxCount: 20,
		Fields: []client.VideoField{client.VideoFieldID, client.VideoFieldTitle}})
	require.NoError(t, err)
	require.Len(t, page2.Videos, 17)
	assert.False(t, page2.HasMore)
	assert.Equal(t, want[20].ID, page2.Videos[0].ID)
	assert.Zero(t, page2.Videos[0].ViewCount, "fields not asked for stay zero")
	assert.NotContains(t, string(page2.Videos[0].Raw), "view_count")
}

func mustField(t *testing.T, raw []byte, name string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return m[name]
}

// mediaServer is an httptest server with the handler, closed at the end.
func mediaServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestVideosIterator(t *testing.T) {
	emu, c := mediaEmu(t)
	uc := mediaUser(t, emu, c, mediaAlice, client.ScopeVideoList)
	want := emu.Videos(mediaAlice)

	var ids []string
	for v, err := range uc.Videos(context.Background(), client.VideoListOptions{MaxCount: 7}) {
		require.NoError(t, err)
		ids = append(ids, v.ID)
	}
	wantIDs := make([]string, len(want))
	for i, v := range want {
		wantIDs[i] = v.ID
	}
	assert.Equal(t, wantIDs, ids, "every video once, newest first")
	assert.Equal(t, 6, emu.Calls(tiktoktest.EndpointVideoList), "ceil(37/7) pages")

	t.Run("caller stops", func(t *testing.T) {
		emu.ResetCounters()
		n := 0
		for range uc.Videos(context.Background(), client.VideoListOptions{MaxCount: 5}) {
			n++
			if n == 6 {
				break
			}
		}
		assert.Equal(t, 6, n)
		assert.Equal(t, 2, emu.Calls(tiktoktest.EndpointVideoList), "no page fetched after the break")
	})

	t.Run("error yielded once", func(t *testing.T) {
		emu.ResetCounters()
		emu.InjectFault(tiktoktest.EndpointVideoList, tiktoktest.Fault{ErrorCode: "scope_not_authorized", Status: 401})
		defer emu.ClearFaults()
		var errs []error
		n := 0
		for _, err := range uc.Videos(context.Background(), client.VideoListOptions{}) {
			n++
			if err != nil {
				errs = append(errs, err)
			}
		}
		require.Len(t, errs, 1)
		assert.Equal(t, 1, n)
		assert.ErrorIs(t, errs[0], client.ErrScopeNotAuthorized)
	})

	t.Run("empty account", func(t *testing.T) {
		carol := mediaUser(t, emu, c, mediaCarol, client.ScopeVideoList)
		n := 0
		for _, err := range carol.Videos(context.Background(), client.VideoListOptions{}) {
			require.NoError(t, err)
			n++
		}
		assert.Zero(t, n)
	})
}

// TestVideosCursorStuck: a server that says has_more but hands back the
// same cursor would page forever; the iterator stops with an error.
func TestVideosCursorStuck(t *testing.T) {
	srv := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"videos":[{"id":"1"}],"cursor":0,"has_more":true},"error":{"code":"ok","message":"","log_id":"x"}}`))
	})
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s", APIURL: srv.URL})
	require.NoError(t, err)
	uc := c.WithToken(&client.Token{AccessToken: "act.x"})
	var got []error
	for _, err := range uc.Videos(context.Background(), client.VideoListOptions{}) {
		got = append(got, err)
	}
	require.Len(t, got, 2)
	assert.NoError(t, got[0])
	assert.ErrorContains(t, got[1], "cursor did not move")
}

func TestVideoListRefusedBeforeRequest(t *testing.T) {
	emu, c := mediaEmu(t)
	tests := []struct {
		name   string
		scopes []string
		opts   client.VideoListOptions
		want   error
	}{
		{"max count above 20", []string{client.ScopeVideoList}, client.VideoListOptions{MaxCount: 21}, client.ErrInvalidInput},
		{"negative max count", []string{client.ScopeVideoList}, client.VideoListOptions{MaxCount: -1}, client.ErrInvalidInput},
		{"negative cursor", []string{client.ScopeVideoList}, client.VideoListOptions{Cursor: -5}, client.ErrInvalidInput},
		{"unknown field", []string{client.ScopeVideoList}, client.VideoListOptions{Fields: []client.VideoField{"email"}}, client.ErrInvalidInput},
		{"token without video.list", []string{client.ScopeUserInfoBasic}, client.VideoListOptions{}, client.ErrMissingScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uc := mediaUser(t, emu, c, mediaAlice, tt.scopes...)
			_, err := uc.VideoList(context.Background(), tt.opts)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	assert.Zero(t, emu.Calls(tiktoktest.EndpointVideoList), "nothing was sent")
	var mse *client.MissingScopeError
	_, err := mediaUser(t, emu, c, mediaAlice, client.ScopeUserInfoBasic).QueryVideos(context.Background(), []string{"1"})
	require.ErrorAs(t, err, &mse)
	assert.Equal(t, client.ScopeVideoList, mse.Scope)
}

// TestVideoListRepeatable: a 503 is retried, and a token TikTok killed is
// refreshed once and the call repeated.
func TestVideoListRepeatable(t *testing.T) {
	emu, c := mediaEmu(t)
	emu.InjectFault(tiktoktest.EndpointVideoList, tiktoktest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	uc := mediaUser(t, emu, c, mediaAlice, client.ScopeVideoList)
	_, err := uc.VideoList(context.Background(), client.VideoListOptions{MaxCount: 1})
	require.NoError(t, err)
	assert.Equal(t, 2, emu.Calls(tiktoktest.EndpointVideoList))

	emu.KillAccessTokens()
	r := &mediaRefresher{c: c}
	tok := mediaToken(t, emu, mediaAlice, client.ScopeVideoList)
	emu.KillAccessTokens()
	uc = c.ForUser(mediaAlice, tok, r)
	page, err := uc.VideoList(context.Background(), client.VideoListOptions{MaxCount: 3})
	require.NoError(t, err)
	assert.Len(t, page.Videos, 3)
	assert.Equal(t, 1, r.calls)
	assert.NotEqual(t, tok.AccessToken, uc.Token().AccessToken, "the refreshed token is kept")

	emu.KillAccessTokens()
	_, err = uc.QueryVideos(context.Background(), []string{page.Videos[0].ID})
	require.NoError(t, err)
	assert.Equal(t, 2, r.calls, "video query is repeatable too")
}

func TestQueryVideos(t *testing.T) {
	emu, c := mediaEmu(t)
	uc := mediaUser(t, emu, c, mediaAlice, client.ScopeVideoList)
	all := emu.Videos(mediaAlice)
	bobs := emu.Videos(mediaBob)

	// 30 IDs in a scrambled order, with a duplicate, an unknown ID and one
	// of Bob's videos: two batches; the answer follows the order asked,
	// without the IDs that are not Alice's.
	var ids, want []string
	for i := 36; i >= 0; i -= 3 {
		ids = append(ids, all[i].ID)
		want = append(want, all[i].ID)
	}
	for i := 1; i < 35; i += 2 {
		if i%3 == 0 {
			continue
		}
		ids = append(ids, all[i].ID)
		want = append(want, all[i].ID)
	}
	ids = slices.Insert(ids, 5, "7999999999999999999", bobs[0].ID, all[36].ID)
	require.Greater(t, len(ids), 20)

	got, err := uc.QueryVideos(context.Background(), ids, client.VideoFieldTitle, client.VideoFieldCoverImageURL)
	require.NoError(t, err)
	gotIDs := make([]string, len(got))
	for i, v := range got {
		gotIDs[i] = v.ID
		assert.NotEmpty(t, v.Title)
		assert.NotEmpty(t, v.CoverImageURL)
		assert.Zero(t, v.ViewCount)
	}
	assert.Equal(t, want, gotIDs)
	assert.Equal(t, 2, emu.Calls(tiktoktest.EndpointVideoQuery), "batches of 20 after removing the duplicate")

	t.Run("empty input sends nothing", func(t *testing.T) {
		emu.ResetCounters()
		got, err := uc.QueryVideos(context.Background(), nil)
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.Zero(t, emu.Calls(tiktoktest.EndpointVideoQuery))
	})
	t.Run("empty id refused", func(t *testing.T) {
		_, err := uc.QueryVideos(context.Background(), []string{"1", " "})
		assert.ErrorIs(t, err, client.ErrInvalidInput)
	})
	t.Run("error in a batch fails the call", func(t *testing.T) {
		emu.InjectFault(tiktoktest.EndpointVideoQuery, tiktoktest.Fault{ErrorCode: "invalid_params", Status: 400})
		defer emu.ClearFaults()
		_, err := uc.QueryVideos(context.Background(), ids)
		var ae *client.APIError
		require.ErrorAs(t, err, &ae)
		assert.True(t, errors.Is(err, client.ErrInvalidRequest))
		assert.NotEmpty(t, ae.LogID)
	})
}

// TestVideoFromEmulatorMatches compares every field the client decodes with
// the emulator's record.
func TestVideoFromEmulatorMatches(t *testing.T) {
	emu, c := mediaEmu(t)
	uc := mediaUser(t, emu, c, mediaBob, client.ScopeVideoList)
	page, err := uc.VideoList(context.Background(), client.VideoListOptions{})
	require.NoError(t, err)
	want := emu.Videos(mediaBob)
	require.Len(t, page.Videos, len(want))
	for i, v := range page.Videos {
		w := want[i]
		exp := client.Video{ID: w.ID, CreateTime: w.CreateTime, CoverImageURL: v.CoverImageURL, ShareURL: w.ShareURL,
			VideoDescription: w.VideoDescription, Duration: w.Duration, Height: w.Height, Width: w.Width, Title: w.Title,
			EmbedHTML: w.EmbedHTML, EmbedLink: w.EmbedLink, LikeCount: w.LikeCount, CommentCount: w.CommentCount,
			ShareCount: w.ShareCount, ViewCount: w.ViewCount}
		assert.Empty(t, cmp.Diff(exp, v, cmpopts.IgnoreFields(client.Video{}, "Raw")))
	}
}

func ExampleUserClient_Videos() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	c, _ := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL()})
	tr, _ := emu.IssueToken(tiktoktest.DefaultUsers()[1].OpenID, client.ScopeVideoList)
	uc := c.WithToken(&client.Token{AccessToken: tr.AccessToken, Scopes: client.ParseScopes(tr.Scope)})

	// Every public video, newest first; the iterator fetches the pages.
	n := 0
	for v, err := range uc.Videos(context.Background(), client.VideoListOptions{
		Fields: []client.VideoField{client.VideoFieldID, client.VideoFieldTitle},
	}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if n == 0 {
			fmt.Println("newest:", v.Title)
		}
		n++
	}
	fmt.Println(n, "videos")
	// Output:
	// newest: One-pan pasta in ten minutes
	// 4 videos
}
