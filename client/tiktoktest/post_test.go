package tiktoktest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

type mInit struct {
	PublishID string `json:"publish_id"`
	UploadURL string `json:"upload_url"`
}

func mInitOK(t testing.TB, a mAnswer) mInit {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, "ok", a.code)
	var d mInit
	require.NoError(t, json.Unmarshal(a.data, &d))
	require.NotEmpty(t, d.PublishID)
	return d
}

// mFileBody is a direct post body for FILE_UPLOAD with the given numbers.
func mFileBody(privacy string, size, chunk, count int64) string {
	return fmt.Sprintf(`{"post_info":{"privacy_level":%q,"brand_content_toggle":false},"source_info":{"source":"FILE_UPLOAD","video_size":%d,"chunk_size":%d,"total_chunk_count":%d}}`,
		privacy, size, chunk, count)
}

// TestVideoInitSeedBodies sends the Ruby gem's request samples byte for
// byte, as any client following TikTok's docs would.
func TestVideoInitSeedBodies(t *testing.T) {
	emu := mEmu(t)
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"verified.domain.com"}})
	tok := mToken(t, emu, mAlice, "video.publish")

	d := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, seed.String("video_init__request_body_file_upload.json")))
	assert.True(t, strings.HasPrefix(d.PublishID, "v_pub_file~v2-1."), d.PublishID)
	assert.LessOrEqual(t, len(d.PublishID), 64)
	u, err := url.Parse(d.UploadURL)
	require.NoError(t, err)
	assert.Equal(t, emu.URL+"/upload/", u.Scheme+"://"+u.Host+u.Path)
	assert.Regexp(t, `^[0-9]{19}$`, u.Query().Get("upload_id"))
	assert.Regexp(t, `^[0-9a-f-]{36}$`, u.Query().Get("upload_token"))
	info, ok := emu.Publish(d.PublishID)
	require.True(t, ok)
	assert.Equal(t, tiktoktest.PublishInfo{PublishID: d.PublishID, OpenID: mAlice, Kind: "video", Source: "FILE_UPLOAD",
		PrivacyLevel: "SELF_ONLY", Status: "PROCESSING_UPLOAD", Upload: info.Upload}, info)
	assert.Equal(t, tiktoktest.UploadState{UploadID: u.Query().Get("upload_id"), VideoSize: 7340032, ChunkSize: 7340032,
		TotalChunkCount: 1, SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, *info.Upload)

	d = mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, seed.String("video_init__request_body_pull_from_url.json")))
	assert.True(t, strings.HasPrefix(d.PublishID, "v_pub_url~v2."), d.PublishID)
	assert.Empty(t, d.UploadURL)

	emu.SetMediaConfig(tiktoktest.MediaConfig{})
	a := mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, seed.String("video_init__request_body_pull_from_url.json"))
	mWantErr(t, a, http.StatusForbidden, "url_ownership_unverified")
	var want struct {
		Error struct{ Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(seed.Bytes("video_init__error_url_ownership_unverified__403.json"), &want))
	assert.Equal(t, want.Error.Message, a.msg, "TikTok's message")
}

// TestChunkRules: the emulator refuses what the Media Transfer Guide
// forbids, with TikTok's field-reported error.
func TestChunkRules(t *testing.T) {
	// One token sends more refused inits than the 6 a minute TikTok allows:
	// the quotas are not what this test checks.
	emu := newEmu(t, tiktoktest.Config{NoQuotas: true})
	tok := mToken(t, emu, mAlice, "video.publish")
	const MiB = 1 << 20
	tests := []struct {
		size, chunk, count int64
		ok                 bool
	}{
		{50_000_123, 10_000_000, 5, true},  // the docs' example
		{50_000_123, 10_000_000, 6, false}, // ceil instead of floor
		{4 * MiB, 4 * MiB, 1, true},        // small file whole
		{4 * MiB, 2 * MiB, 2, false},       // small file split
		{4 * MiB, 5 * MiB, 1, false},       // chunk_size must equal video_size
		{64_000_000, 64_000_000, 1, true},  // largest whole file
		{64_000_001, 64_000_001, 1, false}, // must be chunked
		{30 * MiB, 5*MiB - 1, 6, false},    // chunk below 5 MiB
		{200_000_000, 64 * MiB, 2, false},  // chunk above 64,000,000
		{192_000_000 - 1, 64_000_000, 2, true},
		{1000 * 5 * MiB, 5 * MiB, 1000, true},
		{1001 * 5 * MiB, 5 * MiB, 1001, false}, // over 1000 chunks
		{0, 0, 0, false},
		{-5, 5, 1, false},
	}
	for _, tt := range tests {
		a := mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, mFileBody("SELF_ONLY", tt.size, tt.chunk, tt.count))
		if tt.ok {
			mInitOK(t, a)
			continue
		}
		mWantErr(t, a, http.StatusBadRequest, "invalid_params")
		assert.Contains(t, a.msg, "The chunk size is invalid", "%+v", tt)
	}
	a := mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok,
		`{"post_info":{"privacy_level":"SELF_ONLY"},"source_info":{"source":"FILE_UPLOAD","video_size":10}}`)
	mWantErr(t, a, http.StatusBadRequest, "invalid_param")
}

