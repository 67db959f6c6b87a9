// Package storetest is a conformance suite for tokenstore.Store
// implementations, the package's own and yours. Call Run from a test with a
// function that makes an empty store:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) tokenstore.Store {
//			return mystore.New(...) // empty, private to this subtest
//		})
//	}
//
// The suite checks the Store contract documented in package tokenstore:
// round trips with every field set, not found, overwrite, delete (also of a
// missing key), that Put stores a copy, keys that differ only slightly or
// are long and full of Unicode, and concurrent writers on one key and on
// many keys. When the store is a tokenstore.Leaser it checks that a lease is
// exclusive, renewable by its holder, released only by its holder, won by
// exactly one of many racing holders, independent of the token, and that it
// expires (this waits a few hundred milliseconds of real time). When the
// store is a tokenstore.Lister it checks Keys, and when it is a
// tokenstore.Replacer it checks that Replace is a compare and swap. A
// tokenstore.LeaseTakeover must report a takeover exactly when it took a
// lapsed or bogus lease from another holder (not a free, released or own
// one), and a tokenstore.LeaseClearer must store the token and free the
// lease whoever held it, while a plain Put keeps it.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Option changes how Run drives the store.
type Option func(*config)

type config struct {
	ctx      func(t *testing.T) context.Context
	leaseTTL time.Duration
	workers  int
}

// WithContext makes every call of a subtest use the context newCtx returns
// (called once per subtest, after the store is made) instead of
// t.Context(). Stores that need something in the context, such as the
// scs session of tokenstore.Session, use it.
func WithContext(newCtx func(t *testing.T) context.Context) Option {
	return func(c *config) { c.ctx = newCtx }
}

// WithLeaseTTL sets the lease lifetime the expiry check waits for. Default
// 300ms; raise it for a store whose calls take longer than a tenth of that.
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) { c.leaseTTL = d }
}

// WithWorkers sets how many goroutines the concurrency checks run. Default
// 16.
func WithWorkers(n int) Option {
	return func(c *config) { c.workers = n }
}

// Run runs the suite as subtests of t. newStore must return an empty store
// each time it is called; the suite calls it once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) tokenstore.Store, opts ...Option) {
	cfg := config{
		ctx:      func(t *testing.T) context.Context { return t.Context() },
		leaseTTL: 300 * time.Millisecond,
		workers:  16,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := suite{cfg: cfg, newStore: newStore}
	tests := []struct {
		name string
		run  func(*testing.T, tokenstore.Store, context.Context)
	}{
		{"GetMissing", s.getMissing},
		{"RoundTrip", s.roundTrip},
		{"PutStoresACopy", s.putStoresACopy},
		{"Overwrite", s.overwrite},
		{"Delete", s.delete},
		{"DeleteMissing", s.deleteMissing},
		{"PutNil", s.putNil},
		{"DistinctKeys", s.distinctKeys},
		{"LargeAndUnicodeKeys", s.largeKeys},
		{"ConcurrentWritersOneKey", s.concurrentOneKey},
		{"ConcurrentManyKeys", s.concurrentManyKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			require.NotNil(t, st, "newStore returned nil")
			tc.run(t, st, cfg.ctx(t))
		})
	}
	t.Run("Lease", func(t *testing.T) {
		if _, ok := newStore(t).(tokenstore.Leaser); !ok {
			t.Skip("the store is not a tokenstore.Leaser")
		}
		leaseTests := []struct {
			name string
			run  func(*testing.T, tokenstore.Store, tokenstore.Leaser, context.Context)
		}{
			{"Exclusive", s.leaseExclusive},
			{"OnlyHolderReleases", s.leaseRelease},
			{"OneWinnerOfMany", s.leaseRace},
			{"IndependentOfToken", s.leaseIndependent},
			{"Expires", s.leaseExpires},
			{"TooFarAheadIsLapsed", s.leaseTooFarAhead},
		}
		for _, tc := range leaseTests {
			t.Run(tc.name, func(t *testing.T) {
				st := newStore(t)
				tc.run(t, st, st.(tokenstore.Leaser), cfg.ctx(t))
			})
		}
	})
	t.Run("LeaseTakeover", func(t *testing.T) { runWith(t, newStore, cfg, "tokenstore.LeaseTakeover", s.leaseTakeover) })
	t.Run("PutClearLease", func(t *testing.T) { runWith(t, newStore, cfg, "tokenstore.LeaseClearer", s.putClearLease) })
	t.Run("Replace", func(t *testing.T) { runWith(t, newStore, cfg, "tokenstore.Replacer", s.replace) })
	t.Run("Keys", func(t *testing.T) { runWith(t, newStore, cfg, "tokenstore.Lister", s.keys) })
}

