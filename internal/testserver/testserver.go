// Package testserver finds the database server a test binary needs: the
// one an environment variable names, or a throwaway one started on first
// use and stopped at the end. When there is none, tests skip, except under
// CI=true, where they fail, so that CI never passes without them.
package testserver

import (
	"fmt"
	"os"
	"sync"
	"testing"
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
