package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

func TestParseCallbackQuery(t *testing.T) {
	tests := []struct {
		raw     string
		want    callbackQuery
		wantErr bool
	}{
		{raw: "code=abc&state=xyz", want: callbackQuery{Code: "abc", State: "xyz"}},
		{raw: "code=a%2Ab%210&scopes=user.info.basic%2Cvideo.list&state=s",
			want: callbackQuery{Code: "a*b!0", State: "s", Scopes: []string{"user.info.basic", "video.list"}}},
		{raw: "error=access_denied&error_description=User+denied&state=s",
			want: callbackQuery{Error: "access_denied", ErrorDesc: "User denied", State: "s"}},
		{raw: "code=abc&state=s&utm_source=x&utm_source=y", want: callbackQuery{Code: "abc", State: "s"}},
		{raw: "", wantErr: true},
		{raw: "code=abc", wantErr: true},
		{raw: "state=s", wantErr: true},
		{raw: "code=&state=s", wantErr: true},
		{raw: "code=abc&state=", wantErr: true},
		{raw: "code=abc&state=s&state=t", wantErr: true},
		{raw: "code=abc&code=def&state=s", wantErr: true},
		{raw: "code=abc&state=s&scopes=a&scopes=b", wantErr: true},
		{raw: "code=abc&error=access_denied&state=s", wantErr: true},
		{raw: "error=&state=s", wantErr: true},
		{raw: "error=x&error=y&state=s", wantErr: true},
		{raw: "code=a%0Ab&state=s", wantErr: true},
		{raw: "code=abc&state=s%00", wantErr: true},
		{raw: "code=abc&state=%zz", wantErr: true},
		{raw: "code=abc;state=s", wantErr: true},
		{raw: "code=" + strings.Repeat("a", maxCodeLen+1) + "&state=s", wantErr: true},
		{raw: "code=abc&state=" + strings.Repeat("s", maxStateLen+1), wantErr: true},
		{raw: "code=abc&state=s&x=" + strings.Repeat("y", maxCallbackQuery), wantErr: true},
	}
	for _, tc := range tests {
		name := tc.raw
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			got, err := parseCallbackQuery(tc.raw)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrMalformedCallback)
				assert.Equal(t, http.StatusBadRequest, StatusCode(err))
				return
			}
			require.NoError(t, err)
			assert.Empty(t, cmp.Diff(tc.want, got))
		})
	}
}

func FuzzParseCallbackQuery(f *testing.F) {
	for _, s := range []string{"code=abc&state=xyz", "error=access_denied&state=s", "code=a&code=b&state=s",
		"state=%00", "scopes=user.info.basic,video.list&code=c&state=s", ";", "%", "code=%2A%21&state=%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseCallbackQuery(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformedCallback) {
				t.Fatalf("error %v does not match ErrMalformedCallback", err)
			}
			return
		}
		if q.State == "" || (q.Code == "") == (q.Error == "") {
			t.Fatalf("accepted %q as %+v", raw, q)
		}
		for _, v := range []string{q.State, q.Code, q.Error, q.ErrorDesc} {
			if hasControl(v) {
				t.Fatalf("accepted a control character in %q", raw)
			}
		}
	})
}

// FuzzCallback sends arbitrary queries to the callback of a browser with a
// pending login: it must never panic, never exchange a code, and answer
// with a 4xx unless the state is the pending one.
func FuzzCallback(f *testing.F) {
	f.Add("code=abc&state=xyz")
	f.Add("error=server_error&state=s")
	f.Add("code=a&code=b")
	f.Add("state=%ff%fe&code=\x00")
	a, sm := newTestAuth(f, "http://127.0.0.1:1")
	f.Fuzz(func(t *testing.T, raw string) {
		p := newPending(a, "/")
		req := httptest.NewRequest(http.MethodGet, "/callback", nil)
		req.URL.RawQuery = raw
		req.AddCookie(sealed(t, a, p))
		rec := httptest.NewRecorder()
		sm.LoadAndSave(a.Callback()).ServeHTTP(rec, req)
		if strings.Contains(raw, p.State) {
			return
		}
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("query %q answered %d", raw, rec.Code)
		}
	})
}

// newPending returns a fresh pending login as Login makes it.
func newPending(a *Auth, returnTo string) pendingLogin {
	return pendingLogin{State: client.GenerateState(), Verifier: client.GenerateVerifier(),
		ReturnTo: returnTo, RedirectURL: a.redirectURL, Created: a.client.Now()}
}

