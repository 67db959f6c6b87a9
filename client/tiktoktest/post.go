package tiktoktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Refusals of the status and cancel endpoints.
const (
	msgInvalidPublishID   = "The publish_id is invalid."
	msgNotYourPublish     = "The access token is not authorized for the specified publish_id."
	msgPublishNotCancel   = "The publish can no longer be cancelled."
	codeInvalidPublishID  = "invalid_publish_id"
	codeNotYourPublish    = "token_not_authorized_for_specified_publish_id"
	codePublishNotCancel  = "publish_not_cancellable"
	maxPublishIDBodyBytes = 256
)

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
	s.media.beginLocked(p, src, now, cfg)
	s.media.addPublishLocked(p, prefix)
	data := struct {
		PublishID string `json:"publish_id"`
		UploadURL string `json:"upload_url,omitempty"`
	}{PublishID: p.id}
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
	if !ok {
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
	if !ok {
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

// servePublishStatus answers POST /v2/post/publish/status/fetch/.
func (s *Server) servePublishStatus(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authPosting(w, r)
	if !ok {
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
	p.fail("publish_cancelled")
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
