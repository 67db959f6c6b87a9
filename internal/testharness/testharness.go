// Package testharness builds what the end-to-end tests of packages
// handlers and middleware share: a TikTok emulator on a clock that tests
// move by hand, a client wired to it, a token source over a store, scs
// sessions in memory, a log sink, and a cookie-keeping HTTP client that
// stops at every redirect (Browser). Each test suite mounts its own routes
// on top.
package testharness

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Epoch is the time the harness clock starts at.
var Epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// NewClock returns a hand-moved clock that reads Epoch.
func NewClock() *testutil.Clock { return testutil.NewClock(Epoch) }

// Users returns first followed by the emulator's default users, for
// tiktoktest.Config.Users.
func Users(first ...tiktoktest.User) []tiktoktest.User {
	return append(first, tiktoktest.DefaultUsers()...)
}

// NewLogger returns a logger that writes every level, debug included, as
// text to the buffer it also returns, so tests can read what was logged.
func NewLogger() (*slog.Logger, *testutil.SyncBuffer) {
	logs := &testutil.SyncBuffer{}
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs
}

// NewClient returns a client for the app the emulator knows, on its
// authorize and API URLs, with the given clock and logger and retries a few
// milliseconds apart. change, when not nil, adjusts the configuration
// first (a redirect URL, scopes).
func NewClient(t testing.TB, emu *tiktoktest.Server, now func() time.Time, logger *slog.Logger, change func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{
		ClientKey:    emu.ClientKey(),
		ClientSecret: emu.ClientSecret(),
		AuthURL:      emu.AuthURL(),
		APIURL:       emu.APIURL(),
		Logger:       logger,
		Clock:        now,
		Retry:        client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	}
	if change != nil {
		change(&cfg)
	}
	c, err := client.New(cfg)
	require.NoError(t, err)
	return c
}

// NewSessions returns an scs session manager on a memory store that runs
// no cleanup goroutine.
func NewSessions() *scs.SessionManager {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	return sm
}

// Config says how New wires a Stack.
type Config struct {
	// Emulator configures the emulator; its Clock is replaced by the
	// stack's clock.
	Emulator tiktoktest.Config
	// Client, when not nil, adjusts the client's configuration (see
	// NewClient).
	Client func(*client.Config)
	// Store is the store under the token source. Default: a new
	// tokenstore.Memory.
	Store tokenstore.Store
}

// Stack is the app side of a test that logs users in with TikTok, minus
// its routes: every part reads the same clock and logs to the same buffer.
type Stack struct {
	Clock    *testutil.Clock
	Logger   *slog.Logger
	Logs     *testutil.SyncBuffer
	Emulator *tiktoktest.Server
	Client   *client.Client
	Store    tokenstore.Store
	Source   *tokenstore.Source
	Sessions *scs.SessionManager
}

// New starts an emulator (closed when t ends) on a clock at Epoch and wires
// a client, a token source over cfg.Store and memory sessions to it.
func New(t testing.TB, cfg Config) *Stack {
	t.Helper()
	s := &Stack{Clock: NewClock(), Store: cfg.Store, Sessions: NewSessions()}
	s.Logger, s.Logs = NewLogger()
	ecfg := cfg.Emulator
	ecfg.Clock = s.Clock.Now
	s.Emulator = tiktoktest.NewServer(ecfg)
	t.Cleanup(s.Emulator.Close)
	s.Client = NewClient(t, s.Emulator, s.Clock.Now, s.Logger, cfg.Client)
	if s.Store == nil {
		s.Store = tokenstore.NewMemory()
	}
	var err error
	s.Source, err = tokenstore.NewSource(tokenstore.SourceConfig{Store: s.Store, Client: s.Client, Logger: s.Logger})
	require.NoError(t, err)
	return s
}

// UserInfoJSON is a page for middleware.Guard.RequireTikTokFunc: it asks
// TikTok for the user's open_id and display name and answers them as JSON
// {"open_id":..., "display_name":...}.
func UserInfoJSON(w http.ResponseWriter, r *http.Request, u *client.UserClient) error {
	info, err := u.UserInfo(r.Context(), client.FieldOpenID, client.FieldDisplayName)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]string{"open_id": info.OpenID, "display_name": info.DisplayName})
}