func TestVideoInitStrict(t *testing.T) {
	// One token sends more refused inits than the 6 a minute TikTok allows:
	// the quotas are not what this test checks.
	emu := newEmu(t, tiktoktest.Config{NoQuotas: true})
	alice := mToken(t, emu, mAlice, "video.publish")
	file := mFileBody("SELF_ONLY", 1000, 1000, 1)
	tests := []struct {
		name, path, token, body string
		header                  []string
		status                  int
		code                    string
	}{
		{"no token", "/v2/post/publish/video/init/", "", file, nil, 401, "access_token_invalid"},
		{"upload scope only", "/v2/post/publish/video/init/", mToken(t, emu, mAlice, "video.upload"), file, nil, 401, "scope_not_authorized"},
		{"no privacy level", "/v2/post/publish/video/init/", alice, `{"post_info":{},"source_info":{"source":"FILE_UPLOAD","video_size":1000,"chunk_size":1000,"total_chunk_count":1}}`, nil, 403, "privacy_level_option_mismatch"},
		{"level not among the options", "/v2/post/publish/video/init/", mToken(t, emu, mCarol, "video.publish"), mFileBody("PUBLIC_TO_EVERYONE", 1000, 1000, 1), nil, 403, "privacy_level_option_mismatch"},
		{"public account has no FOLLOWER_OF_CREATOR", "/v2/post/publish/video/init/", alice, mFileBody("FOLLOWER_OF_CREATOR", 1000, 1000, 1), nil, 403, "privacy_level_option_mismatch"},
		{"no post_info", "/v2/post/publish/video/init/", alice, `{"source_info":{"source":"PULL_FROM_URL","video_url":"https://x.example/v.mp4"}}`, nil, 400, "invalid_param"},
		{"unknown source", "/v2/post/publish/video/init/", alice, `{"post_info":{"privacy_level":"SELF_ONLY"},"source_info":{"source":"UPLOAD"}}`, nil, 400, "invalid_param"},
		{"title over 2200 UTF-16 units", "/v2/post/publish/video/init/", alice, `{"post_info":{"privacy_level":"SELF_ONLY","title":"` + strings.Repeat("😀", 1101) + `"},"source_info":{"source":"FILE_UPLOAD","video_size":1000,"chunk_size":1000,"total_chunk_count":1}}`, nil, 400, "invalid_param"},
		{"title of the wrong type", "/v2/post/publish/video/init/", alice, `{"post_info":{"privacy_level":"SELF_ONLY","title":5},"source_info":{"source":"FILE_UPLOAD"}}`, nil, 400, "invalid_param"},
		{"not JSON", "/v2/post/publish/video/init/", alice, `post_info=1`, nil, 400, "invalid_param"},
		{"text/plain", "/v2/post/publish/video/init/", alice, file, []string{"Content-Type", "text/plain"}, 400, "invalid_param"},
		{"inbox: publish scope only", "/v2/post/publish/inbox/video/init/", alice, `{"source_info":{"source":"FILE_UPLOAD","video_size":1000,"chunk_size":1000,"total_chunk_count":1}}`, nil, 401, "scope_not_authorized"},
		{"inbox: bad chunks", "/v2/post/publish/inbox/video/init/", mToken(t, emu, mAlice, "video.upload"), `{"source_info":{"source":"FILE_UPLOAD","video_size":100000000,"chunk_size":100000000,"total_chunk_count":1}}`, nil, 400, "invalid_params"},
		{"inbox: unverified URL", "/v2/post/publish/inbox/video/init/", mToken(t, emu, mAlice, "video.upload"), `{"source_info":{"source":"PULL_FROM_URL","video_url":"https://x.example/v.mp4"}}`, nil, 403, "url_ownership_unverified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mWantErr(t, mCall(t, emu, "POST", tt.path, tt.token, tt.body, tt.header...), tt.status, tt.code)
		})
	}
	assert.Empty(t, emu.Publishes(), "nothing was started")
}