// runWith runs check on a new store when the store implements the optional
// interface C, and skips the test otherwise.
func runWith[C any](t *testing.T, newStore func(t *testing.T) tokenstore.Store, cfg config, name string,
	check func(*testing.T, tokenstore.Store, C, context.Context)) {
	st := newStore(t)
	c, ok := st.(C)
	if !ok {
		t.Skipf("the store is not a %s", name)
	}
	check(t, st, c, cfg.ctx(t))
}

type suite struct {
	cfg      config
	newStore func(t *testing.T) tokenstore.Store
}

// FullToken returns a token with every field set, its values derived from
// n, with times that carry nanoseconds and a non-UTC zone so that a lossy
// encoding shows up.
func FullToken(n int) *client.Token {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	base := time.Date(2031, time.March, 14, 15, 9, 26, 535897932, zone)
	return &client.Token{
		AccessToken:   fmt.Sprintf("act.%d.%s", n, strings.Repeat("A9z", 20)),
		RefreshToken:  fmt.Sprintf("rft.%d.%s", n, strings.Repeat("r-_", 20)),
		TokenType:     "Bearer",
		OpenID:        fmt.Sprintf("open-id-%d", n),
		Scopes:        []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile, client.ScopeVideoList},
		Expiry:        base.Add(time.Duration(n) * time.Second),
		RefreshExpiry: base.Add(365 * 24 * time.Hour),
	}
}

// Equal reports the difference between two tokens ("" when equal), with
// times compared as instants and nil and empty scope lists equal.
func Equal(want, got *client.Token) string {
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}

func (s suite) getMissing(t *testing.T, st tokenstore.Store, ctx context.Context) {
	tok, err := st.Get(ctx, "missing")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	assert.Nil(t, tok)
}

func (s suite) roundTrip(t *testing.T, st tokenstore.Store, ctx context.Context) {
	cases := []struct {
		name string
		tok  *client.Token
	}{
		{"every field", FullToken(1)},
		{"access token only", &client.Token{AccessToken: "act.only"}},
		{"unknown expiry", &client.Token{AccessToken: "act.x", RefreshToken: "rft.x", OpenID: "o"}},
		{"UTC times", &client.Token{AccessToken: "act.utc", Expiry: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)}},
		{"unicode values", &client.Token{AccessToken: "act.ключ-🔑", RefreshToken: "rft.\"quoted\"\\", OpenID: "用户", Scopes: []string{"é", "✓"}}},
		{"long values", &client.Token{AccessToken: strings.Repeat("a", 4096), RefreshToken: strings.Repeat("r", 4096), Scopes: slices.Repeat([]string{"s"}, 50)}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("round-trip-%d", i)
			require.NoError(t, st.Put(ctx, key, tc.tok))
			got, err := st.Get(ctx, key)
			require.NoError(t, err)
			if d := Equal(tc.tok, got); d != "" {
				t.Errorf("Get after Put (-put +got):\n%s", d)
			}
		})
	}
}

