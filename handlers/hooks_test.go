package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// handlerHooks records what the handlers report.
type handlerHooks struct {
	mu      sync.Mutex
	events  []string // "start:<handler>", "end:<handler>:<outcome>", "logout:<reason>"
	spanCtx int      // calls that got the context HandlerStart returned
}

type handlerSpanKey struct{}

func (h *handlerHooks) HandlerStart(ctx context.Context, handler string) context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, "start:"+handler)
	return context.WithValue(ctx, handlerSpanKey{}, handler)
}

func (h *handlerHooks) HandlerEnd(ctx context.Context, handler string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Value(handlerSpanKey{}) == handler {
		h.spanCtx++
	}
	h.events = append(h.events, "end:"+handler+":"+handlers.Outcome(err))
}

func (h *handlerHooks) Logout(ctx context.Context, reason tokenstore.LogoutReason) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Value(handlerSpanKey{}) == handlers.HandlerDisconnect {
		h.spanCtx++
	}
	h.events = append(h.events, "logout:"+string(reason))
}

func (h *handlerHooks) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := h.events
	h.events = nil
	return ev
}

func TestHooksSeeCallbackAndDisconnect(t *testing.T) {
	h := &handlerHooks{}
	a := newApp(t, appOptions{handlersCfg: func(c *handlers.Config) { c.Hooks = h }})
	b := a.newBrowser()
	hops := b.login("/me")
	require.Equal(t, http.StatusOK, hops[len(hops)-1].Status)
	assert.Equal(t, []string{"start:callback", "end:callback:ok"}, h.take())

	// A replayed callback fails as the user's own mistake.
	cb := b.toCallback("/auth/tiktok/login")
	require.Equal(t, http.StatusFound, b.Get(cb).Status)
	require.Equal(t, http.StatusBadRequest, b.Get(cb).Status)
	assert.Equal(t, []string{"start:callback", "end:callback:ok", "start:callback", "end:callback:no_pending_login"}, h.take())

	r := b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
	require.Equal(t, http.StatusSeeOther, r.Status)
	assert.Equal(t, []string{"start:disconnect", "logout:disconnect", "end:disconnect:ok"}, h.take())

	// Logged out already: Disconnect only redirects, nobody is logged out.
	r = b.PostForm("/auth/tiktok/disconnect", url.Values{"csrf_token": {b.csrf()}})
	require.Equal(t, http.StatusSeeOther, r.Status)
	assert.Equal(t, []string{"start:disconnect", "end:disconnect:ok"}, h.take())
	assert.Equal(t, 6, h.spanCtx, "every end and logout got the context HandlerStart returned")
}

func TestHandlerOutcome(t *testing.T) {
	assert.Equal(t, "ok", handlers.Outcome(nil))
	assert.Equal(t, "login_denied", handlers.Outcome(&handlers.AuthorizeError{Code: "access_denied"}))
	assert.Equal(t, "exchange", handlers.Outcome(fmt.Errorf("%w: %w", handlers.ErrExchange, client.ErrInvalidGrant)))
	assert.Equal(t, "error", handlers.Outcome(errors.New("other")))
}

// failingStore is a token store whose backend is down or slow.
type failingStore struct {
	tokenstore.Store
	err   error
	delay time.Duration
}

func (s *failingStore) Get(ctx context.Context, key string) (*client.Token, error) {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.Store.Get(ctx, key)
}

type pingStore struct {
	tokenstore.Store
	err   error
	pings int
}

func (s *pingStore) Ping(context.Context) error { s.pings++; return s.err }

func TestHealth(t *testing.T) {
	down := errors.New("connection refused")
	ps := &pingStore{Store: tokenstore.NewMemory()}
	tests := []struct {
		name   string
		cfg    handlers.HealthConfig
		method string
		want   int
	}{
		{"memory store", handlers.HealthConfig{Store: tokenstore.NewMemory()}, http.MethodGet, 200},
		{"HEAD", handlers.HealthConfig{Store: tokenstore.NewMemory()}, http.MethodHead, 200},
		{"POST", handlers.HealthConfig{Store: tokenstore.NewMemory()}, http.MethodPost, 405},
		{"store down", handlers.HealthConfig{Store: &failingStore{Store: tokenstore.NewMemory(), err: down}}, http.MethodGet, 503},
		{"store too slow", handlers.HealthConfig{Store: &failingStore{Store: tokenstore.NewMemory(), delay: time.Second},
			Timeout: 20 * time.Millisecond}, http.MethodGet, 503},
		{"pinger", handlers.HealthConfig{Store: ps}, http.MethodGet, 200},
		{"pinger down", handlers.HealthConfig{Store: &pingStore{Store: tokenstore.NewMemory(), err: down}}, http.MethodGet, 503},
		{"extra check down", handlers.HealthConfig{Store: tokenstore.NewMemory(),
			Checks: []func(context.Context) error{func(context.Context) error { return down }}}, http.MethodGet, 503},
		{"check that never returns", handlers.HealthConfig{Store: tokenstore.NewMemory(), Timeout: 20 * time.Millisecond,
			Checks: []func(context.Context) error{func(context.Context) error { select {} }}}, http.MethodGet, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testutil.SyncBuffer
			tt.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			h, err := handlers.Health(tt.cfg)
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, "/healthz", nil))
			assert.Equal(t, tt.want, rec.Code)
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			body, _ := io.ReadAll(rec.Body)
			switch {
			case tt.want == 200 && tt.method == http.MethodGet:
				assert.JSONEq(t, `{"status":"ok"}`, string(body))
			case tt.want == 503:
				assert.JSONEq(t, `{"status":"unavailable"}`, string(body))
				assert.NotContains(t, string(body), "refused", "the answer carries no detail")
				assert.Contains(t, logs.String(), "health check failed")
			}
		})
	}
	assert.Equal(t, 1, ps.pings, "a Pinger is pinged instead of read")

	_, err := handlers.Health(handlers.HealthConfig{})
	require.Error(t, err)
	_, err = handlers.Health(handlers.HealthConfig{Store: tokenstore.NewMemory(), Timeout: -1})
	require.Error(t, err)
}
