package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// DefaultPrefix starts the name of every Redis key the store writes.
const DefaultPrefix = "tiktokkit:"

// DefaultExpiryMargin is how long a token's key outlives its refresh token.
const DefaultExpiryMargin = time.Hour

// The fields of a token's hash.
const (
	fieldToken       = "token"  // the sealed token (tokenstore.Codec)
	fieldKeyID       = "key_id" // the ID of the key that sealed it, "" in clear
	fieldFingerprint = "fp"     // fingerprint(store key, access, refresh), for Replace
)

// Config configures a Store.
type Config struct {
	// Prefix starts every Redis key the store writes. Default
	// DefaultPrefix ("tiktokkit:"). Give each app (or each environment
	// sharing a server) its own. It must not contain '{' or '}', which
	// would change the Cluster hash tag.
	Prefix string
	// Keys encrypts tokens at rest (AES-256-GCM), exactly as the SQL
	// store does, with the store key as additional data. Default nil:
	// tokens are stored as JSON in clear, and New logs a warning saying
	// so. Always set it in production.
	Keys *tokenstore.KeyRing
	// InsecureAcceptPlaintext lets a store with Keys read tokens written
	// in clear, while moving existing data to encryption; they are
	// encrypted when next written. Default false: such a token is an
	// ErrUnknownKey error, because whoever can write to Redis could
	// otherwise plant a token for any user.
	InsecureAcceptPlaintext bool
	// ExpiryMargin is how long a token's key lives past its refresh
	// token's expiry before Redis drops it. Default DefaultExpiryMargin
	// (an hour); it must not be negative.
	ExpiryMargin time.Duration
	// Logger receives the warning about missing encryption. Default
	// slog.Default().
	Logger *slog.Logger
	// Clock is the time the key expiries are counted from. Default
	// time.Now. Leases are timed by the Redis server's clock.
	Clock func() time.Time
}

// Store is a tokenstore.Store on Redis. See the package documentation.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	codec  tokenstore.Codec
	margin time.Duration
	now    func() time.Time
}

var (
	_ tokenstore.Store    = (*Store)(nil)
	_ tokenstore.Leaser   = (*Store)(nil)
	_ tokenstore.Replacer = (*Store)(nil)
	_ tokenstore.Lister   = (*Store)(nil)

	_ tokenstore.LeaseTakeover = (*Store)(nil)
	_ tokenstore.LeaseClearer  = (*Store)(nil)
)

// New returns a Store on rdb: a *redis.Client, a Sentinel-backed failover
// client or a *redis.ClusterClient, as redis.NewUniversalClient makes
// them. It does not contact Redis. The client stays yours: close it after
// the store's last use.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New: nil Redis client")
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		if o := cc.Options(); o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
			return nil, errors.New("redisstore: New: the Cluster client reads from replicas (ReadOnly, RouteByLatency or RouteRandomly), " +
				"which may answer with a token older than the last write and so make a Source refresh a rotated token; use a client that reads from the masters")
		}
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q must not contain '{' or '}'", cfg.Prefix)
	}
	if cfg.ExpiryMargin < 0 {
		return nil, fmt.Errorf("redisstore: negative ExpiryMargin %v", cfg.ExpiryMargin)
	}
	if cfg.ExpiryMargin == 0 {
		cfg.ExpiryMargin = DefaultExpiryMargin
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Keys == nil {
		logger := cfg.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("redisstore: Redis store has no key ring; TikTok tokens are stored unencrypted",
			slog.String("prefix", cfg.Prefix))
	}
	return &Store{
		rdb:    rdb,
		prefix: cfg.Prefix,
		codec:  tokenstore.NewCodec(cfg.Keys, cfg.InsecureAcceptPlaintext),
		margin: cfg.ExpiryMargin,
		now:    cfg.Clock,
	}, nil
}

// Prefix returns the prefix of the store's Redis keys.
func (s *Store) Prefix() string { return s.prefix }

// Get returns the token under key. A value that cannot be decrypted or
// decoded is an error wrapping tokenstore.ErrCorrupt or
// tokenstore.ErrUnknownKey; it is left as it is.
func (s *Store) Get(ctx context.Context, key string) (*client.Token, error) {
	vals, err := s.rdb.HMGet(ctx, s.tokenKey(key), fieldToken, fieldKeyID).Result()
	if err != nil {
		return nil, fail("get", key, err)
	}
	data, ok := vals[0].(string)
	if !ok {
		return nil, fmt.Errorf("%w: key %q", tokenstore.ErrNotFound, key)
	}
	keyID, _ := vals[1].(string)
	return s.codec.Decode(key, keyID, []byte(data))
}

