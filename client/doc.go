// Package client is a Go client for TikTok's Open API v2: Login Kit for Web
// (the OAuth authorize URL with TikTok's hex PKCE, code exchange, refresh,
// revoke, client credentials), the user-bound API calls (user info, creator
// info, and a raw call for any other endpoint), the Display API's video
// list and query, and the Content Posting API with its chunked uploader.
//
// A Client is made once per app with New and is immutable and safe for
// concurrent use. A UserClient binds it to one user's Token for API calls:
//
//	c, err := client.New(client.Config{
//		ClientKey:    os.Getenv("TIKTOK_CLIENT_KEY"),
//		ClientSecret: os.Getenv("TIKTOK_CLIENT_SECRET"),
//		RedirectURL:  "https://example.com/auth/tiktok/callback",
//		Scopes:       []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//
//	// Login: keep state and verifier on the server (for example in the session).
//	state, verifier := client.GenerateState(), client.GenerateVerifier()
//	http.Redirect(w, r, c.AuthCodeURL(state, client.WithPKCE(verifier)), http.StatusFound)
//
//	// Callback: check state, then swap the code for the user's token.
//	tok, err := c.Exchange(ctx, r.URL.Query().Get("code"), client.WithVerifier(verifier))
//
//	// API calls with the user's token.
//	info, err := c.WithToken(tok).UserInfo(ctx, client.FieldDisplayName)
//
// # Errors
//
// TikTok answers errors in two shapes, and sometimes with HTTP 200; the
// client decides by the body. The token and revoke endpoints' flat
// {error, error_description, log_id} becomes an *OAuthError; the API
// envelope {data, error:{code, message, log_id}} with a code other than "ok"
// becomes an *APIError; a body that is neither (HTML, truncated, too large,
// empty) becomes a *ResponseError. Branch with errors.Is on the sentinels
// (ErrAccessTokenInvalid, ErrInvalidGrant, ErrRateLimited, ...) and use
// IsTemporary to decide whether to try again later. Arguments that cannot be
// right are refused before any request with ErrInvalidInput or a
// *MissingScopeError.
//
// # Retries and refresh
//
// Calls that are safe to repeat (user info, creator info, the client token,
// Do with Request.Repeatable) are retried on 429 (honouring Retry-After up to
// RetryPolicy.MaxDelay), 5xx and connection errors, with exponential backoff
// and full jitter. A code exchange is never retried; a refresh or revoke only
// when the connection could not be made, because TikTok may rotate refresh
// tokens and a repeated refresh could log the user out. Context cancellation
// always wins. A UserClient made with ForUser and a Refresher (package
// tokenstore's Source) asks for a forced refresh once when TikTok refuses a
// token as access_token_invalid, then repeats the call.
//
// # Display API: the user's videos
//
// With the video.list scope, VideoList fetches one page of the user's
// public videos, newest first (POST /v2/video/list/). VideoListOptions
// selects the fields (default: all 15 of AllVideoFields), the page size
// (MaxCount 1 to 20, default 20 where TikTok's own default is 10) and the
// Cursor: 0 for the newest videos, the previous page's Cursor for the next
// page, or a UTC Unix time in milliseconds for the videos posted before it.
// Keep paging while VideoPage.HasMore is true; a page may hold fewer videos
// than asked for even then.
//
// Videos does the paging: it returns an iter.Seq2 that fetches a page only
// when the loop needs it, stops fetching when the loop breaks, and on an
// error yields (Video{}, err) once and ends. An answer that says there is
// more but hands back the same cursor also ends it with an error, rather
// than paging forever.
//
//	uc := c.WithToken(tok) // a token granted video.list
//	for v, err := range uc.Videos(ctx, client.VideoListOptions{
//		Fields: []client.VideoField{client.VideoFieldID, client.VideoFieldTitle, client.VideoFieldCoverImageURL},
//	}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(v.ID, v.Title, v.Created())
//	}
//
// QueryVideos fetches videos by ID (POST /v2/video/query/), typically to
// refresh cover_image_url, which TikTok's CDN expires after about six
// hours: keep the IDs, not the URLs. It takes any number of IDs and sends
// them in batches of MaxVideoQueryIDs (20), one request each; the result
// follows the order of the IDs asked for, with a repeated ID once, and an ID
// TikTok does not return (not found, or not the user's) simply absent.
// The id field is always requested, whatever fields are asked for. An error
// in any batch fails the whole call.
//
//	fresh, err := uc.QueryVideos(ctx, ids, client.VideoFieldCoverImageURL)
//
// Before any request both refuse a field TikTok does not know, an empty ID
// or a MaxCount out of range (ErrInvalidInput), and a token whose recorded
// scopes lack video.list (*MissingScopeError). Reading has no side effect,
// so both are retried on 429, 5xx and connection errors and refreshed once
// on access_token_invalid, like UserInfo. Video.Raw keeps each video object
// as received, for fields TikTok adds later.
//
// # Content Posting
//
// Posting starts with an init call that returns a PostInit: the PublishID
// that names the post from then on, and for FILE_UPLOAD an UploadURL,
// valid for one hour, to send the file to (see Uploading below).
//
//   - DirectPostVideo (POST /v2/post/publish/video/init/, scope
//     video.publish) posts a video straight to the profile with a
//     VideoPostInfo: caption, privacy level, interaction and branding
//     settings.
//   - UploadVideoToInbox (POST /v2/post/publish/inbox/video/init/, scope
//     video.upload) sends a video to the user's TikTok inbox, where they
//     finish the post themselves; TikTok allows 5 such pending shares per
//     user per 24 hours.
//   - PostPhotos (POST /v2/post/publish/content/init/) posts 1 to 35
//     images that TikTok pulls from https URLs under the app's verified
//     domains, as PostModeDirect (video.publish) or PostModeMediaUpload
//     (video.upload, to the inbox).
//
// A video's VideoSource is SourceFileUpload with a ChunkPlan (see
// PlanChunks) or SourcePullFromURL with an https URL under a domain or URL
// prefix verified for the app. Titles and descriptions are counted in
// UTF-16 code units, as TikTok counts them (MaxVideoTitleLen 2200,
// MaxPhotoTitleLen 90, MaxPhotoDescriptionLen 4000).
//
// The privacy level must be one of the creator's current
// CreatorInfo.PrivacyLevelOptions; an unaudited app is often offered only
// SELF_ONLY. TikTok asks apps to fetch creator info fresh when they show the
// posting screen. Pass the CreatorInfo you fetched for that screen as
// DirectPostRequest.Creator, or PhotoPostRequest.Creator for a direct photo
// post (or set FetchCreator to have the call fetch it, one more request),
// and a level outside the options is refused before any request with a
// *PrivacyLevelError, which matches ErrPrivacyLevelMismatch as TikTok's own
// privacy_level_option_mismatch refusal does. Other arguments that cannot be
// right (unknown privacy level, text too long, a bad plan or URL, photo
// settings that apply to DIRECT_POST only on a MEDIA_UPLOAD) are refused
// with ErrInvalidInput, and a token without the scope with a
// *MissingScopeError.
//
// An init call is never retried and never refreshed on
// access_token_invalid, since repeating it could post twice: on a temporary
// failure (IsTemporary) decide yourself whether to post again.
//
// PublishStatus (POST /v2/post/publish/status/fetch/, scope video.publish
// or video.upload) reads a post's state: PROCESSING_UPLOAD,
// PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE or FAILED with
// a FailReason, the bytes transferred, and the public post IDs once a
// public post passed moderation. It has no side effect and is retried like
// VideoList. WaitForPublish polls it until the state is final:
// PUBLISH_COMPLETE, FAILED (returned with a *PublishFailedError matching
// ErrPublishFailed; its Retryable says whether posting again may help), or
// SEND_TO_USER_INBOX unless WaitOptions.UntilPublished. The first fetch is
// immediate, the next ones WaitOptions.Interval apart, never less than
// MinPublishPollInterval (2s), since TikTok allows 30 status fetches per
// minute per token; WaitOptions.OnStatus sees every status and
// WaitOptions.Sleep replaces the timer in tests. Bound the wait with ctx.
// CancelPublish (POST /v2/post/publish/cancel/) asks TikTok, best effort,
// to stop a publish in progress; it is not retried.
//
//	creator, err := uc.CreatorInfo(ctx) // shown on the posting screen
//	// ... the user picks a privacy level among creator.PrivacyLevelOptions
//	plan, err := client.PlanChunks(size, 0)
//	res, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{
//		PostInfo: client.VideoPostInfo{Title: "Hello #golang", PrivacyLevel: level},
//		Source:   client.VideoSource{Kind: client.SourceFileUpload, Plan: plan},
//		Creator:  creator,
//	})
//	err = c.Upload(ctx, res.UploadURL, file, size, plan, client.UploadOptions{})
//	st, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{})
//
// TikTok's posting refusals come back as *APIError, and each code has a
// sentinel for errors.Is: ErrSpamRisk (any spam_risk code) with the finer
// ErrTooManyPosts, ErrBannedFromPosting and ErrTooManyPendingShares;
// ErrActiveUserCap, ErrPrivacyLevelMismatch, ErrUnauditedClient,
// ErrURLOwnershipUnverified, ErrInvalidFileUpload, ErrAppVersionCheckFailed;
// and for status and cancel ErrInvalidPublishID, ErrPublishNotAuthorized and
// ErrPublishNotCancellable. TikTok sends some of these codes with HTTP 200
// (creator info's spam codes, for one); the client goes by the body, so
// such an answer is an *APIError like any other, and the sentinel matches
// whatever the status. None of them is temporary: retrying a spam or cap
// refusal at once does not help.
//
// # Uploading
//
// A FILE_UPLOAD video is cut into chunks by a ChunkPlan, whose three numbers
// are sent at init (video_size, chunk_size, total_chunk_count) and which
// the upload must then follow. PlanChunks(size, chunk) applies the rules of
// TikTok's Media Transfer Guide:
//
//   - every chunk is at least 5 MB and at most 64 MB, except the last,
//     which takes the leftover bytes and may reach 128 MB;
//   - total_chunk_count = floor(video_size / chunk_size), 1 to 1000, and the
//     chunks go in order, one after the other;
//   - a file under 5 MB goes up whole (chunk_size = video_size, one chunk);
//     a file over 64 MB must be chunked; in between, whole or chunked;
//   - a plan of one chunk has chunk_size = video_size.
//
// TikTok does not say whether MB means 10^6 or 2^20 bytes, so the planner
// keeps to what both readings allow: MinChunkSize is 5 MiB (5,242,880),
// MaxChunkSize 64,000,000 and MaxLastChunkSize 128,000,000 bytes. A chunk
// size of 0 sends a file of up to 64,000,000 bytes whole and cuts a larger
// one into DefaultChunkSize (64,000,000-byte) chunks, or into two halves
// when it is under two of those. A plan TikTok would refuse is refused with
// ErrInvalidInput and a message that says what would work; ChunkPlan.Chunk
// gives each chunk's byte range and Validate checks a plan made by hand.
//
// Client.Upload sends the file, from an io.ReaderAt such as an *os.File,
// to the init's UploadURL: one PUT per chunk, in order, with Content-Type
// (UploadOptions.ContentType: video/mp4, the default, video/quicktime or
// video/webm), Content-Length and Content-Range "bytes first-last/total".
// 206 means "next chunk", 201 "all received". The URL is used exactly as
// TikTok gave it and no bearer token is sent (it is not an API call). The
// default HTTP client reuses Config.HTTPClient's transport without its
// overall timeout, since one 64 MB chunk can take long on a slow link, and
// follows no redirect; bound the upload with ctx, which stops it at once.
//
// A chunk is sent again after a 5xx, a 429 or a dropped connection, up to
// UploadOptions.MaxChunkRetries times (default DefaultMaxChunkRetries, 3;
// negative for none), with the backoff and jitter of Config.Retry and
// Retry-After honoured up to RetryPolicy.MaxDelay. A 416 answer carries the
// server's progress in its Content-Range, and the upload goes on from
// there: a chunk whose 206 was lost on the way is kept once, and the retry
// that learns so is not counted as a failure. An error reading the
// source is never retried (a file shorter than size gives
// io.ErrUnexpectedEOF). UploadOptions.Progress sees the bytes TikTok holds
// after every acknowledged chunk. A refusal is an *UploadError with the
// chunk, offset, status and the start of the answer: ErrUploadExpired for
// 403 (the URL's hour is over: init again), ErrUploadNotFound for 404,
// ErrServer and ErrRateLimited once the retries are spent.
//
// Memory: Upload streams each chunk from the io.ReaderAt with an
// io.SectionReader and holds none of the file. UploadReader takes an
// io.Reader of known size instead, such as a request body being relayed;
// since a reader cannot be rewound, it keeps the current chunk in one
// buffer, filled while the chunk is being sent, so that the chunk can be
// sent again. That buffer is as large as the largest chunk, the last one,
// which is under twice ChunkSize (up to about 128 MB with the default chunk
// size): pass a smaller chunk size to PlanChunks to bound it. If the server
// asks for bytes before the kept chunk, UploadReader fails instead.
//
// # Secrets
//
// Token, ClientToken, Config, Client and UserClient redact secrets in every
// fmt verb and in log/slog output. The JSON form of Token is its storage form
// and does carry the secrets: store it encrypted (see package tokenstore).
//
// # golang.org/x/oauth2
//
// The package does not depend on golang.org/x/oauth2: TikTok's client_key
// parameter, comma-separated scopes, hex PKCE challenge, error bodies with
// HTTP 200 and strictly rotating refresh tokens need handling that
// oauth2.Config does not offer. Converting is a few lines: AccessToken,
// RefreshToken, TokenType and Expiry map one to one onto *oauth2.Token, and
// UserClient.HTTPClient plays the part of oauth2.Config.Client.
//
// Package client/tiktoktest is an in-process TikTok emulator for tests.
package client
