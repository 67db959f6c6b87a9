package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testharness"
	"github.com/tiktokkit/tiktokkit/middleware"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

func TestUnauthorized(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name     string
		method   string
		path     string
		accept   string
		status   int
		location string
	}{
		{"HTML GET", http.MethodGet, "/page", testharness.AcceptHTML, http.StatusFound, "/auth/tiktok/login?return_to=%2Fpage"},
		{"HTML GET with query", http.MethodGet, "/page?tab=a%2Fb&x=1", testharness.AcceptHTML, http.StatusFound,
			"/auth/tiktok/login?return_to=%2Fpage%3Ftab%3Da%252Fb%26x%3D1"},
		{"HTML HEAD", http.MethodHead, "/page", testharness.AcceptHTML, http.StatusFound, "/auth/tiktok/login?return_to=%2Fpage"},
		{"behind StripPrefix", http.MethodGet, "/app/page", testharness.AcceptHTML, http.StatusFound,
			"/auth/tiktok/login?return_to=%2Fapp%2Fpage"},
		{"JSON GET", http.MethodGet, "/page", testharness.AcceptJSON, http.StatusUnauthorized, ""},
		{"no Accept is a page load", http.MethodGet, "/page", "", http.StatusFound, "/auth/tiktok/login?return_to=%2Fpage"},
		{"HTML GET under the API prefix", http.MethodGet, "/api/page", testharness.AcceptHTML, http.StatusUnauthorized, ""},
		{"HTML POST", http.MethodPost, "/page", testharness.AcceptHTML, http.StatusUnauthorized, ""},
		{"HTML DELETE", http.MethodDelete, "/page", testharness.AcceptHTML, http.StatusUnauthorized, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.newUser().Do(tc.method, tc.path, tc.accept)
			require.Equal(t, tc.status, r.Status)
			assert.Equal(t, tc.location, r.Header.Get("Location"))
			assert.Contains(t, r.Header.Get("Cache-Control"), "no-store")
			if tc.status == http.StatusUnauthorized {
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, `{"error":"login_required"}`, r.Body)
			}
		})
	}
}

func TestGuardedRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.loggedIn(alice, client.ScopeUserInfoBasic)
	r := u.Get("/page")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "user "+alice+" "+alice, r.Body)

	r = u.GetJSON("/info")
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	assert.JSONEq(t, `{"open_id":"`+alice+`","display_name":"Alice"}`, r.Body)
}

func TestLoginPathWithQuery(t *testing.T) {
	e := newEnv(t, envOptions{guard: func(c *middleware.Config) { c.LoginPath = "https://login.app.test/tiktok?lang=en" }})
	r := e.newUser().Get("/page?x=1")
	require.Equal(t, http.StatusFound, r.Status)
	assert.Equal(t, "https://login.app.test/tiktok?lang=en&return_to=%2Fpage%3Fx%3D1", r.Header.Get("Location"))
}

func TestRequireScopes(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.loggedIn(alice, client.ScopeUserInfoBasic)

	r := u.Get("/videos?sort=new")
	require.Equal(t, http.StatusFound, r.Status)
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fvideos%3Fsort%3Dnew&scope=video.list", r.Header.Get("Location"))

	r = u.GetJSON("/videos")
	require.Equal(t, http.StatusForbidden, r.Status)
	assert.JSONEq(t, `{"error":"insufficient_scope","missing_scopes":["video.list"]}`, r.Body)

	ok := e.loggedIn(alice, client.ScopeUserInfoBasic, client.ScopeVideoList)
	assert.Equal(t, http.StatusOK, ok.Get("/videos").Status)

	assert.Equal(t, http.StatusUnauthorized, e.newUser().GetJSON("/videos").Status, "no login comes before scopes")
}

func TestConfigScopes(t *testing.T) {
	e := newEnv(t, envOptions{guard: func(c *middleware.Config) { c.Scopes = []string{client.ScopeUserInfoProfile} }})
	assert.Equal(t, http.StatusForbidden, e.loggedIn(alice, client.ScopeUserInfoBasic).GetJSON("/page").Status)
	assert.Equal(t, http.StatusOK, e.loggedIn(alice, client.ScopeUserInfoProfile).GetJSON("/page").Status)
	r := e.loggedIn(alice, client.ScopeUserInfoProfile).GetJSON("/videos")
	assert.JSONEq(t, `{"error":"insufficient_scope","missing_scopes":["video.list"]}`, r.Body)
}

