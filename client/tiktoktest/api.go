package tiktoktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// TikTok's messages for the v2 API errors the emulator answers.
const (
	msgAccessTokenInvalid = "The access token is invalid or not found in the request."
	msgScopeNotAuthorized = "The user did not authorize the scope required for completing this request."
	msgFieldsRequired     = "Fields is required, please provide fields in the request"
)

// maxJSONBytes bounds a JSON request body on API endpoints.
const maxJSONBytes = 1 << 20

// apiError is the "error" member of TikTok's v2 envelope.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	LogID   string `json:"log_id"`
}

// writeAPIError answers {"data":{},"error":{code,message,log_id}}.
func (s *Server) writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, struct {
		Data  struct{} `json:"data"`
		Error apiError `json:"error"`
	}{Error: apiError{code, msg, newLogID(s.Now())}})
}

// writeAPIData answers {"data":<data>,"error":{"code":"ok",...}}.
func (s *Server) writeAPIData(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, struct {
		Data  any      `json:"data"`
		Error apiError `json:"error"`
	}{data, apiError{"ok", "", newLogID(s.Now())}})
}

// bearer is what an API handler knows about the caller after
// authentication: a copy, safe to use without the lock.
type bearer struct {
	openID string
	scopes []string
	user   User
}

func (b bearer) has(scope string) bool { return slices.Contains(b.scopes, scope) }

// authenticate checks "Authorization: Bearer <access token>", then counts
// the request against the endpoint's quota, then, when scope is not "",
// checks that the grant includes it. On failure it answers 401
// (access_token_invalid or scope_not_authorized) or 429
// (rate_limit_exceeded) and returns false. Every API endpoint calls it
// first, so a request counts against a quota once its token is accepted.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, scope string) (bearer, bool) {
	tok, ok := bearerToken(r)
	s.mu.Lock()
	var at *accessToken
	if ok {
		at = s.access[tok]
	}
	now := s.nowLocked()
	if at == nil || at.grant == nil || at.grant.revoked || !now.Before(at.expires) {
		s.mu.Unlock()
		s.writeAPIError(w, http.StatusUnauthorized, "access_token_invalid", msgAccessTokenInvalid)
		return bearer{}, false
	}
	var e Endpoint
	if rt := s.routes[r.URL.Path]; rt != nil {
		e = rt.endpoint
	}
	if wait, ok := s.takeQuotaLocked(e, tok, now); !ok {
		retryAfter := s.quotaRetryAfter
		s.mu.Unlock()
		s.refuseQuota(w, wait, retryAfter)
		return bearer{}, false
	}
	u, _ := s.userLocked(at.grant.openID)
	b := bearer{openID: at.grant.openID, scopes: at.grant.scopes, user: u}
	s.mu.Unlock()
	if scope != "" && !b.has(scope) {
		s.writeAPIError(w, http.StatusUnauthorized, "scope_not_authorized", msgScopeNotAuthorized)
		return bearer{}, false
	}
	return b, true
}

// bearerToken extracts the token of a single Authorization header with the
// Bearer scheme (case-insensitive, as RFC 6750 allows).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// serveUserInfo answers GET /v2/user/info/?fields=a,b: exactly the requested
// fields, in the requested order.
func (s *Server) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authenticate(w, r, "")
	if !ok {
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["fields"]) > 1 {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "The request parameters are invalid.")
		return
	}
	var fields, unknown []string
	for _, f := range strings.Split(q.Get("fields"), ",") {
		switch {
		case f == "" || slices.Contains(fields, f) || slices.Contains(unknown, f):
		case fieldScope(f) == "":
			unknown = append(unknown, f)
		default:
			fields = append(fields, f)
		}
	}
	if len(unknown) > 0 {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "Invalid field(s): "+strings.Join(unknown, ","))
		return
	}
	if len(fields) == 0 {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", msgFieldsRequired)
		return
	}
	for _, f := range fields {
		if !b.has(fieldScope(f)) {
			s.writeAPIError(w, http.StatusUnauthorized, "scope_not_authorized", msgScopeNotAuthorized)
			return
		}
	}
	var buf bytes.Buffer
	buf.WriteString(`{"user":{`)
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(f)
		v, _ := json.Marshal(userField(b.user, f, r))
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteString(`}}`)
	s.writeAPIData(w, json.RawMessage(buf.Bytes()))
}

