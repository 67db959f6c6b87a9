package handlers

import (
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WebhookSignatureHeader is the header TikTok signs its webhook requests
// with: "t=<unix seconds>,s=<hex HMAC-SHA256>".
const WebhookSignatureHeader = "TikTok-Signature"

// Defaults of WebhookConfig.
const (
	// DefaultWebhookTolerance is how far a webhook's timestamp may be from
	// the clock, in either direction.
	DefaultWebhookTolerance = 5 * time.Minute
	// DefaultWebhookMaxBodyBytes bounds a webhook body (64 KiB).
	DefaultWebhookMaxBodyBytes = 64 << 10
	// DefaultWebhookReplayCache is how many recent signatures are
	// remembered to refuse replays.
	DefaultWebhookReplayCache = 10_000
)

// TikTok's webhook events.
const (
	// EventAuthorizationRemoved: the user (or the developer) removed the
	// app's authorization; the token is already revoked at TikTok.
	EventAuthorizationRemoved = "authorization.removed"
	// EventPublishFailed: a publish failed (content: publish_id, reason,
	// publish_type).
	EventPublishFailed = "post.publish.failed"
	// EventPublishComplete: a publish completed.
	EventPublishComplete = "post.publish.complete"
	// EventPublishInboxDelivered: an inbox share reached the user's inbox.
	EventPublishInboxDelivered = "post.publish.inbox_delivered"
	// EventPublishPubliclyAvailable: a post passed moderation and is public
	// (content carries post_id).
	EventPublishPubliclyAvailable = "post.publish.publicly_available"
	// EventPublishNoLongerPubliclyAvailable: a post stopped being public
	// (TikTok's spelling of the event name).
	EventPublishNoLongerPubliclyAvailable = "post.publish.no_longer_publicaly_available"
)

// Webhook verification failures, for errors.Is on what Verify returns. The
// handler answers them with 400 (malformed) or 401.
var (
	// ErrWebhookMalformed: no signature header, or one that does not read
	// as t=<digits>,s=<64 hex digits>.
	ErrWebhookMalformed = errors.New("handlers: webhook: malformed signature header")
	// ErrWebhookSignature: no signature in the header matches the body.
	ErrWebhookSignature = errors.New("handlers: webhook: signature mismatch")
	// ErrWebhookStale: the signed timestamp is further from the clock than
	// the tolerance, in the past or in the future.
	ErrWebhookStale = errors.New("handlers: webhook: timestamp outside the tolerance")
)

// TokenDeleter deletes a user's token by store key. tokenstore.Store
// implementations and *tokenstore.Source satisfy it; deleting a key that is
// not there must not be an error.
type TokenDeleter interface {
	Delete(ctx context.Context, key string) error
}

// WebhookConfig configures NewWebhook. Only ClientSecret is required.
type WebhookConfig struct {
	// ClientSecret is the app's client secret, which keys the signature.
	// Required. It is never logged.
	ClientSecret string
	// ClientKey, when set, refuses (400) signed events whose client_key is
	// another app's. Default "": not checked.
	ClientKey string
	// Tokens receives the deletion of the user's token on
	// authorization.removed. Default nil: nothing is deleted (then
	// OnAuthorizationRemoved should do it).
	Tokens TokenDeleter
	// Key maps the event's user_openid to the store key. Default: the
	// open_id itself, the kit's default key.
	Key func(openID string) string
	// OnAuthorizationRemoved is called after the token of an
	// authorization.removed event was deleted. Default nil.
	OnAuthorizationRemoved func(ctx context.Context, ev WebhookEvent)
	// OnEvent receives every other verified event: the post.publish.*
	// events and any TikTok adds later. An error answers 500, so TikTok
	// delivers the event again. Default nil: such events are acknowledged
	// and dropped.
	OnEvent func(ctx context.Context, ev WebhookEvent) error
	// Tolerance is how far the signed timestamp may be from the clock, in
	// either direction. Default DefaultWebhookTolerance (5 minutes).
	Tolerance time.Duration
	// MaxBodyBytes bounds the body; a larger one is answered 413. Default
	// DefaultWebhookMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// ReplayCacheSize is how many signatures are remembered (each for the
	// tolerance window) to refuse a replay. Default
	// DefaultWebhookReplayCache. When full, the entry closest to expiry is
	// forgotten first (and a warning logged).
	ReplayCacheSize int
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives one line per refused or failed request. Default
	// slog.Default().
	Logger *slog.Logger
}

// WebhookEvent is one decoded webhook event.
type WebhookEvent struct {
	// ClientKey is the app the event is for.
	ClientKey string `json:"client_key"`
	// Event is the event name, such as EventAuthorizationRemoved.
	Event string `json:"event"`
	// CreateTime is when TikTok created the event.
	CreateTime time.Time `json:"-"`
	// UserOpenID is the user's open_id for the app.
	UserOpenID string `json:"user_openid"`
	// Content is the event's details as a JSON object (TikTok sends them as
	// a string holding JSON; this is the decoded object), or nil.
	Content json.RawMessage `json:"-"`
	// AuthorizationRemoved is set for authorization.removed.
	AuthorizationRemoved *AuthorizationRemoved `json:"-"`
	// Publish is set for the post.publish.* events.
	Publish *PublishEvent `json:"-"`
}

// AuthorizationRemoved is the content of an authorization.removed event.
type AuthorizationRemoved struct {
	// Reason: 0 unknown, 1 the user disconnected the app, 2 account
	// deleted, 3 age changed, 4 account banned, 5 the developer revoked.
	Reason int `json:"reason"`
}

// ReasonText names the reason: "unknown", "user disconnected",
// "account deleted", "age changed", "account banned", "developer revoked".
func (a AuthorizationRemoved) ReasonText() string {
	switch a.Reason {
	case 1:
		return "user disconnected"
	case 2:
		return "account deleted"
	case 3:
		return "age changed"
	case 4:
		return "account banned"
	case 5:
		return "developer revoked"
	}
	return "unknown"
}

// PublishEvent is the content of a post.publish.* event.
type PublishEvent struct {
	PublishID string `json:"publish_id"`
	// PublishType is INBOX_SHARE for the upload flow, DIRECT_PUBLISH for
	// direct posts.
	PublishType string `json:"publish_type"`
	// Reason is the failure reason of post.publish.failed.
	Reason string `json:"reason"`
	// PostID is the public post of post.publish.publicly_available and
	// no_longer_publicaly_available, as a decimal string (TikTok sends an
	// int64 that JSON numbers cannot always hold exactly).
	PostID string `json:"-"`
}

// Webhook is the handler made by NewWebhook. It is safe for concurrent use.
type Webhook struct {
	cfg    WebhookConfig
	secret []byte
	seen   *replayCache
}

// NewWebhook returns a handler for TikTok's webhook callback URL. For each
// POST it checks the body size, the TikTok-Signature header (HMAC-SHA256 of
// "<t>.<raw body>" keyed with the client secret, compared in constant
// time), the timestamp (within Tolerance either way) and replays (a
// signature already handled within the window is refused with 409). It then
// decodes the event: authorization.removed deletes the user's token through
// Tokens and calls OnAuthorizationRemoved; every other event goes to
// OnEvent. Answers: 200 handled, 400 malformed, 401 bad signature or stale,
// 405 not POST, 409 replay, 413 too large, 500 when deleting the token or
// OnEvent failed (TikTok retries; the signature is then forgotten so the
// retry is handled). Bodies of answers never carry details; the log does.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		return nil, errors.New("handlers: webhook: ClientSecret is required")
	}
	if cfg.Tolerance < 0 || cfg.MaxBodyBytes < 0 || cfg.ReplayCacheSize < 0 {
		return nil, errors.New("handlers: webhook: negative Tolerance, MaxBodyBytes or ReplayCacheSize")
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultWebhookTolerance
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultWebhookMaxBodyBytes
	}
	if cfg.ReplayCacheSize == 0 {
		cfg.ReplayCacheSize = DefaultWebhookReplayCache
	}
	if cfg.Key == nil {
		cfg.Key = func(openID string) string { return openID }
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Webhook{cfg: cfg, secret: []byte(cfg.ClientSecret), seen: newReplayCache(cfg.ReplayCacheSize)}, nil
}

