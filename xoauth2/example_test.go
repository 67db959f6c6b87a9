package xoauth2_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"golang.org/x/oauth2"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/xoauth2"
)

// A library that takes an oauth2.TokenSource gets the user's token through
// the kit's Source, so refreshes stay coalesced and leased.
func ExampleTokenSource() {
	emu := tiktoktest.NewServer(tiktoktest.Config{Logger: slog.New(slog.DiscardHandler)})
	defer emu.Close()
	tiktok, err := client.New(client.Config{
		ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(),
		AuthURL: emu.AuthURL(), APIURL: emu.APIURL(),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: tiktok})
	if err != nil {
		log.Fatal(err)
	}
	// A user who logged in earlier (handlers.Callback saved this token).
	user := tiktoktest.DefaultUsers()[0].OpenID
	issued, _ := emu.IssueToken(user, "user.info.basic")
	_ = src.Save(context.Background(), user, &client.Token{
		AccessToken: issued.AccessToken, RefreshToken: issued.RefreshToken, TokenType: issued.TokenType,
		OpenID: issued.OpenID, Scopes: client.ParseScopes(issued.Scope),
		Expiry:        time.Now().Add(time.Duration(issued.ExpiresIn) * time.Second),
		RefreshExpiry: time.Now().Add(time.Duration(issued.RefreshExpiresIn) * time.Second),
	})

	ctx := context.Background()
	ts := oauth2.ReuseTokenSource(nil, xoauth2.TokenSource(ctx, src, user))
	tok, err := ts.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.Extra("open_id") == user, tok.Extra("scope"))
	// oauth2.NewClient(ctx, ts) now sends "Authorization: Bearer ..." for this user.
	// Output: Bearer true user.info.basic
}