// userField returns the value of one user info field.
func userField(u User, field string, r *http.Request) any {
	switch field {
	case "open_id":
		return u.OpenID
	case "union_id":
		return u.UnionID
	case "avatar_url":
		return avatarURL(u.AvatarURL, u, r, 168)
	case "avatar_url_100":
		return avatarURL(u.AvatarURL100, u, r, 100)
	case "avatar_large_url":
		return avatarURL(u.AvatarLargeURL, u, r, 720)
	case "display_name":
		return u.DisplayName
	case "bio_description":
		return u.BioDescription
	case "profile_deep_link":
		return u.ProfileDeepLink
	case "is_verified":
		return u.IsVerified
	case "username":
		return u.Username
	case "follower_count":
		return u.FollowerCount
	case "following_count":
		return u.FollowingCount
	case "likes_count":
		return u.LikesCount
	case "video_count":
		return u.VideoCount
	}
	return nil
}

// avatarURL returns set when not empty, else the user's AvatarURL, else
// the emulator's own SVG avatar on the host the request came to.
func avatarURL(set string, u User, r *http.Request, size int) string {
	if set != "" {
		return set
	}
	if u.AvatarURL != "" {
		return u.AvatarURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + pathAvatar + "?open_id=" + url.QueryEscape(u.OpenID) + "&size=" + strconv.Itoa(size)
}

// creatorInfo is the data of creator info (tiktok-api §5.1).
type creatorInfo struct {
	CreatorAvatarURL        string   `json:"creator_avatar_url"`
	CreatorUsername         string   `json:"creator_username"`
	CreatorNickname         string   `json:"creator_nickname"`
	PrivacyLevelOptions     []string `json:"privacy_level_options"`
	CommentDisabled         bool     `json:"comment_disabled"`
	DuetDisabled            bool     `json:"duet_disabled"`
	StitchDisabled          bool     `json:"stitch_disabled"`
	MaxVideoPostDurationSec int      `json:"max_video_post_duration_sec"`
}

// serveCreatorInfo answers POST /v2/post/publish/creator_info/query/. The
// body may be absent, empty or a JSON object (its members are ignored); the
// Content-Type is not checked, as TikTok's own example sends none.
func (s *Server) serveCreatorInfo(w http.ResponseWriter, r *http.Request) {
	b, ok := s.authenticate(w, r, scopeVideoPublish)
	if !ok {
		return
	}
	if !emptyOrObject(w, r) {
		s.writeAPIError(w, http.StatusBadRequest, "invalid_param", "The request body is not a valid JSON object.")
		return
	}
	u := b.user
	s.writeAPIData(w, creatorInfo{
		CreatorAvatarURL:        avatarURL(u.AvatarURL, u, r, 168),
		CreatorUsername:         u.Username,
		CreatorNickname:         u.DisplayName,
		PrivacyLevelOptions:     u.PrivacyLevelOptions,
		CommentDisabled:         u.CommentDisabled,
		DuetDisabled:            u.DuetDisabled,
		StitchDisabled:          u.StitchDisabled,
		MaxVideoPostDurationSec: u.MaxVideoPostDurationSec,
	})
}

// emptyOrObject reports whether the request body is absent, blank, or one
// JSON object.
func emptyOrObject(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	if err != nil {
		return false
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return true
	}
	var obj map[string]json.RawMessage
	return json.Unmarshal(body, &obj) == nil && obj != nil
}
