package tokenstore_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

func TestCodecRoundTrip(t *testing.T) {
	ring := testKeyRing(t, "k2", "k1")
	for _, tc := range []struct {
		name   string
		codec  tokenstore.Codec
		wantID string
	}{
		{"encrypted", tokenstore.NewCodec(ring, false), "k2"},
		{"plain", tokenstore.NewCodec(nil, false), ""},
		{"zero value", tokenstore.Codec{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := storetest.FullToken(1)
			id, data, err := tc.codec.Encode("user", tok)
			require.NoError(t, err)
			assert.Equal(t, tc.wantID, id)
			assert.Equal(t, tc.wantID != "", tc.codec.Encrypted())
			assert.Equal(t, tc.wantID == "", bytes.Contains(data, []byte(tok.AccessToken)), "clear only without a key ring")
			got, err := tc.codec.Decode("user", id, data)
			require.NoError(t, err)
			assert.Empty(t, storetest.Equal(tok, got))
		})
	}
	_, _, err := tokenstore.NewCodec(ring, false).Encode("user", nil)
	require.Error(t, err, "a nil token")
}

// TestCodecMatchesSQLStore: what a Codec seals, the SQL store reads, and
// the other way round, given the same key ring.
func TestCodecMatchesSQLStore(t *testing.T) {
	ctx := t.Context()
	ring := testKeyRing(t, "k1")
	c := tokenstore.NewCodec(ring, false)
	db := openSQLite(t)
	st := newSQLStore(t, db, tokenstore.SQLite, ring)

	require.NoError(t, st.Put(ctx, "from-sql", storetest.FullToken(1)))
	got, err := c.Decode("from-sql", rowKeyID(t, db, "from-sql"), rowToken(t, db, "from-sql"))
	require.NoError(t, err)
	assert.Empty(t, storetest.Equal(storetest.FullToken(1), got))

	id, data, err := c.Encode("from-codec", storetest.FullToken(2))
	require.NoError(t, err)
	exec(t, db, `INSERT INTO tiktok_tokens ("key", token, key_id, updated_at) VALUES ('from-codec', ?, ?, 0)`, data, id)
	got, err = st.Get(ctx, "from-codec")
	require.NoError(t, err)
	assert.Empty(t, storetest.Equal(storetest.FullToken(2), got))
}

func TestCodecErrors(t *testing.T) {
	ring := testKeyRing(t, "k1")
	c := tokenstore.NewCodec(ring, false)
	id, data, err := c.Encode("victim", storetest.FullToken(1))
	require.NoError(t, err)
	_, plain, err := tokenstore.NewCodec(nil, false).Encode("victim", storetest.FullToken(1))
	require.NoError(t, err)
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x40

	tests := []struct {
		name  string
		codec tokenstore.Codec
		key   string
		id    string
		data  []byte
		want  error
	}{
		{"unknown key ID", c, "victim", "gone", data, tokenstore.ErrUnknownKey},
		{"another ring", tokenstore.NewCodec(testKeyRing(t, "other"), false), "victim", id, data, tokenstore.ErrUnknownKey},
		{"no ring for a sealed value", tokenstore.NewCodec(nil, false), "victim", id, data, tokenstore.ErrUnknownKey},
		{"clear value in an encrypted store", c, "victim", "", plain, tokenstore.ErrUnknownKey},
		{"flipped bit", c, "victim", id, flipped, tokenstore.ErrCorrupt},
		{"sealed for another store key", c, "attacker", id, data, tokenstore.ErrCorrupt},
		{"truncated", c, "victim", id, data[:10], tokenstore.ErrCorrupt},
		{"not JSON", tokenstore.NewCodec(nil, false), "victim", "", []byte("hello"), tokenstore.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.codec.Decode(tc.key, tc.id, tc.data)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, tok)
			assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
			assert.NotErrorIs(t, err, tokenstore.ErrLoginRequired)
			assert.Contains(t, err.Error(), `"`+tc.key+`"`, "the error names the key")
		})
	}

	// Accepting plaintext while migrating.
	got, err := tokenstore.NewCodec(ring, true).Decode("victim", "", plain)
	require.NoError(t, err)
	assert.Empty(t, storetest.Equal(storetest.FullToken(1), got))
}