func TestVerifiedURLs(t *testing.T) {
	// One token sends more refused inits than the 6 a minute TikTok allows:
	// the quotas are not what this test checks.
	emu := newEmu(t, tiktoktest.Config{NoQuotas: true})
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"example.com"}, VerifiedURLPrefixes: []string{"https://files.example.org/media/"}})
	tok := mToken(t, emu, mAlice, "video.upload")
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://example.com/v.mp4", true},
		{"https://cdn.example.com/a/v.mp4", true},
		{"https://badexample.com/v.mp4", false},
		{"http://example.com/v.mp4", false},
		{"https://files.example.org/media/v.mp4", true},
		{"https://files.example.org/other/v.mp4", false},
		{"https://93.184.216.34/v.mp4", false},
		{"https://user@example.com/v.mp4", false},
	}
	for _, tt := range tests {
		a := mCall(t, emu, "POST", "/v2/post/publish/inbox/video/init/", tok, `{"source_info":{"source":"PULL_FROM_URL","video_url":"`+tt.url+`"}}`)
		if tt.ok {
			d := mInitOK(t, a)
			assert.True(t, strings.HasPrefix(d.PublishID, "v_inbox_url~v2."), d.PublishID)
		} else {
			mWantErr(t, a, http.StatusForbidden, "url_ownership_unverified")
		}
	}
}

func TestPostingCaps(t *testing.T) {
	emu := mEmu(t)
	file := mFileBody("SELF_ONLY", 1000, 1000, 1)

	t.Run("unaudited", func(t *testing.T) {
		emu.SetMediaConfig(tiktoktest.MediaConfig{Unaudited: true})
		mWantErr(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", mToken(t, emu, mAlice, "video.publish"), file), 403, "unaudited_client_can_only_post_to_private_accounts")
		d := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", mToken(t, emu, mBob, "video.publish"), mFileBody("MUTUAL_FOLLOW_FRIENDS", 1000, 1000, 1)))
		info, _ := emu.Publish(d.PublishID)
		assert.Equal(t, "SELF_ONLY", info.PrivacyLevel, "forced private")
	})
	t.Run("posts per day", func(t *testing.T) {
		emu.SetMediaConfig(tiktoktest.MediaConfig{MaxPostsPerDay: 2})
		tok := mToken(t, emu, mCarol, "video.publish")
		mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, file))
		mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, file))
		mWantErr(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, file), 403, "spam_risk_too_many_posts")
		emu.AdvanceClock(24 * time.Hour)
		mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", mToken(t, emu, mCarol, "video.publish"), file))
	})
	t.Run("rate limits", func(t *testing.T) {
		emu.SetMediaConfig(tiktoktest.MediaConfig{})
		emu.SetQuotaRetryAfter(true)
		tok := mToken(t, emu, mAlice, "video.publish")
		for range 6 {
			mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, file))
		}
		a := mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, file)
		mWantErr(t, a, http.StatusTooManyRequests, "rate_limit_exceeded")
		secs, err := strconv.Atoi(a.header.Get("Retry-After"))
		require.NoError(t, err)
		assert.True(t, secs >= 1 && secs <= 60, secs)
		mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", mToken(t, emu, mAlice, "video.publish"), file))
		emu.AdvanceClock(time.Minute)
		mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, file))
	})
}

