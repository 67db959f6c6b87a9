package xoauth2_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testtoken"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/xoauth2"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func kitToken() *client.Token {
	return &client.Token{
		AccessToken:   "act.abc",
		RefreshToken:  "rft.def",
		TokenType:     "Bearer",
		OpenID:        "open-1",
		Scopes:        []string{"user.info.basic", "video.list"},
		Expiry:        t0.Add(24 * time.Hour),
		RefreshExpiry: t0.Add(365 * 24 * time.Hour),
	}
}

func TestRoundTrip(t *testing.T) {
	in := kitToken()
	o := xoauth2.ToOAuth2(in, t0)
	if o.AccessToken != in.AccessToken || o.RefreshToken != in.RefreshToken || o.Type() != "Bearer" || !o.Expiry.Equal(in.Expiry) {
		t.Fatalf("ToOAuth2 = %+v", o)
	}
	if got := o.Extra("scope"); got != "user.info.basic,video.list" {
		t.Errorf("scope extra = %v", got)
	}
	if got := o.Extra("open_id"); got != "open-1" {
		t.Errorf("open_id extra = %v", got)
	}
	if got := o.Extra("refresh_expires_in"); got != int64(365*24*3600) {
		t.Errorf("refresh_expires_in extra = %v (%T)", got, got)
	}
	back, err := xoauth2.FromOAuth2(o, t0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, back); d != "" {
		t.Errorf("round trip (-in +back):\n%s", d)
	}
}

func TestToOAuth2Edges(t *testing.T) {
	if xoauth2.ToOAuth2(nil, t0) != nil {
		t.Error("nil token must give nil")
	}
	tok := kitToken()
	tok.RefreshExpiry = time.Time{}
	if v := xoauth2.ToOAuth2(tok, t0).Extra("refresh_expires_in"); v != nil {
		t.Errorf("unknown refresh expiry gave %v", v)
	}
	tok.RefreshExpiry = t0.Add(-time.Hour)
	if v := xoauth2.ToOAuth2(tok, t0).Extra("refresh_expires_in"); v != int64(0) {
		t.Errorf("past refresh expiry gave %v", v)
	}
}

