package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// PrivacyLevel is who may see a post. A post must use one of the creator's
// current CreatorInfo.PrivacyLevelOptions; an unaudited app often gets only
// PrivacySelfOnly.
type PrivacyLevel string

// The privacy levels TikTok knows.
const (
	PrivacyPublicToEveryone   PrivacyLevel = "PUBLIC_TO_EVERYONE"
	PrivacyMutualFollowFriend PrivacyLevel = "MUTUAL_FOLLOW_FRIENDS"
	PrivacyFollowerOfCreator  PrivacyLevel = "FOLLOWER_OF_CREATOR"
	PrivacySelfOnly           PrivacyLevel = "SELF_ONLY"
)

// known reports whether TikTok knows the level.
func (p PrivacyLevel) known() bool {
	switch p {
	case PrivacyPublicToEveryone, PrivacyMutualFollowFriend, PrivacyFollowerOfCreator, PrivacySelfOnly:
		return true
	}
	return false
}

// Source is where TikTok gets the media of a post from.
type Source string

// Media sources.
const (
	// SourceFileUpload: the app uploads the file to the upload_url the init
	// call returns (see Upload).
	SourceFileUpload Source = "FILE_UPLOAD"
	// SourcePullFromURL: TikTok downloads the file from an https URL under
	// a domain or URL prefix verified for the app.
	SourcePullFromURL Source = "PULL_FROM_URL"
)

// PostMode says what a photo post does.
type PostMode string

// Photo post modes.
const (
	// PostModeDirect posts at once (scope video.publish).
	PostModeDirect PostMode = "DIRECT_POST"
	// PostModeMediaUpload sends the photos to the user's inbox to finish in
	// TikTok (scope video.upload; TikTok app 31.8 or later).
	PostModeMediaUpload PostMode = "MEDIA_UPLOAD"
)

// Text limits of the Content Posting API, in UTF-16 code units.
const (
	MaxVideoTitleLen       = 2200
	MaxPhotoTitleLen       = 90
	MaxPhotoDescriptionLen = 4000
	// MaxPhotoImages is the largest number of images in a photo post.
	MaxPhotoImages = 35
)

// Sentinels for TikTok's posting error codes, for errors.Is. An *APIError
// matches the sentinel of its code whatever the HTTP status (TikTok answers
// some of them, such as the spam codes of creator info, with 200).
var (
	// ErrSpamRisk: any spam_risk code (too many posts, banned from posting,
	// too many pending shares, spam_risk_text, spam_risk). Do not retry.
	ErrSpamRisk = postingSentinel("spam risk", "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting",
		"spam_risk_too_many_pending_share", "spam_risk_text", "spam_risk")
	// ErrTooManyPosts: spam_risk_too_many_posts (the user's daily post cap).
	ErrTooManyPosts = postingSentinel("too many posts", "spam_risk_too_many_posts")
	// ErrBannedFromPosting: spam_risk_user_banned_from_posting.
	ErrBannedFromPosting = postingSentinel("user banned from posting", "spam_risk_user_banned_from_posting")
	// ErrTooManyPendingShares: spam_risk_too_many_pending_share (at most 5
	// inbox shares waiting per user per 24 hours).
	ErrTooManyPendingShares = postingSentinel("too many pending shares", "spam_risk_too_many_pending_share")
	// ErrActiveUserCap: reached_active_user_cap (the app's daily cap of
	// users posting through it).
	ErrActiveUserCap = postingSentinel("active user cap reached", "reached_active_user_cap")
	// ErrPrivacyLevelMismatch: privacy_level_option_mismatch from TikTok, or
	// a *PrivacyLevelError found before any request.
	ErrPrivacyLevelMismatch = postingSentinel("privacy level not among the creator's options", "privacy_level_option_mismatch")
	// ErrUnauditedClient: unaudited_client_can_only_post_to_private_accounts
	// (an app that has not passed TikTok's audit posts to private accounts
	// only).
	ErrUnauditedClient = postingSentinel("unaudited client can only post to private accounts",
		"unaudited_client_can_only_post_to_private_accounts")
	// ErrURLOwnershipUnverified: url_ownership_unverified (a PULL_FROM_URL
	// source outside the app's verified domains and prefixes).
	ErrURLOwnershipUnverified = postingSentinel("url ownership unverified", "url_ownership_unverified")
	// ErrInvalidFileUpload: invalid_file_upload (the file does not meet
	// TikTok's requirements).
	ErrInvalidFileUpload = postingSentinel("invalid file upload", "invalid_file_upload")
	// ErrAppVersionCheckFailed: app_version_check_failed (MEDIA_UPLOAD of
	// photos needs TikTok app 31.8 or later).
	ErrAppVersionCheckFailed = postingSentinel("app version check failed", "app_version_check_failed")
	// ErrInvalidPublishID: invalid_publish_id.
	ErrInvalidPublishID = postingSentinel("invalid publish id", "invalid_publish_id")
	// ErrPublishNotAuthorized: token_not_authorized_for_specified_publish_id
	// (the publish belongs to another user or app).
	ErrPublishNotAuthorized = postingSentinel("token not authorized for this publish id",
		"token_not_authorized_for_specified_publish_id")
	// ErrPublishNotCancellable: publish_not_cancellable.
	ErrPublishNotCancellable = postingSentinel("publish not cancellable", "publish_not_cancellable")
)