// SignWebhook returns the TikTok-Signature value for body signed at t with
// secret, as TikTok makes it. Use it to test a webhook endpoint.
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",s=" + hex.EncodeToString(webhookMAC([]byte(secret), ts, body))
}

func webhookMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// maxSignatureHeader bounds the header before parsing.
const maxSignatureHeader = 1024

// maxSignatures bounds the s= values of one header.
const maxSignatures = 8

// parseWebhookSignature reads "t=<unix seconds>,s=<64 hex>[,s=...]".
// Spaces around the parts are allowed, unknown keys ignored; t must appear
// once, s at least once (several allow a secret rotation).
func parseWebhookSignature(h string) (ts string, sigs [][]byte, err error) {
	if h == "" || len(h) > maxSignatureHeader {
		return "", nil, ErrWebhookMalformed
	}
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, ErrWebhookMalformed
		}
		switch strings.TrimSpace(k) {
		case "t":
			v = strings.TrimSpace(v)
			if ts != "" || v == "" || len(v) > 18 || strings.ContainsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
				return "", nil, ErrWebhookMalformed
			}
			ts = v
		case "s":
			v = strings.TrimSpace(v)
			if len(v) != 2*sha256.Size || len(sigs) == maxSignatures {
				return "", nil, ErrWebhookMalformed
			}
			b, err := hex.DecodeString(v)
			if err != nil {
				return "", nil, ErrWebhookMalformed
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return "", nil, ErrWebhookMalformed
	}
	return ts, sigs, nil
}

