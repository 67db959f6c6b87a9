package redisstore_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

// tokenKey and leaseKey spell the Redis key names the package documents.
func tokenKey(st *redisstore.Store, key string) string {
	return st.Prefix() + "{" + base64.RawURLEncoding.EncodeToString([]byte(key)) + "}:token"
}

func leaseKey(st *redisstore.Store, key string) string {
	return st.Prefix() + "{" + base64.RawURLEncoding.EncodeToString([]byte(key)) + "}:lease"
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(testing.TB) redis.UniversalClient
	}{
		{"standalone", testredis.Client},
		{"cluster", testredis.ClusterClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := tc.client(t)
			for _, encrypted := range []bool{true, false} {
				name := "plain"
				var ring *tokenstore.KeyRing
				if encrypted {
					name, ring = "encrypted", testKeyRing(t, "k1")
				}
				t.Run(name, func(t *testing.T) {
					storetest.Run(t, func(t *testing.T) tokenstore.Store { return newStore(t, rdb, ring) })
				})
			}
		})
	}
}

func TestEncryptsAtRest(t *testing.T) {
	rdb := testredis.Client(t)
	st := newStore(t, rdb, testKeyRing(t, "k1"))
	tok := storetest.FullToken(1)
	require.NoError(t, st.Put(t.Context(), "u", tok))
	fields, err := rdb.HGetAll(t.Context(), tokenKey(st, "u")).Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"token", "key_id", "fp"}, keysOf(fields))
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, tok.OpenID, "access_token"} {
		for f, v := range fields {
			assert.NotContains(t, v, secret, "%q in clear in field %s", secret, f)
		}
	}
	assert.Equal(t, "k1", fields["key_id"])
	assert.Len(t, fields["fp"], 64, "a hex SHA-256")
}

func keysOf(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestWithoutKeysWarnsOnce(t *testing.T) {
	rdb := testredis.Client(t)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	st, err := redisstore.New(rdb, redisstore.Config{Prefix: testredis.Prefix(t, rdb), Logger: logger})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, st.Put(t.Context(), "u", storetest.FullToken(i)))
		_, err := st.Get(t.Context(), "u")
		require.NoError(t, err)
	}
	assert.Equal(t, 1, strings.Count(buf.String(), "unencrypted"), buf.String())
	raw, err := rdb.HGet(t.Context(), tokenKey(st, "u"), "token").Result()
	require.NoError(t, err)
	assert.Contains(t, raw, `"access_token"`, "without keys the value is JSON")

	buf.Reset()
	_, err = redisstore.New(rdb, redisstore.Config{Logger: logger, Keys: testKeyRing(t, "k")})
	require.NoError(t, err)
	assert.Empty(t, buf.String(), "no warning with a key ring")
}

func TestConfigValidation(t *testing.T) {
	rdb := testredis.Client(t)
	quiet := slog.New(slog.DiscardHandler)
	_, err := redisstore.New(nil, redisstore.Config{Logger: quiet})
	require.Error(t, err)
	for _, p := range []string{"app{x}:", "a{", "b}"} {
		_, err = redisstore.New(rdb, redisstore.Config{Prefix: p, Logger: quiet})
		require.ErrorContains(t, err, "must not contain", p)
	}
	_, err = redisstore.New(rdb, redisstore.Config{ExpiryMargin: -time.Second, Logger: quiet})
	require.ErrorContains(t, err, "negative ExpiryMargin")
	st, err := redisstore.New(rdb, redisstore.Config{Logger: quiet})
	require.NoError(t, err)
	assert.Equal(t, redisstore.DefaultPrefix, st.Prefix())
	for _, opts := range []redis.ClusterOptions{{ReadOnly: true}, {RouteByLatency: true}, {RouteRandomly: true}} {
		opts.Addrs = []string{"127.0.0.1:1"} // never dialled
		cc := redis.NewClusterClient(&opts)
		_, err = redisstore.New(cc, redisstore.Config{Logger: quiet})
		require.ErrorContains(t, err, "reads from replicas")
		cc.Close()
	}
}

