// Package testserver finds the database server a test binary needs: the
// one an environment variable names, or a throwaway one started on first
// use and stopped at the end. When there is none, tests skip, except under
// CI=true, where they fail, so that CI never passes without them.
package testserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lazy is a server found or started on the first call to DSN.
type Lazy struct {
	// Name is the server's name in messages ("PostgreSQL").
	Name string
	// Env is the environment variable that names a running server's DSN.
	Env string
	// Hint says what to install for a throwaway server.
	Hint string
	// Start starts a throwaway server and returns its DSN and a function
	// that stops it and removes its files.
	Start func() (dsn string, stop func(), err error)

	once sync.Once
	dsn  string
	stop func()
	err  error
}

// DSN returns the server's DSN, starting a throwaway server the first time
// when Env is unset. Without a server it skips t, or fails it under CI=true.
func (l *Lazy) DSN(t testing.TB) string {
	t.Helper()
	l.once.Do(func() {
		if dsn := os.Getenv(l.Env); dsn != "" {
			l.dsn = dsn
			return
		}
		l.dsn, l.stop, l.err = l.Start()
	})
	if l.err != nil {
		Unavailable(t, "no %s (set %s or %s): %v", l.Name, l.Env, l.Hint, l.err)
	}
	return l.dsn
}

// Stop stops the throwaway server, if one was started. Call it from
// TestMain after m.Run.
func (l *Lazy) Stop() {
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
}

// Unavailable skips t because something the test needs is missing, or
// fails it when CI=true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (required under CI=true)", msg)
	}
	t.Skip(msg)
}

// FreshDatabase creates a database with a random name on the server that
// adminDSN reaches through driver, and drops it with dropFormat (a
// statement with one %s for the name) when t ends. It returns the name. A
// server that refuses to create it skips t, or fails it under CI=true.
func FreshDatabase(t testing.TB, driver, adminDSN, dropFormat string) string {
	t.Helper()
	name := "tk_" + randomHex(8)
	exec := func(stmt string) error {
		db, err := sql.Open(driver, adminDSN)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = db.ExecContext(ctx, stmt)
		return err
	}
	if err := exec("CREATE DATABASE " + name); err != nil {
		Unavailable(t, "cannot create a test database: %v", err)
	}
	t.Cleanup(func() { _ = exec(fmt.Sprintf(dropFormat, name)) })
	return name
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FreePort returns a loopback TCP port that nothing listens on, chosen at
// random below the kernel's ephemeral range, so that it cannot be taken in
// the meantime as the local end of an outgoing connection. A server may
// still bind it first: callers that start a server on it try another port
// when the start fails.
func FreePort() (int, error) {
	low, high := 15000, ephemeralLow()-1
	if high <= low {
		low, high = 1024, 32767
	}
	var lastErr error
	for range 50 {
		port := low + mrand.IntN(high-low+1)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			lastErr = err
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port below the ephemeral range: %w", lastErr)
}

// ephemeralLow reads the start of the kernel's ephemeral port range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}