// sealed returns the cookie that carries p.
func sealed(tb testing.TB, a *Auth, p pendingLogin) *http.Cookie {
	tb.Helper()
	c, err := a.sealPending(p)
	require.NoError(tb, err)
	return &http.Cookie{Name: c.Name, Value: c.Value}
}

// newTestAuth returns handlers whose client points at apiURL (nothing
// listens there in these tests: no call must reach it).
func newTestAuth(tb testing.TB, apiURL string) (*Auth, *scs.SessionManager) {
	tb.Helper()
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s",
		RedirectURL: "https://app.example/auth/tiktok/callback", APIURL: apiURL, AuthURL: apiURL + "/authorize/",
		Retry: client.RetryPolicy{MaxAttempts: 1}})
	require.NoError(tb, err)
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: c})
	require.NoError(tb, err)
	sm := scs.New()
	a, err := New(Config{Tokens: src, Sessions: sm, Logger: discardLogger()})
	require.NoError(tb, err)
	return a, sm
}

// TestTakePending checks the lookup of a pending login by the callback's
// state: only the exact state finds it, a wrong one leaves it usable, and
// once used it is refused even when its cookie comes back.
func TestTakePending(t *testing.T) {
	a, sm := newTestAuth(t, "http://127.0.0.1:1")
	tests := []struct {
		name  string
		given func(state string) string
		want  error
	}{
		{"same", func(s string) string { return s }, nil},
		{"last byte differs", func(s string) string { return s[:len(s)-1] + flip(s[len(s)-1]) }, ErrStateMismatch},
		{"first byte differs", func(s string) string { return flip(s[0]) + s[1:] }, ErrStateMismatch},
		{"prefix", func(s string) string { return s[:len(s)-1] }, ErrStateMismatch},
		{"longer", func(s string) string { return s + "x" }, ErrStateMismatch},
		{"empty", func(string) string { return "" }, ErrStateMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPending(a, "/")
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.AddCookie(sealed(t, a, p))
			h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, err := a.takePending(w, r, tc.given(p.State))
				require.ErrorIs(t, err, tc.want)
				if tc.want != nil {
					// A wrong state disturbs nothing: the login still completes.
					got, err = a.takePending(w, r, p.State)
					require.NoError(t, err)
				}
				assert.Equal(t, p.State, got.State)
				// Used once: the same cookie sent again is refused.
				_, err = a.takePending(w, r, p.State)
				require.ErrorIs(t, err, ErrNoPendingLogin)
			}))
			h.ServeHTTP(httptest.NewRecorder(), req)
		})
	}
}

// TestTakePendingCookies checks what a callback does with the cookie it
// finds: a damaged or foreign one is refused and deleted, an expired one is
// refused and deleted, and in no case is another login's cookie touched.
func TestTakePendingCookies(t *testing.T) {
	a, sm := newTestAuth(t, "http://127.0.0.1:1")
	other, _ := newTestAuth(t, "http://127.0.0.1:1")
	other.aead, _ = newPendingAEAD([]byte("another key, at least thirty-two bytes long"))
	tests := []struct {
		name   string
		cookie func(p pendingLogin) *http.Cookie
		want   error
	}{
		{"flipped byte", func(p pendingLogin) *http.Cookie {
			c := sealed(t, a, p)
			b := []byte(c.Value)
			b[len(b)/2] = flip(b[len(b)/2])[0]
			c.Value = string(b)
			return c
		}, ErrBadPendingLogin},
		{"truncated", func(p pendingLogin) *http.Cookie {
			c := sealed(t, a, p)
			c.Value = c.Value[:20]
			return c
		}, ErrBadPendingLogin},
		{"not base64", func(p pendingLogin) *http.Cookie {
			c := sealed(t, a, p)
			c.Value = "%%%"
			return c
		}, ErrBadPendingLogin},
		{"too long", func(p pendingLogin) *http.Cookie {
			c := sealed(t, a, p)
			c.Value = strings.Repeat("A", maxPendingCookie+1)
			return c
		}, ErrBadPendingLogin},
		{"another key", func(p pendingLogin) *http.Cookie {
			c := sealed(t, other, p)
			return c
		}, ErrBadPendingLogin},
		{"sealed under another name", func(p pendingLogin) *http.Cookie {
			q := newPending(a, "/")
			c := sealed(t, a, q)
			c.Name = a.pendingCookieName(p.State)
			return c
		}, ErrBadPendingLogin},
		{"expired", func(p pendingLogin) *http.Cookie {
			p.Created = p.Created.Add(-a.pendingTTL)
			return sealed(t, a, p)
		}, ErrLoginExpired},
		{"from the future", func(p pendingLogin) *http.Cookie {
			p.Created = p.Created.Add(2 * time.Minute)
			return sealed(t, a, p)
		}, ErrLoginExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPending(a, "/")
			bystander := newPending(a, "/other")
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.AddCookie(tc.cookie(p))
			req.AddCookie(sealed(t, a, bystander))
			rec := httptest.NewRecorder()
			sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := a.takePending(w, r, p.State)
				require.ErrorIs(t, err, tc.want)
				assert.Equal(t, http.StatusBadRequest, StatusCode(err))
				// The other login is still there and still works.
				got, err := a.takePending(w, r, bystander.State)
				require.NoError(t, err)
				assert.Equal(t, "/other", got.ReturnTo)
			})).ServeHTTP(rec, req)
			deleted := map[string]bool{}
			for _, c := range rec.Result().Cookies() {
				if c.MaxAge < 0 {
					deleted[c.Name] = true
				}
			}
			assert.True(t, deleted[a.pendingCookieName(p.State)], "the refused cookie is deleted")
		})
	}
}

