package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventHooks records what the handler reports.
type eventHooks struct {
	mu  sync.Mutex
	got []string // "<event>/<outcome>"
}

func (h *eventHooks) WebhookEvent(_ context.Context, event, outcome string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, event+"/"+outcome)
}

func TestHooksSeeEveryOutcome(t *testing.T) {
	hooks := &eventHooks{}
	f := newFixture(t, func(c *Config) { c.Hooks = hooks; c.MaxBodyBytes = 1024 })
	removed := eventJSON(EventAuthorizationRemoved, "open-1", `{"reason":1}`)
	published := eventJSON(EventPublishComplete, "open-1", `{"publish_id":"p"}`)
	sig := Sign(testSecret, f.clock.Now(), []byte(removed))

	assert.Equal(t, http.StatusOK, f.sendSigned(t, removed, sig))
	assert.Equal(t, http.StatusOK, f.sendSigned(t, removed, sig), "a replay is acknowledged")
	assert.Equal(t, http.StatusUnauthorized, f.sendSigned(t, published, sig), "the signature of another body")
	assert.Equal(t, http.StatusUnauthorized, f.send(t, published, -time.Hour))
	assert.Equal(t, http.StatusBadRequest, f.sendSigned(t, published, "garbage"))
	f.rec.fail = assert.AnError
	assert.Equal(t, http.StatusInternalServerError, f.send(t, published, time.Second))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/tiktok", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)

	assert.Equal(t, []string{
		"authorization.removed/ok",
		"authorization.removed/replay",
		"/bad_signature",
		"/stale",
		"/malformed",
		"post.publish.complete/error",
		"/malformed",
	}, hooks.got)
}
