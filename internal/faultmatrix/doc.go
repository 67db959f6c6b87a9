// Package faultmatrix holds the kit's fault-injection tests and nothing
// else: every TikTok endpoint the kit calls meets every failure TikTok or
// the network can produce (5xx, 429 and 503 with Retry-After, a timeout, a
// connection reset, malformed JSON, an error body with HTTP 200, an
// oversized body, an HTML page), and the token store meets a database that
// stops, a corrupt row and a row sealed with a key that left the ring.
//
// Each case checks the typed error the caller gets (errors.Is and errors.As
// on the client's and the token store's sentinels and types), that nothing
// panics, that no stored token is lost (only TikTok's invalid_grant may
// delete one), what a guarded request answers, and that the next call
// works once the fault is gone.
//
// The outcome of every case is the table in docs/reliability.md. The test
// fails when that file differs from what it observed; regenerate it with
//
//	TIKTOKKIT_WRITE_RELIABILITY=1 go test ./internal/faultmatrix
package faultmatrix
