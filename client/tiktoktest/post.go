package tiktoktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// MediaConfig configures the posting and upload endpoints. The zero value
// is TikTok's behaviour for an audited app with no verified URL: every
// PULL_FROM_URL source is refused with url_ownership_unverified until a
// domain or prefix is verified. Change it with SetMediaConfig.
type MediaConfig struct {
	// VerifiedDomains are domains verified for PULL_FROM_URL; a domain also
	// covers its subdomains ("example.com" covers "cdn.example.com").
	// Default none.
	VerifiedDomains []string `json:"verified_domains,omitempty"`
	// VerifiedURLPrefixes are verified URL prefixes such as
	// "https://cdn.example.com/videos/". Default none.
	VerifiedURLPrefixes []string `json:"verified_url_prefixes,omitempty"`
	// Unaudited makes the app unaudited: posting for a user whose account is
	// public (PUBLIC_TO_EVERYONE among the privacy options) fails with 403
	// unaudited_client_can_only_post_to_private_accounts, and other posts
	// are forced to SELF_ONLY. Default false.
	Unaudited bool `json:"unaudited,omitempty"`
	// RateLimits enforces TikTok's per-token limits: 6 inits per minute per
	// init endpoint and 30 status fetches per minute (429
	// rate_limit_exceeded with Retry-After). Default false, so tests may
	// post quickly.
	RateLimits bool `json:"rate_limits,omitempty"`
	// MaxPendingShares is how many inbox shares (inbox video, MEDIA_UPLOAD
	// photos) a user may have waiting in 24 hours before 403
	// spam_risk_too_many_pending_share. Default 5, TikTok's figure;
	// negative means no cap.
	MaxPendingShares int `json:"max_pending_shares,omitempty"`
	// MaxPostsPerDay caps direct posts per user per 24 hours (403
	// spam_risk_too_many_posts). Default 0: no cap (TikTok's is not
	// published).
	MaxPostsPerDay int `json:"max_posts_per_day,omitempty"`
	// UploadURLTTL is how long an upload_url works (403 after). Default 1h.
	UploadURLTTL time.Duration `json:"upload_url_ttl,omitempty"`
	// ProcessingPolls is how many status fetches still answer
	// PROCESSING_UPLOAD or PROCESSING_DOWNLOAD once the media is in (upload
	// finished, or pull started) before the final status. Default 1; a
	// negative value means none (final at the first fetch).
	ProcessingPolls int `json:"processing_polls,omitempty"`
}

func (c MediaConfig) withDefaults() MediaConfig {
	if c.MaxPendingShares == 0 {
		c.MaxPendingShares = 5
	}
	if c.UploadURLTTL <= 0 {
		c.UploadURLTTL = time.Hour
	}
	if c.ProcessingPolls == 0 {
		c.ProcessingPolls = 1
	}
	c.VerifiedDomains = slices.Clone(c.VerifiedDomains)
	c.VerifiedURLPrefixes = slices.Clone(c.VerifiedURLPrefixes)
	return c
}

// mediaState holds the video, posting and upload state of a Server. The
// zero value is ready; mu guards everything and is never held together with
// Server.mu.
type mediaState struct {
	mu        sync.Mutex
	cfg       MediaConfig
	cfgSet    bool
	videos    map[string][]Video
	publishes map[string]*publish
	uploads   map[string]*publish // by upload_id
	rate      map[string][]time.Time
	faults    []*UploadFault
}

func (m *mediaState) cfgLocked() MediaConfig {
	if !m.cfgSet {
		m.cfg = MediaConfig{}.withDefaults()
		m.cfgSet = true
	}
	return m.cfg
}

// SetMediaConfig replaces the posting configuration, defaults filled in.
func (s *Server) SetMediaConfig(c MediaConfig) {
	s.media.mu.Lock()
	s.media.cfg = c.withDefaults()
	s.media.cfgSet = true
	s.media.mu.Unlock()
}