// codeSentinel is a sentinel matched by *APIError codes.
type codeSentinel struct {
	msg   string
	codes []string
}

func postingSentinel(msg string, codes ...string) error {
	return &codeSentinel{msg: "client: " + msg, codes: codes}
}

func (s *codeSentinel) Error() string { return s.msg }

// matchCodeSentinel reports whether target is a code sentinel listing code.
// APIError.Is calls it.
func matchCodeSentinel(code string, target error) bool {
	s, ok := target.(*codeSentinel)
	return ok && slices.Contains(s.codes, code)
}

// PrivacyLevelError is returned before any request when a post's privacy
// level is not among the creator's current options. It matches
// ErrPrivacyLevelMismatch and ErrInvalidInput.
type PrivacyLevelError struct {
	// Level is the level asked for.
	Level PrivacyLevel
	// Options are the creator's privacy_level_options.
	Options []string
}

// Error returns `client: privacy level "X" is not among the creator's options: A, B`.
func (e *PrivacyLevelError) Error() string {
	opts := "none"
	if len(e.Options) > 0 {
		opts = strings.Join(e.Options, ", ")
	}
	return fmt.Sprintf("client: privacy level %q is not among the creator's options: %s", string(e.Level), opts)
}

// Is matches ErrPrivacyLevelMismatch and ErrInvalidInput.
func (e *PrivacyLevelError) Is(target error) bool {
	return target == ErrPrivacyLevelMismatch || target == ErrInvalidInput
}

// VideoPostInfo is the post_info of a direct video post.
type VideoPostInfo struct {
	// Title is the caption, at most 2200 UTF-16 code units; #hashtags and
	// @mentions in it are parsed by TikTok. Optional.
	Title string `json:"title,omitempty"`
	// PrivacyLevel is required and must be one of the creator's options.
	PrivacyLevel PrivacyLevel `json:"privacy_level"`
	// DisableDuet, DisableComment and DisableStitch turn interactions off.
	// TikTok's rules say not to pre-check them in the app's UI.
	DisableDuet    bool `json:"disable_duet"`
	DisableComment bool `json:"disable_comment"`
	DisableStitch  bool `json:"disable_stitch"`
	// VideoCoverTimestampMS picks the frame used as cover. 0 (not sent)
	// means TikTok's default, the first frame.
	VideoCoverTimestampMS int `json:"video_cover_timestamp_ms,omitempty"`
	// BrandContentToggle marks a paid partnership promoting a third party.
	// It is always sent, false included, since TikTok calls it required.
	BrandContentToggle bool `json:"brand_content_toggle"`
	// BrandOrganicToggle marks a post promoting the creator's own business.
	// Sent only when true.
	BrandOrganicToggle bool `json:"brand_organic_toggle,omitempty"`
	// IsAIGC labels the video as AI-generated. Sent only when true.
	IsAIGC bool `json:"is_aigc,omitempty"`
}