func TestOptionalTikTok(t *testing.T) {
	e := newEnv(t, envOptions{})
	assert.Equal(t, "anonymous", e.newUser().Get("/optional").Body)

	u := e.loggedIn(alice)
	assert.Equal(t, "user "+alice+" "+alice, u.Get("/optional").Body)

	e.emu.RevokeAllGrants()
	e.clock.Advance(3 * time.Hour)
	r := u.Get("/optional")
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "anonymous", r.Body)
	assert.False(t, e.stored(alice))
	assert.Equal(t, http.StatusUnauthorized, u.GetJSON("/page").Status, "the identity was cleared")
}

func TestLoginRequiredAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.loggedIn(alice)
	e.emu.RevokeAllGrants()
	e.clock.Advance(3 * time.Hour)

	r := u.Get("/page?x=1")
	require.Equal(t, http.StatusFound, r.Status)
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fpage%3Fx%3D1", r.Header.Get("Location"))
	assert.False(t, e.stored(alice), "the dead token is deleted")

	assert.Empty(t, u.Do(http.MethodGet, identityURL, "").Body, "the identity was removed from the session")

	calls := e.emu.Calls(tiktoktest.EndpointToken)
	assert.Equal(t, http.StatusUnauthorized, u.GetJSON("/page").Status)
	assert.Equal(t, calls, e.emu.Calls(tiktoktest.EndpointToken), "the next request goes straight to login")
}

func TestUnavailableKeepsUser(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(e *env)
		fix     func(e *env)
	}{
		{
			name:    "token endpoint 500",
			breakIt: func(e *env) { e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500}) },
			fix:     func(e *env) { e.emu.ClearFaults() },
		},
		{
			name: "token endpoint connection reset",
			breakIt: func(e *env) {
				e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Drop: true})
			},
			fix: func(e *env) { e.emu.ClearFaults() },
		},
		{
			name:    "store down",
			breakIt: func(e *env) { e.store.setDown(true) },
			fix:     func(e *env) { e.store.setDown(false) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			u := e.loggedIn(alice)
			e.clock.Advance(3 * time.Hour)
			tc.breakIt(e)

			r := u.GetJSON("/page")
			require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Body)
			assert.JSONEq(t, `{"error":"temporarily_unavailable"}`, r.Body)
			assert.NotContains(t, r.Body, "database")
			r = u.Get("/page")
			require.Equal(t, http.StatusServiceUnavailable, r.Status)
			assert.Contains(t, r.Header.Get("Content-Type"), "text/plain")
			assert.True(t, e.stored(alice), "the token is kept")

			tc.fix(e)
			r = u.GetJSON("/page")
			assert.Equal(t, http.StatusOK, r.Status, "still logged in: %s", r.Body)
		})
	}
}

func TestParallelExpiredRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.loggedIn(alice)
	e.clock.Advance(2*time.Hour + time.Second) // the token just expired
	e.emu.ResetCounters()

	const n = 50
	results := make([]*testharness.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = u.Try(http.MethodGet, "/info", testharness.AcceptJSON)
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, http.StatusOK, results[i].Status, results[i].Body)
	}
	assert.Equal(t, 1, e.emu.Grants("refresh_token"), "one refresh for 50 requests")
	assert.Equal(t, 0, e.emu.RefreshTokenReuse())
	assert.Equal(t, n, e.emu.Calls(tiktoktest.EndpointUserInfo))
}

func TestKilledAccessToken(t *testing.T) {
	t.Run("recovered by one refresh", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		u := e.loggedIn(alice)
		e.emu.ResetCounters()
		e.emu.KillAccessTokens()
		r := u.GetJSON("/info")
		require.Equal(t, http.StatusOK, r.Status, r.Body)
		assert.Equal(t, 1, e.emu.Grants("refresh_token"))
	})
	t.Run("grant revoked", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		u := e.loggedIn(alice)
		e.emu.RevokeAllGrants()
		e.emu.KillAccessTokens()
		r := u.Get("/info")
		require.Equal(t, http.StatusFound, r.Status, r.Body)
		assert.Equal(t, "/auth/tiktok/login?return_to=%2Finfo", r.Header.Get("Location"))
		assert.False(t, e.stored(alice))
		assert.Equal(t, http.StatusUnauthorized, u.GetJSON("/info").Status)
	})
	t.Run("one forced refresh per request", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		u := e.loggedIn(alice)
		e.emu.KillAccessTokens()
		e.emu.ResetCounters()
		// A refusal that is neither temporary nor invalid_grant: the user
		// client's forced refresh fails, and the guard's error path must not
		// force a second one within the same request.
		e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 400, ErrorCode: "invalid_request"})
		r := u.GetJSON("/info")
		assert.NotEqual(t, http.StatusOK, r.Status, r.Body)
		assert.Equal(t, 1, e.emu.Calls(tiktoktest.EndpointToken), "token endpoint calls within one request")
		assert.True(t, e.stored(alice), "a refusal that is not invalid_grant keeps the token")
	})
	t.Run("refresh fails once", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		u := e.loggedIn(alice)
		e.emu.KillAccessTokens()
		e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500, Times: 1})
		r := u.GetJSON("/info")
		require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Body)
		assert.True(t, e.stored(alice))
		assert.Equal(t, 0, e.emu.Grants("refresh_token"), "no second refresh within the failed request")
		r = u.GetJSON("/info")
		require.Equal(t, http.StatusOK, r.Status, r.Body)
	})
}

