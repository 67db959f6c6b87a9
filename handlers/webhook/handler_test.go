package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

const testSecret = "test-client-secret"

// recorder records what the hooks received.
type recorder struct {
	mu      sync.Mutex
	removed []Event
	events  []Event
	fail    error // OnEvent answers this
}

func (r *recorder) onRemoved(_ context.Context, ev Event) {
	r.mu.Lock()
	r.removed = append(r.removed, ev)
	r.mu.Unlock()
}

func (r *recorder) onEvent(_ context.Context, ev Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.removed), len(r.events)
}

// failingDeleter fails its first n deletions.
type failingDeleter struct {
	TokenDeleter
	mu sync.Mutex
	n  int
}

func (f *failingDeleter) Delete(ctx context.Context, key string) error {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		return errors.New("store down")
	}
	return f.TokenDeleter.Delete(ctx, key)
}

type fixture struct {
	h     *Handler
	clock *testutil.Clock
	rec   *recorder
	store *tokenstore.Memory
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, mod ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{clock: testutil.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)), rec: &recorder{},
		store: tokenstore.NewMemory(), logs: new(bytes.Buffer)}
	cfg := Config{ClientSecret: testSecret, ClientKey: "test-client-key", Tokens: f.store,
		OnAuthorizationRemoved: f.rec.onRemoved, OnEvent: f.rec.onEvent, Clock: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := New(cfg)
	require.NoError(t, err)
	f.h = h
	return f
}

// replayLen is how many signatures the default replay store holds.
func (f *fixture) replayLen() int { return f.h.replays.(*MemoryReplayStore).len() }

// send posts body signed at the clock's time (plus skew) and returns the
// status.
func (f *fixture) send(t *testing.T, body string, skew time.Duration) int {
	t.Helper()
	return f.sendSigned(t, body, Sign(testSecret, f.clock.Now().Add(skew), []byte(body)))
}

func (f *fixture) sendSigned(t *testing.T, body, sig string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/tiktok", strings.NewReader(body))
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.NotContains(t, rec.Body.String(), testSecret)
	return rec.Code
}

func eventJSON(event, openID, content string) string {
	return fmt.Sprintf(`{"client_key":"test-client-key","event":%q,"create_time":1777636800,"user_openid":%q,"content":%q}`,
		event, openID, content)
}

func TestAuthorizationRemoved(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.store.Put(ctx, "open-1", &client.Token{AccessToken: "act.1", OpenID: "open-1"}))
	require.NoError(t, f.store.Put(ctx, "open-2", &client.Token{AccessToken: "act.2", OpenID: "open-2"}))

	assert.Equal(t, http.StatusOK, f.send(t, eventJSON(EventAuthorizationRemoved, "open-1", `{"reason":1}`), 0))
	_, err := f.store.Get(ctx, "open-1")
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "the user's token is gone")
	_, err = f.store.Get(ctx, "open-2")
	assert.NoError(t, err, "other users keep theirs")

	require.Len(t, f.rec.removed, 1)
	ev := f.rec.removed[0]
	assert.Equal(t, "open-1", ev.UserOpenID)
	assert.Equal(t, "test-client-key", ev.ClientKey)
	assert.Equal(t, time.Unix(1777636800, 0).UTC(), ev.CreateTime)
	require.NotNil(t, ev.AuthorizationRemoved)
	assert.Equal(t, 1, ev.AuthorizationRemoved.Reason)
	assert.Equal(t, "user disconnected", ev.AuthorizationRemoved.ReasonText())
	assert.JSONEq(t, `{"reason":1}`, string(ev.Content))
	_, events := f.rec.counts()
	assert.Zero(t, events, "authorization.removed does not reach OnEvent")

	// A user whose token is already gone: still acknowledged.
	assert.Equal(t, http.StatusOK, f.send(t, eventJSON(EventAuthorizationRemoved, "open-3", `{"reason":5}`), time.Second))
	assert.Equal(t, "developer revoked", f.rec.removed[1].AuthorizationRemoved.ReasonText())
}

