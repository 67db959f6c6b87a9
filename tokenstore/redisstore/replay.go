package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
)

// ReplayConfig configures a ReplayStore.
type ReplayConfig struct {
	// Prefix starts every Redis key the store writes. Default
	// DefaultPrefix ("tiktokkit:"). Every instance of an app must use the
	// same one. It must not contain '{' or '}', which would make it a
	// Cluster hash tag and put every claim in one slot.
	Prefix string
	// Clock is the time a claim's expiry is counted from: a Claim until t
	// lives t minus Clock() in Redis, timed by the server. Default
	// time.Now. Give it the handler's Config.Clock.
	Clock func() time.Time
}

// ReplayStore is a webhook.ReplayStore on Redis that every instance of an
// app shares, so that a replay is refused whichever instance it reaches.
// A claim is a key of its own, "<prefix>replay:<SHA-256 of the id, in
// hex>" (the handler's ids are signatures, which the store does not
// keep): Claim is SET NX PX, which Redis runs atomically, so of concurrent
// Claims of one id exactly one wins; Release is DEL; Redis drops each key
// when its claim expires, so nothing needs pruning. It is safe for
// concurrent use.
type ReplayStore struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ webhook.ReplayStore = (*ReplayStore)(nil)

// NewReplayStore returns a ReplayStore on rdb (a single server, Sentinel
// or a Cluster, as for New). It does not contact Redis. The client stays
// yours: close it after the store's last use.
func NewReplayStore(rdb redis.UniversalClient, cfg ReplayConfig) (*ReplayStore, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: NewReplayStore: nil Redis client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q must not contain '{' or '}'", cfg.Prefix)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &ReplayStore{rdb: rdb, prefix: cfg.Prefix, now: cfg.Clock}, nil
}

// Prefix returns the prefix of the store's Redis keys.
func (s *ReplayStore) Prefix() string { return s.prefix }

func (s *ReplayStore) key(id string) string {
	h := sha256.Sum256([]byte(id))
	return s.prefix + "replay:" + hex.EncodeToString(h[:])
}

// Claim implements webhook.ReplayStore with SET NX PX: the key lives
// until minus Clock(), rounded up to a millisecond. A Claim whose until
// has already passed records nothing and reports whether the id is free.
// Errors never contain the id.
func (s *ReplayStore) Claim(ctx context.Context, id string, until time.Time) (bool, error) {
	key := s.key(id)
	ttl := until.Sub(s.now())
	if ttl <= 0 {
		// Already expired: recording it would protect nothing.
		n, err := s.rdb.Exists(ctx, key).Result()
		if err != nil {
			return false, replayFail("claim", err)
		}
		return n == 0, nil
	}
	ok, err := s.rdb.SetNX(ctx, key, "1", time.Duration(ceilMillis(ttl))*time.Millisecond).Result()
	if err != nil {
		return false, replayFail("claim", err)
	}
	return ok, nil
}

// Release implements webhook.ReplayStore with DEL.
func (s *ReplayStore) Release(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.key(id)).Err(); err != nil {
		return replayFail("release", err)
	}
	return nil
}

// replayFail wraps an error from Redis with the operation, without the id
// (a signature).
func replayFail(op string, err error) error {
	if isUnreachable(err) {
		return fmt.Errorf("redisstore: replay %s: Redis unreachable: %w", op, err)
	}
	return fmt.Errorf("redisstore: replay %s: %w", op, err)
}