func flip(b byte) string {
	if b == 'A' {
		return "B"
	}
	return "A"
}

func TestStatusCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, http.StatusOK},
		{ErrMalformedCallback, http.StatusBadRequest},
		{fmt.Errorf("%w: x", ErrMalformedCallback), http.StatusBadRequest},
		{ErrNoPendingLogin, http.StatusBadRequest},
		{ErrStateMismatch, http.StatusBadRequest},
		{ErrLoginExpired, http.StatusBadRequest},
		{ErrScopeNotAllowed, http.StatusBadRequest},
		{&AuthorizeError{Code: "access_denied"}, http.StatusBadRequest},
		{&AuthorizeError{Code: "invalid_scope"}, http.StatusBadRequest},
		{&AuthorizeError{Code: "server_error"}, http.StatusBadGateway},
		{&AuthorizeError{Code: "temporarily_unavailable"}, http.StatusBadGateway},
		{fmt.Errorf("%w: %w", ErrExchange, &client.OAuthError{Code: "invalid_grant"}), http.StatusBadRequest},
		{fmt.Errorf("%w: %w", ErrExchange, &client.OAuthError{Code: "invalid_grant", StatusCode: 503}), http.StatusBadGateway},
		{fmt.Errorf("%w: %w", ErrExchange, &client.OAuthError{Code: "server_error"}), http.StatusBadGateway},
		{fmt.Errorf("%w: %w", ErrStore, errors.New("db down")), http.StatusInternalServerError},
		{ErrSession, http.StatusInternalServerError},
		{fmt.Errorf("%w: %w", ErrLoginRefused, ErrStore), http.StatusForbidden},
		{ErrCSRFUnprotected, http.StatusForbidden},
		{ErrCrossOrigin, http.StatusForbidden},
		{ErrMethodNotAllowed, http.StatusMethodNotAllowed},
		{errors.New("other"), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			assert.Equal(t, tc.want, StatusCode(tc.err))
			if tc.err != nil {
				assert.NotContains(t, UserMessage(tc.err), "handlers:")
			}
		})
	}
	assert.ErrorIs(t, &AuthorizeError{Code: "access_denied"}, ErrLoginDenied)
	assert.NotErrorIs(t, &AuthorizeError{Code: "server_error"}, ErrLoginDenied)
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		err  error
		want slog.Level
	}{
		{ErrNoPendingLogin, slog.LevelDebug},
		{ErrStateMismatch, slog.LevelDebug},
		{&AuthorizeError{Code: "access_denied"}, slog.LevelDebug},
		{fmt.Errorf("%w: %w", ErrExchange, &client.OAuthError{Code: "invalid_grant"}), slog.LevelDebug},
		{ErrMethodNotAllowed, slog.LevelDebug},
		{ErrScopeDeclined, slog.LevelDebug},
		{fmt.Errorf("%w: not on the list", ErrLoginRefused), slog.LevelInfo},
		{&AuthorizeError{Code: "server_error"}, slog.LevelError},
		{fmt.Errorf("%w: %w", ErrExchange, &client.OAuthError{Code: "invalid_grant", StatusCode: 503}), slog.LevelError},
		{ErrCrossOrigin, slog.LevelWarn},
		{ErrCSRFUnprotected, slog.LevelWarn},
		{ErrSession, slog.LevelError},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, LogLevel(tc.err), "%v", tc.err)
	}
}

