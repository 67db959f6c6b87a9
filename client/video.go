package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// VideoField names a field of TikTok's video object (Display API). Every
// field needs the video.list scope.
type VideoField string

// The video object's fields, in TikTok's documented order.
const (
	VideoFieldID               VideoField = "id"                // string, also called item_id
	VideoFieldCreateTime       VideoField = "create_time"       // int64, UTC epoch seconds
	VideoFieldCoverImageURL    VideoField = "cover_image_url"   // string, valid for 6 hours
	VideoFieldShareURL         VideoField = "share_url"         // string
	VideoFieldVideoDescription VideoField = "video_description" // string, up to 150 characters
	VideoFieldDuration         VideoField = "duration"          // int32, seconds
	VideoFieldHeight           VideoField = "height"            // int32
	VideoFieldWidth            VideoField = "width"             // int32
	VideoFieldTitle            VideoField = "title"             // string, up to 150 characters
	VideoFieldEmbedHTML        VideoField = "embed_html"        // string
	VideoFieldEmbedLink        VideoField = "embed_link"        // string
	VideoFieldLikeCount        VideoField = "like_count"        // int32
	VideoFieldCommentCount     VideoField = "comment_count"     // int32
	VideoFieldShareCount       VideoField = "share_count"       // int32
	VideoFieldViewCount        VideoField = "view_count"        // int64
)

var allVideoFields = [...]VideoField{
	VideoFieldID, VideoFieldCreateTime, VideoFieldCoverImageURL, VideoFieldShareURL,
	VideoFieldVideoDescription, VideoFieldDuration, VideoFieldHeight, VideoFieldWidth,
	VideoFieldTitle, VideoFieldEmbedHTML, VideoFieldEmbedLink, VideoFieldLikeCount,
	VideoFieldCommentCount, VideoFieldShareCount, VideoFieldViewCount,
}

// AllVideoFields returns the 15 video fields in TikTok's documented order.
// The slice is new on every call.
func AllVideoFields() []VideoField { return slices.Clone(allVideoFields[:]) }

// Scope returns the scope a token needs to read the field (video.list for
// every field), or "" for a field TikTok does not know.
func (f VideoField) Scope() string {
	if slices.Contains(allVideoFields[:], f) {
		return ScopeVideoList
	}
	return ""
}

// Video is one of the user's videos as the Display API returns it. Fields
// that were not requested keep their zero value. Counts are int64 although
// TikTok documents some of them as int32.
type Video struct {
	ID string `json:"id"`
	// CreateTime is the upload time in UTC epoch seconds; see Created.
	CreateTime int64 `json:"create_time"`
	// CoverImageURL is a static image on TikTok's CDN that expires after
	// about 6 hours; refresh it with QueryVideos rather than caching it.
	CoverImageURL    string `json:"cover_image_url"`
	ShareURL         string `json:"share_url"`
	VideoDescription string `json:"video_description"`
	// Duration is the length in seconds.
	Duration     int64  `json:"duration"`
	Height       int64  `json:"height"`
	Width        int64  `json:"width"`
	Title        string `json:"title"`
	EmbedHTML    string `json:"embed_html"`
	EmbedLink    string `json:"embed_link"`
	LikeCount    int64  `json:"like_count"`
	CommentCount int64  `json:"comment_count"`
	ShareCount   int64  `json:"share_count"`
	ViewCount    int64  `json:"view_count"`
	// Raw is the video object as received, for fields TikTok adds later.
	Raw json.RawMessage `json:"-"`
}

// Created returns CreateTime as a time.Time (the zero time when unknown).
func (v *Video) Created() time.Time {
	if v.CreateTime <= 0 {
		return time.Time{}
	}
	return time.Unix(v.CreateTime, 0).UTC()
}

// UnmarshalJSON decodes a video object and keeps a copy of it in Raw.
func (v *Video) UnmarshalJSON(b []byte) error {
	type plain Video
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*v = Video(p)
	v.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Limits of the Display API's video endpoints.
const (
	// MaxVideoListCount is the largest max_count of one video list page.
	MaxVideoListCount = 20
	// MaxVideoQueryIDs is the largest number of IDs in one video query.
	MaxVideoQueryIDs = 20
)

// VideoListOptions selects a page of the user's videos.
type VideoListOptions struct {
	// Fields are the video fields to return. Default: AllVideoFields().
	Fields []VideoField
	// Cursor is where the page starts: 0 for the newest videos, the Cursor
	// of the previous VideoPage for the next page, or a UTC Unix time in
	// milliseconds for the videos posted before it.
	Cursor int64
	// MaxCount is the page size, 1 to 20. Default 20 (TikTok's own default
	// is 10; the kit asks for the largest page to save requests).
	MaxCount int
}

// VideoPage is one page of the user's public videos, newest first.
type VideoPage struct {
	Videos []Video `json:"videos"`
	// Cursor is where the next page starts; pass it back in
	// VideoListOptions.Cursor while HasMore is true.
	Cursor int64 `json:"cursor"`
	// HasMore reports whether there are older videos. A page may hold fewer
	// than MaxCount videos even when HasMore is true.
	HasMore bool `json:"has_more"`
}

// videoFieldsQuery checks fields against the allow-list and the token's
// scopes and returns the fields query value. With no fields it asks for
// every field. need adds fields that must be present (deduplicated).
func (u *UserClient) videoFieldsQuery(op string, fields []VideoField, need ...VideoField) (string, error) {
	if err := u.needScope(op, ScopeVideoList); err != nil {
		return "", err
	}
	if len(fields) == 0 {
		fields = allVideoFields[:]
	}
	var b strings.Builder
	seen := make(map[VideoField]bool, len(fields)+len(need))
	for _, f := range slices.Concat(need, fields) {
		if f.Scope() == "" {
			return "", fmt.Errorf("%w: %s: unknown video field %q", ErrInvalidInput, op, string(f))
		}
		if seen[f] {
			continue
		}
		seen[f] = true
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(f))
	}
	return "fields=" + url.QueryEscape(b.String()), nil
}

