package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoff(t *testing.T) {
	c, err := New(Config{ClientKey: "k", ClientSecret: "s", Retry: RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}})
	require.NoError(t, err)
	c.jitter = func(d time.Duration) time.Duration { return d } // the ceiling of each draw
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 100 * time.Millisecond},
		{2, 0, 200 * time.Millisecond},
		{3, 0, 400 * time.Millisecond},
		{4, 0, 800 * time.Millisecond},
		{5, 0, time.Second},
		{60, 0, time.Second},
		{1, 700 * time.Millisecond, 700 * time.Millisecond},
		{1, time.Hour, time.Second},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, c.backoff(tt.attempt, tt.retryAfter), "attempt %d, retry-after %s", tt.attempt, tt.retryAfter)
	}
	c.jitter = func(time.Duration) time.Duration { return 0 }
	assert.Equal(t, 300*time.Millisecond, c.backoff(2, 300*time.Millisecond), "Retry-After is a floor under the jitter")

	for range 100 {
		d := fullJitter(50 * time.Millisecond)
		assert.True(t, d >= 0 && d <= 50*time.Millisecond, d)
	}
	assert.Zero(t, fullJitter(0))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"3", 3 * time.Second},
		{"0", 0},
		{"-4", 0},
		{"soon", 0},
		{"99999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, parseRetryAfter(tt.in, now), tt.in)
	}
}

// TestRetryAfterHonoured records the waits the client asks for: a 429 with
// Retry-After: 2 waits 2s, capped at MaxDelay.
func TestRetryAfterHonoured(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n < 3 {
			w.Header().Set("Retry-After", strconv.Itoa(2*n))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"data":{},"error":{"code":"rate_limit_exceeded","message":"","log_id":"x"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":{"user":{"open_id":"o"}},"error":{"code":"ok"}}`))
	}))
	defer srv.Close()
	c, err := New(Config{ClientKey: "k", ClientSecret: "s", APIURL: srv.URL,
		Retry: RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 3 * time.Second}, NoQuotas: true})
	require.NoError(t, err)
	var waits []time.Duration
	c.sleepHook = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	info, err := c.WithToken(&Token{AccessToken: "act.x"}).UserInfo(context.Background(), FieldOpenID)
	require.NoError(t, err)
	assert.Equal(t, "o", info.OpenID)
	assert.Equal(t, []time.Duration{2 * time.Second, 3 * time.Second}, waits, "Retry-After 2s, then 4s capped at MaxDelay 3s")
}

func TestIsTemporary(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"canceled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, true},
		{"server", &APIError{StatusCode: 500, Code: "internal_error"}, true},
		{"rate limited", &APIError{StatusCode: 429, Code: "rate_limit_exceeded"}, true},
		{"5xx response", &ResponseError{StatusCode: 502, Err: errNotJSON}, true},
		{"200 response", &ResponseError{StatusCode: 200, Err: errNotJSON}, false},
		{"invalid grant", &OAuthError{StatusCode: 400, Code: "invalid_grant"}, false},
		{"oauth temporarily unavailable", &OAuthError{StatusCode: 200, Code: "temporarily_unavailable"}, true},
		{"token invalid", &APIError{StatusCode: 401, Code: "access_token_invalid"}, false},
		{"missing scope", &MissingScopeError{Field: "f", Scope: "s"}, false},
		{"invalid input", ErrInvalidInput, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, IsTemporary(tt.err))
		})
	}
}

func TestSnippetRedactsAndSanitises(t *testing.T) {
	s := snippet([]byte("{\"access_token\":\"act.abcdef\",\"refresh_token\":\"rft.ghijk\",\"note\":\"x\x00y\"} act.loose clt.free"))
	assert.NotContains(t, s, "abcdef")
	assert.NotContains(t, s, "ghijk")
	assert.NotContains(t, s, "loose")
	assert.NotContains(t, s, "free")
	assert.NotContains(t, s, "\x00")
	assert.LessOrEqual(t, len(snippet(make([]byte, 10000))), 256)
}
