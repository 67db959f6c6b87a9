package handlers

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSafeReturnTo(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"/", true},
		{"/me", true},
		{"/me/", true},
		{"/me?tab=videos&page=2", true},
		{"/search?q=a%20b", true},
		{"/a/b#section", true},
		{"/caf%C3%A9", true},
		{"/x?next=%2F%2Fevil.example", true}, // a query value of our own page
		{"/%7Euser", true},
		{"", false},
		{"me", false},
		{"evil.example", false},
		{"https://evil.example", false},
		{"http://evil.example/", false},
		{"HTTPS://evil.example", false},
		{"javascript:alert(1)", false},
		{"data:text/html,hi", false},
		{"//evil.example", false},
		{"///evil.example", false},
		{"//", false},
		{`/\evil.example`, false},
		{`\/evil.example`, false},
		{`\\evil.example`, false},
		{`/foo\bar`, false},
		{"/%2F%2Fevil.example", false},
		{"/%2f%2fevil.example", false},
		{"/%2F/evil.example", false},
		{"%2F%2Fevil.example", false},
		{"/%5Cevil.example", false},
		{"/%5cevil.example", false},
		{"/%255C%255Cevil.example", false},
		{"/%25252F%25252Fevil.example", false},
		{"/%2525252525252F%2525252525252Fevil.example", false},
		{"/%0d%0aSet-Cookie:a=b", false},
		{"/%0D%0ALocation:https://evil.example", false},
		{"/%00", false},
		{"/%09/evil.example", false},
		{"/\r\nSet-Cookie: a=b", false},
		{"/\n/evil.example", false},
		{"/\t/evil.example", false},
		{"\t//evil.example", false},
		{" /me", false},
		{"/ /evil.example", false},
		{"/\x7f", false},
		{"/caf\u00e9", false},
		{"/\u2215\u2215evil.example", false},
		{"/%zz", false},
		{"/%", false},
		{"/" + strings.Repeat("a", maxReturnTo), false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, SafeReturnTo(tc.in))
		})
	}
}

// FuzzSafeReturnTo checks that whatever SafeReturnTo accepts stays on the
// site when a browser resolves it, even after further rounds of decoding.
func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/me?x=1", "//evil", `/\evil`, "/%2F%2Fevil", "/%5Cevil", "https://evil",
		"/%0d%0a", "/\tx", "/%252F%252Fevil", "/a#b", "/%C3%A9"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/auth/tiktok/callback")
	f.Fuzz(func(t *testing.T, s string) {
		if !SafeReturnTo(s) {
			return
		}
		if s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n\t ") {
			t.Fatalf("accepted %q", s)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted unparsable %q", s)
		}
		if got := base.ResolveReference(u); got.Host != base.Host || got.Scheme != base.Scheme {
			t.Fatalf("%q leaves the site: %s", s, got)
		}
		cur := s
		for range 6 {
			dec, err := url.PathUnescape(cur)
			if err != nil {
				t.Fatalf("accepted %q, whose decoding fails", s)
			}
			if strings.HasPrefix(dec, "//") || strings.ContainsAny(dec, "\\\r\n\t\x00") {
				t.Fatalf("accepted %q, which decodes to %q", s, dec)
			}
			if dec == cur {
				break
			}
			cur = dec
		}
	})
}
