package tiktoktest

import (
	"bytes"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Endpoint names a TikTok endpoint for fault injection and counters.
type Endpoint string

// The endpoints the emulator serves.
const (
	// EndpointAuthorize is GET /v2/auth/authorize/ and the consent form's
	// POST to the same path.
	EndpointAuthorize Endpoint = "authorize"
	// EndpointToken is POST /v2/oauth/token/ (every grant type).
	EndpointToken Endpoint = "token"
	// EndpointRevoke is POST /v2/oauth/revoke/.
	EndpointRevoke Endpoint = "revoke"
	// EndpointUserInfo is GET /v2/user/info/.
	EndpointUserInfo Endpoint = "user_info"
	// EndpointCreatorInfo is POST /v2/post/publish/creator_info/query/.
	EndpointCreatorInfo Endpoint = "creator_info"
)

// Fault replaces the normal answer of an endpoint. Precedence: Delay always
// runs first; then Drop, else Body, else ErrorCode, else Status, else
// LoseAnswer. A fault
// with only Delay and/or RetryAfter (Status 0 or 200) delays the normal
// answer and adds the header.
type Fault struct {
	// Status is the HTTP status to answer. With Body or ErrorCode, 0 means
	// 200. Alone, it answers TikTok's error shape for the endpoint with a
	// code that fits the status (500 internal_error or server_error, 503
	// temporarily_unavailable, 429 rate_limit_exceeded, 401, 400, ...), an
	// error page for authorize, or an empty body for 204 and 304.
	Status int
	// Body is a raw body to answer (malformed JSON, an HTML page, ...).
	Body string
	// ContentType is the Content-Type for Body. Default: sniffed from Body.
	ContentType string
	// ErrorCode answers TikTok's error shape for this endpoint with this
	// code: flat {error, error_description, log_id} for token and revoke,
	// the {data, error} envelope for API endpoints, and for authorize a
	// redirect to the (valid) redirect_uri with error=<code>. The status is
	// Status, default 200 (TikTok sends some errors with 200).
	ErrorCode string
	// RetryAfter adds a Retry-After header, in whole seconds rounded up.
	RetryAfter time.Duration
	// Delay waits before answering. A request whose context ends first gets
	// no answer.
	Delay time.Duration
	// Drop closes the connection without answering (with a TCP reset where
	// possible), as a crashed proxy would.
	Drop bool
	// LoseAnswer lets the endpoint do its work as usual (a refresh rotates
	// the refresh token, a revoke revokes), then closes the connection
	// without sending the answer: TikTok did it, the client never learns
	// the result, as when a proxy or the network fails on the way back.
	LoseAnswer bool
	// Times is how many requests the fault applies to; 0 means until
	// cleared. Note that Go's transport resends an idempotent request (GET)
	// once by itself when a reused connection is dropped; each resend counts.
	Times int
}

// InjectFault makes the endpoint answer with f, replacing any fault it had.
func (s *Server) InjectFault(e Endpoint, f Fault) {
	s.mu.Lock()
	s.faults[e] = &f
	s.mu.Unlock()
}

// ClearFault removes the endpoint's fault.
func (s *Server) ClearFault(e Endpoint) {
	s.mu.Lock()
	delete(s.faults, e)
	s.mu.Unlock()
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	clear(s.faults)
	s.mu.Unlock()
}

// Faults returns the active faults by endpoint; Times shows what is left.
func (s *Server) Faults() map[Endpoint]Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Endpoint]Fault, len(s.faults))
	for e, f := range s.faults {
		out[e] = *f
	}
	return out
}

// takeFaultLocked returns a copy of the endpoint's fault and uses one of its
// Times.
func (s *Server) takeFaultLocked(e Endpoint) *Fault {
	f := s.faults[e]
	if f == nil {
		return nil
	}
	c := *f
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			delete(s.faults, e)
		}
	}
	return &c
}

// maxBufferedBody is the largest request body read ahead of an injected
// delay.
const maxBufferedBody = 1 << 20

