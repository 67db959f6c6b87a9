package tiktoktest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// consentTTL is how long a rendered consent page can be submitted.
const consentTTL = 15 * time.Minute

// maxPending bounds the consent pages and codes kept; beyond it, expired
// entries are swept on insert.
const maxPending = 1024

// authRequest is a validated authorize request.
type authRequest struct {
	clientKey   string
	redirectURI string
	scopes      []string // requested, deduplicated, in request order
	state       string
	hasState    bool
	challenge   string
	autoAuthOff bool // disable_auto_auth=1
}

// pendingConsent is a consent page waiting for its form.
type pendingConsent struct {
	req     authRequest
	expires time.Time
}

// authCode is an issued authorization code.
type authCode struct {
	clientKey   string
	openID      string
	redirectURI string
	scopes      []string
	challenge   string
	expires     time.Time
	used        bool
}

// authorizeParams are the parameters TikTok's authorize endpoint reads; each
// may appear at most once.
var authorizeParams = []string{
	"client_key", "response_type", "scope", "redirect_uri", "state",
	"code_challenge", "code_challenge_method", "disable_auto_auth",
}

// parseAuthorize validates an authorize query. problems names every
// parameter at fault (TikTok's error page lists them); the request is only
// usable when problems is empty.
func (s *Server) parseAuthorize(rawQuery string) (req authRequest, problems []string) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return req, []string{"query"}
	}
	for _, p := range authorizeParams {
		if len(q[p]) > 1 {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return req, problems
	}
	req.clientKey = q.Get("client_key")
	if req.clientKey == "" || subtle.ConstantTimeCompare([]byte(req.clientKey), []byte(s.cfg.ClientKey)) != 1 {
		problems = append(problems, "client_key")
	}
	req.redirectURI = q.Get("redirect_uri")
	if !s.redirectAllowed(req.redirectURI) {
		problems = append(problems, "redirect_uri")
	}
	if q.Get("response_type") != "code" {
		problems = append(problems, "response_type")
	}
	scopes, ok := s.parseScopes(q.Get("scope"))
	if !ok {
		problems = append(problems, "scope")
	}
	req.scopes = scopes
	req.state, req.hasState = q.Get("state"), q.Has("state")
	req.challenge = q.Get("code_challenge")
	method, hasMethod := q.Get("code_challenge_method"), q.Has("code_challenge_method")
	switch {
	case req.challenge == "" && q.Has("code_challenge"):
		problems = append(problems, "code_challenge")
	case req.challenge == "" && s.cfg.PKCE == PKCERequired:
		problems = append(problems, "code_challenge")
	case req.challenge == "" && hasMethod:
		problems = append(problems, "code_challenge_method")
	case req.challenge != "":
		if !s.challengeAccepted(req.challenge) {
			problems = append(problems, "code_challenge")
		}
		if method != "S256" {
			problems = append(problems, "code_challenge_method")
		}
	}
	if q.Has("disable_auto_auth") {
		switch q.Get("disable_auto_auth") {
		case "1":
			req.autoAuthOff = true
		case "0":
		default:
			problems = append(problems, "disable_auto_auth")
		}
	}
	return req, problems
}

// redirectAllowed applies the registration rule: exact match against
// Config.RedirectURIs, or any plausible absolute URI when none is registered.
func (s *Server) redirectAllowed(u string) bool {
	if len(s.cfg.RedirectURIs) == 0 {
		return plausibleRedirect(u)
	}
	return slices.Contains(s.cfg.RedirectURIs, u)
}