// needScope refuses a call, before any request, when the token's recorded
// scopes lack scope. A token without recorded scopes is not checked.
func (u *UserClient) needScope(op, scope string) error {
	if tok := u.tok.Load(); tok != nil && len(tok.Scopes) > 0 && !tok.HasScopes(scope) {
		return &MissingScopeError{Field: op, Scope: scope}
	}
	return nil
}

// displayContentType is the body type the Display API documents.
const displayContentType = "application/json"

// VideoList fetches one page of the user's public videos
// (POST /v2/video/list/, scope video.list), newest first. It refuses before
// any request an unknown field or a MaxCount outside 1..20
// (ErrInvalidInput) and a token whose scopes lack video.list
// (*MissingScopeError). The call is safe to repeat: it is retried on 429,
// 5xx and connection errors, and refreshed once on access_token_invalid when
// the UserClient has a Refresher. Videos pages by itself.
func (u *UserClient) VideoList(ctx context.Context, opts VideoListOptions) (*VideoPage, error) {
	query, err := u.videoFieldsQuery("video_list", opts.Fields)
	if err != nil {
		return nil, err
	}
	if opts.MaxCount == 0 {
		opts.MaxCount = MaxVideoListCount
	}
	if opts.MaxCount < 1 || opts.MaxCount > MaxVideoListCount {
		return nil, fmt.Errorf("%w: video_list: max count must be 1 to %d, got %d", ErrInvalidInput, MaxVideoListCount, opts.MaxCount)
	}
	if opts.Cursor < 0 {
		return nil, fmt.Errorf("%w: video_list: negative cursor %d", ErrInvalidInput, opts.Cursor)
	}
	body := struct {
		Cursor   int64 `json:"cursor,omitempty"`
		MaxCount int   `json:"max_count"`
	}{opts.Cursor, opts.MaxCount}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("client: video_list: %w", err)
	}
	rq := &request{
		op: "video_list", method: http.MethodPost, path: PathVideoList, rawQuery: query,
		body: raw, contentType: displayContentType, retry: retryAll,
	}
	return callData[VideoPage](ctx, u, rq)
}

// errCursorStuck reports a video list answer that says there is more but
// hands back the cursor it was given, which would page forever.
var errCursorStuck = errors.New("client: video list: has_more is true but the cursor did not move")

// Videos returns an iterator over all the user's public videos, newest
// first, from opts.Cursor on. It fetches pages of opts.MaxCount videos
// (default 20) with VideoList as the loop asks for them, until TikTok says
// there are no more. On an error it yields (Video{}, err) once and stops;
// when the loop breaks it stops without fetching further pages.
//
//	for v, err := range uc.Videos(ctx, client.VideoListOptions{}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(v.ID, v.Title)
//	}
func (u *UserClient) Videos(ctx context.Context, opts VideoListOptions) iter.Seq2[Video, error] {
	return func(yield func(Video, error) bool) {
		for {
			page, err := u.VideoList(ctx, opts)
			if err != nil {
				yield(Video{}, err)
				return
			}
			for _, v := range page.Videos {
				if !yield(v, nil) {
					return
				}
			}
			if !page.HasMore {
				return
			}
			if page.Cursor == opts.Cursor || page.Cursor < 0 {
				yield(Video{}, errCursorStuck)
				return
			}
			opts.Cursor = page.Cursor
		}
	}
}

// QueryVideos fetches the user's videos with the given IDs
// (POST /v2/video/query/, scope video.list), typically to refresh expiring
// cover_image_url values. More than 20 IDs are sent in batches of 20. The
// result follows the order of ids; a repeated ID gives one video, at its
// first position; an ID TikTok does not return (not found, or not the
// user's) is simply absent. The id field is always requested, since the
// merge needs it; no fields means every field. An empty ID is refused
// before any request (ErrInvalidInput), as are unknown fields and a token
// without video.list. The call is safe to repeat, like VideoList; an error
// in any batch fails the whole call.
func (u *UserClient) QueryVideos(ctx context.Context, ids []string, fields ...VideoField) ([]Video, error) {
	query, err := u.videoFieldsQuery("video_query", fields, VideoFieldID)
	if err != nil {
		return nil, err
	}
	unique := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("%w: video_query: empty video id", ErrInvalidInput)
		}
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	found := make(map[string]Video, len(unique))
	for batch := range slices.Chunk(unique, MaxVideoQueryIDs) {
		var body struct {
			Filters struct {
				VideoIDs []string `json:"video_ids"`
			} `json:"filters"`
		}
		body.Filters.VideoIDs = batch
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("client: video_query: %w", err)
		}
		rq := &request{
			op: "video_query", method: http.MethodPost, path: PathVideoQuery, rawQuery: query,
			body: raw, contentType: displayContentType, retry: retryAll,
		}
		data, err := callData[struct {
			Videos []Video `json:"videos"`
		}](ctx, u, rq)
		if err != nil {
			return nil, err
		}
		for _, v := range data.Videos {
			if seen[v.ID] {
				found[v.ID] = v
			}
		}
	}
	out := make([]Video, 0, len(found))
	for _, id := range unique {
		if v, ok := found[id]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}
