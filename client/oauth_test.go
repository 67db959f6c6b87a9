package client_test

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/internal/seed"
)

// sortedForm re-encodes a form body with sorted keys, so that two bodies
// compare equal when they hold the same fields and values.
func sortedForm(t *testing.T, body string) string {
	t.Helper()
	v, err := url.ParseQuery(body)
	require.NoError(t, err)
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, val := range v[k] {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(val))
		}
	}
	return strings.Join(parts, "&")
}

func assertFormRequest(t *testing.T, r seen, path, wantForm string) {
	t.Helper()
	assert.Equal(t, "POST", r.method)
	assert.Equal(t, path, r.path)
	assert.Equal(t, "application/x-www-form-urlencoded", r.header.Get("Content-Type"))
	assert.Equal(t, "no-cache", r.header.Get("Cache-Control"))
	assert.Empty(t, r.header.Get("Authorization"), "client credentials go in the body, not in a header")
	assert.Equal(t, sortedForm(t, wantForm), sortedForm(t, string(r.body)))
}

func TestRequestFormsMatchSamples(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		sample string
		path   string
		answer string
		key    string
		secret string
		call   func(c *client.Client) error
	}{
		{
			name: "authorization code", sample: "request_form__token_authorization_code.txt", path: client.PathToken,
			answer: "token_authorization_code__success__200.json", key: specClientKey, secret: specClientSecret,
			call: func(c *client.Client) error { _, err := c.Exchange(ctx, specCode); return err },
		},
		{
			name: "refresh", sample: "request_form__token_refresh.txt", path: client.PathToken,
			answer: "token_refresh__success__200.json", key: specClientKey, secret: specClientSecret,
			call: func(c *client.Client) error { _, err := c.Refresh(ctx, specRefresh); return err },
		},
		{
			name: "client credentials", sample: "request_form__token_client_credentials.txt", path: client.PathToken,
			answer: "token_client_credentials__success__200.json", key: "dummy_client_key", secret: "dummy_client_secret",
			call: func(c *client.Client) error { _, err := c.FetchClientToken(ctx); return err },
		},
		{
			name: "revoke", sample: "request_form__revoke.txt", path: client.PathRevoke,
			answer: "revoke__success_empty_object__200.json", key: specClientKey, secret: specClientSecret,
			call: func(c *client.Client) error { return c.Revoke(ctx, specRefresh) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, answer{body: seed.Bytes(tt.answer)})
			c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.ClientKey, cfg.ClientSecret = tt.key, tt.secret })
			require.NoError(t, tt.call(c))
			reqs := rs.requests()
			require.Len(t, reqs, 1)
			assertFormRequest(t, reqs[0], tt.path, seed.String(tt.sample))
			assert.Equal(t, client.DefaultUserAgent, reqs[0].header.Get("User-Agent"))
		})
	}
}

func TestExchangeSendsVerifierAndRedirect(t *testing.T) {
	verifier := client.GenerateVerifier()
	tests := []struct {
		name     string
		mode     client.PKCEMode
		opts     []client.ExchangeOption
		wantForm url.Values
	}{
		{
			name: "verifier and override", mode: client.PKCEHex,
			opts: []client.ExchangeOption{client.WithVerifier(verifier), client.WithExchangeRedirectURL("https://custom.example.com/callback")},
			wantForm: url.Values{"client_key": {specClientKey}, "client_secret": {specClientSecret}, "code": {specCode},
				"grant_type": {"authorization_code"}, "redirect_uri": {"https://custom.example.com/callback"}, "code_verifier": {verifier}},
		},
		{
			name: "pkce disabled drops the verifier", mode: client.PKCEDisabled,
			opts: []client.ExchangeOption{client.WithVerifier(verifier)},
			wantForm: url.Values{"client_key": {specClientKey}, "client_secret": {specClientSecret}, "code": {specCode},
				"grant_type": {"authorization_code"}, "redirect_uri": {specRedirect}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, answer{body: seed.Bytes("token_authorization_code__success__200.json")})
			c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.PKCE = tt.mode })
			_, err := c.Exchange(context.Background(), specCode, tt.opts...)
			require.NoError(t, err)
			reqs := rs.requests()
			require.Len(t, reqs, 1)
			got, err := url.ParseQuery(string(reqs[0].body))
			require.NoError(t, err)
			assert.Empty(t, cmp.Diff(tt.wantForm, got))
		})
	}
}

