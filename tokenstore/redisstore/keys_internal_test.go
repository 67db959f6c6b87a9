package redisstore

import (
	"strings"
	"testing"
)

// FuzzKeyNames: every store key maps to Redis key names under the prefix
// whose hash tag is the encoded key alone, and Keys reads the token's name
// back to the same store key (and the lease's name to none).
func FuzzKeyNames(f *testing.F) {
	for _, k := range []string{"u", "{", "}", "{}", "a:b", "}:token", "*?[]\\", "用户🔑", "\x00", strings.Repeat("{:}", 90)} {
		f.Add(k)
	}
	s := &Store{prefix: "app:1:"}
	f.Fuzz(func(t *testing.T, key string) {
		tk, lk := s.tokenKey(key), s.leaseKey(key)
		for _, name := range []string{tk, lk} {
			rest, ok := strings.CutPrefix(name, s.prefix)
			if !ok {
				t.Fatalf("%q is not under the prefix", name)
			}
			open, end := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
			if open != 0 || end < 0 || strings.ContainsAny(rest[1:end], "{}:*?[]\\") {
				t.Fatalf("%q: the hash tag is not the encoded key", name)
			}
			if tk[:len(s.prefix)+end] != lk[:len(s.prefix)+end] {
				t.Fatalf("token %q and lease %q have different hash tags", tk, lk)
			}
		}
		got, ok := s.storeKey(tk)
		if !ok || got != key {
			t.Fatalf("storeKey(%q) = %q, %v; want %q", tk, got, ok, key)
		}
		if _, ok := s.storeKey(lk); ok {
			t.Fatalf("the lease name %q reads as a token's", lk)
		}
	})
}

func TestGlobEscape(t *testing.T) {
	for in, want := range map[string]string{
		"tiktokkit:":  "tiktokkit:",
		"a*b?c[d]e\\": `a\*b\?c\[d\]e\\`,
	} {
		if got := globEscape(in); got != want {
			t.Errorf("globEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
