// Package repocheck holds checks over the whole module that belong in
// "go test ./...": every Go file is gofmt-formatted, go vet finds nothing,
// the Go snippets of the READMEs compile, and the README's Quickstart and
// its testing snippet run (the Quickstart as a program against the
// emulator, the test with go test). .ci/run runs gofmt and go vet too;
// these make the plain test command catch the same mistakes.
package repocheck

import (
	"bytes"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside a module")
	}
	return filepath.Dir(gomod)
}

func TestGofmt(t *testing.T) {
	root := moduleRoot(t)
	var checked int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		formatted, err := format.Source(src)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if !bytes.Equal(src, formatted) {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s is not gofmt-formatted (run gofmt -w %s)", rel, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d Go files under %s: the walk is broken", checked, root)
	}
}

func TestVet(t *testing.T) {
	if testing.Short() {
		t.Skip("go vet of the whole module takes a while")
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet ./...: %v\n%s", err, out)
	}
}