func TestTokenSuccessSamples(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	tests := []struct {
		name   string
		sample string
		call   func(context.Context, *client.Client) (*client.Token, error)
		want   *client.Token
	}{
		{
			name: "exchange", sample: "token_authorization_code__success__200.json",
			call: func(ctx context.Context, c *client.Client) (*client.Token, error) { return c.Exchange(ctx, specCode) },
			want: &client.Token{
				AccessToken: "act.test_access_token_d60341ec2b987fa5", RefreshToken: "rft.test_refresh_token_d60341ec2b987fa5",
				TokenType: "Bearer", OpenID: "test_open_id_1234567890", Scopes: []string{"user.info.basic"},
				Expiry: now.Add(86400 * time.Second), RefreshExpiry: now.Add(31536000 * time.Second),
			},
		},
		{
			name: "refresh rotates the refresh token", sample: "token_refresh__success__200.json",
			call: func(ctx context.Context, c *client.Client) (*client.Token, error) { return c.Refresh(ctx, specRefresh) },
			want: &client.Token{
				AccessToken: "act.test_access_token_d60341ec2b987fa5", RefreshToken: "rft.test_new_refresh_token_d60341ec2b987fa5",
				TokenType: "Bearer", OpenID: "test_open_id_1234567890", Scopes: []string{"user.info.basic"},
				Expiry: now.Add(86400 * time.Second), RefreshExpiry: now.Add(31528708 * time.Second),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, answer{body: seed.Bytes(tt.sample)})
			c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Clock = clock.Now })
			got, err := tt.call(context.Background(), c)
			require.NoError(t, err)
			assert.Empty(t, cmp.Diff(tt.want, got))
		})
	}
}

func TestClientTokenSamples(t *testing.T) {
	clock := newFakeClock()
	for _, sample := range []string{"token_client_credentials__success__200.json", "token_client_credentials__README_example_parsed.json"} {
		t.Run(sample, func(t *testing.T) {
			rs := newReplay(t, answer{body: seed.Bytes(sample)})
			c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Clock = clock.Now })
			ct, err := c.FetchClientToken(context.Background())
			require.NoError(t, err)
			assert.NotEmpty(t, ct.AccessToken)
			assert.Equal(t, "Bearer", ct.TokenType)
			assert.Equal(t, clock.Now().Add(7200*time.Second), ct.Expiry)
		})
	}
}

