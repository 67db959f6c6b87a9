package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/middleware"
)

// TestQuotaSpent: when TikTok's quota for an endpoint is spent and the wait
// would pass the request's deadline, the guarded request answers 429 with
// Retry-After, as JSON for an API call and as a short page for a browser,
// and the user stays logged in.
func TestQuotaSpent(t *testing.T) {
	e := newEnv(t, envOptions{client: func(c *client.Config) {
		c.Quotas = map[string]client.Quota{client.EndpointUserInfo: {Limit: 2, Window: time.Minute}}
	}})
	u := e.loggedIn(alice)
	for range 2 {
		r := u.GetJSON("/info")
		require.Equal(t, http.StatusOK, r.Status, r.Body)
	}
	calls := e.emu.Calls("user_info")

	// The harness's requests carry no deadline; the guarded handler gives
	// its call one, as examples/basic's /api/me does.
	r := u.GetJSON("/info?deadline=1")
	require.Equal(t, http.StatusTooManyRequests, r.Status, r.Body)
	assert.JSONEq(t, `{"error":"rate_limited"}`, r.Body)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	assert.InDelta(t, 60, secs, 3)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))

	r = u.Get("/info?deadline=1")
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.Contains(t, r.Header.Get("Content-Type"), "text/plain")
	assert.Contains(t, r.Body, "try again")
	assert.NotEmpty(t, r.Header.Get("Retry-After"))

	assert.Equal(t, calls, e.emu.Calls("user_info"), "nothing reached TikTok")
	assert.True(t, e.stored(alice), "the token is kept")
	assert.Equal(t, alice, u.Get(identityURL).Body, "still logged in")
}

func TestStatusCodeRateLimited(t *testing.T) {
	qe := &client.QuotaError{Endpoint: "user_info", Quota: client.Quota{Limit: 600, Window: time.Minute}, RetryAfter: 1500 * time.Millisecond}
	assert.Equal(t, http.StatusTooManyRequests, middleware.StatusCode(qe))
	assert.Equal(t, http.StatusTooManyRequests, middleware.StatusCode(fmt.Errorf("wrapped: %w", qe)))
	assert.Equal(t, "2", middleware.RetryAfterSeconds(qe), "rounded up")
	tiktok429 := &client.APIError{StatusCode: 429, Code: "rate_limit_exceeded", RetryAfter: 30 * time.Second}
	assert.Equal(t, http.StatusTooManyRequests, middleware.StatusCode(tiktok429))
	assert.Equal(t, "30", middleware.RetryAfterSeconds(tiktok429))
	assert.Equal(t, "1", middleware.RetryAfterSeconds(errors.New("no wait known")), "at least 1")
	assert.Equal(t, http.StatusServiceUnavailable, middleware.StatusCode(&client.APIError{StatusCode: 500, Code: "internal_error"}))
}
