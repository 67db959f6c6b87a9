package tiktoktest_test

import (
	"bytes"
	"html"
	"log"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

func TestConsentPageShowsAppName(t *testing.T) {
	const redirect = "https://a.example/cb"
	for _, tc := range []struct {
		name string
		cfg  tiktoktest.Config
		want string
	}{
		{"default", tiktoktest.Config{}, "Test App would like to access your TikTok account"},
		{"configured", tiktoktest.Config{AppName: `Dana's <Shop>`, ClientKey: "aw1k2e3y"}, html.EscapeString(`Dana's <Shop>`) + " would like to access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := newEmu(t, tc.cfg)
			r := get(t, emu, "/v2/auth/authorize/?"+authorizeQuery(emu.ClientKey(), redirect, "user.info.basic", "st"))
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			body := string(r.body)
			assert.Contains(t, body, tc.want)
			assert.NotContains(t, body, "<h1>"+emu.ClientKey(), "the heading names the app, not its key")
			assert.Contains(t, body, "Client key: "+emu.ClientKey(), "the key is still there for developers")
		})
	}
}

// TestSilentWithoutLogger checks that an emulator without Config.Logger
// writes nothing, neither to slog.Default() nor to the log package, however
// its requests end (success, fault, unknown path), so that it stays quiet
// inside an app's tests unless asked.
func TestSilentWithoutLogger(t *testing.T) {
	var logs testutil.SyncBuffer
	oldSlog, oldFlags, oldOut := slog.Default(), log.Flags(), log.Writer()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.SetOutput(&logs)
	t.Cleanup(func() {
		slog.SetDefault(oldSlog)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
	})

	emu := newEmu(t, tiktoktest.Config{AutoApprove: true})
	code := authCode(t, emu, "https://a.example/cb", "user.info.basic")
	tok := tokenJSON(t, postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, "https://a.example/cb")))
	emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: 500, Times: 1})
	bearerGet(t, emu, "/v2/user/info/?fields=open_id", tok.AccessToken)
	postForm(t, emu, "/v2/oauth/token/", exchangeForm(emu, code, "https://a.example/cb")) // a used code
	get(t, emu, "/nowhere")
	emu.Close()
	assert.Empty(t, logs.String())

	// The same requests with a logger write to it.
	var own bytes.Buffer
	emu = tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true, Logger: slog.New(slog.NewTextHandler(&own, nil))})
	get(t, emu, "/nowhere")
	emu.Close()
	assert.Contains(t, own.String(), "path=/nowhere status=404")
	assert.Empty(t, logs.String())
}