// TestOAuthErrorSamples replays every OAuth error sample with its recorded
// status, and with 200 as well: the body decides.
func TestOAuthErrorSamples(t *testing.T) {
	ctx := context.Background()
	exchange := func(c *client.Client) error { _, err := c.Exchange(ctx, specCode); return err }
	refresh := func(c *client.Client) error { _, err := c.Refresh(ctx, specRefresh); return err }
	clientToken := func(c *client.Client) error { _, err := c.FetchClientToken(ctx); return err }
	revoke := func(c *client.Client) error { return c.Revoke(ctx, "act.some_token") }
	tests := []struct {
		sample   string
		status   int
		call     func(*client.Client) error
		sentinel error
		code     string
		logID    string
	}{
		{"token_authorization_code__invalid_client__401.json", 401, exchange, client.ErrInvalidClient, "invalid_client", "test_log_id_unauthorized_1234567890"},
		{"token_authorization_code__invalid_grant_code_expired__400.json", 400, exchange, client.ErrInvalidGrant, "invalid_grant", "test_log_id_d60341ec2b987fa5"},
		{"token_refresh__invalid_client__401.json", 401, refresh, client.ErrInvalidClient, "invalid_client", "test_log_id_unauthorized_refresh_1234567890"},
		{"token_refresh__invalid_grant_refresh_token_invalid__400.json", 400, refresh, client.ErrInvalidGrant, "invalid_grant", "2025090712305321A45C357B1409A149B8"},
		{"token_refresh__invalid_request_malformed__400.json", 400, refresh, client.ErrInvalidRequest, "invalid_request", "202206221854370101130062072500FFA2"},
		{"token_client_credentials__invalid_client__400_and_200.json", 400, clientToken, client.ErrInvalidClient, "invalid_client", "dummy_log_id"},
		{"token_client_credentials__invalid_request_expected_hash_UNUSED.json", 400, clientToken, client.ErrInvalidRequest, "invalid_request", "dummy_log_id"},
		{"revoke__invalid_client__401.json", 401, revoke, client.ErrInvalidClient, "invalid_client", "20250915234824C5043283223F5C0B9DC4"},
		{"revoke__invalid_request_malformed__400.json", 400, revoke, client.ErrInvalidRequest, "invalid_request", "20250915234824C5043283223F5C0B9DC4"},
		{"revoke__invalid_grant_token_invalid__200.json", 200, revoke, client.ErrInvalidGrant, "invalid_grant", "20250915234824C5043283223F5C0B9DC4"},
	}
	for _, tt := range tests {
		for _, status := range []int{tt.status, 200} {
			t.Run(tt.sample+"/"+statusName(status), func(t *testing.T) {
				rs := newReplay(t, answer{status: status, body: seed.Bytes(tt.sample)})
				c := newClient(t, rs.URL)
				err := tt.call(c)
				require.Error(t, err)
				var oe *client.OAuthError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, status, oe.StatusCode)
				assert.Equal(t, tt.code, oe.Code)
				assert.Equal(t, tt.logID, oe.LogID)
				assert.NotEmpty(t, oe.Description)
				assert.ErrorIs(t, err, tt.sentinel)
				assert.False(t, client.IsTemporary(err))
				assert.True(t, strings.HasPrefix(err.Error(), "client: oauth error "+tt.code), err.Error())
				assert.Equal(t, 1, rs.count(), "an OAuth refusal is never retried")
			})
		}
	}
}

func statusName(status int) string { return "http" + strconv.Itoa(status) }

// TestMalformedTokenAnswers covers the raw_body samples and other bodies that
// are not what TikTok documents: each is a *ResponseError, never a panic and
// never a success (the Ruby gem reported success for a 200 non-JSON body).
func TestMalformedTokenAnswers(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		a      answer
		status int
		server bool // matches ErrServer
	}{
		{"invalid json 200", answer{body: seed.Bytes("raw_body__invalid_json__200.txt"), contentType: "text/plain"}, 200, false},
		{"plain 500", answer{status: 500, body: seed.Bytes("raw_body__internal_server_error__500.txt"), contentType: "text/plain"}, 500, true},
		{"html 500", answer{status: 500, body: seed.Bytes("raw_body__html_internal_server_error__500.txt"), contentType: "text/html"}, 500, true},
		{"empty 200", answer{body: []byte{}}, 200, false},
		{"empty 204", answer{status: 204}, 204, false},
		{"no access token", answer{body: []byte(`{"open_id":"x","expires_in":10}`)}, 200, false},
		{"truncated", answer{body: []byte(`{"access_token":"act.secretsecret","expires_in":86`)}, 200, false},
		{"array", answer{body: []byte(`[1,2]`)}, 200, false},
		{"token with 502", answer{status: 502, body: seed.Bytes("token_refresh__success__200.json")}, 502, true},
		{"wrong types", answer{body: []byte(`{"access_token":17}`)}, 200, false},
		{"error member is a number", answer{body: []byte(`{"error":5}`)}, 200, false},
	}
	calls := map[string]func(*client.Client) error{
		"exchange": func(c *client.Client) error { _, err := c.Exchange(ctx, specCode); return err },
		"refresh":  func(c *client.Client) error { _, err := c.Refresh(ctx, specRefresh); return err },
		"client":   func(c *client.Client) error { _, err := c.FetchClientToken(ctx); return err },
	}
	for _, tt := range tests {
		for name, call := range calls {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				rs := newReplay(t, tt.a)
				c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Retry.MaxAttempts = 1 })
				err := call(c)
				var re *client.ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, tt.status, re.StatusCode)
				assert.Equal(t, tt.server, errors.Is(err, client.ErrServer))
				assert.NotContains(t, err.Error(), "secretsecret", "a truncated token must not leak through the error")
				assert.NotContains(t, err.Error(), "test_access_token", "a token must not leak through the error")
			})
		}
	}
}