// applyFault answers with f. It returns false when the normal handler must
// still answer (a delay-only fault).
func (s *Server) applyFault(rec *recorder, r *http.Request, e Endpoint, f *Fault) bool {
	if f.Delay > 0 {
		// Read a small body first: only then does the server watch the
		// connection, so a client that gives up ends the wait (the request
		// context is cancelled) instead of holding the handler.
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength >= 0 && r.ContentLength <= maxBufferedBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
			if err != nil {
				rec.dropped = true
				return true
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			rec.dropped = true
			return true
		case <-s.closing:
			t.Stop()
			rec.dropped = true
			return true
		}
	}
	if f.Drop {
		rec.dropped = true
		dropConnection(rec)
		return true
	}
	if f.RetryAfter > 0 {
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		rec.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	switch {
	case f.Body != "":
		ct := f.ContentType
		if ct == "" {
			ct = http.DetectContentType([]byte(f.Body))
		}
		rec.Header().Set("Content-Type", ct)
		rec.WriteHeader(statusOr(f.Status, http.StatusOK))
		_, _ = rec.Write([]byte(f.Body))
		return true
	case f.ErrorCode != "":
		s.writeFaultError(rec, r, e, statusOr(f.Status, http.StatusOK), f.ErrorCode)
		return true
	case f.Status != 0 && f.Status != http.StatusOK:
		if !bodyAllowed(f.Status) {
			rec.WriteHeader(f.Status)
			return true
		}
		if e == EndpointAuthorize { // TikTok down: its own error page
			noStore(rec)
			s.writeAuthErrorPage(rec, f.Status, []string{codeForStatus(e, f.Status)})
			return true
		}
		s.writeFaultError(rec, r, e, f.Status, codeForStatus(e, f.Status))
		return true
	}
	return false
}

// dropConnection closes the request's connection without an answer. On TCP
// it sets linger to zero so the peer sees a reset; where the connection
// cannot be taken over (HTTP/2) it aborts the handler, which resets the
// stream.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeFaultError writes TikTok's error shape for the endpoint.
func (s *Server) writeFaultError(w http.ResponseWriter, r *http.Request, e Endpoint, status int, code string) {
	switch e {
	case EndpointAuthorize:
		s.authorizeFault(w, r, status, code)
	case EndpointToken, EndpointRevoke:
		s.writeOAuthError(w, &oauthError{status: status, code: code, desc: describe(code)})
	default:
		s.writeAPIError(w, status, code, describe(code))
	}
}

func statusOr(status, def int) int {
	if status == 0 {
		return def
	}
	return status
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// codeForStatus picks the error code TikTok would send with the status.
func codeForStatus(e Endpoint, status int) string {
	oauth := e == EndpointToken || e == EndpointRevoke || e == EndpointAuthorize
	switch {
	case status == http.StatusTooManyRequests:
		if oauth {
			return "temporarily_unavailable"
		}
		return "rate_limit_exceeded"
	case status == http.StatusServiceUnavailable && oauth:
		return "temporarily_unavailable"
	case status >= 500:
		if oauth {
			return "server_error"
		}
		return "internal_error"
	case status == http.StatusUnauthorized:
		if oauth {
			return "invalid_client"
		}
		return "access_token_invalid"
	case status == http.StatusForbidden:
		if oauth {
			return "access_denied"
		}
		return "scope_not_authorized"
	}
	if oauth {
		return "invalid_request"
	}
	return "invalid_params"
}

// describe returns a message for an error code, TikTok's words where known.
func describe(code string) string {
	switch code {
	case "invalid_request":
		return "The request parameters are malformed."
	case "invalid_client":
		return "Client authentication failed."
	case "invalid_grant":
		return "The grant is invalid or expired."
	case "access_denied":
		return "The user denied the request."
	case "server_error", "internal_error":
		return "Something went wrong. Please try again later."
	case "temporarily_unavailable":
		return "The service is temporarily unavailable. Please try again later."
	case "access_token_invalid":
		return msgAccessTokenInvalid
	case "scope_not_authorized":
		return msgScopeNotAuthorized
	case "rate_limit_exceeded":
		return "API rate limit exceeded. Please try again later."
	case "invalid_params", "invalid_param":
		return "The request parameters are invalid."
	case "spam_risk_too_many_posts":
		return "The daily post cap for this user has been reached."
	case "spam_risk_user_banned_from_posting":
		return "The user is banned from posting."
	case "reached_active_user_cap":
		return "The daily cap of active users for this client has been reached."
	}
	return "Error answered by the TikTok emulator's fault injection."
}

// Calls returns how many requests reached the endpoint (faulted ones
// included) since the start or the last ResetCounters.
func (s *Server) Calls(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[e]
}

// Grants returns how many token requests of the grant type succeeded:
// "authorization_code", "refresh_token" or "client_credentials". Tokens
// minted with IssueToken do not count.
func (s *Server) Grants(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grantsOK[grantType]
}

// RefreshTokenReuse returns how many refresh requests presented a refresh
// token that an earlier refresh had already rotated out. A correct client
// keeps this at zero.
func (s *Server) RefreshTokenReuse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reuse
}

// ResetCounters sets every counter to zero, the 429s of spent quotas and
// the quota peaks included. The requests counted against the quotas stay,
// so a spent quota stays spent (ResetQuotas makes it whole).
func (s *Server) ResetCounters() {
	s.mu.Lock()
	clear(s.calls)
	clear(s.grantsOK)
	s.reuse = 0
	clear(s.rateLimited)
	for _, st := range s.quotas {
		st.peak = 0
	}
	s.mu.Unlock()
}

// Counters is a snapshot of every counter, the JSON that
// GET /_emulator/counters answers.
type Counters struct {
	// Calls counts requests per endpoint (every endpoint listed, zeros too).
	Calls map[Endpoint]int `json:"calls"`
	// Grants counts successful token requests per grant type (all three
	// listed).
	Grants map[string]int `json:"grants"`
	// RefreshTokenReuse is RefreshTokenReuse().
	RefreshTokenReuse int `json:"refresh_token_reuse"`
	// RateLimited counts the 429s sent because a quota was spent, per
	// endpoint (every endpoint of QuotaEndpoints listed, zeros too).
	RateLimited map[Endpoint]int `json:"rate_limited"`
	// QuotaPeak is, per endpoint with a quota, the most requests that
	// reached the quota check in any one window under one key, refused
	// ones included (see QuotaStatus.Peak). A client that keeps TikTok's
	// quotas never makes it pass the limit.
	QuotaPeak map[Endpoint]int `json:"quota_peak"`
}

// Counters returns a snapshot of every counter.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counters{
		Calls:             make(map[Endpoint]int),
		Grants:            map[string]int{grantAuthorizationCode: 0, grantRefreshToken: 0, grantClientCredentials: 0},
		RefreshTokenReuse: s.reuse,
		RateLimited:       make(map[Endpoint]int),
		QuotaPeak:         make(map[Endpoint]int),
	}
	for _, e := range s.endpoints() {
		c.Calls[e] = s.calls[e]
	}
	for _, e := range QuotaEndpoints() {
		c.RateLimited[e] = s.rateLimited[e]
	}
	for e, st := range s.quotas {
		c.QuotaPeak[e] = st.peak
	}
	maps.Copy(c.Grants, s.grantsOK)
	return c
}
