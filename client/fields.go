package client

import (
	"encoding/json"
	"slices"
)

// UserField names a field of TikTok's user info (GET /v2/user/info/).
type UserField string

// The 14 user info fields. Each needs one scope, see UserField.Scope.
const (
	FieldOpenID          UserField = "open_id"           // user.info.basic
	FieldUnionID         UserField = "union_id"          // user.info.basic
	FieldAvatarURL       UserField = "avatar_url"        // user.info.basic
	FieldAvatarURL100    UserField = "avatar_url_100"    // user.info.basic
	FieldAvatarLargeURL  UserField = "avatar_large_url"  // user.info.basic
	FieldDisplayName     UserField = "display_name"      // user.info.basic
	FieldBioDescription  UserField = "bio_description"   // user.info.profile
	FieldProfileDeepLink UserField = "profile_deep_link" // user.info.profile
	FieldIsVerified      UserField = "is_verified"       // user.info.profile
	FieldUsername        UserField = "username"          // user.info.profile
	FieldFollowerCount   UserField = "follower_count"    // user.info.stats
	FieldFollowingCount  UserField = "following_count"   // user.info.stats
	FieldLikesCount      UserField = "likes_count"       // user.info.stats
	FieldVideoCount      UserField = "video_count"       // user.info.stats
)

// allUserFields lists every field in TikTok's documented order.
var allUserFields = [...]UserField{
	FieldOpenID, FieldUnionID, FieldAvatarURL, FieldAvatarURL100, FieldAvatarLargeURL, FieldDisplayName,
	FieldBioDescription, FieldProfileDeepLink, FieldIsVerified, FieldUsername,
	FieldFollowerCount, FieldFollowingCount, FieldLikesCount, FieldVideoCount,
}

// AllUserFields returns the 14 user info fields in TikTok's documented order.
// The slice is new on every call.
func AllUserFields() []UserField { return slices.Clone(allUserFields[:]) }

// Scope returns the scope a token needs to read the field, or "" for a field
// TikTok does not know.
func (f UserField) Scope() string {
	switch f {
	case FieldOpenID, FieldUnionID, FieldAvatarURL, FieldAvatarURL100, FieldAvatarLargeURL, FieldDisplayName:
		return ScopeUserInfoBasic
	case FieldBioDescription, FieldProfileDeepLink, FieldIsVerified, FieldUsername:
		return ScopeUserInfoProfile
	case FieldFollowerCount, FieldFollowingCount, FieldLikesCount, FieldVideoCount:
		return ScopeUserInfoStats
	}
	return ""
}

// UserFieldsFor returns every field that the given scopes unlock, in TikTok's
// documented order (nil when none).
func UserFieldsFor(scopes []string) []UserField {
	var out []UserField
	for _, f := range allUserFields {
		if slices.Contains(scopes, f.Scope()) {
			out = append(out, f)
		}
	}
	return out
}

// UserInfo is the data.user object of a user info answer. Fields that were
// not requested keep their zero value.
type UserInfo struct {
	OpenID          string `json:"open_id"`
	UnionID         string `json:"union_id"`
	AvatarURL       string `json:"avatar_url"`
	AvatarURL100    string `json:"avatar_url_100"`
	AvatarLargeURL  string `json:"avatar_large_url"`
	DisplayName     string `json:"display_name"`
	BioDescription  string `json:"bio_description"`
	ProfileDeepLink string `json:"profile_deep_link"`
	Username        string `json:"username"`
	IsVerified      bool   `json:"is_verified"`
	FollowerCount   int64  `json:"follower_count"`
	FollowingCount  int64  `json:"following_count"`
	LikesCount      int64  `json:"likes_count"`
	VideoCount      int64  `json:"video_count"`

	answer []byte // TikTok's whole answer, for Raw
}

// Raw returns the data.user object of TikTok's answer as received, for
// fields TikTok adds later; nil for a UserInfo that UserInfo did not return.
// It decodes the answer again on each call, so keep the result if you need
// it more than once.
func (u *UserInfo) Raw() json.RawMessage {
	if u == nil || len(u.answer) == 0 {
		return nil
	}
	var env struct {
		Data struct {
			User json.RawMessage `json:"user"`
		} `json:"data"`
	}
	if json.Unmarshal(u.answer, &env) != nil {
		return nil
	}
	return env.Data.User
}

// CreatorInfo is the data object of a creator info query
// (POST /v2/post/publish/creator_info/query/). TikTok's posting rules ask
// apps to fetch it fresh each time they show the post screen.
type CreatorInfo struct {
	CreatorAvatarURL string `json:"creator_avatar_url"`
	CreatorUsername  string `json:"creator_username"`
	CreatorNickname  string `json:"creator_nickname"`
	// PrivacyLevelOptions are the privacy levels this creator may post with,
	// such as PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY.
	PrivacyLevelOptions     []string `json:"privacy_level_options"`
	CommentDisabled         bool     `json:"comment_disabled"`
	DuetDisabled            bool     `json:"duet_disabled"`
	StitchDisabled          bool     `json:"stitch_disabled"`
	MaxVideoPostDurationSec int      `json:"max_video_post_duration_sec"`
}
