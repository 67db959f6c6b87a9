package client

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
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

// SourceKind is where TikTok gets the media of a post from.
type SourceKind string

// Media sources.
const (
	// SourceFileUpload: the app uploads the file to the upload_url the init
	// call returns (see Upload).
	SourceFileUpload SourceKind = "FILE_UPLOAD"
	// SourcePullFromURL: TikTok downloads the file from an https URL under
	// a domain or URL prefix verified for the app.
	SourcePullFromURL SourceKind = "PULL_FROM_URL"
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
	// Kind is SourceFileUpload or SourcePullFromURL. Required.
	Kind SourceKind
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
	Source          SourceKind `json:"source"`
	VideoURL        string     `json:"video_url,omitempty"`
	VideoSize       int64      `json:"video_size,omitempty"`
	ChunkSize       int64      `json:"chunk_size,omitempty"`
	TotalChunkCount int        `json:"total_chunk_count,omitempty"`
}

func (s VideoSource) wire(op string) (sourceInfo, error) {
	switch s.Kind {
	case SourceFileUpload:
		if s.VideoURL != "" {
			return sourceInfo{}, fmt.Errorf("%w: %s: FILE_UPLOAD takes no video URL", ErrInvalidInput, op)
		}
		if err := s.Plan.Validate(); err != nil {
			return sourceInfo{}, fmt.Errorf("%s: %w", op, err)
		}
		return sourceInfo{Source: s.Kind, VideoSize: s.Plan.VideoSize, ChunkSize: s.Plan.ChunkSize,
			TotalChunkCount: s.Plan.TotalChunkCount}, nil
	case SourcePullFromURL:
		if s.Plan != (ChunkPlan{}) {
			return sourceInfo{}, fmt.Errorf("%w: %s: PULL_FROM_URL takes no chunk plan", ErrInvalidInput, op)
		}
		if err := checkMediaURL(s.VideoURL); err != nil {
			return sourceInfo{}, fmt.Errorf("%w: %s: video URL: %v", ErrInvalidInput, op, err)
		}
		return sourceInfo{Source: s.Kind, VideoURL: s.VideoURL}, nil
	}
	return sourceInfo{}, fmt.Errorf("%w: %s: source must be %s or %s, got %q",
		ErrInvalidInput, op, SourceFileUpload, SourcePullFromURL, string(s.Kind))
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
