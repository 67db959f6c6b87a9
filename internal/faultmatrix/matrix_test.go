package faultmatrix_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// shape is the error shape an endpoint answers.
type shape int

const (
	oauthShape  shape = iota // flat {error, error_description, log_id}
	apiShape                 // {data, error:{code, message, log_id}}
	uploadShape              // the upload host: statuses and Content-Range, no JSON
)

// target is a TikTok endpoint as the kit calls it.
type target struct {
	name  string
	ep    tiktoktest.Endpoint
	path  string
	shape shape
	// stored: the call works on a stored token (the refresh, the API calls
	// through the token source); the case then checks the token survives
	// and what a guarded request answers.
	stored bool
	// repeatable: the client may repeat the call (retries, and a forced
	// refresh after access_token_invalid). Post inits and cancel are not.
	repeatable bool
	// call makes the call the way the kit does.
	call func(ctx context.Context, c *cell) error
	// handler is the guarded handler of a stored target.
	handler func(c *cell) http.Handler
	// needsPost: the case starts with a direct post waiting for its upload.
	needsPost bool
}

// cell is one case: a fresh emulator, client, store and token source.
type cell struct {
	emu    *tiktoktest.Server
	ctr    *counter
	client *client.Client
	store  *tokenstore.Memory
	src    *tokenstore.Source
	guard  *middleware.Guard
	key    string
	tok    *client.Token    // the token stored before the fault
	code   string           // an unused authorization code
	post   *client.PostInit // a direct post waiting for its upload
}

// video is the file the upload target sends, in one chunk.
var video = bytes.Repeat([]byte("tiktokkit"), 1000)

func videoSource() client.VideoSource {
	plan, err := client.PlanChunks(int64(len(video)), 0)
	if err != nil {
		panic(err)
	}
	return client.VideoSource{Kind: client.SourceFileUpload, Plan: plan}
}

var scopes = []string{client.ScopeUserInfoBasic, client.ScopeVideoPublish, client.ScopeVideoUpload, client.ScopeVideoList}

func newCell(t *testing.T, tg target, timeout time.Duration) *cell {
	t.Helper()
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	t.Cleanup(emu.Close)
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"media.example"}})
	ctr := newCounter()
	c := &cell{emu: emu, ctr: ctr, client: newClient(t, emu, ctr, timeout), store: tokenstore.NewMemory()}
	c.src = newSource(t, c.store, c.client)
	c.guard = newGuard(t, c.src)
	user := tiktoktest.DefaultUsers()[0].OpenID
	c.key = user
	c.tok = issue(t, emu, user, scopes...)
	if tg.path == client.PathToken && tg.stored {
		c.tok = expired(c.tok) // the refresh target: the next Token call refreshes
	}
	require.NoError(t, c.src.Save(t.Context(), c.key, c.tok))
	code, err := emu.Code(user, redirectURL, scopes, "")
	require.NoError(t, err)
	c.code = code
	if tg.needsPost {
		u, err := c.user(t.Context())
		require.NoError(t, err)
		c.post, err = u.DirectPostVideo(t.Context(), client.DirectPostRequest{
			PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Source: videoSource()})
		require.NoError(t, err)
		ctr.take(client.PathVideoInit)
	}
	return c
}

// user returns the user-bound client a guarded request would get.
func (c *cell) user(ctx context.Context) (*client.UserClient, error) {
	tok, err := c.src.Token(ctx, c.key)
	if err != nil {
		return nil, err
	}
	return c.client.ForUser(c.key, tok, c.src), nil
}

