// Package tiktoktest is an in-process TikTok for tests, in the spirit of
// net/http/httptest: an HTTP server that plays TikTok's Login Kit and Open
// API (authorize page, token, revoke, user info, creator info, the Display
// API's video list and query, the Content Posting API and its upload host)
// as strictly as TikTok does, with fake users and videos, fault injection
// and counters. It has no
// dependency on the rest of tiktokkit, so any TikTok client can be tested
// against it; the command tiktokemu (./cmd/tiktokemu) runs it as a
// standalone server for apps not written in Go.
//
//	emu := tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true})
//	defer emu.Close()
//	// Point the client at emu.AuthURL() and emu.APIURL(), with
//	// emu.ClientKey() and emu.ClientSecret(). Or skip the browser:
//	tok, _ := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic")
//	req, _ := http.NewRequest("GET", emu.URL+"/v2/user/info/?fields=open_id,display_name", nil)
//	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
//
// # What it checks
//
// GET /v2/auth/authorize/ needs client_key (not client_id), response_type=code,
// a redirect_uri registered in Config.RedirectURIs (exact match; with none
// registered, any absolute http(s) URI without fragment), a comma-separated
// scope of known scopes the app may request, and optionally state (echoed),
// code_challenge with code_challenge_method=S256 (64 lowercase hex characters
// of SHA-256, TikTok's form; RFC 7636 base64url only with
// Config.AcceptBase64URLChallenge; required with PKCERequired) and
// disable_auto_auth (0 or 1). Each parameter may appear once. Any problem
// shows TikTok's "We couldn't log in with TikTok" page (HTTP 400) naming the
// parameters at fault; it never redirects to an unchecked URI. A valid
// request shows a consent page naming Config.AppName (user picker, scope
// checkboxes, Approve and Deny), or with Config.AutoApprove redirects at
// once. Approve redirects to
// redirect_uri?code=...&scopes=...&state=...; Deny to
// redirect_uri?error=access_denied&error_description=...&state=... . Codes
// contain '*' and '!' like TikTok's, are single use and expire after
// Config.CodeTTL. The consent form posts back to the same path
// (application/x-www-form-urlencoded) with nonce (single use, from the
// page), action=approve or action=deny, open_id (default: the preselected
// user) and, when scope_choice=1, one scope field per granted scope
// (user.info.basic is always granted); without scope_choice every requested
// scope is granted.
//
// POST /v2/oauth/token/ takes only application/x-www-form-urlencoded bodies
// with client_key and client_secret in the body (401 invalid_client
// otherwise). grant_type=authorization_code needs an unused, unexpired code
// of this client and the byte-identical redirect_uri (400 invalid_grant,
// "Redirect_uri is not matched with the uri when requesting code."), and
// the code_verifier when a challenge was sent (400 invalid_request, "Code
// verifier or code challenge is invalid."). grant_type=refresh_token rotates
// strictly: each success returns a new refresh token and the old one dies
// at once; presenting it again is 400 invalid_grant and counts in
// RefreshTokenReuse. The refresh lifetime counts from the authorization.
// grant_type=client_credentials returns a clt. token valid 7200 seconds,
// without refresh token. Success bodies are TikTok's flat JSON; errors are
// flat {error, error_description, log_id}.
//
// POST /v2/oauth/revoke/ (form, client credentials, token=<access token>)
// answers {} and kills the whole grant: its access and refresh tokens.
//
// GET /v2/user/info/?fields=... and POST
// /v2/post/publish/creator_info/query/ need "Authorization: Bearer <access
// token>" (401 access_token_invalid when missing, unknown, expired, killed
// or revoked) and answer TikTok's envelope {"data":...,"error":{"code":"ok",
// "message":"","log_id":...}}. User info answers exactly the requested
// fields; no fields is 400 invalid_params "Fields is required, ...", an
// unknown field 400 invalid_params "Invalid field(s): x", a field whose
// scope the token lacks 401 scope_not_authorized. Creator info needs
// video.publish and accepts no body, an empty body or a JSON object, with
// any or no Content-Type.
//
// Paths are exact: without the trailing slash they answer 404, like any
// unknown path; a wrong method answers 405.
//
// # Videos
//
// POST /v2/video/list/?fields=... and POST /v2/video/query/?fields=...
// need a bearer token with video.list and a fields list of known video
// fields (400 invalid_params otherwise); every video carries exactly the
// fields asked for, in that order. A body, when there is one, must be a
// JSON object sent as application/json. The list takes an optional
// {"cursor":<Unix ms>,"max_count":<1..20>}: cursor 0 (the default) starts
// at the newest video, otherwise the page holds the videos created before
// it; max_count defaults to 10 as at TikTok. It answers
// {"videos":[...],"cursor":<create_time of the page's last video, in
// ms>,"has_more":...}. The query needs {"filters":{"video_ids":[...]}}
// with 1 to 20 IDs (400 invalid_params otherwise), leaves out IDs that are
// not the user's, and answers the videos newest first, not in the order
// asked. Each user starts with min(VideoCount, 50) generated videos, the
// same on every run (37 for the first default user, 4 for the second, none
// for the third), two to three days apart from 2026-01-01T00:00:00Z back;
// Videos reads them and SetVideos replaces them. A video without a
// CoverImageURL gets an SVG cover served by the emulator at
// /_emulator/cover?video_id=... on the host the request came to.
//
// # Posting
//
// POST /v2/post/publish/video/init/ (direct post, video.publish),
// /v2/post/publish/inbox/video/init/ (to the inbox, video.upload) and
// /v2/post/publish/content/init/ (photos; video.publish for DIRECT_POST,
// video.upload for MEDIA_UPLOAD) take a JSON body and answer
// {"publish_id":...}, plus an upload_url for FILE_UPLOAD. Malformed
// parameters answer 400 invalid_param (a missing post_info or source, a
// video title over 2200 or a photo title over 90 or description over 4000
// UTF-16 code units, a negative cover timestamp, 0 or more than 35 photos, a
// cover index out of range, a media_type other than PHOTO, an unknown
// post_mode); a FILE_UPLOAD plan that breaks the Media Transfer Guide's
// chunk rules answers 400 invalid_params "The chunk size is invalid: ...".
// Then come the account checks, with 403: for direct posts, a
// privacy_level not among the user's PrivacyLevelOptions
// (privacy_level_option_mismatch) and, with MediaConfig.Unaudited, any
// post for a public account
// (unaudited_client_can_only_post_to_private_accounts; the other direct
// posts of an unaudited app are forced to SELF_ONLY); for every post, a
// pulled URL outside MediaConfig's verified domains and prefixes
// (url_ownership_unverified, so set VerifiedDomains before posting
// PULL_FROM_URL), more than
// MediaConfig.MaxPendingShares inbox shares waiting in 24 hours
// (spam_risk_too_many_pending_share) and more than MaxPostsPerDay direct
// posts (spam_risk_too_many_posts). Each posting endpoint also keeps its
// quota (see Quotas).
//
// POST /v2/post/publish/status/fetch/ and POST /v2/post/publish/cancel/
// take {"publish_id":...} and a token with video.publish or video.upload;
// an unknown ID answers 400 invalid_publish_id, another user's 400
// token_not_authorized_for_specified_publish_id. A FILE_UPLOAD publish is
// PROCESSING_UPLOAD until its last chunk arrives, a pulled one
// PROCESSING_DOWNLOAD; once the media is in, MediaConfig.ProcessingPolls
// more fetches (default 1) still see it processing, then it is
// PUBLISH_COMPLETE (direct posts; a public one gets a
// publicaly_available_post_id, TikTok's spelling) or SEND_TO_USER_INBOX
// (inbox shares). Status answers carry uploaded_bytes or downloaded_bytes.
// Cancel turns a publish still processing into FAILED with fail_reason
// publish_cancelled and answers an empty data object; a final one answers
// 400 publish_not_cancellable. FailPublish ends a publish FAILED with any
// reason, as TikTok's own checks would. Publish and Publishes show what
// every publish got: kind, source, privacy level, status and the state of
// its upload.
//
// # Quotas
//
// The emulator keeps TikTok's published limits (DefaultQuotas): 600
// requests a minute for user info, video list and video query, counted per
// app; per access token, 20 a minute for creator info, 6 for each posting
// init and 30 for the publish status. Past a quota the endpoint answers
// HTTP 429 with TikTok's envelope,
// {"data":{},"error":{"code":"rate_limit_exceeded","message":...,"log_id":...}}.
// The window slides exactly: the emulator keeps the time of every request
// let through in the last window, on its own clock (Config.Clock,
// SetClock, AdvanceClock), and a slot frees exactly one window after the
// oldest of them. A request counts once its access token is accepted; a 401
// for the token, or an answer from an injected fault, uses no quota, and a
// refused request does not fill the window.
//
// TikTok does not say whether the 600 a minute count per app or per access
// token, so both can be had: Quota.PerToken. Nor does it document a
// Retry-After on its 429; the emulator sends none unless
// Config.QuotaRetryAfter (or SetQuotaRetryAfter) asks for the seconds until
// a slot frees. Config.Quotas overrides the defaults endpoint by endpoint,
// Config.NoQuotas starts without any (for benchmarks and tests that call an
// endpoint more often than TikTok allows), SetQuota changes one while the
// emulator runs, and ResetQuotas makes every quota whole again.
// RateLimited counts the 429s sent, and Counters.QuotaPeak holds the most
// requests that reached the check in any one window, refused ones
// included: a client that keeps TikTok's quotas never makes it pass the
// limit.
//
// # Uploads
//
// The upload_url of a FILE_UPLOAD init points at the emulator itself:
// PUT /upload/?upload_id=...&upload_token=..., the stand-in for TikTok's
// upload host, counted and faulted as EndpointUpload. Each PUT is one
// chunk of the plan sent at init, in order, with Content-Type video/mp4,
// video/quicktime or video/webm, a Content-Length and a Content-Range
// "bytes first-last/total" that match the plan's chunk exactly. It answers
// 206 for a chunk kept with more to come and 201 for the last one, with the
// progress in Content-Range "bytes 0-<last byte held>/<total>"; 400 for bad
// headers, a body shorter than Content-Length, or an Authorization header
// (no access token belongs on the upload host); 403 once the URL expired
// (MediaConfig.UploadURLTTL, default 1h); 404 for an unknown upload; and
// 416, with the progress ("bytes */<total>" before the first chunk), for a
// chunk that does not start where the upload stands or comes after it
// completed. The emulator never holds the file: it keeps a running SHA-256
// of the chunks it accepted, which UploadState reports with the counts of
// requests, bytes read, 416 refusals and discarded chunks.
//
// Fault (InjectFault with EndpointUpload) answers before a chunk is read.
// UploadFault (InjectUploadFault) acts in the middle of an otherwise valid
// chunk, for one chunk index or AnyChunk: DropAfter reads that many bytes
// and closes the connection; Status reads the whole chunk, keeps nothing
// and answers that status; LoseResponse keeps the chunk and closes the
// connection without answering, so the client's retry meets a 416 that
// carries the progress.
//
// # Controls
//
// Every control is a Go method and an HTTP endpoint under /_emulator/, so
// tests in any language can drive a standalone emulator. The control
// endpoints have no authentication: never expose the emulator beyond
// loopback. Simple parameters go in the query string, a form body or a JSON
// object; faults, upload faults and the media configuration take a JSON
// object only.
//
//	Go method                      HTTP
//	InjectFault(e, f)              POST   /_emulator/faults         {"endpoint":"token","status":503,"retry_after":"2s","times":1}
//	Faults()                       GET    /_emulator/faults
//	ClearFaults(), ClearFault(e)   DELETE /_emulator/faults[?endpoint=token]
//	Counters(), Calls, Grants,     GET    /_emulator/counters
//	  RefreshTokenReuse
//	ResetCounters()                POST   /_emulator/reset-counters
//	KillAccessTokens()             POST   /_emulator/kill-access-tokens
//	RevokeAllGrants()              POST   /_emulator/revoke-all
//	DenyNextConsent()              POST   /_emulator/deny-next-consent
//	ApproveAs(openID)              POST   /_emulator/approve-as      open_id=...
//	Users()                        GET    /_emulator/users
//	AdvanceClock(d)                POST   /_emulator/advance-clock   by=25h
//	IssueToken(openID, scopes...)  POST   /_emulator/issue-token     open_id=...&scope=a,b
//	QuotaStatus(), Quotas()        GET    /_emulator/quotas
//	SetQuota(e, q),                POST   /_emulator/quotas          {"quotas":{"user_info":"100/2s"},"retry_after":true}
//	  SetQuotaRetryAfter(on)       PUT    /_emulator/quotas          (the same; endpoints not listed lose their limit)
//	ResetQuotas()                  POST   /_emulator/reset-quotas
//	RateLimited(e)                 GET    /_emulator/counters        (rate_limited, quota_peak)
//	SetMediaConfig(c),             POST   /_emulator/media-config    {"verified_domains":["media.example.com"],"processing_polls":-1}
//	  MediaConfig()                GET    /_emulator/media-config
//	Publish(id), Publishes()       GET    /_emulator/publish[?publish_id=...]
//	FailPublish(id, reason)        POST   /_emulator/fail-publish    publish_id=...&reason=file_format_check_failed
//	InjectUploadFault(f)           POST   /_emulator/upload-faults   {"chunk":1,"lose_response":true,"times":1}
//	ClearUploadFaults()            DELETE /_emulator/upload-faults
//	SetClock(f), Code(...),        (Go only)
//	  Videos(openID), SetVideos(openID, videos)
//
// media-config and upload-faults take a JSON object body. POST
// /_emulator/media-config replaces the whole MediaConfig (members
// verified_domains, verified_url_prefixes, unaudited,
// max_pending_shares, max_posts_per_day, upload_url_ttl in nanoseconds,
// processing_polls; unknown members are refused) and answers the
// configuration in effect, defaults filled in. fail-publish's reason
// defaults to "internal"; it and publish answer 404 for an unknown publish.
// Upload fault JSON members: chunk (a 0-based index, or -1 for any chunk),
// drop_after, status, lose_response, times.
//
// Fault JSON members: endpoint (authorize, token, revoke, user_info,
// creator_info, video_list, video_query, video_init, inbox_init,
// content_init, publish_status, publish_cancel, upload), status, body,
// content_type, error_code, retry_after and
// delay (duration strings such as "250ms" or numbers of seconds), drop,
// times. See Fault for what each does. Counters JSON:
// {"calls":{"token":2,...},"grants":{"authorization_code":1,...},
// "refresh_token_reuse":0,"rate_limited":{"user_info":0,...},
// "quota_peak":{"user_info":2,...}}.
//
// A quota in the quotas JSON is a string, as ParseQuota reads it ("100/2s",
// "6/1m/token", "off"), or an object {"limit":100,"window":"2s",
// "per_token":false}. GET /_emulator/quotas answers {"retry_after":false,
// "quotas":[{"endpoint":"user_info","limit":600,"window":"1m0s",
// "per_token":false,"in_window":3,"tokens":0,"peak":3,"rate_limited":0},
// ...]} for every endpoint of QuotaEndpoints (limit 0 and no window for
// one without a limit); POST and PUT answer the same. A bad member refuses
// the whole request with 400 and changes nothing.
//
// GET /_emulator/avatar?open_id=...&size=... serves the SVG avatars of
// users configured without an AvatarURL.
//
// The file README.md next to this package walks through the whole flow with
// curl.
package tiktoktest
