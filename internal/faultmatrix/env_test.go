package faultmatrix_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testtoken"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// Client settings of every case, printed in the document's header.
const (
	maxAttempts  = 3
	maxBodyBytes = 64 << 10
	shortTimeout = 400 * time.Millisecond
	retryAfter   = 2 * time.Second
	redirectURL  = "http://127.0.0.1/auth/tiktok/callback"
	// faultDelay is far beyond shortTimeout; the emulator stops waiting
	// when the client leaves.
	faultDelay    = time.Minute
	refreshMargin = 5 * time.Minute
)

var quiet = slog.New(slog.DiscardHandler)

// counter is an http.RoundTripper that counts the requests the client
// sends per path (each retry counts; the transport's own silent resend of
// an idempotent request does not), and can run a hook before a request to
// a path is sent.
type counter struct {
	base http.RoundTripper

	mu     sync.Mutex
	counts map[string]int
	before map[string]func()
	lose   map[string]bool
}

func newCounter() *counter {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &counter{base: tr, counts: map[string]int{}, before: map[string]func(){}, lose: map[string]bool{}}
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[r.URL.Path]++
	hook, lose := c.before[r.URL.Path], c.lose[r.URL.Path]
	delete(c.before, r.URL.Path)
	delete(c.lose, r.URL.Path)
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	resp, err := c.base.RoundTrip(r)
	if err != nil || !lose {
		return resp, err
	}
	// The server has answered; the answer never arrives.
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// loseAnswer makes the next request to path reach the server and its
// answer get lost, as when a connection breaks after the server has acted.
func (c *counter) loseAnswer(path string) {
	c.mu.Lock()
	c.lose[path] = true
	c.mu.Unlock()
}

// take returns the count for path and sets it back to zero.
func (c *counter) take(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.counts[path]
	delete(c.counts, path)
	return n
}

// once runs f before the next request to path is sent.
func (c *counter) once(path string, f func()) {
	c.mu.Lock()
	c.before[path] = f
	c.mu.Unlock()
}

func (c *counter) close() { c.base.(*http.Transport).CloseIdleConnections() }

// newClient makes a client on emu that sends through ctr.
func newClient(t *testing.T, emu *tiktoktest.Server, ctr *counter, timeout time.Duration) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{
		ClientKey:    emu.ClientKey(),
		ClientSecret: emu.ClientSecret(),
		RedirectURL:  redirectURL,
		AuthURL:      emu.AuthURL(),
		APIURL:       emu.APIURL(),
		HTTPClient:   &http.Client{Transport: ctr, Timeout: timeout},
		Logger:       quiet,
		Retry:        client.RetryPolicy{MaxAttempts: maxAttempts, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond},
		MaxBodyBytes: maxBodyBytes,
	})
	require.NoError(t, err)
	t.Cleanup(ctr.close)
	return c
}

// issue mints a grant at the emulator, as a login would, and returns it in
// the form the kit stores.
func issue(t *testing.T, emu *tiktoktest.Server, openID string, scopes ...string) *client.Token {
	t.Helper()
	r, err := emu.IssueToken(openID, scopes...)
	require.NoError(t, err)
	return testtoken.FromEmulator(r, time.Now())
}

// expired returns a copy of tok whose access token has expired, so that
// the next Source.Token refreshes it.
func expired(tok *client.Token) *client.Token {
	c := *tok
	c.Expiry = time.Now().Add(-time.Minute)
	return &c
}

func newSource(t *testing.T, st tokenstore.Store, c *client.Client) *tokenstore.Source {
	t.Helper()
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{
		Store: st, Client: c, Logger: quiet, Margin: refreshMargin, LeaseTTL: 10 * time.Second,
	})
	require.NoError(t, err)
	return src
}

// ctxKey carries the store key of a guarded test request.
type ctxKey struct{}

// identity is the Identity of the test guards: the key the request was
// sent for (see guarded), which Clear blanks as a session would forget it.
type identity struct{}

func (identity) Key(ctx context.Context) string {
	if p, ok := ctx.Value(ctxKey{}).(*atomic.Pointer[string]); ok {
		if k := p.Load(); k != nil {
			return *k
		}
	}
	return ""
}

func (identity) SetKey(ctx context.Context, key string) {
	if p, ok := ctx.Value(ctxKey{}).(*atomic.Pointer[string]); ok {
		p.Store(&key)
	}
}

func (identity) Clear(ctx context.Context) {
	if p, ok := ctx.Value(ctxKey{}).(*atomic.Pointer[string]); ok {
		p.Store(nil)
	}
}

