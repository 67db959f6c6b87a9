package client

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// AuthCodeOption changes one AuthCodeURL call. Make one with WithScopes,
// WithRedirectURL, WithPKCE, DisableAutoAuth or SetAuthURLParam.
type AuthCodeOption interface {
	applyAuth(*authParams)
}

type authParams struct {
	scopes      []string
	redirect    string
	verifier    string
	disableAuto bool
	extra       []param
}

type param struct{ key, value string }

type authOption func(*authParams)

func (f authOption) applyAuth(p *authParams) { f(p) }

// WithScopes asks for scopes instead of Config.Scopes in this call. With no
// arguments it changes nothing.
func WithScopes(scopes ...string) AuthCodeOption {
	s := append([]string(nil), scopes...)
	return authOption(func(p *authParams) {
		if len(s) > 0 {
			p.scopes = s
		}
	})
}

// WithRedirectURL sends u as redirect_uri instead of Config.RedirectURL.
// Exchange must then be given the same URL with WithExchangeRedirectURL.
func WithRedirectURL(u string) AuthCodeOption {
	return authOption(func(p *authParams) { p.redirect = u })
}

// WithPKCE adds code_challenge and code_challenge_method=S256, derived from
// verifier in the form Config.PKCE selects (hex by default). It is ignored
// when Config.PKCE is PKCEDisabled. The verifier should come from
// GenerateVerifier; Exchange refuses one that fails ValidateVerifier. Keep it
// on the server side (for example in the session) until the callback.
func WithPKCE(verifier string) AuthCodeOption {
	return authOption(func(p *authParams) { p.verifier = verifier })
}

// DisableAutoAuth adds disable_auto_auth=1, so TikTok always shows the
// consent page instead of silently reusing the last logged-in account.
func DisableAutoAuth() AuthCodeOption {
	return authOption(func(p *authParams) { p.disableAuto = true })
}

// SetAuthURLParam sets a query parameter of the authorize URL. A key the
// client already sends (such as scope) is replaced in place; any other key is
// appended after the standard parameters.
func SetAuthURLParam(key, value string) AuthCodeOption {
	return authOption(func(p *authParams) { p.extra = append(p.extra, param{key, value}) })
}

// AuthCodeURL returns the URL of TikTok's consent page to send the user's
// browser to. state is echoed back to the callback and must be checked there
// (make it with GenerateState). The query holds, in this order: client_key,
// response_type=code, scope (comma-joined), redirect_uri, state, then
// code_challenge and code_challenge_method with WithPKCE, disable_auto_auth
// with DisableAutoAuth, and any SetAuthURLParam extras. Empty scope and
// redirect_uri are left out rather than sent as bare keys.
func (c *Client) AuthCodeURL(state string, opts ...AuthCodeOption) string {
	p := authParams{scopes: c.cfg.Scopes, redirect: c.cfg.RedirectURL}
	for _, o := range opts {
		if o != nil {
			o.applyAuth(&p)
		}
	}
	q := make([]param, 0, 8+len(p.extra))
	q = append(q, param{"client_key", c.cfg.ClientKey}, param{"response_type", "code"})
	if scope := strings.Join(p.scopes, ","); scope != "" {
		q = append(q, param{"scope", scope})
	}
	if p.redirect != "" {
		q = append(q, param{"redirect_uri", p.redirect})
	}
	q = append(q, param{"state", state})
	if p.verifier != "" && c.cfg.PKCE != PKCEDisabled {
		q = append(q, param{"code_challenge", c.challenge(p.verifier)}, param{"code_challenge_method", "S256"})
	}
	if p.disableAuto {
		q = append(q, param{"disable_auto_auth", "1"})
	}
extra:
	for _, e := range p.extra {
		for i := range q {
			if q[i].key == e.key {
				q[i].value = e.value
				continue extra
			}
		}
		q = append(q, e)
	}

	var b strings.Builder
	b.WriteString(c.cfg.AuthURL)
	sep := byte('?')
	if strings.Contains(c.cfg.AuthURL, "?") {
		sep = '&'
	}
	for _, kv := range q {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(url.QueryEscape(kv.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv.value))
	}
	return b.String()
}

func (c *Client) challenge(verifier string) string {
	if c.cfg.PKCE == PKCEBase64URL {
		return ChallengeBase64URL(verifier)
	}
	return ChallengeHex(verifier)
}

// GenerateState returns a new random state value: 32 bytes from crypto/rand,
// base64url-encoded without padding (43 characters).
func GenerateState() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// verifierAlphabet is the unreserved set RFC 7636 allows in a verifier.
const verifierAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// GenerateVerifier returns a new PKCE code verifier: 64 characters drawn
// uniformly from [A-Za-z0-9-._~] with crypto/rand. Make one per login.
func GenerateVerifier() string {
	const n = 64
	const limit = 256 - 256%len(verifierAlphabet) // reject bytes that would bias the draw
	out := make([]byte, 0, n)
	var buf [96]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < limit {
				out = append(out, verifierAlphabet[int(b)%len(verifierAlphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// ValidateVerifier reports whether v is a valid PKCE code verifier: 43 to
// 128 characters from [A-Za-z0-9-._~]. The error matches ErrInvalidInput.
func ValidateVerifier(v string) error {
	if len(v) < 43 || len(v) > 128 {
		return fmt.Errorf("%w: code verifier must be 43 to 128 characters, got %d", ErrInvalidInput, len(v))
	}
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(verifierAlphabet, v[i]) < 0 {
			return fmt.Errorf("%w: code verifier has a character outside [A-Za-z0-9-._~] at %d", ErrInvalidInput, i)
		}
	}
	return nil
}

// ChallengeHex returns TikTok's code challenge for verifier: the SHA-256
// digest as 64 lowercase hex characters.
func ChallengeHex(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return hex.EncodeToString(sum[:])
}

// ChallengeBase64URL returns the RFC 7636 S256 code challenge for verifier:
// the SHA-256 digest, base64url-encoded without padding (43 characters).
func ChallengeBase64URL(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
