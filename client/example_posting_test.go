package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// exampleUser binds c to a token the emulator issues for the user, so the
// examples skip the browser part of the login.
func exampleUser(emu *tiktoktest.Server, c *client.Client, openID string, scopes ...string) *client.UserClient {
	tr, err := emu.IssueToken(openID, scopes...)
	if err != nil {
		log.Fatal(err)
	}
	return c.WithToken(&client.Token{AccessToken: tr.AccessToken, OpenID: tr.OpenID, Scopes: client.ParseScopes(tr.Scope)})
}

// One page at a time, passing each page's cursor back for the next one.
// Videos does the same as an iterator.
func ExampleUserClient_VideoList() {
	emu, c := exampleEmulator()
	defer emu.Close()
	alice := tiktoktest.DefaultUsers()[0] // 37 public videos
	uc := exampleUser(emu, c, alice.OpenID, client.ScopeVideoList)
	ctx := context.Background()

	opts := client.VideoListOptions{
		Fields:   []client.VideoField{client.VideoFieldID, client.VideoFieldCreateTime},
		MaxCount: 15,
	}
	for {
		page, err := uc.VideoList(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(page.Videos), "videos, more:", page.HasMore)
		if !page.HasMore {
			break
		}
		opts.Cursor = page.Cursor
	}

	// The cursor may also be a time: the videos posted before it.
	page, err := uc.VideoList(ctx, client.VideoListOptions{
		Fields:   []client.VideoField{client.VideoFieldCreateTime},
		Cursor:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		MaxCount: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Videos[0].Created().Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))

	// Refused before any request: TikTok's pages hold at most 20 videos.
	_, err = uc.VideoList(ctx, client.VideoListOptions{MaxCount: 50})
	fmt.Println(errors.Is(err, client.ErrInvalidInput))
	// Output:
	// 15 videos, more: true
	// 15 videos, more: true
	// 7 videos, more: false
	// true
	// true
}

// Refresh the covers of stored videos: their cover_image_url expires after
// about six hours, so keep the IDs and ask again when showing them.
func ExampleUserClient_QueryVideos() {
	emu, c := exampleEmulator()
	defer emu.Close()
	alice := tiktoktest.DefaultUsers()[0]
	uc := exampleUser(emu, c, alice.OpenID, client.ScopeVideoList)

	// Any number of IDs: 20 per request, the result in the order asked,
	// an ID that is not the user's simply absent.
	var ids []string
	for _, v := range emu.Videos(alice.OpenID)[:25] {
		ids = append(ids, v.ID)
	}
	ids = append([]string{ids[24], "7000000000000000001"}, ids...)

	videos, err := uc.QueryVideos(context.Background(), ids, client.VideoFieldCoverImageURL)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(videos), "videos in", emu.Calls(tiktoktest.EndpointVideoQuery), "requests")
	fmt.Println(videos[0].ID == ids[0], videos[1].ID == ids[2])
	fmt.Println(videos[0].CoverImageURL != "", videos[0].Title == "") // only the fields asked for, and id
	// Output:
	// 25 videos in 2 requests
	// true true
	// true true
}

// Post a video that TikTok pulls from the app's verified domain, checking
// the privacy level against the creator's options first, then wait for
// TikTok to publish it.
func ExampleUserClient_DirectPostVideo() {
	emu, c := exampleEmulator()
	defer emu.Close()
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"media.example.com"}})
	carol := tiktoktest.DefaultUsers()[2] // may post with SELF_ONLY only
	uc := exampleUser(emu, c, carol.OpenID, client.ScopeVideoPublish)
	ctx := context.Background()

	// The posting screen shows the creator's current options.
	creator, err := uc.CreatorInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	req := client.DirectPostRequest{
		PostInfo: client.VideoPostInfo{Title: "Sunday market haul #food", PrivacyLevel: client.PrivacyPublicToEveryone},
		Source:   client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://media.example.com/v/42.mp4"},
		Creator:  creator,
	}
	_, err = uc.DirectPostVideo(ctx, req)
	fmt.Println(err)
	fmt.Println(errors.Is(err, client.ErrPrivacyLevelMismatch), emu.Calls(tiktoktest.EndpointVideoInit))

	req.PostInfo.PrivacyLevel = client.PrivacySelfOnly
	res, err := uc.DirectPostVideo(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	st, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{
		OnStatus: func(st *client.PublishStatus) { fmt.Println("status:", st.Status) },
		// Tests skip the waits; by default it sleeps 2s between fetches.
		Sleep: func(ctx context.Context, d time.Duration) error { fmt.Println("wait", d); return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Status, st.DownloadedBytes > 0)
	// Output:
	// client: privacy level "PUBLIC_TO_EVERYONE" is not among the creator's options: SELF_ONLY
	// true 0
	// status: PROCESSING_DOWNLOAD
	// wait 2s
	// status: PUBLISH_COMPLETE
	// PUBLISH_COMPLETE true
}

// TikTok's posting refusals match sentinels, whatever the HTTP status:
// TikTok sends some of them with 200. Neither they nor a failed publish
// are worth retrying at once.
func ExampleUserClient_DirectPostVideo_refusals() {
	emu, c := exampleEmulator()
	defer emu.Close()
	alice := tiktoktest.DefaultUsers()[0]
	uc := exampleUser(emu, c, alice.OpenID, client.ScopeVideoPublish)
	ctx := context.Background()
	plan, _ := client.PlanChunks(1_000_000, 0)
	req := client.DirectPostRequest{
		PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
		Source:   client.VideoSource{Kind: client.SourceFileUpload, Plan: plan},
	}

	// The daily post cap, answered with HTTP 200 and an error code.
	emu.InjectFault(tiktoktest.EndpointVideoInit, tiktoktest.Fault{ErrorCode: "spam_risk_too_many_posts", Times: 1})
	_, err := uc.DirectPostVideo(ctx, req)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
	}
	fmt.Println(errors.Is(err, client.ErrTooManyPosts), errors.Is(err, client.ErrSpamRisk), client.IsTemporary(err))

	// A publish that TikTok's checks fail.
	res, err := uc.DirectPostVideo(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	emu.FailPublish(res.PublishID, "file_format_check_failed")
	_, err = uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{})
	var failed *client.PublishFailedError
	if errors.As(err, &failed) {
		fmt.Println(errors.Is(err, client.ErrPublishFailed), failed.Reason, failed.Retryable())
	}

	// It is over, so it cannot be cancelled.
	err = uc.CancelPublish(ctx, res.PublishID)
	fmt.Println(errors.Is(err, client.ErrPublishNotCancellable))
	// Output:
	// 200 spam_risk_too_many_posts
	// true true false
	// true file_format_check_failed false
	// true
}

