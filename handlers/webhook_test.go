package handlers

import (
	"bytes"
	"context"
	"encoding/hex"
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

type whClock = testutil.Clock

const whSecret = "test-client-secret"

// whRecorder records what the hooks received.
type whRecorder struct {
	mu      sync.Mutex
	removed []WebhookEvent
	events  []WebhookEvent
	fail    error // OnEvent answers this
}

func (r *whRecorder) onRemoved(_ context.Context, ev WebhookEvent) {
	r.mu.Lock()
	r.removed = append(r.removed, ev)
	r.mu.Unlock()
}

func (r *whRecorder) onEvent(_ context.Context, ev WebhookEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *whRecorder) counts() (int, int) {
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

type whFixture struct {
	h     *Webhook
	clock *whClock
	rec   *whRecorder
	store *tokenstore.Memory
	logs  *bytes.Buffer
}

func newWhFixture(t *testing.T, mod ...func(*WebhookConfig)) *whFixture {
	t.Helper()
	f := &whFixture{clock: testutil.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)), rec: &whRecorder{},
		store: tokenstore.NewMemory(), logs: new(bytes.Buffer)}
	cfg := WebhookConfig{ClientSecret: whSecret, ClientKey: "test-client-key", Tokens: f.store,
		OnAuthorizationRemoved: f.rec.onRemoved, OnEvent: f.rec.onEvent, Clock: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := NewWebhook(cfg)
	require.NoError(t, err)
	f.h = h
	return f
}

// send posts body signed at the clock's time (plus skew) and returns the
// status.
func (f *whFixture) send(t *testing.T, body string, skew time.Duration) int {
	t.Helper()
	return f.sendSigned(t, body, SignWebhook(whSecret, f.clock.Now().Add(skew), []byte(body)))
}

func (f *whFixture) sendSigned(t *testing.T, body, sig string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/tiktok", strings.NewReader(body))
	if sig != "" {
		req.Header.Set(WebhookSignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.NotContains(t, rec.Body.String(), whSecret)
	return rec.Code
}

func whEvent(event, openID, content string) string {
	return fmt.Sprintf(`{"client_key":"test-client-key","event":%q,"create_time":1777636800,"user_openid":%q,"content":%q}`,
		event, openID, content)
}

func TestWebhookAuthorizationRemoved(t *testing.T) {
	f := newWhFixture(t)
	ctx := context.Background()
	require.NoError(t, f.store.Put(ctx, "open-1", &client.Token{AccessToken: "act.1", OpenID: "open-1"}))
	require.NoError(t, f.store.Put(ctx, "open-2", &client.Token{AccessToken: "act.2", OpenID: "open-2"}))

	assert.Equal(t, http.StatusOK, f.send(t, whEvent(EventAuthorizationRemoved, "open-1", `{"reason":1}`), 0))
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
	assert.Equal(t, http.StatusOK, f.send(t, whEvent(EventAuthorizationRemoved, "open-3", `{"reason":5}`), time.Second))
	assert.Equal(t, "developer revoked", f.rec.removed[1].AuthorizationRemoved.ReasonText())
}

func TestWebhookPublishEvents(t *testing.T) {
	f := newWhFixture(t)
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
		require.Equal(t, http.StatusOK, f.send(t, whEvent(tt.event, "open-1", tt.content), time.Duration(i)*time.Second), tt.event)
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

func TestWebhookRefusals(t *testing.T) {
	f := newWhFixture(t, func(c *WebhookConfig) { c.MaxBodyBytes = 1024 })
	good := whEvent(EventPublishComplete, "u", `{"publish_id":"p"}`)
	now := f.clock.Now()
	sig := SignWebhook(whSecret, now, []byte(good))
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
		{"wrong secret", good, SignWebhook("other-secret", now, []byte(good)), 401},
		{"tampered body", strings.Replace(good, `"user_openid":"u"`, `"user_openid":"x"`, 1), sig, 401},
		{"timestamp changed", good, fmt.Sprintf("t=%d,s=%s", now.Unix()+1, mac), 401},
		{"stale: 6 minutes old", good, SignWebhook(whSecret, now.Add(-6*time.Minute), []byte(good)), 401},
		{"stale: 6 minutes ahead", good, SignWebhook(whSecret, now.Add(6*time.Minute), []byte(good)), 401},
		{"too large", good + strings.Repeat(" ", 1024), SignWebhook(whSecret, now, []byte(good+strings.Repeat(" ", 1024))), 413},
		{"signed but not JSON", "event=x", SignWebhook(whSecret, now, []byte("event=x")), 400},
		{"signed but no event", `{"client_key":"test-client-key"}`, SignWebhook(whSecret, now, []byte(`{"client_key":"test-client-key"}`)), 400},
		{"another app's event", strings.Replace(good, "test-client-key", "other-key", 1),
			SignWebhook(whSecret, now, []byte(strings.Replace(good, "test-client-key", "other-key", 1))), 400},
		{"content not JSON", whEvent(EventPublishComplete, "u", "nope"), SignWebhook(whSecret, now, []byte(whEvent(EventPublishComplete, "u", "nope"))), 400},
		{"post_id not an integer", whEvent(EventPublishPubliclyAvailable, "u", `{"post_id":"x1"}`),
			SignWebhook(whSecret, now, []byte(whEvent(EventPublishPubliclyAvailable, "u", `{"post_id":"x1"}`))), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.status, f.sendSigned(t, tt.body, tt.sig))
		})
	}
	_, events := f.rec.counts()
	assert.Zero(t, events, "nothing reached the app")
	assert.NotContains(t, f.logs.String(), whSecret)

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
		body := whEvent(EventPublishComplete, "u", `{"publish_id":"rot"}`)
		ts := f.clock.Now().Add(2 * time.Second)
		_, oldMAC, _ := strings.Cut(SignWebhook("old-secret", ts, []byte(body)), ",s=")
		assert.Equal(t, http.StatusOK, f.sendSigned(t, body, SignWebhook(whSecret, ts, []byte(body))+", s="+oldMAC))
	})
}

