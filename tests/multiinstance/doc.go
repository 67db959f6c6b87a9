// Package multiinstance tests examples/chi the way it is deployed: several
// processes of the app behind one address, sharing one store for tokens
// and sessions, against one TikTok (the emulator, in its own process,
// rotating refresh tokens strictly). The scenario runs once on PostgreSQL
// (DATABASE_URL) and once on Redis (REDIS_URL, a server with its
// append-only file on), the same code for both.
//
// The test builds both programs, logs users in through the real login flow,
// then sends requests for them spread over the instances while every access
// token expires several times, and checks that each user's token was
// refreshed exactly once per expiry, that no refresh token was presented
// twice and that nobody was logged out. It then kills one instance with
// SIGKILL while it holds refresh leases and checks that the others take
// over once the leases expire (and the third of the lease time they give a
// holder that might still save a rotated token has passed), with the same
// guarantees. On Redis it then kills redis-server in the middle of a round
// of refreshes and starts it again on the same port and data directory, and
// checks the same again: the append-only file keeps every token, session
// and lease.
//
// It needs PostgreSQL (see internal/testpg) and redis-server (see
// internal/testredis): without one the part that needs it is skipped, or
// fails under CI=true. Sizes can be changed with TIKTOKKIT_MULTI_USERS
// (default 200) and TIKTOKKIT_MULTI_EXPIRIES (default 3). It is skipped
// with -short.
//
//	go test -v ./tests/multiinstance
//	go test -v -run 'TestMultiInstance/Redis' ./tests/multiinstance
package multiinstance
