// Package seed gives tests the request and response samples recorded from the
// specs of the Ruby gem tiktok-open-sdk, which tiktokkit replaces. The files
// live in testdata/; README.txt there says where each one comes from.
package seed

import (
	"embed"
	"strings"
)

//go:embed testdata
var files embed.FS

// Bytes returns the sample with the given file name, such as
// "token_refresh__success__200.json". It panics when the file does not exist,
// which in a test is a mistake in the test itself.
func Bytes(name string) []byte {
	b, err := files.ReadFile("testdata/" + name)
	if err != nil {
		panic("seed: " + err.Error())
	}
	return b
}

// String returns the sample as a string with surrounding white space removed.
func String(name string) string {
	return strings.TrimSpace(string(Bytes(name)))
}

// Lines returns the non-empty lines of a text sample that are not comments
// (lines starting with '#').
func Lines(name string) []string {
	var out []string
	for _, l := range strings.Split(string(Bytes(name)), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}
