package testtoken

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

func TestFromEmulator(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got := FromEmulator(tiktoktest.TokenResponse{
		AccessToken: "act.a", RefreshToken: "rft.r", TokenType: "Bearer", OpenID: "o",
		Scope: "user.info.basic,video.list", ExpiresIn: 86400, RefreshExpiresIn: 31536000,
	}, now)
	want := &client.Token{
		AccessToken: "act.a", RefreshToken: "rft.r", TokenType: "Bearer", OpenID: "o",
		Scopes: []string{"user.info.basic", "video.list"},
		Expiry: now.Add(24 * time.Hour), RefreshExpiry: now.Add(365 * 24 * time.Hour),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("FromEmulator (-want +got):\n%s", d)
	}
}
