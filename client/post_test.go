package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

// capture is one request seen by a canned server.
type capture struct {
	header http.Header
	path   string
	body   []byte
}

// cannedServer answers every request with status and body and records it.
func cannedServer(t *testing.T, status int, body string) (*client.Client, func() []capture) {
	t.Helper()
	var mu sync.Mutex
	var got []capture
	srv := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, capture{header: r.Header.Clone(), path: r.URL.Path, body: b})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s", APIURL: srv.URL,
		Retry: client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	require.NoError(t, err)
	return c, func() []capture {
		mu.Lock()
		defer mu.Unlock()
		return append([]capture(nil), got...)
	}
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return m
}

// TestDirectPostBodyMatchesSeed compares the JSON the client sends with the
// Ruby gem's request samples. Two differences are deliberate:
// brand_content_toggle is always sent (TikTok calls it required), and the
// gem's video_type, which TikTok does not document, is not.
func TestDirectPostBodyMatchesSeed(t *testing.T) {
	plan, err := client.PlanChunks(7_340_032, 0)
	require.NoError(t, err)
	tests := []struct {
		name   string
		sample string
		req    client.DirectPostRequest
	}{
		{"file upload", "video_init__request_body_file_upload.json", client.DirectPostRequest{
			PostInfo: client.VideoPostInfo{Title: "My first video #tiktok", PrivacyLevel: client.PrivacySelfOnly, VideoCoverTimestampMS: 1000},
			Source:   client.VideoSource{Kind: client.SourceFileUpload, Plan: plan},
		}},
		{"pull from url", "video_init__request_body_pull_from_url.json", client.DirectPostRequest{
			PostInfo: client.VideoPostInfo{Title: "this will be a funny #cat video", PrivacyLevel: client.PrivacySelfOnly,
				DisableComment: true, VideoCoverTimestampMS: 1000},
			Source: client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://example.verified.domain.com/example_video.mp4"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, seen := cannedServer(t, http.StatusOK, seed.String("video_init__success_file_upload__200.json"))
			uc := c.WithToken(&client.Token{AccessToken: "act.test_access_token_d60341ec2b987fa5_valid"})
			res, err := uc.DirectPostVideo(context.Background(), tt.req)
			require.NoError(t, err)
			assert.Equal(t, "v_pub_file~v2-1.0000000000000000000", res.PublishID)
			assert.Equal(t, "https://open-upload-va.tiktokapis.com/upload?upload_id=2222222222222222222&upload_token=5106b2d3-ce75-508b-6b23-93d8cd264976", res.UploadURL)

			reqs := seen()
			require.Len(t, reqs, 1)
			assert.Equal(t, client.PathVideoInit, reqs[0].path)
			assert.Equal(t, "application/json; charset=UTF-8", reqs[0].header.Get("Content-Type"))
			assert.Equal(t, "Bearer act.test_access_token_d60341ec2b987fa5_valid", reqs[0].header.Get("Authorization"))
			want := decodeJSON(t, seed.Bytes(tt.sample))
			want["post_info"].(map[string]any)["brand_content_toggle"] = false
			delete(want["source_info"].(map[string]any), "video_type")
			assert.Empty(t, cmp.Diff(want, decodeJSON(t, reqs[0].body)))
		})
	}
}

// TestPostingSeedErrors decodes the gem's error samples, including one with
// no data member, and checks that a posting call is neither retried nor
// refreshed.
func TestPostingSeedErrors(t *testing.T) {
	plan, _ := client.PlanChunks(1000, 0)
	req := client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
		Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}}
	tests := []struct {
		sample string
		status int
		want   error
		code   string
	}{
		{"video_init__error_url_ownership_unverified__403.json", 403, client.ErrURLOwnershipUnverified, "url_ownership_unverified"},
		{"video_init__error_access_token_invalid__401.json", 401, client.ErrAccessTokenInvalid, "access_token_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			c, seen := cannedServer(t, tt.status, seed.String(tt.sample))
			r := &mediaRefresher{c: c}
			uc := c.ForUser("k", &client.Token{AccessToken: "act.x", RefreshToken: "rft.x"}, r)
			_, err := uc.DirectPostVideo(context.Background(), req)
			require.ErrorIs(t, err, tt.want)
			var ae *client.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.Code)
			assert.Equal(t, tt.status, ae.StatusCode)
			assert.NotEmpty(t, ae.LogID)
			assert.Len(t, seen(), 1, "posting is never repeated")
			assert.Zero(t, r.calls, "posting never forces a refresh")
		})
	}
}

