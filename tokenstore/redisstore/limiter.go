package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/client"
)

// The suffixes of a limiter key's two Redis keys.
const (
	sentSuffix  = "}:sent"
	pauseSuffix = "}:pause"
)

// LimiterConfig configures a Limiter.
type LimiterConfig struct {
	// Prefix starts every Redis key the limiter writes. Default
	// DefaultPrefix ("tiktokkit:"). Every instance of an app must use the
	// same prefix, or each counts alone; apps that share a TikTok client
	// key share its quotas, and so should share the prefix too. It must
	// not contain '{' or '}', which would change the Cluster hash tag.
	Prefix string
}

// Limiter is a client.Limiter on Redis: every instance of an app that
// uses one on the same Redis shares each quota, so that together they
// never send TikTok more than it allows. See the package documentation
// ("Quotas") for how it counts.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	id     string        // this limiter's part of every member it books
	seq    atomic.Uint64 // the other part
}

var _ client.Limiter = (*Limiter)(nil)

// errEmptyKey refuses the one key that would have no Cluster hash tag of
// its own ("{}" hashes the whole name).
var errEmptyKey = errors.New("redisstore: empty limiter key")

// NewLimiter returns a Limiter on rdb (a single server, Sentinel or a
// Cluster, as for New). It does not contact Redis. The client stays yours:
// close it after the limiter's last use.
func NewLimiter(rdb redis.UniversalClient, cfg LimiterConfig) (*Limiter, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: NewLimiter: nil Redis client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q must not contain '{' or '}'", cfg.Prefix)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return &Limiter{rdb: rdb, prefix: cfg.Prefix, id: hex.EncodeToString(b)}, nil
}

// Prefix returns the prefix of the limiter's Redis keys.
func (l *Limiter) Prefix() string { return l.prefix }

// sentKey is the sorted set of the send times booked under key:
// "<prefix>quota:{<base64url of key>}:sent".
func (l *Limiter) sentKey(key string) string { return l.quotaKey(key, sentSuffix) }

// pauseKey is the string that holds the end of a pause of key, in Unix
// milliseconds by the server's clock.
func (l *Limiter) pauseKey(key string) string { return l.quotaKey(key, pauseSuffix) }

func (l *Limiter) quotaKey(key, suffix string) string {
	var b strings.Builder
	b.Grow(len(l.prefix) + 7 + enc.EncodedLen(len(key)) + len(suffix))
	b.WriteString(l.prefix)
	b.WriteString("quota:{")
	b.WriteString(enc.EncodeToString([]byte(key)))
	b.WriteString(suffix)
	return b.String()
}

var (
	// reserveScript: KEYS[1] the sorted set of booked send times (score:
	// Unix ms by the server's clock), KEYS[2] the pause; ARGV limit,
	// window in ms, maxWait in ms (-1: no bound), the member to add.
	// Returns {slot, now} in ms and 1 when it booked slot, 0 when the wait
	// was longer than maxWait and it booked nothing.
	//
	// A send time s counts in every window that holds it, [s, s+window).
	// With fewer than limit times left after the ones at or before
	// now-window are dropped, a request may go now. Otherwise it may go
	// when the limit-th most recent time s leaves the window, at s+window:
	// any window holding that moment holds only times later than s, at
	// most limit-1 of them. A pause moves the slot to its end.
	reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local maxwait = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local slot = now
local s = redis.call('ZREVRANGE', KEYS[1], limit - 1, limit - 1, 'WITHSCORES')
if s[2] then
	slot = math.max(slot, tonumber(s[2]) + window)
end
local p = redis.call('GET', KEYS[2])
if p then
	slot = math.max(slot, tonumber(p))
end
if maxwait >= 0 and slot - now > maxwait then
	return {slot, now, 0}
end
redis.call('ZADD', KEYS[1], slot, ARGV[4])
redis.call('PEXPIRE', KEYS[1], slot - now + window)
return {slot, now, 1}
`)

	// pauseScript: KEYS[1] the sorted set of booked send times, KEYS[2]
	// the pause; ARGV the pause in ms (0: the rest of the window), window
	// in ms. Sets the end of the pause to now + the pause, or for 0 to when
	// the oldest send time in the window leaves it (a whole window when
	// there is none), unless a pause already ends later, and lets the key
	// expire then.
	pauseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local d = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local stop = now + d
if d == 0 then
	redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
	local s = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
	if s[2] then
		stop = tonumber(s[2]) + window
	else
		stop = now + window
	end
end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if stop > cur then
	redis.call('SET', KEYS[2], stop, 'PX', stop - now)
end
return 1
`)
)

// Reserve implements client.Limiter: one Lua script, run atomically on the
// Redis server and timed by its clock, books the earliest moment at which
// one more request under key keeps within q, and returns how long from
// the server's now that is. A Quota that limits nothing (Limit or Window
// zero or less) books nothing and returns 0 and true without a call to
// Redis. The window is counted in whole milliseconds, rounded up.
//
// The error, when Redis cannot answer, names the key (an endpoint name and
// a token fingerprint, never a token) and says "Redis unreachable".
func (l *Limiter) Reserve(ctx context.Context, key string, q client.Quota, maxWait time.Duration) (time.Duration, bool, error) {
	slot, now, ok, err := l.reserve(ctx, key, q, maxWait)
	if err != nil {
		return 0, false, err
	}
	return time.Duration(slot-now) * time.Millisecond, ok, nil
}

// reserve runs the reserve script and returns the slot and the server's
// now, in Unix milliseconds; both 0 for a Quota that limits nothing.
func (l *Limiter) reserve(ctx context.Context, key string, q client.Quota, maxWait time.Duration) (slot, now int64, ok bool, err error) {
	if q.Limit <= 0 || q.Window <= 0 {
		return 0, 0, true, nil
	}
	if key == "" {
		return 0, 0, false, errEmptyKey
	}
	wait := int64(-1)
	if maxWait >= 0 {
		wait = maxWait.Milliseconds() // a wait of whole ms is refused only past maxWait
	}
	member := l.id + ":" + strconv.FormatUint(l.seq.Add(1), 36)
	res, err := reserveScript.Run(ctx, l.rdb, []string{l.sentKey(key), l.pauseKey(key)},
		q.Limit, ceilMillis(q.Window), wait, member).Int64Slice()
	if err != nil {
		return 0, 0, false, fail("reserve", key, err)
	}
	if len(res) != 3 {
		return 0, 0, false, fmt.Errorf("redisstore: reserve %q: unexpected reply %v", key, res)
	}
	return res[0], res[1], res[2] == 1, nil
}

// Pause implements client.Limiter: nothing more under key is booked before
// d from now by the server's clock (rounded up to a millisecond), or, when
// d is 0, before the oldest send time booked in the current window leaves
// it (a whole window from now when none is booked). A pause never shortens
// one already in place. A negative d, or a Quota that limits nothing
// (whose Reserve never asks Redis), does nothing.
func (l *Limiter) Pause(ctx context.Context, key string, q client.Quota, d time.Duration) error {
	if q.Limit <= 0 || q.Window <= 0 || d < 0 {
		return nil
	}
	if key == "" {
		return errEmptyKey
	}
	err := pauseScript.Run(ctx, l.rdb, []string{l.sentKey(key), l.pauseKey(key)}, ceilMillis(d), ceilMillis(q.Window)).Err()
	if err != nil {
		return fail("pause", key, err)
	}
	return nil
}

// ceilMillis is d in whole milliseconds, rounded up.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