func TestNewValidates(t *testing.T) {
	c, err := client.New(client.Config{ClientKey: "k", ClientSecret: "s"})
	require.NoError(t, err)
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: c})
	require.NoError(t, err)
	sm := scs.New()
	ok := func(cfg Config) Config {
		cfg.Tokens, cfg.Sessions = src, sm
		if cfg.RedirectURL == "" {
			cfg.RedirectURL = "https://app.example/cb"
		}
		return cfg
	}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no tokens", Config{Sessions: sm, RedirectURL: "https://app.example/cb"}},
		{"no sessions", Config{Tokens: src, RedirectURL: "https://app.example/cb"}},
		{"no redirect URL", Config{Tokens: src, Sessions: sm}},
		{"relative redirect URL", ok(Config{RedirectURL: "/cb"})},
		{"redirect URL with fragment", ok(Config{RedirectURL: "https://app.example/cb#x"})},
		{"absolute default return", ok(Config{DefaultReturnTo: "https://evil.example/"})},
		{"unsafe after disconnect", ok(Config{AfterDisconnect: "//evil.example"})},
		{"bad scope", ok(Config{Scopes: []string{"a,b"}})},
		{"empty step-up scope", ok(Config{StepUpScopes: []string{""}})},
		{"negative TTL", ok(Config{PendingTTL: -time.Second})},
		{"short pending-login key", ok(Config{PendingLoginKey: []byte("too short")})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "handlers: "), err.Error())
		})
	}
	a, err := New(ok(Config{}))
	require.NoError(t, err)
	assert.Equal(t, []string{client.ScopeUserInfoBasic}, a.scopes, "defaults to the client's scopes")
	assert.Equal(t, "/", a.defaultReturnTo)
	assert.Equal(t, DefaultPendingTTL, a.pendingTTL)
	assert.Equal(t, DefaultMaxPending, a.maxPending)
}

func TestCredentialsRedacted(t *testing.T) {
	res := AuthResult{Provider: Provider, UID: "u", Credentials: Credentials{Token: "act.secret1", RefreshToken: "rft.secret2",
		Scopes: []string{"user.info.basic"}}}
	var sb strings.Builder
	logger := newTextLogger(&sb)
	logger.Info("login", "result", res, "credentials", res.Credentials, "ptr", &res)
	var jb strings.Builder
	slog.New(slog.NewJSONHandler(&jb, nil)).Info("nested", "v", struct{ R *AuthResult }{&res})
	asJSON, err := json.Marshal(res)
	require.NoError(t, err)
	var back struct{ Credentials map[string]any }
	require.NoError(t, json.Unmarshal(asJSON, &back))
	assert.Equal(t, "REDACTED", back.Credentials["Token"])
	assert.Equal(t, []any{"user.info.basic"}, back.Credentials["Scopes"])
	for _, s := range []string{
		string(asJSON), jb.String(),
		fmt.Sprint(res), fmt.Sprintf("%+v", res), fmt.Sprintf("%#v", res), fmt.Sprintf("%v", &res),
		fmt.Sprint(res.Credentials), fmt.Sprintf("%#v", res.Credentials), fmt.Sprintf("%q", res.Credentials),
		sb.String(),
	} {
		assert.NotContains(t, s, "secret1")
		assert.NotContains(t, s, "secret2")
	}
	assert.Contains(t, sb.String(), "user.info.basic")
}

func TestCleanText(t *testing.T) {
	assert.Equal(t, "ab", cleanText("a\r\nb", 10))
	assert.Equal(t, "ab", cleanText("a\x00b\x7f", 10))
	assert.Equal(t, "caf", cleanText("café", 4), "cut on a character boundary")
	assert.Equal(t, "abc", cleanText("abcdef", 3))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestWithoutSession(t *testing.T) {
	a, _ := newTestAuth(t, "http://127.0.0.1:1")
	for _, tc := range []struct {
		h      http.Handler
		method string
		target string
	}{
		{a.Login(), http.MethodGet, "/login"},
		{a.Callback(), http.MethodGet, "/callback?code=c&state=s"},
		{a.Disconnect(), http.MethodPost, "/disconnect"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			a.skipCSRF = true
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		})
	}
}

