package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CancelPublish asks TikTok to stop a publish in progress
// (POST /v2/post/publish/cancel/), best effort, typically a PULL_FROM_URL
// download. Not repeatable. Refusals come back as *APIError matching
// ErrInvalidPublishID, ErrPublishNotAuthorized or ErrPublishNotCancellable.
func (u *UserClient) CancelPublish(ctx context.Context, publishID string) error {
	const op = "publish_cancel"
	if err := checkPublishID(op, publishID); err != nil {
		return err
	}
	body := struct {
		PublishID string `json:"publish_id"`
	}{publishID}
	return u.postJSON(ctx, op, PathPublishCancel, body, nil)
}

func checkPublishID(op, id string) error {
	if id == "" || len(id) > 256 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return fmt.Errorf("%w: %s: invalid publish id %q", ErrInvalidInput, op, id)
	}
	return nil
}

// PublishState is the status of a publish.
type PublishState string

// Publish states, as TikTok's status endpoint reports them.
const (
	// PublishProcessingUpload: TikTok waits for or processes the uploaded
	// file (FILE_UPLOAD).
	PublishProcessingUpload PublishState = "PROCESSING_UPLOAD"
	// PublishProcessingDownload: TikTok downloads the file (PULL_FROM_URL).
	PublishProcessingDownload PublishState = "PROCESSING_DOWNLOAD"
	// PublishSendToUserInbox: the user was notified in TikTok's inbox
	// (inbox upload and MEDIA_UPLOAD); they finish the post themselves.
	PublishSendToUserInbox PublishState = "SEND_TO_USER_INBOX"
	// PublishComplete: posted (direct) or finished by the user (inbox).
	PublishComplete PublishState = "PUBLISH_COMPLETE"
	// PublishFailed: see PublishStatus.FailReason.
	PublishFailed PublishState = "FAILED"
)

// PublishStatus is the answer of the status endpoint.
type PublishStatus struct {
	// PublishID is the publish the status is about (set by the client).
	PublishID string `json:"-"`
	Status    PublishState
	// FailReason says why a publish FAILED, such as "file_format_check_failed",
	// "video_pull_failed", "spam_risk_too_many_posts" or "internal".
	FailReason string
	// PublicPostIDs are the IDs of the public posts, filled once a public
	// post passed moderation (TikTok's member is spelled
	// publicaly_available_post_id); one upload can become several posts.
	PublicPostIDs []int64
	// UploadedBytes (FILE_UPLOAD) and DownloadedBytes (PULL_FROM_URL)
	// report transfer progress.
	UploadedBytes   int64
	DownloadedBytes int64
}