func TestCustomHandlers(t *testing.T) {
	var gotErr error
	var gotMissing []string
	e := newEnv(t, envOptions{guard: func(c *middleware.Config) {
		c.Unauthorized = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "custom unauthorized", http.StatusTeapot)
		})
		c.InsufficientScope = func(w http.ResponseWriter, r *http.Request, missing []string) {
			gotMissing = missing
			http.Error(w, "custom scope", http.StatusPaymentRequired)
		}
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			gotErr = err
			http.Error(w, "custom error", middleware.StatusCode(err))
		}
	}})
	assert.Equal(t, http.StatusTeapot, e.newUser().Get("/page").Status)
	u := e.loggedIn(alice, client.ScopeUserInfoBasic)
	assert.Equal(t, http.StatusPaymentRequired, u.Get("/videos").Status)
	assert.Equal(t, []string{client.ScopeVideoList}, gotMissing)

	e.clock.Advance(3 * time.Hour)
	e.store.setDown(true)
	assert.Equal(t, http.StatusServiceUnavailable, u.Get("/page").Status)
	require.ErrorIs(t, gotErr, middleware.ErrUnavailable)
	require.ErrorIs(t, gotErr, errStoreDown)
}

func TestChi(t *testing.T) {
	e := newEnv(t, envOptions{mount: func(e *env, mux *http.ServeMux) {
		r := chi.NewRouter()
		r.Group(func(r chi.Router) {
			r.Use(e.guard.RequireTikTok)
			r.Get("/page", whoAmI)
		})
		r.With(e.guard.RequireScopes(client.ScopeVideoList)).Get("/videos", whoAmI)
		r.With(e.guard.OptionalTikTok).Get("/optional", whoAmI)
		mux.Handle("/", r)
	}})
	assert.Equal(t, "/auth/tiktok/login?return_to=%2Fpage", e.newUser().Get("/page").Header.Get("Location"))
	u := e.loggedIn(alice, client.ScopeUserInfoBasic)
	assert.Equal(t, "user "+alice+" "+alice, u.Get("/page").Body)
	assert.Equal(t, http.StatusForbidden, u.GetJSON("/videos").Status)
	assert.Equal(t, "anonymous", e.newUser().Get("/optional").Body)
}

