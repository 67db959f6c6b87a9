// Package testmysql gives tests a real MySQL-compatible server (MariaDB or
// MySQL), for the MySQL dialect of the SQL token store.
//
// The server is found in this order:
//
//  1. TIKTOKKIT_TEST_MYSQL_DSN, a go-sql-driver/mysql DSN of a running
//     server whose user may create and drop databases, for example
//     "root@tcp(127.0.0.1:3306)/";
//  2. a throwaway server started with mariadb-install-db and mariadbd (or
//     mysql_install_db and mysqld) from PATH, /usr/sbin or /usr/bin, in a
//     temporary directory, listening on a Unix socket only (no TCP port to
//     collide with), stopped when the test binary exits (the package's
//     TestMain must call [Stop]);
//  3. otherwise the test is skipped, or fails when CI=true, so that CI never
//     passes without the MySQL tests.
//
// Each call to [Open] makes a fresh database, dropped at the end of the test.
package testmysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tiktokkit/tiktokkit/internal/testserver"
)

// EnvDSN is the environment variable that names a running server.
const EnvDSN = "TIKTOKKIT_TEST_MYSQL_DSN"

var server = testserver.Lazy{
	Name:  "MySQL server",
	Env:   EnvDSN,
	Hint:  "install mariadb-server",
	Start: startServer,
}

// Stop stops the server this package started, if any. Call it from TestMain
// after m.Run.
func Stop() { server.Stop() }

// DSN returns the DSN of the server (no database selected), starting a
// throwaway server when needed. It skips the test when no server can be had,
// and fails it instead when CI=true.
func DSN(t testing.TB) string {
	t.Helper()
	return server.DSN(t)
}

// Open makes a fresh database and returns a pool on it, with
// clientFoundRows=true as the SQL store's documentation asks. Both are
// closed and dropped when the test ends.
func Open(t testing.TB) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(DSN(t))
	if err != nil {
		t.Fatalf("testmysql: %s: %v", EnvDSN, err)
	}
	cfg.DBName = testserver.FreshDatabase(t, "mysql", cfg.FormatDSN(), "DROP DATABASE IF EXISTS %s")
	cfg.ClientFoundRows = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("testmysql: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// find returns the first of names found on PATH or in the usual
// directories.
func find(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"} {
			p := filepath.Join(dir, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("none of %v found", names)
}

// startServer initialises a data directory and starts a server on a Unix
// socket in it. As root the server runs as the "mysql" user.
func startServer() (string, func(), error) {
	server, err := find("mariadbd", "mysqld")
	if err != nil {
		return "", nil, err
	}
	install, err := find("mariadb-install-db", "mysql_install_db")
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "tkmy-") // short: a socket path has a length limit
	if err != nil {
		return "", nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("mysql")
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("running as root and no mysql user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return cmd
	}
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "s")
	if out, err := command(install, "--no-defaults", "--datadir="+data,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("%s: %v: %s", filepath.Base(install), err, out)
	}
	srv := command(server, "--no-defaults", "--datadir="+data, "--socket="+sock, "--skip-networking",
		"--pid-file="+filepath.Join(dir, "pid"), "--log-error="+filepath.Join(dir, "log"),
		"--innodb-flush-log-at-trx-commit=0", "--skip-log-bin", "--max-connections=300")
	if err := srv.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	stop := func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = sock
	dsn := cfg.FormatDSN()
	if err := waitReady(dsn, exited, &waitErr); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		stop()
		return "", nil, fmt.Errorf("%w\n%s", err, log)
	}
	return dsn, stop, nil
}

// waitReady pings the server until it answers, it exits, or a minute passes.
func waitReady(dsn string, exited <-chan struct{}, waitErr *error) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.Join(errors.New("the server exited"), *waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not answer within a minute: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