// UnmarshalJSON decodes TikTok's status data, taking post IDs given as
// numbers or strings, under the misspelled name TikTok uses or the
// corrected one.
func (s *PublishStatus) UnmarshalJSON(b []byte) error {
	var w struct {
		Status          PublishState `json:"status"`
		FailReason      string       `json:"fail_reason"`
		Misspelled      int64List    `json:"publicaly_available_post_id"`
		Corrected       int64List    `json:"publicly_available_post_id"`
		UploadedBytes   int64        `json:"uploaded_bytes"`
		DownloadedBytes int64        `json:"downloaded_bytes"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	ids := w.Misspelled
	if len(ids) == 0 {
		ids = w.Corrected
	}
	*s = PublishStatus{PublishID: s.PublishID, Status: w.Status, FailReason: w.FailReason,
		PublicPostIDs: ids, UploadedBytes: w.UploadedBytes, DownloadedBytes: w.DownloadedBytes}
	return nil
}

// int64List decodes a JSON list of integers written as numbers or strings,
// without going through float64 (post IDs exceed 2^53).
type int64List []int64

func (l *int64List) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]int64, 0, len(raw))
	for _, r := range raw {
		s := strings.Trim(string(r), `"`)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("client: post id %s is not an int64", r)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

// Final reports whether the status will not change by itself:
// PUBLISH_COMPLETE, FAILED, or SEND_TO_USER_INBOX (the rest is up to the
// user).
func (s *PublishStatus) Final() bool {
	switch s.Status {
	case PublishComplete, PublishFailed, PublishSendToUserInbox:
		return true
	}
	return false
}

// PublishStatus fetches the status of a publish
// (POST /v2/post/publish/status/fetch/, scope video.upload or
// video.publish). TikTok allows 30 calls per minute per token. Reading a
// status has no side effect, so the call is repeatable: retried on 429, 5xx
// and connection errors, refreshed once on access_token_invalid. Refusals
// come back as *APIError matching ErrInvalidPublishID or
// ErrPublishNotAuthorized.
func (u *UserClient) PublishStatus(ctx context.Context, publishID string) (*PublishStatus, error) {
	const op = "publish_status"
	if err := checkPublishID(op, publishID); err != nil {
		return nil, err
	}
	if tok := u.tok.Load(); tok != nil && len(tok.Scopes) > 0 &&
		!tok.HasScopes(ScopeVideoPublish) && !tok.HasScopes(ScopeVideoUpload) {
		return nil, &MissingScopeError{Field: op, Scope: ScopeVideoPublish + " or " + ScopeVideoUpload}
	}
	raw, err := json.Marshal(struct {
		PublishID string `json:"publish_id"`
	}{publishID})
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", op, err)
	}
	rq := &request{op: op, method: http.MethodPost, path: PathPublishStatus, body: raw,
		contentType: jsonContentType, retry: retryAll}
	st := new(PublishStatus)
	err = u.call(ctx, rq, func(rp *reply) error {
		*st = PublishStatus{}
		hasData, err := decodeEnvelope(rp, st)
		if err != nil {
			return err
		}
		if !hasData || st.Status == "" {
			return responseError(rp, errNoStatus)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.PublishID = publishID
	return st, nil
}

var errNoStatus = errors.New("client: answer has no data.status")

// ErrPublishFailed matches a *PublishFailedError: the publish ended FAILED.
var ErrPublishFailed = errors.New("client: publish failed")

// PublishFailedError is returned by WaitForPublish when the publish ended
// FAILED. It matches ErrPublishFailed.
type PublishFailedError struct {
	PublishID string
	// Reason is TikTok's fail_reason.
	Reason string
}

// Error returns "client: publish <id> failed: <reason>".
func (e *PublishFailedError) Error() string {
	return "client: publish " + sanitize(e.PublishID, 100) + " failed: " + orUnknown(e.Reason)
}

// Is matches ErrPublishFailed.
func (e *PublishFailedError) Is(target error) bool { return target == ErrPublishFailed }

// Retryable reports whether posting again may succeed: TikTok's "internal"
// failure, or a failed pull (when the URL is good).
func (e *PublishFailedError) Retryable() bool {
	switch e.Reason {
	case "internal", "video_pull_failed", "photo_pull_failed":
		return true
	}
	return false
}

// MinPublishPollInterval is the shortest wait between two status fetches of
// WaitForPublish: TikTok allows 30 status calls per minute per token.
const MinPublishPollInterval = 2 * time.Second

// WaitOptions tune WaitForPublish.
type WaitOptions struct {
	// Interval is the wait between two status fetches. Default, and
	// minimum, MinPublishPollInterval (2s); a shorter one is raised.
	Interval time.Duration
	// UntilPublished keeps waiting past SEND_TO_USER_INBOX until the user
	// finishes the post (PUBLISH_COMPLETE) or it fails. Default false: an
	// inbox delivery ends the wait.
	UntilPublished bool
	// OnStatus, when set, is called with every status fetched.
	OnStatus func(*PublishStatus)
	// Sleep waits d or until ctx ends, returning ctx's error then. Default:
	// a timer. Tests replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// WaitForPublish polls PublishStatus until the publish reaches a final
// status: PUBLISH_COMPLETE, SEND_TO_USER_INBOX (unless UntilPublished) or
// FAILED, and returns it. The first fetch is immediate, the next ones
// opts.Interval apart (at least 2s, TikTok's 30 per minute). FAILED returns
// the status with a *PublishFailedError (ErrPublishFailed). A status fetch
// that fails after its own retries ends the wait with that error; so does
// ctx, whose error is returned with the last status fetched (nil if none).
func (u *UserClient) WaitForPublish(ctx context.Context, publishID string, opts WaitOptions) (*PublishStatus, error) {
	interval := max(opts.Interval, MinPublishPollInterval)
	sleep := opts.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var last *PublishStatus
	for {
		st, err := u.PublishStatus(ctx, publishID)
		if err != nil {
			return last, err
		}
		last = st
		if opts.OnStatus != nil {
			opts.OnStatus(st)
		}
		switch {
		case st.Status == PublishFailed:
			return st, &PublishFailedError{PublishID: publishID, Reason: st.FailReason}
		case st.Status == PublishComplete, st.Status == PublishSendToUserInbox && !opts.UntilPublished:
			return st, nil
		}
		if err := sleep(ctx, interval); err != nil {
			return last, fmt.Errorf("client: waiting for publish %s: %w", publishID, err)
		}
	}
}
