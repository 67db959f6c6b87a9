// Package scale measures how the kit's per-request costs grow with the
// number of stored users, for every token store: the Memory store, the SQL
// store on SQLite and on PostgreSQL, and the Redis store.
//
// Its test bulk-loads N users into each store (real rows, written in the
// store's own format), then measures, in rounds that rotate over the sizes
// so that a slow moment of the machine does not land on one size only:
//
//   - the token source's Token (a store Get behind the token cache) for
//     users whose tokens are cached (warm) and with the cache off (every
//     call reads the store), p50 and p99;
//   - a guarded request (middleware.Guard.RequireTikTok over that source,
//     served in process), p50 and p99, warm and cache off;
//
// and it fails when the p50 of a guarded request at the largest size is
// more than 1.5 times the p50 at the smallest, for any store. It also
// measures the resident bytes per user of the Memory store and of the
// token cache, and that a bounded cache stays within its bound.
//
// TestRefreshWave stores real grants of the emulator for every user, makes
// a tenth of the access tokens expire at once and has three instances of
// the app (each its own client, token source and guard, on one PostgreSQL
// database, then one Redis) serve two requests for each of those users at
// once, each calling user info under a quota that the emulator enforces
// and that the instances keep together through redisstore.NewLimiter. It
// fails unless nobody was logged out, no refresh token was presented
// twice, TikTok answered no 429, every expired user was refreshed exactly
// once, and the wave took within 10 % of the time the quota allows.
//
// By default it runs at 1,000 and 10,000 users and a wave of 30 of 300
// users under 30 user info calls per 10 s, which takes about a minute.
// Larger sizes are flags away; the figures in docs/scale.md were made,
// from the repository root, with
//
//	go test -count=1 -timeout 60m ./tests/scale -v -run TestScale -users 1000,10000,100000,1000000 -samples 1500 -json-out $PWD/docs/scale.json
//	go test -count=1 -timeout 30m ./tests/scale -v -run TestRefreshWave -wave-users 5000 -wave-quota 100/10s -json-out $PWD/docs/scale-wave.json
//
// (TIKTOKKIT_SCALE_USERS=1000,100000 does the same as -users; -stores
// picks stores; the JSON path is relative to the package directory, where
// go test runs, hence $PWD), and the charts drawn from those files by
//
//	go run ./tests/scale/plot -in docs/scale.json,docs/scale-wave.json -out docs
//
// PostgreSQL and Redis are found or started as for the other server tests
// (internal/testpg, internal/testredis): without them the test skips those
// stores locally and fails in CI.
package scale
