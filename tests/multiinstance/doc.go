// Package multiinstance tests examples/chi the way it is deployed: several
// processes of the app behind one address, sharing one PostgreSQL database
// for tokens and sessions, against one TikTok (the emulator, in its own
// process, rotating refresh tokens strictly).
//
// The test builds both programs, logs users in through the real login flow,
// then sends requests for them spread over the instances while every access
// token expires several times, and checks that each user's token was
// refreshed exactly once per expiry, that no refresh token was presented
// twice and that nobody was logged out. It then kills one instance with
// SIGKILL while it holds refresh leases and checks that the others take
// over once the leases expire (and the third of the lease time they give a
// holder that might still save a rotated token has passed), with the same
// guarantees.
//
// It needs PostgreSQL (see internal/testpg): without it the test is
// skipped, or fails under CI=true. Sizes can be changed with
// TIKTOKKIT_MULTI_USERS (default 200) and TIKTOKKIT_MULTI_EXPIRIES
// (default 3). It is skipped with -short.
//
//	go test -v ./tests/multiinstance
package multiinstance
