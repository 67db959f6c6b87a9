package tiktoktest

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Endpoints of the Display and Content Posting APIs, for InjectFault and
// Calls.
const (
	// EndpointVideoList is POST /v2/video/list/.
	EndpointVideoList Endpoint = "video_list"
	// EndpointVideoQuery is POST /v2/video/query/.
	EndpointVideoQuery Endpoint = "video_query"
	// EndpointVideoInit is POST /v2/post/publish/video/init/ (direct post).
	EndpointVideoInit Endpoint = "video_init"
	// EndpointInboxInit is POST /v2/post/publish/inbox/video/init/.
	EndpointInboxInit Endpoint = "inbox_init"
	// EndpointContentInit is POST /v2/post/publish/content/init/ (photos).
	EndpointContentInit Endpoint = "content_init"
	// EndpointPublishStatus is POST /v2/post/publish/status/fetch/.
	EndpointPublishStatus Endpoint = "publish_status"
	// EndpointPublishCancel is POST /v2/post/publish/cancel/.
	EndpointPublishCancel Endpoint = "publish_cancel"
	// EndpointUpload is PUT /upload/?upload_id=...&upload_token=..., the
	// emulator's stand-in for TikTok's upload host. See also
	// InjectUploadFault for faults in the middle of a chunk.
	EndpointUpload Endpoint = "upload"
)

// Video is a fake video of a user, in the shape of TikTok's video object
// (tiktok-api §4.5). Every user starts with min(VideoCount, 50) generated
// videos; SetVideos replaces them.
type Video struct {
	ID string `json:"id"`
	// CreateTime is in UTC epoch seconds. Video list pages by it (its
	// cursor is in milliseconds), so keep it unique per user.
	CreateTime       int64  `json:"create_time"`
	CoverImageURL    string `json:"cover_image_url"`
	ShareURL         string `json:"share_url"`
	VideoDescription string `json:"video_description"`
	Duration         int64  `json:"duration"`
	Height           int64  `json:"height"`
	Width            int64  `json:"width"`
	Title            string `json:"title"`
	EmbedHTML        string `json:"embed_html"`
	EmbedLink        string `json:"embed_link"`
	LikeCount        int64  `json:"like_count"`
	CommentCount     int64  `json:"comment_count"`
	ShareCount       int64  `json:"share_count"`
	ViewCount        int64  `json:"view_count"`
}

// videoFields are the video object's fields in TikTok's documented order.
var videoFields = []string{
	"id", "create_time", "cover_image_url", "share_url", "video_description", "duration",
	"height", "width", "title", "embed_html", "embed_link", "like_count", "comment_count",
	"share_count", "view_count",
}

// videoField returns the value of one field. An empty cover URL is served
// by the emulator itself, on the host the request came to.
func videoField(v *Video, field string, r *http.Request) any {
	switch field {
	case "id":
		return v.ID
	case "create_time":
		return v.CreateTime
	case "cover_image_url":
		if v.CoverImageURL == "" {
			return requestBase(r) + pathCover + "?video_id=" + url.QueryEscape(v.ID)
		}
		return v.CoverImageURL
	case "share_url":
		return v.ShareURL
	case "video_description":
		return v.VideoDescription
	case "duration":
		return v.Duration
	case "height":
		return v.Height
	case "width":
		return v.Width
	case "title":
		return v.Title
	case "embed_html":
		return v.EmbedHTML
	case "embed_link":
		return v.EmbedLink
	case "like_count":
		return v.LikeCount
	case "comment_count":
		return v.CommentCount
	case "share_count":
		return v.ShareCount
	case "view_count":
		return v.ViewCount
	}
	return nil
}

// requestBase is the scheme and host the request came to.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// maxFakeVideos bounds the generated videos per user.
const maxFakeVideos = 50

// fakeEpoch is the create_time of each user's newest generated video
// (2026-01-01T00:00:00Z); older ones are two to three days apart.
const fakeEpoch = 1767225600

var fakeTitles = []string{
	"One-pan pasta in ten minutes", "Morning routine, honest version", "Trying the viral dance",
	"Street food tour #food", "How I edit my clips", "Rainy day vlog", "Cat vs. cucumber",
	"Five tips for better light", "Sunday market haul", "Behind the scenes",
}

