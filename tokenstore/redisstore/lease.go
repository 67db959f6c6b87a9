package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scripts run atomically on the server, on keys of one slot (a key's
// token and lease share a hash tag). go-redis sends them by SHA-1 and
// falls back to sending their text when the server does not know them.
var (
	// putScript: KEYS[1] token hash; ARGV token, key_id, fp, ttl in ms (0:
	// none).
	putScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'key_id', ARGV[2], 'fp', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
	redis.call('PEXPIRE', KEYS[1], ttl)
else
	redis.call('PERSIST', KEYS[1])
end
return 1
`)

	// replaceScript: as putScript, when the stored fingerprint is ARGV[5].
	replaceScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[5] then
	return 0
end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'key_id', ARGV[2], 'fp', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
	redis.call('PEXPIRE', KEYS[1], ttl)
else
	redis.call('PERSIST', KEYS[1])
end
return 1
`)

	// renewScript: KEYS[1] lease; ARGV holder, ttl in ms, latest in ms.
	// Extends the lease when holder holds it, takes it when it is free (it
	// may have expired since the SET NX that failed) or when it ends more
	// than latest ms from now, further than a lease of ttl could (a bad
	// write: see tokenstore.Leaser).
	renewScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
if cur == false and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return 1
end
local left = redis.call('PTTL', KEYS[1])
if cur ~= false and (left == -1 or left > tonumber(ARGV[3])) then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 1
end
return 0
`)

	// takeoverScript: KEYS[1] lease, KEYS[2] last holder; ARGV holder, ttl
	// in ms, latest in ms, how long the last holder is remembered in ms.
	// Returns 0 (lost), 1 (won) or 2 (won from another holder whose
	// lease lapsed, or ended too far ahead, without being released).
	takeoverScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local won = 0
if cur == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	won = 1
elseif cur == false then
	local last = redis.call('GET', KEYS[2])
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	won = 1
	if last and last ~= ARGV[1] then
		won = 2
	end
else
	local left = redis.call('PTTL', KEYS[1])
	if left == -1 or left > tonumber(ARGV[3]) then
		redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
		won = 2
	end
end
if won > 0 then
	redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
end
return won
`)

	// releaseScript: KEYS[1] lease, KEYS[2] last holder; ARGV holder.
	// Deletes the lease only when holder holds it, and the last holder's
	// name when it is holder's (also after the lease lapsed).
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) == ARGV[1] then
	redis.call('DEL', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

	// putClearScript: putScript on KEYS[1], then the lease (KEYS[2]) and
	// its last holder (KEYS[3]) deleted.
	putClearScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'key_id', ARGV[2], 'fp', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
	redis.call('PEXPIRE', KEYS[1], ttl)
else
	redis.call('PERSIST', KEYS[1])
end
redis.call('DEL', KEYS[2], KEYS[3])
return 1
`)
)

// TryLease implements tokenstore.Leaser. The lease is a Redis key of its
// own next to the token, holding holder's name, set with SET NX PX: a free
// (or expired) lease costs one command. When it is taken, a script extends
// it if holder is the one holding it. Redis expires it after ttl (at least
// a millisecond), by the server's clock.
func (s *Store) TryLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, errors.New("redisstore: lease holder must not be empty")
	}
	ttl = max(ttl, time.Millisecond)
	lk := s.leaseKey(key)
	ok, err := s.rdb.SetNX(ctx, lk, holder, ttl).Result()
	if err != nil {
		return false, fail("lease", key, err)
	}
	if ok {
		return true, nil
	}
	latest := ttl + ttl/4 // as tokenstore's own stores judge a lease too far ahead
	n, err := renewScript.Run(ctx, s.rdb, []string{lk}, holder, ttl.Milliseconds(), latest.Milliseconds()).Int()
	if err != nil {
		return false, fail("lease", key, err)
	}
	return n == 1, nil
}

// lastHolderMemory is how long the name of a holder whose lease lapsed
// without a release is kept, so that TryLeaseTakeover can tell: a store
// outage longer than this is taken for a free lease.
const lastHolderMemory = 24 * time.Hour

// TryLeaseTakeover implements tokenstore.LeaseTakeover in one script. Next
// to the lease, a key names its last holder and outlives the lease by far
// (a day); ReleaseLease deletes it. A lease found free while that key names
// another holder lapsed without a release: that is a takeover. It costs a
// script run, where TryLease's free lease costs a SET NX.
func (s *Store) TryLeaseTakeover(ctx context.Context, key, holder string, ttl time.Duration) (won, tookOver bool, err error) {
	if holder == "" {
		return false, false, errors.New("redisstore: lease holder must not be empty")
	}
	ttl = max(ttl, time.Millisecond)
	latest := ttl + ttl/4
	n, err := takeoverScript.Run(ctx, s.rdb, []string{s.leaseKey(key), s.lastKey(key)}, holder,
		ttl.Milliseconds(), latest.Milliseconds(), lastHolderMemory.Milliseconds()).Int()
	if err != nil {
		return false, false, fail("lease", key, err)
	}
	return n > 0, n == 2, nil
}

// ReleaseLease implements tokenstore.Leaser: a script deletes the lease
// when holder holds it, and does nothing otherwise.
func (s *Store) ReleaseLease(ctx context.Context, key, holder string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{s.leaseKey(key), s.lastKey(key)}, holder).Err(); err != nil {
		return fail("release lease", key, err)
	}
	return nil
}

// LeaseHolder returns the holder of the lease on key and its remaining
// time, or "" when no one holds it. It is for diagnostics and tests; a
// lease may change hands right after it answers.
func (s *Store) LeaseHolder(ctx context.Context, key string) (string, time.Duration, error) {
	lk := s.leaseKey(key)
	var (
		get  *redis.StringCmd
		pttl *redis.DurationCmd
	)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, lk)
		pttl = p.PTTL(ctx, lk)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("redisstore: lease holder %q: %w", key, err)
	}
	return get.Val(), pttl.Val(), nil
}
