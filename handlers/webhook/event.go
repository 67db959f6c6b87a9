package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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

// Event is one decoded webhook event.
type Event struct {
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

// decodeEvent decodes a webhook body and its content string.
func decodeEvent(body []byte) (Event, error) {
	var wire struct {
		ClientKey  string          `json:"client_key"`
		Event      string          `json:"event"`
		CreateTime json.Number     `json:"create_time"`
		UserOpenID string          `json:"user_openid"`
		Content    json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return Event{}, fmt.Errorf("webhook: body: %w", err)
	}
	if wire.Event == "" {
		return Event{}, errors.New("webhook: no event name")
	}
	ev := Event{ClientKey: wire.ClientKey, Event: wire.Event, UserOpenID: wire.UserOpenID}
	if wire.CreateTime != "" {
		secs, err := wire.CreateTime.Int64()
		if err != nil {
			return Event{}, fmt.Errorf("webhook: create_time: %w", err)
		}
		ev.CreateTime = time.Unix(secs, 0).UTC()
	}
	content, err := decodeContent(wire.Content)
	if err != nil {
		return Event{}, err
	}
	ev.Content = content
	switch {
	case ev.Event == EventAuthorizationRemoved:
		ev.AuthorizationRemoved = new(AuthorizationRemoved)
		if content != nil {
			if err := json.Unmarshal(content, ev.AuthorizationRemoved); err != nil {
				return Event{}, fmt.Errorf("webhook: content: %w", err)
			}
		}
	case strings.HasPrefix(ev.Event, "post.publish."):
		p, err := decodePublishEvent(content)
		if err != nil {
			return Event{}, err
		}
		ev.Publish = p
	}
	return ev, nil
}

// decodeContent returns the content member as a JSON object: TikTok sends
// a string holding JSON; an object is taken as is; absent, null or an empty
// string give nil.
func decodeContent(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("webhook: content: %w", err)
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("webhook: content is not a JSON object")
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
		return nil, fmt.Errorf("webhook: content: %w", err)
	}
	*p = wire.PublishEvent
	if id := strings.Trim(string(wire.PostID), `"`); id != "" && id != "null" {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return nil, fmt.Errorf("webhook: post_id %s is not an int64", wire.PostID)
		}
		p.PostID = id
	}
	return p, nil
}
