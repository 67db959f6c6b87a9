package handlers

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Pending logins live in cookies of their own, one per login, sealed with
// AES-256-GCM. See the package documentation ("Pending logins") for why.
const (
	// pendingCookiePrefix starts the name of every pending-login cookie on
	// plain http; on https it follows the __Host- prefix.
	pendingCookiePrefix = "tiktokkit_login_"
	// hostPrefix makes the browser refuse the cookie unless it is Secure,
	// has Path "/" and no Domain: no other host can set or overwrite it.
	hostPrefix = "__Host-"
	// pendingKeyInfo is the HKDF info of the pending-login sealing key.
	pendingKeyInfo = "tiktokkit handlers pending login v1"
	// maxPendingCookie bounds the name and value of a pending-login
	// cookie, below the 4096 bytes every browser keeps. A typical one is
	// about 500 bytes; a return_to near its 2048-byte limit makes it larger.
	maxPendingCookie = 4000
	// maxPendingScan bounds how many pending-login cookies one request
	// looks at (a browser sends what it has; the rest are left alone).
	maxPendingScan = 64
	// sessionKeyUsed is the session key of the logins already used.
	sessionKeyUsed = "tiktokkit.used_logins"
	// maxUsed bounds the used logins a session remembers.
	maxUsed = 32
)

// errPendingUnreadable is why a pending-login cookie did not open.
var errPendingUnreadable = errors.New("does not open")

// errPendingTooLarge: the sealed pending login would not fit in a cookie.
var errPendingTooLarge = fmt.Errorf("%w: pending login too large for a cookie", ErrSession)

// pendingLogin is a login started by Login and waiting for its callback. It
// travels sealed in a cookie of its own and is used at most once.
type pendingLogin struct {
	State       string    `json:"state"`
	Verifier    string    `json:"verifier"`
	ReturnTo    string    `json:"return_to"`
	Scopes      []string  `json:"scopes"`
	StepUp      []string  `json:"step_up,omitempty"` // scopes a step-up login asked for by name
	RedirectURL string    `json:"redirect_url"`
	Created     time.Time `json:"created"`
}

// newPendingAEAD derives the sealing key from secret with HKDF-SHA256.
func newPendingAEAD(secret []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, pendingKeyInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// pendingPrefix is the name prefix of this Auth's pending-login cookies.
func (a *Auth) pendingPrefix() string {
	if a.secureCookies {
		return hostPrefix + pendingCookiePrefix
	}
	return pendingCookiePrefix
}

// pendingCookieName names the cookie of the login with this state: a hash
// of the state, so a callback finds its own login without reading the
// others, and the name says nothing the URL does not.
func (a *Auth) pendingCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return a.pendingPrefix() + base64.RawURLEncoding.EncodeToString(sum[:12])
}

// usedID is how the session remembers a used login: a hash of its state.
func usedID(state string) string {
	sum := sha256.Sum256([]byte("used:" + state))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// sealPending returns the cookie that carries p. The cookie name is the
// additional data of the seal, so a sealed value does not open under
// another name.
func (a *Auth) sealPending(p pendingLogin) (*http.Cookie, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // '&' in return_to stays one byte
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("%w: encode pending login: %w", ErrSession, err)
	}
	plain := buf.Bytes()
	name := a.pendingCookieName(p.State)
	nonce := make([]byte, a.aead.NonceSize(), a.aead.NonceSize()+len(plain)+a.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	sealed := a.aead.Seal(nonce, nonce, plain, []byte(name))
	c := a.pendingCookie(name, base64.RawURLEncoding.EncodeToString(sealed))
	if len(c.Name)+len(c.Value) > maxPendingCookie {
		return nil, errPendingTooLarge
	}
	c.MaxAge = int((a.pendingTTL + time.Second - 1) / time.Second)
	return c, nil
}

// openPending opens a pending-login cookie read from a request.
func (a *Auth) openPending(c *http.Cookie) (pendingLogin, error) {
	var p pendingLogin
	if len(c.Name)+len(c.Value) > maxPendingCookie {
		return p, errPendingUnreadable
	}
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(c.Value)
	if err != nil || len(sealed) < a.aead.NonceSize()+a.aead.Overhead() {
		return p, errPendingUnreadable
	}
	n := a.aead.NonceSize()
	plain, err := a.aead.Open(nil, sealed[:n], sealed[n:], []byte(c.Name))
	if err != nil {
		return p, errPendingUnreadable
	}
	if err := json.Unmarshal(plain, &p); err != nil || p.State == "" || p.Created.IsZero() {
		return pendingLogin{}, errPendingUnreadable
	}
	return p, nil
}

// pendingCookie is a pending-login cookie with the attributes every one of
// them shares: HttpOnly; SameSite=Lax, so that TikTok's top-level redirect
// back carries it; Path "/", as the __Host- prefix requires and so that
// Login sees the logins already waiting; Secure on https.
func (a *Auth) pendingCookie(name, value string) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   a.secureCookies,
		SameSite: http.SameSiteLaxMode,
	}
}