// apiTarget builds the target of a user API call.
func apiTarget(name string, ep tiktoktest.Endpoint, path string, repeatable bool, do func(context.Context, *cell, *client.UserClient) error) target {
	return target{
		name: name, ep: ep, path: path, shape: apiShape, stored: true, repeatable: repeatable,
		call: func(ctx context.Context, c *cell) error {
			u, err := c.user(ctx)
			if err != nil {
				return err
			}
			return do(ctx, c, u)
		},
		handler: func(c *cell) http.Handler {
			return c.guard.RequireTikTokFunc(func(w http.ResponseWriter, r *http.Request, u *client.UserClient) error {
				if err := do(r.Context(), c, u); err != nil {
					return err
				}
				w.WriteHeader(http.StatusOK)
				return nil
			})
		},
	}
}

func publishID(c *cell) string { return c.post.PublishID }

var targets = []target{
	{
		name: "token exchange", ep: tiktoktest.EndpointToken, path: client.PathToken, shape: oauthShape,
		call: func(ctx context.Context, c *cell) error {
			_, err := c.client.Exchange(ctx, c.code)
			return err
		},
	},
	{
		name: "refresh (through the token source)", ep: tiktoktest.EndpointToken, path: client.PathToken, shape: oauthShape, stored: true, repeatable: true,
		call: func(ctx context.Context, c *cell) error {
			_, err := c.src.Token(ctx, c.key)
			return err
		},
		handler: func(c *cell) http.Handler {
			return c.guard.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
			}))
		},
	},
	{
		name: "revoke", ep: tiktoktest.EndpointRevoke, path: client.PathRevoke, shape: oauthShape,
		call: func(ctx context.Context, c *cell) error { return c.client.Revoke(ctx, c.tok.AccessToken) },
	},
	{
		name: "client token", ep: tiktoktest.EndpointToken, path: client.PathToken, shape: oauthShape,
		call: func(ctx context.Context, c *cell) error {
			_, err := c.client.ClientToken(ctx)
			return err
		},
	},
	apiTarget("user info", tiktoktest.EndpointUserInfo, client.PathUserInfo, true, func(ctx context.Context, _ *cell, u *client.UserClient) error {
		_, err := u.UserInfo(ctx, client.FieldOpenID, client.FieldDisplayName)
		return err
	}),
	apiTarget("creator info", tiktoktest.EndpointCreatorInfo, client.PathCreatorInfo, true, func(ctx context.Context, _ *cell, u *client.UserClient) error {
		_, err := u.CreatorInfo(ctx)
		return err
	}),
	apiTarget("video list", tiktoktest.EndpointVideoList, client.PathVideoList, true, func(ctx context.Context, _ *cell, u *client.UserClient) error {
		_, err := u.VideoList(ctx, client.VideoListOptions{MaxCount: 5})
		return err
	}),
	apiTarget("video query", tiktoktest.EndpointVideoQuery, client.PathVideoQuery, true, func(ctx context.Context, _ *cell, u *client.UserClient) error {
		_, err := u.QueryVideos(ctx, []string{"7300000000000000001"})
		return err
	}),
	apiTarget("direct post init (file upload)", tiktoktest.EndpointVideoInit, client.PathVideoInit, false, func(ctx context.Context, _ *cell, u *client.UserClient) error {
		_, err := u.DirectPostVideo(ctx, client.DirectPostRequest{
			PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Source: videoSource()})
		return err
	}),
	apiTarget("inbox upload init", tiktoktest.EndpointInboxInit, client.PathInboxInit, false, func(ctx context.Context, _ *cell, u *client.UserClient) error {
		_, err := u.UploadVideoToInbox(ctx, client.InboxUploadRequest{Source: videoSource()})
		return err
	}),
	apiTarget("photo post init", tiktoktest.EndpointContentInit, client.PathContentInit, false, func(ctx context.Context, _ *cell, u *client.UserClient) error {
		_, err := u.PostPhotos(ctx, client.PhotoPostRequest{Mode: client.PostModeDirect,
			PostInfo: client.PhotoPostInfo{PrivacyLevel: client.PrivacySelfOnly}, Images: []string{"https://media.example/a.jpg"}})
		return err
	}),
	withPost(apiTarget("publish status", tiktoktest.EndpointPublishStatus, client.PathPublishStatus, true, func(ctx context.Context, c *cell, u *client.UserClient) error {
		_, err := u.PublishStatus(ctx, publishID(c))
		return err
	})),
	withPost(apiTarget("publish cancel", tiktoktest.EndpointPublishCancel, client.PathPublishCancel, false, func(ctx context.Context, c *cell, u *client.UserClient) error {
		return u.CancelPublish(ctx, publishID(c))
	})),
	{
		name: "video upload (one chunk)", ep: tiktoktest.EndpointUpload, path: "/upload/", shape: uploadShape, needsPost: true,
		call: func(ctx context.Context, c *cell) error {
			src := videoSource()
			return c.client.Upload(ctx, c.post.UploadURL, bytes.NewReader(video), int64(len(video)), src.Plan, client.UploadOptions{})
		},
	},
}

