package tokenstore_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

func TestParseEncryptionKey(t *testing.T) {
	secret := bytes.Repeat([]byte{0xAB, 0x01, 0xFF, 0x7E}, 8)
	std := base64.StdEncoding.EncodeToString(secret)
	tests := []struct {
		name, text, wantID, wantErr string
	}{
		{name: "id and std base64", text: "2025-06:" + std, wantID: "2025-06"},
		{name: "spaces around", text: "  2025-06:" + std + "\n", wantID: "2025-06"},
		{name: "raw url base64", text: "k:" + base64.RawURLEncoding.EncodeToString(secret), wantID: "k"},
		{name: "hex", text: "hex-key:" + hex.EncodeToString(secret), wantID: "hex-key"},
		{name: "no id", text: std, wantID: derivedID(t, std)},
		{name: "short secret", text: "k:" + base64.StdEncoding.EncodeToString(secret[:16]), wantErr: "16 bytes, want 32"},
		{name: "not base64", text: "k:not a key!", wantErr: "neither base64 nor hex"},
		{name: "empty", text: "", wantErr: "empty secret"},
		{name: "empty id", text: ":" + std, wantErr: "key ID must be 1 to 64"},
		{name: "id too long", text: strings.Repeat("i", 65) + ":" + std, wantErr: "key ID must be 1 to 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tokenstore.ParseEncryptionKey(tc.text)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.True(t, strings.HasPrefix(err.Error(), "tokenstore: "), err.Error())
				assert.NotContains(t, err.Error(), std, "an error must not echo the secret")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantID, k.ID())
		})
	}
}

func derivedID(t *testing.T, text string) string {
	k1, err := tokenstore.ParseEncryptionKey(text)
	require.NoError(t, err)
	k2, err := tokenstore.ParseEncryptionKey(text)
	require.NoError(t, err)
	require.Equal(t, k1.ID(), k2.ID(), "a derived ID must be stable")
	require.Regexp(t, `^k[0-9a-f]{8}$`, k1.ID())
	return k1.ID()
}

func TestEncryptionKeyNeverPrintsItsSecret(t *testing.T) {
	k, text, err := tokenstore.GenerateEncryptionKey("2025-06")
	require.NoError(t, err)
	secret := strings.TrimPrefix(text, "2025-06:")
	ring, err := tokenstore.NewKeyRing(k)
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k) + fmt.Sprintf(verb, ring)
		assert.NotContains(t, out, secret, verb)
		assert.Contains(t, out, "2025-06", verb)
	}
}

func TestKeyRingSealOpen(t *testing.T) {
	ring := testKeyRing(t, "new", "old")
	id, sealed, err := ring.Seal("user-1", []byte(`{"access_token":"act.x"}`))
	require.NoError(t, err)
	assert.Equal(t, "new", id)
	assert.NotContains(t, string(sealed), "act.x")

	plain, err := ring.Open("user-1", id, sealed)
	require.NoError(t, err)
	assert.Equal(t, `{"access_token":"act.x"}`, string(plain))

	_, sealed2, err := ring.Seal("user-1", []byte(`{"access_token":"act.x"}`))
	require.NoError(t, err)
	assert.NotEqual(t, sealed, sealed2, "every seal uses a fresh nonce")

	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name, storeKey, keyID string
		data                  []byte
		want                  error
	}{
		{"moved to another row", "user-2", id, sealed, tokenstore.ErrCorrupt},
		{"altered", "user-1", id, flipped, tokenstore.ErrCorrupt},
		{"truncated", "user-1", id, sealed[:20], tokenstore.ErrCorrupt},
		{"empty", "user-1", id, nil, tokenstore.ErrCorrupt},
		{"wrong version", "user-1", id, append([]byte{9}, sealed[1:]...), tokenstore.ErrCorrupt},
		{"labelled with the other key", "user-1", "old", sealed, tokenstore.ErrCorrupt},
		{"unknown key", "user-1", "gone", sealed, tokenstore.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ring.Open(tc.storeKey, tc.keyID, tc.data)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestKeyRingRejectsBadRings(t *testing.T) {
	k, _, err := tokenstore.GenerateEncryptionKey("a")
	require.NoError(t, err)
	_, err = tokenstore.NewKeyRing(k, k)
	require.ErrorContains(t, err, "duplicate key ID")
	_, err = tokenstore.NewKeyRing(tokenstore.EncryptionKey{})
	require.ErrorContains(t, err, "zero EncryptionKey")
	_, err = tokenstore.ParseKeyRing(" , ")
	require.ErrorContains(t, err, "no keys")
}

func TestParseKeyRingRotation(t *testing.T) {
	_, oldText, err := tokenstore.GenerateEncryptionKey("2024-11")
	require.NoError(t, err)
	_, newText, err := tokenstore.GenerateEncryptionKey("2025-06")
	require.NoError(t, err)

	before, err := tokenstore.ParseKeyRing(oldText)
	require.NoError(t, err)
	after, err := tokenstore.ParseKeyRing(newText + ", " + oldText)
	require.NoError(t, err)
	assert.Equal(t, "2025-06", after.PrimaryID())
	assert.ElementsMatch(t, []string{"2025-06", "2024-11"}, after.IDs())

	ctx := t.Context()
	db := openSQLite(t)
	quiet := slog.New(slog.DiscardHandler)
	oldStore, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Keys: before, Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, oldStore.Migrate(ctx))
	require.NoError(t, oldStore.Put(ctx, "u", storetest.FullToken(1)))

	newStore, err := tokenstore.NewSQL(db, tokenstore.SQLConfig{Dialect: tokenstore.SQLite, Keys: after})
	require.NoError(t, err)
	got, err := newStore.Get(ctx, "u")
	require.NoError(t, err, "old rows must still read after a rotation")
	assert.Empty(t, storetest.Equal(storetest.FullToken(1), got))
	assert.Equal(t, "2024-11", rowKeyID(t, db, "u"))

	require.NoError(t, newStore.Put(ctx, "u", got))
	assert.Equal(t, "2025-06", rowKeyID(t, db, "u"), "writes use the primary key")

	// The old key alone cannot read the rewritten row: a clear error, and
	// the row stays.
	_, err = oldStore.Get(ctx, "u")
	require.ErrorIs(t, err, tokenstore.ErrUnknownKey)
	assert.Contains(t, err.Error(), `"2025-06"`)
	assert.Equal(t, "2025-06", rowKeyID(t, db, "u"))
}

func TestParseKeyRingEnvironmentForms(t *testing.T) {
	hexSecret := strings.Repeat("0f", 32)
	ring, err := tokenstore.ParseKeyRing("a:" + hexSecret + ",b:" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	require.NoError(t, err)
	assert.Equal(t, "a", ring.PrimaryID())
	_, err = tokenstore.ParseKeyRing("a:" + hexSecret + ",a:" + hexSecret)
	require.ErrorContains(t, err, "duplicate")
}