func TestDirectPostVideoEmulator(t *testing.T) {
	emu, c := mediaEmu(t)
	uc := mediaUser(t, emu, c, mediaAlice, client.ScopeVideoPublish)
	ctx := context.Background()

	plan, err := client.PlanChunks(50_000_123, 10_000_000)
	require.NoError(t, err)
	res, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{
		PostInfo:     client.VideoPostInfo{Title: "Hello 👋 #go", PrivacyLevel: client.PrivacyPublicToEveryone, IsAIGC: true},
		Source:       client.VideoSource{Kind: client.SourceFileUpload, Plan: plan},
		FetchCreator: true,
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(res.PublishID, "v_pub_file~"), res.PublishID)
	assert.True(t, strings.HasPrefix(res.UploadURL, emu.URL+"/upload/?upload_id="), res.UploadURL)
	info, ok := emu.Publish(res.PublishID)
	require.True(t, ok)
	assert.Equal(t, "PROCESSING_UPLOAD", info.Status)
	assert.Equal(t, 5, info.Upload.TotalChunkCount)
	assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointCreatorInfo), "FetchCreator asked for creator info")

	t.Run("pull from an unverified URL", func(t *testing.T) {
		_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{
			PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
			Source:   client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://cdn.elsewhere.example/v.mp4"},
		})
		assert.ErrorIs(t, err, client.ErrURLOwnershipUnverified)
	})
	t.Run("pull from a verified domain", func(t *testing.T) {
		emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"verified.example"}})
		defer emu.SetMediaConfig(tiktoktest.MediaConfig{})
		res, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{
			PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
			Source:   client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://cdn.verified.example/v.mp4"},
		})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(res.PublishID, "v_pub_url~"), res.PublishID)
		assert.Empty(t, res.UploadURL)
	})
	t.Run("unaudited app and a public account", func(t *testing.T) {
		emu.SetMediaConfig(tiktoktest.MediaConfig{Unaudited: true})
		defer emu.SetMediaConfig(tiktoktest.MediaConfig{})
		_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
			Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
		assert.ErrorIs(t, err, client.ErrUnauditedClient)
	})
	t.Run("codes TikTok sends with HTTP 200", func(t *testing.T) {
		for _, tc := range []struct {
			code string
			want []error
		}{
			{"spam_risk_too_many_posts", []error{client.ErrSpamRisk, client.ErrTooManyPosts}},
			{"spam_risk_user_banned_from_posting", []error{client.ErrSpamRisk, client.ErrBannedFromPosting}},
			{"reached_active_user_cap", []error{client.ErrActiveUserCap}},
		} {
			emu.InjectFault(tiktoktest.EndpointVideoInit, tiktoktest.Fault{ErrorCode: tc.code, Times: 1})
			_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
				Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
			for _, w := range tc.want {
				assert.ErrorIs(t, err, w, tc.code)
			}
			assert.NotErrorIs(t, err, client.ErrPrivacyLevelMismatch)
			var ae *client.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, http.StatusOK, ae.StatusCode)
		}
	})
	t.Run("spam code from creator info with HTTP 200", func(t *testing.T) {
		emu.InjectFault(tiktoktest.EndpointCreatorInfo, tiktoktest.Fault{ErrorCode: "spam_risk_too_many_posts", Times: 1})
		emu.ResetCounters()
		_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
			Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}, FetchCreator: true})
		assert.ErrorIs(t, err, client.ErrTooManyPosts)
		assert.Zero(t, emu.Calls(tiktoktest.EndpointVideoInit))
	})
	t.Run("not repeated on 500 or a killed token", func(t *testing.T) {
		emu.ResetCounters()
		emu.InjectFault(tiktoktest.EndpointVideoInit, tiktoktest.Fault{Status: 500, Times: 1})
		_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
			Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
		assert.ErrorIs(t, err, client.ErrServer)
		assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointVideoInit))

		r := &mediaRefresher{c: c}
		ru := c.ForUser(mediaAlice, mediaToken(t, emu, mediaAlice, client.ScopeVideoPublish), r)
		emu.KillAccessTokens()
		_, err = ru.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
			Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
		assert.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		assert.Zero(t, r.calls)
		assert.Equal(t, 2, emu.Calls(tiktoktest.EndpointVideoInit))
	})
}

