package testserver

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestLazyUsesTheEnvironmentFirst(t *testing.T) {
	t.Setenv("TESTSERVER_DSN", "from-env")
	l := Lazy{Name: "db", Env: "TESTSERVER_DSN", Start: func() (string, func(), error) {
		t.Fatal("Start called although the environment names a server")
		return "", nil, nil
	}}
	if got := l.DSN(t); got != "from-env" {
		t.Fatalf("DSN = %q, want from-env", got)
	}
	l.Stop() // nothing to stop
}

func TestLazyStartsOnceAndStops(t *testing.T) {
	t.Setenv("TESTSERVER_DSN", "")
	starts, stops := 0, 0
	l := Lazy{Name: "db", Env: "TESTSERVER_DSN", Start: func() (string, func(), error) {
		starts++
		return "started", func() { stops++ }, nil
	}}
	for range 3 {
		if got := l.DSN(t); got != "started" {
			t.Fatalf("DSN = %q, want started", got)
		}
	}
	l.Stop()
	l.Stop()
	if starts != 1 || stops != 1 {
		t.Fatalf("starts %d, stops %d: want 1 and 1", starts, stops)
	}
}

func TestLazyWithoutAServerSkips(t *testing.T) {
	t.Setenv("TESTSERVER_DSN", "")
	t.Setenv("CI", "")
	l := Lazy{Name: "db", Env: "TESTSERVER_DSN", Hint: "install it", Start: func() (string, func(), error) {
		return "", nil, errors.New("no binary")
	}}
	var skipped bool
	t.Run("uses", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		l.DSN(t)
	})
	if !skipped {
		t.Fatal("a test without its server was not skipped")
	}
}

// TestUnavailable runs itself in a child process, once without CI and once
// with CI=true, where a missing dependency must fail the test.
func TestUnavailable(t *testing.T) {
	if os.Getenv("TESTSERVER_CHILD") == "1" {
		Unavailable(t, "no %s here", "widget")
		return
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnavailable$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTSERVER_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		switch {
		case ci == "true" && (err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "no widget here (required under CI=true)")):
			t.Errorf("CI=true: want a failure naming what is missing, got err %v:\n%s", err, out)
		case ci == "" && (err != nil || !strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "no widget here")):
			t.Errorf("without CI: want a skip, got err %v:\n%s", err, out)
		}
	}
}
