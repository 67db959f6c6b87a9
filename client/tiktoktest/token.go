package tiktoktest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxFormBytes bounds a form body (token, revoke, consent).
const maxFormBytes = 64 << 10

// TikTok's texts for the OAuth errors the emulator answers.
const (
	descMalformed        = "The request parameters are malformed."
	descClientAuthFailed = "Client authentication failed."
	descRedirectMismatch = "Redirect_uri is not matched with the uri when requesting code."
	descVerifierInvalid  = "Code verifier or code challenge is invalid."
	descCodeInvalid      = "Authorization code is invalid."
	descCodeExpired      = "Authorization code is expired."
	descCodeUsed         = "Authorization code has been used."
	descRefreshInvalid   = "Refresh token is invalid or expired."
	descAccessInvalid    = "Access token is invalid or expired."
)

// TokenResponse is the token endpoint's success JSON, flat as TikTok sends
// it (fields in TikTok's order).
type TokenResponse struct {
	// AccessToken is the bearer token ("act.…").
	AccessToken string `json:"access_token"`
	// ExpiresIn is the access token lifetime in seconds (Config.AccessTTL).
	ExpiresIn int64 `json:"expires_in"`
	// OpenID is the user's ID for this app.
	OpenID string `json:"open_id"`
	// RefreshExpiresIn is the refresh token's remaining lifetime in seconds.
	RefreshExpiresIn int64 `json:"refresh_expires_in"`
	// RefreshToken is the refresh token ("rft.…"); it dies once used.
	RefreshToken string `json:"refresh_token"`
	// Scope is the comma-separated list of granted scopes.
	Scope string `json:"scope"`
	// TokenType is always "Bearer".
	TokenType string `json:"token_type"`
}

// clientTokenResponse is the client_credentials answer: no refresh token,
// no open_id, no scope.
type clientTokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// grant is one user authorization: it survives refreshes and dies on
// revoke.
type grant struct {
	clientKey     string
	openID        string
	scopes        []string
	refreshExpiry time.Time
	revoked       bool
}

// accessToken is a live access token; killed and revoked ones are deleted
// from the map. grant is nil for a client token.
type accessToken struct {
	grant   *grant
	expires time.Time
}

// refreshToken stays in the map after rotation so that reuse is detected.
type refreshToken struct {
	grant   *grant
	rotated bool
}

type oauthError struct {
	status int
	code   string
	desc   string
}

func (s *Server) writeOAuthError(w http.ResponseWriter, e *oauthError) {
	noStore(w)
	body := struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		LogID       string `json:"log_id"`
	}{e.code, e.desc, newLogID(s.Now())}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("tiktoktest: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readForm reads a token or revoke body: form-encoded only, within
// maxFormBytes, every parameter at most once. Parameters in the URL query
// are not read, as TikTok reads the body.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
	}
	for _, v := range form {
		if len(v) > 1 {
			return nil, &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
		}
	}
	return form, nil
}

// checkClient authenticates client_key and client_secret from the body.
func (s *Server) checkClient(form url.Values) *oauthError {
	key, secret := form.Get("client_key"), form.Get("client_secret")
	switch {
	case key == "":
		return &oauthError{http.StatusUnauthorized, "invalid_client", "Client key is missed in request."}
	case secret == "":
		return &oauthError{http.StatusUnauthorized, "invalid_client", "Client secret is missed in request."}
	}
	okKey := subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.ClientKey))
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret))
	if okKey&okSecret != 1 {
		return &oauthError{http.StatusUnauthorized, "invalid_client", descClientAuthFailed}
	}
	return nil
}

// serveToken answers POST /v2/oauth/token/.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe == nil {
		oe = s.checkClient(form)
	}
	if oe != nil {
		s.writeOAuthError(w, oe)
		return
	}
	var body any
	gt := form.Get("grant_type")
	switch gt {
	case grantAuthorizationCode:
		body, oe = s.exchangeCode(form)
	case grantRefreshToken:
		body, oe = s.refreshGrant(form)
	case grantClientCredentials:
		body = s.clientCredentials()
	case "":
		oe = &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
	default:
		oe = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported."}
	}
	if oe != nil {
		s.writeOAuthError(w, oe)
		return
	}
	s.mu.Lock()
	s.grantsOK[gt]++
	s.mu.Unlock()
	noStore(w)
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) exchangeCode(form url.Values) (any, *oauthError) {
	if !form.Has("code") || !form.Has("redirect_uri") {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[form.Get("code")]
	now := s.nowLocked()
	switch {
	case c == nil || c.clientKey != form.Get("client_key"):
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", descCodeInvalid}
	case c.used:
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", descCodeUsed}
	case !now.Before(c.expires):
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", descCodeExpired}
	case form.Get("redirect_uri") != c.redirectURI:
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", descRedirectMismatch}
	case c.challenge != "" && !verifierMatches(c.challenge, form.Get("code_verifier")):
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", descVerifierInvalid}
	}
	c.used = true
	return s.newGrantLocked(c.clientKey, c.openID, c.scopes), nil
}

// newGrantLocked creates a grant with its first access and refresh tokens.
func (s *Server) newGrantLocked(clientKey, openID string, scopes []string) TokenResponse {
	now := s.nowLocked()
	g := &grant{clientKey: clientKey, openID: openID, scopes: scopes, refreshExpiry: now.Add(s.cfg.RefreshTTL)}
	return s.issueLocked(g, now)
}

// issueLocked issues a new access and refresh token for g.
func (s *Server) issueLocked(g *grant, now time.Time) TokenResponse {
	at, rt := newToken("act."), newToken("rft.")
	s.access[at] = &accessToken{grant: g, expires: now.Add(s.cfg.AccessTTL)}
	s.refresh[rt] = &refreshToken{grant: g}
	return TokenResponse{
		AccessToken:      at,
		ExpiresIn:        seconds(s.cfg.AccessTTL),
		OpenID:           g.openID,
		RefreshExpiresIn: seconds(g.refreshExpiry.Sub(now)),
		RefreshToken:     rt,
		Scope:            strings.Join(g.scopes, ","),
		TokenType:        "Bearer",
	}
}

func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d / time.Second)
}