func TestRevokeAnswers(t *testing.T) {
	tests := []struct {
		name    string
		a       answer
		wantErr error // nil = success
	}{
		{"empty object", answer{body: seed.Bytes("revoke__success_empty_object__200.json")}, nil},
		{"empty body", answer{body: []byte{}}, nil},
		{"empty 204", answer{status: 204}, nil},
		{"ok envelope", answer{body: []byte(`{"data":{},"error":{"code":"ok","message":"","log_id":"x"}}`)}, nil},
		{"error with 200", answer{body: seed.Bytes("revoke__invalid_grant_token_invalid__200.json")}, client.ErrInvalidGrant},
		{"invalid json 200", answer{body: seed.Bytes("raw_body__invalid_json__200.txt"), contentType: "text/plain"}, &client.ResponseError{}},
		{"empty 500", answer{status: 500}, client.ErrServer},
		{"empty object 400", answer{status: 400, body: []byte(`{}`)}, &client.ResponseError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, tt.a)
			c := newClient(t, rs.URL)
			err := c.Revoke(context.Background(), "act.some_token")
			switch want := tt.wantErr.(type) {
			case nil:
				require.NoError(t, err)
			case *client.ResponseError:
				require.ErrorAs(t, err, &want)
			default:
				require.ErrorIs(t, err, want)
			}
		})
	}
}

func TestTokenCallsRefuseBadInput(t *testing.T) {
	rs := newReplay(t, answer{body: seed.Bytes("token_refresh__success__200.json")})
	c := newClient(t, rs.URL)
	noRedirect := newClient(t, rs.URL, func(cfg *client.Config) { cfg.RedirectURL = "" })
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"empty code", func() error { _, err := c.Exchange(ctx, ""); return err }},
		{"short verifier", func() error { _, err := c.Exchange(ctx, specCode, client.WithVerifier("abc")); return err }},
		{"verifier with bad character", func() error {
			_, err := c.Exchange(ctx, specCode, client.WithVerifier(strings.Repeat("a", 50)+"+"))
			return err
		}},
		{"no redirect", func() error { _, err := noRedirect.Exchange(ctx, specCode); return err }},
		{"empty refresh token", func() error { _, err := c.Refresh(ctx, ""); return err }},
		{"empty token to revoke", func() error { return c.Revoke(ctx, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.ErrorIs(t, err, client.ErrInvalidInput)
			assert.False(t, client.IsTemporary(err))
		})
	}
	assert.Zero(t, rs.count(), "bad input must be refused before any request")
}

func TestRetryRules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		answers   []answer
		call      func(*client.Client) error
		wantCalls int
		wantErr   bool
	}{
		{"exchange is never retried on 500", []answer{{status: 500}}, func(c *client.Client) error {
			_, err := c.Exchange(ctx, specCode)
			return err
		}, 1, true},
		{"exchange is never retried on a dropped connection", []answer{{drop: true}}, func(c *client.Client) error {
			_, err := c.Exchange(ctx, specCode)
			return err
		}, 1, true},
		{"refresh is not retried on 503", []answer{{status: 503}}, func(c *client.Client) error {
			_, err := c.Refresh(ctx, specRefresh)
			return err
		}, 1, true},
		{"refresh is not retried after the request was sent", []answer{{drop: true}}, func(c *client.Client) error {
			_, err := c.Refresh(ctx, specRefresh)
			return err
		}, 1, true},
		{"revoke is not retried on 500", []answer{{status: 500}}, func(c *client.Client) error {
			return c.Revoke(ctx, "act.x")
		}, 1, true},
		{"client token is retried on 500 then succeeds", []answer{{status: 500}, {status: 429}, {body: seed.Bytes("token_client_credentials__success__200.json")}},
			func(c *client.Client) error { _, err := c.FetchClientToken(ctx); return err }, 3, false},
		{"client token gives up after MaxAttempts", []answer{{status: 502}},
			func(c *client.Client) error { _, err := c.FetchClientToken(ctx); return err }, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, tt.answers...)
			c := newClient(t, rs.URL)
			err := tt.call(c)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantCalls, rs.count())
		})
	}
}

