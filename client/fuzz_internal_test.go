package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/tiktokkit/tiktokkit/internal/seed"
)

// FuzzDecodeAnswer feeds arbitrary statuses and bodies to every decoder of
// TikTok answers. None may panic; each either succeeds with a well-formed
// value or returns one of the package's structured errors.
func FuzzDecodeAnswer(f *testing.F) {
	samples := []struct {
		name   string
		status int
	}{
		{"token_authorization_code__success__200.json", 200},
		{"token_refresh__success__200.json", 200},
		{"token_client_credentials__success__200.json", 200},
		{"token_refresh__invalid_grant_refresh_token_invalid__400.json", 400},
		{"token_authorization_code__invalid_client__401.json", 401},
		{"revoke__success_empty_object__200.json", 200},
		{"revoke__invalid_grant_token_invalid__200.json", 200},
		{"user_info__success_all_14_fields__200.json", 200},
		{"user_info__error_access_token_invalid__401.json", 401},
		{"user_info__error_invalid_field__400.json", 400},
		{"creator_info_query__success__200.json", 200},
		{"raw_body__html_internal_server_error__500.txt", 500},
		{"raw_body__invalid_json__200.txt", 200},
	}
	for _, s := range samples {
		f.Add(s.status, seed.Bytes(s.name))
	}
	f.Add(204, []byte{})
	f.Add(200, []byte(strings.Repeat("0", 178)+`"refresh_token":"rft.`+strings.Repeat("0", 60)))
	f.Add(200, []byte(`{"error":{"code":0},"data":null}`))
	f.Add(200, []byte(`{"expires_in":"1e400","access_token":"a"}`))

	f.Fuzz(func(t *testing.T, status int, body []byte) {
		rp := &reply{status: status, contentType: "application/json", body: body}
		check := func(what string, err error) {
			if err == nil {
				return
			}
			var oe *OAuthError
			var ae *APIError
			var re *ResponseError
			if !errors.As(err, &oe) && !errors.As(err, &ae) && !errors.As(err, &re) {
				t.Fatalf("%s: unexpected error type %T: %v", what, err, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "client: ") {
				t.Fatalf("%s: message without prefix: %q", what, msg)
			}
			if re != nil && len(re.Snippet) > 256 {
				t.Fatalf("%s: snippet of %d bytes", what, len(re.Snippet))
			}
		}

		tb, err := decodeTokenBody(rp)
		check("token", err)
		if err == nil && (tb.AccessToken == "" || !is2xx(status) || tb.ExpiresIn < 0) {
			t.Fatalf("token accepted: status %d, %+v", status, tb)
		}

		var data struct {
			User *UserInfo `json:"user"`
		}
		_, err = decodeEnvelope(rp, &data)
		check("envelope", err)
		if err == nil && !is2xx(status) {
			t.Fatalf("envelope accepted with status %d", status)
		}

		_, err = decodeEnvelope(rp, nil)
		check("envelope without out", err)

		err = decodeRevoke(rp)
		check("revoke", err)
		if err == nil && !is2xx(status) {
			t.Fatalf("revoke accepted with status %d", status)
		}
	})
}
