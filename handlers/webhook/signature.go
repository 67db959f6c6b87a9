package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header TikTok signs its webhook requests with:
// "t=<unix seconds>,s=<hex HMAC-SHA256>".
const SignatureHeader = "TikTok-Signature"

// Verification failures, for errors.Is on what Verify returns. The handler
// answers them with 400 (malformed) or 401.
var (
	// ErrMalformed: no signature header, or one that does not read as
	// t=<digits>,s=<64 hex digits>.
	ErrMalformed = errors.New("webhook: malformed signature header")
	// ErrSignature: no signature in the header matches the body.
	ErrSignature = errors.New("webhook: signature mismatch")
	// ErrStale: the signed timestamp is further from the clock than the
	// tolerance, in the past or in the future.
	ErrStale = errors.New("webhook: timestamp outside the tolerance")
)

// Sign returns the TikTok-Signature value for body signed at t with
// secret, as TikTok makes it. Use it to test a webhook endpoint.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",s=" + hex.EncodeToString(mac([]byte(secret), ts, body))
}

// mac is the HMAC-SHA256 of "<ts>.<body>" keyed with secret.
func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// maxSignatureHeader bounds the header before parsing.
const maxSignatureHeader = 1024

// maxSignatures bounds the s= values of one header.
const maxSignatures = 8

// parseSignature reads "t=<unix seconds>,s=<64 hex>[,s=...]". Spaces
// around the parts are allowed, unknown keys ignored; t must appear once, s
// at least once (several allow a secret rotation).
func parseSignature(h string) (ts string, sigs [][]byte, err error) {
	if h == "" || len(h) > maxSignatureHeader {
		return "", nil, ErrMalformed
	}
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, ErrMalformed
		}
		switch strings.TrimSpace(k) {
		case "t":
			v = strings.TrimSpace(v)
			if ts != "" || v == "" || len(v) > 18 || strings.ContainsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
				return "", nil, ErrMalformed
			}
			ts = v
		case "s":
			v = strings.TrimSpace(v)
			if len(v) != 2*sha256.Size || len(sigs) == maxSignatures {
				return "", nil, ErrMalformed
			}
			b, err := hex.DecodeString(v)
			if err != nil {
				return "", nil, ErrMalformed
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return "", nil, ErrMalformed
	}
	return ts, sigs, nil
}

// Verify checks a signature header against body: it returns nil when one of
// its signatures is the HMAC of "<t>.<body>" and t is within the tolerance,
// else an error matching ErrMalformed, ErrSignature or ErrStale. It does
// not track replays; ServeHTTP does. Use it to verify webhooks received
// some other way.
func (h *Handler) Verify(header string, body []byte) error {
	_, err := h.verify(header, body)
	return err
}

// verify returns the signature that matched.
func (h *Handler) verify(header string, body []byte) (matched []byte, err error) {
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return nil, err
	}
	want := mac(h.secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = s
		}
	}
	if matched == nil {
		return nil, ErrSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrMalformed
	}
	skew := h.cfg.Clock().Sub(time.Unix(secs, 0))
	if skew > h.cfg.Tolerance || skew < -h.cfg.Tolerance {
		return nil, fmt.Errorf("%w (off by %s)", ErrStale, skew.Round(time.Second))
	}
	return matched, nil
}