func (s suite) putStoresACopy(t *testing.T, st tokenstore.Store, ctx context.Context) {
	tok := FullToken(2)
	want := FullToken(2)
	require.NoError(t, st.Put(ctx, "copy", tok))
	tok.AccessToken = "act.changed"
	tok.Scopes[0] = "changed"
	got, err := st.Get(ctx, "copy")
	require.NoError(t, err)
	if d := Equal(want, got); d != "" {
		t.Errorf("changing the caller's token after Put changed the stored one (-want +got):\n%s", d)
	}
}

func (s suite) overwrite(t *testing.T, st tokenstore.Store, ctx context.Context) {
	require.NoError(t, st.Put(ctx, "k", FullToken(1)))
	second := &client.Token{AccessToken: "act.second", OpenID: "other"}
	require.NoError(t, st.Put(ctx, "k", second))
	got, err := st.Get(ctx, "k")
	require.NoError(t, err)
	if d := Equal(second, got); d != "" {
		t.Errorf("Get after overwrite (-want +got):\n%s", d)
	}
}

func (s suite) delete(t *testing.T, st tokenstore.Store, ctx context.Context) {
	require.NoError(t, st.Put(ctx, "gone", FullToken(3)))
	require.NoError(t, st.Put(ctx, "stays", FullToken(4)))
	require.NoError(t, st.Delete(ctx, "gone"))
	_, err := st.Get(ctx, "gone")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	got, err := st.Get(ctx, "stays")
	require.NoError(t, err, "Delete of one key removed another")
	assert.Empty(t, Equal(FullToken(4), got))
	require.NoError(t, st.Delete(ctx, "gone"), "second Delete of a key")
	// A deleted key can be written again.
	require.NoError(t, st.Put(ctx, "gone", FullToken(5)))
	got, err = st.Get(ctx, "gone")
	require.NoError(t, err)
	assert.Empty(t, Equal(FullToken(5), got))
}