func TestWebhookReplays(t *testing.T) {
	f := newWhFixture(t)
	body := whEvent(EventPublishComplete, "u", `{"publish_id":"p"}`)
	sig := SignWebhook(whSecret, f.clock.Now(), []byte(body))
	assert.Equal(t, http.StatusOK, f.sendSigned(t, body, sig))
	assert.Equal(t, http.StatusConflict, f.sendSigned(t, body, sig), "the same request again")
	_, mac, _ := strings.Cut(sig, ",s=")
	padded := sig + ",s=" + strings.Repeat("0", len(mac))
	assert.Equal(t, http.StatusConflict, f.sendSigned(t, body, padded), "with a junk signature added")
	_, events := f.rec.counts()
	assert.Equal(t, 1, events)

	// A failed delivery is forgotten, so TikTok's retry is handled.
	body2 := whEvent(EventPublishFailed, "u", `{"publish_id":"p2","reason":"internal"}`)
	sig2 := SignWebhook(whSecret, f.clock.Now(), []byte(body2))
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
	assert.Equal(t, 1, f.h.seen.len(), "expired signatures were dropped")
}

func TestWebhookTokenDeleteFails(t *testing.T) {
	del := &failingDeleter{n: 1}
	f := newWhFixture(t, func(c *WebhookConfig) { del.TokenDeleter = c.Tokens; c.Tokens = del })
	ctx := context.Background()
	require.NoError(t, f.store.Put(ctx, "open-1", &client.Token{AccessToken: "act.1"}))
	body := whEvent(EventAuthorizationRemoved, "open-1", `{"reason":2}`)
	sig := SignWebhook(whSecret, f.clock.Now(), []byte(body))
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

func TestWebhookKeyMapping(t *testing.T) {
	f := newWhFixture(t, func(c *WebhookConfig) { c.Key = func(id string) string { return "tiktok:" + id } })
	ctx := context.Background()
	require.NoError(t, f.store.Put(ctx, "tiktok:open-1", &client.Token{AccessToken: "act.1"}))
	assert.Equal(t, http.StatusOK, f.send(t, whEvent(EventAuthorizationRemoved, "open-1", `{"reason":1}`), 0))
	_, err := f.store.Get(ctx, "tiktok:open-1")
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
}

// TestWebhookConcurrentDuplicates: the same delivery arriving many times at
// once is handled once.
func TestWebhookConcurrentDuplicates(t *testing.T) {
	f := newWhFixture(t)
	body := whEvent(EventPublishComplete, "u", `{"publish_id":"p"}`)
	sig := SignWebhook(whSecret, f.clock.Now(), []byte(body))
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() { codes[i] = f.sendSigned(t, body, sig) })
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflict++
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 19, conflict)
	_, events := f.rec.counts()
	assert.Equal(t, 1, events)
}

func TestWebhookReplayCacheBound(t *testing.T) {
	f := newWhFixture(t, func(c *WebhookConfig) { c.ReplayCacheSize = 2 })
	var sigs []string
	bodies := []string{}
	for i := range 3 {
		body := whEvent(EventPublishComplete, "u", fmt.Sprintf(`{"publish_id":"p%d"}`, i))
		bodies = append(bodies, body)
		sigs = append(sigs, SignWebhook(whSecret, f.clock.Now(), []byte(body)))
		require.Equal(t, http.StatusOK, f.sendSigned(t, body, sigs[i]))
	}
	assert.Equal(t, 2, f.h.seen.len())
	assert.Contains(t, f.logs.String(), "replay cache full")
	assert.Equal(t, http.StatusConflict, f.sendSigned(t, bodies[2], sigs[2]))
}