// TestPrivacyLevelChecks: the level must be among the creator's options:
// refused before the init when the creator info is at hand, by TikTok
// otherwise; both match ErrPrivacyLevelMismatch.
func TestPrivacyLevelChecks(t *testing.T) {
	emu, c := mediaEmu(t)
	carol := mediaUser(t, emu, c, mediaCarol, client.ScopeVideoPublish)
	ctx := context.Background()
	plan, _ := client.PlanChunks(4096, 0)
	post := client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacyPublicToEveryone},
		Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}}

	_, err := carol.DirectPostVideo(ctx, post)
	var ae *client.APIError
	require.ErrorAs(t, err, &ae, "without creator info, TikTok refuses")
	assert.Equal(t, "privacy_level_option_mismatch", ae.Code)
	assert.ErrorIs(t, err, client.ErrPrivacyLevelMismatch)
	assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointVideoInit))

	post.FetchCreator = true
	_, err = carol.DirectPostVideo(ctx, post)
	var pe *client.PrivacyLevelError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, []string{"SELF_ONLY"}, pe.Options)
	assert.EqualError(t, err, `client: privacy level "PUBLIC_TO_EVERYONE" is not among the creator's options: SELF_ONLY`)
	assert.ErrorIs(t, err, client.ErrPrivacyLevelMismatch)
	assert.ErrorIs(t, err, client.ErrInvalidInput)
	assert.Equal(t, 1, emu.Calls(tiktoktest.EndpointVideoInit), "refused before the init")

	ci, err := carol.CreatorInfo(ctx)
	require.NoError(t, err)
	emu.ResetCounters()
	post.FetchCreator, post.Creator = false, ci
	_, err = carol.DirectPostVideo(ctx, post)
	assert.ErrorAs(t, err, &pe)
	assert.Zero(t, emu.Calls(tiktoktest.EndpointVideoInit)+emu.Calls(tiktoktest.EndpointCreatorInfo), "no request at all")

	post.PostInfo.PrivacyLevel = client.PrivacySelfOnly
	_, err = carol.DirectPostVideo(ctx, post)
	assert.NoError(t, err)

	photo := client.PhotoPostRequest{Mode: client.PostModeDirect, Images: []string{"https://img.example/1.jpg"},
		PostInfo: client.PhotoPostInfo{PrivacyLevel: client.PrivacyMutualFollowFriend}, Creator: ci}
	_, err = carol.PostPhotos(ctx, photo)
	assert.ErrorAs(t, err, &pe)
}