// Verify checks a signature header against body: it returns nil when one of
// its signatures is the HMAC of "<t>.<body>" and t is within the tolerance,
// else an error matching ErrWebhookMalformed, ErrWebhookSignature or
// ErrWebhookStale. It does not track replays; ServeHTTP does. Use it to
// verify webhooks received some other way.
func (h *Webhook) Verify(header string, body []byte) error {
	_, err := h.verify(header, body)
	return err
}

// verify returns the signature that matched.
func (h *Webhook) verify(header string, body []byte) (matched []byte, err error) {
	ts, sigs, err := parseWebhookSignature(header)
	if err != nil {
		return nil, err
	}
	want := webhookMAC(h.secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = s
		}
	}
	if matched == nil {
		return nil, ErrWebhookSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrWebhookMalformed
	}
	skew := h.cfg.Clock().Sub(time.Unix(secs, 0))
	if skew > h.cfg.Tolerance || skew < -h.cfg.Tolerance {
		return nil, fmt.Errorf("%w (off by %s)", ErrWebhookStale, skew.Round(time.Second))
	}
	return matched, nil
}

// ServeHTTP handles one webhook request; see NewWebhook.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(ctx, w, http.StatusRequestEntityTooLarge, "body too large", err)
			return
		}
		h.refuse(ctx, w, http.StatusBadRequest, "reading body", err)
		return
	}
	sig, err := h.verify(r.Header.Get(WebhookSignatureHeader), body)
	switch {
	case errors.Is(err, ErrWebhookMalformed):
		h.refuse(ctx, w, http.StatusBadRequest, "signature header", err)
		return
	case err != nil:
		h.refuse(ctx, w, http.StatusUnauthorized, "signature", err)
		return
	}
	ev, err := decodeWebhookEvent(body)
	if err == nil && h.cfg.ClientKey != "" && ev.ClientKey != h.cfg.ClientKey {
		err = fmt.Errorf("handlers: webhook: event for client_key %q", ev.ClientKey)
	}
	if err != nil {
		h.refuse(ctx, w, http.StatusBadRequest, "event", err)
		return
	}
	key := string(sig)
	now := h.cfg.Clock()
	added, evicted := h.seen.add(key, now, now.Add(2*h.cfg.Tolerance))
	if !added {
		h.refuse(ctx, w, http.StatusConflict, "replay", errors.New("handlers: webhook: signature already handled"))
		return
	}
	if evicted {
		h.cfg.Logger.WarnContext(ctx, "handlers: webhook: replay cache full, forgetting the oldest signature",
			slog.Int("size", h.cfg.ReplayCacheSize))
	}
	if err := h.dispatch(ctx, ev); err != nil {
		h.seen.remove(key) // let TikTok's retry through
		h.cfg.Logger.ErrorContext(ctx, "handlers: webhook: handling failed", slog.String("event", ev.Event),
			slog.String("error", err.Error()))
		h.answer(w, http.StatusInternalServerError)
		return
	}
	h.answer(w, http.StatusOK)
}

// dispatch acts on a verified event.
func (h *Webhook) dispatch(ctx context.Context, ev WebhookEvent) error {
	if ev.Event != EventAuthorizationRemoved {
		if h.cfg.OnEvent == nil {
			return nil
		}
		return h.cfg.OnEvent(ctx, ev)
	}
	if ev.UserOpenID == "" {
		return nil // nothing to delete; acknowledged so TikTok stops
	}
	if h.cfg.Tokens != nil {
		if err := h.cfg.Tokens.Delete(ctx, h.cfg.Key(ev.UserOpenID)); err != nil {
			return fmt.Errorf("handlers: webhook: deleting the token: %w", err)
		}
	}
	if h.cfg.OnAuthorizationRemoved != nil {
		h.cfg.OnAuthorizationRemoved(ctx, ev)
	}
	return nil
}