// fakeVideos makes a user's starting videos, newest first, the same on
// every run.
func fakeVideos(u User) []Video {
	n := int(min(max(u.VideoCount, 0), maxFakeVideos))
	out := make([]Video, n)
	t := int64(fakeEpoch)
	for i := range out {
		sum := sha256.Sum256([]byte(fmt.Sprintf("video:%s:%d", u.OpenID, i)))
		h := binary.BigEndian.Uint64(sum[:8])
		id := strconv.FormatUint(7_000_000_000_000_000_000+h%1_000_000_000_000_000_000, 10)
		title := fakeTitles[i%len(fakeTitles)]
		share := "https://www.tiktok.com/@" + u.Username + "/video/" + id
		out[i] = Video{
			ID:               id,
			CreateTime:       t,
			ShareURL:         share,
			VideoDescription: title + " #fyp",
			Duration:         int64(7 + h%170),
			Height:           1920,
			Width:            1080,
			Title:            title,
			EmbedHTML: `<blockquote class="tiktok-embed" cite="` + share + `" data-video-id="` + id +
				`"><section>` + html.EscapeString(title) + `</section></blockquote>`,
			EmbedLink:    "https://www.tiktok.com/player/v1/" + id,
			LikeCount:    int64((h >> 8) % 50_000),
			CommentCount: int64((h >> 24) % 900),
			ShareCount:   int64((h >> 32) % 400),
			ViewCount:    int64((h >> 40) % 2_000_000),
		}
		t -= 2*86400 + int64(h%86400)
	}
	return out
}

// videosLocked returns the user's videos (generated on first use), newest
// first. m.mu must be held.
func (m *mediaState) videosLocked(u User) []Video {
	if m.videos == nil {
		m.videos = make(map[string][]Video)
	}
	v, ok := m.videos[u.OpenID]
	if !ok {
		v = fakeVideos(u)
		m.videos[u.OpenID] = v
	}
	return v
}

// Videos returns a copy of the user's videos, newest first (the generated
// ones until SetVideos is called). It returns nil for an unknown user.
func (s *Server) Videos(openID string) []Video {
	s.mu.Lock()
	u, ok := s.userLocked(openID)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	s.media.mu.Lock()
	defer s.media.mu.Unlock()
	return slices.Clone(s.media.videosLocked(u))
}

// SetVideos replaces the user's videos. They are served newest first by
// create_time whatever their order here; IDs and create times must be
// unique for the user. It panics for an unknown user or a duplicate.
func (s *Server) SetVideos(openID string, videos []Video) {
	s.mu.Lock()
	_, ok := s.userLocked(openID)
	s.mu.Unlock()
	if !ok {
		panic("tiktoktest: SetVideos: unknown user " + openID)
	}
	v := slices.Clone(videos)
	slices.SortFunc(v, func(a, b Video) int { return cmp.Compare(b.CreateTime, a.CreateTime) })
	for i := range v {
		if i > 0 && v[i].CreateTime == v[i-1].CreateTime {
			panic("tiktoktest: SetVideos: two videos with create_time " + strconv.FormatInt(v[i].CreateTime, 10))
		}
		if slices.ContainsFunc(v[:i], func(o Video) bool { return o.ID == v[i].ID }) {
			panic("tiktoktest: SetVideos: duplicate id " + v[i].ID)
		}
	}
	s.media.mu.Lock()
	if s.media.videos == nil {
		s.media.videos = make(map[string][]Video)
	}
	s.media.videos[openID] = v
	s.media.mu.Unlock()
}

// Display API limits.
const (
	defaultVideoListCount = 10
	maxVideoListCount     = 20
	maxVideoQueryIDs      = 20
)

// videoFieldsParam reads the fields query parameter of the video
// endpoints: required, known fields only, duplicates dropped.
func (s *Server) videoFieldsParam(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["fields"]) > 1 {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "The request parameters are invalid.")
		return nil, false
	}
	var fields, unknown []string
	for _, f := range strings.Split(q.Get("fields"), ",") {
		switch {
		case f == "" || slices.Contains(fields, f) || slices.Contains(unknown, f):
		case !slices.Contains(videoFields, f):
			unknown = append(unknown, f)
		default:
			fields = append(fields, f)
		}
	}
	if len(unknown) > 0 {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "Invalid field(s): "+strings.Join(unknown, ","))
		return nil, false
	}
	if len(fields) == 0 {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", msgFieldsRequired)
		return nil, false
	}
	return fields, true
}

