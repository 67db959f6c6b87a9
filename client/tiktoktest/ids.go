package tiktoktest

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString returns n characters drawn uniformly from alphabet (at most
// 256 characters) using crypto/rand.
func randomString(n int, alphabet string) string {
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the draw
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		rand.Read(buf)
		for _, c := range buf {
			if int(c) < limit {
				out = append(out, alphabet[int(c)%len(alphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// newCode returns an authorization code shaped like TikTok's: letters and
// digits ending in "*<digit>!<4 digits>" (the docs' sample ends in
// "...BELY*0!6410"). The '*' and '!' make clients that do not form-encode
// or that decode twice fail here as they would at TikTok.
func newCode() string {
	return randomString(58, base62) + "*" + randomString(1, "0123") + "!" + randomString(4, "0123456789")
}

// newToken returns an opaque token with TikTok's prefix ("act.", "rft.",
// "clt.") followed by random characters and a "!<4 digits>.va" tail.
func newToken(prefix string) string {
	return prefix + randomString(60, base62) + "!" + randomString(4, "0123456789") + ".va"
}

// newNonce returns a random value for the consent form.
func newNonce() string { return randomString(32, base62) }

// newLogID returns a log_id shaped like TikTok's: the UTC time as
// YYYYMMDDhhmmss followed by 20 upper-case hex digits (34 characters).
func newLogID(now time.Time) string {
	var b [10]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102150405") + strings.ToUpper(hex.EncodeToString(b[:]))
}
