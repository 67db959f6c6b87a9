package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// emulatorOnListener mounts the emulator on an httptest server of our own,
// to count the connections the client opens. It returns the server, a user
// token with every scope, and the counter of new connections.
func emulatorOnListener(tb testing.TB) (*httptest.Server, *client.Token, *atomic.Int64) {
	tb.Helper()
	// NoQuotas: the benchmarks and TestKeepAlive1000Calls call user info
	// thousands of times with one token, past TikTok's 600 a minute.
	emu := tiktoktest.NewHandler(tiktoktest.Config{NoQuotas: true})
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(emu.Handler())
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	tb.Cleanup(ts.Close)
	emu.SetURL(ts.URL)
	alice := tiktoktest.DefaultUsers()[0]
	tr, err := emu.IssueToken(alice.OpenID)
	require.NoError(tb, err)
	return ts, &client.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, OpenID: tr.OpenID,
		Scopes: client.ParseScopes(tr.Scope)}, &conns
}

// TestKeepAlive1000Calls: 1000 sequential user info calls reuse one
// connection, so every answer body is read to the end and closed.
func TestKeepAlive1000Calls(t *testing.T) {
	ts, tok, conns := emulatorOnListener(t)
	// 1,000 calls in a second: far past TikTok's 600 a minute, which this
	// test of connection reuse does not keep.
	c, err := client.New(client.Config{ClientKey: "test-client-key", ClientSecret: "test-client-secret", APIURL: ts.URL, NoQuotas: true})
	require.NoError(t, err)
	u := c.WithToken(tok)
	ctx := context.Background()
	for i := range 1000 {
		_, err := u.UserInfo(ctx)
		require.NoError(t, err, "call %d", i)
	}
	assert.EqualValues(t, 1, conns.Load(), "1000 sequential calls share one connection")

	// Error answers are drained too.
	bad := c.WithToken(&client.Token{AccessToken: "act.not-a-token"})
	for range 50 {
		_, err := bad.UserInfo(ctx, client.FieldOpenID)
		require.ErrorIs(t, err, client.ErrAccessTokenInvalid)
	}
	assert.EqualValues(t, 1, conns.Load(), "error answers keep the connection too")
}

// handwrittenUserInfo is the baseline: what a careful programmer writes by
// hand with net/http and encoding/json for the same call.
func handwrittenUserInfo(ctx context.Context, hc *http.Client, target, accessToken string) (*client.UserInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			User client.UserInfo `json:"user"`
		} `json:"data"`
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			LogID   string `json:"log_id"`
		} `json:"error"`
	}
	err = json.NewDecoder(resp.Body).Decode(&env)
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return nil, err
	}
	if env.Error.Code != "ok" {
		return nil, fmt.Errorf("tiktok error %s: %s", env.Error.Code, env.Error.Message)
	}
	return &env.Data.User, nil
}

// BenchmarkUserInfo compares a user info call (all 14 fields) through the
// client with the hand-written baseline, against the emulator over loopback
// HTTP, with one shared *http.Client.
//
//	go test -run '^$' -bench BenchmarkUserInfo -benchmem -count 6 ./client
func BenchmarkUserInfo(b *testing.B) {
	ts, tok, _ := emulatorOnListener(b)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.Cleanup(hc.CloseIdleConnections)
	// "client" keeps no quota, so that it compares with the hand-written
	// call; "client+quota" books every call in the in-process limiter
	// under a quota far from spent (the warm path).
	c, err := client.New(client.Config{ClientKey: "test-client-key", ClientSecret: "test-client-secret", APIURL: ts.URL, HTTPClient: hc, NoQuotas: true})
	require.NoError(b, err)
	cq, err := client.New(client.Config{ClientKey: "test-client-key", ClientSecret: "test-client-secret", APIURL: ts.URL, HTTPClient: hc,
		Quotas: map[string]client.Quota{client.EndpointUserInfo: {Limit: 1_000_000, Window: time.Second}}})
	require.NoError(b, err)
	ctx := context.Background()
	fields := client.AllUserFields()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = string(f)
	}
	target := ts.URL + client.PathUserInfo + "?fields=" + strings.Join(names, ",")

	b.Run("client", func(b *testing.B) {
		u := c.WithToken(tok)
		b.ReportAllocs()
		for b.Loop() {
			info, err := u.UserInfo(ctx, fields...)
			if err != nil || info.DisplayName == "" {
				b.Fatal(err)
			}
		}
	})
	b.Run("client+quota", func(b *testing.B) {
		u := cq.WithToken(tok)
		b.ReportAllocs()
		for b.Loop() {
			info, err := u.UserInfo(ctx, fields...)
			if err != nil || info.DisplayName == "" {
				b.Fatal(err)
			}
		}
	})
	b.Run("handwritten", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			info, err := handwrittenUserInfo(ctx, hc, target, tok.AccessToken)
			if err != nil || info.DisplayName == "" {
				b.Fatal(err)
			}
		}
	})
}
