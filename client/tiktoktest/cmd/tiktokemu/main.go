// Command tiktokemu runs the TikTok emulator of package tiktoktest as a
// standalone server, so apps and tests in any language can log in with a
// fake TikTok, offline.
//
//	go run ./client/tiktoktest/cmd/tiktokemu -auto-approve -redirect-uris http://localhost:3000/callback
//
// It prints its base URL on the first line of standard output (the
// authorize URL is that plus /v2/auth/authorize/, the API base is that
// URL), logs one line per request to standard error (never a token, code or
// secret), and stops cleanly on SIGINT or SIGTERM.
//
// Every flag can also be set with an environment variable; a flag given on
// the command line wins:
//
//	-addr            TIKTOKEMU_ADDR            listen address (default 127.0.0.1:9090; ":0" picks a free loopback port)
//	-client-key      TIKTOKEMU_CLIENT_KEY      client key (default test-client-key)
//	-client-secret   TIKTOKEMU_CLIENT_SECRET   client secret (default test-client-secret)
//	-app-name        TIKTOKEMU_APP_NAME        app name on the consent page (default Test App)
//	-redirect-uris   TIKTOKEMU_REDIRECT_URIS   registered redirect URIs, comma-separated, exact match
//	                                           (default none: any absolute http(s) URI)
//	-scopes          TIKTOKEMU_SCOPES          scopes the app may request, comma-separated (default all six)
//	-access-ttl      TIKTOKEMU_ACCESS_TTL      access token lifetime (default 24h)
//	-refresh-ttl     TIKTOKEMU_REFRESH_TTL     refresh token lifetime (default 8760h)
//	-code-ttl        TIKTOKEMU_CODE_TTL        authorization code lifetime (default 5m)
//	-pkce            TIKTOKEMU_PKCE            optional or required (default optional)
//	-accept-base64url-challenge
//	                 TIKTOKEMU_ACCEPT_BASE64URL_CHALLENGE
//	                                           also accept RFC 7636 challenges (default false: hex only)
//	-auto-approve    TIKTOKEMU_AUTO_APPROVE    skip the consent page (default false)
//	-users           TIKTOKEMU_USERS           JSON file with an array of users (default: three built-in users)
//	-insecure-allow-remote
//	                 TIKTOKEMU_INSECURE_ALLOW_REMOTE
//	                                           allow a non-loopback listen address (the control endpoints
//	                                           under /_emulator/ have no authentication)
//	-no-quotas       TIKTOKEMU_NO_QUOTAS       enforce no quota (default false: TikTok's published limits)
//	-quota           TIKTOKEMU_QUOTAS          ENDPOINT=LIMIT/WINDOW[/token|/app] or ENDPOINT=off, such as
//	                                           user_info=100/2s; repeatable, or comma-separated
//	                                           (default: TikTok's limits for every endpoint not named)
//	-quota-retry-after
//	                 TIKTOKEMU_QUOTA_RETRY_AFTER
//	                                           send Retry-After with the 429 of a spent quota (default
//	                                           false: TikTok documents none)
//
// The users file holds objects with TikTok's field names, for example
// [{"open_id":"u1","display_name":"Dana","follower_count":10}]; see
// tiktoktest.User. Quotas are TikTok's published limits unless changed: 600
// requests a minute per app for user info, video list and video query, and
// per access token 20 a minute for creator info, 6 for each posting init
// and 30 for the publish status; past one the endpoint answers 429
// rate_limit_exceeded. The control endpoints under /_emulator/ (faults,
// counters, quotas, reset-quotas, kill-access-tokens, revoke-all,
// deny-next-consent, approve-as, users, advance-clock, issue-token) are
// described in package tiktoktest and its README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
