package webhook

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSignature(t *testing.T) {
	mac := strings.Repeat("ab", 32)
	tests := []struct {
		in    string
		ts    string
		nsigs int
		ok    bool
	}{
		{"t=1700000000,s=" + mac, "1700000000", 1, true},
		{" t = 1700000000 , s = " + mac + " ", "1700000000", 1, true},
		{"s=" + mac + ",t=1", "1", 1, true},
		{"t=1,s=" + mac + ",s=" + strings.ToUpper(mac), "1", 2, true},
		{"t=1,v=2,s=" + mac, "1", 1, true},
		{"t=1,t=2,s=" + mac, "", 0, false},
		{"t=,s=" + mac, "", 0, false},
		{"t=-1,s=" + mac, "", 0, false},
		{"t=1e9,s=" + mac, "", 0, false},
		{"t=1234567890123456789,s=" + mac, "", 0, false},
		{"t=1,s=" + mac[:62], "", 0, false},
		{"t=1,s=" + mac[:62] + "zz", "", 0, false},
		{"t=1", "", 0, false},
		{"s=" + mac, "", 0, false},
		{"t=1;s=" + mac, "", 0, false},
		{"", "", 0, false},
		{"t=1," + strings.Repeat("s="+mac+",", 9), "", 0, false},
	}
	for _, tt := range tests {
		ts, sigs, err := parseSignature(tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrMalformed, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.ts, ts)
		assert.Len(t, sigs, tt.nsigs)
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add("t=1700000000,s=" + strings.Repeat("0f", 32))
	f.Add(Sign("secret", time.Unix(1, 0), []byte("{}")))
	f.Add("t=1,s=" + strings.Repeat("a", 64) + ",s=" + strings.Repeat("b", 64))
	f.Add(" t = 9 ,x=y, s=" + strings.Repeat("F", 64))
	f.Add("t=,s=")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, h string) {
		ts, sigs, err := parseSignature(h)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if ts == "" || len(ts) > 18 || strings.Trim(ts, "0123456789") != "" {
			t.Fatalf("bad timestamp %q from %q", ts, h)
		}
		if len(sigs) == 0 || len(sigs) > maxSignatures {
			t.Fatalf("%d signatures from %q", len(sigs), h)
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("signature of %d bytes from %q", len(s), h)
			}
		}
		// What parses must be what Sign would write for that MAC.
		canon := "t=" + ts + ",s=" + hex.EncodeToString(sigs[0])
		ts2, sigs2, err := parseSignature(canon)
		if err != nil || ts2 != ts || !bytes.Equal(sigs2[0], sigs[0]) {
			t.Fatalf("canonical form %q does not parse back", canon)
		}
	})
}
