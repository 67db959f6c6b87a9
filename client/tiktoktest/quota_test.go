package tiktoktest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

const (
	userInfoPath    = "/v2/user/info/?fields=open_id"
	msgRateLimited  = "API rate limit exceeded. Please try again later."
	creatorInfoPath = "/v2/post/publish/creator_info/query/"
)

// quotaToken issues a token for the first default user with the scopes
// user info and creator info need.
func quotaToken(t *testing.T, emu *tiktoktest.Server) string {
	t.Helper()
	tok, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic", "video.publish")
	require.NoError(t, err)
	return tok.AccessToken
}

func creatorInfo(t *testing.T, emu *tiktoktest.Server, token string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, emu.URL+creatorInfoPath, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return do(t, emu.Client(), req)
}

// TestQuotaSlidingWindow walks the window's arithmetic on the emulator's
// clock: the limit is reached, and a slot frees exactly Window after the
// oldest request let through, not a moment before.
func TestQuotaSlidingWindow(t *testing.T) {
	clock := newFakeClock()
	emu := newEmu(t, tiktoktest.Config{Clock: clock.Now, Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
		tiktoktest.EndpointUserInfo: {Limit: 3, Window: 10 * time.Second},
	}})
	tok := quotaToken(t, emu)
	ok := func(msg string) {
		t.Helper()
		r := bearerGet(t, emu, userInfoPath, tok)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", msg, r.body)
	}
	refused := func(msg string) {
		t.Helper()
		r := bearerGet(t, emu, userInfoPath, tok)
		require.Equal(t, http.StatusTooManyRequests, r.status, "%s: %s", msg, r.body)
	}

	ok("t0")
	clock.Advance(2 * time.Second)
	ok("t0+2s")
	clock.Advance(2 * time.Second)
	ok("t0+4s")
	refused("t0+4s, the fourth in the window")
	clock.Advance(6*time.Second - time.Nanosecond)
	refused("1ns before the oldest leaves the window")
	clock.Advance(time.Nanosecond)
	ok("t0+10s: the oldest (t0) has left")
	refused("t0+10s again: t0+2s, t0+4s and t0+10s fill the window")
	clock.Advance(2 * time.Second)
	ok("t0+12s: t0+2s has left")

	assert.Equal(t, 3, emu.RateLimited(tiktoktest.EndpointUserInfo))
	assert.Equal(t, 8, emu.Calls(tiktoktest.EndpointUserInfo), "a refused request is still a call")
	// The most requests in one window, refused ones included: in
	// (t0, t0+10s] t0+2s, 4s, 4s (refused), 10s-1ns (refused), 10s and 10s
	// (refused).
	c := emu.Counters()
	assert.Equal(t, 6, c.QuotaPeak[tiktoktest.EndpointUserInfo])
	assert.Equal(t, 3, c.RateLimited[tiktoktest.EndpointUserInfo])
	assert.Zero(t, c.RateLimited[tiktoktest.EndpointVideoList])

	// Reset: the limit stays, the counts go.
	emu.ResetQuotas()
	assert.Equal(t, tiktoktest.Quota{Limit: 3, Window: 10 * time.Second}, emu.Quotas()[tiktoktest.EndpointUserInfo])
	for i := range 3 {
		ok("after ResetQuotas " + string(rune('1'+i)))
	}
	refused("after ResetQuotas, the fourth")
	assert.Equal(t, 4, emu.RateLimited(tiktoktest.EndpointUserInfo), "ResetQuotas keeps the 429 count")
	emu.ResetCounters()
	assert.Zero(t, emu.RateLimited(tiktoktest.EndpointUserInfo))
	refused("ResetCounters does not make a spent quota whole")
}

// TestQuotaKeying: a per-token quota gives every access token its own
// window; a per-app quota shares one window among all of them.
func TestQuotaKeying(t *testing.T) {
	for _, tt := range []struct {
		name     string
		perToken bool
		// statuses of the requests a, b, a, b, a, b (two tokens taking turns)
		want []int
	}{
		{"per token", true, []int{200, 200, 200, 200, 429, 429}},
		{"per app", false, []int{200, 200, 429, 429, 429, 429}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			emu := newEmu(t, tiktoktest.Config{Clock: clock.Now, Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
				tiktoktest.EndpointUserInfo: {Limit: 2, Window: time.Minute, PerToken: tt.perToken},
			}})
			toks := []string{quotaToken(t, emu), quotaToken(t, emu)}
			var got []int
			for i := range tt.want {
				got = append(got, bearerGet(t, emu, userInfoPath, toks[i%2]).status)
			}
			assert.Equal(t, tt.want, got)
			var st tiktoktest.QuotaStatus
			for _, qs := range emu.QuotaStatus() {
				if qs.Endpoint == tiktoktest.EndpointUserInfo {
					st = qs
				}
			}
			assert.Equal(t, 2, st.InWindow)
			if tt.perToken {
				assert.Equal(t, 2, st.RateLimited)
				assert.Equal(t, 2, st.Tokens)
				assert.Equal(t, 3, st.Peak, "three requests per token")
			} else {
				assert.Equal(t, 4, st.RateLimited)
				assert.Zero(t, st.Tokens)
				assert.Equal(t, 6, st.Peak)
			}
		})
	}
}