func withPost(tg target) target {
	tg.needsPost = true
	return tg
}

// fault is one row group of the matrix.
type fault struct {
	name string
	// timeout is the client's HTTP timeout for the case. Default 10s.
	timeout time.Duration
	// applies reports whether the fault makes sense for the target.
	// Default: every target.
	applies func(tg target) bool
	// inject sets the fault up; it is called again before the guarded
	// request.
	inject func(t *testing.T, c *cell, tg target)
	// check asserts the error the call returned.
	check func(t *testing.T, tg target, err error)
	// drops: the stored token must be gone afterwards. recovers: the call
	// itself succeeds (the stored token may have been refreshed).
	drops, recovers bool
	// lost: TikTok acted on the request but its answer was lost, so the
	// stored refresh token is dead at TikTok; the next refresh meets
	// invalid_grant.
	lost bool
	// guardStatus is what a guarded request answers when the fault
	// neither ends the login nor goes away. Default 502 or 503.
	guardStatus []int
}

func faultFor(f tiktoktest.Fault) func(*testing.T, *cell, target) {
	return func(_ *testing.T, c *cell, tg target) { c.emu.InjectFault(tg.ep, f) }
}

// structured asserts that err carries the target's error shape with the
// HTTP status, and returns its RetryAfter (the upload host's errors carry
// none: ok is false).
func structured(t *testing.T, tg target, err error, status int) (retry time.Duration, ok bool) {
	t.Helper()
	switch tg.shape {
	case oauthShape:
		var oe *client.OAuthError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, status, oe.StatusCode)
		return oe.RetryAfter, true
	case apiShape:
		var ae *client.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, status, ae.StatusCode)
		return ae.RetryAfter, true
	}
	uploadError(t, err, status)
	return 0, false
}

func uploadError(t *testing.T, err error, status int) {
	t.Helper()
	var ue *client.UploadError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, status, ue.StatusCode)
}

// unreadable asserts the error of an answer the client cannot use: a
// *client.ResponseError from the API hosts, an *client.UploadError from the
// upload host (which expects no body at all).
func unreadable(t *testing.T, tg target, err error, status int) *client.ResponseError {
	t.Helper()
	if tg.shape == uploadShape {
		uploadError(t, err, status)
		return nil
	}
	var re *client.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, status, re.StatusCode)
	assert.LessOrEqual(t, len(re.Snippet), 256)
	return re
}

// notStructured asserts that err is a network failure, not an answer.
func notStructured(t *testing.T, err error) {
	t.Helper()
	var (
		oe *client.OAuthError
		ae *client.APIError
		re *client.ResponseError
		ue *url.Error
	)
	assert.False(t, errors.As(err, &oe) || errors.As(err, &ae) || errors.As(err, &re), "a network failure reported as an answer: %v", err)
	assert.ErrorAs(t, err, &ue)
	assert.True(t, client.IsTemporary(err), "a network failure must be temporary: %v", err)
}

// oversized is valid JSON larger than maxBodyBytes.
var oversized = `{"data":{},"error":{"code":"ok","message":"","log_id":"x"},"padding":"` +
	strings.Repeat("x", 2*maxBodyBytes) + `"}`