// MediaConfig returns the posting configuration in effect.
func (s *Server) MediaConfig() MediaConfig {
	s.media.mu.Lock()
	defer s.media.mu.Unlock()
	c := s.media.cfgLocked()
	c.VerifiedDomains = slices.Clone(c.VerifiedDomains)
	c.VerifiedURLPrefixes = slices.Clone(c.VerifiedURLPrefixes)
	return c
}

// Publish states (tiktok-api §5.8).
const (
	statusProcessingUpload   = "PROCESSING_UPLOAD"
	statusProcessingDownload = "PROCESSING_DOWNLOAD"
	statusSendToUserInbox    = "SEND_TO_USER_INBOX"
	statusPublishComplete    = "PUBLISH_COMPLETE"
	statusFailed             = "FAILED"
)

// Publish kinds.
const (
	kindVideo      = "video"
	kindInboxVideo = "inbox_video"
	kindPhoto      = "photo"
	kindInboxPhoto = "inbox_photo"
)

// publish is one post in progress.
type publish struct {
	id         string
	openID     string
	kind       string
	source     string
	privacy    string
	status     string
	failReason string
	created    time.Time
	mediaIn    bool // upload complete, or pull started
	polls      int
	postIDs    []int64
	downloaded int64
	up         *upload
}

func (p *publish) inbox() bool { return p.kind == kindInboxVideo || p.kind == kindInboxPhoto }

func (p *publish) final() bool {
	return p.status == statusPublishComplete || p.status == statusFailed || p.status == statusSendToUserInbox
}

// PublishInfo is a snapshot of one publish, for tests.
type PublishInfo struct {
	PublishID string `json:"publish_id"`
	OpenID    string `json:"open_id"`
	// Kind is "video" (direct post), "inbox_video", "photo" (DIRECT_POST)
	// or "inbox_photo" (MEDIA_UPLOAD).
	Kind string `json:"kind"`
	// Source is FILE_UPLOAD or PULL_FROM_URL.
	Source string `json:"source"`
	// PrivacyLevel is the level the post got (after the unaudited rule).
	PrivacyLevel string `json:"privacy_level,omitempty"`
	Status       string `json:"status"`
	FailReason   string `json:"fail_reason,omitempty"`
	// Upload is the upload's state for FILE_UPLOAD, else nil.
	Upload *UploadState `json:"upload,omitempty"`
}

func (p *publish) info() PublishInfo {
	pi := PublishInfo{PublishID: p.id, OpenID: p.openID, Kind: p.kind, Source: p.source,
		PrivacyLevel: p.privacy, Status: p.status, FailReason: p.failReason}
	if p.up != nil {
		st := p.up.state()
		pi.Upload = &st
	}
	return pi
}

// Publish returns a snapshot of the publish with the ID, and whether it
// exists.
func (s *Server) Publish(publishID string) (PublishInfo, bool) {
	s.media.mu.Lock()
	defer s.media.mu.Unlock()
	p := s.media.publishes[publishID]
	if p == nil {
		return PublishInfo{}, false
	}
	return p.info(), true
}

// Publishes returns a snapshot of every publish, oldest first.
func (s *Server) Publishes() []PublishInfo {
	s.media.mu.Lock()
	defer s.media.mu.Unlock()
	out := make([]PublishInfo, 0, len(s.media.publishes))
	for _, p := range s.media.publishes {
		out = append(out, p.info())
	}
	slices.SortFunc(out, func(a, b PublishInfo) int { return strings.Compare(a.PublishID, b.PublishID) })
	return out
}

// FailPublish makes the publish end FAILED with the reason (such as
// "file_format_check_failed" or "spam_risk_text"), as TikTok's checks
// would. It reports whether the publish exists.
func (s *Server) FailPublish(publishID, reason string) bool {
	s.media.mu.Lock()
	defer s.media.mu.Unlock()
	p := s.media.publishes[publishID]
	if p == nil {
		return false
	}
	p.status, p.failReason = statusFailed, reason
	return true
}

