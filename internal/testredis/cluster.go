package testredis

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/internal/testserver"
)

// clusterNodes is the size of the throwaway Cluster: the fewest masters
// redis-cli --cluster create accepts.
const clusterNodes = 3

// startCluster starts three cluster-enabled servers on loopback ports,
// joins them with redis-cli --cluster create (no replicas) and waits until
// every node reports cluster_state:ok.
func startCluster() (string, func(), error) {
	cli, err := find("redis-cli")
	if err != nil {
		return "", nil, err
	}
	root, err := os.MkdirTemp("", "tkrc-")
	if err != nil {
		return "", nil, err
	}
	var procs []*process
	stop := func() {
		for _, p := range procs {
			p.stop(true) // nothing to keep
		}
		os.RemoveAll(root)
	}
	var addrs []string
	for i := range clusterNodes {
		dir := filepath.Join(root, strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			stop()
			return "", nil, err
		}
		p, port, err := startTCP(dir, func(int) ([]string, error) {
			bus, err := testserver.FreePort()
			if err != nil {
				return nil, err
			}
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-port", strconv.Itoa(bus),
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-node-timeout", "5000",
			}, nil
		})
		if err != nil {
			stop()
			return "", nil, fmt.Errorf("cluster node %d: %w", i, err)
		}
		procs = append(procs, p)
		addrs = append(addrs, addr(port))
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		stop()
		return "", nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	if err := waitClusterOK(addrs); err != nil {
		stop()
		return "", nil, err
	}
	return strings.Join(addrs, ","), stop, nil
}

// waitClusterOK waits until every node says cluster_state:ok, so that
// each one knows where every slot lives.
func waitClusterOK(addrs []string) error {
	deadline := time.Now().Add(time.Minute)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			info, err := c.ClusterInfo(ctx).Result()
			cancel()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				return fmt.Errorf("cluster node %s not ready within a minute: %v %s", a, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return nil
}

// Server is a throwaway standalone Redis server that belongs to one test,
// which may stop it and start it again to see how the code under test
// copes with Redis going away. It listens on a loopback TCP port that
// stays the same across Stop and Start, and keeps its data across them (an
// append-only file written on every command). Unlike [URL], it never uses
// the server named by TIKTOKKIT_TEST_REDIS_URL, since a test must not stop
// a shared server.
type Server struct {
	mu   sync.Mutex
	dir  string
	port int
	p    *process // nil while stopped
}

// StartServer starts a Server and removes it when the test ends. Without
// redis-server it skips the test, or fails it when CI=true.
func StartServer(t testing.TB) *Server {
	t.Helper()
	dir, err := os.MkdirTemp("", "tkrs-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: dir}
	p, port, err := startTCP(dir, func(int) ([]string, error) { return s.durable(), nil })
	if err != nil {
		os.RemoveAll(dir)
		testserver.Unavailable(t, "testredis: cannot start redis-server (install redis-server): %v", err)
	}
	s.p, s.port = p, port
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.p != nil {
			s.p.stop(true)
			s.p = nil
		}
		os.RemoveAll(dir)
	})
	return s
}

// durable returns the arguments that make the server keep its data across
// a stop (they follow, and so override, the common --appendonly no).
func (s *Server) durable() []string {
	return []string{"--appendonly", "yes", "--appendfsync", "always", "--appenddirname", "aof"}
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return addr(s.port) }

// Client returns a new client of the server, closed when the test ends.
// It fails fast while the server is down: one dial of at most a second, no
// retries.
func (s *Server) Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop kills the server (SIGKILL, as a crash would): open connections
// break and new ones are refused until Start. Every write it acknowledged
// survives.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		s.p.stop(true)
		s.p = nil
	}
}

// Start starts a stopped server again on the same port, with its data.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		return nil
	}
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port)}, s.durable()...)
	p, err := startProcess(s.dir, args...)
	if err != nil {
		return err
	}
	if err := waitPing(&redis.Options{Addr: s.Addr()}, p); err != nil {
		p.stop(true)
		return err
	}
	s.p = p
	return nil
}

// Up reports whether the server is running.
func (s *Server) Up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p != nil
}