// VideoSource is the source_info of a video post.
type VideoSource struct {
	// Source is SourceFileUpload or SourcePullFromURL. Required.
	Source Source
	// VideoURL is, for PULL_FROM_URL, an https URL under a domain or URL
	// prefix verified for the app, which does not redirect.
	VideoURL string
	// Plan is, for FILE_UPLOAD, the chunk plan made by PlanChunks; its
	// numbers are sent as video_size, chunk_size and total_chunk_count, and
	// Upload must send the file by the same plan.
	Plan ChunkPlan
}

// sourceInfo is the wire form of VideoSource.
type sourceInfo struct {
	Source          Source `json:"source"`
	VideoURL        string `json:"video_url,omitempty"`
	VideoSize       int64  `json:"video_size,omitempty"`
	ChunkSize       int64  `json:"chunk_size,omitempty"`
	TotalChunkCount int    `json:"total_chunk_count,omitempty"`
}

func (s VideoSource) wire(op string) (sourceInfo, error) {
	switch s.Source {
	case SourceFileUpload:
		if s.VideoURL != "" {
			return sourceInfo{}, fmt.Errorf("%w: %s: FILE_UPLOAD takes no video URL", ErrInvalidInput, op)
		}
		if err := s.Plan.Validate(); err != nil {
			return sourceInfo{}, fmt.Errorf("%s: %w", op, err)
		}
		return sourceInfo{Source: s.Source, VideoSize: s.Plan.VideoSize, ChunkSize: s.Plan.ChunkSize,
			TotalChunkCount: s.Plan.TotalChunkCount}, nil
	case SourcePullFromURL:
		if s.Plan != (ChunkPlan{}) {
			return sourceInfo{}, fmt.Errorf("%w: %s: PULL_FROM_URL takes no chunk plan", ErrInvalidInput, op)
		}
		if err := checkMediaURL(s.VideoURL); err != nil {
			return sourceInfo{}, fmt.Errorf("%w: %s: video URL: %v", ErrInvalidInput, op, err)
		}
		return sourceInfo{Source: s.Source, VideoURL: s.VideoURL}, nil
	}
	return sourceInfo{}, fmt.Errorf("%w: %s: source must be %s or %s, got %q",
		ErrInvalidInput, op, SourceFileUpload, SourcePullFromURL, string(s.Source))
}

// checkMediaURL checks what TikTok requires of a pulled URL that can be seen
// locally: absolute https, a host name that is not an IP address, no
// credentials or fragment.
func checkMediaURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("missing")
	}
	if len(raw) > 2048 || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return fmt.Errorf("too long or contains spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q must be an absolute https URL", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q must carry no credentials and no fragment", raw)
	}
	if net.ParseIP(strings.Trim(u.Hostname(), "[]")) != nil {
		return fmt.Errorf("%q: TikTok cannot verify an IP address host", raw)
	}
	return nil
}

// DirectPostRequest posts a video straight to the user's profile.
type DirectPostRequest struct {
	PostInfo VideoPostInfo
	Source   VideoSource
	// Creator, when set, is the creator info fetched for this post (TikTok
	// asks apps to fetch it fresh when showing the post screen): the
	// privacy level must be among its options, or the post is refused
	// before any request with a *PrivacyLevelError.
	Creator *CreatorInfo
	// FetchCreator, when Creator is nil, fetches CreatorInfo first (one more
	// request, repeatable) and checks the privacy level against it.
	FetchCreator bool
}

// InboxUploadRequest sends a video to the user's TikTok inbox, where the
// user finishes the post in TikTok's editor.
type InboxUploadRequest struct {
	Source VideoSource
}