// dropsAtCall: the call itself deletes the token on invalid_grant (the
// refresh, and API calls that force a refresh). A call that is not
// repeatable leaves that to the guard's HandleError.
func dropsAtCall(tg target) bool {
	return tg.stored && (tg.path == client.PathToken || tg.repeatable)
}

var faults = []fault{
	{
		name:   "500 Internal Server Error",
		inject: faultFor(tiktoktest.Fault{Status: http.StatusInternalServerError}),
		check: func(t *testing.T, tg target, err error) {
			structured(t, tg, err, http.StatusInternalServerError)
			assert.ErrorIs(t, err, client.ErrServer)
			assert.True(t, client.IsTemporary(err))
		},
	},
	{
		name:   "503 with Retry-After: 2",
		inject: faultFor(tiktoktest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter}),
		check: func(t *testing.T, tg target, err error) {
			if ra, ok := structured(t, tg, err, http.StatusServiceUnavailable); ok {
				assert.Equal(t, retryAfter, ra)
			}
			assert.ErrorIs(t, err, client.ErrServer)
			assert.True(t, client.IsTemporary(err))
		},
	},
	{
		name:        "429 with Retry-After: 2",
		guardStatus: []int{http.StatusTooManyRequests},
		inject:      faultFor(tiktoktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}),
		check: func(t *testing.T, tg target, err error) {
			if ra, ok := structured(t, tg, err, http.StatusTooManyRequests); ok {
				assert.Equal(t, retryAfter, ra)
			}
			assert.ErrorIs(t, err, client.ErrRateLimited)
			assert.True(t, client.IsTemporary(err))
		},
	},
	{
		name:    fmt.Sprintf("timeout (no answer within %s)", shortTimeout),
		timeout: shortTimeout,
		inject:  faultFor(tiktoktest.Fault{Delay: faultDelay}),
		check: func(t *testing.T, tg target, err error) {
			if tg.shape == uploadShape {
				// Uploads have no overall HTTP timeout (a chunk may take
				// minutes): the caller's context sets the deadline.
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			notStructured(t, err)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout(), "not a timeout: %v", err)
		},
	},
	{
		name:   "connection reset",
		inject: faultFor(tiktoktest.Fault{Drop: true}),
		check: func(t *testing.T, tg target, err error) {
			notStructured(t, err)
		},
	},
	{
		name:   "malformed JSON (truncated, HTTP 200)",
		inject: faultFor(tiktoktest.Fault{Body: `{"data":{"user":{"open_id":"`, ContentType: "application/json"}),
		check: func(t *testing.T, tg target, err error) {
			unreadable(t, tg, err, http.StatusOK)
			assert.False(t, client.IsTemporary(err))
		},
	},
	{
		name: "error body with HTTP 200",
		inject: func(_ *testing.T, c *cell, tg target) {
			code := "internal_error"
			if tg.shape == oauthShape {
				code = "server_error"
			}
			c.emu.InjectFault(tg.ep, tiktoktest.Fault{ErrorCode: code})
		},
		check: func(t *testing.T, tg target, err error) {
			structured(t, tg, err, http.StatusOK)
			if tg.shape != uploadShape {
				assert.ErrorIs(t, err, client.ErrServer)
			}
		},
	},
	{
		name:   fmt.Sprintf("body over MaxBodyBytes (%d KiB)", maxBodyBytes>>10),
		inject: faultFor(tiktoktest.Fault{Body: oversized, ContentType: "application/json"}),
		check: func(t *testing.T, tg target, err error) {
			unreadable(t, tg, err, http.StatusOK)
			if tg.shape != uploadShape {
				assert.ErrorIs(t, err, client.ErrBodyTooLarge)
			}
		},
	},
	{
		name: "HTML error page (HTTP 502)",
		inject: faultFor(tiktoktest.Fault{Status: http.StatusBadGateway, ContentType: "text/html; charset=utf-8",
			Body: seed.String("raw_body__html_internal_server_error__500.txt")}),
		check: func(t *testing.T, tg target, err error) {
			if re := unreadable(t, tg, err, http.StatusBadGateway); re != nil {
				assert.Contains(t, re.ContentType, "text/html")
			}
			assert.ErrorIs(t, err, client.ErrServer)
			assert.True(t, client.IsTemporary(err))
		},
	},
	{
		name:    "refresh answer lost after TikTok rotated the token",
		applies: func(tg target) bool { return tg.path == client.PathToken && tg.stored },
		inject:  func(_ *testing.T, c *cell, tg target) { c.ctr.loseAnswer(tg.path) },
		check: func(t *testing.T, _ target, err error) {
			notStructured(t, err)
			assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
		},
		lost: true,
	},
	{
		name:    "access_token_invalid before expiry (token killed at TikTok)",
		applies: func(tg target) bool { return tg.shape == apiShape },
		inject:  func(_ *testing.T, c *cell, _ target) { c.emu.KillAccessTokens() },
		check: func(t *testing.T, tg target, err error) {
			if tg.repeatable {
				require.NoError(t, err)
				return
			}
			structured(t, tg, err, http.StatusUnauthorized)
			assert.ErrorIs(t, err, client.ErrAccessTokenInvalid)
		},
		recovers: true,
	},
	{
		name: "invalid_grant (grant revoked at TikTok; code already used)",
		applies: func(tg target) bool {
			return tg.shape == apiShape || tg.stored || tg.name == "token exchange" || tg.name == "revoke"
		},
		inject: func(t *testing.T, c *cell, tg target) {
			if tg.name == "token exchange" {
				if _, err := c.client.Exchange(t.Context(), c.code); err != nil && !errors.Is(err, client.ErrInvalidGrant) {
					t.Fatalf("first exchange: %v", err)
				}
				c.ctr.take(tg.path)
				return
			}
			c.emu.RevokeAllGrants()
		},
		check: func(t *testing.T, tg target, err error) {
			switch {
			case dropsAtCall(tg):
				assert.ErrorIs(t, err, client.ErrInvalidGrant)
				assert.ErrorIs(t, err, tokenstore.ErrLoginRequired)
			case tg.stored:
				structured(t, tg, err, http.StatusUnauthorized)
				assert.ErrorIs(t, err, client.ErrAccessTokenInvalid)
			case tg.ep == tiktoktest.EndpointRevoke:
				// TikTok refuses an invalid token at revoke with HTTP 200.
				structured(t, tg, err, http.StatusOK)
				assert.ErrorIs(t, err, client.ErrInvalidGrant)
			default:
				structured(t, tg, err, http.StatusBadRequest)
				assert.ErrorIs(t, err, client.ErrInvalidGrant)
			}
		},
		drops: true,
	},
}

