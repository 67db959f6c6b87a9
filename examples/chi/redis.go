package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/tokenstore/redisstore"
)

// redisPrefix starts the Redis keys of the token store, the webhook replay
// store and the quota limiter. The scs sessions keep goredisstore's own
// prefix, "scs:session:".
const redisPrefix = redisstore.DefaultPrefix

// parseRedisURL reads REDIS_URL with redis.ParseURL: redis://, rediss://
// (TLS) or unix:// (a socket path). Its errors never repeat the URL, which
// may hold a password.
func parseRedisURL(raw string) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("REDIS_URL is not a valid URL (%v): give redis://[user:password@]host:port[/db], rediss://... for TLS, or unix:///path/to/socket", err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return nil, fmt.Errorf("REDIS_URL has scheme %q: give redis://[user:password@]host:port[/db], rediss://... for TLS, or unix:///path/to/socket", u.Scheme)
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return opts, nil
}

// describeRedis names the server and database of opts for logs, leaving
// out the user and password.
func describeRedis(opts *redis.Options) string {
	where := "Redis " + opts.Addr
	if opts.Network == "unix" {
		where = "Redis unix:" + opts.Addr
	}
	if opts.TLSConfig != nil {
		where += " (TLS)"
	}
	return fmt.Sprintf("%s db %d", where, opts.DB)
}

// useRedis puts the app's shared state on the one Redis server of opts,
// through one client: the token store (encrypted with the app's key
// ring), the scs sessions, the webhook replay store and the quota limiter.
// It fails when the server does not answer a PING within 15 seconds.
func (a *app) useRedis(ctx context.Context, opts *redis.Options, clock func() time.Time) error {
	a.where = describeRedis(opts)
	rdb := redis.NewClient(opts)
	a.closers = append(a.closers, func() { rdb.Close() })
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		return fmt.Errorf("connect to %s: %w", a.where, err)
	}
	store, err := redisstore.New(rdb, redisstore.Config{Prefix: redisPrefix, Keys: a.keys, Logger: a.logger, Clock: clock})
	if err != nil {
		return err
	}
	replays, err := redisstore.NewReplayStore(rdb, redisstore.ReplayConfig{Prefix: redisPrefix, Clock: clock})
	if err != nil {
		return err
	}
	limiter, err := redisstore.NewLimiter(rdb, redisstore.LimiterConfig{Prefix: redisPrefix})
	if err != nil {
		return err
	}
	a.rdb, a.store, a.replays, a.limiter = rdb, store, replays, limiter
	a.sessionStore = goredisstore.New(rdb)
	return nil
}
