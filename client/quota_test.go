package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// arrivals is a user-info server that records when each request arrived.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
	srv   *httptest.Server
	// answer429 makes the next n answers 429 (with retryAfter when set).
	answer429  atomic.Int32
	retryAfter string
}

func newArrivals(t *testing.T) *arrivals {
	a := &arrivals{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.times = append(a.times, time.Now())
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if a.answer429.Add(-1) >= 0 {
			if a.retryAfter != "" {
				w.Header().Set("Retry-After", a.retryAfter)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"data":{},"error":{"code":"rate_limit_exceeded","message":"slow down","log_id":"l"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":{"user":{"open_id":"o"}},"error":{"code":"ok","message":"","log_id":"l"}}`))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *arrivals) all() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.times)
}

func quotaClient(t *testing.T, apiURL string, quotas map[string]client.Quota, mod ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{ClientKey: "k", ClientSecret: "s", APIURL: apiURL, Quotas: quotas,
		Retry: client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(cfg)
	require.NoError(t, err)
	return c
}

// TestQuotaJob runs 1,000 user-info calls from 20 goroutines against the
// emulator keeping a quota of 250 per 3 s, with the client keeping the same:
// the emulator answers no 429, never sees more than the quota in any 3 s,
// and the job ends within 10 % of the fastest time the quota allows (the
// first 250 at once, then 250 a window: 3 windows, plus the time the same
// workers need for a window's worth of calls).
func TestQuotaJob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 10 s")
	}
	const calls, workers = 1000, 20
	// Windows of 3 s keep the 10 % margin (0.9 s) above the scheduling noise
	// of a loaded machine running the race detector.
	q := client.Quota{Limit: 250, Window: 3 * time.Second}
	start := func(cfg tiktoktest.Config, quotas map[string]client.Quota, noQuotas bool) (*tiktoktest.Server, *client.UserClient) {
		emu := tiktoktest.NewServer(cfg)
		t.Cleanup(emu.Close)
		c, err := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL(),
			Quotas: quotas, NoQuotas: noQuotas})
		require.NoError(t, err)
		return emu, c.WithToken(mediaToken(t, emu, mediaAlice, client.ScopeUserInfoBasic))
	}
	job := func(u *client.UserClient, n int) time.Duration {
		start := time.Now()
		var next atomic.Int32
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for int(next.Add(1)) <= n {
					if _, err := u.UserInfo(context.Background(), client.FieldOpenID); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	// Baseline, in the same run: a window's worth of calls with no quota
	// anywhere.
	_, free := start(tiktoktest.Config{NoQuotas: true}, nil, true)
	batch := job(free, q.Limit)

	emu, u := start(tiktoktest.Config{Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
		tiktoktest.EndpointUserInfo: {Limit: q.Limit, Window: q.Window},
	}}, map[string]client.Quota{client.EndpointUserInfo: q}, false)
	took := job(u, calls)
	assert.Zero(t, emu.RateLimited(tiktoktest.EndpointUserInfo), "the emulator answered no 429")
	assert.Equal(t, calls, emu.Calls(tiktoktest.EndpointUserInfo), "every call reached it once: no retry")
	assert.LessOrEqual(t, emu.Counters().QuotaPeak[tiktoktest.EndpointUserInfo], q.Limit, "never more than the quota in any window")
	fastest := time.Duration((calls-1)/q.Limit)*q.Window + batch
	assert.Less(t, took, fastest+fastest/10, "within 10%% of the fastest time the quota allows (%v)", fastest)
	t.Logf("1,000 calls in %v; fastest the quota allows: %v (3 windows + %v for a window's worth)", took, fastest, batch)
}

// TestQuotaDeadline: a call whose wait for a slot would pass its context's
// deadline fails at once, as rate limited, with the wait it needs, and
// sends nothing.
func TestQuotaDeadline(t *testing.T) {
	a := newArrivals(t)
	c := quotaClient(t, a.srv.URL, map[string]client.Quota{client.EndpointUserInfo: {Limit: 2, Window: time.Minute}})
	u := c.WithToken(&client.Token{AccessToken: "act.deadline"})
	for range 2 {
		_, err := u.UserInfo(context.Background(), client.FieldOpenID)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := u.UserInfo(ctx, client.FieldOpenID)
	assert.Less(t, time.Since(start), time.Second, "fails at once instead of waiting out the deadline")
	require.ErrorIs(t, err, client.ErrRateLimited)
	assert.True(t, client.IsTemporary(err))
	var qe *client.QuotaError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, client.EndpointUserInfo, qe.Endpoint)
	assert.Equal(t, client.Quota{Limit: 2, Window: time.Minute}, qe.Quota)
	assert.Greater(t, qe.RetryAfter, 55*time.Second)
	assert.Equal(t, qe.RetryAfter, client.RetryAfter(err))
	assert.Contains(t, err.Error(), "user_info: quota 2/1m0s spent, next slot in")
	assert.Len(t, a.all(), 2, "nothing sent")

	t.Run("WithQuotaWait bounds only the wait", func(t *testing.T) {
		start := time.Now()
		_, err := u.UserInfo(client.WithQuotaWait(context.Background(), 100*time.Millisecond), client.FieldOpenID)
		assert.Less(t, time.Since(start), time.Second)
		var qe *client.QuotaError
		require.ErrorAs(t, err, &qe)
		assert.Greater(t, qe.RetryAfter, 55*time.Second)

		free := quotaClient(t, a.srv.URL, map[string]client.Quota{client.EndpointUserInfo: {Limit: 5, Window: 300 * time.Millisecond}})
		fu := free.WithToken(&client.Token{AccessToken: "act.free"})
		for range 10 {
			_, err := fu.UserInfo(client.WithQuotaWait(context.Background(), time.Second), client.FieldOpenID)
			require.NoError(t, err, "waits within the bound are taken")
		}
		ctx, cancel := context.WithTimeout(client.WithQuotaWait(context.Background(), time.Hour), 10*time.Second)
		defer cancel()
		_, err = u.UserInfo(ctx, client.FieldOpenID)
		assert.ErrorAs(t, err, &qe, "a nearer deadline still wins")
	})
	t.Run("a context that ends while waiting", func(t *testing.T) {
		c := quotaClient(t, a.srv.URL, map[string]client.Quota{client.EndpointUserInfo: {Limit: 1, Window: time.Minute}})
		u := c.WithToken(&client.Token{AccessToken: "act.cancel"})
		_, err := u.UserInfo(context.Background(), client.FieldOpenID)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err = u.UserInfo(ctx, client.FieldOpenID)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestQuotaPosting: ten video inits in a row for one user. TikTok allows six
// a minute per user token: the seventh fails fast under a short deadline
// instead of reaching TikTok, and another user's token is not held back.
func TestQuotaPosting(t *testing.T) {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	t.Cleanup(emu.Close)
	c, err := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL()})
	require.NoError(t, err)
	post := func(ctx context.Context, tok *client.Token) error {
		_, err := c.WithToken(tok).DirectPostVideo(ctx, client.DirectPostRequest{
			PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
			Source:   client.VideoSource{Kind: client.SourcePullFromURL, VideoURL: "https://media.example/v.mp4"},
		})
		return err
	}
	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"media.example"}})
	alice := mediaToken(t, emu, mediaAlice, client.ScopeVideoPublish)
	var refused int
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := post(ctx, alice)
		cancel()
		if i < 6 {
			require.NoError(t, err, "init %d", i+1)
			continue
		}
		require.ErrorIs(t, err, client.ErrRateLimited, "init %d", i+1)
		var qe *client.QuotaError
		require.ErrorAs(t, err, &qe)
		assert.Equal(t, client.EndpointVideoInit, qe.Endpoint)
		refused++
	}
	assert.Equal(t, 4, refused)
	assert.Equal(t, 6, emu.Calls(tiktoktest.EndpointVideoInit), "the refused inits never reached TikTok")

	bob := mediaToken(t, emu, mediaBob, client.ScopeVideoPublish)
	require.NoError(t, post(context.Background(), bob), "the quota is per user token")
}

