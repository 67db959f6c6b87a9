package tokenstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// EncryptionKeySize is the length of an encryption key's secret: 32 bytes
// (AES-256).
const EncryptionKeySize = 32

// maxKeyIDLen bounds a key ID; it is stored next to every ciphertext.
const maxKeyIDLen = 64

// EncryptionKey is one AES-256-GCM key with an ID, which encrypts tokens at
// rest (it is not a store key). The ID is stored with every token the key
// encrypts, so that the ring can find the key again after newer keys were
// added. Printing or logging an EncryptionKey shows its ID only.
type EncryptionKey struct {
	id   string
	aead cipher.AEAD
}

// NewEncryptionKey makes a key from a 32-byte secret. The ID must be 1 to
// 64 characters without ':', ',' or spaces; choose something that sorts by
// age, such as "2025-06".
func NewEncryptionKey(id string, secret []byte) (EncryptionKey, error) {
	if err := checkKeyID(id); err != nil {
		return EncryptionKey{}, err
	}
	if len(secret) != EncryptionKeySize {
		return EncryptionKey{}, fmt.Errorf("tokenstore: key %q: secret is %d bytes, want %d", id, len(secret), EncryptionKeySize)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return EncryptionKey{}, fmt.Errorf("tokenstore: key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return EncryptionKey{}, fmt.Errorf("tokenstore: key %q: %w", id, err)
	}
	return EncryptionKey{id: id, aead: aead}, nil
}

// GenerateEncryptionKey makes a key with a random secret and returns it
// with the secret's text form (base64), ready for ParseEncryptionKey as
// "id:secret". Store the text in your secret manager; it is the only copy.
func GenerateEncryptionKey(id string) (EncryptionKey, string, error) {
	secret := make([]byte, EncryptionKeySize)
	if _, err := rand.Read(secret); err != nil {
		return EncryptionKey{}, "", fmt.Errorf("tokenstore: generate key: %w", err)
	}
	k, err := NewEncryptionKey(id, secret)
	if err != nil {
		return EncryptionKey{}, "", err
	}
	return k, id + ":" + base64.StdEncoding.EncodeToString(secret), nil
}

// ParseEncryptionKey reads a key from text such as an environment
// variable: "id:secret" or just "secret", where secret is 32 bytes written in base64
// (standard or URL alphabet, padded or not) or in hex (64 digits).
// Surrounding spaces are ignored. Without an ID, one is derived from the
// secret ("k" and 8 hex digits of a SHA-256 of it), so the same text always
// gives the same ID.
func ParseEncryptionKey(text string) (EncryptionKey, error) {
	text = strings.TrimSpace(text)
	id, material, hasID := strings.Cut(text, ":")
	if !hasID {
		material, id = id, ""
	}
	material = strings.TrimSpace(material)
	secret, err := decodeSecret(material)
	if err != nil {
		if id != "" {
			return EncryptionKey{}, fmt.Errorf("tokenstore: key %q: %w", id, err)
		}
		return EncryptionKey{}, fmt.Errorf("tokenstore: key: %w", err)
	}
	if !hasID {
		sum := sha256.Sum256(append([]byte("tiktokkit key id\x00"), secret...))
		id = "k" + hex.EncodeToString(sum[:4])
	}
	return NewEncryptionKey(strings.TrimSpace(id), secret)
}

func decodeSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty secret")
	}
	if len(s) == 2*EncryptionKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != EncryptionKeySize {
				return nil, fmt.Errorf("secret is %d bytes, want %d", len(b), EncryptionKeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret is neither base64 nor hex of %d bytes", EncryptionKeySize)
}

func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("tokenstore: key ID must be 1 to %d characters, got %d", maxKeyIDLen, len(id))
	}
	if strings.ContainsAny(id, ":, \t\r\n\x00") {
		return fmt.Errorf("tokenstore: key ID %q contains ':', ',' or a space", id)
	}
	return nil
}

// ID returns the key's ID.
func (k EncryptionKey) ID() string { return k.id }

// String returns "tokenstore.EncryptionKey{id=<id>, secret=REDACTED}".
func (k EncryptionKey) String() string {
	return "tokenstore.EncryptionKey{id=" + k.id + ", secret=REDACTED}"
}

// GoString returns the same text as String, so %#v hides the secret.
func (k EncryptionKey) GoString() string { return k.String() }

