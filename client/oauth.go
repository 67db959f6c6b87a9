package client

import (
	"context"
	"fmt"
	"net/url"
)

// ExchangeOption changes one Exchange call. Make one with WithVerifier or
// WithExchangeRedirectURL.
type ExchangeOption interface {
	applyExchange(*exchangeParams)
}

type exchangeParams struct {
	verifier string
	redirect string
}

type exchangeOption func(*exchangeParams)

func (f exchangeOption) applyExchange(p *exchangeParams) { f(p) }

// WithVerifier sends the PKCE code verifier whose challenge went into the
// authorize URL. It is ignored when Config.PKCE is PKCEDisabled; otherwise a
// verifier that fails ValidateVerifier is refused before any request.
func WithVerifier(verifier string) ExchangeOption {
	return exchangeOption(func(p *exchangeParams) { p.verifier = verifier })
}

// WithExchangeRedirectURL sends u as redirect_uri instead of
// Config.RedirectURL. It must be byte-identical to the one the authorize URL
// carried (see WithRedirectURL).
func WithExchangeRedirectURL(u string) ExchangeOption {
	return exchangeOption(func(p *exchangeParams) { p.redirect = u })
}

// Exchange swaps an authorization code from the callback for the user's
// token. The code is used as received (already URL-decoded by the HTTP
// server). An empty code, a missing redirect URL or an invalid verifier is
// refused with ErrInvalidInput before any request. The call is never
// repeated: a code is single use. A TikTok refusal is an *OAuthError (for
// example ErrInvalidGrant for an expired code), even when it comes with 200.
func (c *Client) Exchange(ctx context.Context, code string, opts ...ExchangeOption) (*Token, error) {
	p := exchangeParams{redirect: c.cfg.RedirectURL}
	for _, o := range opts {
		if o != nil {
			o.applyExchange(&p)
		}
	}
	if code == "" {
		return nil, fmt.Errorf("%w: empty authorization code", ErrInvalidInput)
	}
	if p.redirect == "" {
		return nil, fmt.Errorf("%w: no redirect URL (set Config.RedirectURL or use WithExchangeRedirectURL)", ErrInvalidInput)
	}
	form := url.Values{
		"client_key":    {c.cfg.ClientKey},
		"client_secret": {c.cfg.ClientSecret},
		"code":          {code},
		"grant_type":    {"authorization_code"},
		"redirect_uri":  {p.redirect},
	}
	if p.verifier != "" && c.cfg.PKCE != PKCEDisabled {
		if err := ValidateVerifier(p.verifier); err != nil {
			return nil, err
		}
		form.Set("code_verifier", p.verifier)
	}
	return c.tokenCall(ctx, "exchange", form, retryNone)
}

// Refresh renews a user's grant with its refresh token. TikTok may rotate
// the refresh token: save the returned Token (with its new RefreshToken)
// before using it, and never refresh one grant twice at once (package
// tokenstore does both). An empty refresh token is refused with
// ErrInvalidInput before any request. The call is repeated only when the
// request surely never reached TikTok (the connection could not be made).
// ErrInvalidGrant means the user must log in again.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	if refreshToken == "" {
		return nil, fmt.Errorf("%w: empty refresh token", ErrInvalidInput)
	}
	form := url.Values{
		"client_key":    {c.cfg.ClientKey},
		"client_secret": {c.cfg.ClientSecret},
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}
	return c.tokenCall(ctx, "refresh", form, retryDial)
}

