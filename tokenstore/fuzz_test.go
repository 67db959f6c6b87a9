package tokenstore

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tiktokkit/tiktokkit/client"
)

func fuzzRing(f *testing.F) *KeyRing {
	k, err := NewEncryptionKey("k1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	ring, err := NewKeyRing(k)
	if err != nil {
		f.Fatal(err)
	}
	return ring
}

func fuzzToken() *client.Token {
	return &client.Token{
		AccessToken: "act.x", RefreshToken: "rft.y", TokenType: "Bearer", OpenID: "o",
		Scopes: []string{"user.info.basic"}, Expiry: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC),
	}
}

// FuzzDecodeRow feeds arbitrary stored rows (key, key ID, bytes) through
// the decoders of the SQL and Session stores, with and without a key ring:
// the outcome is a token or an ErrCorrupt/ErrUnknownKey error, never a
// panic.
func FuzzDecodeRow(f *testing.F) {
	ring := fuzzRing(f)
	plain, _ := json.Marshal(fuzzToken())
	id, sealed, err := ring.Seal("user", plain)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("user", "", plain)
	f.Add("user", id, sealed)
	f.Add("user", id, sealed[:len(sealed)-1])
	f.Add("other", id, sealed)
	f.Add("user", "", []byte("null"))
	f.Add("user", "", []byte(`{"expiry":"not a time"}`))
	f.Add("user", "", joinSessionValue(id, sealed))
	f.Add("user", "", []byte{sessionSealed, 200, 'k'})
	codecs := []codec{{}, {keys: ring}, {keys: ring, acceptPlain: true}}
	f.Fuzz(func(t *testing.T, storeKey, keyID string, data []byte) {
		for _, c := range codecs {
			check(t, c, storeKey, keyID, data)
			if sid, sdata, err := splitSessionValue(data); err == nil {
				check(t, c, storeKey, sid, sdata)
			} else if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("splitSessionValue: %v is not ErrCorrupt", err)
			}
		}
	})
}

func check(t *testing.T, c codec, storeKey, keyID string, data []byte) {
	tok, err := c.decode(storeKey, keyID, data)
	switch {
	case err == nil && tok == nil:
		t.Fatal("no token and no error")
	case err != nil && tok != nil:
		t.Fatal("a token and an error")
	case err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownKey):
		t.Fatalf("error %v is neither ErrCorrupt nor ErrUnknownKey", err)
	}
}

// FuzzFastDecode checks that the fast token decoder never disagrees with
// encoding/json: whenever it accepts an input, json.Unmarshal accepts it
// too and yields the same token.
func FuzzFastDecode(f *testing.F) {
	full, _ := json.Marshal(fuzzToken())
	f.Add(full)
	f.Add([]byte(`{}`))
	f.Add([]byte(` { "scopes" : [ ] , "access_token":"a" } `))
	f.Add([]byte(`{"access_token":"a","access_token":"b"}`))
	f.Add([]byte(`{"ACCESS_TOKEN":"a"}`))
	f.Add([]byte(`{"expiry":"2030-01-02T03:04:05.000000006+05:30"}`))
	f.Add([]byte(`{"open_id":"\u00e9"}`))
	f.Add([]byte(`{"open_id":"é"} x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeTokenFast(data)
		if !ok {
			return
		}
		var want client.Token
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("fast decoder accepted %q, encoding/json refuses it: %v", data, err)
		}
		if d := cmp.Diff(&want, fast); d != "" {
			t.Fatalf("fast decoder differs from encoding/json on %q (-json +fast):\n%s", data, d)
		}
		if !want.Expiry.Equal(fast.Expiry) || want.Expiry.Location().String() != fast.Expiry.Location().String() {
			t.Fatalf("expiry differs: %v vs %v", want.Expiry, fast.Expiry)
		}
	})
}
