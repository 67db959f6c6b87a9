package main

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPIMeQuotaSpent: when the quota for user info is spent and the wait
// would pass /api/me's 10 s deadline, /api/me answers 429 with Retry-After
// at once, TikTok sees nothing more, and the user stays logged in.
func TestAPIMeQuotaSpent(t *testing.T) {
	ta := newTestAppEnv(t, map[string]string{"TIKTOK_QUOTAS": "user_info=3/1m"})
	ta.login(t) // the login ends on /me, whose profile uses one of the three
	for range 2 {
		resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, readBody(t, resp))
	}
	before := ta.emu.Calls("user_info")
	resp := ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.Greater(t, secs, 10, "the wait is past the deadline")
	assert.LessOrEqual(t, secs, 62)
	assert.JSONEq(t, `{"error":"rate_limited"}`, readBody(t, resp))
	assert.Equal(t, before, ta.emu.Calls("user_info"), "TikTok never sees a request the quota does not allow")
	assert.Zero(t, ta.emu.RateLimited("user_info"), "nor answers 429")

	resp = ta.do(t, http.MethodGet, "/api/me", "application/json", nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "still logged in: 429 again, not 401")
}