// tokenCall posts a user token grant and turns the answer into a Token.
func (c *Client) tokenCall(ctx context.Context, op string, form url.Values, mode retryMode) (*Token, error) {
	var tok *Token
	err := c.roundTrip(ctx, c.formRequest(op, PathToken, form, mode), func(rp *reply) error {
		tb, err := decodeTokenBody(rp)
		if err != nil {
			return err
		}
		now := c.clock()
		tok = &Token{
			AccessToken:   tb.AccessToken,
			RefreshToken:  tb.RefreshToken,
			TokenType:     tb.TokenType,
			OpenID:        tb.OpenID,
			Scopes:        ParseScopes(tb.Scope),
			Expiry:        expiryAt(now, tb.ExpiresIn),
			RefreshExpiry: expiryAt(now, tb.RefreshExpiresIn),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// Revoke ends the grant behind accessToken: TikTok forgets the app for this
// user. Success is an empty body or {}; an OAuth error body is an
// *OAuthError even with HTTP 200 (ErrInvalidGrant for a token that is
// already invalid). An empty token is refused with ErrInvalidInput. Like
// Refresh, it is repeated only when the request never reached TikTok.
func (c *Client) Revoke(ctx context.Context, accessToken string) error {
	if accessToken == "" {
		return fmt.Errorf("%w: empty token to revoke", ErrInvalidInput)
	}
	form := url.Values{
		"client_key":    {c.cfg.ClientKey},
		"client_secret": {c.cfg.ClientSecret},
		"token":         {accessToken},
	}
	return c.roundTrip(ctx, c.formRequest("revoke", PathRevoke, form, retryDial), decodeRevoke)
}

// FetchClientToken asks TikTok for a new client access token
// (grant_type=client_credentials), bypassing the cache. It is safe to repeat
// and is retried like other repeatable calls. Most callers want ClientToken.
func (c *Client) FetchClientToken(ctx context.Context) (*ClientToken, error) {
	form := url.Values{
		"client_key":    {c.cfg.ClientKey},
		"client_secret": {c.cfg.ClientSecret},
		"grant_type":    {"client_credentials"},
	}
	var ct *ClientToken
	err := c.roundTrip(ctx, c.formRequest("client_token", PathToken, form, retryAll), func(rp *reply) error {
		tb, err := decodeTokenBody(rp)
		if err != nil {
			return err
		}
		ct = &ClientToken{AccessToken: tb.AccessToken, TokenType: tb.TokenType, Expiry: expiryAt(c.clock(), tb.ExpiresIn)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ct, nil
}

// clientTokenFetchTimeout bounds a shared client token fetch, which runs
// detached from any one caller's cancellation.
const clientTokenFetchTimeout = 2 * DefaultTimeout

// ClientToken returns a client access token, cached and shared: it is
// fetched once and renewed when it is within ClientTokenMargin (5 minutes) of
// its expiry. Concurrent callers share one fetch. A caller whose ctx ends
// stops waiting, but the fetch goes on for the others. A token with an
// unknown expiry is not cached. Errors are not cached.
func (c *Client) ClientToken(ctx context.Context) (*ClientToken, error) {
	if t := c.cachedClientToken(); t != nil {
		return t, nil
	}
	// singleflight runs one fetch for every caller that arrives while it is
	// in flight; DoChan lets each caller stop waiting on its own ctx.
	ch := c.ctFlight.DoChan("client_token", func() (any, error) {
		if t := c.cachedClientToken(); t != nil {
			return t, nil // a fetch that ended just before this one began
		}
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clientTokenFetchTimeout)
		defer cancel()
		t, err := c.FetchClientToken(fetchCtx)
		if err == nil && !t.Expiry.IsZero() {
			c.ctMu.Lock()
			c.ctCached = t
			c.ctMu.Unlock()
		}
		return t, err
	})
	select {
	case r := <-ch:
		t, _ := r.Val.(*ClientToken)
		return t, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// cachedClientToken returns the cached client token while it is further
// than ClientTokenMargin from its expiry, else nil.
func (c *Client) cachedClientToken() *ClientToken {
	c.ctMu.Lock()
	defer c.ctMu.Unlock()
	if t := c.ctCached; t != nil && c.clock().Add(ClientTokenMargin).Before(t.Expiry) {
		return t
	}
	return nil
}

// formRequest describes a form-encoded POST to a token endpoint. The form is
// encoded with sorted keys, as url.Values does.
func (c *Client) formRequest(op, path string, form url.Values, mode retryMode) *request {
	return &request{
		op:          op,
		method:      "POST",
		path:        path,
		body:        []byte(form.Encode()),
		contentType: formContentType,
		noCache:     true,
		retry:       mode,
		secrets:     formSecrets(form),
	}
}

// formSecretKeys are the form fields of the token and revoke endpoints that
// carry a credential.
var formSecretKeys = []string{"client_secret", "code", "code_verifier", "refresh_token", "token"}

// formSecrets returns the credentials in form, to be masked in any answer
// that echoes them.
func formSecrets(form url.Values) []string {
	var out []string
	for _, k := range formSecretKeys {
		for _, v := range form[k] {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}