func newGuard(t *testing.T, src *tokenstore.Source) *middleware.Guard {
	t.Helper()
	g, err := middleware.New(middleware.Config{Tokens: src, Identity: identity{}, Logger: quiet})
	require.NoError(t, err)
	return g
}

// guarded sends one JSON request for key through h and returns the status.
func guarded(t *testing.T, h http.Handler, key string) int {
	t.Helper()
	p := new(atomic.Pointer[string])
	p.Store(&key)
	r := httptest.NewRequestWithContext(context.WithValue(t.Context(), ctxKey{}, p), http.MethodGet, "/api/me", nil)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// call runs f and turns a panic into an error, so that a panicking case
// fails with a message instead of taking the other cases down.
func call(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

// sentinels are the outcomes callers branch on, in the order the document
// lists them.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrLoginRequired", tokenstore.ErrLoginRequired},
	{"ErrInvalidGrant", client.ErrInvalidGrant},
	{"ErrAccessTokenInvalid", client.ErrAccessTokenInvalid},
	{"ErrServer", client.ErrServer},
	{"ErrRateLimited", client.ErrRateLimited},
	{"ErrInvalidRequest", client.ErrInvalidRequest},
	{"ErrBodyTooLarge", client.ErrBodyTooLarge},
	{"ErrCorrupt", tokenstore.ErrCorrupt},
	{"ErrUnknownKey", tokenstore.ErrUnknownKey},
}

// describe says what err is, from what errors.As and errors.Is find in
// it: the structured TikTok error or the network failure, then the
// sentinels it matches, then whether client.IsTemporary holds. It never
// includes log IDs, tokens or timings, so the text is the same on every
// run.
func describe(err error) string {
	if err == nil {
		return "none"
	}
	var (
		oe *client.OAuthError
		ae *client.APIError
		re *client.ResponseError
		ue *client.UploadError
		ne net.Error
		b  strings.Builder
	)
	if errors.As(err, &ue) {
		if ue.StatusCode != 0 {
			fmt.Fprintf(&b, "`*client.UploadError` HTTP %d", ue.StatusCode)
		} else {
			b.WriteString("`*client.UploadError` wrapping ")
		}
	}
	switch {
	case ue != nil && ue.StatusCode != 0:
	case errors.As(err, &oe):
		fmt.Fprintf(&b, "`*client.OAuthError` %s, HTTP %d", oe.Code, oe.StatusCode)
		writeRetryAfter(&b, oe.RetryAfter)
	case errors.As(err, &ae):
		fmt.Fprintf(&b, "`*client.APIError` %s, HTTP %d", ae.Code, ae.StatusCode)
		writeRetryAfter(&b, ae.RetryAfter)
	case errors.As(err, &re):
		fmt.Fprintf(&b, "`*client.ResponseError` HTTP %d", re.StatusCode)
		if ct, _, _ := strings.Cut(re.ContentType, ";"); ct != "" {
			fmt.Fprintf(&b, " %s", ct)
		}
		switch {
		case re.Err == nil, errors.Is(re.Err, client.ErrBodyTooLarge):
		case fmt.Sprintf("%T", re.Err) == "*errors.errorString":
			fmt.Fprintf(&b, " (%q)", strings.TrimPrefix(re.Err.Error(), "client: "))
		default:
			fmt.Fprintf(&b, " (`%T`)", re.Err)
		}
		writeRetryAfter(&b, re.RetryAfter)
	case errors.As(err, &ne) && ne.Timeout():
		b.WriteString("timeout (`net.Error`, Timeout() true)")
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), droppedText(err):
		// Which of these a dropped connection gives depends on whether the
		// client was still writing: name them together.
		b.WriteString("connection dropped (`syscall.ECONNRESET`, `EPIPE` or `io.EOF`)")
	case errors.Is(err, context.DeadlineExceeded):
		b.WriteString("`context.DeadlineExceeded` (the caller's deadline)")
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(s.name)
		}
	}
	if client.IsTemporary(err) {
		b.WriteString("; temporary")
	}
	if b.Len() == 0 {
		return "untyped error"
	}
	return b.String()
}

// droppedText reports a dropped connection that net/http describes only in
// text: the transport formats some of its write-side failures with %v, so
// the cause is not wrapped.
func droppedText(err error) bool {
	msg := err.Error()
	for _, s := range []string{"connection reset by peer", "broken pipe", "use of closed network connection", "transport connection broken", "server closed idle connection", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func writeRetryAfter(b *strings.Builder, d time.Duration) {
	if d > 0 {
		fmt.Fprintf(b, ", RetryAfter %s", d)
	}
}
