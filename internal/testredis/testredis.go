// Package testredis gives tests a real Redis server, standalone or a
// three-master Cluster, for the Redis token store.
//
// A standalone server is found in this order:
//
//  1. TIKTOKKIT_TEST_REDIS_URL, a redis:// (or unix://) URL of a running
//     server, as go-redis's ParseURL reads it;
//  2. a throwaway redis-server from PATH, /usr/bin or /usr/sbin, listening
//     on a Unix socket in a temporary directory (no TCP port to collide
//     with), without persistence, stopped when the test binary exits (the
//     package's TestMain must call [Main] or [Stop]);
//  3. otherwise the test is skipped, or fails when CI=true, so that CI never
//     passes without the Redis tests.
//
// A Cluster is found the same way: TIKTOKKIT_TEST_REDIS_CLUSTER_ADDRS, a
// comma-separated list of host:port of its nodes, or three throwaway
// redis-server processes with cluster-enabled on loopback ports, joined
// with redis-cli --cluster create.
//
// Tests share the server, so each one takes its own key prefix from
// [Prefix]; the keys under it are deleted when the test ends.
//
// redis-server runs as root without complaint, so unlike testpg and
// testmysql this package needs no other user.
package testredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/internal/testserver"
)

// EnvURL is the environment variable that names a running standalone server.
const EnvURL = "TIKTOKKIT_TEST_REDIS_URL"

// EnvClusterAddrs is the environment variable that names the nodes of a
// running Cluster, comma-separated host:port.
const EnvClusterAddrs = "TIKTOKKIT_TEST_REDIS_CLUSTER_ADDRS"

var (
	standalone = testserver.Lazy{
		Name:  "Redis",
		Env:   EnvURL,
		Hint:  "install redis-server",
		Start: startStandalone,
	}
	cluster = testserver.Lazy{
		Name:  "Redis Cluster",
		Env:   EnvClusterAddrs,
		Hint:  "install redis-server (with redis-cli)",
		Start: startCluster,
	}
)

// Main runs the tests of a package that uses this one and stops the
// servers it may have started. Call it from TestMain. It also keeps
// go-redis from printing a line for every failed dial, which tests of a
// Redis that is down cause on purpose; go-redis's other messages are still
// printed.
func Main(m *testing.M) {
	QuietLogs()
	code := m.Run()
	Stop()
	os.Exit(code)
}

// QuietLogs keeps go-redis from printing a line for every failed dial, as
// Main does; a TestMain that does more than Main calls it before m.Run.
func QuietLogs() { redis.SetLogger(quietLogger{}) }

// quietLogger drops go-redis's messages about failed dials.
type quietLogger struct{}

func (quietLogger) Printf(_ context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "failed to dial") {
		return
	}
	log.Print("redis: " + msg)
}

// Stop stops the servers this package started, if any. Main calls it; a
// TestMain that does more than Main calls it after m.Run.
func Stop() {
	standalone.Stop()
	cluster.Stop()
}

// URL returns the URL of the standalone server, starting a throwaway one
// when needed. It skips the test when no server can be had, and fails it
// instead when CI=true.
func URL(t testing.TB) string {
	t.Helper()
	return standalone.DSN(t)
}

// Client returns a new client of the standalone server, closed when the
// test ends.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	opts, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("testredis: %s: %v", EnvURL, err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// ClusterAddrs returns the addresses of the Cluster's nodes, starting a
// throwaway Cluster when needed. It skips the test when no Cluster can be
// had, and fails it instead when CI=true.
func ClusterAddrs(t testing.TB) []string {
	t.Helper()
	var addrs []string
	for a := range strings.SplitSeq(cluster.DSN(t), ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// ClusterClient returns a new Cluster client (a *redis.ClusterClient),
// closed when the test ends.
func ClusterClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: ClusterAddrs(t), IsClusterMode: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix of the form "tktest:<random>:" that no other
// test uses, and deletes every key under it on c (on every master of a
// Cluster) when the test ends.
func Prefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "tktest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, c, prefix); err != nil {
			t.Logf("testredis: cleaning up %q: %v", prefix, err)
		}
	})
	return prefix
}

// DeletePrefix deletes every key that starts with prefix (which must hold
// no glob characters), on every master of a Cluster.
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, n redis.Cmdable) error {
		iter := n.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			// One key at a time: keys of one batch may live in different
			// slots, which a Cluster node refuses in one DEL.
			if err := n.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return del(ctx, n) })
	}
	return del(ctx, c)
}

// waitPing pings the server at opts until it answers, the process exits,
// or a minute passes.
func waitPing(opts *redis.Options, p *process) error {
	opts.MaxRetries = -1
	opts.DialTimeout = time.Second
	c := redis.NewClient(opts)
	defer c.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("redis-server exited: %v\n%s", p.waitErr, p.log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not answer within a minute: %w\n%s", err, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
