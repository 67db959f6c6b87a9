package tiktoktest

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// The scopes the emulator knows, spelled as TikTok spells them.
const (
	scopeUserInfoBasic   = "user.info.basic"
	scopeUserInfoProfile = "user.info.profile"
	scopeUserInfoStats   = "user.info.stats"
	scopeVideoList       = "video.list"
	scopeVideoPublish    = "video.publish"
	scopeVideoUpload     = "video.upload"
)

// knownScopes lists every scope the emulator accepts in Config.Scopes, with the
// text the consent page shows for it.
var knownScopes = []struct{ name, text string }{
	{scopeUserInfoBasic, "Read your profile info (avatar, display name)"},
	{scopeUserInfoProfile, "Read your profile details (bio, username, verified badge, profile link)"},
	{scopeUserInfoStats, "Read your stats (followers, following, likes, video count)"},
	{scopeVideoList, "Read your public videos"},
	{scopeVideoPublish, "Post content to TikTok directly"},
	{scopeVideoUpload, "Upload content to TikTok as drafts"},
}

func isKnownScope(s string) bool {
	for _, k := range knownScopes {
		if k.name == s {
			return true
		}
	}
	return false
}

func scopeText(s string) string {
	for _, k := range knownScopes {
		if k.name == s {
			return k.text
		}
	}
	return s
}

func allScopes() []string {
	out := make([]string, len(knownScopes))
	for i, k := range knownScopes {
		out[i] = k.name
	}
	return out
}

// userFields maps each user info field to the scope that unlocks it, in
// TikTok's documented order (tiktok-api §4.2).
var userFields = []struct{ name, scope string }{
	{"open_id", scopeUserInfoBasic},
	{"union_id", scopeUserInfoBasic},
	{"avatar_url", scopeUserInfoBasic},
	{"avatar_url_100", scopeUserInfoBasic},
	{"avatar_large_url", scopeUserInfoBasic},
	{"display_name", scopeUserInfoBasic},
	{"bio_description", scopeUserInfoProfile},
	{"profile_deep_link", scopeUserInfoProfile},
	{"is_verified", scopeUserInfoProfile},
	{"username", scopeUserInfoProfile},
	{"follower_count", scopeUserInfoStats},
	{"following_count", scopeUserInfoStats},
	{"likes_count", scopeUserInfoStats},
	{"video_count", scopeUserInfoStats},
}

// fieldScope returns the scope a user info field needs, or "" for an unknown
// field.
func fieldScope(field string) string {
	for _, f := range userFields {
		if f.name == field {
			return f.scope
		}
	}
	return ""
}

// Privacy levels a creator can offer (creator info, tiktok-api §5.1).
const (
	privacyPublic    = "PUBLIC_TO_EVERYONE"
	privacyMutual    = "MUTUAL_FOLLOW_FRIENDS"
	privacyFollowers = "FOLLOWER_OF_CREATOR"
	privacySelf      = "SELF_ONLY"
)

// defaultMaxVideoPostDurationSec is the creator info value used when
// User.MaxVideoPostDurationSec is zero: TikTok's API limit of ten minutes.
const defaultMaxVideoPostDurationSec = 600

// User is a fake TikTok account that can approve the consent page. The JSON
// form (snake_case, TikTok's field names) is the one read by the tiktokemu
// command's -users file and served by GET /_emulator/users.
type User struct {
	// OpenID is the user's ID for this app. Required and unique.
	OpenID string `json:"open_id"`
	// UnionID is the user's ID across one developer's apps. Default: a
	// UUID-shaped value derived from OpenID.
	UnionID string `json:"union_id,omitempty"`
	// DisplayName is the profile name. Default: Username, else OpenID.
	DisplayName string `json:"display_name,omitempty"`
	// Username is the @handle. Default: derived from DisplayName.
	Username string `json:"username,omitempty"`
	// AvatarURL is the avatar image. Default: an SVG served by the emulator
	// itself at /_emulator/avatar?open_id=..., so pages work offline.
	AvatarURL string `json:"avatar_url,omitempty"`
	// AvatarURL100 is the 100x100 avatar. Default: AvatarURL (or the
	// emulator's SVG at size 100).
	AvatarURL100 string `json:"avatar_url_100,omitempty"`
	// AvatarLargeURL is the large avatar. Default: like AvatarURL100, larger.
	AvatarLargeURL string `json:"avatar_large_url,omitempty"`
	// BioDescription is the profile bio. Default: empty.
	BioDescription string `json:"bio_description,omitempty"`
	// ProfileDeepLink is the link to the profile. Default:
	// "https://www.tiktok.com/@" + Username.
	ProfileDeepLink string `json:"profile_deep_link,omitempty"`
	// IsVerified is the verified badge. Default false.
	IsVerified bool `json:"is_verified,omitempty"`
	// FollowerCount, FollowingCount, LikesCount and VideoCount are the stats
	// (user.info.stats). Default 0.
	FollowerCount  int64 `json:"follower_count,omitempty"`
	FollowingCount int64 `json:"following_count,omitempty"`
	LikesCount     int64 `json:"likes_count,omitempty"`
	VideoCount     int64 `json:"video_count,omitempty"`
	// PrivacyLevelOptions is what creator info offers. Default
	// PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY (a public account).
	PrivacyLevelOptions []string `json:"privacy_level_options,omitempty"`
	// CommentDisabled, DuetDisabled and StitchDisabled are the creator's
	// interaction settings (creator info). Default false.
	CommentDisabled bool `json:"comment_disabled,omitempty"`
	DuetDisabled    bool `json:"duet_disabled,omitempty"`
	StitchDisabled  bool `json:"stitch_disabled,omitempty"`
	// MaxVideoPostDurationSec is the creator's longest allowed video.
	// Default 600.
	MaxVideoPostDurationSec int `json:"max_video_post_duration_sec,omitempty"`
}