// runEndpointCase runs one fault against one target and returns its row.
func runEndpointCase(t *testing.T, f fault, tg target) row {
	timeout := f.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	c := newCell(t, tg, timeout)
	ctx := t.Context()
	if tg.shape == uploadShape && f.timeout != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	r := row{Fault: f.name, Target: tg.name, Token: "n/a", Guarded: "n/a"}
	// What the fault must do to this target.
	var (
		dropNow   = f.drops && dropsAtCall(tg)       // the call deletes the token
		dropLater = tg.stored && (f.drops || f.lost) // the guarded request ends the login
		fixNow    = f.recovers && tg.repeatable      // the call succeeds after a refresh
	)

	f.inject(t, c, tg)
	err := call(func() error { return tg.call(ctx, c) })
	require.NotContains(t, fmt.Sprint(err), "panic:")
	f.check(t, tg, err)
	r.Error = describe(err)
	r.Requests = requests(c, tg)
	assert.Positive(t, c.emu.Calls(tg.ep), "the call never reached the emulator")

	if tg.stored {
		r.Token = tokenState(t, c, f, dropNow, fixNow)
		if !f.lost {
			f.inject(t, c, tg)
		}
		status := guarded(t, tg.handler(c), c.key)
		switch {
		case dropLater:
			assert.Equal(t, http.StatusUnauthorized, status)
			_, gerr := c.store.Get(ctx, c.key)
			require.ErrorIs(t, gerr, tokenstore.ErrNotFound, "the login must end")
		case fixNow:
			assert.Equal(t, http.StatusOK, status)
		default:
			want := f.guardStatus
			if want == nil {
				want = []int{http.StatusBadGateway, http.StatusServiceUnavailable}
			}
			assert.Contains(t, want, status)
			_, gerr := c.store.Get(ctx, c.key)
			require.NoError(t, gerr, "the guarded request lost the token")
		}
		r.Guarded = fmt.Sprintf("%d %s", status, http.StatusText(status))
	}

	c.emu.ClearFaults()
	c.ctr.take(client.PathToken)
	c.ctr.take(tg.path)
	next := call(func() error { return tg.call(t.Context(), c) })
	switch {
	case dropLater:
		require.ErrorIs(t, next, tokenstore.ErrLoginRequired)
		assert.Zero(t, c.ctr.take(client.PathToken)+c.ctr.take(tg.path), "a dropped login still called TikTok")
		r.Next = "login required, TikTok not called"
	case f.drops:
		r.Next = "n/a (the grant or code is gone)"
	default:
		require.NoError(t, next, "the call still fails once the fault is gone")
		r.Next = "succeeds"
	}
	if f.lost {
		// No client can avoid this one: the only valid refresh token was in
		// the lost answer.
		assert.Equal(t, 1, c.emu.RefreshTokenReuse())
	} else {
		assert.Zero(t, c.emu.RefreshTokenReuse(), "a rotated refresh token was presented again")
	}
	return r
}

