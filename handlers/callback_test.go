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

// FuzzCallback sends arbitrary queries to the callback of a session with a
// pending login: it must never panic, never exchange a code, and answer
// with a 4xx unless the state is the pending one.
func FuzzCallback(f *testing.F) {
	f.Add("code=abc&state=xyz")
	f.Add("error=server_error&state=s")
	f.Add("code=a&code=b")
	f.Add("state=%ff%fe&code=\x00")
	a, sm := newTestAuth(f, "http://127.0.0.1:1")
	var pendingState string
	f.Fuzz(func(t *testing.T, raw string) {
		var status int
		h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			p := pendingLogin{State: client.GenerateState(), Verifier: client.GenerateVerifier(),
				ReturnTo: "/", RedirectURL: a.redirectURL, Created: a.client.Now()}
			pendingState = p.State
			require.NoError(t, a.addPending(ctx, p))
			rec := httptest.NewRecorder()
			r2 := r.Clone(ctx)
			r2.URL.RawQuery = raw
			a.serveCallback(rec, r2)
			status = rec.Code
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		if strings.Contains(raw, pendingState) {
			return
		}
		if status < 400 || status >= 500 {
			t.Fatalf("query %q answered %d", raw, status)
		}
	})
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

func TestTakePending(t *testing.T) {
	a, sm := newTestAuth(t, "http://127.0.0.1:1")
	state := client.GenerateState()
	tests := []struct {
		name  string
		given string
		want  error
	}{
		{"same", state, nil},
		{"last byte differs", state[:len(state)-1] + flip(state[len(state)-1]), ErrStateMismatch},
		{"first byte differs", flip(state[0]) + state[1:], ErrStateMismatch},
		{"prefix", state[:len(state)-1], ErrStateMismatch},
		{"longer", state + "x", ErrStateMismatch},
		{"empty", "", ErrStateMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx := r.Context()
				require.NoError(t, a.addPending(ctx, pendingLogin{State: state, Created: a.client.Now()}))
				p, err := a.takePending(ctx, tc.given)
				require.ErrorIs(t, err, tc.want)
				if tc.want == nil {
					assert.Equal(t, state, p.State)
				}
				// Used once, whatever the outcome.
				_, err = a.takePending(ctx, state)
				require.ErrorIs(t, err, ErrNoPendingLogin)
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
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
