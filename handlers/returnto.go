package handlers

import (
	"net/url"
	"strings"
)

// maxReturnTo bounds the length of a return_to value.
const maxReturnTo = 2048

// SafeReturnTo reports whether s may be used as the place to send the user
// after login: a path on this site, with an optional query and fragment.
//
// It accepts only values that start with a single '/' and refuses, among
// others: absolute URLs (https://evil), protocol-relative ones (//evil),
// backslashes anywhere (/\evil, which browsers read as //evil), control
// characters, spaces and bytes outside ASCII (CR LF, tab), and values whose
// percent-decoded form (up to five rounds of decoding) would be any of
// those (/%2F%2Fevil, /%5Cevil, %0d%0a) or does not decode. Values longer
// than 2048 bytes are refused too.
func SafeReturnTo(s string) bool {
	if len(s) == 0 || len(s) > maxReturnTo || !safeRawPath(s) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") {
		return false
	}
	cur := s
	for range 5 {
		if strings.IndexByte(cur, '%') < 0 {
			return true
		}
		dec, err := url.PathUnescape(cur)
		if err != nil || !safeDecodedPath(dec) {
			return false
		}
		if dec == cur {
			return true
		}
		cur = dec
	}
	// Still decoding after five rounds: nobody writes that by accident.
	return strings.IndexByte(cur, '%') < 0
}

// safeRawPath checks the value as it will appear in the Location header.
func safeRawPath(s string) bool {
	if s[0] != '/' || (len(s) > 1 && (s[1] == '/' || s[1] == '\\')) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// safeDecodedPath checks a percent-decoded form: a server or browser that
// decodes once more must still see a same-origin path. Spaces and UTF-8 are
// fine here (they were escaped in the raw form).
func safeDecodedPath(s string) bool {
	if s == "" || s[0] != '/' || (len(s) > 1 && (s[1] == '/' || s[1] == '\\')) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
