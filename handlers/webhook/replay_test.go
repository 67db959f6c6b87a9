package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

// The ReplayStore contract is checked by package webhooktest, whose tests
// run it against MemoryReplayStore.

func TestMemoryReplayStoreDefaultSize(t *testing.T) {
	assert.Equal(t, DefaultReplayCacheSize, NewMemoryReplayStore(0, nil, nil).size)
	assert.Equal(t, DefaultReplayCacheSize, NewMemoryReplayStore(-1, nil, nil).size)
}

func TestMemoryReplayStoreBound(t *testing.T) {
	clock := testutil.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	s := NewMemoryReplayStore(2, clock.Now, nil)
	ctx := context.Background()
	for i, ttl := range []time.Duration{3 * time.Minute, time.Minute, 2 * time.Minute} {
		ok, err := s.Claim(ctx, fmt.Sprint(i), clock.Now().Add(ttl))
		require.NoError(t, err)
		require.True(t, ok)
	}
	assert.Equal(t, 2, s.len())
	ok, _ := s.Claim(ctx, "1", clock.Now().Add(time.Minute))
	assert.True(t, ok, "the id closest to expiry was forgotten first")
	ok, _ = s.Claim(ctx, "0", clock.Now().Add(time.Minute))
	assert.False(t, ok, "the others are kept")
}

// failingReplayStore fails every call.
type failingReplayStore struct{}

func (failingReplayStore) Claim(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("replay table unreachable")
}

func (failingReplayStore) Release(context.Context, string) error {
	return errors.New("replay table unreachable")
}

// releaseFails wraps a store whose Release fails.
type releaseFails struct{ ReplayStore }

func (releaseFails) Release(context.Context, string) error { return errors.New("release refused") }

func TestReplayStoreErrors(t *testing.T) {
	t.Run("claim fails", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.ReplayStore = failingReplayStore{} })
		assert.Equal(t, http.StatusInternalServerError, f.send(t, eventJSON(EventPublishComplete, "u", `{"publish_id":"p"}`), 0),
			"TikTok delivers the event again")
		_, events := f.rec.counts()
		assert.Zero(t, events, "an event whose replay check failed is not handled")
		assert.Contains(t, f.logs.String(), "replay table unreachable")
	})
	t.Run("release fails", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.ReplayStore = releaseFails{NewMemoryReplayStore(10, c.Clock, nil)} })
		f.rec.fail = errors.New("app database down")
		assert.Equal(t, http.StatusInternalServerError, f.send(t, eventJSON(EventPublishComplete, "u", `{"publish_id":"p"}`), 0))
		assert.Contains(t, f.logs.String(), "app database down")
		assert.Contains(t, f.logs.String(), "release refused")
	})
	t.Run("a store of the app's own", func(t *testing.T) {
		var s *MemoryReplayStore
		f := newFixture(t, func(c *Config) { s = NewMemoryReplayStore(10, c.Clock, nil); c.ReplayStore = s })
		body := eventJSON(EventPublishComplete, "u", `{"publish_id":"p"}`)
		sig := Sign(testSecret, f.clock.Now(), []byte(body))
		assert.Equal(t, http.StatusOK, f.sendSigned(t, body, sig))
		assert.Equal(t, http.StatusOK, f.sendSigned(t, body, sig))
		_, events := f.rec.counts()
		assert.Equal(t, 1, events)
		assert.Equal(t, 1, s.len(), "the handler used the store it was given")
	})
}