// requests says how many requests the call sent to the target's path and,
// for API calls, how many refreshes it caused.
func requests(c *cell, tg target) string {
	n := c.ctr.take(tg.path)
	if tg.path == client.PathToken {
		return fmt.Sprint(n)
	}
	if m := c.ctr.take(client.PathToken); m > 0 {
		return fmt.Sprintf("%d + %d refresh", n, m)
	}
	return fmt.Sprint(n)
}

// tokenState checks what the call left of the stored token and says it.
func tokenState(t *testing.T, c *cell, f fault, dropNow, fixNow bool) string {
	t.Helper()
	got, err := c.store.Get(t.Context(), c.key)
	switch {
	case dropNow:
		require.ErrorIs(t, err, tokenstore.ErrNotFound, "invalid_grant must delete the token")
		return "deleted"
	case err != nil:
		t.Fatalf("the token was lost: %v", err)
	case f.lost:
		require.Equal(t, c.tok.RefreshToken, got.RefreshToken)
		return "kept, but dead at TikTok: the guarded request's refresh meets invalid_grant and deletes it"
	case got.RefreshToken != c.tok.RefreshToken:
		require.True(t, fixNow, "the token changed although the call failed")
		return "kept (refreshed)"
	}
	return "kept"
}

// endpointCases counts the cases of testEndpoints.
func endpointCases() int {
	n := 0
	for _, f := range faults {
		for _, tg := range targets {
			if f.applies == nil || f.applies(tg) {
				n++
			}
		}
	}
	return n
}

func testEndpoints(t *testing.T, rep *report) {
	for fi, f := range faults {
		for ti, tg := range targets {
			if f.applies != nil && !f.applies(tg) {
				continue
			}
			t.Run(f.name+"/"+tg.name, func(t *testing.T) {
				t.Parallel()
				r := runEndpointCase(t, f, tg)
				if !t.Failed() {
					r.section, r.order = sectionEndpoints, fi*100+ti
					rep.add(r)
				}
			})
		}
	}
}