// TestQuotaDefaults: with no configuration the emulator keeps TikTok's
// published limits: 600 a minute for user info per app, 20 a minute for
// creator info per token.
func TestQuotaDefaults(t *testing.T) {
	clock := newFakeClock()
	emu := newEmu(t, tiktoktest.Config{Clock: clock.Now})
	assert.Equal(t, tiktoktest.DefaultQuotas(), emu.Quotas())

	a, b := quotaToken(t, emu), quotaToken(t, emu)
	for i := range 600 {
		tok := a
		if i%2 == 1 {
			tok = b
		}
		r := bearerGet(t, emu, userInfoPath, tok)
		require.Equal(t, http.StatusOK, r.status, "request %d: %s", i+1, r.body)
	}
	apiErr(t, bearerGet(t, emu, userInfoPath, quotaToken(t, emu)), http.StatusTooManyRequests, "rate_limit_exceeded", msgRateLimited)

	for i := range 20 {
		r := creatorInfo(t, emu, a)
		require.Equal(t, http.StatusOK, r.status, "creator info %d: %s", i+1, r.body)
	}
	apiErr(t, creatorInfo(t, emu, a), http.StatusTooManyRequests, "rate_limit_exceeded", msgRateLimited)
	assert.Equal(t, http.StatusOK, creatorInfo(t, emu, b).status, "another token has its own 20")

	clock.Advance(time.Minute)
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, a).status, "a minute later")
	assert.Equal(t, http.StatusOK, creatorInfo(t, emu, a).status, "a minute later")
}

// TestQuotaRefusal checks the 429's body is TikTok's v2 envelope, with no
// Retry-After by default.
func TestQuotaRefusal(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
		tiktoktest.EndpointUserInfo: {Limit: 1, Window: time.Hour},
	}})
	tok := quotaToken(t, emu)
	require.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status)
	r := bearerGet(t, emu, userInfoPath, tok)
	apiErr(t, r, http.StatusTooManyRequests, "rate_limit_exceeded", msgRateLimited)
	assert.Regexp(t, logIDPattern, jsonString(t, member(t, r.body, "error", "log_id")))
	assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
	assert.Empty(t, r.header.Values("Retry-After"), "TikTok documents no Retry-After")
}

// TestQuotaRetryAfter: with QuotaRetryAfter the 429 says, in whole seconds
// rounded up, when the oldest request leaves the window.
func TestQuotaRetryAfter(t *testing.T) {
	clock := newFakeClock()
	emu := newEmu(t, tiktoktest.Config{Clock: clock.Now, QuotaRetryAfter: true, Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
		tiktoktest.EndpointCreatorInfo: {Limit: 2, Window: 90 * time.Second, PerToken: true},
	}})
	tok := quotaToken(t, emu)
	require.Equal(t, http.StatusOK, creatorInfo(t, emu, tok).status)
	clock.Advance(10 * time.Second)
	require.Equal(t, http.StatusOK, creatorInfo(t, emu, tok).status)
	for _, tt := range []struct {
		advance time.Duration
		want    string
	}{
		{20*time.Second + 500*time.Millisecond, "60"}, // 59.5 s left
		{59 * time.Second, "1"},                       // 0.5 s left
	} {
		clock.Advance(tt.advance)
		r := creatorInfo(t, emu, tok)
		apiErr(t, r, http.StatusTooManyRequests, "rate_limit_exceeded", msgRateLimited)
		assert.Equal(t, []string{tt.want}, r.header.Values("Retry-After"))
	}
	clock.Advance(500 * time.Millisecond)
	require.Equal(t, http.StatusOK, creatorInfo(t, emu, tok).status, "exactly 90 s after the first")

	emu.SetQuotaRetryAfter(false)
	r := creatorInfo(t, emu, tok)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Empty(t, r.header.Values("Retry-After"))
}

