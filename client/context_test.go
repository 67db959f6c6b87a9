package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
)

type ctxKeyForTest struct{}

func TestNewUserContext(t *testing.T) {
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s", RedirectURL: "https://app.example/cb"})
	require.NoError(t, err)
	tok := &client.Token{AccessToken: "act.x", OpenID: "u1"}
	parent := context.WithValue(context.Background(), ctxKeyForTest{}, "kept")

	ctx, u := c.NewUserContext(parent, "u1", tok, nil)
	got, ok := client.FromContext(ctx)
	require.True(t, ok)
	assert.Same(t, u, got)
	assert.Same(t, tok, got.Token())
	assert.Equal(t, "u1", got.Key())
	assert.Same(t, c, got.Client())
	assert.Equal(t, "kept", ctx.Value(ctxKeyForTest{}), "the parent's values stay reachable")

	// A later NewContext overrides it, as context values do.
	other := c.WithToken(&client.Token{AccessToken: "act.y"})
	got, _ = client.FromContext(client.NewContext(ctx, other))
	assert.Same(t, other, got)

	_, ok = client.FromContext(parent)
	assert.False(t, ok)

	allocs := testing.AllocsPerRun(100, func() {
		ctx, _ := c.NewUserContext(parent, "u1", tok, nil)
		_ = ctx
	})
	assert.LessOrEqual(t, allocs, 1.0, "one allocation for the context and the user client")
}

func TestUserInfoRawWithoutAnswer(t *testing.T) {
	var nilInfo *client.UserInfo
	assert.Nil(t, nilInfo.Raw())
	assert.Nil(t, (&client.UserInfo{DisplayName: "made by hand"}).Raw())
}

func TestUploadErrorHidesTheUploadToken(t *testing.T) {
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s", RedirectURL: "https://app.example/cb"})
	require.NoError(t, err)
	plan, err := client.PlanChunks(1024, 0)
	require.NoError(t, err)
	// Nothing listens on port 1 of the loopback: the PUT fails to connect.
	const secret = "upload-token-that-must-not-leak"
	err = c.Upload(context.Background(), "http://127.0.0.1:1/upload/?upload_id=1&upload_token="+secret,
		strings.NewReader(strings.Repeat("x", 1024)), 1024, plan, client.UploadOptions{MaxChunkRetries: -1})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
	assert.Contains(t, err.Error(), "upload_token=REDACTED")
}