func TestPublishEvents(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		event, content string
		want           PublishEvent
	}{
		{EventPublishComplete, `{"publish_id":"v_pub_file~v2-1.7","publish_type":"DIRECT_PUBLISH"}`,
			PublishEvent{PublishID: "v_pub_file~v2-1.7", PublishType: "DIRECT_PUBLISH"}},
		{EventPublishFailed, `{"publish_id":"v_inbox_url~v2.8","reason":"video_pull_failed","publish_type":"INBOX_SHARE"}`,
			PublishEvent{PublishID: "v_inbox_url~v2.8", PublishType: "INBOX_SHARE", Reason: "video_pull_failed"}},
		{EventPublishPubliclyAvailable, `{"publish_id":"p","post_id":7300000000000000123,"publish_type":"DIRECT_PUBLISH"}`,
			PublishEvent{PublishID: "p", PublishType: "DIRECT_PUBLISH", PostID: "7300000000000000123"}},
		{EventPublishNoLongerPubliclyAvailable, `{"publish_id":"p","post_id":"7300000000000000124"}`,
			PublishEvent{PublishID: "p", PostID: "7300000000000000124"}},
		{EventPublishInboxDelivered, ``, PublishEvent{}},
	}
	for i, tt := range tests {
		require.Equal(t, http.StatusOK, f.send(t, eventJSON(tt.event, "open-1", tt.content), time.Duration(i)*time.Second), tt.event)
		ev := f.rec.events[i]
		assert.Equal(t, tt.event, ev.Event)
		require.NotNil(t, ev.Publish, tt.event)
		assert.Equal(t, tt.want, *ev.Publish, tt.event)
	}

	// An event TikTok adds later reaches OnEvent as is; content may also
	// arrive as an object.
	require.Equal(t, http.StatusOK, f.send(t, `{"client_key":"test-client-key","event":"video.upload.failed","create_time":1,"user_openid":"u","content":{"x":1}}`, time.Minute))
	last := f.rec.events[len(f.rec.events)-1]
	assert.Equal(t, "video.upload.failed", last.Event)
	assert.JSONEq(t, `{"x":1}`, string(last.Content))
	assert.Nil(t, last.Publish)
	assert.Nil(t, last.AuthorizationRemoved)
}