// addPublishLocked records a new publish with a TikTok-shaped ID.
func (m *mediaState) addPublishLocked(p *publish, prefix string) {
	if m.publishes == nil {
		m.publishes = make(map[string]*publish)
	}
	for {
		p.id = prefix + randomString(19, "0123456789")
		if m.publishes[p.id] == nil {
			break
		}
	}
	m.publishes[p.id] = p
}

// rateLocked counts a call of the endpoint with the token and reports how
// long to wait when more than limit calls fell in the last minute.
func (m *mediaState) rateLocked(e Endpoint, token string, limit int, now time.Time) (time.Duration, bool) {
	if m.rate == nil {
		m.rate = make(map[string][]time.Time)
	}
	key := string(e) + " " + token
	calls := slices.DeleteFunc(m.rate[key], func(t time.Time) bool { return !now.Before(t.Add(time.Minute)) })
	if len(calls) >= limit {
		m.rate[key] = calls
		return calls[0].Add(time.Minute).Sub(now), false
	}
	m.rate[key] = append(calls, now)
	return 0, true
}

// limitRate answers 429 when the media config enforces rate limits and the
// token made more than limit calls to e in the last minute.
func (s *Server) limitRate(w http.ResponseWriter, r *http.Request, e Endpoint, limit int) bool {
	tok, _ := bearerToken(r)
	now := s.Now()
	s.media.mu.Lock()
	enforce := s.media.cfgLocked().RateLimits
	wait, ok := time.Duration(0), true
	if enforce {
		wait, ok = s.media.rateLocked(e, tok, limit, now)
	}
	s.media.mu.Unlock()
	if ok {
		return true
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	s.writeAPIError(w, http.StatusTooManyRequests, "rate_limit_exceeded", describe("rate_limit_exceeded"))
	return false
}

// Content Posting limits (tiktok-api §5).
const (
	initsPerMinute        = 6
	statusPerMinute       = 30
	maxVideoTitleUnits    = 2200
	maxPhotoTitleUnits    = 90
	maxPhotoDescUnits     = 4000
	maxPhotoImages        = 35
	minChunk              = 5 * 1024 * 1024
	maxChunk              = 64_000_000
	maxLastChunk          = 128_000_000
	maxChunks             = 1000
	msgChunkInvalid       = "The chunk size is invalid"
	msgURLOwnership       = "Please review our URL ownership verification rules at https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide/#pull_from_url"
	msgPrivacyMismatch    = "The privacy level is not among the creator's privacy_level_options."
	msgUnaudited          = "Unaudited clients can only post to private accounts."
	msgPendingShares      = "The user has too many pending shares. Please try again later."
	msgInvalidPublishID   = "The publish_id is invalid."
	msgNotYourPublish     = "The access token is not authorized for the specified publish_id."
	msgPublishNotCancel   = "The publish can no longer be cancelled."
	codeInvalidParam      = "invalid_param"
	codeChunkParams       = "invalid_params"
	codePrivacyMismatch   = "privacy_level_option_mismatch"
	codeUnaudited         = "unaudited_client_can_only_post_to_private_accounts"
	codeURLOwnership      = "url_ownership_unverified"
	codePendingShares     = "spam_risk_too_many_pending_share"
	codeTooManyPosts      = "spam_risk_too_many_posts"
	codeInvalidPublishID  = "invalid_publish_id"
	codeNotYourPublish    = "token_not_authorized_for_specified_publish_id"
	codePublishNotCancel  = "publish_not_cancellable"
	defaultPulledBytes    = 12_345_678
	publicPostIDBase      = 7_300_000_000_000_000_000
	maxPublishIDBodyBytes = 256
)

// utf16Units counts s in UTF-16 code units.
func utf16Units(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// checkChunkPlan applies the Media Transfer Guide's rules (§5.6) to an
// init's numbers.
func checkChunkPlan(size, chunk, count int64) error {
	switch {
	case size <= 0 || chunk <= 0 || count <= 0:
		return errors.New("video_size, chunk_size and total_chunk_count must be positive")
	case size < minChunk:
		if chunk != size || count != 1 {
			return errors.New("a video under 5 MB must be uploaded whole (chunk_size = video_size, total_chunk_count = 1)")
		}
	case count == 1:
		if chunk != size || size > maxChunk {
			return errors.New("a single chunk must hold the whole video, at most 64 MB")
		}
	default:
		if chunk < minChunk || chunk > maxChunk {
			return errors.New("chunk_size must be between 5 MB and 64 MB")
		}
		if count > maxChunks || count != size/chunk {
			return errors.New("total_chunk_count must be floor(video_size / chunk_size), at most 1000")
		}
		if size-(count-1)*chunk > maxLastChunk {
			return errors.New("the last chunk must be at most 128 MB")
		}
	}
	return nil
}

// verifiedURL reports whether a pulled URL is https, not on an IP address,
// and under a verified domain or prefix.
func (c MediaConfig) verifiedURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return false
	}
	for _, d := range c.VerifiedDomains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if d != "" && (host == d || strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	for _, p := range c.VerifiedURLPrefixes {
		if p != "" && strings.HasPrefix(raw, p) {
			return true
		}
	}
	return false
}

// postRefusal is an init refusal: status, code, message.
type postRefusal struct {
	status int
	code   string
	msg    string
}

func badParam(msg string) *postRefusal {
	return &postRefusal{http.StatusBadRequest, codeInvalidParam, msg}
}

// videoSourceJSON is source_info of a video init.
type videoSourceJSON struct {
	Source          *string `json:"source"`
	VideoURL        *string `json:"video_url"`
	VideoSize       *int64  `json:"video_size"`
	ChunkSize       *int64  `json:"chunk_size"`
	TotalChunkCount *int64  `json:"total_chunk_count"`
}

// checkVideoSource validates source_info.
func checkVideoSource(src *videoSourceJSON, cfg MediaConfig) *postRefusal {
	if src == nil || src.Source == nil {
		return badParam("source_info.source is required.")
	}
	switch *src.Source {
	case "FILE_UPLOAD":
		if src.VideoSize == nil || src.ChunkSize == nil || src.TotalChunkCount == nil {
			return badParam("FILE_UPLOAD needs video_size, chunk_size and total_chunk_count.")
		}
		if err := checkChunkPlan(*src.VideoSize, *src.ChunkSize, *src.TotalChunkCount); err != nil {
			return &postRefusal{http.StatusBadRequest, codeChunkParams, msgChunkInvalid + ": " + err.Error()}
		}
	case "PULL_FROM_URL":
		if src.VideoURL == nil || *src.VideoURL == "" {
			return badParam("PULL_FROM_URL needs video_url.")
		}
		if !cfg.verifiedURL(*src.VideoURL) {
			return &postRefusal{http.StatusForbidden, codeURLOwnership, msgURLOwnership}
		}
	default:
		return badParam("source_info.source must be FILE_UPLOAD or PULL_FROM_URL.")
	}
	return nil
}

// checkPrivacy applies the privacy and unaudited rules and returns the
// level the post gets.
func checkPrivacy(level *string, u User, cfg MediaConfig) (string, *postRefusal) {
	if level == nil || !slices.Contains(u.PrivacyLevelOptions, *level) {
		return "", &postRefusal{http.StatusForbidden, codePrivacyMismatch, msgPrivacyMismatch}
	}
	if cfg.Unaudited {
		if slices.Contains(u.PrivacyLevelOptions, privacyPublic) {
			return "", &postRefusal{http.StatusForbidden, codeUnaudited, msgUnaudited}
		}
		return privacySelf, nil
	}
	return *level, nil
}

// capsLocked applies the per-user 24-hour caps to a new publish.
func (m *mediaState) capsLocked(openID string, inbox bool, now time.Time, cfg MediaConfig) *postRefusal {
	pending, posts := 0, 0
	for _, p := range m.publishes {
		if p.openID != openID || !now.Before(p.created.Add(24*time.Hour)) || p.status == statusFailed {
			continue
		}
		if p.inbox() {
			if p.status != statusPublishComplete {
				pending++
			}
		} else {
			posts++
		}
	}
	if inbox && cfg.MaxPendingShares > 0 && pending >= cfg.MaxPendingShares {
		return &postRefusal{http.StatusForbidden, codePendingShares, msgPendingShares}
	}
	if !inbox && cfg.MaxPostsPerDay > 0 && posts >= cfg.MaxPostsPerDay {
		return &postRefusal{http.StatusForbidden, codeTooManyPosts, describe(codeTooManyPosts)}
	}
	return nil
}

// startPublish records a publish after the caps check and answers its
// publish_id (and upload_url for FILE_UPLOAD).
func (s *Server) startPublish(w http.ResponseWriter, r *http.Request, p *publish, src *videoSourceJSON, prefix string) {
	now := s.Now()
	s.media.mu.Lock()
	cfg := s.media.cfgLocked()
	if ref := s.media.capsLocked(p.openID, p.inbox(), now, cfg); ref != nil {
		s.media.mu.Unlock()
		s.writeAPIError(w, ref.status, ref.code, ref.msg)
		return
	}
	p.created = now
	data := struct {
		PublishID string `json:"publish_id"`
		UploadURL string `json:"upload_url,omitempty"`
	}{}
	if p.source == "FILE_UPLOAD" {
		p.status = statusProcessingUpload
		p.up = s.media.newUploadLocked(p, *src.VideoSize, *src.ChunkSize, int(*src.TotalChunkCount), now.Add(cfg.UploadURLTTL))
	} else {
		p.status = statusProcessingDownload
		p.mediaIn = true
	}
	s.media.addPublishLocked(p, prefix)
	data.PublishID = p.id
	if p.up != nil {
		data.UploadURL = requestBase(r) + pathUpload + "?upload_id=" + p.up.id + "&upload_token=" + p.up.token
	}
	s.media.mu.Unlock()
	s.writeAPIData(w, data)
}

// serveVideoInit answers POST /v2/post/publish/video/init/ (direct post,
// scope video.publish).
func (s *Server) serveVideoInit(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authenticate(w, r, scopeVideoPublish)
	if !ok || !s.limitRate(w, r, EndpointVideoInit, initsPerMinute) {
		return
	}
	var body struct {
		PostInfo *struct {
			Title                 *string `json:"title"`
			PrivacyLevel          *string `json:"privacy_level"`
			DisableDuet           *bool   `json:"disable_duet"`
			DisableComment        *bool   `json:"disable_comment"`
			DisableStitch         *bool   `json:"disable_stitch"`
			VideoCoverTimestampMS *int32  `json:"video_cover_timestamp_ms"`
			BrandContentToggle    *bool   `json:"brand_content_toggle"`
			BrandOrganicToggle    *bool   `json:"brand_organic_toggle"`
			IsAIGC                *bool   `json:"is_aigc"`
		} `json:"post_info"`
		SourceInfo *videoSourceJSON `json:"source_info"`
	}
	if !s.readJSONBody(w, r, &body, false, codeInvalidParam) {
		return
	}
	cfg := s.MediaConfig()
	if body.PostInfo == nil {
		s.writeAPIError(w, http.StatusBadRequest, codeInvalidParam, "post_info is required.")
		return
	}
	if t := body.PostInfo.Title; t != nil && utf16Units(*t) > maxVideoTitleUnits {
		s.writeAPIError(w, http.StatusBadRequest, codeInvalidParam, "title must be at most 2200 UTF-16 code units.")
		return
	}
	if ts := body.PostInfo.VideoCoverTimestampMS; ts != nil && *ts < 0 {
		s.writeAPIError(w, http.StatusBadRequest, codeInvalidParam, "video_cover_timestamp_ms must not be negative.")
		return
	}
	// Malformed parameters (400) come before the account checks (403).
	srcRef := checkVideoSource(body.SourceInfo, cfg)
	if srcRef != nil && srcRef.status == http.StatusBadRequest {
		s.writeAPIError(w, srcRef.status, srcRef.code, srcRef.msg)
		return
	}
	level, ref := checkPrivacy(body.PostInfo.PrivacyLevel, b.user, cfg)
	if ref == nil {
		ref = srcRef
	}
	if ref != nil {
		s.writeAPIError(w, ref.status, ref.code, ref.msg)
		return
	}
	p := &publish{openID: b.openID, kind: kindVideo, source: *body.SourceInfo.Source, privacy: level}
	prefix := "v_pub_url~v2."
	if p.source == "FILE_UPLOAD" {
		prefix = "v_pub_file~v2-1."
	}
	s.startPublish(w, r, p, body.SourceInfo, prefix)
}

// serveInboxInit answers POST /v2/post/publish/inbox/video/init/ (scope
// video.upload): source_info only.
func (s *Server) serveInboxInit(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authenticate(w, r, scopeVideoUpload)
	if !ok || !s.limitRate(w, r, EndpointInboxInit, initsPerMinute) {
		return
	}
	var body struct {
		SourceInfo *videoSourceJSON `json:"source_info"`
	}
	if !s.readJSONBody(w, r, &body, false, codeInvalidParam) {
		return
	}
	if ref := checkVideoSource(body.SourceInfo, s.MediaConfig()); ref != nil {
		s.writeAPIError(w, ref.status, ref.code, ref.msg)
		return
	}
	p := &publish{openID: b.openID, kind: kindInboxVideo, source: *body.SourceInfo.Source}
	prefix := "v_inbox_url~v2."
	if p.source == "FILE_UPLOAD" {
		prefix = "v_inbox_file~v2."
	}
	s.startPublish(w, r, p, body.SourceInfo, prefix)
}

// serveContentInit answers POST /v2/post/publish/content/init/ (photo
// posts; scope video.publish for DIRECT_POST, video.upload for
// MEDIA_UPLOAD).
func (s *Server) serveContentInit(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authenticate(w, r, "")
	if !ok {
		return
	}
	var body struct {
		MediaType *string `json:"media_type"`
		PostMode  *string `json:"post_mode"`
		PostInfo  *struct {
			Title              *string `json:"title"`
			Description        *string `json:"description"`
			PrivacyLevel       *string `json:"privacy_level"`
			DisableComment     *bool   `json:"disable_comment"`
			AutoAddMusic       *bool   `json:"auto_add_music"`
			BrandContentToggle *bool   `json:"brand_content_toggle"`
			BrandOrganicToggle *bool   `json:"brand_organic_toggle"`
		} `json:"post_info"`
		SourceInfo *struct {
			Source          *string  `json:"source"`
			PhotoImages     []string `json:"photo_images"`
			PhotoCoverIndex *int64   `json:"photo_cover_index"`
		} `json:"source_info"`
	}
	if !s.readJSONBody(w, r, &body, false, codeInvalidParam) {
		return
	}
	direct := body.PostMode != nil && *body.PostMode == "DIRECT_POST"
	upload := body.PostMode != nil && *body.PostMode == "MEDIA_UPLOAD"
	scope := scopeVideoPublish
	if upload {
		scope = scopeVideoUpload
	}
	if !b.has(scope) {
		s.writeAPIError(w, http.StatusUnauthorized, "scope_not_authorized", msgScopeNotAuthorized)
		return
	}
	if !s.limitRate(w, r, EndpointContentInit, initsPerMinute) {
		return
	}
	cfg := s.MediaConfig()
	var ref *postRefusal
	pi, si := body.PostInfo, body.SourceInfo
	switch {
	case body.MediaType == nil || *body.MediaType != "PHOTO":
		ref = badParam("media_type must be PHOTO.")
	case !direct && !upload:
		ref = badParam("post_mode must be DIRECT_POST or MEDIA_UPLOAD.")
	case pi == nil:
		ref = badParam("post_info is required.")
	case pi.Title != nil && utf16Units(*pi.Title) > maxPhotoTitleUnits:
		ref = badParam("title must be at most 90 UTF-16 code units.")
	case pi.Description != nil && utf16Units(*pi.Description) > maxPhotoDescUnits:
		ref = badParam("description must be at most 4000 UTF-16 code units.")
	case si == nil || si.Source == nil || *si.Source != "PULL_FROM_URL":
		ref = badParam("source_info.source must be PULL_FROM_URL.")
	case len(si.PhotoImages) == 0 || len(si.PhotoImages) > maxPhotoImages:
		ref = badParam("photo_images must hold 1 to 35 URLs.")
	case si.PhotoCoverIndex != nil && (*si.PhotoCoverIndex < 0 || *si.PhotoCoverIndex >= int64(len(si.PhotoImages))):
		ref = badParam("photo_cover_index is out of range.")
	}
	level := ""
	if ref == nil && direct {
		level, ref = checkPrivacy(pi.PrivacyLevel, b.user, cfg)
	}
	if ref == nil && !slices.ContainsFunc(si.PhotoImages, func(u string) bool { return !cfg.verifiedURL(u) }) {
		p := &publish{openID: b.openID, kind: kindPhoto, source: "PULL_FROM_URL", privacy: level}
		prefix := "p_pub_url~v2."
		if upload {
			p.kind, prefix = kindInboxPhoto, "p_inbox_url~v2."
		}
		s.startPublish(w, r, p, nil, prefix)
		return
	}
	if ref == nil {
		ref = &postRefusal{http.StatusForbidden, codeURLOwnership, msgURLOwnership}
	}
	s.writeAPIError(w, ref.status, ref.code, ref.msg)
}

// findPublish reads {"publish_id": ...} and returns the caller's publish,
// answering the documented errors otherwise. m.mu is held on success.
func (s *Server) findPublish(w http.ResponseWriter, r *http.Request, b bearer) (*publish, bool) {
	var body struct {
		PublishID *string `json:"publish_id"`
	}
	if !s.readJSONBody(w, r, &body, false, codeInvalidParam) {
		return nil, false
	}
	if body.PublishID == nil || *body.PublishID == "" || len(*body.PublishID) > maxPublishIDBodyBytes {
		s.writeAPIError(w, http.StatusBadRequest, codeInvalidPublishID, msgInvalidPublishID)
		return nil, false
	}
	s.media.mu.Lock()
	p := s.media.publishes[*body.PublishID]
	switch {
	case p == nil:
		s.media.mu.Unlock()
		s.writeAPIError(w, http.StatusBadRequest, codeInvalidPublishID, msgInvalidPublishID)
		return nil, false
	case p.openID != b.openID:
		s.media.mu.Unlock()
		s.writeAPIError(w, http.StatusBadRequest, codeNotYourPublish, msgNotYourPublish)
		return nil, false
	}
	return p, true
}

// authPosting authenticates a status or cancel call: video.upload or
// video.publish.
func (s *Server) authPosting(w http.ResponseWriter, r *http.Request) (bearer, bool) {
	b, ok := s.authenticate(w, r, "")
	if !ok {
		return b, false
	}
	if !b.has(scopeVideoPublish) && !b.has(scopeVideoUpload) {
		s.writeAPIError(w, http.StatusUnauthorized, "scope_not_authorized", msgScopeNotAuthorized)
		return b, false
	}
	return b, true
}

// advanceLocked moves a publish whose media is in towards its final
// status: ProcessingPolls fetches stay in processing, then it completes.
func (m *mediaState) advanceLocked(p *publish) {
	if p.final() || !p.mediaIn {
		return
	}
	if p.polls < max(m.cfgLocked().ProcessingPolls, 0) {
		p.polls++
		return
	}
	if p.source == "PULL_FROM_URL" {
		p.downloaded = defaultPulledBytes
	}
	if p.inbox() {
		p.status = statusSendToUserInbox
		return
	}
	p.status = statusPublishComplete
	if p.privacy == privacyPublic {
		p.postIDs = []int64{publicPostIDBase + int64(len(m.publishes))}
	}
}

// servePublishStatus answers POST /v2/post/publish/status/fetch/.
func (s *Server) servePublishStatus(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authPosting(w, r)
	if !ok || !s.limitRate(w, r, EndpointPublishStatus, statusPerMinute) {
		return
	}
	p, ok := s.findPublish(w, r, b)
	if !ok {
		return
	}
	s.media.advanceLocked(p)
	data := struct {
		Status          string  `json:"status"`
		FailReason      string  `json:"fail_reason,omitempty"`
		PublicPostIDs   []int64 `json:"publicaly_available_post_id"`
		UploadedBytes   int64   `json:"uploaded_bytes,omitempty"`
		DownloadedBytes int64   `json:"downloaded_bytes,omitempty"`
	}{Status: p.status, FailReason: p.failReason, PublicPostIDs: slices.Clone(p.postIDs), DownloadedBytes: p.downloaded}
	if data.PublicPostIDs == nil {
		data.PublicPostIDs = []int64{}
	}
	if p.up != nil {
		data.UploadedBytes = p.up.received
	}
	s.media.mu.Unlock()
	s.writeAPIData(w, data)
}

// servePublishCancel answers POST /v2/post/publish/cancel/: a publish still
// processing ends FAILED with publish_cancelled.
func (s *Server) servePublishCancel(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authPosting(w, r)
	if !ok {
		return
	}
	p, ok := s.findPublish(w, r, b)
	if !ok {
		return
	}
	if p.final() {
		s.media.mu.Unlock()
		s.writeAPIError(w, http.StatusBadRequest, codePublishNotCancel, msgPublishNotCancel)
		return
	}
	p.status, p.failReason = statusFailed, "publish_cancelled"
	s.media.mu.Unlock()
	s.writeAPIData(w, struct{}{})
}

// ctlMediaConfig serves GET and POST /_emulator/media-config (JSON
// MediaConfig; upload_url_ttl in nanoseconds).
func (s *Server) ctlMediaConfig(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var c MediaConfig
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			ctlError(w, http.StatusBadRequest, fmt.Errorf("tiktoktest: media config JSON: %w", err))
			return
		}
		s.SetMediaConfig(c)
	}
	writeJSON(w, http.StatusOK, s.MediaConfig())
}

// ctlPublish serves GET /_emulator/publish?publish_id=... (a PublishInfo),
// and GET /_emulator/publish with no ID (every publish).
func (s *Server) ctlPublish(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("publish_id")
	if id == "" {
		writeJSON(w, http.StatusOK, s.Publishes())
		return
	}
	pi, ok := s.Publish(id)
	if !ok {
		ctlError(w, http.StatusNotFound, errors.New("tiktoktest: no such publish"))
		return
	}
	writeJSON(w, http.StatusOK, pi)
}

// ctlFailPublish serves POST /_emulator/fail-publish publish_id=...&reason=...
func (s *Server) ctlFailPublish(w http.ResponseWriter, r *http.Request) {
	p, err := ctlParams(w, r)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	reason := p["reason"]
	if reason == "" {
		reason = "internal"
	}
	if !s.FailPublish(p["publish_id"], reason) {
		ctlError(w, http.StatusNotFound, errors.New("tiktoktest: no such publish"))
		return
	}
	ctlOK(w)
}
