package tokenstore_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testtoken"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// env is an emulator rotating refresh tokens strictly, and a client on it.
type env struct {
	emu *tiktoktest.Server
	// clock is the time shared by the emulator, the client and the Source:
	// the wall clock plus an offset that tests push forward to expire
	// tokens.
	clock  *testutil.Clock
	client *client.Client
	users  []string
}

func newEnv(t testing.TB, users int) *env {
	t.Helper()
	e := &env{clock: testutil.NewWallClock()}
	cfg := tiktoktest.Config{Clock: e.clock.Now}
	if users > 0 {
		for i := range users {
			id := fmt.Sprintf("-000user%03d", i)
			cfg.Users = append(cfg.Users, tiktoktest.User{OpenID: id, DisplayName: "User " + id})
			e.users = append(e.users, id)
		}
	} else {
		for _, u := range tiktoktest.DefaultUsers() {
			e.users = append(e.users, u.OpenID)
		}
	}
	e.emu = tiktoktest.NewServer(cfg)
	t.Cleanup(e.emu.Close)
	cl, err := client.New(client.Config{
		ClientKey:    e.emu.ClientKey(),
		ClientSecret: e.emu.ClientSecret(),
		AuthURL:      e.emu.AuthURL(),
		APIURL:       e.emu.APIURL(),
		Clock:        e.clock.Now,
		Logger:       slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	e.client = cl
	return e
}

// issue mints a grant for user at the emulator, as a login would.
func (e *env) issue(t testing.TB, user string) *client.Token {
	t.Helper()
	r, err := e.emu.IssueToken(user)
	require.NoError(t, err)
	return testtoken.FromEmulator(r, e.clock.Now())
}

// login issues a grant for user and saves it under the user's open_id.
func (e *env) login(t testing.TB, st tokenstore.Store, user string) *client.Token {
	t.Helper()
	tok := e.issue(t, user)
	require.NoError(t, st.Put(t.Context(), user, tok))
	return tok
}

// expire moves time past every access token's expiry (24h at the emulator).
func (e *env) expire() { e.clock.Advance(25 * time.Hour) }

func (e *env) refreshes() int { return e.emu.Grants("refresh_token") }

func (e *env) source(t testing.TB, cfg tokenstore.SourceConfig) *tokenstore.Source {
	t.Helper()
	cfg.Client = e.client
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	src, err := tokenstore.NewSource(cfg)
	require.NoError(t, err)
	return src
}