// TestQuotaCountsAcceptedTokensOnly: a request refused for its token, or
// answered by an injected fault, does not use the quota.
func TestQuotaCountsAcceptedTokensOnly(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
		tiktoktest.EndpointUserInfo: {Limit: 2, Window: time.Hour},
	}})
	tok := quotaToken(t, emu)
	for range 3 {
		apiErr(t, bearerGet(t, emu, userInfoPath, "act.nope"), http.StatusUnauthorized, "access_token_invalid", "")
	}
	emu.InjectFault(tiktoktest.EndpointUserInfo, tiktoktest.Fault{Status: http.StatusServiceUnavailable, Times: 3})
	for range 3 {
		assert.Equal(t, http.StatusServiceUnavailable, bearerGet(t, emu, userInfoPath, tok).status)
	}
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status)
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status)
	assert.Equal(t, http.StatusTooManyRequests, bearerGet(t, emu, userInfoPath, tok).status)
	assert.Equal(t, 1, emu.RateLimited(tiktoktest.EndpointUserInfo))
}

// TestNoQuotas: NoQuotas lifts every limit; SetQuota can still set one.
func TestNoQuotas(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{NoQuotas: true})
	assert.Empty(t, emu.Quotas())
	tok := quotaToken(t, emu)
	for i := range 25 {
		r := creatorInfo(t, emu, tok)
		require.Equal(t, http.StatusOK, r.status, "creator info %d past TikTok's 20: %s", i+1, r.body)
	}
	for i := range 601 {
		r := bearerGet(t, emu, userInfoPath, tok)
		require.Equal(t, http.StatusOK, r.status, "user info %d past TikTok's 600: %s", i+1, r.body)
	}
	assert.Empty(t, emu.Counters().QuotaPeak)

	require.NoError(t, emu.SetQuota(tiktoktest.EndpointUserInfo, tiktoktest.Quota{Limit: 1, Window: time.Hour}))
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status)
	assert.Equal(t, http.StatusTooManyRequests, bearerGet(t, emu, userInfoPath, tok).status)
	require.NoError(t, emu.SetQuota(tiktoktest.EndpointUserInfo, tiktoktest.Quota{}))
	assert.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status, "a zero Quota removes the limit")
}

// TestQuotaConcurrent: requests racing for one window let exactly the limit
// through.
func TestQuotaConcurrent(t *testing.T) {
	emu := newEmu(t, tiktoktest.Config{Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
		tiktoktest.EndpointUserInfo: {Limit: 40, Window: time.Hour},
	}})
	tok := quotaToken(t, emu)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				req, _ := http.NewRequest(http.MethodGet, emu.URL+userInfoPath, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := emu.Client().Do(req)
				if !assert.NoError(t, err) {
					return
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusOK: 40, http.StatusTooManyRequests: 40}, statuses)
	c := emu.Counters()
	assert.Equal(t, 40, c.RateLimited[tiktoktest.EndpointUserInfo])
	assert.Equal(t, 80, c.QuotaPeak[tiktoktest.EndpointUserInfo])
}

func TestQuotaConfigValidate(t *testing.T) {
	q := func(e tiktoktest.Endpoint, quota tiktoktest.Quota) map[tiktoktest.Endpoint]tiktoktest.Quota {
		return map[tiktoktest.Endpoint]tiktoktest.Quota{e: quota}
	}
	for _, tt := range []struct {
		name string
		cfg  tiktoktest.Config
		want string
	}{
		{"endpoint without quota", tiktoktest.Config{Quotas: q(tiktoktest.EndpointToken, tiktoktest.Quota{Limit: 1, Window: time.Second})}, `endpoint "token" takes no quota`},
		{"unknown endpoint", tiktoktest.Config{Quotas: q("user", tiktoktest.Quota{Limit: 1, Window: time.Second})}, `endpoint "user" takes no quota`},
		{"negative limit", tiktoktest.Config{Quotas: q(tiktoktest.EndpointUserInfo, tiktoktest.Quota{Limit: -1, Window: time.Second})}, "limit -1 is negative"},
		{"no window", tiktoktest.Config{Quotas: q(tiktoktest.EndpointUserInfo, tiktoktest.Quota{Limit: 5})}, "needs a positive window"},
		{"negative window", tiktoktest.Config{Quotas: q(tiktoktest.EndpointUserInfo, tiktoktest.Quota{Limit: 5, Window: -time.Second})}, "needs a positive window"},
		{"both", tiktoktest.Config{NoQuotas: true, Quotas: q(tiktoktest.EndpointUserInfo, tiktoktest.Quota{})}, "Quotas and NoQuotas are both set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Panics(t, func() { tiktoktest.NewHandler(tt.cfg) })
		})
	}
	ok := tiktoktest.Config{Quotas: q(tiktoktest.EndpointPublishCancel, tiktoktest.Quota{Limit: 5, Window: time.Second})}
	require.NoError(t, ok.Validate())
	emu := tiktoktest.NewHandler(ok)
	want := tiktoktest.DefaultQuotas()
	want[tiktoktest.EndpointPublishCancel] = tiktoktest.Quota{Limit: 5, Window: time.Second}
	assert.Equal(t, want, emu.Quotas(), "Quotas overrides the defaults endpoint by endpoint")
	off := tiktoktest.NewHandler(tiktoktest.Config{Quotas: q(tiktoktest.EndpointUserInfo, tiktoktest.Quota{})})
	assert.NotContains(t, off.Quotas(), tiktoktest.EndpointUserInfo, "a zero Quota removes a default")
	assert.Contains(t, off.Quotas(), tiktoktest.EndpointVideoList)

	assert.ErrorContains(t, emu.SetQuota(tiktoktest.EndpointRevoke, tiktoktest.Quota{Limit: 1, Window: time.Second}), "takes no quota")
	assert.ErrorContains(t, emu.SetQuota(tiktoktest.EndpointUserInfo, tiktoktest.Quota{Limit: 1}), "positive window")
	assert.Equal(t, want, emu.Quotas(), "a refused SetQuota changes nothing")
}

