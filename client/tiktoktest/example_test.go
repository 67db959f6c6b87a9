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

// apiPost sends a JSON body to an API endpoint with a bearer token and
// returns the HTTP status and the envelope's data and error code.
func apiPost(emu *tiktoktest.Server, path, token, body string) (int, map[string]any, string) {
	req, _ := http.NewRequest(http.MethodPost, emu.APIURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data  map[string]any        `json:"data"`
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env.Data, env.Error.Code
}

// A PULL_FROM_URL post is refused until the URL's domain is verified for
// the app; then it is downloaded and published.
func ExampleServer_SetMediaConfig() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	tok, _ := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "video.publish")
	post := `{"post_info":{"title":"Hello","privacy_level":"SELF_ONLY"},
		"source_info":{"source":"PULL_FROM_URL","video_url":"https://media.example.com/v/1.mp4"}}`

	status, _, code := apiPost(emu, "/v2/post/publish/video/init/", tok.AccessToken, post)
	fmt.Println(status, code)

	emu.SetMediaConfig(tiktoktest.MediaConfig{VerifiedDomains: []string{"example.com"}}) // subdomains too
	status, data, code := apiPost(emu, "/v2/post/publish/video/init/", tok.AccessToken, post)
	fmt.Println(status, code)
	id := data["publish_id"].(string)
	for range 2 { // one fetch still processing (MediaConfig.ProcessingPolls), then final
		_, data, _ = apiPost(emu, "/v2/post/publish/status/fetch/", tok.AccessToken, `{"publish_id":"`+id+`"}`)
		fmt.Println(data["status"])
	}
	// Output:
	// 403 url_ownership_unverified
	// 200 ok
	// PROCESSING_DOWNLOAD
	// PUBLISH_COMPLETE
}

// The upload host loses its answer to a chunk it kept: the client sees a
// dropped connection, and sending the chunk again meets a 416 with the
// progress, so the chunk is kept once.
func ExampleServer_InjectUploadFault() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	tok, _ := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "video.upload")
	video := strings.Repeat("v", 1000) // under 5 MB: one chunk
	_, data, _ := apiPost(emu, "/v2/post/publish/inbox/video/init/", tok.AccessToken,
		`{"source_info":{"source":"FILE_UPLOAD","video_size":1000,"chunk_size":1000,"total_chunk_count":1}}`)
	uploadURL, id := data["upload_url"].(string), data["publish_id"].(string)

	emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 0, LoseResponse: true, Times: 1})
	for range 2 {
		req, _ := http.NewRequest(http.MethodPut, uploadURL, strings.NewReader(video))
		req.Header.Set("Content-Type", "video/mp4")
		req.Header.Set("Content-Range", "bytes 0-999/1000")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println("no answer")
			continue
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	info, _ := emu.Publish(id)
	fmt.Printf("complete=%t chunks=%d requests=%d refused=%d\n",
		info.Upload.Complete, info.Upload.ChunksReceived, info.Upload.Requests, info.Upload.Refused)
	// Output:
	// no answer
	// 416 bytes 0-999/1000
	// complete=true chunks=1 requests=2 refused=1
}

// A quota lower than TikTok's, so that a test meets the 429 after two calls
// instead of 600, with the Retry-After that TikTok may or may not send.
func ExampleConfig_quotas() {
	emu := tiktoktest.NewServer(tiktoktest.Config{
		Quotas: map[tiktoktest.Endpoint]tiktoktest.Quota{
			tiktoktest.EndpointUserInfo: {Limit: 2, Window: time.Minute},
		},
		QuotaRetryAfter: true,
		// The window runs on the emulator's clock; a fixed one makes the
		// wait exact.
		Clock: func() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) },
	})
	defer emu.Close()
	tok, _ := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, "user.info.basic")
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, emu.URL+"/v2/user/info/?fields=open_id", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, body.Error.Code, resp.Header.Values("Retry-After"))
	}
	c := emu.Counters()
	fmt.Println("429s:", c.RateLimited[tiktoktest.EndpointUserInfo], "peak:", c.QuotaPeak[tiktoktest.EndpointUserInfo])
	// Output:
	// 200 ok []
	// 200 ok []
	// 429 rate_limit_exceeded [60]
	// 429s: 1 peak: 3
}