// TestBadValuesAreClearErrors covers values a store cannot read: each is a
// typed error naming the key, never a panic or ErrNotFound, and the value
// is left in place.
func TestBadValuesAreClearErrors(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.Client(t)
	quiet := slog.New(slog.DiscardHandler)
	hset := func(t *testing.T, st *redisstore.Store, field string, v any) {
		require.NoError(t, rdb.HSet(ctx, tokenKey(st, "victim"), field, v).Err())
	}
	tests := []struct {
		name    string
		corrupt func(t *testing.T, st *redisstore.Store)
		keys    *tokenstore.KeyRing // nil: the ring that wrote
		plain   bool                // reader has no ring
		want    error
	}{
		{name: "garbage ciphertext", want: tokenstore.ErrCorrupt, corrupt: func(t *testing.T, st *redisstore.Store) {
			hset(t, st, "token", "\x01not a ciphertext at all, sorry")
		}},
		{name: "flipped bit", want: tokenstore.ErrCorrupt, corrupt: func(t *testing.T, st *redisstore.Store) {
			b, err := rdb.HGet(ctx, tokenKey(st, "victim"), "token").Bytes()
			require.NoError(t, err)
			b[len(b)/2] ^= 0x40
			hset(t, st, "token", b)
		}},
		{name: "ciphertext moved from another key", want: tokenstore.ErrCorrupt, corrupt: func(t *testing.T, st *redisstore.Store) {
			b, err := rdb.HGet(ctx, tokenKey(st, "attacker"), "token").Bytes()
			require.NoError(t, err)
			hset(t, st, "token", b)
		}},
		{name: "unknown key ID", want: tokenstore.ErrUnknownKey, corrupt: func(t *testing.T, st *redisstore.Store) {
			hset(t, st, "key_id", "retired")
		}},
		{name: "key missing from the ring", want: tokenstore.ErrUnknownKey, keys: testKeyRing(t, "other"), corrupt: func(*testing.T, *redisstore.Store) {}},
		{name: "reader without a ring", want: tokenstore.ErrUnknownKey, plain: true, corrupt: func(*testing.T, *redisstore.Store) {}},
		{name: "plaintext value in an encrypted store", want: tokenstore.ErrUnknownKey, corrupt: func(t *testing.T, st *redisstore.Store) {
			require.NoError(t, rdb.HSet(ctx, tokenKey(st, "victim"), "token", `{"access_token":"act.planted"}`, "key_id", "").Err())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ring := testKeyRing(t, "k1")
			writer := newStore(t, rdb, ring)
			require.NoError(t, writer.Put(ctx, "victim", storetest.FullToken(1)))
			require.NoError(t, writer.Put(ctx, "attacker", storetest.FullToken(2)))
			tc.corrupt(t, writer)
			before, err := rdb.HGetAll(ctx, tokenKey(writer, "victim")).Result()
			require.NoError(t, err)

			readerKeys := ring
			if tc.keys != nil {
				readerKeys = tc.keys
			}
			if tc.plain {
				readerKeys = nil
			}
			reader, err := redisstore.New(rdb, redisstore.Config{Prefix: writer.Prefix(), Keys: readerKeys, Logger: quiet})
			require.NoError(t, err)
			tok, err := reader.Get(ctx, "victim")
			require.ErrorIs(t, err, tc.want)
			assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
			assert.Nil(t, tok)
			assert.Contains(t, err.Error(), `"victim"`, "the error names the key")
			after, err := rdb.HGetAll(ctx, tokenKey(writer, "victim")).Result()
			require.NoError(t, err)
			assert.Equal(t, before, after, "a bad value must be left as it is")
		})
	}
}

func TestInsecureAcceptPlaintextMigrates(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.Client(t)
	plain := newStore(t, rdb, nil)
	require.NoError(t, plain.Put(ctx, "u", storetest.FullToken(1)))
	st, err := redisstore.New(rdb, redisstore.Config{Prefix: plain.Prefix(), Keys: testKeyRing(t, "k1"), InsecureAcceptPlaintext: true})
	require.NoError(t, err)
	got, err := st.Get(ctx, "u")
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, "u", got))
	id, err := rdb.HGet(ctx, tokenKey(st, "u"), "key_id").Result()
	require.NoError(t, err)
	assert.Equal(t, "k1", id, "rewritten tokens are encrypted")
}