func TestNewWebhookValidates(t *testing.T) {
	for _, cfg := range []WebhookConfig{
		{},
		{ClientSecret: "  "},
		{ClientSecret: "s", Tolerance: -1},
		{ClientSecret: "s", MaxBodyBytes: -1},
		{ClientSecret: "s", ReplayCacheSize: -1},
	} {
		_, err := NewWebhook(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	h, err := NewWebhook(WebhookConfig{ClientSecret: "s"})
	require.NoError(t, err)
	assert.Equal(t, DefaultWebhookTolerance, h.cfg.Tolerance)
	assert.Equal(t, int64(DefaultWebhookMaxBodyBytes), h.cfg.MaxBodyBytes)
	assert.Equal(t, DefaultWebhookReplayCache, h.cfg.ReplayCacheSize)

	// Verify, for webhooks received some other way.
	body := []byte(`{"event":"x"}`)
	assert.NoError(t, h.Verify(SignWebhook("s", time.Now(), body), body))
	assert.ErrorIs(t, h.Verify(SignWebhook("t", time.Now(), body), body), ErrWebhookSignature)
	assert.ErrorIs(t, h.Verify(SignWebhook("s", time.Now().Add(-time.Hour), body), body), ErrWebhookStale)
	assert.ErrorIs(t, h.Verify("t=1", body), ErrWebhookMalformed)
}

func TestParseWebhookSignature(t *testing.T) {
	mac := strings.Repeat("ab", 32)
	tests := []struct {
		in    string
		ts    string
		nsigs int
		ok    bool
	}{
		{"t=1700000000,s=" + mac, "1700000000", 1, true},
		{" t = 1700000000 , s = " + mac + " ", "1700000000", 1, true},
		{"s=" + mac + ",t=1", "1", 1, true},
		{"t=1,s=" + mac + ",s=" + strings.ToUpper(mac), "1", 2, true},
		{"t=1,v=2,s=" + mac, "1", 1, true},
		{"t=1,t=2,s=" + mac, "", 0, false},
		{"t=,s=" + mac, "", 0, false},
		{"t=-1,s=" + mac, "", 0, false},
		{"t=1e9,s=" + mac, "", 0, false},
		{"t=1234567890123456789,s=" + mac, "", 0, false},
		{"t=1,s=" + mac[:62], "", 0, false},
		{"t=1,s=" + mac[:62] + "zz", "", 0, false},
		{"t=1", "", 0, false},
		{"s=" + mac, "", 0, false},
		{"t=1;s=" + mac, "", 0, false},
		{"", "", 0, false},
		{"t=1," + strings.Repeat("s="+mac+",", 9), "", 0, false},
	}
	for _, tt := range tests {
		ts, sigs, err := parseWebhookSignature(tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrWebhookMalformed, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.ts, ts)
		assert.Len(t, sigs, tt.nsigs)
	}
}

func FuzzParseWebhookSignature(f *testing.F) {
	f.Add("t=1700000000,s=" + strings.Repeat("0f", 32))
	f.Add(SignWebhook("secret", time.Unix(1, 0), []byte("{}")))
	f.Add("t=1,s=" + strings.Repeat("a", 64) + ",s=" + strings.Repeat("b", 64))
	f.Add(" t = 9 ,x=y, s=" + strings.Repeat("F", 64))
	f.Add("t=,s=")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, h string) {
		ts, sigs, err := parseWebhookSignature(h)
		if err != nil {
			if !errors.Is(err, ErrWebhookMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if ts == "" || len(ts) > 18 || strings.Trim(ts, "0123456789") != "" {
			t.Fatalf("bad timestamp %q from %q", ts, h)
		}
		if len(sigs) == 0 || len(sigs) > maxSignatures {
			t.Fatalf("%d signatures from %q", len(sigs), h)
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("signature of %d bytes from %q", len(s), h)
			}
		}
		// What parses must be what SignWebhook would write for that MAC.
		canon := "t=" + ts + ",s=" + hex.EncodeToString(sigs[0])
		ts2, sigs2, err := parseWebhookSignature(canon)
		if err != nil || ts2 != ts || !bytes.Equal(sigs2[0], sigs[0]) {
			t.Fatalf("canonical form %q does not parse back", canon)
		}
	})
}

func ExampleNewWebhook() {
	store := tokenstore.NewMemory()
	hook, err := NewWebhook(WebhookConfig{
		ClientSecret: "your-client-secret",
		Tokens:       store, // authorization.removed deletes the user's token here
		OnAuthorizationRemoved: func(ctx context.Context, ev WebhookEvent) {
			fmt.Println("removed:", ev.UserOpenID, ev.AuthorizationRemoved.ReasonText())
		},
		OnEvent: func(ctx context.Context, ev WebhookEvent) error {
			if ev.Publish != nil {
				fmt.Println(ev.Event, ev.Publish.PublishID)
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/tiktok", hook)

	// What TikTok sends:
	body := `{"client_key":"k","event":"authorization.removed","create_time":1777636800,"user_openid":"open-1","content":"{\"reason\":1}"}`
	req := httptest.NewRequest(http.MethodPost, "/webhooks/tiktok", strings.NewReader(body))
	req.Header.Set(WebhookSignatureHeader, SignWebhook("your-client-secret", time.Now(), []byte(body)))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// removed: open-1 user disconnected
	// 200
}