// TestQuota429BacksOff: a 429 from TikTok although the limiter allowed the
// call (another app shares the key) pauses the endpoint: for the Retry-After
// when TikTok sends one, else for the rest of the window.
func TestQuota429BacksOff(t *testing.T) {
	t.Run("Retry-After", func(t *testing.T) {
		a := newArrivals(t)
		a.retryAfter = "1"
		a.answer429.Store(1)
		c := quotaClient(t, a.srv.URL, map[string]client.Quota{client.EndpointUserInfo: {Limit: 100, Window: time.Minute}},
			func(cfg *client.Config) { cfg.Retry.MaxAttempts = 1 })
		u := c.WithToken(&client.Token{AccessToken: "act.429"})
		_, err := u.UserInfo(context.Background(), client.FieldOpenID)
		require.ErrorIs(t, err, client.ErrRateLimited)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err = u.UserInfo(ctx, client.FieldOpenID)
		var qe *client.QuotaError
		require.ErrorAs(t, err, &qe, "paused for TikTok's Retry-After")
		assert.Greater(t, qe.RetryAfter, 700*time.Millisecond)
		start := time.Now()
		_, err = u.UserInfo(context.Background(), client.FieldOpenID)
		require.NoError(t, err)
		assert.Greater(t, time.Since(start), 500*time.Millisecond, "waited out the pause")
		times := a.all()
		require.Len(t, times, 2)
		assert.GreaterOrEqual(t, times[1].Sub(times[0]), time.Second-10*time.Millisecond)
	})
	t.Run("rest of the window", func(t *testing.T) {
		a := newArrivals(t)
		a.answer429.Store(1)
		c := quotaClient(t, a.srv.URL, map[string]client.Quota{client.EndpointUserInfo: {Limit: 100, Window: 800 * time.Millisecond}})
		u := c.WithToken(&client.Token{AccessToken: "act.429"})
		start := time.Now()
		_, err := u.UserInfo(context.Background(), client.FieldOpenID)
		require.NoError(t, err, "the retry goes once the window has passed")
		assert.GreaterOrEqual(t, time.Since(start), 800*time.Millisecond)
		assert.Len(t, a.all(), 2)
	})
}