// DefaultUsers returns the three built-in users, a new slice on every call:
// a verified public creator (the first, who approves by default), a private
// account, and an account that may only post privately (as TikTok forces for
// unaudited apps).
func DefaultUsers() []User {
	return []User{
		{
			OpenID:         "-000Em4L1ceXq7ZpQ2vN8KwM3tFhDr5LbJcA",
			UnionID:        "6f1c2a9e-4b7d-5e3a-9c80-2d41f7a6b3e1",
			DisplayName:    "Alice Example",
			Username:       "alice.example",
			BioDescription: "Cooking short recipes, one pan at a time.",
			IsVerified:     true,
			FollowerCount:  12840,
			FollowingCount: 181,
			LikesCount:     452107,
			VideoCount:     37,
		},
		{
			OpenID:              "-000Em4B0bYr8AqR3wO9LxN4uGiEs6McKdB",
			UnionID:             "0b7e5d3c-1a2f-5b4c-8d6e-9f0a1b2c3d4e",
			DisplayName:         "Bob Sample",
			Username:            "bob_sample",
			BioDescription:      "Private account.",
			FollowerCount:       52,
			FollowingCount:      73,
			LikesCount:          310,
			VideoCount:          4,
			PrivacyLevelOptions: []string{privacyFollowers, privacyMutual, privacySelf},
			DuetDisabled:        true,
			StitchDisabled:      true,
		},
		{
			OpenID:                  "-000Em4Car0lZs9BrS4xP0MyO5vHjFt7NdLeC",
			UnionID:                 "a3b4c5d6-e7f8-5a9b-8c0d-1e2f3a4b5c6d",
			DisplayName:             "Carol Tester",
			Username:                "carol.tester",
			PrivacyLevelOptions:     []string{privacySelf},
			CommentDisabled:         true,
			MaxVideoPostDurationSec: 180,
		},
	}
}

// withDefaults returns a copy of u with every empty field filled as the User
// docs describe. The avatar URLs stay empty when unset; they depend on the
// request's host and are filled when answering.
func (u User) withDefaults() User {
	if u.UnionID == "" {
		sum := sha256.Sum256([]byte("union:" + u.OpenID))
		h := hex.EncodeToString(sum[:16])
		u.UnionID = h[0:8] + "-" + h[8:12] + "-5" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
	}
	if u.Username == "" {
		base := u.DisplayName
		if base == "" {
			base = u.OpenID
		}
		u.Username = usernameFrom(base)
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	if u.ProfileDeepLink == "" {
		u.ProfileDeepLink = "https://www.tiktok.com/@" + u.Username
	}
	if len(u.PrivacyLevelOptions) == 0 {
		u.PrivacyLevelOptions = []string{privacyPublic, privacyMutual, privacySelf}
	} else {
		u.PrivacyLevelOptions = slices.Clone(u.PrivacyLevelOptions)
	}
	if u.MaxVideoPostDurationSec == 0 {
		u.MaxVideoPostDurationSec = defaultMaxVideoPostDurationSec
	}
	return u
}

// usernameFrom makes a TikTok-looking handle: lower-case letters, digits,
// '.' and '_'.
func usernameFrom(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

// initials returns up to two upper-case letters for the avatar picture.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			out = append(out, r)
			break
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}
