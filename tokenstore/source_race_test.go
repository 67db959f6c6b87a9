package tokenstore_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// waitFor spins until cond holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// A request that starts a refresh on the Session store gives up (the
// browser navigated away) before the refresh finishes; its session is saved
// without the rotated token. Long after the grace period, the next request
// with that old copy must still get the successor, not log the user out.
func TestSessionCancelledLeaderKeepsTheSuccessor(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	sm := scs.New()
	st := tokenstore.NewSession(sm, tokenstore.SessionConfig{})
	refreshed := make(chan struct{}, 1)
	src := e.source(t, tokenstore.SourceConfig{Store: st, OnRefresh: func(string, *client.Token) { refreshed <- struct{}{} }})
	login, err := sm.Load(t.Context(), "")
	require.NoError(t, err)
	e.login(t, &sessionStore{st, login}, user)
	cookie, _, err := sm.Commit(login)
	require.NoError(t, err)
	e.expire()

	// Hold the token endpoint until the caller has given up.
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: time.Second, Times: 1})
	base, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(base)
	go func() {
		waitFor(t, "the refresh to reach TikTok", func() bool { return e.emu.Calls(tiktoktest.EndpointToken) == 1 })
		cancel()
	}()
	_, err = src.Token(ctx, user)
	require.Error(t, err, "the caller gave up")
	_, _, err = sm.Commit(base) // LoadAndSave saves the session as the handler returns
	require.NoError(t, err)
	<-refreshed
	require.Equal(t, 1, e.refreshes())

	e.clock.Advance(time.Hour) // far past the grace period
	next, err := sm.Load(t.Context(), cookie)
	require.NoError(t, err)
	tok, err := src.Token(next, user)
	require.NoError(t, err, "the rotated token never reached the saved session, yet the user stays logged in")
	require.True(t, tok.Valid(e.clock.Now()))
	require.Equal(t, 1, e.refreshes(), "the successor was used, not a second refresh")
	require.Zero(t, e.emu.RefreshTokenReuse())
}

// A delete (disconnect, webhook) while a refresh of the same key is in
// flight in this process must not be undone by that refresh's save.
func TestDeleteDuringRefreshStaysDeleted(t *testing.T) {
	e := newEnv(t, 0)
	user := e.users[0]
	st := tokenstore.NewMemory()
	e.login(t, st, user)
	src := e.source(t, tokenstore.SourceConfig{Store: st})
	e.expire()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 200 * time.Millisecond, Times: 1})
	done := make(chan struct{})
	go func() { defer close(done); _, _ = src.Token(context.Background(), user) }()
	waitFor(t, "the refresh to reach TikTok", func() bool { return e.emu.Calls(tiktoktest.EndpointToken) == 1 })
	require.NoError(t, src.Delete(t.Context(), user))
	<-done
	_, err := st.Get(t.Context(), user)
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "a deleted token came back")
	_, err = src.Token(t.Context(), user)
	require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
}

// overtakenRefresh sets up a refresh that another instance overtakes: a
// user's expired token in a store of backend b shared by two Sources,
// "refresher" and "other"; refresher starts a refresh whose answer TikTok
// holds for 200 ms, and while it is held, meanwhile runs with other (a
// disconnect, a new login). It returns refresher's answer.
type overtakenRefresh struct {
	e         *env
	user      string
	st        tokenstore.Store
	ctx       context.Context
	refresher *tokenstore.Source
	tok       *client.Token
	err       error
}

func runOvertakenRefresh(t *testing.T, b backend, meanwhile func(o *overtakenRefresh, other *tokenstore.Source)) *overtakenRefresh {
	t.Helper()
	e := newEnv(t, 0)
	o := &overtakenRefresh{e: e, user: e.users[0], st: b.store(t)}
	o.ctx = b.ctx(t, o.st)
	e.login(t, o.st, o.user)
	o.refresher = e.source(t, tokenstore.SourceConfig{Store: o.st})
	other := e.source(t, tokenstore.SourceConfig{Store: o.st})
	e.expire()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 200 * time.Millisecond, Times: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.tok, o.err = o.refresher.Token(o.ctx, o.user)
	}()
	waitFor(t, "the refresh to reach TikTok", func() bool { return e.emu.Calls(tiktoktest.EndpointToken) == 1 })
	meanwhile(o, other)
	<-done
	require.Equal(t, 1, e.refreshes())
	return o
}

// A delete by another instance (a disconnect or a deauthorization webhook
// it served) while this instance's refresh of the key is at TikTok must not
// be undone by the refresh's save: the deletion stands, the new grant is
// revoked and the caller must log in again.
func TestDeleteByAnotherInstanceDuringRefreshStaysDeleted(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			o := runOvertakenRefresh(t, b, func(o *overtakenRefresh, other *tokenstore.Source) {
				require.NoError(t, other.Delete(o.ctx, o.user))
			})
			require.ErrorIs(t, o.err, tokenstore.ErrLoginRequired)
			require.ErrorIs(t, o.err, tokenstore.ErrNotFound)

			_, err := o.st.Get(o.ctx, o.user)
			require.ErrorIs(t, err, tokenstore.ErrNotFound, "the refresh brought a deleted token back")
			require.Equal(t, 1, o.e.emu.Calls(tiktoktest.EndpointRevoke), "the grant refreshed after the deletion is revoked")
			_, err = o.refresher.Token(o.ctx, o.user)
			require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
			require.Equal(t, 1, o.e.refreshes(), "no refresh after the deletion")
		})
	}
}

// A user who disconnects and logs in again (another instance serves both)
// while this instance's refresh of the old grant is at TikTok keeps the new
// login: the refresh's save is a compare and swap, so it does not overwrite
// the new token with the old grant's, and the caller gets the new token.
func TestLoginDuringRefreshIsNotOverwritten(t *testing.T) {
	for _, b := range leasingBackends {
		t.Run(b.name, func(t *testing.T) {
			var fresh *client.Token
			o := runOvertakenRefresh(t, b, func(o *overtakenRefresh, other *tokenstore.Source) {
				require.NoError(t, other.Delete(o.ctx, o.user))
				fresh = o.e.issue(t, o.user)
				require.NoError(t, other.Save(o.ctx, o.user, fresh))
			})
			require.NoError(t, o.err)
			require.Equal(t, fresh.AccessToken, o.tok.AccessToken, "the caller gets the new login's token")

			got, err := o.st.Get(o.ctx, o.user)
			require.NoError(t, err)
			require.Equal(t, fresh.RefreshToken, got.RefreshToken, "the new login was overwritten by the old grant's refresh")
			require.Zero(t, o.e.emu.Calls(tiktoktest.EndpointRevoke), "nothing is revoked: the new login must stay valid")
			tok, err := o.refresher.Token(o.ctx, o.user)
			require.NoError(t, err)
			require.Equal(t, fresh.AccessToken, tok.AccessToken)
		})
	}
}