// A token as x/oauth2 itself decodes it from a JSON token response: numbers
// arrive as float64.
func TestFromOAuth2DecodedJSON(t *testing.T) {
	var raw map[string]any
	body := `{"open_id":"open-2","scope":"user.info.basic user.info.profile","refresh_expires_in":86400}`
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	o := (&oauth2.Token{AccessToken: "act.x", Expiry: t0.Add(time.Hour)}).WithExtra(raw)
	got, err := xoauth2.FromOAuth2(o, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := &client.Token{AccessToken: "act.x", OpenID: "open-2", Expiry: t0.Add(time.Hour),
		Scopes: []string{"user.info.basic", "user.info.profile"}, RefreshExpiry: t0.Add(24 * time.Hour)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestFromOAuth2ExtraForms(t *testing.T) {
	for _, v := range []any{"3600", " 3600 ", json.Number("3600"), 3600, int64(3600), float64(3600)} {
		o := (&oauth2.Token{AccessToken: "act.x"}).WithExtra(map[string]any{"refresh_expires_in": v})
		got, err := xoauth2.FromOAuth2(o, t0)
		if err != nil {
			t.Errorf("%#v: %v", v, err)
			continue
		}
		if !got.RefreshExpiry.Equal(t0.Add(time.Hour)) {
			t.Errorf("%#v: refresh expiry %v", v, got.RefreshExpiry)
		}
	}
	// No extras at all: the fields stay empty.
	got, err := xoauth2.FromOAuth2(&oauth2.Token{AccessToken: "act.x"}, t0)
	if err != nil || got.OpenID != "" || got.Scopes != nil || !got.RefreshExpiry.IsZero() {
		t.Errorf("bare token: %+v, %v", got, err)
	}
}

func TestFromOAuth2BadInput(t *testing.T) {
	if _, err := xoauth2.FromOAuth2(nil, t0); !errors.Is(err, xoauth2.ErrNoToken) {
		t.Errorf("nil: %v", err)
	}
	if _, err := xoauth2.FromOAuth2(&oauth2.Token{RefreshToken: "rft.x"}, t0); !errors.Is(err, xoauth2.ErrNoToken) {
		t.Errorf("no access token: %v", err)
	}
	bad := []map[string]any{
		{"open_id": 42},
		{"scope": []string{"a"}},
		{"refresh_expires_in": "soon"},
		{"refresh_expires_in": -1},
		{"refresh_expires_in": 1.5},
		{"refresh_expires_in": float64(-3)},
		{"refresh_expires_in": 1e30},
		{"refresh_expires_in": json.Number("1e3")},
		{"refresh_expires_in": true},
	}
	for _, extra := range bad {
		o := (&oauth2.Token{AccessToken: "act.x"}).WithExtra(extra)
		if tok, err := xoauth2.FromOAuth2(o, t0); err == nil {
			t.Errorf("%v: accepted as %+v", extra, tok)
		}
	}
}

// env is an emulator, a kit client and a Source with one logged-in user,
// all on one test clock.
type env struct {
	emu   *tiktoktest.Server
	clock *testutil.Clock
	src   *tokenstore.Source
	key   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := testutil.NewClock(t0)
	emu := tiktoktest.NewServer(tiktoktest.Config{Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(emu.Close)
	c, err := client.New(client.Config{
		ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
		AuthURL: emu.AuthURL(), APIURL: emu.APIURL(),
		Clock: clock.Now, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{
		Store: tokenstore.NewMemory(), Client: c, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	openID := tiktoktest.DefaultUsers()[0].OpenID
	issued, err := emu.IssueToken(openID, "user.info.basic")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Save(context.Background(), openID, testtoken.FromEmulator(issued, clock.Now())); err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, clock: clock, src: src, key: openID}
}

// oauth2.NewClient with the kit's TokenSource calls TikTok as the user.
func TestTokenSourceWithNewClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hc := oauth2.NewClient(ctx, xoauth2.TokenSource(ctx, e.src, e.key))
	resp, err := hc.Get(e.emu.APIURL() + client.PathUserInfo + "?fields=open_id,display_name")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Data struct {
			User struct {
				OpenID string `json:"open_id"`
			} `json:"user"`
		} `json:"data"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if resp.StatusCode != http.StatusOK || out.Error.Code != "ok" || out.Data.User.OpenID != e.key {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
}

// An expired token is refreshed through the Source: many concurrent callers,
// one refresh at TikTok, and the rotated token is what the store holds.
func TestTokenSourceRefreshesOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.clock.Advance(25 * time.Hour)
	ts := xoauth2.TokenSource(ctx, e.src, e.key)
	var wg sync.WaitGroup
	toks := make([]*oauth2.Token, 10)
	errs := make([]error, 10)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = ts.Token()
		}()
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !toks[i].Expiry.After(e.clock.Now()) {
			t.Fatalf("caller %d got an expired token", i)
		}
		if toks[i].AccessToken != toks[0].AccessToken {
			t.Fatalf("callers got different tokens")
		}
	}
	if n := e.emu.Grants("refresh_token"); n != 1 {
		t.Errorf("refreshes at TikTok = %d, want 1", n)
	}
	if n := e.emu.RefreshTokenReuse(); n != 0 {
		t.Errorf("refresh tokens reused = %d", n)
	}
	stored, err := e.src.Token(ctx, e.key)
	if err != nil || stored.AccessToken != toks[0].AccessToken {
		t.Errorf("store holds %v, %v", stored, err)
	}
}

func TestTokenSourceLoginRequired(t *testing.T) {
	e := newEnv(t)
	_, err := xoauth2.TokenSource(context.Background(), e.src, "nobody").Token()
	if !errors.Is(err, tokenstore.ErrLoginRequired) {
		t.Errorf("unknown key: %v", err)
	}
	e.emu.RevokeAllGrants()
	e.clock.Advance(25 * time.Hour)
	_, err = xoauth2.TokenSource(context.Background(), e.src, e.key).Token()
	if !errors.Is(err, tokenstore.ErrLoginRequired) {
		t.Errorf("revoked grant: %v", err)
	}
}

// A TikTok outage during a refresh is temporary: the error does not ask for
// a login, and the stored token survives for the next try.
func TestTokenSourceTemporaryFailureKeepsToken(t *testing.T) {
	e := newEnv(t)
	e.clock.Advance(25 * time.Hour)
	e.emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Status: 503})
	_, err := xoauth2.TokenSource(context.Background(), e.src, e.key).Token()
	if err == nil || errors.Is(err, tokenstore.ErrLoginRequired) {
		t.Fatalf("outage: %v", err)
	}
	e.emu.ClearFaults()
	if _, err := xoauth2.TokenSource(context.Background(), e.src, e.key).Token(); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}