// Put stores tok under key, sealed when the store has a key ring, and
// sets the key to expire with the refresh token (see the package
// documentation). It keeps any lease on the key.
func (s *Store) Put(ctx context.Context, key string, tok *client.Token) error {
	args, err := s.writeArgs(key, tok)
	if err != nil {
		return err
	}
	if err := putScript.Run(ctx, s.rdb, []string{s.tokenKey(key)}, args...).Err(); err != nil {
		return fail("put", key, err)
	}
	return nil
}

// PutClearLease implements tokenstore.LeaseClearer: Put, and the key's
// lease deleted, in one script.
func (s *Store) PutClearLease(ctx context.Context, key string, tok *client.Token) error {
	args, err := s.writeArgs(key, tok)
	if err != nil {
		return err
	}
	keys := []string{s.tokenKey(key), s.leaseKey(key), s.lastKey(key)}
	if err := putClearScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fail("put", key, err)
	}
	return nil
}

// Replace implements tokenstore.Replacer in one Lua script: it writes tok
// (as Put does) only when the fingerprint stored with the token under key
// is old's. It keeps any lease on the key. Since the comparison is of
// fingerprints, a stored value that can no longer be decrypted is still
// replaced when it was written for old, and is otherwise left alone with
// false and a nil error.
func (s *Store) Replace(ctx context.Context, key string, old, tok *client.Token) (bool, error) {
	if old == nil {
		return false, errors.New("redisstore: Replace: nil old token")
	}
	args, err := s.writeArgs(key, tok)
	if err != nil {
		return false, err
	}
	args = append(args, fingerprint(key, old))
	n, err := replaceScript.Run(ctx, s.rdb, []string{s.tokenKey(key)}, args...).Int()
	if err != nil {
		return false, fail("replace", key, err)
	}
	return n == 1, nil
}

// Delete removes the token under key, and any lease on it.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.tokenKey(key), s.leaseKey(key), s.lastKey(key)).Err(); err != nil {
		return fail("delete", key, err)
	}
	return nil
}

// writeArgs returns the arguments of the put and replace scripts: the
// sealed token, its key ID, its fingerprint and the key's time to live in
// milliseconds (0: none).
func (s *Store) writeArgs(key string, tok *client.Token) ([]any, error) {
	if tok == nil {
		return nil, errors.New("redisstore: nil token")
	}
	keyID, data, err := s.codec.Encode(key, tok)
	if err != nil {
		return nil, err
	}
	return []any{data, keyID, fingerprint(key, tok), s.ttl(tok).Milliseconds()}, nil
}

// ttl is how long the key of tok lives: until its refresh token expires,
// plus the margin; 0 (no expiry) when that expiry is unknown. A refresh
// token that has already expired is kept for the margin alone, so that the
// Source reading it sees why the user must log in again (and deletes it).
func (s *Store) ttl(tok *client.Token) time.Duration {
	if tok.RefreshExpiry.IsZero() {
		return 0
	}
	return max(tok.RefreshExpiry.Sub(s.now()), 0) + s.margin
}

// fingerprint identifies a token as Replace compares tokens: by access and
// refresh token. It is a SHA-256 of both, length-prefixed, and of the store
// key, under a label of its own. It is not keyed: access and refresh
// tokens are long random strings, so no one can find them from it, and an
// unkeyed hash stays comparable across key rotations and without a key
// ring. The store key in it keeps equal tokens under two keys from having
// equal fingerprints.
func fingerprint(key string, tok *client.Token) string {
	h := sha256.New()
	var n [4]byte
	for _, part := range []string{"tiktokkit/redisstore/fingerprint/v1", key, tok.AccessToken, tok.RefreshToken} {
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fail wraps an error from Redis with the operation and key. A Redis that
// cannot be reached says so first, ahead of the driver's words.
func fail(op, key string, err error) error {
	if isUnreachable(err) {
		return fmt.Errorf("redisstore: %s %q: Redis unreachable: %w", op, key, err)
	}
	return fmt.Errorf("redisstore: %s %q: %w", op, key, err)
}

// isUnreachable reports whether err means that no answer came from Redis
// (a refused or broken connection, a timeout, a closed client), as opposed
// to an error reply.
func isUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return false
	}
	return !errors.Is(err, context.Canceled)
}