func TestPostingValidation(t *testing.T) {
	emu, c := mediaEmu(t)
	uc := mediaUser(t, emu, c, mediaAlice)
	ctx := context.Background()
	plan, _ := client.PlanChunks(10_000, 0)
	file := client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}
	self := client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly}
	emoji := strings.Repeat("😀", 1101) // 1101 runes, 2202 UTF-16 units
	images := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "https://img.example/p.jpg"
		}
		return out
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"title over 2200 UTF-16 units", func() error {
			_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{Title: emoji, PrivacyLevel: client.PrivacySelfOnly}, Source: file})
			return err
		}, "2202 UTF-16"},
		{"missing privacy", func() error {
			_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{Source: file})
			return err
		}, "privacy level is required"},
		{"unknown privacy", func() error {
			_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: "FRIENDS"}, Source: file})
			return err
		}, "unknown privacy level"},
		{"unknown source", func() error {
			_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: self, Source: client.VideoSource{Kind: "UPLOAD"}})
			return err
		}, "source must be"},
		{"file upload without a plan", func() error {
			_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: self, Source: client.VideoSource{Kind: client.SourceFileUpload}})
			return err
		}, "chunk plan"},
		{"file upload with a wrong plan", func() error {
			bad := client.ChunkPlan{VideoSize: 50_000_123, ChunkSize: 10_000_000, TotalChunkCount: 6}
			_, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: self, Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: bad}})
			return err
		}, "not 6"},
		{"pull from http", func() error {
			_, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "http://cdn.example/v.mp4"}})
			return err
		}, "https"},
		{"pull from an IP address", func() error {
			_, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://10.0.0.1/v.mp4"}})
			return err
		}, "IP address"},
		{"pull with a plan", func() error {
			_, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://cdn.example/v.mp4", Plan: plan}})
			return err
		}, "no chunk plan"},
		{"36 photos", func() error {
			_, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeDirect, PostInfo: client.PhotoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Images: images(36)})
			return err
		}, "36 images"},
		{"no photo", func() error {
			_, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeDirect, PostInfo: client.PhotoPostInfo{PrivacyLevel: client.PrivacySelfOnly}})
			return err
		}, "0 images"},
		{"cover index out of range", func() error {
			_, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeDirect, PostInfo: client.PhotoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Images: images(3), CoverIndex: 3})
			return err
		}, "cover index 3"},
		{"photo title over 90", func() error {
			_, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeDirect, PostInfo: client.PhotoPostInfo{Title: strings.Repeat("😀", 46), PrivacyLevel: client.PrivacySelfOnly}, Images: images(1)})
			return err
		}, "title is 92"},
		{"photo description over 4000", func() error {
			_, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeMediaUpload, PostInfo: client.PhotoPostInfo{Description: strings.Repeat("a", 4001)}, Images: images(1)})
			return err
		}, "description is 4001"},
		{"media upload with a privacy level", func() error {
			_, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeMediaUpload, PostInfo: client.PhotoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Images: images(1)})
			return err
		}, "DIRECT_POST only"},
		{"unknown post mode", func() error {
			_, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: "DIRECT POST", Images: images(1)})
			return err
		}, "post mode"},
		{"bad publish id", func() error { return uc.CancelPublish(ctx, "") }, "invalid publish id"},
		{"bad publish id for status", func() error {
			_, err := uc.PublishStatus(ctx, "a b")
			return err
		}, "invalid publish id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, client.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	counters := emu.Counters()
	for e, n := range counters.Calls {
		assert.Zero(t, n, "%s: nothing was sent", e)
	}

	t.Run("missing scopes", func(t *testing.T) {
		listOnly := mediaUser(t, emu, c, mediaAlice, client.ScopeVideoList)
		_, err := listOnly.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: self, Source: file})
		assert.ErrorIs(t, err, client.ErrMissingScope)
		_, err = listOnly.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: file})
		assert.ErrorIs(t, err, client.ErrMissingScope)
		_, err = listOnly.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeMediaUpload, Images: images(1)})
		assert.ErrorIs(t, err, client.ErrMissingScope)
		_, err = listOnly.PublishStatus(ctx, "v_pub_file~v2-1.1")
		var mse *client.MissingScopeError
		require.ErrorAs(t, err, &mse)
		assert.Contains(t, mse.Scope, client.ScopeVideoUpload)
	})
}