func (h *Webhook) refuse(ctx context.Context, w http.ResponseWriter, status int, what string, err error) {
	h.cfg.Logger.WarnContext(ctx, "handlers: webhook refused", slog.String("check", what),
		slog.Int("status", status), slog.String("error", err.Error()))
	h.answer(w, status)
}

func (h *Webhook) answer(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status)+"\n")
}

// decodeWebhookEvent decodes a webhook body and its content string.
func decodeWebhookEvent(body []byte) (WebhookEvent, error) {
	var wire struct {
		ClientKey  string          `json:"client_key"`
		Event      string          `json:"event"`
		CreateTime json.Number     `json:"create_time"`
		UserOpenID string          `json:"user_openid"`
		Content    json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return WebhookEvent{}, fmt.Errorf("handlers: webhook: body: %w", err)
	}
	if wire.Event == "" {
		return WebhookEvent{}, errors.New("handlers: webhook: no event name")
	}
	ev := WebhookEvent{ClientKey: wire.ClientKey, Event: wire.Event, UserOpenID: wire.UserOpenID}
	if wire.CreateTime != "" {
		secs, err := wire.CreateTime.Int64()
		if err != nil {
			return WebhookEvent{}, fmt.Errorf("handlers: webhook: create_time: %w", err)
		}
		ev.CreateTime = time.Unix(secs, 0).UTC()
	}
	content, err := webhookContent(wire.Content)
	if err != nil {
		return WebhookEvent{}, err
	}
	ev.Content = content
	switch {
	case ev.Event == EventAuthorizationRemoved:
		ev.AuthorizationRemoved = new(AuthorizationRemoved)
		if content != nil {
			if err := json.Unmarshal(content, ev.AuthorizationRemoved); err != nil {
				return WebhookEvent{}, fmt.Errorf("handlers: webhook: content: %w", err)
			}
		}
	case strings.HasPrefix(ev.Event, "post.publish."):
		p, err := decodePublishEvent(content)
		if err != nil {
			return WebhookEvent{}, err
		}
		ev.Publish = p
	}
	return ev, nil
}

// webhookContent returns the content member as a JSON object: TikTok sends
// a string holding JSON; an object is taken as is; absent, null or an empty
// string give nil.
func webhookContent(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("handlers: webhook: content: %w", err)
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("handlers: webhook: content is not a JSON object")
	}
	return raw, nil
}

func decodePublishEvent(content json.RawMessage) (*PublishEvent, error) {
	p := new(PublishEvent)
	if content == nil {
		return p, nil
	}
	var wire struct {
		PublishEvent
		PostID json.RawMessage `json:"post_id"`
	}
	if err := json.Unmarshal(content, &wire); err != nil {
		return nil, fmt.Errorf("handlers: webhook: content: %w", err)
	}
	*p = wire.PublishEvent
	if id := strings.Trim(string(wire.PostID), `"`); id != "" && id != "null" {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return nil, fmt.Errorf("handlers: webhook: post_id %s is not an int64", wire.PostID)
		}
		p.PostID = id
	}
	return p, nil
}

// replayCache remembers signatures until they expire, at most size of
// them. It is safe for concurrent use.
type replayCache struct {
	mu    sync.Mutex
	size  int
	byKey map[string]*replayEntry
	heap  replayHeap
}

type replayEntry struct {
	key     string
	expires time.Time
	index   int
}

func newReplayCache(size int) *replayCache {
	return &replayCache{size: size, byKey: make(map[string]*replayEntry)}
}

// add records key until expires unless it is already there (a replay).
// Expired entries are dropped first; when the cache is still full, the
// entry closest to expiry is dropped and evicted reports it.
func (c *replayCache) add(key string, now, expires time.Time) (added, evicted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.heap) > 0 && !now.Before(c.heap[0].expires) {
		e := heap.Pop(&c.heap).(*replayEntry)
		delete(c.byKey, e.key)
	}
	if _, ok := c.byKey[key]; ok {
		return false, false
	}
	if len(c.heap) >= c.size {
		e := heap.Pop(&c.heap).(*replayEntry)
		delete(c.byKey, e.key)
		evicted = true
	}
	e := &replayEntry{key: key, expires: expires}
	heap.Push(&c.heap, e)
	c.byKey[key] = e
	return true, evicted
}

// remove forgets key.
func (c *replayCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		heap.Remove(&c.heap, e.index)
		delete(c.byKey, key)
	}
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// replayHeap orders entries by expiry (container/heap).
type replayHeap []*replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h replayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *replayHeap) Push(x any) {
	e := x.(*replayEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