// PhotoPostInfo is the post_info of a photo post.
type PhotoPostInfo struct {
	// Title is at most 90 UTF-16 code units. Optional.
	Title string `json:"title,omitempty"`
	// Description is at most 4000 UTF-16 code units. Optional.
	Description string `json:"description,omitempty"`
	// PrivacyLevel is required for DIRECT_POST (one of the creator's
	// options) and must be empty for MEDIA_UPLOAD.
	PrivacyLevel PrivacyLevel `json:"privacy_level,omitempty"`
	// DisableComment, AutoAddMusic and BrandOrganicToggle apply to
	// DIRECT_POST only (sent when true); BrandContentToggle is always sent
	// for DIRECT_POST, false included.
	DisableComment     bool `json:"disable_comment,omitempty"`
	AutoAddMusic       bool `json:"auto_add_music,omitempty"`
	BrandContentToggle bool `json:"brand_content_toggle"`
	BrandOrganicToggle bool `json:"brand_organic_toggle,omitempty"`
}

// PhotoPostRequest posts photos (POST /v2/post/publish/content/init/).
type PhotoPostRequest struct {
	// Mode is PostModeDirect or PostModeMediaUpload. Required.
	Mode     PostMode
	PostInfo PhotoPostInfo
	// Images are 1 to 35 https URLs under the app's verified domains,
	// pulled by TikTok (WebP or JPEG, at most 1080p and 20 MB each).
	Images []string
	// CoverIndex is the 0-based index in Images of the cover.
	CoverIndex int
	// Creator and FetchCreator work as in DirectPostRequest (DIRECT_POST
	// only).
	Creator      *CreatorInfo
	FetchCreator bool
}

// PostInit is the answer of a post init call.
type PostInit struct {
	// PublishID identifies the post for PublishStatus, WaitForPublish and
	// CancelPublish.
	PublishID string `json:"publish_id"`
	// UploadURL is where Upload sends the file (FILE_UPLOAD only). It is
	// valid for one hour and must be used exactly as returned.
	UploadURL string `json:"upload_url,omitempty"`
}

// utf16Len counts s in UTF-16 code units, the unit of TikTok's limits.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func checkText(op, what, s string, limit int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s: %s is not valid UTF-8", ErrInvalidInput, op, what)
	}
	if n := utf16Len(s); n > limit {
		return fmt.Errorf("%w: %s: %s is %d UTF-16 code units, more than %d", ErrInvalidInput, op, what, n, limit)
	}
	return nil
}

// checkPrivacy refuses an unknown level, and a level that is not among the
// creator's options when creator info is at hand (given, or fetched).
func (u *UserClient) checkPrivacy(ctx context.Context, op string, level PrivacyLevel, creator *CreatorInfo, fetch bool) error {
	if level == "" {
		return fmt.Errorf("%w: %s: privacy level is required", ErrInvalidInput, op)
	}
	if !level.known() {
		return fmt.Errorf("%w: %s: unknown privacy level %q (want %s, %s, %s or %s)", ErrInvalidInput, op, string(level),
			PrivacyPublicToEveryone, PrivacyMutualFollowFriend, PrivacyFollowerOfCreator, PrivacySelfOnly)
	}
	if creator == nil && fetch {
		ci, err := u.CreatorInfo(ctx)
		if err != nil {
			return fmt.Errorf("client: %s: fetching creator info: %w", op, err)
		}
		creator = ci
	}
	if creator != nil && !slices.Contains(creator.PrivacyLevelOptions, string(level)) {
		return &PrivacyLevelError{Level: level, Options: slices.Clone(creator.PrivacyLevelOptions)}
	}
	return nil
}

// postJSON sends a posting call: JSON body with charset, never retried and
// never refreshed, since repeating it could post twice.
func (u *UserClient) postJSON(ctx context.Context, op, path string, body any, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%w: %s: encoding body: %v", ErrInvalidInput, op, err)
	}
	rq := &request{op: op, method: http.MethodPost, path: path, body: raw, contentType: jsonContentType, retry: retryNone}
	return u.call(ctx, rq, func(rp *reply) error {
		hasData, err := decodeEnvelope(rp, out)
		if err != nil {
			return err
		}
		if out != nil && !hasData {
			return responseError(rp, errNoData)
		}
		return nil
	})
}