func TestInboxAndPhotos(t *testing.T) {
	emu, c := mediaEmu(t)
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedURLPrefixes: []string{"https://img.example/posts/"}})
	uc := mediaUser(t, emu, c, mediaAlice)
	ctx := context.Background()

	plan, _ := client.PlanChunks(20_000_000, 0)
	res, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(res.PublishID, "v_inbox_file~"), res.PublishID)
	assert.NotEmpty(t, res.UploadURL)

	images := []string{"https://img.example/posts/1.jpg", "https://img.example/posts/2.webp"}
	direct, err := uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeDirect, Images: images, CoverIndex: 1,
		PostInfo: client.PhotoPostInfo{Title: "Two photos", Description: "A longer text #photo", PrivacyLevel: client.PrivacyPublicToEveryone, AutoAddMusic: true}})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(direct.PublishID, "p_pub_url~"), direct.PublishID)

	_, err = uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeDirect, Images: []string{"https://img.example/other/1.jpg"},
		PostInfo: client.PhotoPostInfo{PrivacyLevel: client.PrivacySelfOnly}})
	assert.ErrorIs(t, err, client.ErrURLOwnershipUnverified)

	// Inbox shares: five may wait per user and day (one so far).
	for range 3 {
		_, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
		require.NoError(t, err)
	}
	_, err = uc.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeMediaUpload, Images: images, PostInfo: client.PhotoPostInfo{Title: "draft"}})
	require.NoError(t, err)
	_, err = uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
	assert.ErrorIs(t, err, client.ErrTooManyPendingShares)
	assert.ErrorIs(t, err, client.ErrSpamRisk)
}

func TestPublishStatusAndWait(t *testing.T) {
	emu, c := mediaEmu(t)
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"verified.example"}, ProcessingPolls: 2})
	uc := mediaUser(t, emu, c, mediaAlice)
	ctx := context.Background()
	pull := client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://verified.example/v.mp4"}

	res, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacyPublicToEveryone}, Source: pull})
	require.NoError(t, err)
	var waits []time.Duration
	var seen []client.PublishState
	st, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{
		Interval: time.Second, // raised to the 2s minimum
		OnStatus: func(s *client.PublishStatus) { seen = append(seen, s.Status) },
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return ctx.Err()
		},
	})
	require.NoError(t, err)
	assert.Equal(t, client.PublishComplete, st.Status)
	assert.Equal(t, res.PublishID, st.PublishID)
	assert.Equal(t, []client.PublishState{client.PublishProcessingDownload, client.PublishProcessingDownload, client.PublishComplete}, seen)
	assert.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second}, waits)
	require.Len(t, st.PublicPostIDs, 1)
	assert.Greater(t, st.PublicPostIDs[0], int64(1<<53), "post IDs above 2^53 survive decoding")
	assert.Positive(t, st.DownloadedBytes)
	assert.True(t, st.Final())

	t.Run("inbox ends at SEND_TO_USER_INBOX", func(t *testing.T) {
		res, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: pull})
		require.NoError(t, err)
		st, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{Sleep: func(context.Context, time.Duration) error { return nil }})
		require.NoError(t, err)
		assert.Equal(t, client.PublishSendToUserInbox, st.Status)

		// UntilPublished waits on, until the context ends.
		cctx, cancel := context.WithCancel(ctx)
		polls := 0
		st, err = uc.WaitForPublish(cctx, res.PublishID, client.WaitOptions{UntilPublished: true,
			Sleep: func(ctx context.Context, _ time.Duration) error {
				if polls++; polls == 3 {
					cancel()
				}
				return ctx.Err()
			}})
		assert.ErrorIs(t, err, context.Canceled)
		require.NotNil(t, st)
		assert.Equal(t, client.PublishSendToUserInbox, st.Status)
	})
	t.Run("failed publish", func(t *testing.T) {
		res, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Source: pull})
		require.NoError(t, err)
		require.True(t, emu.FailPublish(res.PublishID, "video_pull_failed"))
		st, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{})
		var fe *client.PublishFailedError
		require.ErrorAs(t, err, &fe)
		assert.ErrorIs(t, err, client.ErrPublishFailed)
		assert.Equal(t, "video_pull_failed", fe.Reason)
		assert.True(t, fe.Retryable())
		assert.Equal(t, client.PublishFailed, st.Status)
	})
	t.Run("cancel", func(t *testing.T) {
		res, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Source: pull})
		require.NoError(t, err)
		require.NoError(t, uc.CancelPublish(ctx, res.PublishID))
		st, err := uc.PublishStatus(ctx, res.PublishID)
		require.NoError(t, err)
		assert.Equal(t, client.PublishFailed, st.Status)
		assert.Equal(t, "publish_cancelled", st.FailReason)
		assert.ErrorIs(t, uc.CancelPublish(ctx, res.PublishID), client.ErrPublishNotCancellable)
	})
	t.Run("unknown and foreign publish IDs", func(t *testing.T) {
		_, err := uc.PublishStatus(ctx, "v_pub_url~v2.123")
		assert.ErrorIs(t, err, client.ErrInvalidPublishID)
		bob := mediaUser(t, emu, c, mediaBob)
		_, err = bob.PublishStatus(ctx, res.PublishID)
		assert.ErrorIs(t, err, client.ErrPublishNotAuthorized)
		assert.ErrorIs(t, bob.CancelPublish(ctx, res.PublishID), client.ErrPublishNotAuthorized)
	})
	t.Run("status is repeatable", func(t *testing.T) {
		emu.ResetCounters()
		emu.InjectFault(tiktoktest.EndpointPublishStatus, tiktoktest.Fault{Status: 502, Times: 1})
		_, err := uc.PublishStatus(ctx, res.PublishID)
		require.NoError(t, err)
		assert.Equal(t, 2, emu.Calls(tiktoktest.EndpointPublishStatus))
	})
	t.Run("wait ends with a status error", func(t *testing.T) {
		emu.InjectFault(tiktoktest.EndpointPublishStatus, tiktoktest.Fault{ErrorCode: "access_token_invalid", Status: 401, Times: 1})
		_, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{})
		assert.ErrorIs(t, err, client.ErrAccessTokenInvalid)
	})
	t.Run("context ends during the wait", func(t *testing.T) {
		res, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: pull})
		require.NoError(t, err)
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		// The real timer-based wait: 2s would pass the deadline, so the
		// context error comes back after the first poll.
		_, err = uc.WaitForPublish(cctx, res.PublishID, client.WaitOptions{})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// TestPublishStatusDecoding: post IDs as strings, the corrected member