func TestRefusals(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	good := eventJSON(EventPublishComplete, "u", `{"publish_id":"p"}`)
	now := f.clock.Now()
	sig := Sign(testSecret, now, []byte(good))
	_, mac, _ := strings.Cut(sig, ",s=")
	tests := []struct {
		name   string
		body   string
		sig    string
		status int
	}{
		{"no signature", good, "", 400},
		{"garbage signature", good, "sha256=abc", 400},
		{"signature without timestamp", good, "s=" + mac, 400},
		{"short mac", good, fmt.Sprintf("t=%d,s=abcd", now.Unix()), 400},
		{"wrong secret", good, Sign("other-secret", now, []byte(good)), 401},
		{"tampered body", strings.Replace(good, `"user_openid":"u"`, `"user_openid":"x"`, 1), sig, 401},
		{"timestamp changed", good, fmt.Sprintf("t=%d,s=%s", now.Unix()+1, mac), 401},
		{"stale: 6 minutes old", good, Sign(testSecret, now.Add(-6*time.Minute), []byte(good)), 401},
		{"stale: 6 minutes ahead", good, Sign(testSecret, now.Add(6*time.Minute), []byte(good)), 401},
		{"too large", good + strings.Repeat(" ", 1024), Sign(testSecret, now, []byte(good+strings.Repeat(" ", 1024))), 413},
		{"signed but not JSON", "event=x", Sign(testSecret, now, []byte("event=x")), 400},
		{"signed but no event", `{"client_key":"test-client-key"}`, Sign(testSecret, now, []byte(`{"client_key":"test-client-key"}`)), 400},
		{"another app's event", strings.Replace(good, "test-client-key", "other-key", 1),
			Sign(testSecret, now, []byte(strings.Replace(good, "test-client-key", "other-key", 1))), 400},
		{"content not JSON", eventJSON(EventPublishComplete, "u", "nope"), Sign(testSecret, now, []byte(eventJSON(EventPublishComplete, "u", "nope"))), 400},
		{"post_id not an integer", eventJSON(EventPublishPubliclyAvailable, "u", `{"post_id":"x1"}`),
			Sign(testSecret, now, []byte(eventJSON(EventPublishPubliclyAvailable, "u", `{"post_id":"x1"}`))), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.status, f.sendSigned(t, tt.body, tt.sig))
		})
	}
	_, events := f.rec.counts()
	assert.Zero(t, events, "nothing reached the app")
	assert.NotContains(t, f.logs.String(), testSecret)

	t.Run("within the tolerance both ways", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, f.send(t, good, -5*time.Minute))
		assert.Equal(t, http.StatusOK, f.send(t, good, 5*time.Minute))
	})
	t.Run("method", func(t *testing.T) {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		assert.Equal(t, "POST", rec.Header().Get("Allow"))
	})
	t.Run("a second signature for a rotated secret", func(t *testing.T) {
		body := eventJSON(EventPublishComplete, "u", `{"publish_id":"rot"}`)
		ts := f.clock.Now().Add(2 * time.Second)
		_, oldMAC, _ := strings.Cut(Sign("old-secret", ts, []byte(body)), ",s=")
		assert.Equal(t, http.StatusOK, f.sendSigned(t, body, Sign(testSecret, ts, []byte(body))+", s="+oldMAC))
	})
}

func TestReplays(t *testing.T) {
	f := newFixture(t)
	body := eventJSON(EventPublishComplete, "u", `{"publish_id":"p"}`)
	sig := Sign(testSecret, f.clock.Now(), []byte(body))
	assert.Equal(t, http.StatusOK, f.sendSigned(t, body, sig))
	assert.Equal(t, http.StatusOK, f.sendSigned(t, body, sig), "the same request again is acknowledged")
	_, mac, _ := strings.Cut(sig, ",s=")
	padded := sig + ",s=" + strings.Repeat("0", len(mac))
	assert.Equal(t, http.StatusOK, f.sendSigned(t, body, padded), "with a junk signature added")
	_, events := f.rec.counts()
	assert.Equal(t, 1, events, "a replay has no side effect")
	assert.Contains(t, f.logs.String(), "replay acknowledged")

	// A failed delivery is forgotten, so TikTok's retry is handled.
	body2 := eventJSON(EventPublishFailed, "u", `{"publish_id":"p2","reason":"internal"}`)
	sig2 := Sign(testSecret, f.clock.Now(), []byte(body2))
	f.rec.fail = errors.New("app database down")
	assert.Equal(t, http.StatusInternalServerError, f.sendSigned(t, body2, sig2))
	f.rec.fail = nil
	assert.Equal(t, http.StatusOK, f.sendSigned(t, body2, sig2))
	_, events = f.rec.counts()
	assert.Equal(t, 2, events)

	// Entries expire: after the window the replay is refused as stale.
	f.clock.Advance(11 * time.Minute)
	assert.Equal(t, http.StatusUnauthorized, f.sendSigned(t, body, sig))
	assert.Equal(t, http.StatusOK, f.send(t, body, 0), "a new signature for the same body")
	assert.Equal(t, 1, f.replayLen(), "expired signatures were dropped")
}