// postInit sends an init call and checks that the answer carries what the
// source needs: a publish_id, and an upload_url for FILE_UPLOAD.
func (u *UserClient) postInit(ctx context.Context, op, path string, body any, src Source) (*PostInit, error) {
	out := new(PostInit)
	if err := u.postJSON(ctx, op, path, body, out); err != nil {
		return nil, err
	}
	if out.PublishID == "" {
		return nil, &ResponseError{StatusCode: http.StatusOK, Err: fmt.Errorf("client: %s: answer has no publish_id", op)}
	}
	if src == SourceFileUpload && out.UploadURL == "" {
		return nil, &ResponseError{StatusCode: http.StatusOK, Err: fmt.Errorf("client: %s: FILE_UPLOAD answer has no upload_url", op)}
	}
	return out, nil
}

// DirectPostVideo starts a direct post of a video
// (POST /v2/post/publish/video/init/, scope video.publish). Before any
// request it refuses (ErrInvalidInput) a title over 2200 UTF-16 units, an
// unknown or missing privacy level, a bad source (FILE_UPLOAD needs a valid
// Plan, PULL_FROM_URL an https URL), and (*PrivacyLevelError) a level
// outside the creator's options when Creator is given or FetchCreator is
// set; a token whose scopes lack video.publish gets a *MissingScopeError.
// brand_content_toggle is always sent. For FILE_UPLOAD, send the file with
// Upload to the returned UploadURL within the hour. The call is not
// repeatable: it is never retried, nor refreshed on access_token_invalid,
// since a repeat could post twice. TikTok's refusals come back as *APIError
// matching the posting sentinels (ErrSpamRisk, ErrPrivacyLevelMismatch,
// ErrUnauditedClient, ErrURLOwnershipUnverified, ErrActiveUserCap, ...).
func (u *UserClient) DirectPostVideo(ctx context.Context, req DirectPostRequest) (*PostInit, error) {
	const op = "video_init"
	if err := u.needScope(op, ScopeVideoPublish); err != nil {
		return nil, err
	}
	if err := checkText(op, "title", req.PostInfo.Title, MaxVideoTitleLen); err != nil {
		return nil, err
	}
	if req.PostInfo.VideoCoverTimestampMS < 0 {
		return nil, fmt.Errorf("%w: %s: negative cover timestamp", ErrInvalidInput, op)
	}
	src, err := req.Source.wire(op)
	if err != nil {
		return nil, err
	}
	if err := u.checkPrivacy(ctx, op, req.PostInfo.PrivacyLevel, req.Creator, req.FetchCreator); err != nil {
		return nil, err
	}
	body := struct {
		PostInfo   VideoPostInfo `json:"post_info"`
		SourceInfo sourceInfo    `json:"source_info"`
	}{req.PostInfo, src}
	return u.postInit(ctx, op, PathVideoInit, body, req.Source.Source)
}

// UploadVideoToInbox sends a video to the user's inbox
// (POST /v2/post/publish/inbox/video/init/, scope video.upload); the user
// gets a notification and finishes the post in TikTok. The body is the
// source_info only. Validation, the missing-scope check and the absence of
// retries are as for DirectPostVideo; TikTok allows at most 5 pending shares
// per user per 24 hours (ErrTooManyPendingShares).
func (u *UserClient) UploadVideoToInbox(ctx context.Context, req InboxUploadRequest) (*PostInit, error) {
	const op = "inbox_init"
	if err := u.needScope(op, ScopeVideoUpload); err != nil {
		return nil, err
	}
	src, err := req.Source.wire(op)
	if err != nil {
		return nil, err
	}
	body := struct {
		SourceInfo sourceInfo `json:"source_info"`
	}{src}
	return u.postInit(ctx, op, PathInboxInit, body, req.Source.Source)
}