// name, and an answer without a status.
func TestPublishStatusDecoding(t *testing.T) {
	tests := []struct {
		body    string
		want    []int64
		wantErr bool
	}{
		{`{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7300000000000000123]},"error":{"code":"ok"}}`, []int64{7300000000000000123}, false},
		{`{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":["7300000000000000124"]},"error":{"code":"ok"}}`, []int64{7300000000000000124}, false},
		{`{"data":{"status":"PUBLISH_COMPLETE","publicly_available_post_id":[5]},"error":{"code":"ok"}}`, []int64{5}, false},
		{`{"data":{"status":"PROCESSING_UPLOAD","uploaded_bytes":10},"error":{"code":"ok"}}`, nil, false},
		{`{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[1.5]},"error":{"code":"ok"}}`, nil, true},
		{`{"data":{},"error":{"code":"ok"}}`, nil, true},
	}
	for _, tt := range tests {
		c, _ := cannedServer(t, http.StatusOK, tt.body)
		st, err := c.WithToken(&client.Token{AccessToken: "act.x"}).PublishStatus(context.Background(), "v_pub_url~v2.1")
		if tt.wantErr {
			var re *client.ResponseError
			assert.True(t, errors.As(err, &re), "%s: %v", tt.body, err)
			continue
		}
		require.NoError(t, err, tt.body)
		assert.Equal(t, tt.want, st.PublicPostIDs, tt.body)
	}
}

func TestPostingRateLimit(t *testing.T) {
	emu, c := mediaEmu(t)
	emu.SetMediaConfig(tiktoktest.MediaConfig{MaxPendingShares: -1})
	emu.SetQuotaRetryAfter(true) // TikTok's 6 inits a minute per token, with the wait
	uc := mediaUser(t, emu, c, mediaAlice)
	plan, _ := client.PlanChunks(1000, 0)
	for range 6 {
		_, err := uc.UploadVideoToInbox(context.Background(), client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
		require.NoError(t, err)
	}
	_, err := uc.UploadVideoToInbox(context.Background(), client.InboxUploadRequest{Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}})
	require.ErrorIs(t, err, client.ErrRateLimited)
	var ae *client.APIError
	require.ErrorAs(t, err, &ae)
	assert.Positive(t, ae.RetryAfter)
	assert.Equal(t, 7, emu.Calls(tiktoktest.EndpointInboxInit), "a 429 on a posting call is not retried")
}