func TestTokenDeleteFails(t *testing.T) {
	del := &failingDeleter{n: 1}
	f := newFixture(t, func(c *Config) { del.TokenDeleter = c.Tokens; c.Tokens = del })
	ctx := context.Background()
	require.NoError(t, f.store.Put(ctx, "open-1", &client.Token{AccessToken: "act.1"}))
	body := eventJSON(EventAuthorizationRemoved, "open-1", `{"reason":2}`)
	sig := Sign(testSecret, f.clock.Now(), []byte(body))
	assert.Equal(t, http.StatusInternalServerError, f.sendSigned(t, body, sig))
	removed, _ := f.rec.counts()
	assert.Zero(t, removed, "the app hears of it only once the token is gone")
	assert.Equal(t, http.StatusOK, f.sendSigned(t, body, sig), "TikTok's retry")
	_, err := f.store.Get(ctx, "open-1")
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
	removed, _ = f.rec.counts()
	assert.Equal(t, 1, removed)
	assert.Contains(t, f.logs.String(), "store down")
}

func TestKeyMapping(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Key = func(id string) string { return "tiktok:" + id } })
	ctx := context.Background()
	require.NoError(t, f.store.Put(ctx, "tiktok:open-1", &client.Token{AccessToken: "act.1"}))
	assert.Equal(t, http.StatusOK, f.send(t, eventJSON(EventAuthorizationRemoved, "open-1", `{"reason":1}`), 0))
	_, err := f.store.Get(ctx, "tiktok:open-1")
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
}

// TestConcurrentDuplicates: the same delivery arriving many times at
// once is handled once.
func TestConcurrentDuplicates(t *testing.T) {
	f := newFixture(t)
	body := eventJSON(EventPublishComplete, "u", `{"publish_id":"p"}`)
	sig := Sign(testSecret, f.clock.Now(), []byte(body))
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() { codes[i] = f.sendSigned(t, body, sig) })
	}
	wg.Wait()
	for _, c := range codes {
		assert.Equal(t, http.StatusOK, c, "every copy is acknowledged")
	}
	_, events := f.rec.counts()
	assert.Equal(t, 1, events)
}

func TestReplayCacheBound(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ReplayCacheSize = 2 })
	var sigs []string
	bodies := []string{}
	for i := range 3 {
		body := eventJSON(EventPublishComplete, "u", fmt.Sprintf(`{"publish_id":"p%d"}`, i))
		bodies = append(bodies, body)
		sigs = append(sigs, Sign(testSecret, f.clock.Now(), []byte(body)))
		require.Equal(t, http.StatusOK, f.sendSigned(t, body, sigs[i]))
	}
	assert.Equal(t, 2, f.replayLen())
	assert.Contains(t, f.logs.String(), "replay cache full")
	assert.Equal(t, http.StatusOK, f.sendSigned(t, bodies[2], sigs[2]))
	_, events := f.rec.counts()
	assert.Equal(t, 3, events, "the replay of a remembered signature is not handled again")
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{ClientSecret: "  "},
		{ClientSecret: "s", Tolerance: -1},
		{ClientSecret: "s", MaxBodyBytes: -1},
		{ClientSecret: "s", ReplayCacheSize: -1},
	} {
		_, err := New(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	h, err := New(Config{ClientSecret: "s"})
	require.NoError(t, err)
	assert.Equal(t, DefaultTolerance, h.cfg.Tolerance)
	assert.Equal(t, int64(DefaultMaxBodyBytes), h.cfg.MaxBodyBytes)
	assert.Equal(t, DefaultReplayCacheSize, h.cfg.ReplayCacheSize)

	// Verify, for webhooks received some other way.
	body := []byte(`{"event":"x"}`)
	assert.NoError(t, h.Verify(Sign("s", time.Now(), body), body))
	assert.ErrorIs(t, h.Verify(Sign("t", time.Now(), body), body), ErrSignature)
	assert.ErrorIs(t, h.Verify(Sign("s", time.Now().Add(-time.Hour), body), body), ErrStale)
	assert.ErrorIs(t, h.Verify("t=1", body), ErrMalformed)
}
