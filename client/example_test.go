package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// exampleEmulator starts the TikTok emulator, so that the examples run
// offline; against TikTok, leave AuthURL and APIURL at their defaults.
func exampleEmulator() (*tiktoktest.Server, *client.Client) {
	emu := tiktoktest.NewServer(tiktoktest.Config{AutoApprove: true})
	c, err := client.New(client.Config{
		ClientKey:    emu.ClientKey(),
		ClientSecret: emu.ClientSecret(),
		RedirectURL:  "https://app.example/auth/tiktok/callback",
		Scopes:       []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile},
		AuthURL:      emu.AuthURL(),
		APIURL:       emu.APIURL(),
	})
	if err != nil {
		log.Fatal(err)
	}
	return emu, c
}

// exampleLogin runs the browser part of the login against the emulator and
// returns the code from the callback.
func exampleLogin(authURL string) string {
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		log.Fatal(err)
	}
	return loc.Query().Get("code")
}

func ExampleNew() {
	c, err := client.New(client.Config{
		ClientKey:    "your-client-key",
		ClientSecret: "your-client-secret",
		RedirectURL:  "https://example.com/auth/tiktok/callback",
		Scopes:       []string{client.ScopeUserInfoBasic, client.ScopeVideoList},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Config().APIURL)
	fmt.Println(c.Config()) // the client secret never shows
	// Output:
	// https://open.tiktokapis.com
	// client.Config{ClientKey:"your-client-key", ClientSecret:REDACTED, RedirectURL:"https://example.com/auth/tiktok/callback", Scopes:["user.info.basic" "video.list"], AuthURL:"https://www.tiktok.com/v2/auth/authorize/", APIURL:"https://open.tiktokapis.com", UserAgent:"tiktokkit/0.1.0 (+https://github.com/tiktokkit/tiktokkit)", Retry:{MaxAttempts:3 BaseDelay:100ms MaxDelay:5s}, PKCE:hex, MaxBodyBytes:1048576}
}

func ExampleClient_AuthCodeURL() {
	c, err := client.New(client.Config{
		ClientKey:    "your-client-key",
		ClientSecret: "your-client-secret",
		RedirectURL:  "https://example.com/auth/tiktok/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Make both per login and keep them on the server side until the
	// callback: compare state, send the verifier to Exchange.
	state := client.GenerateState()
	verifier := client.GenerateVerifier()
	authURL := c.AuthCodeURL(state, client.WithPKCE(verifier), client.DisableAutoAuth())

	u, _ := url.Parse(authURL)
	q := u.Query()
	fmt.Println(u.Host + u.Path)
	fmt.Println(q.Get("scope"), q.Get("code_challenge_method"), q.Get("disable_auto_auth"))
	fmt.Println(q.Get("code_challenge") == client.ChallengeHex(verifier))
	// Output:
	// www.tiktok.com/v2/auth/authorize/
	// user.info.basic S256 1
	// true
}

func ExampleClient_Exchange() {
	emu, c := exampleEmulator()
	defer emu.Close()

	state, verifier := client.GenerateState(), client.GenerateVerifier()
	code := exampleLogin(c.AuthCodeURL(state, client.WithPKCE(verifier)))

	tok, err := c.Exchange(context.Background(), code, client.WithVerifier(verifier))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.OpenID == tiktoktest.DefaultUsers()[0].OpenID, tok.Scopes)
	fmt.Println(tok.Valid(c.Now()))

	// A code is single use.
	_, err = c.Exchange(context.Background(), code, client.WithVerifier(verifier))
	fmt.Println(errors.Is(err, client.ErrInvalidGrant))
	// Output:
	// true [user.info.basic user.info.profile]
	// true
	// true
}

func ExampleUserClient_UserInfo() {
	emu, c := exampleEmulator()
	defer emu.Close()
	ctx := context.Background()
	verifier := client.GenerateVerifier()
	tok, err := c.Exchange(ctx, exampleLogin(c.AuthCodeURL("state", client.WithPKCE(verifier))), client.WithVerifier(verifier))
	if err != nil {
		log.Fatal(err)
	}

	u := c.WithToken(tok)
	info, err := u.UserInfo(ctx, client.FieldDisplayName, client.FieldUsername)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.DisplayName, "@"+info.Username)

	// The token was not granted user.info.stats: refused before any request.
	_, err = u.UserInfo(ctx, client.FieldFollowerCount)
	fmt.Println(err)
	// Output:
	// Alice Example @alice.example
	// client: field follower_count needs scope user.info.stats, which the token was not granted
}

func ExampleUserClient_Do() {
	emu, c := exampleEmulator()
	defer emu.Close()
	ctx := context.Background()
	verifier := client.GenerateVerifier()
	tok, err := c.Exchange(ctx, exampleLogin(c.AuthCodeURL("state", client.WithPKCE(verifier))), client.WithVerifier(verifier))
	if err != nil {
		log.Fatal(err)
	}

	// Any endpoint, decoded from the envelope's data member.
	var out struct {
		User struct {
			DisplayName string `json:"display_name"`
		} `json:"user"`
	}
	err = c.WithToken(tok).Do(ctx, client.Request{
		Method:     http.MethodGet,
		Path:       client.PathUserInfo,
		Query:      url.Values{"fields": {"display_name"}},
		Repeatable: true,
	}, &out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.User.DisplayName)
	// Output:
	// Alice Example
}

func ExampleNewContext() {
	c, err := client.New(client.Config{ClientKey: "your-client-key", ClientSecret: "your-client-secret"})
	if err != nil {
		log.Fatal(err)
	}
	tok := &client.Token{AccessToken: "act.example", OpenID: "open-id-1"}

	// Middleware puts the user's client in the request context...
	ctx := client.NewContext(context.Background(), c.ForUser(tok.OpenID, tok, nil))

	// ...and handlers take it out.
	if u, ok := client.FromContext(ctx); ok {
		fmt.Println(u.Key())
		fmt.Println(u.Token()) // printing a token never shows a secret
	}
	// Output:
	// open-id-1
	// client.Token{open_id=open-id-1, scopes=[], expiry=unknown, refresh_expiry=unknown, access_token=act.…REDACTED, refresh_token=}
}
