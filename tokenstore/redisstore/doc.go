// Package redisstore keeps on Redis what the instances of an app share,
// for apps with several instances that already run Redis: the token store
// (tokenstore.Store, Leaser, Replacer and Lister; it passes package
// storetest), the client's quota counters (Limiter, a client.Limiter) and
// the webhook replay store (ReplayStore, a webhook.ReplayStore; it passes
// package webhooktest). All work the same on a single server, behind
// Sentinel and on a Cluster: they take a redis.UniversalClient from
// github.com/redis/go-redis/v9.
//
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"localhost:6379"}})
//	ring, err := tokenstore.ParseKeyRing(os.Getenv("TOKEN_KEYS"))
//	store, err := redisstore.New(rdb, redisstore.Config{Keys: ring})
//	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: store, Client: tiktok})
//
// Only programs that import this package compile go-redis in.
//
// Every read goes to the master that holds the key: a replica may lag
// behind the last write, and a Source that read a token older than the
// stored one would present a refresh token that TikTok has already
// rotated. So New refuses a Cluster client that reads from replicas
// (ReadOnly, RouteByLatency or RouteRandomly).
//
// # Keys
//
// A store key (the user's open_id, or any non-empty UTF-8 string) has up
// to three Redis keys under the prefix (Config.Prefix, default
// "tiktokkit:"):
//
//	tiktokkit:{<base64url of the key>}:token        a hash: token, key_id, fp
//	tiktokkit:{<base64url of the key>}:lease        a string: the lease holder
//	tiktokkit:{<base64url of the key>}:lease-last   a string: the last holder, until released
//
// The braces are the Cluster hash tag: a user's token and lease live in
// one slot, so that Delete removes both in one command. The key is
// base64url-encoded (without padding) inside them because store keys may
// contain '{', '}', ':' or glob characters, which would otherwise move
// the hash tag, collide with another key or break Keys' SCAN pattern.
// Keys reads the names back, so it returns the store keys themselves, in
// byte order.
//
// # Encryption
//
// With Config.Keys, the token is sealed as the SQL store seals it
// (tokenstore.Codec: AES-256-GCM, bound to the store key), so the same
// KeyRing, rotation and errors apply: a token sealed with a key missing
// from the ring is an error wrapping tokenstore.ErrUnknownKey, a value
// that is altered or was copied from another user's key one wrapping
// tokenstore.ErrCorrupt. Both name the key, and neither deletes the token
// or logs anyone out. Without a key ring, tokens are stored as JSON in
// clear and New logs a warning.
//
// # Expiry
//
// Each token's key expires when its refresh token does, plus
// Config.ExpiryMargin (an hour by default), so users who never come back
// do not pile up in Redis. A token whose refresh expiry is unknown (zero)
// never expires. A token whose refresh token has already expired is still
// stored, as Put is an upsert, and kept for the margin alone: long enough
// for a Source to read it, see why, tell the caller ErrLoginRequired and
// delete it, after which nothing is left behind. Every Put and Replace
// sets the expiry anew from the token it writes.
//
// # Leases and compare and swap
//
// TryLease is SET NX PX on the lease key, with the holder as the value, so
// a free lease costs one command; when the lease is taken, a Lua script
// extends it if the caller is the holder. ReleaseLease is a Lua script
// that deletes the lease only when the caller holds it. Redis times leases
// by its own clock, so instances need not agree on the time. Put and
// Replace never touch the lease key; Delete removes it with the token.
//
// The store is a tokenstore.LeaseTakeover, which a Source uses instead of
// TryLease: a Lua script takes the lease and writes the holder's name to
// the lease-last key too, which lives a day and which ReleaseLease deletes.
// A lease found free while lease-last names another holder lapsed without
// a release (its holder crashed, or could not reach Redis to save a
// rotated token), and the Source gives that holder time to save before it
// refreshes (see tokenstore's "Store outages"). PutClearLease (a login's
// save) deletes both lease keys with the write.
//
// Replace is one Lua script: it overwrites the token only when the stored
// one is old, compared by access and refresh token as the Replacer
// contract asks. The server cannot decrypt the stored token to compare
// it, so every write stores next to it a fingerprint of the token: a
// SHA-256 of a label, the store key, the access token and the refresh
// token, each length-prefixed. The script compares fingerprints. The hash
// is not keyed with a secret on purpose: access and refresh tokens are
// long random strings, so a fingerprint gives nothing away about them to
// someone who can read Redis, and an unkeyed fingerprint stays comparable
// across key rotations and in a store without a key ring. The store key in
// it keeps equal tokens under two keys from having equal fingerprints.
// Since only fingerprints are compared, a stored value that cannot be
// decrypted any more is replaced if it was written for old, and left
// alone (false, nil) otherwise.
//
// # Quotas
//
// A Limiter counts the requests of every instance against TikTok's
// quotas, so that together they never send more than a client.Quota
// allows in any sliding window. NewLimiter takes the same client:
//
//	limiter, err := redisstore.NewLimiter(rdb, redisstore.LimiterConfig{Prefix: "myapp:"})
//
// A limiter key (an endpoint name, and for a per-token quota a
// fingerprint of the token) has two Redis keys under one hash tag, so
// that its script runs on one Cluster slot:
//
//	tiktokkit:quota:{<base64url of the key>}:sent    a sorted set: the booked send times
//	tiktokkit:quota:{<base64url of the key>}:pause   a string: when a pause ends
//
// Reserve is one Lua script, atomic on the server. It reads the time from
// the server (TIME), so instances whose clocks disagree still agree on
// every window; this needs Redis 5 or later, which replicates what a
// script wrote rather than the script. It drops the send times that have left the window (at or
// before now minus the window); if fewer than the limit remain, the
// request may go now, else when the limit-th most recent one leaves the
// window; a pause in place moves that to its end. When the wait is longer
// than the caller's maxWait it books nothing; otherwise it adds the moment
// to the set (scores in Unix milliseconds, each member unique) and lets
// the set expire when that moment leaves the window. Every request
// granted is therefore a booked moment, and no window of the quota holds
// more of them than its limit. The wait is counted from the server's now,
// so a caller that sleeps it after the answer comes back sends a little
// late, never early. Pause is a script too: it sets the end of the pause
// (d from now, or for a d of 0 when the oldest send time in the window
// leaves it) unless one already ends later, and the key expires then.
//
// A Quota that limits nothing (Limit or Window zero or less) is answered
// without Redis. When Redis cannot be reached, Reserve returns the error
// and the client sends the request unbooked rather than fail it.
//
// # Webhook replays
//
// A ReplayStore records the signatures the webhook handler accepted, for
// every instance at once:
//
//	replays, err := redisstore.NewReplayStore(rdb, redisstore.ReplayConfig{Prefix: "myapp:"})
//	hook, err := webhook.New(webhook.Config{ClientSecret: secret, ReplayStore: replays})
//
// Each claim is a key of its own, named by the SHA-256 of the signature
// (the signature itself is not kept):
//
//	tiktokkit:replay:<hex SHA-256 of the id>   a string, "1", that expires with the claim
//
// Claim is SET NX PX, atomic on the server, so of concurrent claims of one
// signature exactly one wins; Release is DEL. Redis drops each key when its
// claim expires, so nothing needs pruning.
//
// # Errors
//
// When Redis cannot be reached, every method returns an error that names
// the operation and the key (but never a replay id, which is a signature)
// and says "Redis unreachable", wrapping the driver's error. A Store's is
// never tokenstore.ErrNotFound, so a Source keeps the token and tries
// again on the next call; the client sends a request unbooked when its
// Limiter fails; the webhook handler answers 500 when its ReplayStore
// fails, so TikTok delivers the event again. go-redis's own retries and
// timeouts (redis.UniversalOptions) decide how long a call waits first.
package redisstore