func TestKeyExpiresWithTheRefreshToken(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.Client(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const margin = 10 * time.Minute
	st, err := redisstore.New(rdb, redisstore.Config{
		Prefix: testredis.Prefix(t, rdb), ExpiryMargin: margin,
		Clock: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	ttl := func(key string) time.Duration {
		t.Helper()
		d, err := rdb.PTTL(ctx, tokenKey(st, key)).Result()
		require.NoError(t, err)
		return d
	}
	within := func(want, got time.Duration) {
		t.Helper()
		assert.InDelta(t, want.Seconds(), got.Seconds(), 5, "TTL %v, want about %v", got, want)
	}

	tok := &client.Token{AccessToken: "a", RefreshToken: "r", RefreshExpiry: now.Add(30 * 24 * time.Hour)}
	require.NoError(t, st.Put(ctx, "month", tok))
	within(30*24*time.Hour+margin, ttl("month"))

	require.NoError(t, st.Put(ctx, "unknown", &client.Token{AccessToken: "a", RefreshToken: "r"}))
	assert.Equal(t, time.Duration(-1), ttl("unknown"), "no expiry when the refresh expiry is unknown")

	require.NoError(t, st.Put(ctx, "expired", &client.Token{AccessToken: "a", RefreshExpiry: now.Add(-time.Hour)}))
	within(margin, ttl("expired"))
	_, err = st.Get(ctx, "expired")
	require.NoError(t, err, "an expired refresh token is kept for the margin")

	// Put and Replace set the expiry anew; a lease does not touch it.
	require.NoError(t, st.Put(ctx, "unknown", tok))
	within(30*24*time.Hour+margin, ttl("unknown"))
	next := &client.Token{AccessToken: "a2", RefreshToken: "r2", RefreshExpiry: now.Add(time.Hour)}
	ok, err := st.Replace(ctx, "unknown", tok, next)
	require.NoError(t, err)
	require.True(t, ok)
	within(time.Hour+margin, ttl("unknown"))
	ok, err = st.Replace(ctx, "unknown", next, &client.Token{AccessToken: "a3"})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, time.Duration(-1), ttl("unknown"), "Replace with an unknown refresh expiry removes the expiry")

	won, err := st.TryLease(ctx, "month", "h", 5*time.Second)
	require.NoError(t, err)
	require.True(t, won)
	within(30*24*time.Hour+margin, ttl("month"))
	holder, left, err := st.LeaseHolder(ctx, "month")
	require.NoError(t, err)
	assert.Equal(t, "h", holder)
	assert.InDelta(t, 5, left.Seconds(), 1)
}

// TestOddKeys: keys with the characters that mean something to Redis (hash
// tag braces, the ':' separator, glob characters) and Unicode map to
// distinct Redis keys inside the hash tag, and Keys gives them back.
func TestOddKeys(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		client func(testing.TB) redis.UniversalClient
	}{
		{"standalone", testredis.Client},
		{"cluster", testredis.ClusterClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := tc.client(t)
			st := newStore(t, rdb, testKeyRing(t, "k1"))
			keys := []string{
				"{", "}", "{}", "{user}", "}{", "a:b", ":token", "x}:token", "*", "?", "[a-z]", `\`, "*}:lease",
				"用户", "🔑", "caf\u00e9", "cafe\u0301", " ", "\t\n", strings.Repeat("{:}", 100),
			}
			for i, k := range keys {
				require.NoError(t, st.Put(ctx, k, storetest.FullToken(i)), "Put %q", k)
				won, err := st.TryLease(ctx, k, "h", time.Minute)
				require.NoError(t, err)
				require.True(t, won, "lease %q", k)
			}
			for i, k := range keys {
				got, err := st.Get(ctx, k)
				require.NoError(t, err, "Get %q", k)
				assert.Empty(t, storetest.Equal(storetest.FullToken(i), got), "key %q", k)
				n, err := rdb.Exists(ctx, tokenKey(st, k), leaseKey(st, k)).Result()
				require.NoError(t, err)
				assert.EqualValues(t, 2, n, "key %q: token and lease under the documented names", k)
				if tc.name == "cluster" {
					a, err := rdb.ClusterKeySlot(ctx, tokenKey(st, k)).Result()
					require.NoError(t, err)
					b, err := rdb.ClusterKeySlot(ctx, leaseKey(st, k)).Result()
					require.NoError(t, err)
					assert.Equal(t, a, b, "key %q: token and lease in one slot", k)
				}
			}
			listed, err := st.Keys(ctx)
			require.NoError(t, err)
			want := append([]string(nil), keys...)
			slices.Sort(want) // byte order
			assert.Equal(t, want, listed)
		})
	}
}

// TestPrefixWithGlobCharacters: Keys escapes the prefix in its SCAN
// pattern, so a store whose prefix holds glob characters lists its own
// keys, which the unescaped pattern would miss, and not those of a store
// whose prefix the unescaped pattern matches.
func TestPrefixWithGlobCharacters(t *testing.T) {
	ctx := t.Context()
	rdb := testredis.Client(t)
	base := testredis.Prefix(t, rdb)
	quiet := slog.New(slog.DiscardHandler)
	globbed, err := redisstore.New(rdb, redisstore.Config{Prefix: base + "a*[x]?\\:", Logger: quiet})
	require.NoError(t, err)
	sibling, err := redisstore.New(rdb, redisstore.Config{Prefix: base + "abbx]:", Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, globbed.Put(ctx, "mine", storetest.FullToken(1)))
	require.NoError(t, sibling.Put(ctx, "theirs", storetest.FullToken(2)))
	unescaped, err := rdb.Keys(ctx, globbed.Prefix()+"{*}:token").Result()
	require.NoError(t, err)
	require.Equal(t, []string{tokenKey(sibling, "theirs")}, unescaped,
		"the test's premise: the prefix taken as a pattern matches the other store's key and not its own")
	keys, err := globbed.Keys(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"mine"}, keys)
}