// failingLimiter is a limiter whose store is down.
type failingLimiter struct{ reserves atomic.Int32 }

func (l *failingLimiter) Reserve(context.Context, string, client.Quota, time.Duration) (time.Duration, bool, error) {
	l.reserves.Add(1)
	return 0, false, errors.New("limiter store: connection refused")
}

func (l *failingLimiter) Pause(context.Context, string, client.Quota, time.Duration) error {
	return errors.New("limiter store: connection refused")
}

func TestQuotaLimiterDown(t *testing.T) {
	a := newArrivals(t)
	l := &failingLimiter{}
	c := quotaClient(t, a.srv.URL, nil, func(cfg *client.Config) { cfg.Limiter = l })
	_, err := c.WithToken(&client.Token{AccessToken: "act.down"}).UserInfo(context.Background(), client.FieldOpenID)
	require.NoError(t, err, "a limiter that cannot answer does not stop the call")
	assert.Equal(t, int32(1), l.reserves.Load())
	assert.Len(t, a.all(), 1)
}

// recordingLimiter notes the keys it is asked about.
type recordingLimiter struct {
	mu   sync.Mutex
	keys []string
}

func (l *recordingLimiter) Reserve(_ context.Context, key string, _ client.Quota, _ time.Duration) (time.Duration, bool, error) {
	l.mu.Lock()
	l.keys = append(l.keys, key)
	l.mu.Unlock()
	return 0, true, nil
}

func (l *recordingLimiter) Pause(context.Context, string, client.Quota, time.Duration) error {
	return nil
}

func TestQuotaKeys(t *testing.T) {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	t.Cleanup(emu.Close)
	l := &recordingLimiter{}
	c, err := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL(), Limiter: l})
	require.NoError(t, err)
	tok := mediaToken(t, emu, mediaAlice, client.ScopeUserInfoBasic, client.ScopeVideoPublish)
	u := c.WithToken(tok)
	_, err = u.UserInfo(context.Background(), client.FieldOpenID)
	require.NoError(t, err)
	_, err = u.CreatorInfo(context.Background())
	require.NoError(t, err)
	// A raw call to a limited path is counted like the typed one.
	require.NoError(t, u.Do(context.Background(), client.Request{Path: client.PathUserInfo, Query: map[string][]string{"fields": {"open_id"}}}, nil))
	require.Len(t, l.keys, 3)
	assert.Equal(t, "user_info", l.keys[0])
	assert.True(t, strings.HasPrefix(l.keys[1], "creator_info:"), l.keys[1])
	assert.NotContains(t, l.keys[1], tok.AccessToken)
	assert.Equal(t, "user_info", l.keys[2])
}

// quotaHooks records the quota waits and attempts a client reports.
type quotaHooks struct {
	mu       sync.Mutex
	waits    []time.Duration
	refused  []bool
	attempts int
	ends     []client.CallReport
}

func (h *quotaHooks) CallStart(ctx context.Context, _ client.CallInfo) context.Context { return ctx }
func (h *quotaHooks) Attempt(context.Context, client.AttemptReport) {
	h.mu.Lock()
	h.attempts++
	h.mu.Unlock()
}
func (h *quotaHooks) CallEnd(_ context.Context, r client.CallReport) {
	h.mu.Lock()
	h.ends = append(h.ends, r)
	h.mu.Unlock()
}
func (h *quotaHooks) QuotaWait(_ context.Context, endpoint string, wait time.Duration, refused bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if endpoint != client.EndpointUserInfo {
		panic("unexpected endpoint " + endpoint)
	}
	h.waits = append(h.waits, wait)
	h.refused = append(h.refused, refused)
}
func (h *quotaHooks) UploadBytes(context.Context, int64) {}

func TestQuotaHooks(t *testing.T) {
	a := newArrivals(t)
	h := &quotaHooks{}
	c := quotaClient(t, a.srv.URL, map[string]client.Quota{client.EndpointUserInfo: {Limit: 1, Window: 200 * time.Millisecond}},
		func(cfg *client.Config) { cfg.Hooks = h })
	u := c.WithToken(&client.Token{AccessToken: "act.hooks"})
	for range 2 {
		_, err := u.UserInfo(context.Background(), client.FieldOpenID)
		require.NoError(t, err)
	}
	_, err := u.UserInfo(client.WithQuotaWait(context.Background(), 0), client.FieldOpenID)
	require.ErrorIs(t, err, client.ErrRateLimited)
	require.Len(t, h.waits, 2, "the second call waited, the third was refused; the first did not wait")
	assert.Equal(t, []bool{false, true}, h.refused)
	assert.Greater(t, h.waits[0], 100*time.Millisecond)
	assert.Equal(t, 2, h.attempts, "a call the quota held back is no attempt: nothing was sent")
	require.Len(t, h.ends, 3)
	assert.Zero(t, h.ends[2].Attempts)
	assert.Equal(t, client.OutcomeRateLimited, h.ends[2].Outcome)
}
