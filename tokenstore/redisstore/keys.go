package redisstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The suffixes of a store key's Redis keys.
const (
	tokenSuffix = "}:token"
	leaseSuffix = "}:lease"
	lastSuffix  = "}:lease-last"
)

// enc writes a store key inside the hash tag. The base64url alphabet has
// no '{', '}', ':' or glob character, so any UTF-8 key (and any byte
// string) is safe there, and the encoding can be read back for Keys.
var enc = base64.RawURLEncoding

// tokenKey is the Redis key of the hash that holds the token of key:
// "<prefix>{<base64url of key>}:token". The braces make the encoded key the
// Cluster hash tag, so a key's token and lease share a slot.
func (s *Store) tokenKey(key string) string { return s.redisKey(key, tokenSuffix) }

// leaseKey is the Redis key of the string that holds key's lease.
func (s *Store) leaseKey(key string) string { return s.redisKey(key, leaseSuffix) }

// lastKey is the Redis key of the string that names the last holder of
// key's lease while that lease is not released (see TryLeaseTakeover).
func (s *Store) lastKey(key string) string { return s.redisKey(key, lastSuffix) }

func (s *Store) redisKey(key, suffix string) string {
	var b strings.Builder
	b.Grow(len(s.prefix) + 1 + enc.EncodedLen(len(key)) + len(suffix))
	b.WriteString(s.prefix)
	b.WriteByte('{')
	b.WriteString(enc.EncodeToString([]byte(key)))
	b.WriteString(suffix)
	return b.String()
}

// storeKey reads the store key back from a token's Redis key, and reports
// whether it is one.
func (s *Store) storeKey(redisKey string) (string, bool) {
	rest, ok := strings.CutPrefix(redisKey, s.prefix+"{")
	if !ok {
		return "", false
	}
	encoded, ok := strings.CutSuffix(rest, tokenSuffix)
	if !ok {
		return "", false
	}
	key, err := enc.DecodeString(encoded)
	if err != nil {
		return "", false
	}
	return string(key), true
}

// globEscape escapes the characters that are special in a SCAN MATCH
// pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Keys returns every key that holds a token, in byte order. It walks the
// keys under the prefix with SCAN, on every master of a Cluster (and every
// shard of a Ring), so it costs time in proportion to the whole database;
// it is meant for maintenance jobs, not for requests. Keys written or
// deleted while it runs may or may not be listed.
func (s *Store) Keys(ctx context.Context) ([]string, error) {
	pattern := globEscape(s.prefix) + "{*" + tokenSuffix
	var (
		mu   sync.Mutex
		seen = make(map[string]struct{})
	)
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			if key, ok := s.storeKey(iter.Val()); ok {
				mu.Lock()
				seen[key] = struct{}{} // SCAN may return a key twice
				mu.Unlock()
			}
		}
		return iter.Err()
	}
	var err error
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	default:
		err = scan(ctx, s.rdb)
	}
	if err != nil {
		if isUnreachable(err) {
			return nil, fmt.Errorf("redisstore: keys: Redis unreachable: %w", err)
		}
		return nil, fmt.Errorf("redisstore: keys: %w", err)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}
