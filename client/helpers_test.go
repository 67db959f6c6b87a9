package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

type fakeClock = testutil.Clock

// answer is one canned HTTP answer of a replay server.
type answer struct {
	status      int    // 0 = 200
	body        []byte // sent byte for byte
	contentType string // "" = application/json when body is set
	retryAfter  string // Retry-After header value
	drop        bool   // hijack and close the connection without answering
}

// seen is one request as the replay server received it.
type seen struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
}

// replay is an httptest server that answers with canned answers in order
// (the last one repeats) and records every request.
type replay struct {
	*httptest.Server
	mu      sync.Mutex
	answers []answer
	reqs    []seen
}

func newReplay(t *testing.T, answers ...answer) *replay {
	t.Helper()
	rs := &replay{answers: answers}
	rs.Server = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *replay) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rs.mu.Lock()
	i := len(rs.reqs)
	rs.reqs = append(rs.reqs, seen{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: body})
	a := answer{}
	if len(rs.answers) > 0 {
		a = rs.answers[min(i, len(rs.answers)-1)]
	}
	rs.mu.Unlock()
	if a.drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	} else if a.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	status := a.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(a.body)
}

func (rs *replay) requests() []seen {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]seen(nil), rs.reqs...)
}

func (rs *replay) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.reqs)
}

func newFakeClock() *fakeClock {
	return testutil.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// Inputs of the Ruby gem's specs, which the request_form__* samples encode.
const (
	specClientKey    = "test_client_key_123"
	specClientSecret = "test_client_secret_456"
	specCode         = "test_auth_code_789"
	specRedirect     = "https://example.com/callback"
	specRefresh      = "rft.test_refresh_token_d60341ec2b987fa5"
)

// newClient makes a client for apiURL with the spec's credentials, a fake
// clock and fast retries; mod may change the config further.
func newClient(t *testing.T, apiURL string, mod ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{
		ClientKey:    specClientKey,
		ClientSecret: specClientSecret,
		RedirectURL:  specRedirect,
		APIURL:       apiURL,
		Clock:        newFakeClock().Now,
		Retry:        client.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		// Replay servers script 429s to test retries; the client's own
		// quota keeping is tested on its own (quota_test.go).
		NoQuotas: true,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(cfg)
	require.NoError(t, err)
	return c
}

// userToken is a token with every user scope, valid for a day at the fake clock.
func userToken(scopes ...string) *client.Token {
	if len(scopes) == 0 {
		scopes = []string{client.ScopeUserInfoBasic, client.ScopeUserInfoProfile, client.ScopeUserInfoStats,
			client.ScopeVideoList, client.ScopeVideoPublish, client.ScopeVideoUpload}
	}
	return &client.Token{
		AccessToken:  "act.test_access_token_d60341ec2b987fa5_valid",
		RefreshToken: specRefresh,
		OpenID:       "test_open_id_1234567890",
		Scopes:       scopes,
		Expiry:       newFakeClock().Now().Add(24 * time.Hour),
	}
}

// countingDialClient returns an HTTP client whose every dial attempt calls
// onDial first.
func countingDialClient(onDial func()) *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			onDial()
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// gate returns a handler that reports its arrival on arrived, waits for
// release (or the request's end) and then answers 200 with body.
func gate(arrived chan<- struct{}, release <-chan struct{}, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}
