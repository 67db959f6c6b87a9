package redisstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
)

// TestLimiterThreeClientsUnderOneQuota is the app-wide quota kept by three
// instances: three clients, each with its own Redis connection and Limiter
// on one shared prefix, send 600 user-info calls from 8 goroutines each to
// an emulator that keeps 100 calls per 2 s per app. TikTok answers no 429,
// never sees more than the quota in a window, and the job ends within 10 %
// of the fastest time the quota allows (five windows, plus the time the same
// workers take for a window's worth of calls, measured in the same run).
func TestLimiterThreeClientsUnderOneQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 10 s")
	}
	const (
		instances = 3
		workers   = 8
		calls     = 600
	)
	q := client.Quota{Limit: 100, Window: 2 * time.Second}
	emu := tiktoktest.NewServer(tiktoktest.Config{Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
		tiktoktest.EndpointUserInfo: {Limit: q.Limit, Window: q.Window},
	}})
	t.Cleanup(emu.Close)
	tr, err := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, client.ScopeUserInfoBasic)
	require.NoError(t, err)
	tok := &client.Token{AccessToken: tr.AccessToken, OpenID: tr.OpenID}

	prefix := testredis.Prefix(t, testredis.Client(t))
	// instances returns three clients, each with its own Redis connection
	// and Limiter on one prefix; with quota false they keep no quota.
	instances3 := func(prefix string, quota bool) []*client.UserClient {
		var users []*client.UserClient
		for range instances {
			cfg := client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL(), NoQuotas: !quota}
			if quota {
				cfg.Quotas = map[string]client.Quota{client.EndpointUserInfo: q}
				cfg.Limiter = newLimiter(t, testredis.Client(t), prefix)
			}
			c, err := client.New(cfg)
			require.NoError(t, err)
			users = append(users, c.WithToken(tok))
		}
		return users
	}
	var failed atomic.Int32
	job := func(users []*client.UserClient, n int) time.Duration {
		start := time.Now()
		var next atomic.Int32
		var wg sync.WaitGroup
		for _, u := range users {
			for range workers {
				wg.Go(func() {
					for int(next.Add(1)) <= n {
						if _, err := u.UserInfo(context.Background(), client.FieldOpenID); err != nil {
							failed.Add(1)
							t.Log(err)
						}
					}
				})
			}
		}
		wg.Wait()
		return time.Since(start)
	}
	// Baseline, in the same run: the same workers send a window's worth
	// with no quota kept (the emulator's window has room for them: its
	// counts are reset after).
	batch := job(instances3("", false), q.Limit)
	emu.ResetQuotas()
	emu.ResetCounters()

	took := job(instances3(prefix, true), calls)

	assert.Zero(t, failed.Load())
	assert.Zero(t, emu.RateLimited(tiktoktest.EndpointUserInfo), "TikTok answered no 429")
	assert.Equal(t, calls, emu.Calls(tiktoktest.EndpointUserInfo), "no call was sent twice")
	assert.LessOrEqual(t, emu.Counters().QuotaPeak[tiktoktest.EndpointUserInfo], q.Limit, "never more than the quota in any window")
	fastest := time.Duration((calls-1)/q.Limit)*q.Window + batch
	assert.Less(t, took, fastest+fastest/10, "the quota's pace: %v for %v at the fastest", took, fastest)
	t.Logf("%d calls from %d instances in %v; the quota allows %v at the fastest", calls, instances, took, fastest)
}
