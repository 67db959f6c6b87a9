package tokenstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// sourceHooks records what a Source reports.
type sourceHooks struct {
	mu      sync.Mutex
	started []bool // forced
	reports []tokenstore.RefreshReport
	leases  []bool // acquired
	logouts []tokenstore.LogoutReason
	badCtx  int // calls whose context is not the one RefreshStart returned
}

type refreshSpanKey struct{}

func (h *sourceHooks) RefreshStart(ctx context.Context, forced bool) context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started = append(h.started, forced)
	return context.WithValue(ctx, refreshSpanKey{}, true)
}

func (h *sourceHooks) check(ctx context.Context) {
	if ctx.Value(refreshSpanKey{}) != true {
		h.badCtx++
	}
}

func (h *sourceHooks) RefreshEnd(ctx context.Context, r tokenstore.RefreshReport) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.check(ctx)
	h.reports = append(h.reports, r)
}

func (h *sourceHooks) LeaseWait(ctx context.Context, _ time.Duration, acquired bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.check(ctx)
	h.leases = append(h.leases, acquired)
}

func (h *sourceHooks) Logout(ctx context.Context, reason tokenstore.LogoutReason) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.check(ctx)
	h.logouts = append(h.logouts, reason)
}

// outcomes counts the reports by outcome.
func (h *sourceHooks) outcomes() map[tokenstore.RefreshOutcome]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := map[tokenstore.RefreshOutcome]int{}
	for _, r := range h.reports {
		m[r.Outcome]++
	}
	return m
}

func TestHooksConcurrentRefreshIsOneOKAndTheRestCoalesced(t *testing.T) {
	h := &sourceHooks{}
	e := newSourceEnv(t, withConfig(tokenstore.SourceConfig{Hooks: h}))
	e.expire()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: 50 * time.Millisecond, Times: 1})
	const callers = 25
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := e.src.Token(e.ctx, e.user)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.Equal(t, 1, e.refreshes())
	assert.Equal(t, map[tokenstore.RefreshOutcome]int{tokenstore.RefreshOK: 1, tokenstore.RefreshCoalesced: callers - 1}, h.outcomes())
	assert.Len(t, h.started, callers)
	assert.Equal(t, []bool{true}, h.leases, "the leader took the Memory store's lease once")
	assert.Empty(t, h.logouts)
	assert.Zero(t, h.badCtx)
	for _, r := range h.reports {
		assert.False(t, r.Forced)
		assert.NoError(t, r.Err)
	}

	// Valid now: no refresh, nothing reported.
	_, err := e.src.Token(e.ctx, e.user)
	require.NoError(t, err)
	assert.Len(t, h.reports, callers)
}

func TestHooksLogoutReasons(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(e *sourceEnv)
		call   func(e *sourceEnv) error
		reason tokenstore.LogoutReason
		forced bool
	}{
		{"invalid grant", func(e *sourceEnv) { e.emu.RevokeAllGrants(); e.expire() },
			func(e *sourceEnv) error { _, err := e.src.Token(e.ctx, e.user); return err },
			tokenstore.LogoutInvalidGrant, false},
		{"revoked", func(e *sourceEnv) { e.emu.RevokeAllGrants() },
			func(e *sourceEnv) error { _, err := e.src.ForceRefresh(e.ctx, e.user, e.tok); return err },
			tokenstore.LogoutRevoked, true},
		{"refresh expired", func(e *sourceEnv) {
			tok := *e.tok
			tok.RefreshExpiry = e.clock.Now().Add(time.Hour)
			require.NoError(t, e.store.Put(e.ctx, e.user, &tok))
			e.expire()
		},
			func(e *sourceEnv) error { _, err := e.src.Token(e.ctx, e.user); return err },
			tokenstore.LogoutRefreshExpired, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &sourceHooks{}
			e := newSourceEnv(t, withConfig(tokenstore.SourceConfig{Hooks: h}))
			tt.setup(e)
			err := tt.call(e)
			require.ErrorIs(t, err, tokenstore.ErrLoginRequired)
			assert.Equal(t, []tokenstore.LogoutReason{tt.reason}, h.logouts)
			require.Len(t, h.reports, 1)
			assert.Equal(t, tokenstore.RefreshInvalidGrant, h.reports[0].Outcome)
			assert.Equal(t, tt.forced, h.reports[0].Forced)
			assert.ErrorIs(t, h.reports[0].Err, tokenstore.ErrLoginRequired)
			assert.Zero(t, h.badCtx)
		})
	}
}

func TestHooksTemporaryFailure(t *testing.T) {
	h := &sourceHooks{}
	e := newSourceEnv(t, withConfig(tokenstore.SourceConfig{Hooks: h}))
	e.expire()
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 503, Times: 1})
	_, err := e.src.Token(e.ctx, e.user)
	require.Error(t, err)
	_, err = e.src.Token(e.ctx, e.user)
	require.NoError(t, err)
	require.Len(t, h.reports, 2)
	assert.Equal(t, tokenstore.RefreshTemporaryFailure, h.reports[0].Outcome)
	assert.Error(t, h.reports[0].Err)
	assert.Equal(t, tokenstore.RefreshOK, h.reports[1].Outcome)
	assert.Empty(t, h.logouts, "a temporary failure logs nobody out")
}

// Another instance holds the lease and saves a fresh token meanwhile: this
// Source waits, finds it, and TikTok is not asked.
func TestHooksOvertakenByAnotherInstance(t *testing.T) {
	h := &sourceHooks{}
	st := tokenstore.NewMemory()
	e := newSourceEnv(t, onStore(st), withConfig(tokenstore.SourceConfig{Hooks: h}))
	e.expire()
	ok, err := st.TryLease(e.ctx, e.user, "other-instance", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)

	done := make(chan error, 1)
	go func() {
		_, err := e.src.Token(e.ctx, e.user)
		done <- err
	}()
	// Wait until the refresh is waiting for the lease, then play the other
	// instance: a fresh token saved, the lease released.
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.started) == 1
	}, 5*time.Second, time.Millisecond)
	fresh := e.issue(t, e.user)
	require.NoError(t, st.Put(e.ctx, e.user, fresh))
	require.NoError(t, st.ReleaseLease(e.ctx, e.user, "other-instance"))
	require.NoError(t, <-done)

	assert.Zero(t, e.refreshes(), "TikTok was not asked")
	require.Len(t, h.reports, 1)
	assert.Equal(t, tokenstore.RefreshOvertaken, h.reports[0].Outcome)
	assert.Len(t, h.leases, 1, "one lease wait, which ended with the other holder's token or the lease")
	assert.Positive(t, h.reports[0].LeaseWait)
}

func TestHooksUnsetChangeNothing(t *testing.T) {
	e := newSourceEnv(t)
	e.expire()
	tok, err := e.src.Token(e.ctx, e.user)
	require.NoError(t, err)
	assert.NotEqual(t, e.tok.AccessToken, tok.AccessToken)
	var _ client.Refresher = e.src
}