// dropPending tells the browser to forget the named pending-login cookie.
func (a *Auth) dropPending(w http.ResponseWriter, name string) {
	c := a.pendingCookie(name, "")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// expired reports whether p can no longer be used at now.
func (a *Auth) expired(p pendingLogin, now time.Time) bool {
	age := now.Sub(p.Created)
	return age >= a.pendingTTL || age < -time.Minute
}

// addPending sets the cookie of a new pending login p. It also drops the
// pending-login cookies of r that do not open or have expired, and the
// oldest ones when more than MaxPending would remain. Logins started at the
// same moment do not see each other's cookie yet, so for a moment a
// browser may hold a few more than MaxPending; the next login trims them.
func (a *Auth) addPending(w http.ResponseWriter, r *http.Request, p pendingLogin) error {
	type waiting struct {
		name    string
		created time.Time
	}
	var keep []waiting
	prefix := a.pendingPrefix()
	scanned := 0
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		if scanned++; scanned > maxPendingScan {
			break
		}
		q, err := a.openPending(c)
		if err != nil || a.expired(q, p.Created) || c.Name != a.pendingCookieName(q.State) {
			a.dropPending(w, c.Name)
			continue
		}
		keep = append(keep, waiting{c.Name, q.Created})
	}
	slices.SortStableFunc(keep, func(x, y waiting) int { return x.created.Compare(y.created) })
	if n := len(keep) - (a.maxPending - 1); n > 0 {
		for _, old := range keep[:n] {
			a.dropPending(w, old.name)
		}
	}
	c, err := a.sealPending(p)
	if errors.Is(err, errPendingTooLarge) && p.ReturnTo != a.defaultReturnTo {
		// Configured scopes and URLs are small; a long return_to is not.
		a.logger.LogAttrs(r.Context(), slog.LevelInfo, "tiktok login: return_to too long for the pending-login cookie, replaced by the default",
			slog.Int("return_to_bytes", len(p.ReturnTo)))
		p.ReturnTo = a.defaultReturnTo
		c, err = a.sealPending(p)
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, c)
	return nil
}

// takePending finds the pending login of state in r's cookies and uses it
// up: the answer deletes its cookie and the session records it as used, so
// a replay of the callback, with or without the cookie, is refused. Other
// pending logins are never touched. The state in the sealed cookie is
// compared with the callback's in constant time.
//
// Outcomes: ErrNoPendingLogin when the browser has no pending login at all
// or this one was used already; ErrStateMismatch when it has others but
// none for this state; ErrBadPendingLogin when the cookie does not open
// (it is deleted); ErrLoginExpired when it is too old (it is deleted).
func (a *Auth) takePending(w http.ResponseWriter, r *http.Request, state string) (pendingLogin, error) {
	ctx := r.Context()
	name := a.pendingCookieName(state)
	c, err := r.Cookie(name)
	if err != nil {
		if a.wasUsed(ctx, state) || !a.hasPending(r) {
			return pendingLogin{}, ErrNoPendingLogin
		}
		return pendingLogin{}, ErrStateMismatch
	}
	p, err := a.openPending(c)
	if err != nil {
		a.dropPending(w, name)
		return pendingLogin{}, fmt.Errorf("%w: cookie %w", ErrBadPendingLogin, err)
	}
	if subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) != 1 {
		return pendingLogin{}, ErrStateMismatch
	}
	a.dropPending(w, name)
	now := a.client.Now()
	if a.expired(p, now) {
		return pendingLogin{}, ErrLoginExpired
	}
	if a.wasUsed(ctx, state) {
		return pendingLogin{}, ErrNoPendingLogin
	}
	if err := a.markUsed(ctx, state, p.Created.Add(a.pendingTTL), now); err != nil {
		return pendingLogin{}, err
	}
	return p, nil
}

// hasPending reports whether r carries any pending-login cookie.
func (a *Auth) hasPending(r *http.Request) bool {
	prefix := a.pendingPrefix()
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, prefix) {
			return true
		}
	}
	return false
}

// usedLogin is a used pending login as the session remembers it, until the
// login would have expired anyway.
type usedLogin struct {
	ID      string `json:"id"`
	Expires int64  `json:"exp"` // Unix seconds
}

// loadUsed returns the session's used logins. A value that does not decode
// counts as none. It is stored as a JSON string so that any scs codec can
// hold it without registering types.
func (a *Auth) loadUsed(ctx context.Context) []usedLogin {
	s := a.sm.GetString(ctx, sessionKeyUsed)
	if s == "" {
		return nil
	}
	var list []usedLogin
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		a.logger.LogAttrs(ctx, slog.LevelWarn, "tiktok login: discarding an unreadable list of used logins", errAttr(err))
		return nil
	}
	return list
}

// wasUsed reports whether the session recorded the login of state as used.
func (a *Auth) wasUsed(ctx context.Context, state string) bool {
	id := usedID(state)
	for _, u := range a.loadUsed(ctx) {
		if subtle.ConstantTimeCompare([]byte(u.ID), []byte(id)) == 1 {
			return true
		}
	}
	return false
}

// markUsed records the login of state as used until expires, dropping the
// entries that expired by now and the oldest beyond maxUsed.
func (a *Auth) markUsed(ctx context.Context, state string, expires, now time.Time) error {
	var list []usedLogin
	for _, u := range a.loadUsed(ctx) {
		if u.Expires > now.Unix() {
			list = append(list, u)
		}
	}
	list = append(list, usedLogin{ID: usedID(state), Expires: expires.Unix() + 1})
	if n := len(list) - maxUsed; n > 0 {
		list = list[n:]
	}
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("%w: encode used logins: %w", ErrSession, err)
	}
	a.sm.Put(ctx, sessionKeyUsed, string(b))
	return nil
}