func TestContentInit(t *testing.T) {
	// One token sends more refused inits than the 6 a minute TikTok allows:
	// the quotas are not what this test checks.
	emu := newEmu(t, tiktoktest.Config{NoQuotas: true})
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"img.example"}})
	both := mToken(t, emu, mAlice, "video.publish", "video.upload")
	photo := func(mode, extra string, images ...string) string {
		if len(images) == 0 {
			images = []string{"https://img.example/1.jpg", "https://img.example/2.jpg"}
		}
		b, _ := json.Marshal(images)
		return `{"media_type":"PHOTO","post_mode":"` + mode + `","post_info":{"title":"t"` + extra + `},"source_info":{"source":"PULL_FROM_URL","photo_images":` + string(b) + `,"photo_cover_index":1}}`
	}
	d := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/content/init/", both, photo("DIRECT_POST", `,"privacy_level":"PUBLIC_TO_EVERYONE","auto_add_music":true`)))
	assert.True(t, strings.HasPrefix(d.PublishID, "p_pub_url~v2."), d.PublishID)
	d = mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/content/init/", mToken(t, emu, mAlice, "video.upload"), photo("MEDIA_UPLOAD", "")))
	assert.True(t, strings.HasPrefix(d.PublishID, "p_inbox_url~v2."), d.PublishID)

	many := make([]string, 36)
	for i := range many {
		many[i] = "https://img.example/p.jpg"
	}
	tests := []struct {
		name, token, body string
		status            int
		code              string
	}{
		{"direct needs video.publish", mToken(t, emu, mAlice, "video.upload"), photo("DIRECT_POST", `,"privacy_level":"SELF_ONLY"`), 401, "scope_not_authorized"},
		{"media upload needs video.upload", mToken(t, emu, mAlice, "video.publish"), photo("MEDIA_UPLOAD", ""), 401, "scope_not_authorized"},
		{"the docs' typo DIRECT POST", both, photo("DIRECT POST", `,"privacy_level":"SELF_ONLY"`), 400, "invalid_param"},
		{"36 images", both, photo("DIRECT_POST", `,"privacy_level":"SELF_ONLY"`, many...), 400, "invalid_param"},
		{"cover index out of range", both, photo("DIRECT_POST", `,"privacy_level":"SELF_ONLY"`, "https://img.example/1.jpg"), 400, "invalid_param"},
		{"title over 90", both, strings.Replace(photo("MEDIA_UPLOAD", ""), `"title":"t"`, `"title":"`+strings.Repeat("é", 91)+`"`, 1), 400, "invalid_param"},
		{"video media type", both, strings.Replace(photo("MEDIA_UPLOAD", ""), `"PHOTO"`, `"VIDEO"`, 1), 400, "invalid_param"},
		{"direct without privacy", both, photo("DIRECT_POST", ""), 403, "privacy_level_option_mismatch"},
		{"unverified image", both, photo("DIRECT_POST", `,"privacy_level":"SELF_ONLY"`, "https://img.example/1.jpg", "https://elsewhere.example/2.jpg"), 403, "url_ownership_unverified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mWantErr(t, mCall(t, emu, "POST", "/v2/post/publish/content/init/", tt.token, tt.body), tt.status, tt.code)
		})
	}
}

type mStatus struct {
	Status          string  `json:"status"`
	FailReason      string  `json:"fail_reason"`
	PublicPostIDs   []int64 `json:"publicaly_available_post_id"`
	UploadedBytes   int64   `json:"uploaded_bytes"`
	DownloadedBytes int64   `json:"downloaded_bytes"`
}

func mStatusOf(t testing.TB, emu *tiktoktest.Server, tok, id string) mStatus {
	t.Helper()
	a := mCall(t, emu, "POST", "/v2/post/publish/status/fetch/", tok, `{"publish_id":"`+id+`"}`)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	var s mStatus
	require.NoError(t, json.Unmarshal(a.data, &s))
	return s
}

