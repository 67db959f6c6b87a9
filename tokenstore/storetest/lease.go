package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

func (s suite) leaseExclusive(t *testing.T, st tokenstore.Store, l tokenstore.Leaser, ctx context.Context) {
	require.NoError(t, st.Put(ctx, "k", FullToken(1)))
	ok, err := l.TryLease(ctx, "k", "a", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "a free lease must be taken")
	ok, err = l.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "a lease held by a must not go to b")
	ok, err = l.TryLease(ctx, "k", "a", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "the holder renews its own lease")
	ok, err = l.TryLease(ctx, "other", "b", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "a lease on one key must not block another key")
}

func (s suite) leaseRelease(t *testing.T, st tokenstore.Store, l tokenstore.Leaser, ctx context.Context) {
	require.NoError(t, st.Put(ctx, "k", FullToken(1)))
	ok, err := l.TryLease(ctx, "k", "a", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, l.ReleaseLease(ctx, "k", "b"), "release by a non-holder is not an error")
	ok, err = l.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "a release by b must not free a's lease")
	require.NoError(t, l.ReleaseLease(ctx, "k", "a"))
	ok, err = l.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "after a released it, b takes the lease")
	require.NoError(t, l.ReleaseLease(ctx, "never-leased", "a"))
}

func (s suite) leaseRace(t *testing.T, st tokenstore.Store, l tokenstore.Leaser, ctx context.Context) {
	for _, key := range []string{"with-token", "without-token"} {
		if key == "with-token" {
			require.NoError(t, st.Put(ctx, key, FullToken(1)))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		errs := make(chan error, s.cfg.workers)
		start := make(chan struct{})
		for w := range s.cfg.workers {
			wg.Go(func() {
				<-start
				holder := fmt.Sprintf("holder-%d", w)
				ok, err := l.TryLease(ctx, key, holder, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		assert.Len(t, winners, 1, "%s: exactly one of %d racing holders must win, won: %v", key, s.cfg.workers, winners)
	}
}

func (s suite) leaseIndependent(t *testing.T, st tokenstore.Store, l tokenstore.Leaser, ctx context.Context) {
	ok, err := l.TryLease(ctx, "lease-only", "a", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = st.Get(ctx, "lease-only")
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "a lease alone is not a token")
	if lister, ok := st.(tokenstore.Lister); ok {
		keys, err := lister.Keys(ctx)
		require.NoError(t, err)
		assert.NotContains(t, keys, "lease-only", "Keys lists a key that holds only a lease")
	}

	// The holder writes the token under its lease; the lease survives.
	require.NoError(t, st.Put(ctx, "lease-only", FullToken(7)))
	got, err := st.Get(ctx, "lease-only")
	require.NoError(t, err)
	assert.Empty(t, Equal(FullToken(7), got))
	ok, err = l.TryLease(ctx, "lease-only", "b", time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "Put must keep the lease")
	require.NoError(t, l.ReleaseLease(ctx, "lease-only", "a"))
	got, err = st.Get(ctx, "lease-only")
	require.NoError(t, err, "releasing the lease must keep the token")
	assert.Empty(t, Equal(FullToken(7), got))

	// A lease released on a key without a token leaves nothing behind.
	ok, err = l.TryLease(ctx, "ephemeral", "a", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, l.ReleaseLease(ctx, "ephemeral", "a"))
	_, err = st.Get(ctx, "ephemeral")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	ok, err = l.TryLease(ctx, "ephemeral", "b", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
}

func (s suite) leaseExpires(t *testing.T, st tokenstore.Store, l tokenstore.Leaser, ctx context.Context) {
	ttl := s.cfg.leaseTTL
	require.NoError(t, st.Put(ctx, "k", FullToken(1)))
	start := time.Now()
	ok, err := l.TryLease(ctx, "k", "crashed", ttl)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = l.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	if time.Since(start) < ttl*2/3 {
		require.False(t, ok, "the lease went to b before its ttl passed")
	}
	// Wait for the lease to run out: this is what the check is about, so
	// it waits for real time rather than for an event.
	timer := time.NewTimer(time.Until(start.Add(ttl + ttl/4 + 10*time.Millisecond)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	ok, err = l.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "an expired lease must go to the next holder")
	ok, err = l.TryLease(ctx, "k", "crashed", time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "the old holder must not get it back while b holds it")
}

func (s suite) keys(t *testing.T, st tokenstore.Store, l tokenstore.Lister, ctx context.Context) {
	keys, err := l.Keys(ctx)
	require.NoError(t, err)
	assert.Empty(t, keys, "Keys of an empty store")
	want := []string{"b", "a", "c", "ü", "A", "gone"}
	for i, k := range want {
		require.NoError(t, st.Put(ctx, k, FullToken(i)))
	}
	require.NoError(t, st.Put(ctx, "a", FullToken(99)), "overwrite must not list a key twice")
	require.NoError(t, st.Delete(ctx, "gone"))
	keys, err = l.Keys(ctx)
	require.NoError(t, err)
	expected := []string{"A", "a", "b", "c", "ü"}
	if d := cmp.Diff(expected, keys); d != "" {
		t.Errorf("Keys must list every key holding a token once, in byte order (-want +got):\n%s", d)
	}
}

// leaseTooFarAhead: a lease that ends further ahead than the asker's ttl
// could make it (a clock gone wrong, a bad write) counts as lapsed, so it
// cannot block the key for longer than the lease time.
func (s suite) leaseTooFarAhead(t *testing.T, st tokenstore.Store, l tokenstore.Leaser, ctx context.Context) {
	require.NoError(t, st.Put(ctx, "k", FullToken(1)))
	ok, err := l.TryLease(ctx, "k", "skewed", 10*time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = l.TryLease(ctx, "k", "b", 9*time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "a lease within ttl plus a quarter is honoured")
	ok, err = l.TryLease(ctx, "k", "b", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "a lease ending 10h ahead cannot be one of 1h: it is lapsed")
	ok, err = l.TryLease(ctx, "k", "skewed", time.Hour)
	require.NoError(t, err)
	require.False(t, ok, "once taken over, the new holder's lease stands")
}

// leaseTakeover: TryLeaseTakeover wins like TryLease, and says it took the
// lease over only when it took it from another holder whose lease had
// lapsed without a release.
func (s suite) leaseTakeover(t *testing.T, st tokenstore.Store, l tokenstore.LeaseTakeover, ctx context.Context) {
	ttl := s.cfg.leaseTTL
	try := func(key, holder string, ttl time.Duration) (bool, bool) {
		t.Helper()
		won, tookOver, err := l.TryLeaseTakeover(ctx, key, holder, ttl)
		require.NoError(t, err)
		return won, tookOver
	}
	require.NoError(t, st.Put(ctx, "k", FullToken(1)))
	won, tookOver := try("k", "a", time.Hour)
	assert.True(t, won, "a free lease is taken")
	assert.False(t, tookOver, "a free lease is no takeover")
	won, tookOver = try("k", "a", time.Hour)
	assert.True(t, won, "the holder renews its own lease")
	assert.False(t, tookOver, "renewing is no takeover")
	won, tookOver = try("k", "b", time.Hour)
	assert.False(t, won, "a lease held by a must not go to b")
	assert.False(t, tookOver)
	require.NoError(t, l.ReleaseLease(ctx, "k", "a"))
	won, tookOver = try("k", "b", ttl)
	assert.True(t, won, "a released lease is taken")
	assert.False(t, tookOver, "a released lease is no takeover")
	won, tookOver = try("without-token", "a", time.Hour)
	assert.True(t, won, "a key without a row or token can be leased")
	assert.False(t, tookOver)

	// b stops renewing, as a crashed instance or one cut off from the
	// store would.
	timer := time.NewTimer(ttl + ttl/4 + 10*time.Millisecond)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	won, tookOver = try("k", "c", time.Hour)
	assert.True(t, won, "a lapsed lease goes to the next holder")
	assert.True(t, tookOver, "taking a lapsed, unreleased lease is a takeover")
	won, tookOver = try("k", "b", time.Hour)
	assert.False(t, won, "the lapsed holder does not get it back while c holds it")
	assert.False(t, tookOver)

	// A lease ending too far ahead is taken over too.
	won, _ = try("skewed", "x", 10*time.Hour)
	require.True(t, won)
	won, tookOver = try("skewed", "y", time.Hour)
	assert.True(t, won, "a lease ending 10h ahead cannot be one of 1h")
	assert.True(t, tookOver, "it was taken from another holder")

	_, _, err := l.TryLeaseTakeover(ctx, "k", "", time.Hour)
	assert.Error(t, err, "an empty holder is refused")
}

// putClearLease: PutClearLease stores the token and frees the lease,
// whoever holds it; Put keeps it.
func (s suite) putClearLease(t *testing.T, st tokenstore.Store, c tokenstore.LeaseClearer, ctx context.Context) {
	l, ok := st.(tokenstore.Leaser)
	require.True(t, ok, "a LeaseClearer must be a Leaser")
	for _, key := range []string{"with-token", "lease-only"} {
		if key == "with-token" {
			require.NoError(t, st.Put(ctx, key, FullToken(1)))
		}
		won, err := l.TryLease(ctx, key, "crashed", time.Hour)
		require.NoError(t, err)
		require.True(t, won)
		require.NoError(t, c.PutClearLease(ctx, key, FullToken(2)))
		got, err := st.Get(ctx, key)
		require.NoError(t, err)
		if d := Equal(FullToken(2), got); d != "" {
			t.Errorf("%s: PutClearLease stored another token (-want +got):\n%s", key, d)
		}
		won, err = l.TryLease(ctx, key, "next", time.Hour)
		require.NoError(t, err)
		assert.True(t, won, "%s: PutClearLease freed the lease", key)
		require.NoError(t, st.Put(ctx, key, FullToken(3)))
		won, err = l.TryLease(ctx, key, "third", time.Hour)
		require.NoError(t, err)
		assert.False(t, won, "%s: Put keeps the lease", key)
	}
	require.NoError(t, c.PutClearLease(ctx, "never-leased", FullToken(4)))
	got, err := st.Get(ctx, "never-leased")
	require.NoError(t, err)
	assert.Empty(t, Equal(FullToken(4), got))
	assert.Error(t, c.PutClearLease(ctx, "never-leased", nil), "a nil token is refused")
}
