package tokenstore

import (
	"encoding/json"
	"fmt"

	"github.com/tiktokkit/tiktokkit/client"
)

// codec turns a token into the bytes a store keeps, and back: the JSON form
// of client.Token, sealed with the key ring when there is one.
type codec struct {
	keys        *KeyRing
	acceptPlain bool // read rows without a key ID although keys != nil
}

// encode returns the key ID ("" when not encrypted) and the stored bytes.
func (c codec) encode(storeKey string, tok *client.Token) (string, []byte, error) {
	if tok == nil {
		return "", nil, errNilToken
	}
	plain, err := json.Marshal(tok)
	if err != nil {
		return "", nil, fmt.Errorf("tokenstore: encode token: %w", err)
	}
	if c.keys == nil {
		return "", plain, nil
	}
	return c.keys.Seal(storeKey, plain)
}

// decode turns stored bytes back into a token. It never panics: bad input
// is an error wrapping ErrCorrupt or ErrUnknownKey.
func (c codec) decode(storeKey, keyID string, data []byte) (*client.Token, error) {
	plain := data
	switch {
	case keyID != "" && c.keys == nil:
		return nil, fmt.Errorf("%w: the token under key %q is encrypted with key ID %q but the store has no key ring", ErrUnknownKey, storeKey, keyID)
	case keyID != "":
		p, err := c.keys.Open(storeKey, keyID, data)
		if err != nil {
			return nil, fmt.Errorf("tokenstore: token under key %q: %w", storeKey, err)
		}
		plain = p
	case c.keys != nil && !c.acceptPlain:
		return nil, fmt.Errorf("%w: the token under key %q is not encrypted but the store has a key ring (set InsecureAcceptPlaintext while migrating)", ErrUnknownKey, storeKey)
	}
	return unmarshalToken(storeKey, plain)
}

// unmarshalToken decodes the JSON form of a token. Anything but a JSON
// object is ErrCorrupt.
func unmarshalToken(storeKey string, plain []byte) (*client.Token, error) {
	i := 0
	for i < len(plain) && (plain[i] == ' ' || plain[i] == '\t' || plain[i] == '\n' || plain[i] == '\r') {
		i++
	}
	if i == len(plain) || plain[i] != '{' {
		return nil, fmt.Errorf("%w: the token under key %q is not a JSON object", ErrCorrupt, storeKey)
	}
	if tok, ok := decodeTokenFast(plain); ok {
		return tok, nil
	}
	tok := new(client.Token)
	if err := json.Unmarshal(plain, tok); err != nil {
		return nil, fmt.Errorf("%w: the token under key %q: %v", ErrCorrupt, storeKey, err)
	}
	return tok, nil
}
