// Package tiktoktest is an in-process TikTok for tests, in the spirit of
// net/http/httptest: an HTTP server that plays TikTok's Login Kit and Open
// API (authorize page, token, revoke, user info, creator info) as strictly
// as TikTok does, with fake users, fault injection and counters. It has no
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
// request shows a consent page (user picker, scope checkboxes, Approve and
// Deny), or with Config.AutoApprove redirects at once. Approve redirects to
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
// # Controls
//
// Every control is a Go method and an HTTP endpoint under /_emulator/, so
// tests in any language can drive a standalone emulator. The control
// endpoints have no authentication: never expose the emulator beyond
// loopback. Parameters go in the query string, a form body or a JSON object.
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
//	SetClock(f), Code(...)         (Go only)
//
// Fault JSON members: endpoint (authorize, token, revoke, user_info,
// creator_info), status, body, content_type, error_code, retry_after and
// delay (duration strings such as "250ms" or numbers of seconds), drop,
// times. See Fault for what each does. Counters JSON:
// {"calls":{"token":2,...},"grants":{"authorization_code":1,...},
// "refresh_token_reuse":0}.
//
// GET /_emulator/avatar?open_id=...&size=... serves the SVG avatars of
// users configured without an AvatarURL.
//
// The file README.md next to this package walks through the whole flow with
// curl.
package tiktoktest