// KeyRing holds the keys that encrypt tokens at rest with AES-256-GCM. The
// primary key encrypts every new write; the older keys only decrypt tokens
// written before the last rotation. A KeyRing is immutable and safe for
// concurrent use.
//
// Every ciphertext is bound to the store key it was written under (it is
// the GCM additional data), so a ciphertext copied to another user's row
// fails to decrypt with ErrCorrupt instead of handing one user's TikTok
// account to another.
//
// Rotating: make a new key, build the ring as NewKeyRing(newKey, oldKey),
// deploy; rows are re-encrypted with the new key as they are rewritten
// (every refresh rewrites one). Drop the old key once no row uses its ID
// (SELECT count(*) FROM tiktok_tokens WHERE key_id = 'old').
type KeyRing struct {
	primary EncryptionKey
	byID    map[string]EncryptionKey
}

// NewKeyRing returns a ring that encrypts with primary and decrypts with
// primary and every older key. IDs must be unique.
func NewKeyRing(primary EncryptionKey, older ...EncryptionKey) (*KeyRing, error) {
	r := &KeyRing{primary: primary, byID: make(map[string]EncryptionKey, 1+len(older))}
	for _, k := range append([]EncryptionKey{primary}, older...) {
		if k.aead == nil {
			return nil, errors.New("tokenstore: key ring: zero EncryptionKey " +
				"(make keys with NewEncryptionKey, ParseEncryptionKey or GenerateEncryptionKey)")
		}
		if _, dup := r.byID[k.id]; dup {
			return nil, fmt.Errorf("tokenstore: key ring: duplicate key ID %q", k.id)
		}
		r.byID[k.id] = k
	}
	return r, nil
}

// ParseKeyRing reads a ring from text such as an environment variable: a
// comma-separated list of keys in ParseEncryptionKey's form, the primary
// (newest) first, for example "2025-06:base64...,2024-11:base64...".
func ParseKeyRing(text string) (*KeyRing, error) {
	var keys []EncryptionKey
	for part := range strings.SplitSeq(text, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseEncryptionKey(part)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("tokenstore: key ring: no keys")
	}
	return NewKeyRing(keys[0], keys[1:]...)
}

// PrimaryID returns the ID of the key used for new writes.
func (r *KeyRing) PrimaryID() string { return r.primary.id }

// IDs returns the IDs of every key in the ring, the primary first.
func (r *KeyRing) IDs() []string {
	ids := []string{r.primary.id}
	for id := range r.byID {
		if id != r.primary.id {
			ids = append(ids, id)
		}
	}
	return ids
}

// String returns a description with the key IDs and no secrets.
func (r *KeyRing) String() string {
	return "tokenstore.KeyRing{primary=" + r.primary.id + ", keys=" + strings.Join(r.IDs(), ",") + "}"
}

// sealVersion is the first byte of every ciphertext this package writes.
const sealVersion = 1

const nonceSize = 12

// Seal encrypts plaintext for storeKey with the primary key. It returns the
// key's ID, to store next to the ciphertext, and the ciphertext: a version
// byte, a random 12-byte nonce, and the GCM output.
func (r *KeyRing) Seal(storeKey string, plaintext []byte) (keyID string, ciphertext []byte, err error) {
	k := r.primary
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+k.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+nonceSize]); err != nil {
		return "", nil, fmt.Errorf("tokenstore: nonce: %w", err)
	}
	out = k.aead.Seal(out, out[1:1+nonceSize], plaintext, additionalData(k.id, storeKey))
	return k.id, out, nil
}

// Open decrypts a ciphertext made by Seal for storeKey with the key keyID.
// An ID not in the ring gives ErrUnknownKey; a ciphertext that is
// truncated, altered or made for another store key gives ErrCorrupt.
func (r *KeyRing) Open(storeKey, keyID string, ciphertext []byte) ([]byte, error) {
	k, ok := r.byID[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key ID %q is not in the key ring (%s)", ErrUnknownKey, keyID, strings.Join(r.IDs(), ","))
	}
	if len(ciphertext) < 1+nonceSize+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: ciphertext is %d bytes, too short", ErrCorrupt, len(ciphertext))
	}
	if ciphertext[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown ciphertext version %d", ErrCorrupt, ciphertext[0])
	}
	nonce := ciphertext[1 : 1+nonceSize]
	plain, err := k.aead.Open(nil, nonce, ciphertext[1+nonceSize:], additionalData(keyID, storeKey))
	if err != nil {
		return nil, fmt.Errorf("%w: decryption with key %q failed (altered, or written for another key)", ErrCorrupt, keyID)
	}
	return plain, nil
}

// additionalData binds a ciphertext to its key ID and store key.
func additionalData(keyID, storeKey string) []byte {
	const label = "tiktokkit/tokenstore/v1\x00"
	b := make([]byte, 0, len(label)+len(keyID)+1+len(storeKey))
	b = append(b, label...)
	b = append(b, keyID...)
	b = append(b, 0)
	return append(b, storeKey...)
}