func TestHandleError(t *testing.T) {
	e := newEnv(t, envOptions{})
	apiErr := func(code string, status int) error {
		return &client.APIError{StatusCode: status, Code: code, Message: "m", LogID: "l"}
	}
	tests := []struct {
		name           string
		err            error
		accept         string
		status         int
		body           string
		location       string
		clearsIdentity bool
	}{
		{name: "login required JSON", err: fmt.Errorf("x: %w", tokenstore.ErrLoginRequired), accept: testharness.AcceptJSON,
			status: 401, body: `{"error":"login_required"}`, clearsIdentity: true},
		{name: "login required HTML", err: tokenstore.ErrLoginRequired, accept: testharness.AcceptHTML,
			status: 302, location: "/auth/tiktok/login?return_to=%2Fx", clearsIdentity: true},
		{name: "TikTok 5xx", err: apiErr("internal_error", 500), accept: testharness.AcceptJSON,
			status: 503, body: `{"error":"temporarily_unavailable"}`},
		{name: "rate limited", err: apiErr("rate_limit_exceeded", 429), accept: testharness.AcceptJSON,
			status: 429, body: `{"error":"rate_limited"}`},
		{name: "timeout", err: context.DeadlineExceeded, accept: testharness.AcceptJSON,
			status: 503, body: `{"error":"temporarily_unavailable"}`},
		{name: "missing scope JSON", err: &client.MissingScopeError{Field: "follower_count", Scope: client.ScopeUserInfoStats},
			accept: testharness.AcceptJSON, status: 403, body: `{"error":"insufficient_scope","missing_scopes":["user.info.stats"]}`},
		{name: "missing scope HTML", err: &client.MissingScopeError{Field: "follower_count", Scope: client.ScopeUserInfoStats},
			accept: testharness.AcceptHTML, status: 302, location: "/auth/tiktok/login?return_to=%2Fx&scope=user.info.stats"},
		{name: "scope not authorized", err: apiErr("scope_not_authorized", 401), accept: testharness.AcceptJSON,
			status: 403, body: `{"error":"insufficient_scope","missing_scopes":[]}`},
		{name: "other TikTok error", err: apiErr("invalid_params", 400), accept: testharness.AcceptJSON,
			status: 502, body: `{"error":"tiktok_error"}`},
		{name: "other error", err: errors.New("boom"), accept: testharness.AcceptJSON,
			status: 500, body: `{"error":"internal_error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := e.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id := tokenstore.SessionIdentity(e.sm)
				id.SetKey(r.Context(), alice)
				require.True(t, e.guard.HandleError(w, r, tc.err))
				if tc.clearsIdentity {
					assert.Empty(t, id.Key(r.Context()))
				} else {
					assert.Equal(t, alice, id.Key(r.Context()))
				}
			}))
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.RequestURI = "/x"
			req.Header.Set("Accept", tc.accept)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.status, rec.Code)
			if tc.body != "" {
				assert.JSONEq(t, tc.body, rec.Body.String())
			}
			assert.Equal(t, tc.location, rec.Header().Get("Location"))
			assert.NotContains(t, rec.Body.String(), "boom")
		})
	}
	assert.False(t, e.guard.HandleError(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), nil))
}

func TestStatusCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 200},
		{tokenstore.ErrLoginRequired, 401},
		{fmt.Errorf("%w: %w", middleware.ErrUnavailable, errors.New("x")), 503},
		{&client.OAuthError{Code: "server_error", StatusCode: 500}, 503},
		{&client.APIError{Code: "scope_not_authorized", StatusCode: 401}, 403},
		{&client.MissingScopeError{Field: "f", Scope: "s"}, 403},
		{&client.APIError{Code: "invalid_params", StatusCode: 400}, 502},
		{&client.ResponseError{StatusCode: 200, Err: errors.New("bad json")}, 502},
		{context.Canceled, 503},
		{errors.New("x"), 500},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			assert.Equal(t, tc.want, middleware.StatusCode(tc.err))
		})
	}
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name string
		cfg  middleware.Config
	}{
		{"no tokens", middleware.Config{Sessions: e.sm}},
		{"no sessions or identity", middleware.Config{Tokens: e.src}},
		{"login path with fragment", middleware.Config{Tokens: e.src, Sessions: e.sm, LoginPath: "/login#x"}},
		{"login path with newline", middleware.Config{Tokens: e.src, Sessions: e.sm, LoginPath: "/login\r\nX: y"}},
		{"scope list in one string", middleware.Config{Tokens: e.src, Sessions: e.sm, Scopes: []string{"a,b"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := middleware.New(tc.cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "middleware: "))
		})
	}
	_, err := middleware.New(middleware.Config{Tokens: e.src, Identity: tokenstore.SessionIdentity(e.sm)})
	assert.NoError(t, err)
}

func TestNoSecretInLogsOrBodies(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.loggedIn(alice)
	var bodies []string
	collect := func(r *testharness.Response) { bodies = append(bodies, r.Body, r.Header.Get("Location")) }
	collect(u.GetJSON("/info"))
	e.emu.KillAccessTokens()
	collect(u.GetJSON("/info"))
	e.clock.Advance(3 * time.Hour)
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 500})
	collect(u.GetJSON("/info"))
	collect(u.Get("/page"))
	e.emu.ClearFaults()
	e.emu.RevokeAllGrants()
	e.emu.KillAccessTokens()
	tok, err := e.store.Store.Get(context.Background(), alice)
	require.NoError(t, err)
	collect(u.Get("/info"))

	all := strings.Join(bodies, "\n") + e.logs.String()
	for _, s := range []string{tok.AccessToken, tok.RefreshToken} {
		require.NotEmpty(t, s)
		assert.NotContains(t, all, s)
	}
}