func TestMethods(t *testing.T) {
	a, sm := newTestAuth(t, "http://127.0.0.1:1")
	for _, tc := range []struct {
		h      http.Handler
		method string
		allow  string
	}{
		{a.Login(), http.MethodPut, "GET, HEAD, POST"},
		{a.Callback(), http.MethodHead, "GET"},
		{a.Callback(), http.MethodPost, "GET"},
		{a.Disconnect(), http.MethodGet, "POST"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			sm.LoadAndSave(tc.h).ServeHTTP(rec, httptest.NewRequest(tc.method, "/?code=c&state=s", nil))
			assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
			assert.Equal(t, tc.allow, rec.Header().Get("Allow"))
		})
	}
}

// TestPendingTooLarge: a pending login that would not fit in a cookie
// drops its return_to for the default; if it still does not fit, the
// login fails with ErrSession rather than set a cookie the browser drops.
func TestPendingTooLarge(t *testing.T) {
	a, _ := newTestAuth(t, "http://127.0.0.1:1")
	p := newPending(a, "/"+strings.Repeat("x", 2000))
	for i := range 100 {
		p.Scopes = append(p.Scopes, fmt.Sprintf("scope.%03d", i))
	}
	rec := httptest.NewRecorder()
	require.NoError(t, a.addPending(rec, httptest.NewRequest(http.MethodGet, "/", nil), p))
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	got, err := a.openPending(cookies[0])
	require.NoError(t, err)
	assert.Equal(t, "/", got.ReturnTo)
	assert.Equal(t, p.Scopes, got.Scopes)

	for i := range 400 {
		p.Scopes = append(p.Scopes, fmt.Sprintf("more.%03d", i))
	}
	err = a.addPending(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), p)
	require.ErrorIs(t, err, ErrSession)
}

// FuzzOpenPending feeds arbitrary cookie values to the opening of a
// pending-login cookie: it must never panic, and nothing but a value sealed
// by the handlers opens.
func FuzzOpenPending(f *testing.F) {
	a, _ := newTestAuth(f, "http://127.0.0.1:1")
	p := newPending(a, "/me")
	genuine := sealed(f, a, p)
	f.Add(genuine.Value)
	f.Add(genuine.Value[:len(genuine.Value)-1])
	f.Add("")
	f.Add("AAAA")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, value string) {
		got, err := a.openPending(&http.Cookie{Name: genuine.Name, Value: value})
		if value == genuine.Value {
			require.NoError(t, err)
			assert.Equal(t, p.State, got.State)
			return
		}
		if err == nil {
			t.Fatalf("opened a value the handlers did not seal: %q", value)
		}
	})
}

// TestPendingLoginKey: the cookies are sealed under PendingLoginKey when
// it is set, so instances with the same key open each other's whatever
// their client secret, and an instance with another key does not.
func TestPendingLoginKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	build := func(secret string, key []byte) *Auth {
		c, err := client.New(client.Config{ClientKey: "k", ClientSecret: secret,
			RedirectURL: "https://app.example/auth/tiktok/callback"})
		require.NoError(t, err)
		src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: c})
		require.NoError(t, err)
		a, err := New(Config{Tokens: src, Sessions: scs.New(), PendingLoginKey: key, Logger: discardLogger()})
		require.NoError(t, err)
		return a
	}
	one, two := build("secret-one", key), build("secret-two", key)
	p := newPending(one, "/me")
	got, err := two.openPending(sealed(t, one, p))
	require.NoError(t, err)
	assert.Equal(t, p.State, got.State)

	_, err = build("secret-one", nil).openPending(sealed(t, one, p))
	assert.Error(t, err, "the client secret is another key")
	a, b := build("same", nil), build("same", nil)
	_, err = b.openPending(sealed(t, a, p))
	assert.NoError(t, err, "by default the client secret is the key")
	assert.True(t, strings.HasPrefix(sealed(t, a, p).Name, "__Host-"), "https redirect URL: __Host- cookies")
}