func TestParseQuota(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want tiktoktest.Quota
	}{
		{"100/2s", tiktoktest.Quota{Limit: 100, Window: 2 * time.Second}},
		{"6/1m/token", tiktoktest.Quota{Limit: 6, Window: time.Minute, PerToken: true}},
		{"600/1m0s/app", tiktoktest.Quota{Limit: 600, Window: time.Minute}},
		{"off", tiktoktest.Quota{}},
	} {
		got, err := tiktoktest.ParseQuota(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		back, err := tiktoktest.ParseQuota(got.String())
		require.NoError(t, err, got.String())
		assert.Equal(t, got, back, "String is what ParseQuota reads")
	}
	assert.Equal(t, "6/1m0s/token", tiktoktest.Quota{Limit: 6, Window: time.Minute, PerToken: true}.String())
	for _, bad := range []string{"", "100", "100/", "/2s", "0/2s", "-1/2s", "x/2s", "1.5/2s", "100/2", "100/0s",
		"100/-1s", "100/2s/user", "100/2s/token/x", "100/2s/", "OFF", " 100/2s"} {
		_, err := tiktoktest.ParseQuota(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// TestQuotaControl drives /_emulator/quotas over HTTP, as a test in another
// language would.
func TestQuotaControl(t *testing.T) {
	clock := newFakeClock()
	emu := newEmu(t, tiktoktest.Config{Clock: clock.Now})
	const jsonType = "application/json"
	type line struct {
		Endpoint    string `json:"endpoint"`
		Limit       int    `json:"limit"`
		Window      string `json:"window"`
		PerToken    bool   `json:"per_token"`
		InWindow    int    `json:"in_window"`
		Tokens      int    `json:"tokens"`
		Peak        int    `json:"peak"`
		RateLimited int    `json:"rate_limited"`
	}
	type status struct {
		RetryAfter bool   `json:"retry_after"`
		Quotas     []line `json:"quotas"`
	}
	decode := func(r reply) (status, map[string]line) {
		t.Helper()
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		dec := json.NewDecoder(strings.NewReader(string(r.body)))
		dec.DisallowUnknownFields()
		var st status
		require.NoError(t, dec.Decode(&st))
		by := map[string]line{}
		for _, l := range st.Quotas {
			by[l.Endpoint] = l
		}
		return st, by
	}

	st, by := decode(ctl(t, emu, http.MethodGet, "/_emulator/quotas", "", ""))
	assert.False(t, st.RetryAfter)
	require.Len(t, st.Quotas, len(tiktoktest.QuotaEndpoints()))
	assert.Equal(t, line{Endpoint: "user_info", Limit: 600, Window: "1m0s"}, by["user_info"])
	assert.Equal(t, line{Endpoint: "video_init", Limit: 6, Window: "1m0s", PerToken: true}, by["video_init"])
	assert.Equal(t, line{Endpoint: "publish_cancel"}, by["publish_cancel"], "no limit: no window")

	// POST changes the endpoints listed, in either form.
	r := ctl(t, emu, http.MethodPost, "/_emulator/quotas", jsonType,
		`{"quotas":{"user_info":"2/1m","creator_info":{"limit":1,"window":"30s","per_token":true}},"retry_after":true}`)
	st, by = decode(r)
	assert.True(t, st.RetryAfter)
	assert.Equal(t, line{Endpoint: "user_info", Limit: 2, Window: "1m0s"}, by["user_info"])
	assert.Equal(t, line{Endpoint: "creator_info", Limit: 1, Window: "30s", PerToken: true}, by["creator_info"])
	assert.Equal(t, 600, by["video_list"].Limit, "not listed: unchanged")

	tok := quotaToken(t, emu)
	for range 2 {
		require.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status)
	}
	r = bearerGet(t, emu, userInfoPath, tok)
	apiErr(t, r, http.StatusTooManyRequests, "rate_limit_exceeded", msgRateLimited)
	assert.Equal(t, "60", r.header.Get("Retry-After"))
	require.Equal(t, http.StatusOK, creatorInfo(t, emu, tok).status)
	require.Equal(t, http.StatusTooManyRequests, creatorInfo(t, emu, tok).status)

	_, by = decode(ctl(t, emu, http.MethodGet, "/_emulator/quotas", "", ""))
	assert.Equal(t, line{Endpoint: "user_info", Limit: 2, Window: "1m0s", InWindow: 2, Peak: 3, RateLimited: 1}, by["user_info"])
	assert.Equal(t, line{Endpoint: "creator_info", Limit: 1, Window: "30s", PerToken: true, InWindow: 1, Tokens: 1, Peak: 2, RateLimited: 1}, by["creator_info"])
	var counters struct {
		RateLimited map[string]int `json:"rate_limited"`
		QuotaPeak   map[string]int `json:"quota_peak"`
	}
	require.NoError(t, json.Unmarshal(ctl(t, emu, http.MethodGet, "/_emulator/counters", "", "").body, &counters))
	assert.Equal(t, 1, counters.RateLimited["user_info"])
	assert.Equal(t, 3, counters.QuotaPeak["user_info"])

	// reset-quotas makes every quota whole.
	assert.Equal(t, http.StatusOK, ctl(t, emu, http.MethodPost, "/_emulator/reset-quotas", "", "").status)
	require.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status)

	// Bad input changes nothing, even the valid members beside it.
	before := ctl(t, emu, http.MethodGet, "/_emulator/quotas", "", "").body
	for _, body := range []string{
		`{"quotas":{"user_info":"3/1m","token":"1/1s"}}`,
		`{"quotas":{"user_info":"3/1m","nope":"1/1s"}}`,
		`{"quotas":{"user_info":"abc"}}`,
		`{"quotas":{"user_info":"0/1m"}}`,
		`{"quotas":{"user_info":{"limit":-1,"window":"1m"}}}`,
		`{"quotas":{"user_info":{"limit":5}}}`,
		`{"quotas":{"user_info":{"limit":5,"window":"soon"}}}`,
		`{"quotas":{"user_info":{"limit":5,"window":"1m","per":true}}}`,
		`{"quotas":{"user_info":null}}`,
		`{"quotas":{"user_info":5}}`,
		`{"quota":{"user_info":"3/1m"}}`,
		`{"retry_after":"yes"}`,
		`[]`,
		`not json`,
	} {
		r := ctl(t, emu, http.MethodPost, "/_emulator/quotas", jsonType, body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", body, r.body)
		assert.Contains(t, string(r.body), `"error":"tiktoktest: quotas`, body)
	}
	assert.JSONEq(t, string(before), string(ctl(t, emu, http.MethodGet, "/_emulator/quotas", "", "").body))

	// PUT replaces the whole set: endpoints not listed lose their limit.
	st, by = decode(ctl(t, emu, http.MethodPut, "/_emulator/quotas", jsonType, `{"quotas":{"video_list":"5/10s/token","user_info":"off"},"retry_after":false}`))
	assert.False(t, st.RetryAfter)
	assert.Equal(t, line{Endpoint: "video_list", Limit: 5, Window: "10s", PerToken: true}, by["video_list"])
	for e, l := range by {
		if e != "video_list" {
			assert.Zero(t, l.Limit, e)
		}
	}
	assert.Equal(t, map[tiktoktest.Endpoint]tiktoktest.Quota{tiktoktest.EndpointVideoList: {Limit: 5, Window: 10 * time.Second, PerToken: true}}, emu.Quotas())
	for range 3 {
		require.Equal(t, http.StatusOK, bearerGet(t, emu, userInfoPath, tok).status)
	}
}
