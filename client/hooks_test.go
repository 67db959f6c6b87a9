package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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
)

// recordingHooks keeps everything a Client reports.
type recordingHooks struct {
	mu       sync.Mutex
	starts   []client.CallInfo
	attempts []client.AttemptReport
	ends     []client.CallReport
	uploaded []int64
	ctxSeen  []bool // whether Attempt and CallEnd got the context CallStart returned
}

type hookCtxKey struct{}

func (h *recordingHooks) CallStart(ctx context.Context, call client.CallInfo) context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.starts = append(h.starts, call)
	return context.WithValue(ctx, hookCtxKey{}, call.Endpoint)
}

func (h *recordingHooks) Attempt(ctx context.Context, a client.AttemptReport) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a.Duration = 0
	h.attempts = append(h.attempts, a)
	h.ctxSeen = append(h.ctxSeen, ctx.Value(hookCtxKey{}) == a.Endpoint)
}

func (h *recordingHooks) CallEnd(ctx context.Context, r client.CallReport) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Duration = 0
	h.ends = append(h.ends, r)
	h.ctxSeen = append(h.ctxSeen, ctx.Value(hookCtxKey{}) == r.Endpoint)
}

func (h *recordingHooks) QuotaWait(context.Context, string, time.Duration, bool) {}

func (h *recordingHooks) UploadBytes(_ context.Context, n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.uploaded = append(h.uploaded, n)
}

const userInfoOK = `{"data":{"user":{"open_id":"o1","display_name":"Ann"}},"error":{"code":"ok","message":"","log_id":"LOG-OK-1"}}`

func TestHooksReportEachAttemptAndCall(t *testing.T) {
	rs := newReplay(t,
		answer{status: 500, body: []byte(`{"data":{},"error":{"code":"internal_error","message":"x","log_id":"LOG-500"}}`)},
		answer{body: []byte(userInfoOK)},
	)
	h := &recordingHooks{}
	c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Hooks = h })
	_, err := c.WithToken(userToken()).UserInfo(context.Background(), client.FieldOpenID, client.FieldDisplayName)
	require.NoError(t, err)

	info := client.CallInfo{Endpoint: client.EndpointUserInfo, Operation: "user_info", Method: http.MethodGet}
	assert.Equal(t, []client.CallInfo{info}, h.starts)
	want := []client.AttemptReport{
		{CallInfo: info, Attempt: 1, StatusCode: 500, Outcome: "internal_error", LogID: "LOG-500"},
		{CallInfo: info, Attempt: 2, StatusCode: 200, Outcome: "ok", LogID: "LOG-OK-1"},
	}
	assert.Empty(t, cmp.Diff(want, h.attempts))
	require.Len(t, h.ends, 1)
	assert.Equal(t, client.CallReport{CallInfo: info, Attempts: 2, StatusCode: 200, Outcome: "ok", LogID: "LOG-OK-1"}, h.ends[0])
	assert.Equal(t, []bool{true, true, true}, h.ctxSeen, "Attempt and CallEnd get the context CallStart returned")
}

func TestHooksEndpointsAndOutcomes(t *testing.T) {
	tokenOK := []byte(`{"access_token":"act.secret-access","refresh_token":"rft.secret-refresh","open_id":"o1","expires_in":86400,"log_id":"LOG-TOK"}`)
	tests := []struct {
		name     string
		answer   answer
		call     func(c *client.Client) error
		endpoint string
		op       string
		outcome  string
		status   int
		logID    string
	}{
		{"exchange ok", answer{body: tokenOK},
			func(c *client.Client) error { _, err := c.Exchange(context.Background(), specCode); return err },
			client.EndpointToken, "exchange", "ok", 200, "LOG-TOK"},
		{"refresh invalid_grant", answer{body: []byte(`{"error":"invalid_grant","error_description":"gone","log_id":"LOG-IG"}`)},
			func(c *client.Client) error { _, err := c.Refresh(context.Background(), specRefresh); return err },
			client.EndpointToken, "refresh", "invalid_grant", 200, "LOG-IG"},
		{"client token", answer{body: tokenOK},
			func(c *client.Client) error { _, err := c.FetchClientToken(context.Background()); return err },
			client.EndpointClientToken, "client_token", "ok", 200, "LOG-TOK"},
		{"revoke", answer{body: []byte(`{}`)},
			func(c *client.Client) error { return c.Revoke(context.Background(), "act.secret-access") },
			client.EndpointRevoke, "revoke", "ok", 200, ""},
		{"token invalid", answer{status: 401, body: []byte(`{"data":{},"error":{"code":"access_token_invalid","message":"m","log_id":"LOG-401"}}`)},
			func(c *client.Client) error {
				_, err := c.WithToken(userToken()).UserInfo(context.Background(), client.FieldOpenID)
				return err
			},
			client.EndpointUserInfo, "user_info", "access_token_invalid", 401, "LOG-401"},
		{"not json", answer{status: 502, body: []byte(`<html>bad gateway</html>`), contentType: "text/html"},
			func(c *client.Client) error { return c.Revoke(context.Background(), "act.secret-access") },
			client.EndpointRevoke, "revoke", "bad_response", 502, ""},
		{"garbled code", answer{body: []byte(`{"data":{},"error":{"code":"Weird Code!","message":"m","log_id":"L"}}`)},
			func(c *client.Client) error {
				return c.WithToken(userToken()).Do(context.Background(), client.Request{Path: "/v2/research/x/"}, nil)
			},
			client.EndpointOther, "v2/research/x", "other", 200, "L"},
		{"known path through Do", answer{body: []byte(`{"data":{},"error":{"code":"ok","log_id":"L2"}}`)},
			func(c *client.Client) error {
				return c.WithToken(userToken()).Do(context.Background(), client.Request{Path: client.PathVideoList, Body: map[string]int{"max_count": 1}}, nil)
			},
			client.EndpointVideoList, "v2/video/list", "ok", 200, "L2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, tt.answer)
			h := &recordingHooks{}
			c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Hooks = h; cfg.Retry.MaxAttempts = 1 })
			_ = tt.call(c)
			require.Len(t, h.ends, 1)
			e := h.ends[0]
			assert.Equal(t, tt.endpoint, e.Endpoint)
			assert.Equal(t, tt.op, e.Operation)
			assert.Equal(t, tt.outcome, e.Outcome)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.logID, e.LogID)
			assert.Equal(t, 1, e.Attempts)
			assert.Equal(t, e.Outcome == "ok", e.Err == nil)
			// Nothing reported carries a credential.
			text := fmt.Sprintf("%+v %+v %+v", h.starts, h.attempts, h.ends)
			for _, secret := range []string{specClientSecret, specCode, specRefresh, "act.secret-access", "rft.secret-refresh", userToken().AccessToken} {
				assert.NotContains(t, text, secret)
			}
		})
	}
}