// replace checks that Replace is a compare and swap: it overwrites only the
// token the caller names, never a missing key, a deleted one, a key that
// holds only a lease or another token, and of many racing Replaces of one
// token exactly one wins.
func (s suite) replace(t *testing.T, st tokenstore.Store, r tokenstore.Replacer, ctx context.Context) {
	ok, err := r.Replace(ctx, "absent", FullToken(0), FullToken(1))
	require.NoError(t, err)
	require.False(t, ok, "Replace of a missing key reported success")
	_, err = st.Get(ctx, "absent")
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "Replace of a missing key stored a token")

	require.NoError(t, st.Put(ctx, "k", FullToken(2)))
	ok, err = r.Replace(ctx, "k", FullToken(2), FullToken(3))
	require.NoError(t, err)
	require.True(t, ok, "Replace of the stored token reported failure")
	got, err := st.Get(ctx, "k")
	require.NoError(t, err)
	if d := Equal(FullToken(3), got); d != "" {
		t.Errorf("Get after Replace (-want +got):\n%s", d)
	}

	// The key now holds 3: a Replace that expects 2 must not write.
	ok, err = r.Replace(ctx, "k", FullToken(2), FullToken(4))
	require.NoError(t, err)
	require.False(t, ok, "Replace of a token that is no longer stored reported success")
	got, err = st.Get(ctx, "k")
	require.NoError(t, err)
	assert.Empty(t, Equal(FullToken(3), got), "Replace overwrote a token other than the one named")

	require.NoError(t, st.Delete(ctx, "k"))
	ok, err = r.Replace(ctx, "k", FullToken(3), FullToken(5))
	require.NoError(t, err)
	require.False(t, ok, "Replace after Delete reported success")
	_, err = st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "Replace brought a deleted token back")

	require.NoError(t, st.Put(ctx, "nil", FullToken(6)))
	_, err = r.Replace(ctx, "nil", FullToken(6), nil)
	require.Error(t, err, "Replace with a nil token must fail")

	if l, ok := st.(tokenstore.Leaser); ok {
		won, err := l.TryLease(ctx, "leased", "holder", time.Minute)
		require.NoError(t, err)
		require.True(t, won)
		ok, err = r.Replace(ctx, "leased", FullToken(6), FullToken(7))
		require.NoError(t, err)
		require.False(t, ok, "Replace of a key that holds only a lease reported success")
		_, err = st.Get(ctx, "leased")
		require.ErrorIs(t, err, tokenstore.ErrNotFound)

		require.NoError(t, st.Put(ctx, "leased", FullToken(8)))
		ok, err = r.Replace(ctx, "leased", FullToken(8), FullToken(9))
		require.NoError(t, err)
		require.True(t, ok)
		won, err = l.TryLease(ctx, "leased", "other", time.Minute)
		require.NoError(t, err)
		require.False(t, won, "Replace ended the lease")
	}

	// Racing Replaces of one token: exactly one wins, whole.
	require.NoError(t, st.Put(ctx, "race", FullToken(100)))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []int
	)
	for i := 1; i <= s.cfg.workers; i++ {
		wg.Go(func() {
			ok, err := r.Replace(ctx, "race", FullToken(100), FullToken(100+i))
			if err != nil {
				t.Errorf("Replace %d: %v", i, err)
				return
			}
			if ok {
				mu.Lock()
				wins = append(wins, i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, wins, 1, "racing Replaces of one token: want exactly one winner")
	got, err = st.Get(ctx, "race")
	require.NoError(t, err)
	assert.Empty(t, Equal(FullToken(100+wins[0]), got), "the stored token is not the winner's")
}

func (s suite) deleteMissing(t *testing.T, st tokenstore.Store, ctx context.Context) {
	require.NoError(t, st.Delete(ctx, "never-stored"))
}

func (s suite) putNil(t *testing.T, st tokenstore.Store, ctx context.Context) {
	require.Error(t, st.Put(ctx, "nil", nil), "Put of a nil token must fail")
	_, err := st.Get(ctx, "nil")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}

// distinctKeys are keys that a careless store would merge: case, trailing
// space, Unicode normalisation forms, prefixes, and SQL wildcard or quote
// characters.
var distinctKeys = []string{
	"user", "User", "USER", "user ", " user", "use", "user1",
	"caf\u00e9", "cafe\u0301", "a%", "a_", "a'b", `a"b`, "a\\b", "a;DROP TABLE tiktok_tokens;--",
	"-000", "0", "open_id:abc/def?x=1#y",
}

func (s suite) distinctKeys(t *testing.T, st tokenstore.Store, ctx context.Context) {
	for i, k := range distinctKeys {
		require.NoError(t, st.Put(ctx, k, FullToken(i)), "Put %q", k)
	}
	for i, k := range distinctKeys {
		got, err := st.Get(ctx, k)
		require.NoError(t, err, "Get %q", k)
		if d := Equal(FullToken(i), got); d != "" {
			t.Errorf("key %q holds another key's token (-want +got):\n%s", k, d)
		}
	}
}

func (s suite) largeKeys(t *testing.T, st tokenstore.Store, ctx context.Context) {
	keys := []string{
		strings.Repeat("k", 255),
		strings.Repeat("🔑", 255),
		strings.Repeat("ключ", 63) + "end",
		"用户-" + strings.Repeat("é", 200),
		"\t tab and\nnewline",
	}
	for i, k := range keys {
		require.NoError(t, st.Put(ctx, k, FullToken(i)), "Put key of %d bytes", len(k))
	}
	for i, k := range keys {
		got, err := st.Get(ctx, k)
		require.NoError(t, err, "Get key of %d bytes", len(k))
		assert.Empty(t, Equal(FullToken(i), got), "key of %d bytes", len(k))
	}
	// Near misses of a long key are other keys.
	_, err := st.Get(ctx, strings.Repeat("k", 254))
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}
