package tiktoktest

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
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

// Content Posting limits (tiktok-api §5), and the refusals of the media
// rules.
const (
	maxVideoTitleUnits  = 2200
	maxPhotoTitleUnits  = 90
	maxPhotoDescUnits   = 4000
	maxPhotoImages      = 35
	minChunk            = 5 * 1024 * 1024
	maxChunk            = 64_000_000
	maxLastChunk        = 128_000_000
	maxChunks           = 1000
	msgChunkInvalid     = "The chunk size is invalid"
	msgURLOwnership     = "Please review our URL ownership verification rules at https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide/#pull_from_url"
	msgPrivacyMismatch  = "The privacy level is not among the creator's privacy_level_options."
	msgUnaudited        = "Unaudited clients can only post to private accounts."
	msgPendingShares    = "The user has too many pending shares. Please try again later."
	codeInvalidParam    = "invalid_param"
	codeChunkParams     = "invalid_params"
	codePrivacyMismatch = "privacy_level_option_mismatch"
	codeUnaudited       = "unaudited_client_can_only_post_to_private_accounts"
	codeURLOwnership    = "url_ownership_unverified"
	codePendingShares   = "spam_risk_too_many_pending_share"
	codeTooManyPosts    = "spam_risk_too_many_posts"
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