func TestHooksNetworkAndCanceled(t *testing.T) {
	rs := newReplay(t, answer{drop: true})
	h := &recordingHooks{}
	c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Hooks = h; cfg.Retry.MaxAttempts = 2 })
	_, err := c.WithToken(userToken()).UserInfo(context.Background(), client.FieldOpenID)
	require.Error(t, err)
	require.Len(t, h.attempts, 2)
	assert.Equal(t, "network", h.attempts[0].Outcome)
	assert.Equal(t, 0, h.attempts[0].StatusCode)
	assert.Equal(t, "network", h.ends[0].Outcome)
	assert.Equal(t, 2, h.ends[0].Attempts)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h2 := &recordingHooks{}
	c2 := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Hooks = h2 })
	_, err = c2.WithToken(userToken()).UserInfo(ctx, client.FieldOpenID)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, h2.ends, 1)
	assert.Equal(t, "canceled", h2.ends[0].Outcome)
}

func TestHooksNotCalledForRefusedInput(t *testing.T) {
	h := &recordingHooks{}
	c := newClient(t, "http://127.0.0.1:1", func(cfg *client.Config) { cfg.Hooks = h })
	_, err := c.Exchange(context.Background(), "")
	require.ErrorIs(t, err, client.ErrInvalidInput)
	assert.Empty(t, h.starts, "a call refused before any request reports nothing")
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{&client.APIError{Code: "rate_limit_exceeded", StatusCode: 429}, "rate_limit_exceeded"},
		{fmt.Errorf("wrapped: %w", &client.OAuthError{Code: "invalid_grant"}), "invalid_grant"},
		{&client.APIError{Code: strings.Repeat("a", 65)}, "other"},
		{&client.APIError{Code: "act.ABC"}, "other"},
		{&client.APIError{Code: "", StatusCode: 503}, "http_error"},
		{context.DeadlineExceeded, "canceled"},
		{&client.ResponseError{StatusCode: 200, Err: errors.New("x")}, "bad_response"},
		{client.ErrRateLimited, "rate_limited"},
		{errors.New("something"), "other"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, client.Outcome(tt.err), "%v", tt.err)
	}
}

func TestDebugLogShowsEachCall(t *testing.T) {
	rs := newReplay(t, answer{body: []byte(userInfoOK)})
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tok := userToken()
	c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Logger = log })
	_, err := c.WithToken(tok).UserInfo(context.Background(), client.FieldOpenID)
	require.NoError(t, err)
	line := buf.String()
	for _, want := range []string{"client: answer", "endpoint=user_info", "status=200", "log_id=LOG-OK-1", "duration="} {
		assert.Contains(t, line, want)
	}
	assert.NotContains(t, line, tok.AccessToken)
	assert.NotContains(t, line, specClientSecret)
}

func TestHooksCountUploadedChunks(t *testing.T) {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	t.Cleanup(emu.Close)
	h := &recordingHooks{}
	c, err := client.New(client.Config{
		ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL(), AuthURL: emu.AuthURL(),
		Retry: client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, Hooks: h,
	})
	require.NoError(t, err)
	uc := mediaUser(t, emu, c, mediaAlice)
	const size = 13_000_000
	url, plan, _ := initUpload(t, emu, uc, size, 6_000_000)
	// The second chunk is refused once: it is counted when it is accepted.
	emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 1, Status: http.StatusServiceUnavailable, Times: 1})
	require.NoError(t, c.Upload(context.Background(), url, newNoise("hooks", size), size, plan, client.UploadOptions{}))
	assert.Equal(t, []int64{6_000_000, 7_000_000}, h.uploaded)
	var total int64
	for _, n := range h.uploaded {
		total += n
	}
	assert.Equal(t, int64(size), total)
	assert.Contains(t, endpointsOf(h.starts), client.EndpointVideoInit)
}

func endpointsOf(calls []client.CallInfo) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Endpoint)
	}
	return out
}
