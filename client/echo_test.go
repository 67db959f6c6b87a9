package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
)

// An upstream that fails by echoing the request (a proxy's error page that
// prints the form it received) must not make the client keep any
// credential it sent: not in err.Error(), %#v, JSON, slog, nor the client's
// own debug lines on retry.
func TestEchoedCredentialsAreMasked(t *testing.T) {
	const (
		secret   = "SecretOfTheApp42"
		code     = "CodeFromCallback~99"
		verifier = "VerifierVerifierVerifierVerifierVerifierVerifier01"
		refresh  = "rft.RefreshTokenValue77"
		access   = "act.AccessTokenValue55"
	)
	secrets := []string{secret, code, verifier, "RefreshTokenValue77", "AccessTokenValue55",
		url.QueryEscape(code)}
	for _, shape := range []string{"html", "text", "json"} {
		t.Run(shape, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				w.WriteHeader(http.StatusBadGateway)
				switch shape {
				case "html":
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprintf(w, "<html><body>upstream failed for %s %s<br>form: %s<br>auth: %s</body></html>",
						r.Method, r.URL.Path, body, r.Header.Get("Authorization"))
				case "text":
					// values alone, decoded, as a log-like page might print them
					form, _ := url.ParseQuery(string(body))
					fmt.Fprintf(w, "bad request:")
					for _, v := range form {
						fmt.Fprintf(w, " %s", v[0])
					}
					fmt.Fprintf(w, " %s", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
				case "json":
					form, _ := url.ParseQuery(string(body))
					_ = json.NewEncoder(w).Encode(map[string]any{"echo": form, "authorization": r.Header.Get("Authorization")})
				}
			}))
			defer srv.Close()
			var logs bytes.Buffer
			c := newClient(t, srv.URL, func(cfg *client.Config) {
				cfg.ClientSecret = secret
				cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			ctx := context.Background()
			var errs []error
			_, err := c.Exchange(ctx, code, client.WithVerifier(verifier))
			errs = append(errs, err)
			_, err = c.Refresh(ctx, refresh)
			errs = append(errs, err)
			errs = append(errs, c.Revoke(ctx, access))
			_, err = c.WithToken(&client.Token{AccessToken: access}).UserInfo(ctx, client.FieldOpenID)
			errs = append(errs, err)
			for i, err := range errs {
				require.Error(t, err, "call %d", i)
				raw, _ := json.Marshal(err)
				var rerr *client.ResponseError
				outs := []string{err.Error(), fmt.Sprintf("%#v", err), fmt.Sprintf("%+v", err), string(raw)}
				if assert.ErrorAs(t, err, &rerr, "call %d: %v", i, err) {
					snip, _ := json.Marshal(rerr)
					outs = append(outs, rerr.Snippet, string(snip), fmt.Sprintf("%#v", *rerr))
				}
				slog.New(slog.NewJSONHandler(&logs, nil)).Error("call failed", "err", err)
				for _, out := range outs {
					for _, s := range secrets {
						assert.NotContains(t, out, s, "call %d leaks a credential: %s", i, out)
					}
				}
			}
			for _, s := range secrets {
				assert.NotContains(t, logs.String(), s, "logs leak a credential")
			}
		})
	}
}
