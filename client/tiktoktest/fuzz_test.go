package tiktoktest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

// FuzzAuthorizeQuery feeds arbitrary query strings to the authorize
// endpoint: it must never panic or answer 5xx, and may only ever redirect to
// the registered URI.
func FuzzAuthorizeQuery(f *testing.F) {
	for _, u := range seed.Lines("authorization_urls__computed_by_gem_v0.4.0.txt") {
		_, q, _ := strings.Cut(u, "?")
		f.Add(q)
	}
	f.Add(authorizeQuery(seedKey, seedRedirect, "user.info.basic", "s", "code_challenge", hexChallenge(verifier), "code_challenge_method", "S256"))
	f.Add(authorizeQuery(seedKey, seedRedirect, "user.info.basic", "s", "disable_auto_auth", "1"))
	f.Add("client_key=%zz&redirect_uri=%")
	f.Add(";;&&==")
	cfg := seedConfig()
	cfg.AutoApprove = true
	h := tiktoktest.NewHandler(cfg).Handler()
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/v2/auth/authorize/", nil)
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest:
			if loc := w.Header().Get("Location"); loc != "" {
				t.Fatalf("status %d with Location %q", w.Code, loc)
			}
		case http.StatusFound:
			if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, seedRedirect+"?") {
				t.Fatalf("redirect to %q for query %q", loc, query)
			}
		default:
			t.Fatalf("status %d for query %q", w.Code, query)
		}
	})
}

// FuzzTokenForm feeds arbitrary bodies and content types to the token
// endpoint: it must never panic or answer 5xx, and always answers JSON.
func FuzzTokenForm(f *testing.F) {
	for _, name := range []string{
		"request_form__token_authorization_code.txt", "request_form__token_refresh.txt",
		"request_form__token_client_credentials.txt", "request_form__revoke.txt",
	} {
		f.Add("application/x-www-form-urlencoded", seed.String(name))
	}
	f.Add("application/x-www-form-urlencoded; charset=UTF-8",
		"client_key="+seedKey+"&client_secret="+seedSecret+"&grant_type=client_credentials")
	f.Add("application/json", `{"client_key":"`+seedKey+`"}`)
	f.Add("", "a=%zz&&b")
	f.Add("multipart/form-data; boundary=x", "--x--")
	h := tiktoktest.NewHandler(seedConfig()).Handler()
	f.Fuzz(func(t *testing.T, contentType, body string) {
		for _, path := range []string{"/v2/oauth/token/", "/v2/oauth/revoke/"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", contentType)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s: status %d", path, w.Code)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s: not JSON: %q", path, w.Body.String())
			}
		}
	})
}