// readJSONBody decodes a JSON request body into v: the Content-Type must be
// application/json (any parameters), the body one JSON object within
// maxJSONBytes. An absent or blank body leaves v untouched when
// allowEmpty. On failure it answers 400 with code and returns false.
func (s *Server) readJSONBody(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool, code string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	if err != nil {
		s.writeAPIError(w, http.StatusBadRequest, code, "The request body could not be read.")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 && allowEmpty {
		return true
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.writeAPIError(w, http.StatusBadRequest, code, "The Content-Type must be application/json.")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil || dec.More() {
		msg := "The request body is not valid JSON."
		if err != nil {
			msg = "The request body is invalid: " + err.Error()
		}
		s.writeAPIError(w, http.StatusBadRequest, code, msg)
		return false
	}
	return true
}

// writeVideos answers {"data":{"videos":[...],"cursor":c,"has_more":h}},
// each video with exactly the requested fields in the requested order.
func (s *Server) writeVideos(w http.ResponseWriter, r *http.Request, videos []Video, fields []string, cursor int64, hasMore bool) {
	var buf bytes.Buffer
	buf.WriteString(`{"videos":[`)
	for i := range videos {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('{')
		for j, f := range fields {
			if j > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(f)
			v, _ := json.Marshal(videoField(&videos[i], f, r))
			buf.Write(k)
			buf.WriteByte(':')
			buf.Write(v)
		}
		buf.WriteByte('}')
	}
	fmt.Fprintf(&buf, `],"cursor":%d,"has_more":%t}`, cursor, hasMore)
	s.writeAPIData(w, json.RawMessage(buf.Bytes()))
}

// serveVideoList answers POST /v2/video/list/?fields=...: the user's
// videos posted before cursor (Unix milliseconds; 0 = now), newest first,
// max_count (default 10, at most 20) at a time.
func (s *Server) serveVideoList(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authenticate(w, r, scopeVideoList)
	if !ok {
		return
	}
	fields, ok := s.videoFieldsParam(w, r)
	if !ok {
		return
	}
	var body struct {
		Cursor   *int64 `json:"cursor"`
		MaxCount *int32 `json:"max_count"`
	}
	if !s.readJSONBody(w, r, &body, true, "invalid_params") {
		return
	}
	count := int32(defaultVideoListCount)
	if body.MaxCount != nil {
		count = *body.MaxCount
	}
	if count < 1 || count > maxVideoListCount {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "max_count must be between 1 and 20.")
		return
	}
	var cursor int64
	if body.Cursor != nil {
		cursor = *body.Cursor
	}
	if cursor < 0 {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "cursor must not be negative.")
		return
	}
	s.media.mu.Lock()
	all := s.media.videosLocked(b.user)
	start := 0
	if cursor > 0 {
		start = slices.IndexFunc(all, func(v Video) bool { return v.CreateTime*1000 < cursor })
		if start < 0 {
			start = len(all)
		}
	}
	end := min(start+int(count), len(all))
	page := slices.Clone(all[start:end])
	hasMore := end < len(all)
	s.media.mu.Unlock()
	next := int64(0)
	if len(page) > 0 {
		next = page[len(page)-1].CreateTime * 1000
	}
	s.writeVideos(w, r, page, fields, next, hasMore)
}

// serveVideoQuery answers POST /v2/video/query/?fields=... with
// {"filters":{"video_ids":[...]}}: 1 to 20 IDs; IDs that are not the
// user's are left out. Videos come newest first, not in the order asked.
func (s *Server) serveVideoQuery(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authenticate(w, r, scopeVideoList)
	if !ok {
		return
	}
	fields, ok := s.videoFieldsParam(w, r)
	if !ok {
		return
	}
	var body struct {
		Filters *struct {
			VideoIDs []string `json:"video_ids"`
		} `json:"filters"`
	}
	if !s.readJSONBody(w, r, &body, false, "invalid_params") {
		return
	}
	if body.Filters == nil || len(body.Filters.VideoIDs) == 0 || len(body.Filters.VideoIDs) > maxVideoQueryIDs {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "filters.video_ids must hold 1 to 20 video IDs.")
		return
	}
	s.media.mu.Lock()
	var found []Video
	for _, v := range s.media.videosLocked(b.user) {
		if slices.Contains(body.Filters.VideoIDs, v.ID) {
			found = append(found, v)
		}
	}
	s.media.mu.Unlock()
	s.writeVideos(w, r, found, fields, 0, false)
}

// serveCover serves an SVG cover for videos without a CoverImageURL, so
// pages that show covers work offline.
func (s *Server) serveCover(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("video_id")
	sum := sha256.Sum256([]byte(id))
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=21600")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="270" height="480" viewBox="0 0 270 480">`+
		`<rect width="270" height="480" fill="#%x"/><text x="135" y="250" font-family="sans-serif" font-size="18" `+
		`fill="#fff" text-anchor="middle">%s</text></svg>`, sum[:3], html.EscapeString(truncate(id, 24)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
