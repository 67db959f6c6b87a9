package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

// benchStore is an encrypted store holding one token under "u", on the
// standalone test server (a Unix socket unless TIKTOKKIT_TEST_REDIS_URL
// says otherwise).
func benchStore(b *testing.B, ring *tokenstore.KeyRing) (*redisstore.Store, redis.UniversalClient) {
	rdb := testredis.Client(b)
	st := newStore(b, rdb, ring)
	if err := st.Put(b.Context(), "u", storetest.FullToken(1)); err != nil {
		b.Fatal(err)
	}
	return st, rdb
}

// BenchmarkGet compares the store's Get (HMGET, AES-256-GCM decryption,
// JSON decoding) with bare commands through the same client: a GET of a
// string holding the same sealed bytes, and an HMGET of the token's own
// hash. Target: Get at most 1.3x the bare GET.
func BenchmarkGet(b *testing.B) {
	for _, encrypted := range []bool{true, false} {
		name := "plain"
		var ring *tokenstore.KeyRing
		if encrypted {
			name, ring = "encrypted", testKeyRing(b, "k1")
		}
		b.Run(name, func(b *testing.B) {
			st, rdb := benchStore(b, ring)
			ctx := b.Context()
			sealed, err := rdb.HGet(ctx, tokenKey(st, "u"), "token").Bytes()
			if err != nil {
				b.Fatal(err)
			}
			plainKey := st.Prefix() + "bare"
			if err := rdb.Set(ctx, plainKey, sealed, 0).Err(); err != nil {
				b.Fatal(err)
			}
			b.Run("store", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := st.Get(ctx, "u"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("bare-GET", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := rdb.Get(ctx, plainKey).Bytes(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("bare-HMGET", func(b *testing.B) {
				b.ReportAllocs()
				key := tokenKey(st, "u")
				for b.Loop() {
					if err := rdb.HMGet(ctx, key, "token", "key_id").Err(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkLease compares taking and releasing a free lease (SET NX PX,
// then the compare-and-delete script) with a bare SET NX PX and DEL of the
// same key. Target: at most 1.5x.
func BenchmarkLease(b *testing.B) {
	st, rdb := benchStore(b, nil)
	ctx := b.Context()
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok, err := st.TryLease(ctx, "u", "holder", 30*time.Second)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			if err := st.ReleaseLease(ctx, "u", "holder"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-SETNX-DEL", func(b *testing.B) {
		b.ReportAllocs()
		key := leaseKey(st, "u")
		for b.Loop() {
			ok, err := rdb.SetNX(ctx, key, "holder", 30*time.Second).Result()
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			if err := rdb.Del(ctx, key).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPut is the store's Put (sealing and the put script) and
// Replace, for the record.
func BenchmarkPut(b *testing.B) {
	st, _ := benchStore(b, testKeyRing(b, "k1"))
	ctx := b.Context()
	b.Run("Put", func(b *testing.B) {
		b.ReportAllocs()
		tok := storetest.FullToken(2)
		for b.Loop() {
			if err := st.Put(ctx, "p", tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Replace", func(b *testing.B) {
		b.ReportAllocs()
		a, c := storetest.FullToken(3), storetest.FullToken(4)
		if err := st.Put(ctx, "r", a); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			ok, err := st.Replace(ctx, "r", a, c)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			a, c = c, a
		}
	})
}

// paired times store and bare alternately in one loop, so that a change in
// the machine's load during the run (the tests of other packages, other
// processes) weighs on both alike, and reports each one's time per
// operation and their ratio. ns/op is the time of one pair.
func paired(b *testing.B, store, bare func() error) {
	b.ReportAllocs()
	var ts, tb time.Duration
	i := 0
	run := func(f func() error, d *time.Duration) {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		*d += time.Since(start)
	}
	for b.Loop() {
		if i%2 == 0 { // alternate the order too
			run(store, &ts)
			run(bare, &tb)
		} else {
			run(bare, &tb)
			run(store, &ts)
		}
		i++
	}
	b.ReportMetric(float64(ts.Nanoseconds())/float64(i), "store-ns/op")
	b.ReportMetric(float64(tb.Nanoseconds())/float64(i), "bare-ns/op")
	b.ReportMetric(float64(ts)/float64(tb), "store/bare")
}

// BenchmarkPaired runs the two comparisons with targets, store and bare
// operation alternating (see paired): the encrypted Get against a bare GET
// of a string holding the same sealed bytes (target: at most 1.3x), and a
// lease taken and released against a bare SET NX PX and DEL (target: at
// most 1.5x).
func BenchmarkPaired(b *testing.B) {
	b.Run("Get-vs-GET", func(b *testing.B) {
		st, rdb := benchStore(b, testKeyRing(b, "k1"))
		ctx := b.Context()
		sealed, err := rdb.HGet(ctx, tokenKey(st, "u"), "token").Bytes()
		if err != nil {
			b.Fatal(err)
		}
		bareKey := st.Prefix() + "bare"
		if err := rdb.Set(ctx, bareKey, sealed, 0).Err(); err != nil {
			b.Fatal(err)
		}
		paired(b,
			func() error { _, err := st.Get(ctx, "u"); return err },
			func() error { return rdb.Get(ctx, bareKey).Err() })
	})
	b.Run("Lease-vs-SETNX-DEL", func(b *testing.B) {
		st, rdb := benchStore(b, nil)
		ctx := b.Context()
		bareKey := st.Prefix() + "bare-lease"
		paired(b,
			func() error {
				if _, err := st.TryLease(ctx, "u", "holder", 30*time.Second); err != nil {
					return err
				}
				return st.ReleaseLease(ctx, "u", "holder")
			},
			func() error {
				if err := rdb.SetNX(ctx, bareKey, "holder", 30*time.Second).Err(); err != nil {
					return err
				}
				return rdb.Del(ctx, bareKey).Err()
			})
	})
}

// BenchmarkLimiterReserve compares the limiter's Reserve (the reserve
// script) with a bare GET through the same client, alternating them (see
// paired). "granted" books every request, with a window short enough
// that the set holds a few hundred send times, as a quota of 600 a minute
// does; "full" is a quota of 600 a minute already spent, refused with
// maxWait 0. Both are one round trip; the difference is the work of the
// script on the server.
func BenchmarkLimiterReserve(b *testing.B) {
	for _, tc := range []struct {
		name    string
		q       client.Quota
		maxWait time.Duration
		ok      bool
	}{
		{"granted", client.Quota{Limit: 1 << 30, Window: 50 * time.Millisecond}, -1, true},
		{"full", client.Quota{Limit: 600, Window: time.Minute}, 0, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rdb := testredis.Client(b)
			l := newLimiter(b, rdb, "")
			ctx := b.Context()
			bareKey := l.Prefix() + "bare"
			if err := rdb.Set(ctx, bareKey, "1", 0).Err(); err != nil {
				b.Fatal(err)
			}
			if !tc.ok {
				for range tc.q.Limit {
					if _, _, err := l.Reserve(ctx, "k", tc.q, -1); err != nil {
						b.Fatal(err)
					}
				}
			}
			paired(b,
				func() error {
					_, ok, err := l.Reserve(ctx, "k", tc.q, tc.maxWait)
					if err == nil && ok != tc.ok {
						return fmt.Errorf("Reserve: ok %v", ok)
					}
					return err
				},
				func() error { return rdb.Get(ctx, bareKey).Err() })
		})
	}
}
