// Command loadtest measures what the TikTok guard costs a web app. It
// starts, on loopback ports and in one process, the TikTok emulator and one
// app per token store wired like the examples (scs sessions, the login
// handlers, middleware.RequireTikTok), logs users in through the real login
// flow, then drives a JSON endpoint with concurrent keep-alive workers:
//
//   - unguarded: the endpoint reads the identity from the session and
//     answers it (the baseline);
//   - guarded, memory store: the same answer behind RequireTikTok, from the
//     token the guard put in the request context (no call to TikTok);
//   - guarded, SQLite store and guarded, PostgreSQL store: the same with
//     the encrypted SQL store (the token source's cache on, as by default);
//     PostgreSQL runs only with -postgres or TIKTOKKIT_TEST_POSTGRES_DSN;
//   - guarded, Redis store: the same with the encrypted Redis store
//     (tokenstore/redisstore), only with -redis or TIKTOKKIT_TEST_REDIS_URL.
//
// Each configuration runs for at most -duration or -requests per round,
// over -rounds rounds in rotating order. The output is a Markdown table of
// throughput, latency percentiles and errors. It exits non-zero when a
// request failed or when the memory-store guard falls below -min-ratio
// (default 0.9) of the unguarded throughput.
//
//	go run ./tests/loadtest -users 200 -concurrency 16 -duration 1s -rounds 6
package main
