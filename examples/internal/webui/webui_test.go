package webui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/handlers"
)

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{12840, "12,840"},
		{452107, "452,107"},
		{999999, "999,999"},
		{1_000_000, "1M"},
		{1_049_999, "1M"},
		{1_234_567, "1.2M"},
		{12_345_678, "12.3M"},
		{999_999_999, "999.9M"},
		{1_000_000_000, "1B"},
		{2_500_000_000, "2.5B"},
		{1_234_000_000_000, "1,234B"},
		{math.MaxInt64, "9,223,372,036.8B"},
		{-1500, "-1,500"},
		{math.MinInt64, "-9,223,372,036.8B"},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			assert.Equal(t, tc.want, Count(tc.n))
		})
	}
}

func TestParseCursor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true},
		{"0", 0, true},
		{"1700000000000", 1700000000000, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775808", 0, false},
		{"99999999999999999999", 0, false},
		{"-1", 0, false},
		{"+5", 0, false},
		{" 5", 0, false},
		{"5 ", 0, false},
		{"1e5", 0, false},
		{"0x10", 0, false},
		{"١٢", 0, false}, // digits, but not ASCII ones
		{"abc", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCursor(tc.in)
			if !tc.ok {
				assert.ErrorIs(t, err, ErrBadCursor)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAuthErrorPage(t *testing.T) {
	for _, tc := range []struct {
		err        error
		title      string
		loginAgain bool
	}{
		{handlers.ErrNoPendingLogin, "This login did not complete", true},
		{handlers.ErrStateMismatch, "This login did not complete", true},
		{&handlers.AuthorizeError{Code: "access_denied"}, "Login cancelled", true},
		{&handlers.AuthorizeError{Code: "server_error"}, "TikTok is not answering", true},
		{fmt.Errorf("%w: %w", handlers.ErrExchange, errors.New("connection refused")), "TikTok is not answering", true},
		{handlers.ErrScopeDeclined, "Permission not granted", true},
		{handlers.ErrCrossOrigin, "Not allowed", false},
		{handlers.ErrMethodNotAllowed, "Not available here", false},
		{handlers.ErrStore, "Something went wrong", false},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			p := AuthErrorPage(tc.err)
			assert.Equal(t, tc.title, p.Title)
			assert.Equal(t, tc.loginAgain, p.LoginAgain)
			assert.Equal(t, handlers.UserMessage(tc.err), p.Message)
			assert.NotContains(t, p.Message, "handlers:")
		})
	}
}

func TestGuardErrorPage(t *testing.T) {
	assert.Equal(t, "TikTok is not answering", GuardErrorPage(http.StatusServiceUnavailable).Title)
	assert.Equal(t, "TikTok is not answering", GuardErrorPage(http.StatusBadGateway).Title)
	assert.True(t, GuardErrorPage(http.StatusForbidden).LoginAgain)
	assert.Equal(t, "Something went wrong", GuardErrorPage(http.StatusInternalServerError).Title)
	assert.Equal(t, "temporarily_unavailable", GuardErrorCode(http.StatusServiceUnavailable))
	assert.Equal(t, "tiktok_error", GuardErrorCode(http.StatusBadGateway))
	assert.Equal(t, "internal_error", GuardErrorCode(http.StatusInternalServerError))
}

// TestLoadVideos pages through a user's 37 videos, 20 a page, with the
// cursor TikTok hands back.
func TestLoadVideos(t *testing.T) {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	user := emu.Users()[0]
	require.Equal(t, int64(37), user.VideoCount)
	tok, err := emu.IssueToken(user.OpenID, client.ScopeVideoList)
	require.NoError(t, err)
	c, err := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
		AuthURL: emu.AuthURL(), APIURL: emu.APIURL(), RedirectURL: "http://localhost/cb"})
	require.NoError(t, err)
	u := c.ForUser(tok.OpenID, &client.Token{AccessToken: tok.AccessToken, OpenID: tok.OpenID,
		Scopes: client.ParseScopes(tok.Scope)}, nil)
	ctx := context.Background()

	first, err := LoadVideos(ctx, u, "/videos", 0)
	require.NoError(t, err)
	assert.Len(t, first.Videos, VideosPerPage)
	assert.False(t, first.Paged)
	require.True(t, strings.HasPrefix(first.Older, "/videos?cursor="), first.Older)
	cursor, err := ParseCursor(strings.TrimPrefix(first.Older, "/videos?cursor="))
	require.NoError(t, err)

	second, err := LoadVideos(ctx, u, "/videos", cursor)
	require.NoError(t, err)
	assert.Len(t, second.Videos, 37-VideosPerPage)
	assert.True(t, second.Paged)
	assert.Empty(t, second.Older, "the last page links no further")
	assert.NotEqual(t, first.Videos[0].ID, second.Videos[0].ID)
	assert.Greater(t, first.Videos[len(first.Videos)-1].CreateTime, second.Videos[0].CreateTime, "older videos come next")
}
