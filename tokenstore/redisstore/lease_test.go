package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

// TestLeaseOnlyHolder: only the holder extends or releases a lease; the
// others change nothing, its expiry included.
func TestLeaseOnlyHolder(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.Client(t)
	st := newStore(t, rdb, nil)
	pttl := func() time.Duration {
		t.Helper()
		d, err := rdb.PTTL(ctx, leaseKey(st, "k")).Result()
		require.NoError(t, err)
		return d
	}
	won, err := st.TryLease(ctx, "k", "a", 2*time.Second)
	require.NoError(t, err)
	require.True(t, won)
	assert.LessOrEqual(t, pttl(), 2*time.Second)

	won, err = st.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	assert.False(t, won)
	assert.LessOrEqual(t, pttl(), 2*time.Second, "a failed TryLease extended another holder's lease")

	require.NoError(t, st.ReleaseLease(ctx, "k", "b"))
	holder, _, err := st.LeaseHolder(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "a", holder, "a release by b freed a's lease")

	won, err = st.TryLease(ctx, "k", "a", time.Hour)
	require.NoError(t, err)
	require.True(t, won, "the holder extends its lease")
	assert.Greater(t, pttl(), 59*time.Minute, "the extension sets the new ttl")

	_, err = st.TryLease(ctx, "k", "", time.Second)
	require.Error(t, err, "an empty holder")

	require.NoError(t, st.ReleaseLease(ctx, "k", "a"))
	holder, left, err := st.LeaseHolder(ctx, "k")
	require.NoError(t, err)
	assert.Empty(t, holder)
	assert.Zero(t, left)
	n, err := rdb.Exists(ctx, leaseKey(st, "k")).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "a released lease leaves no key behind")

	// A tiny ttl still makes a lease that expires.
	won, err = st.TryLease(ctx, "tiny", "a", time.Microsecond)
	require.NoError(t, err)
	require.True(t, won)
	require.Eventually(t, func() bool {
		won, err := st.TryLease(ctx, "tiny", "b", time.Minute)
		return err == nil && won
	}, 5*time.Second, 5*time.Millisecond)
}

// TestDeleteEndsLease: Delete removes the lease with the token; Put and
// Replace keep it.
func TestDeleteEndsLease(t *testing.T) {
	ctx := t.Context()
	st := newStore(t, testredis.Client(t), nil)
	require.NoError(t, st.Put(ctx, "k", storetest.FullToken(1)))
	won, err := st.TryLease(ctx, "k", "a", time.Hour)
	require.NoError(t, err)
	require.True(t, won)
	require.NoError(t, st.Delete(ctx, "k"))
	won, err = st.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	assert.True(t, won, "Delete ends the lease")
}

// TestReplaceAtomicUnderConcurrency: workers on two instances (two
// clients) each read the token and replace it with one of their own, over
// and over. Every successful Replace must have replaced the token it
// read, so the winners form one unbroken chain from the first token to the
// last: no update lost, none applied on top of another.
func TestReplaceAtomicUnderConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(testing.TB) redis.UniversalClient
	}{
		{"standalone", testredis.Client},
		{"cluster", testredis.ClusterClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ring := testKeyRing(t, "k1")
			a := newStore(t, tc.client(t), ring)
			b := newStoreWithPrefix(t, tc.client(t), ring, a.Prefix())
			first := &client.Token{AccessToken: "act.0", RefreshToken: "rft.0"}
			require.NoError(t, a.Put(ctx, "k", first))
			const workers, rounds = 16, 25
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				parent = map[string]string{} // winner's access token -> the one it replaced
			)
			for w := range workers {
				st := a
				if w%2 == 1 {
					st = b
				}
				wg.Go(func() {
					for r := range rounds {
						cur, err := st.Get(ctx, "k")
						if err != nil {
							t.Error(err)
							return
						}
						next := &client.Token{AccessToken: fmt.Sprintf("act.%d.%d", w, r), RefreshToken: fmt.Sprintf("rft.%d.%d", w, r)}
						ok, err := st.Replace(ctx, "k", cur, next)
						if err != nil {
							t.Error(err)
							return
						}
						if ok {
							mu.Lock()
							parent[next.AccessToken] = cur.AccessToken
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			last, err := a.Get(ctx, "k")
			require.NoError(t, err)
			steps := 0
			for at := last.AccessToken; at != first.AccessToken; steps++ {
				p, ok := parent[at]
				require.True(t, ok, "%s is stored but no winning Replace wrote it", at)
				at = p
				require.LessOrEqual(t, steps, len(parent))
			}
			assert.Equal(t, len(parent), steps, "every winning Replace is on the chain from the first token to the last")
			assert.Greater(t, len(parent), 1)
			t.Logf("%d of %d Replaces won", len(parent), workers*rounds)
		})
	}
}

// TestKeysOnCluster: Keys finds keys on every master and returns each once,
// sorted.
func TestKeysOnCluster(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.ClusterClient(t)
	st := newStore(t, rdb, nil)
	var want []string
	for i := range 300 {
		k := fmt.Sprintf("user-%03d-%c", i, 'z'-i%26)
		want = append(want, k)
		require.NoError(t, st.Put(ctx, k, storetest.FullToken(i)))
		if i%3 == 0 {
			won, err := st.TryLease(ctx, k, "h", time.Minute) // leases are not listed
			require.NoError(t, err)
			require.True(t, won)
		}
	}
	won, err := st.TryLease(ctx, "lease-only", "h", time.Minute)
	require.NoError(t, err)
	require.True(t, won)
	other := newStore(t, rdb, nil) // another prefix is another store
	require.NoError(t, other.Put(ctx, "elsewhere", storetest.FullToken(1)))

	var (
		mu      sync.Mutex
		masters int
	)
	require.NoError(t, rdb.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		keys, err := n.Keys(ctx, st.Prefix()+"*").Result()
		if len(keys) > 0 {
			mu.Lock()
			masters++
			mu.Unlock()
		}
		return err
	}))
	require.GreaterOrEqual(t, masters, 2, "the keys are spread over the masters")

	got, err := st.Keys(ctx)
	require.NoError(t, err)
	slices.Sort(want)
	assert.Equal(t, want, got)
}