func TestPublishStatusLifecycle(t *testing.T) {
	emu := mEmu(t)
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"v.example"}})
	tok := mToken(t, emu, mAlice, "video.publish", "video.upload")
	pull := `{"post_info":{"privacy_level":"PUBLIC_TO_EVERYONE"},"source_info":{"source":"PULL_FROM_URL","video_url":"https://v.example/a.mp4"}}`

	d := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, pull))
	assert.Equal(t, mStatus{Status: "PROCESSING_DOWNLOAD", PublicPostIDs: []int64{}}, mStatusOf(t, emu, tok, d.PublishID))
	done := mStatusOf(t, emu, tok, d.PublishID)
	assert.Equal(t, "PUBLISH_COMPLETE", done.Status)
	require.Len(t, done.PublicPostIDs, 1)
	assert.Positive(t, done.DownloadedBytes)
	a := mCall(t, emu, "POST", "/v2/post/publish/status/fetch/", tok, `{"publish_id":"`+d.PublishID+`"}`)
	assert.Contains(t, string(a.raw), `"publicaly_available_post_id":[73`, "TikTok's spelling, int64 values")

	inbox := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/inbox/video/init/", tok, `{"source_info":{"source":"FILE_UPLOAD","video_size":1000,"chunk_size":1000,"total_chunk_count":1}}`))
	assert.Equal(t, "PROCESSING_UPLOAD", mStatusOf(t, emu, tok, inbox.PublishID).Status)
	assert.Equal(t, "PROCESSING_UPLOAD", mStatusOf(t, emu, tok, inbox.PublishID).Status, "nothing uploaded yet")

	// Cancel while processing; then it is final.
	c := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok, pull))
	cancel := mCall(t, emu, "POST", "/v2/post/publish/cancel/", tok, `{"publish_id":"`+c.PublishID+`"}`)
	assert.Equal(t, http.StatusOK, cancel.status, "%s", cancel.raw)
	assert.Equal(t, mStatus{Status: "FAILED", FailReason: "publish_cancelled", PublicPostIDs: []int64{}}, mStatusOf(t, emu, tok, c.PublishID))
	mWantErr(t, mCall(t, emu, "POST", "/v2/post/publish/cancel/", tok, `{"publish_id":"`+c.PublishID+`"}`), 400, "publish_not_cancellable")

	bob := mToken(t, emu, mBob, "video.upload")
	for _, path := range []string{"/v2/post/publish/status/fetch/", "/v2/post/publish/cancel/"} {
		mWantErr(t, mCall(t, emu, "POST", path, bob, `{"publish_id":"`+d.PublishID+`"}`), 400, "token_not_authorized_for_specified_publish_id")
		mWantErr(t, mCall(t, emu, "POST", path, tok, `{"publish_id":"v_pub_url~v2.1"}`), 400, "invalid_publish_id")
		mWantErr(t, mCall(t, emu, "POST", path, tok, `{}`), 400, "invalid_publish_id")
		mWantErr(t, mCall(t, emu, "POST", path, mToken(t, emu, mAlice, "video.list"), `{"publish_id":"`+d.PublishID+`"}`), 401, "scope_not_authorized")
	}

	require.True(t, emu.FailPublish(inbox.PublishID, "file_format_check_failed"))
	assert.Equal(t, "file_format_check_failed", mStatusOf(t, emu, tok, inbox.PublishID).FailReason)
	assert.False(t, emu.FailPublish("nope", "x"))

	require.NoError(t, emu.SetQuota(tiktoktest.EndpointPublishStatus, tiktoktest.DefaultQuotas()[tiktoktest.EndpointPublishStatus]))
	for range 30 {
		mStatusOf(t, emu, tok, d.PublishID)
	}
	mWantErr(t, mCall(t, emu, "POST", "/v2/post/publish/status/fetch/", tok, `{"publish_id":"`+d.PublishID+`"}`), 429, "rate_limit_exceeded")
}

// TestMediaControlEndpoints drives the posting controls over HTTP, as a
// test in another language would.
func TestMediaControlEndpoints(t *testing.T) {
	emu := mEmu(t)
	post := func(path, ctype, body string) (int, string) {
		resp, err := http.Post(emu.URL+path, ctype, strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	st, body := post("/_emulator/media-config", "application/json", `{"verified_domains":["v.example"],"processing_polls":-1}`)
	require.Equal(t, http.StatusOK, st, body)
	assert.Contains(t, body, `"verified_domains":["v.example"]`)
	assert.Equal(t, -1, emu.MediaConfig().ProcessingPolls)
	assert.Equal(t, 5, emu.MediaConfig().MaxPendingShares, "default filled in")
	st, _ = post("/_emulator/media-config", "application/json", `{"verified":["x"]}`)
	assert.Equal(t, http.StatusBadRequest, st, "unknown members are refused")

	tok := mToken(t, emu, mAlice, "video.publish")
	d := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", tok,
		`{"post_info":{"privacy_level":"SELF_ONLY"},"source_info":{"source":"PULL_FROM_URL","video_url":"https://v.example/a.mp4"}}`))
	resp, err := http.Get(emu.URL + "/_emulator/publish?publish_id=" + url.QueryEscape(d.PublishID))
	require.NoError(t, err)
	var pi tiktoktest.PublishInfo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&pi))
	resp.Body.Close()
	assert.Equal(t, "PROCESSING_DOWNLOAD", pi.Status)

	st, body = post("/_emulator/fail-publish", "application/x-www-form-urlencoded", "publish_id="+url.QueryEscape(d.PublishID)+"&reason=spam_risk_text")
	require.Equal(t, http.StatusOK, st, body)
	assert.Equal(t, "spam_risk_text", mStatusOf(t, emu, tok, d.PublishID).FailReason)
	st, _ = post("/_emulator/fail-publish", "application/x-www-form-urlencoded", "publish_id=nope")
	assert.Equal(t, http.StatusNotFound, st)

	st, body = post("/_emulator/upload-faults", "application/json", `{"chunk":-1,"status":503,"times":1}`)
	require.Equal(t, http.StatusOK, st, body)
	st, _ = post("/_emulator/upload-faults", "application/json", `{"chunk":-2}`)
	assert.Equal(t, http.StatusBadRequest, st)
	req, _ := http.NewRequest(http.MethodDelete, emu.URL+"/_emulator/upload-faults", nil)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
