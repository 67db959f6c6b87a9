package tiktoktest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestIDShapes(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		c := newCode()
		assert.Regexp(t, `^[0-9A-Za-z]{58}\*[0-3]![0-9]{4}$`, c)
		assert.False(t, seen[c])
		seen[c] = true
	}
	assert.Regexp(t, `^act\.[0-9A-Za-z]{60}![0-9]{4}\.va$`, newToken("act."))
	assert.Regexp(t, `^rft\.`, newToken("rft."))
	assert.Len(t, newNonce(), 32)
	id := newLogID(time.Date(2025, 9, 15, 23, 48, 24, 0, time.FixedZone("x", 3600)))
	assert.Regexp(t, `^20250915224824[0-9A-F]{20}$`, id)

	// Every character of the alphabet is drawn.
	s := randomString(4000, base62)
	for _, c := range base62 {
		assert.Contains(t, s, string(c))
	}
}

func TestChallengeAndVerifier(t *testing.T) {
	const v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	// RFC 7636 appendix B's example, and its hex form.
	const b64 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	const hexC = "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3"
	hexOnly := &Server{cfg: Config{}}
	both := &Server{cfg: Config{AcceptBase64URLChallenge: true}}
	for _, tc := range []struct {
		c          string
		hex, b64ok bool
	}{
		{hexC, true, true},
		{b64, false, true},
		{strings.ToUpper(hexC), false, false},
		{hexC[:63], false, false},
		{hexC + "0", false, false},
		{b64[:42], false, false},
		{strings.Replace(b64, "-", "+", 1), false, false},
		{"", false, false},
	} {
		assert.Equal(t, tc.hex, hexOnly.challengeAccepted(tc.c), tc.c)
		assert.Equal(t, tc.b64ok, both.challengeAccepted(tc.c), tc.c)
	}
	assert.True(t, verifierMatches(hexC, v))
	assert.True(t, verifierMatches(b64, v))
	assert.False(t, verifierMatches(hexC, v+"x"))
	assert.False(t, verifierMatches(b64, strings.ToUpper(v)))

	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{v, true},
		{strings.Repeat("a", 42), false},
		{strings.Repeat("a", 43), true},
		{strings.Repeat("~", 128), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 42) + "+", false},
		{strings.Repeat("a", 42) + " ", false},
	} {
		assert.Equal(t, tc.ok, validVerifier(tc.v), tc.v)
	}
}

func TestPlausibleRedirect(t *testing.T) {
	for _, tc := range []struct {
		u  string
		ok bool
	}{
		{"https://app.example/cb", true},
		{"http://127.0.0.1:8080/callback/", true},
		{"https://app.example/cb?x=1", true},
		{"HTTPS://app.example/cb", true},
		{"https://app.example/cb#frag", false},
		{"https://app.example/cb#", false},
		{"/cb", false},
		{"//app.example/cb", false},
		{"ftp://app.example/cb", false},
		{"javascript:alert(1)", false},
		{"https:app.example", false},
		{"https://user:pw@app.example/cb", false},
		{"https://app.example/c b", false},
		{"https://app.example/\\evil", false},
		{"https://app.example/" + strings.Repeat("a", 500), false},
		{"", false},
	} {
		assert.Equal(t, tc.ok, plausibleRedirect(tc.u), tc.u)
	}
}

func TestUserDefaults(t *testing.T) {
	u := User{OpenID: "abc", DisplayName: "Zoë Smith-Jones"}.withDefaults()
	assert.Equal(t, "zo_smith_jones", u.Username)
	assert.Equal(t, "https://www.tiktok.com/@zo_smith_jones", u.ProfileDeepLink)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$`), u.UnionID)
	assert.Equal(t, []string{"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"}, u.PrivacyLevelOptions)
	assert.Equal(t, 600, u.MaxVideoPostDurationSec)
	assert.Equal(t, "ZS", initials(u.DisplayName))
	assert.Equal(t, "?", initials(""))

	bare := User{OpenID: "-000Q"}.withDefaults()
	assert.Equal(t, "_000q", bare.Username)
	assert.Equal(t, "_000q", bare.DisplayName)

	// The same open ID always gets the same union ID.
	assert.Equal(t, u.UnionID, User{OpenID: "abc"}.withDefaults().UnionID)
	for _, d := range DefaultUsers() {
		assert.Equal(t, d.UnionID, d.withDefaults().UnionID, "explicit union IDs are kept")
	}
}

func TestCodeForStatus(t *testing.T) {
	for _, tc := range []struct {
		e      Endpoint
		status int
		want   string
	}{
		{EndpointToken, 500, "server_error"},
		{EndpointToken, 503, "temporarily_unavailable"},
		{EndpointToken, 429, "temporarily_unavailable"},
		{EndpointToken, 401, "invalid_client"},
		{EndpointRevoke, 400, "invalid_request"},
		{EndpointUserInfo, 500, "internal_error"},
		{EndpointUserInfo, 503, "internal_error"},
		{EndpointUserInfo, 429, "rate_limit_exceeded"},
		{EndpointCreatorInfo, 401, "access_token_invalid"},
		{EndpointCreatorInfo, 403, "scope_not_authorized"},
		{EndpointUserInfo, 418, "invalid_params"},
	} {
		assert.Equal(t, tc.want, codeForStatus(tc.e, tc.status), "%s %d", tc.e, tc.status)
	}
	assert.Equal(t, "optional", PKCEOptional.String())
	assert.Equal(t, "required", PKCERequired.String())
	assert.Equal(t, "PKCEPolicy(9)", PKCEPolicy(9).String())
}

func TestSweepsExpiredEntries(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewHandler(Config{Clock: func() time.Time { return now }})
	req := authRequest{clientKey: s.cfg.ClientKey, redirectURI: "https://a.example/cb", scopes: []string{scopeUserInfoBasic}}
	s.mu.Lock()
	for range maxPending {
		s.newCodeLocked(req, s.users[0].OpenID, req.scopes)
	}
	s.offset = s.cfg.CodeTTL // all of them expire
	live := s.newCodeLocked(req, s.users[0].OpenID, req.scopes)
	n := len(s.codes)
	s.mu.Unlock()
	assert.Equal(t, 1, n)
	_, err := s.Code(s.users[0].OpenID, "https://a.example/cb", []string{scopeUserInfoBasic}, "")
	assert.NoError(t, err)
	assert.NotEmpty(t, live)
}
