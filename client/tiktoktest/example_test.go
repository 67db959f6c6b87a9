package tiktoktest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// The whole login flow with plain net/http: authorize (auto-approved),
// exchange the code, read the profile.
func ExampleNewServer() {
	emu := tiktoktest.NewServer(tiktoktest.Config{
		RedirectURIs: []string{"https://app.example/auth/tiktok/callback"},
		AutoApprove:  true,
	})
	defer emu.Close()

	// 1. The browser goes to the authorize URL; TikTok redirects back.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authURL := emu.AuthURL() + "?" + url.Values{
		"client_key":    {emu.ClientKey()},
		"response_type": {"code"},
		"scope":         {"user.info.basic,user.info.profile"},
		"redirect_uri":  {"https://app.example/auth/tiktok/callback"},
		"state":         {"opaque-state"},
	}.Encode()
	resp, err := noFollow.Get(authURL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	fmt.Println(resp.StatusCode, back.Host+back.Path, back.Query().Get("scopes"), back.Query().Get("state"))

	// 2. The app exchanges the code: a form with the client credentials.
	form := url.Values{
		"client_key":    {emu.ClientKey()},
		"client_secret": {emu.ClientSecret()},
		"code":          {back.Query().Get("code")},
		"grant_type":    {"authorization_code"},
		"redirect_uri":  {"https://app.example/auth/tiktok/callback"},
	}
	resp, err = http.PostForm(emu.APIURL()+"/v2/oauth/token/", form)
	if err != nil {
		panic(err)
	}
	var tok tiktoktest.TokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, tok.TokenType, tok.Scope, tok.ExpiresIn)

	// 3. The app reads the profile with the access token.
	req, _ := http.NewRequest("GET", emu.APIURL()+"/v2/user/info/?fields=display_name,username", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var info struct {
		Data struct {
			User struct {
				DisplayName string `json:"display_name"`
				Username    string `json:"username"`
			} `json:"user"`
		} `json:"data"`
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, info.Data.User.DisplayName, info.Data.User.Username, info.Error.Code)
	// Output:
	// 302 app.example/auth/tiktok/callback user.info.basic,user.info.profile opaque-state
	// 200 Bearer user.info.basic,user.info.profile 86400
	// 200 Alice Example alice.example ok
}

// Make the token endpoint fail once with 503 and Retry-After, as TikTok does
// under load; the next call succeeds. Counters show what the client did.
func ExampleServer_InjectFault() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	tok, _ := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic")

	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 503, RetryAfter: 2 * time.Second, Times: 1})
	form := url.Values{
		"client_key": {emu.ClientKey()}, "client_secret": {emu.ClientSecret()},
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
	}
	for range 2 {
		resp, err := http.PostForm(emu.URL+"/v2/oauth/token/", form)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), m["error"])
	}
	fmt.Println("token calls:", emu.Calls(tiktoktest.EndpointToken), "refreshes:", emu.Grants("refresh_token"))
	// Output:
	// 503 2 temporarily_unavailable
	// 200  <nil>
	// token calls: 2 refreshes: 1
}

// Refresh tokens rotate: once used, the old one is dead, and presenting it
// again is counted.
func ExampleServer_RefreshTokenReuse() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	tok, _ := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID)
	refresh := func(rt string) int {
		resp, err := http.PostForm(emu.URL+"/v2/oauth/token/", url.Values{
			"client_key": {emu.ClientKey()}, "client_secret": {emu.ClientSecret()},
			"grant_type": {"refresh_token"}, "refresh_token": {rt},
		})
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(refresh(tok.RefreshToken), refresh(tok.RefreshToken), emu.RefreshTokenReuse())
	// Output: 200 400 1
}

// Mount the emulator on your own server, for example next to the app in
// one process.
func ExampleNewHandler() {
	emu := tiktoktest.NewHandler(tiktoktest.Config{})
	mux := http.NewServeMux()
	mux.Handle("/", emu.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	emu.SetURL(srv.URL)

	resp, err := http.Post(emu.URL+"/v2/oauth/token/", "application/json", strings.NewReader(`{"grant_type":"client_credentials"}`))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e map[string]string
	_ = json.Unmarshal(body, &e)
	fmt.Println(resp.StatusCode, e["error"], e["error_description"])
	// Output: 400 invalid_request The request parameters are malformed.
}