// TestRefreshRetriedOnDialError points the client at a port nobody listens
// on: the request surely never reached TikTok, so a refresh is repeated. The
// attempts are counted with a dialer wrapped around the default transport.
func TestRefreshRetriedOnDialError(t *testing.T) {
	rs := newReplay(t)
	addr := rs.Listener.Addr().String()
	rs.Close() // now nothing listens there: every dial is refused
	var mu sync.Mutex
	dials := 0
	hc := countingDialClient(func() { mu.Lock(); dials++; mu.Unlock() })
	c := newClient(t, "http://"+addr, func(cfg *client.Config) { cfg.HTTPClient = hc })
	_, err := c.Refresh(context.Background(), specRefresh)
	require.Error(t, err)
	assert.True(t, client.IsTemporary(err), "a refused connection is temporary: %v", err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 3, dials, "refresh is retried when the connection could not be made")
}

func TestClientTokenCache(t *testing.T) {
	clock := newFakeClock()
	rs := newReplay(t, answer{body: seed.Bytes("token_client_credentials__success__200.json")})
	c := newClient(t, rs.URL, func(cfg *client.Config) { cfg.Clock = clock.Now })
	ctx := context.Background()

	const n = 16
	var wg sync.WaitGroup
	got := make([]*client.ClientToken, n)
	for i := range n {
		wg.Go(func() {
			ct, err := c.ClientToken(ctx)
			assert.NoError(t, err)
			got[i] = ct
		})
	}
	wg.Wait()
	assert.Equal(t, 1, rs.count(), "concurrent callers share one fetch")
	for _, ct := range got {
		assert.Same(t, got[0], ct)
	}

	clock.Advance(7200*time.Second - client.ClientTokenMargin - time.Second)
	ct, err := c.ClientToken(ctx)
	require.NoError(t, err)
	assert.Same(t, got[0], ct, "still cached just before the renewal margin")
	assert.Equal(t, 1, rs.count())

	clock.Advance(2 * time.Second)
	ct, err = c.ClientToken(ctx)
	require.NoError(t, err)
	assert.NotSame(t, got[0], ct, "renewed within the margin")
	assert.Equal(t, 2, rs.count())
}

func TestClientTokenErrorsAreNotCached(t *testing.T) {
	rs := newReplay(t,
		answer{status: 400, body: seed.Bytes("token_client_credentials__invalid_client__400_and_200.json")},
		answer{body: seed.Bytes("token_client_credentials__success__200.json")})
	c := newClient(t, rs.URL)
	_, err := c.ClientToken(context.Background())
	require.ErrorIs(t, err, client.ErrInvalidClient)
	ct, err := c.ClientToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "dummy_access_token", ct.AccessToken)
}

func TestClientTokenCallerCancellation(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	rs := newReplay(t)
	rs.Config.Handler = gate(arrived, release, seed.Bytes("token_client_credentials__success__200.json"))
	c := newClient(t, rs.URL)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.ClientToken(ctx); errc <- err }()
	<-arrived // the shared fetch is in flight
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled, "a caller whose context ends stops waiting")

	close(release) // the fetch goes on for the others and fills the cache
	ct, err := c.ClientToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "dummy_access_token", ct.AccessToken)
}
