package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

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
func (u *UserClient) postInit(ctx context.Context, op, path string, body any, src SourceKind) (*PostInit, error) {
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
	return u.postInit(ctx, op, PathVideoInit, body, req.Source.Kind)
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
	return u.postInit(ctx, op, PathInboxInit, body, req.Source.Kind)
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
		Source          SourceKind `json:"source"`
		PhotoImages     []string   `json:"photo_images"`
		PhotoCoverIndex int        `json:"photo_cover_index"`
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
