package tokenstore

import (
	"github.com/tiktokkit/tiktokkit/client"
)

// Codec turns a token into the bytes a store keeps, and back, exactly as
// the SQL store does: the JSON form of client.Token, sealed with a KeyRing
// (AES-256-GCM, bound to the store key) when there is one. It is how a
// store outside this package, such as package redisstore, encrypts tokens
// at rest like the built-in stores, so that the same KeyRing, key rotation
// and error types serve every backend.
//
// A Codec is a small value, immutable and safe for concurrent use. The zero
// Codec stores tokens in clear.
type Codec struct {
	c codec
}

// NewCodec returns a Codec that seals with keys. With keys nil, tokens are
// encoded as JSON in clear (the store should warn about it, as NewSQL
// does). acceptPlaintext lets a Codec with keys decode values written in
// clear (an empty key ID), while moving existing data to encryption; leave
// it false otherwise, since whoever can write to the store could plant a
// token for any user.
func NewCodec(keys *KeyRing, acceptPlaintext bool) Codec {
	return Codec{c: codec{keys: keys, acceptPlain: acceptPlaintext}}
}

// Encrypted reports whether the Codec has a key ring.
func (c Codec) Encrypted() bool { return c.c.keys != nil }

// Encode returns the bytes to store for tok under storeKey and the ID of
// the key that sealed them ("" when the Codec has no key ring). Keep both:
// Decode needs the key ID and the same store key. A nil tok is an error.
func (c Codec) Encode(storeKey string, tok *client.Token) (keyID string, data []byte, err error) {
	return c.c.encode(storeKey, tok)
}

// Decode turns bytes made by Encode for storeKey back into a token. It
// never panics. Data sealed with a key that is not in the ring (or any
// sealed data when the Codec has no ring, or clear data when it has one
// and does not accept plaintext) is an error wrapping ErrUnknownKey; data
// that is truncated, altered, or was sealed for another store key is an
// error wrapping ErrCorrupt. Both errors name storeKey. Neither means that
// the user has to log in again: keep the stored value.
func (c Codec) Decode(storeKey, keyID string, data []byte) (*client.Token, error) {
	return c.c.decode(storeKey, keyID, data)
}
