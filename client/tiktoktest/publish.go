package tiktoktest

import (
	"slices"
	"strings"
	"time"
)

// Publish states (tiktok-api §5.8). A publish moves through them so:
//
//	FILE_UPLOAD:   PROCESSING_UPLOAD   -> (last chunk in) -> polls -> final
//	PULL_FROM_URL: PROCESSING_DOWNLOAD -> (pull started)  -> polls -> final
//
// where polls is MediaConfig.ProcessingPolls status fetches that still
// answer the processing state, and final is PUBLISH_COMPLETE for a post or
// SEND_TO_USER_INBOX for an inbox share. fail sets FAILED: a cancel does so
// for a publish not yet final, FailPublish for any publish. beginLocked and
// advanceLocked make the other moves.
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

// What a finished publish reports: the bytes a pull downloaded, and the
// base of a public post's ID.
const (
	defaultPulledBytes = 12_345_678
	publicPostIDBase   = 7_300_000_000_000_000_000
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

// beginLocked gives a new publish its first status. FILE_UPLOAD starts
// PROCESSING_UPLOAD with an upload waiting for its chunks; the last chunk
// marks the media in (upload.go). PULL_FROM_URL starts PROCESSING_DOWNLOAD
// with the media in at once, as the pull has started.
func (m *mediaState) beginLocked(p *publish, src *videoSourceJSON, now time.Time, cfg MediaConfig) {
	p.created = now
	if p.source == "FILE_UPLOAD" {
		p.status = statusProcessingUpload
		p.up = m.newUploadLocked(p, *src.VideoSize, *src.ChunkSize, int(*src.TotalChunkCount), now.Add(cfg.UploadURLTTL))
	} else {
		p.status = statusProcessingDownload
		p.mediaIn = true
	}
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

// fail ends the publish FAILED with the reason.
func (p *publish) fail(reason string) { p.status, p.failReason = statusFailed, reason }

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
	p.fail(reason)
	return true
}