// Relay a video from an io.Reader (an HTTP request body, a pipe) without
// storing it: UploadReader keeps only the chunk being sent. Here the upload
// host keeps the first chunk but its answer is lost; the retry learns the
// progress from a 416 answer and goes on with the second chunk.
func ExampleClient_UploadReader() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	c, err := client.New(client.Config{
		ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL(),
		Retry: client.RetryPolicy{BaseDelay: time.Millisecond}, // quick retries for the example
	})
	if err != nil {
		log.Fatal(err)
	}
	uc := exampleUser(emu, c, tiktoktest.DefaultUsers()[0].OpenID, client.ScopeVideoUpload)
	ctx := context.Background()

	data := strings.Repeat("0123456789", 1_200_000) // 12,000,000 bytes
	plan, err := client.PlanChunks(int64(len(data)), client.MinChunkSize)
	if err != nil {
		log.Fatal(err)
	}
	res, err := uc.UploadVideoToInbox(ctx, client.InboxUploadRequest{
		Source: client.VideoSource{Kind: client.SourceFileUpload, Plan: plan},
	})
	if err != nil {
		log.Fatal(err)
	}

	emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 0, LoseResponse: true, Times: 1})
	body := io.MultiReader(strings.NewReader(data)) // an io.Reader and nothing more
	err = c.UploadReader(ctx, res.UploadURL, body, plan.VideoSize, plan, client.UploadOptions{
		Progress: func(sent, total int64) { fmt.Printf("%d of %d bytes\n", sent, total) },
	})
	if err != nil {
		log.Fatal(err)
	}

	info, _ := emu.Publish(res.PublishID)
	sum := sha256.Sum256([]byte(data))
	fmt.Println("PUTs:", info.Upload.Requests, "refused:", info.Upload.Refused, "chunks kept:", info.Upload.ChunksReceived)
	fmt.Println("same bytes:", info.Upload.SHA256 == hex.EncodeToString(sum[:]))

	// An inbox upload ends in the user's inbox.
	st, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Status)
	// Output:
	// 5242880 of 12000000 bytes
	// 12000000 of 12000000 bytes
	// PUTs: 3 refused: 1 chunks kept: 2
	// same bytes: true
	// SEND_TO_USER_INBOX
}

// What a chunk size of 0 picks, and what TikTok's limits refuse.
func ExamplePlanChunks_defaults() {
	for _, size := range []int64{3_000_000, 60_000_000, 100_000_000, 1 << 30} {
		p, err := client.PlanChunks(size, 0)
		if err != nil {
			log.Fatal(err)
		}
		_, last := p.Chunk(p.TotalChunkCount - 1)
		fmt.Printf("video_size=%d total_chunk_count=%d chunk_size=%d last=%d\n", size, p.TotalChunkCount, p.ChunkSize, last)
	}

	// Chunks of 5 MiB would make more than 1000 of them.
	_, err := client.PlanChunks(10_000_000_000, client.MinChunkSize)
	fmt.Println(err)
	// Output:
	// video_size=3000000 total_chunk_count=1 chunk_size=3000000 last=3000000
	// video_size=60000000 total_chunk_count=1 chunk_size=60000000 last=60000000
	// video_size=100000000 total_chunk_count=2 chunk_size=50000000 last=50000000
	// video_size=1073741824 total_chunk_count=16 chunk_size=64000000 last=113741824
	// client: invalid input: chunk plan: 10000000000 bytes in chunks of 5242880 make 1907 chunks, more than 1000; use chunks of at least 9990010 bytes
}