// PostPhotos starts a photo post (POST /v2/post/publish/content/init/;
// scope video.publish for DIRECT_POST, video.upload for MEDIA_UPLOAD). TikTok
// pulls the images, so they must be https URLs under the app's verified
// domains. Before any request it refuses (ErrInvalidInput) an unknown mode,
// 0 or more than 35 images, a cover index out of range, a title over 90 or a
// description over 4000 UTF-16 units, a direct post without a known privacy
// level, and a media upload with direct-only settings; with Creator or
// FetchCreator, a level outside the creator's options (*PrivacyLevelError).
// Not repeatable, like DirectPostVideo.
func (u *UserClient) PostPhotos(ctx context.Context, req PhotoPostRequest) (*PostInit, error) {
	const op = "content_init"
	info := req.PostInfo
	switch req.Mode {
	case PostModeDirect:
		if err := u.needScope(op, ScopeVideoPublish); err != nil {
			return nil, err
		}
	case PostModeMediaUpload:
		if err := u.needScope(op, ScopeVideoUpload); err != nil {
			return nil, err
		}
		if info.PrivacyLevel != "" || info.DisableComment || info.AutoAddMusic || info.BrandContentToggle ||
			info.BrandOrganicToggle || req.Creator != nil || req.FetchCreator {
			return nil, fmt.Errorf("%w: %s: privacy level, comment, music, brand settings and creator checks apply to DIRECT_POST only",
				ErrInvalidInput, op)
		}
	default:
		return nil, fmt.Errorf("%w: %s: post mode must be %s or %s, got %q", ErrInvalidInput, op,
			PostModeDirect, PostModeMediaUpload, string(req.Mode))
	}
	if err := checkText(op, "title", info.Title, MaxPhotoTitleLen); err != nil {
		return nil, err
	}
	if err := checkText(op, "description", info.Description, MaxPhotoDescriptionLen); err != nil {
		return nil, err
	}
	if len(req.Images) == 0 || len(req.Images) > MaxPhotoImages {
		return nil, fmt.Errorf("%w: %s: %d images, want 1 to %d", ErrInvalidInput, op, len(req.Images), MaxPhotoImages)
	}
	for i, img := range req.Images {
		if err := checkMediaURL(img); err != nil {
			return nil, fmt.Errorf("%w: %s: image %d: %v", ErrInvalidInput, op, i, err)
		}
	}
	if req.CoverIndex < 0 || req.CoverIndex >= len(req.Images) {
		return nil, fmt.Errorf("%w: %s: cover index %d out of range [0, %d)", ErrInvalidInput, op, req.CoverIndex, len(req.Images))
	}
	if req.Mode == PostModeDirect {
		if err := u.checkPrivacy(ctx, op, info.PrivacyLevel, req.Creator, req.FetchCreator); err != nil {
			return nil, err
		}
	}
	type photoSource struct {
		Source          Source   `json:"source"`
		PhotoImages     []string `json:"photo_images"`
		PhotoCoverIndex int      `json:"photo_cover_index"`
	}
	src := photoSource{Source: SourcePullFromURL, PhotoImages: req.Images, PhotoCoverIndex: req.CoverIndex}
	var body any
	if req.Mode == PostModeDirect {
		body = struct {
			MediaType  string        `json:"media_type"`
			PostMode   PostMode      `json:"post_mode"`
			PostInfo   PhotoPostInfo `json:"post_info"`
			SourceInfo photoSource   `json:"source_info"`
		}{"PHOTO", req.Mode, info, src}
	} else {
		type uploadInfo struct {
			Title       string `json:"title,omitempty"`
			Description string `json:"description,omitempty"`
		}
		body = struct {
			MediaType  string      `json:"media_type"`
			PostMode   PostMode    `json:"post_mode"`
			PostInfo   uploadInfo  `json:"post_info"`
			SourceInfo photoSource `json:"source_info"`
		}{"PHOTO", req.Mode, uploadInfo{info.Title, info.Description}, src}
	}
	return u.postInit(ctx, op, PathContentInit, body, SourcePullFromURL)
}

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
