// Package tokenstore keeps every user's TikTok token safe and fresh: a
// small Store interface with three backends, encryption at rest, an
// Identity that maps a request to its store key, and a Source that hands
// out valid tokens and is the only caller of client.Client.Refresh.
//
// A sketch (see the examples for complete programs):
//
//	ring, err := tokenstore.ParseKeyRing(os.Getenv("TOKEN_KEYS")) // "2025-06:base64...,2024-11:base64..."
//	store, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.Postgres, Keys: ring})
//	err = store.Migrate(ctx)
//	src, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: store, Client: tiktok})
//
//	// after login:   src.Save(ctx, tok.OpenID, tok); identity.SetKey(ctx, tok.OpenID)
//	// per request:   tok, err := src.Token(ctx, identity.Key(ctx))
//	//                errors.Is(err, tokenstore.ErrLoginRequired) -> send the user to login
//	// on disconnect: src.Delete(ctx, key); identity.Clear(ctx)
//
// # Stores
//
//	backend   for                                   limits
//	-------   ---                                   ------
//	Memory    tests, examples, one instance that    lost on restart; one process only
//	          may lose its tokens on restart
//	SQL       production, any number of instances   one round trip per Get (the Source's
//	          (PostgreSQL, SQLite, MySQL)           cache spares most); you bring the driver
//	Session   apps that want no token table         no lease or compare and swap across
//	          (token inside the user's scs session) instances, no Lister, one grant per
//	                                                device, lives and dies with the session
//
// Memory and SQL implement Leaser (a per-key refresh lease), Replacer (a
// compare and swap for saving refreshed tokens), Lister, LeaseTakeover
// (telling a lapsed lease from a free one, for store outages) and
// LeaseClearer (a login's save that ends a stale lease); so does the Redis
// store. Memory and
// Session implement CacheAdvisor and say no to the Source's in-process
// cache: Memory needs none, and Session's token belongs to one session,
// not to the key. Your own store may implement any of these interfaces,
// and it passes the same conformance suite: package storetest.
//
// Package tokenstore/redisstore is a fourth backend, on Redis (a single
// server, Sentinel or a Cluster), with Leaser, Replacer and Lister too; it
// lives in a package of its own so that only apps that use it compile its
// Redis client. It seals tokens with Codec, which any store outside this
// package can use to encrypt tokens exactly as the SQL store does.
//
// # SQL schema
//
// NewSQL never changes the database; Migrate creates the table if it does
// not exist (Schema returns the statement for another table name). The
// PostgreSQL table (SchemaPostgres):
//
//	CREATE TABLE IF NOT EXISTS tiktok_tokens (
//	    "key"        TEXT PRIMARY KEY,
//	    token        BYTEA,
//	    key_id       TEXT NOT NULL DEFAULT '',
//	    updated_at   BIGINT NOT NULL DEFAULT 0,
//	    lease_holder TEXT NOT NULL DEFAULT '',
//	    lease_until  BIGINT NOT NULL DEFAULT 0
//	)
//
// SQLite (SchemaSQLite) uses BLOB and INTEGER; MySQL (SchemaMySQL) a
// VARBINARY(1024) key, so that keys compare byte for byte, and BLOB. token
// holds the AES-256-GCM ciphertext (or the JSON in clear without a key
// ring), key_id the ID of the key that encrypted it, updated_at and
// lease_until are Unix milliseconds. A row whose token is NULL holds only
// a lease.
//
// # Encryption and key rotation
//
// Give the SQL store (and, with a cookie-based scs store, the Session
// store) a KeyRing. Each token is sealed with AES-256-GCM under the ring's
// primary key, with the key ID and the store key as additional data: a
// ciphertext copied to another user's row does not decrypt. Reading a row
// whose key is not in the ring fails with ErrUnknownKey, a damaged row with
// ErrCorrupt; neither deletes anything. Without a ring, NewSQL logs a
// warning once.
//
// To rotate:
//
//  1. Generate a key: GenerateEncryptionKey("2025-06") returns it and its
//     text form (or: head -c32 /dev/urandom | base64). Keep the text in your
//     secret manager.
//  2. Put it first in the ring and keep the old one after it:
//     TOKEN_KEYS="2025-06:<new>,2024-11:<old>". Deploy every instance.
//     New writes use the new key; old rows still read.
//  3. Rows move to the new key as they are rewritten (every refresh
//     rewrites one). To finish sooner, Get and Put every key (Lister).
//  4. When SELECT count(*) FROM tiktok_tokens WHERE key_id = '2024-11' is
//     0, drop the old key from the ring.
//
// # Refresh
//
// Source.Token refreshes a token that expires within Margin. TikTok may
// rotate refresh tokens strictly, so two refreshes racing with one
// refresh token log the user out. Source never lets that happen: callers
// in one process share one refresh; instances take the store's lease
// (lock, reload, check again, refresh, save, release); the rotated token
// is saved before it is returned. Only a definite refusal (invalid_grant in
// an answer that is not a 5xx) or an expired refresh token deletes the
// token (ErrLoginRequired); a 5xx (even one whose body says invalid_grant),
// 429, timeout or store failure keeps it and fails only the call. Source.ForceRefresh replaces a
// token TikTok killed early, under the same rules, without asking TikTok
// again when another request already did. See Source for the cache and
// what another instance's changes mean for it.
//
// Edge cases, and what Source does about them:
//
//   - A save that fails after TikTok rotated the token (the store is
//     down): see Store outages below.
//   - The request that started a refresh gives up before it ends: the
//     refresh finishes anyway. With the session store that request's
//     session may be saved without the new token; the successor then
//     stays known to this process for a day, and the next request that
//     carries the old copy gets it.
//   - Delete while this process refreshes the same key: Delete waits for
//     the refresh, so the deletion wins.
//   - Delete on another instance (a disconnect or webhook it served) while
//     this one refreshes: the refreshed token is saved with Replace (see
//     Replacer), a compare and swap against the token the refresh started
//     from, so the deletion stands; the new token is revoked at TikTok
//     (best effort) and the caller gets ErrLoginRequired. If the user has
//     logged in again meanwhile, the new login's token stays and is the
//     caller's answer. With a store that is no Replacer the save is a Put
//     and can bring a deleted token back; it was revoked at TikTok by then,
//     so the next API call ends as "log in again".
//   - Disconnect with the Session store while another request of the same
//     browser refreshes: scs saves whole sessions, so that request, ending
//     last, writes the token back. Source.Delete waits for a refresh of
//     the grant in this process, and remembers the deleted refresh token
//     and its successors for a day: a refresh that ends after the delete
//     is not saved (its new token is revoked), and a token that comes back
//     in a session saved later is deleted when it is next read
//     (ErrLoginRequired). The user stays disconnected.
//   - A login while a lease is left on the user's row (an instance
//     crashed during a refresh): Source.Save writes the login's token with
//     PutClearLease when the store is a LeaseClearer (SQL, Memory), so the
//     stale lease is gone and cannot delay the new login's first refresh.
//
// # Store outages
//
// TikTok rotates the refresh token on every refresh. When the store goes
// down between TikTok's answer and the save, the instance that refreshed
// (the holder) is the only one that knows the valid refresh token; the
// store still holds the old one, now dead at TikTok. Presenting it would
// end in invalid_grant and log the user out. Source guards that token as
// follows, however long the outage lasts:
//
//   - The holder keeps the new token in memory, answers the request that
//     refreshed with an error ("try again": the kit's middleware answers
//     503), and keeps its lease.
//   - It retries the save in the background, after one second at first,
//     doubling, at most every LeaseTTL/10; one attempt may take LeaseTTL/10
//     too. Each attempt first renews its
//     lease, so while the store answers again no other instance takes it,
//     then writes with Replace (a compare and swap against the old token:
//     a delete or a new login made meanwhile stands). It saves as soon as
//     the store answers, then releases the lease. A request served by the
//     holder meanwhile writes the token back too.
//   - The lease lapses during a long outage, since the holder cannot renew
//     it. An instance that takes a lapsed lease that was never released
//     (LeaseTakeover: SQL, Memory and the Redis store) does not refresh at
//     once: it waits a third of LeaseTTL, longer than the holder can take
//     from the store's return to its save (an attempt that times out just
//     then, a pause and the next attempt: two tenths of LeaseTTL), and
//     reloads. When the holder is alive, its token is in the store by
//     then, and that is what the other instance uses.
//   - Only a definite refusal deletes a token: invalid_grant in an answer
//     that is not a 5xx. Before deleting, Source reads the row again; when
//     it holds another refresh token (the holder saved meanwhile, or the
//     user logged in again), that one is used and nobody is logged out.
//
// What survives, and what cannot:
//
//   - The holder alive through the outage, however long: the user stays
//     logged in on every instance; requests fail with "try again" while
//     the store is down, TikTok never sees the old refresh token again,
//     and the token is saved within about LeaseTTL/10 of the store's
//     return.
//   - The holder crashing (or restarting) during the outage: the new
//     refresh token existed only in its memory and is lost. Once the
//     store is back and the lease has lapsed, another instance waits its
//     third of LeaseTTL, presents the old refresh token, gets
//     invalid_grant, and that user must log in again (ErrLoginRequired,
//     OnDrop). No other user is affected, and nothing else is lost.
//   - The holder alive but cut off from the store while other instances
//     reach it, for longer than LeaseTTL and a third: to the others this
//     looks like a crash, and ends the same way for that user.
//   - A store of your own that is a Leaser but no LeaseTakeover: the other
//     instance cannot tell a lapsed lease from a free one and refreshes at
//     once; a holder still retrying its save loses the race, and that user
//     must log in again. Implement LeaseTakeover (package storetest checks
//     it).
//   - The Redis store remembers an unreleased lease's holder for a day: an
//     outage longer than that is taken for a free lease, as above.
//
// A holder that crashes while holding the lease without an outage only
// delays other instances: after LeaseTTL, and the third of it given to a
// possible holder, they refresh with the token in the store, which is
// still valid.
//
// # Hooks
//
// SourceConfig.Hooks receives every refresh with its outcome, every lease
// wait and every logout with its reason, for metrics and traces; package
// otelkit implements it on OpenTelemetry. Unset, it costs nothing.
package tokenstore
