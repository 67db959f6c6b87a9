// Package testpg gives tests a real PostgreSQL server.
//
// The server is found in this order:
//
//  1. TIKTOKKIT_TEST_POSTGRES_DSN, a DSN of a running server (CI sets it);
//  2. a throwaway cluster started with initdb and pg_ctl from PATH or
//     /usr/lib/postgresql/*/bin, on a free loopback port, stopped when the
//     test binary exits (the package's TestMain must call [Main]);
//  3. otherwise the test is skipped, or fails when CI=true, so that CI never
//     passes without the database tests.
//
// Each call to [Open] makes a fresh database, dropped at the end of the test,
// so tests never see each other's rows.
package testpg

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/tiktokkit/tiktokkit/internal/testserver"
)

// EnvDSN is the environment variable that names a running server.
const EnvDSN = "TIKTOKKIT_TEST_POSTGRES_DSN"

var server = testserver.Lazy{
	Name:  "PostgreSQL",
	Env:   EnvDSN,
	Hint:  "install initdb and pg_ctl",
	Start: startCluster,
}

// Main runs the tests of a package that uses this one and stops the cluster
// it may have started. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the cluster this package started, if any. Main calls it; a
// TestMain that does more than Main calls it after m.Run.
func Stop() { server.Stop() }

// DSN returns the DSN of the server's maintenance database, starting a
// throwaway cluster when needed. It skips the test when no server can be had,
// and fails it instead when CI=true.
func DSN(t testing.TB) string {
	t.Helper()
	return server.DSN(t)
}

// Open makes a fresh database on the server and returns a connection pool to
// it. Both are closed and dropped when the test ends.
func Open(t testing.TB) *sql.DB {
	t.Helper()
	dsn := OpenDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("testpg: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenDSN is like [Open] but returns the DSN of the fresh database, for code
// under test that opens its own pools (several instances of an app, say).
func OpenDSN(t testing.TB) string {
	t.Helper()
	base := DSN(t)
	return withDatabase(base, testserver.FreshDatabase(t, "pgx", base, "DROP DATABASE IF EXISTS %s WITH (FORCE)"))
}

func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	// key=value form
	fields := strings.Fields(dsn)
	out := fields[:0]
	for _, f := range fields {
		if !strings.HasPrefix(f, "dbname=") {
			out = append(out, f)
		}
	}
	return strings.Join(append(out, "dbname="+name), " ")
}

// binDir finds the directory holding initdb and pg_ctl.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found")
}

// cluster is a PostgreSQL data directory with the commands to run it.
type cluster struct {
	dir, data string
	port      int
	run       func(name string, args ...string) *exec.Cmd
	// durable keeps synchronous_commit on, so that a committed transaction
	// survives an immediate stop (a crash).
	durable bool
}

// initCluster runs initdb in a temporary directory. As root it runs the
// server as the "postgres" user, since PostgreSQL refuses to run as root.
func initCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tiktokkit-pg-")
	if err != nil {
		return nil, err
	}
	run := func(name string, args ...string) *exec.Cmd {
		return exec.Command(filepath.Join(bin, name), args...)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		run = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
	}
	c := &cluster{dir: dir, data: filepath.Join(dir, "data"), run: run}
	if out, err := run("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	return c, nil
}

// start starts the server on c.port, or on a free port when c.port is 0.
func (c *cluster) start() error {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := c.port
		if port == 0 {
			p, err := testserver.FreePort()
			if err != nil {
				lastErr = err
				continue
			}
			port = p
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200", port, c.dir)
		if !c.durable {
			opts += " -c synchronous_commit=off"
		}
		out, err := c.run("pg_ctl", "-D", c.data, "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
		if err != nil {
			lastErr = fmt.Errorf("pg_ctl start: %v: %s", err, out)
			if c.port != 0 {
				break // the port is fixed: a retry would meet the same problem
			}
			continue
		}
		c.port = port
		return nil
	}
	return lastErr
}

// stop shuts the server down at once, as a crash would.
func (c *cluster) stop() error {
	if out, err := c.run("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

func (c *cluster) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// startCluster initialises and starts a cluster in a temporary directory.
func startCluster() (string, func(), error) {
	c, err := initCluster()
	if err != nil {
		return "", nil, err
	}
	if err := c.start(); err != nil {
		os.RemoveAll(c.dir)
		return "", nil, err
	}
	stop := func() {
		_ = c.stop()
		os.RemoveAll(c.dir)
	}
	return c.dsn(), stop, nil
}

// Cluster is a throwaway PostgreSQL server that belongs to one test, which
// may stop it and start it again to see how the code under test copes with
// its database going away. Unlike [DSN], it never uses the server named by
// TIKTOKKIT_TEST_POSTGRES_DSN, since a test must not stop a shared server.
type Cluster struct {
	c  *cluster
	mu sync.Mutex
	up bool
}

// StartCluster initialises and starts a cluster on a free loopback port and
// removes it when the test ends. Without initdb and pg_ctl it skips the
// test, or fails it when CI=true.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := initCluster()
	if err == nil {
		c.durable = true
		if err = c.start(); err != nil {
			os.RemoveAll(c.dir)
		}
	}
	if err != nil {
		testserver.Unavailable(t, "testpg: cannot start a PostgreSQL cluster (install initdb and pg_ctl): %v", err)
	}
	cl := &Cluster{c: c, up: true}
	t.Cleanup(func() {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if cl.up {
			_ = c.stop()
		}
		os.RemoveAll(c.dir)
	})
	return cl
}

// DSN returns the DSN of the cluster's maintenance database "postgres". It
// stays the same across Stop and Start.
func (cl *Cluster) DSN() string { return cl.c.dsn() }

// Stop shuts the server down at once ("immediate" mode, like a crash):
// open connections break and new ones are refused until Start. Committed
// transactions survive it (the cluster runs with synchronous_commit on).
func (cl *Cluster) Stop() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if !cl.up {
		return nil
	}
	if err := cl.c.stop(); err != nil {
		return err
	}
	cl.up = false
	return nil
}

// Start starts a stopped server again on the same port, with its data.
func (cl *Cluster) Start() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.up {
		return nil
	}
	if err := cl.c.start(); err != nil {
		return err
	}
	cl.up = true
	return nil
}