// parseScopes splits TikTok's comma-separated scope list. Every item must be
// a scope the app may request; spaces are not separators.
func (s *Server) parseScopes(v string) ([]string, bool) {
	if v == "" {
		return nil, false
	}
	var out []string
	for _, sc := range strings.Split(v, ",") {
		if !slices.Contains(s.cfg.Scopes, sc) {
			return nil, false
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, true
}

// challengeAccepted reports whether c is a well-formed S256 challenge:
// TikTok's 64 lowercase hex characters, or (when allowed) 43 characters of
// unpadded base64url.
func (s *Server) challengeAccepted(c string) bool {
	if isLowerHex(c) && len(c) == 64 {
		return true
	}
	if s.cfg.AcceptBase64URLChallenge && len(c) == 43 {
		_, err := base64.RawURLEncoding.DecodeString(c)
		return err == nil
	}
	return false
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// verifierMatches checks a code_verifier against the challenge sent at
// authorize: hex SHA-256 for a hex challenge, base64url for the other.
func verifierMatches(challenge, verifier string) bool {
	if !validVerifier(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	var want string
	if len(challenge) == 64 {
		want = hex.EncodeToString(sum[:])
	} else {
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// validVerifier: 43 to 128 characters from [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// serveAuthorize answers GET /v2/auth/authorize/.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	req, problems := s.parseAuthorize(r.URL.RawQuery)
	if len(problems) > 0 {
		s.writeAuthErrorPage(w, http.StatusBadRequest, problems)
		return
	}
	s.mu.Lock()
	if s.denyNext {
		s.denyNext = false
		s.mu.Unlock()
		redirectError(w, req, "access_denied", "The user denied the authorization request.")
		return
	}
	if s.cfg.AutoApprove && !req.autoAuthOff {
		u := s.approverLocked()
		code := s.newCodeLocked(req, u.OpenID, req.scopes)
		s.mu.Unlock()
		redirectCode(w, req, code, req.scopes)
		return
	}
	nonce := newNonce()
	now := s.nowLocked()
	if len(s.pending) >= maxPending {
		for k, p := range s.pending {
			if !now.Before(p.expires) {
				delete(s.pending, k)
			}
		}
	}
	s.pending[nonce] = &pendingConsent{req: req, expires: now.Add(consentTTL)}
	page := consentPage{
		AppName:   s.cfg.AppName,
		ClientKey: req.clientKey,
		Nonce:     nonce,
		Selected:  s.approverLocked().OpenID,
		Users:     slices.Clone(s.users),
		Redirect:  req.redirectURI,
	}
	s.mu.Unlock()
	for _, sc := range req.scopes {
		page.Scopes = append(page.Scopes, consentScope{Name: sc, Text: scopeText(sc), Locked: sc == scopeUserInfoBasic})
	}
	setPageHeaders(w)
	w.WriteHeader(http.StatusOK)
	_ = consentTemplate.Execute(w, page)
}

// serveConsent answers the consent form (POST /v2/auth/authorize/): fields
// nonce, action (approve or deny), open_id, and, when scope_choice=1, the
// checked scope values (otherwise every requested scope is granted).
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		s.writeAuthErrorPage(w, http.StatusBadRequest, []string{"form"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.writeAuthErrorPage(w, http.StatusBadRequest, []string{"form"})
		return
	}
	f := r.PostForm
	s.mu.Lock()
	p := s.pending[f.Get("nonce")]
	now := s.nowLocked()
	if p == nil || !now.Before(p.expires) {
		s.mu.Unlock()
		s.writeAuthErrorPage(w, http.StatusBadRequest, []string{"nonce"})
		return
	}
	req := p.req
	switch f.Get("action") {
	case "deny":
		delete(s.pending, f.Get("nonce"))
		s.mu.Unlock()
		redirectError(w, req, "access_denied", "The user denied the authorization request.")
		return
	case "approve":
	default:
		s.mu.Unlock()
		s.writeAuthErrorPage(w, http.StatusBadRequest, []string{"action"})
		return
	}
	openID := f.Get("open_id")
	if openID == "" {
		openID = s.approverLocked().OpenID
	}
	if _, ok := s.userLocked(openID); !ok {
		s.mu.Unlock()
		s.writeAuthErrorPage(w, http.StatusBadRequest, []string{"open_id"})
		return
	}
	granted := req.scopes
	if f.Get("scope_choice") == "1" {
		granted = nil
		for _, sc := range req.scopes {
			if sc == scopeUserInfoBasic || slices.Contains(f["scope"], sc) {
				granted = append(granted, sc)
			}
		}
		if len(granted) == 0 {
			s.mu.Unlock()
			s.writeAuthErrorPage(w, http.StatusBadRequest, []string{"scope"})
			return
		}
	}
	delete(s.pending, f.Get("nonce"))
	code := s.newCodeLocked(req, openID, granted)
	s.mu.Unlock()
	redirectCode(w, req, code, granted)
}

// approverLocked is the user who approves by default: the one set with
// ApproveAs, else the first.
func (s *Server) approverLocked() User {
	if u, ok := s.userLocked(s.approveAs); ok {
		return u
	}
	return s.users[0]
}

// newCodeLocked issues a code for the request.
func (s *Server) newCodeLocked(req authRequest, openID string, scopes []string) string {
	now := s.nowLocked()
	if len(s.codes) >= maxPending {
		for k, c := range s.codes {
			if !now.Before(c.expires) {
				delete(s.codes, k)
			}
		}
	}
	code := newCode()
	s.codes[code] = &authCode{
		clientKey:   req.clientKey,
		openID:      openID,
		redirectURI: req.redirectURI,
		scopes:      slices.Clone(scopes),
		challenge:   req.challenge,
		expires:     now.Add(s.cfg.CodeTTL),
	}
	return code
}

// authorizeFault answers an injected ErrorCode on the authorize endpoint:
// a redirect with error=<code> when the request names a valid client and
// redirect URI, else the error page with the fault's status.
func (s *Server) authorizeFault(w http.ResponseWriter, r *http.Request, status int, code string) {
	noStore(w)
	req, problems := s.parseAuthorize(r.URL.RawQuery)
	if r.Method == http.MethodGet && !slices.Contains(problems, "client_key") && !slices.Contains(problems, "redirect_uri") {
		redirectError(w, req, code, describe(code))
		return
	}
	if status == http.StatusOK {
		status = http.StatusBadRequest
	}
	s.writeAuthErrorPage(w, status, []string{code})
}

// redirectCode sends the browser back with code, scopes and state.
func redirectCode(w http.ResponseWriter, req authRequest, code string, scopes []string) {
	q := "code=" + url.QueryEscape(code) + "&scopes=" + url.QueryEscape(strings.Join(scopes, ","))
	redirectBack(w, req, q)
}

// redirectError sends the browser back with error and error_description.
func redirectError(w http.ResponseWriter, req authRequest, code, desc string) {
	q := "error=" + url.QueryEscape(code) + "&error_description=" + url.QueryEscape(desc)
	redirectBack(w, req, q)
}

func redirectBack(w http.ResponseWriter, req authRequest, q string) {
	if req.hasState {
		q += "&state=" + url.QueryEscape(req.state)
	}
	sep := "?"
	if strings.Contains(req.redirectURI, "?") {
		sep = "&"
	}
	w.Header().Set("Location", req.redirectURI+sep+q)
	w.WriteHeader(http.StatusFound)
}

// Code mints an authorization code as if openID had approved the scopes at
// the authorize page for this client and redirect URI; challenge is the
// code_challenge ("" for none). The redirect URI and scopes must pass the
// same checks as at authorize.
func (s *Server) Code(openID, redirectURI string, scopes []string, challenge string) (string, error) {
	if !s.redirectAllowed(redirectURI) {
		return "", fmt.Errorf("tiktoktest: redirect URI %q is not registered", redirectURI)
	}
	sc, ok := s.parseScopes(strings.Join(scopes, ","))
	if !ok {
		return "", fmt.Errorf("tiktoktest: scopes %q are not all allowed", scopes)
	}
	if challenge != "" && !s.challengeAccepted(challenge) {
		return "", errors.New("tiktoktest: malformed code challenge")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.userLocked(openID); !ok {
		return "", fmt.Errorf("tiktoktest: unknown user %q", openID)
	}
	req := authRequest{clientKey: s.cfg.ClientKey, redirectURI: redirectURI, challenge: challenge}
	return s.newCodeLocked(req, openID, sc), nil
}

// ApproveAs makes openID the user who approves from now on: with
// AutoApprove, and as the preselected user of the consent page. An open ID
// that is not among the users adds a user with that ID and generated
// profile fields (handy for load tests with many users).
func (s *Server) ApproveAs(openID string) {
	if openID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.userLocked(openID); !ok {
		u := User{OpenID: openID, DisplayName: "User " + openID}
		s.users = append(s.users, u.withDefaults())
	}
	s.approveAs = openID
}

// DenyNextConsent makes the next valid authorize request redirect at once
// with error=access_denied, as if the user pressed Deny.
func (s *Server) DenyNextConsent() {
	s.mu.Lock()
	s.denyNext = true
	s.mu.Unlock()
}