func (s *Server) refreshGrant(form url.Values) (any, *oauthError) {
	if !form.Has("refresh_token") {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
	}
	invalid := &oauthError{http.StatusBadRequest, "invalid_grant", descRefreshInvalid}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.refresh[form.Get("refresh_token")]
	if rt == nil || rt.grant.clientKey != form.Get("client_key") {
		return nil, invalid
	}
	if rt.rotated {
		s.reuse++
		return nil, invalid
	}
	now := s.nowLocked()
	if rt.grant.revoked || !now.Before(rt.grant.refreshExpiry) {
		return nil, invalid
	}
	rt.rotated = true
	return s.issueLocked(rt.grant, now), nil
}

func (s *Server) clientCredentials() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := newToken("clt.")
	s.access[tok] = &accessToken{expires: s.nowLocked().Add(clientTokenTTL)}
	return clientTokenResponse{AccessToken: tok, ExpiresIn: seconds(clientTokenTTL), TokenType: "Bearer"}
}

// serveRevoke answers POST /v2/oauth/revoke/: the token must be a live user
// access token; its whole grant (refresh token included) dies.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe == nil {
		oe = s.checkClient(form)
	}
	if oe == nil && !form.Has("token") {
		oe = &oauthError{http.StatusBadRequest, "invalid_request", descMalformed}
	}
	if oe == nil {
		s.mu.Lock()
		at := s.access[form.Get("token")]
		if at == nil || at.grant == nil || at.grant.clientKey != form.Get("client_key") ||
			at.grant.revoked || !s.nowLocked().Before(at.expires) {
			// TikTok answers this one with 200 (a recorded answer in the seed
			// vectors: revoke__invalid_grant_token_invalid__200.json).
			oe = &oauthError{http.StatusOK, "invalid_grant", descAccessInvalid}
		} else {
			s.revokeLocked(at.grant)
		}
		s.mu.Unlock()
	}
	if oe != nil {
		s.writeOAuthError(w, oe)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, struct{}{})
}

// revokeLocked kills g: its access tokens are deleted, its refresh tokens
// refused from now on.
func (s *Server) revokeLocked(g *grant) {
	g.revoked = true
	for k, at := range s.access {
		if at.grant == g {
			delete(s.access, k)
		}
	}
}

// IssueToken mints a grant for openID without the browser flow, as if the
// user had approved scopes (none given: every scope in Config.Scopes) and
// the app had exchanged the code. It does not count in Grants.
func (s *Server) IssueToken(openID string, scopes ...string) (TokenResponse, error) {
	if len(scopes) == 0 {
		scopes = s.cfg.Scopes
	}
	sc, ok := s.parseScopes(strings.Join(scopes, ","))
	if !ok {
		return TokenResponse{}, fmt.Errorf("tiktoktest: scopes %q are not all allowed", scopes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.userLocked(openID); !ok {
		return TokenResponse{}, fmt.Errorf("tiktoktest: unknown user %q", openID)
	}
	return s.newGrantLocked(s.cfg.ClientKey, openID, sc), nil
}

// KillAccessTokens makes every live access token (client tokens included)
// invalid now, as TikTok may do before the announced expiry. Refresh tokens
// stay valid, so a refresh recovers.
func (s *Server) KillAccessTokens() {
	s.mu.Lock()
	clear(s.access)
	s.mu.Unlock()
}

// RevokeAllGrants revokes every grant, as if every user removed the app:
// access and refresh tokens all die.
func (s *Server) RevokeAllGrants() {
	s.mu.Lock()
	for _, rt := range s.refresh {
		rt.grant.revoked = true
	}
	for k, at := range s.access {
		if at.grant != nil {
			delete(s.access, k)
		}
	}
	s.mu.Unlock()
}
