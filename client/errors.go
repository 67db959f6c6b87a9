package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Sentinels for errors.Is. The structured errors (*OAuthError, *APIError,
// *ResponseError, *MissingScopeError) match the sentinels that describe them.
var (
	// ErrAccessTokenInvalid: TikTok refused the access token
	// (API code access_token_invalid). Refresh and try again.
	ErrAccessTokenInvalid = errors.New("client: access token invalid")
	// ErrScopeNotAuthorized: the token lacks a scope the call needs
	// (API codes scope_not_authorized and scope_permission_missed).
	ErrScopeNotAuthorized = errors.New("client: scope not authorized")
	// ErrRateLimited: HTTP 429 or API code rate_limit_exceeded.
	ErrRateLimited = errors.New("client: rate limited")
	// ErrInvalidGrant: OAuth invalid_grant (code or refresh token invalid,
	// expired, revoked or already used). For a refresh it means "log in again".
	ErrInvalidGrant = errors.New("client: invalid grant")
	// ErrInvalidClient: OAuth invalid_client (wrong client key or secret).
	ErrInvalidClient = errors.New("client: invalid client")
	// ErrInvalidRequest: OAuth invalid_request, or API invalid_params /
	// invalid_param.
	ErrInvalidRequest = errors.New("client: invalid request")
	// ErrAccessDenied: OAuth access_denied (the user refused).
	ErrAccessDenied = errors.New("client: access denied")
	// ErrServer: a TikTok-side failure: HTTP 5xx, internal_error,
	// server_error or temporarily_unavailable.
	ErrServer = errors.New("client: server error")
	// ErrBodyTooLarge: the response body was larger than Config.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("client: response body too large")
	// ErrMissingScope: refused before any request because a field or endpoint
	// needs a scope the token was not granted. See *MissingScopeError.
	ErrMissingScope = errors.New("client: missing scope")
	// ErrInvalidInput: refused before any request because an argument cannot
	// be right (empty code, unknown user field, invalid verifier, ...).
	ErrInvalidInput = errors.New("client: invalid input")
)

// OAuthError is TikTok's flat OAuth error, {"error", "error_description",
// "log_id"}, from the token and revoke endpoints. It is returned whenever the
// body carries an error, whatever the HTTP status (TikTok sometimes answers
// errors with 200).
type OAuthError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the OAuth error category, such as "invalid_grant".
	Code string
	// Description is TikTok's human-readable text.
	Description string
	// LogID identifies the request at TikTok; support asks for it.
	LogID string
	// RetryAfter is the wait the server asked for with Retry-After, or 0.
	RetryAfter time.Duration
}

// Error returns "client: oauth error <code> (HTTP <status>): <description> (log_id <id>)".
func (e *OAuthError) Error() string {
	return tiktokErrorText("client: oauth error ", e.Code, e.StatusCode, e.Description, e.LogID)
}

// tiktokErrorText formats both of TikTok's error shapes the same way:
// prefix, code, status, sanitized text, log_id.
func tiktokErrorText(prefix, code string, status int, text, logID string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(orUnknown(code))
	writeStatus(&b, status)
	if text != "" {
		b.WriteString(": ")
		b.WriteString(sanitize(text, 512))
	}
	writeLogID(&b, logID)
	return b.String()
}

// Is maps the error onto the package's sentinels.
func (e *OAuthError) Is(target error) bool {
	switch target {
	case ErrInvalidGrant:
		return e.Code == "invalid_grant"
	case ErrInvalidClient:
		return e.Code == "invalid_client"
	case ErrInvalidRequest:
		return e.Code == "invalid_request"
	case ErrAccessDenied:
		return e.Code == "access_denied"
	case ErrServer:
		return e.Code == "server_error" || e.Code == "temporarily_unavailable" || e.StatusCode >= 500
	case ErrRateLimited:
		return e.StatusCode == 429
	}
	return false
}

// APIError is the error member of TikTok's API envelope,
// {"data": ..., "error": {"code", "message", "log_id"}}, when the code is not
// "ok". It is returned whatever the HTTP status (some errors come with 200).
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is TikTok's error code, such as "access_token_invalid".
	Code string
	// Message is TikTok's human-readable text.
	Message string
	// LogID identifies the request at TikTok; support asks for it.
	LogID string
	// RetryAfter is the wait the server asked for with Retry-After, or 0.
	RetryAfter time.Duration
}

// Error returns "client: api error <code> (HTTP <status>): <message> (log_id <id>)".
func (e *APIError) Error() string {
	return tiktokErrorText("client: api error ", e.Code, e.StatusCode, e.Message, e.LogID)
}

// Is maps the error onto the package's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrAccessTokenInvalid:
		return e.Code == "access_token_invalid"
	case ErrScopeNotAuthorized:
		return e.Code == "scope_not_authorized" || e.Code == "scope_permission_missed"
	case ErrRateLimited:
		return e.Code == "rate_limit_exceeded" || e.StatusCode == 429
	case ErrInvalidRequest:
		return e.Code == "invalid_params" || e.Code == "invalid_param"
	case ErrServer:
		return e.Code == "internal_error" || e.StatusCode >= 500
	}
	return matchCodeSentinel(e.Code, target) // the posting sentinels below
}

// ResponseError reports an answer that is not what TikTok documents: a body
// that is not JSON, truncated, an HTML error page, too large, empty where JSON
// was needed, JSON without the expected members, or an unexpected status.
type ResponseError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// ContentType is the Content-Type header of the answer.
	ContentType string
	// Snippet is the start of the body (at most 256 bytes), with control
	// characters replaced and anything that looks like a token redacted.
	Snippet string
	// Err is the underlying cause (a JSON error, ErrBodyTooLarge, ...).
	Err error
	// RetryAfter is the wait the server asked for with Retry-After, or 0.
	RetryAfter time.Duration
}

// Error returns "client: unexpected response (HTTP <status>, <type>): <cause>: <snippet>".
func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString("client: unexpected response (HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.ContentType != "" {
		b.WriteString(", ")
		b.WriteString(sanitize(e.ContentType, 100))
	}
	b.WriteString(")")
	writeCause(&b, e.Err, e.Snippet)
	return b.String()
}

// writeCause ends an error text with its cause (without a repeated
// "client: " prefix) and the quoted start of the body, when there are any.
func writeCause(b *strings.Builder, cause error, snippet string) {
	if cause != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(cause.Error(), "client: "))
	}
	if snippet != "" {
		b.WriteString(": body ")
		b.WriteString(strconv.Quote(snippet))
	}
}

// Unwrap returns the underlying cause.
func (e *ResponseError) Unwrap() error { return e.Err }

// Is maps 429 onto ErrRateLimited and 5xx onto ErrServer; the cause is
// matched through Unwrap.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.StatusCode == 429
	case ErrServer:
		return e.StatusCode >= 500
	}
	return false
}

// MissingScopeError is returned before any request when a requested field
// (or endpoint) needs a scope the token was not granted. It matches
// ErrMissingScope with errors.Is.
type MissingScopeError struct {
	// Field is the user field or endpoint that needs the scope.
	Field string
	// Scope is the scope it needs.
	Scope string
}

// Error returns "client: field <field> needs scope <scope>, which the token was not granted".
func (e *MissingScopeError) Error() string {
	return "client: field " + e.Field + " needs scope " + e.Scope + ", which the token was not granted"
}

// Is reports whether target is ErrMissingScope.
func (e *MissingScopeError) Is(target error) bool { return target == ErrMissingScope }

// QuotaError is a call the client did not send: the endpoint's quota (see
// Config.Quotas) is spent and the wait for the next slot would pass the
// context's deadline. It matches ErrRateLimited, so IsTemporary is true, and
// RetryAfter tells how long to wait. Nothing reached TikTok.
type QuotaError struct {
	// Endpoint is the endpoint name, such as "user_info".
	Endpoint string
	// Quota is the limit that is spent.
	Quota Quota
	// RetryAfter is how long from the moment of the call until a slot frees.
	RetryAfter time.Duration
}

// Error returns "client: <endpoint>: quota <quota> spent, next slot in <wait>".
func (e *QuotaError) Error() string {
	return "client: " + e.Endpoint + ": quota " + e.Quota.String() + " spent, next slot in " +
		e.RetryAfter.Round(time.Millisecond).String()
}

// Is reports whether target is ErrRateLimited.
func (e *QuotaError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfter returns how long err says to wait before trying again: the
// client's own wait for a spent quota (*QuotaError), or TikTok's Retry-After
// on a 429 or 5xx answer. It is 0 when err says nothing about it.
func RetryAfter(err error) time.Duration {
	var qe *QuotaError
	if errors.As(err, &qe) {
		return qe.RetryAfter
	}
	return retryAfterOf(err)
}

// IsTemporary reports whether err is worth trying again later: a TikTok
// server error (ErrServer), rate limiting (ErrRateLimited), a network error or
// timeout, or a *ResponseError with a 5xx status. It is false for nil, for a
// cancelled context and for OAuth refusals such as invalid_grant.
func IsTemporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrServer) || errors.Is(err, ErrRateLimited) {
		return true
	}
	var oe *OAuthError
	var ae *APIError
	var re *ResponseError
	var me *MissingScopeError
	if errors.As(err, &oe) || errors.As(err, &ae) || errors.As(err, &re) || errors.As(err, &me) ||
		errors.Is(err, ErrInvalidInput) {
		return false
	}
	return isNetworkError(err) || errors.Is(err, context.DeadlineExceeded)
}

// isNetworkError reports whether err comes from the connection rather than
// from an answer: dial failures, resets, timeouts, an EOF before the headers.
func isNetworkError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// isDialError reports whether err shows that the request never left this
// machine: name resolution or connection establishment failed.
func isDialError(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func orUnknown(s string) string {
	if s == "" {
		return "(no code)"
	}
	return sanitize(s, 100)
}

func writeStatus(b *strings.Builder, status int) {
	if status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(status))
		b.WriteString(")")
	}
}

func writeLogID(b *strings.Builder, id string) {
	if id != "" {
		b.WriteString(" (log_id ")
		b.WriteString(sanitize(id, 100))
		b.WriteString(")")
	}
}

// sanitize cuts s to at most max bytes (on a rune boundary) and replaces
// control characters and invalid UTF-8 so the text is safe in a log line.
func sanitize(s string, max int) string {
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteByte(' ')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

var (
	secretMember = regexp.MustCompile(`("(?:access_token|refresh_token|client_secret|code_verifier)"\s*:\s*")[^"]*("?)`)
	secretField  = regexp.MustCompile(`\b((?:access_token|refresh_token|client_secret|code_verifier|code|token)=)[^&\s"'<>]*`)
	secretValue  = regexp.MustCompile(`\b(act|rft|clt)\.[A-Za-z0-9._~*!%+/=-]+`)
)

// snippet returns the start of a body for a *ResponseError: at most 256
// bytes, sanitised, with secrets masked: every credential the request sent
// (given as secrets, found as sent or URL-encoded), the members and form
// fields that carry one (an upstream's error page may echo the request's
// form), and token-looking values (a truncated token answer must not leak
// the token through an error message). Masking happens before the cut, so
// a secret that straddles it does not leave its start behind.
func snippet(body []byte, secrets ...string) string {
	const max = 256
	const window = 2 * max // longer than any secret past the cut
	if len(body) > window {
		body = body[:window]
	}
	s := sanitize(string(body), window) // valid UTF-8 first: the final cut cannot grow it
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue // too short to mask without masking ordinary text
		}
		s = strings.ReplaceAll(s, sec, "…REDACTED")
		if esc := url.QueryEscape(sec); esc != sec {
			s = strings.ReplaceAll(s, esc, "…REDACTED")
		}
	}
	s = secretMember.ReplaceAllString(s, `${1}…REDACTED${2}`)
	s = secretField.ReplaceAllString(s, `${1}…REDACTED`)
	s = secretValue.ReplaceAllString(s, `${1}.…REDACTED`)
	return strings.TrimSpace(sanitize(s, max))
}

// Sentinels for TikTok's posting error codes, for errors.Is. An *APIError
// matches the sentinel of its code whatever the HTTP status (TikTok answers
// some of them, such as the spam codes of creator info, with 200).
var (
	// ErrSpamRisk: any spam_risk code (too many posts, banned from posting,
	// too many pending shares, spam_risk_text, spam_risk). Do not retry.
	ErrSpamRisk = postingSentinel("spam risk", "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting",
		"spam_risk_too_many_pending_share", "spam_risk_text", "spam_risk")
	// ErrTooManyPosts: spam_risk_too_many_posts (the user's daily post cap).
	ErrTooManyPosts = postingSentinel("too many posts", "spam_risk_too_many_posts")
	// ErrBannedFromPosting: spam_risk_user_banned_from_posting.
	ErrBannedFromPosting = postingSentinel("user banned from posting", "spam_risk_user_banned_from_posting")
	// ErrTooManyPendingShares: spam_risk_too_many_pending_share (at most 5
	// inbox shares waiting per user per 24 hours).
	ErrTooManyPendingShares = postingSentinel("too many pending shares", "spam_risk_too_many_pending_share")
	// ErrActiveUserCap: reached_active_user_cap (the app's daily cap of
	// users posting through it).
	ErrActiveUserCap = postingSentinel("active user cap reached", "reached_active_user_cap")
	// ErrPrivacyLevelMismatch: privacy_level_option_mismatch from TikTok, or
	// a *PrivacyLevelError found before any request.
	ErrPrivacyLevelMismatch = postingSentinel("privacy level not among the creator's options", "privacy_level_option_mismatch")
	// ErrUnauditedClient: unaudited_client_can_only_post_to_private_accounts
	// (an app that has not passed TikTok's audit posts to private accounts
	// only).
	ErrUnauditedClient = postingSentinel("unaudited client can only post to private accounts",
		"unaudited_client_can_only_post_to_private_accounts")
	// ErrURLOwnershipUnverified: url_ownership_unverified (a PULL_FROM_URL
	// source outside the app's verified domains and prefixes).
	ErrURLOwnershipUnverified = postingSentinel("url ownership unverified", "url_ownership_unverified")
	// ErrInvalidFileUpload: invalid_file_upload (the file does not meet
	// TikTok's requirements).
	ErrInvalidFileUpload = postingSentinel("invalid file upload", "invalid_file_upload")
	// ErrAppVersionCheckFailed: app_version_check_failed (MEDIA_UPLOAD of
	// photos needs TikTok app 31.8 or later).
	ErrAppVersionCheckFailed = postingSentinel("app version check failed", "app_version_check_failed")
	// ErrInvalidPublishID: invalid_publish_id.
	ErrInvalidPublishID = postingSentinel("invalid publish id", "invalid_publish_id")
	// ErrPublishNotAuthorized: token_not_authorized_for_specified_publish_id
	// (the publish belongs to another user or app).
	ErrPublishNotAuthorized = postingSentinel("token not authorized for this publish id",
		"token_not_authorized_for_specified_publish_id")
	// ErrPublishNotCancellable: publish_not_cancellable.
	ErrPublishNotCancellable = postingSentinel("publish not cancellable", "publish_not_cancellable")
)

// codeSentinel is a sentinel matched by *APIError codes.
type codeSentinel struct {
	msg   string
	codes []string
}

func postingSentinel(msg string, codes ...string) error {
	return &codeSentinel{msg: "client: " + msg, codes: codes}
}

func (s *codeSentinel) Error() string { return s.msg }

// matchCodeSentinel reports whether target is a code sentinel listing code.
// APIError.Is calls it.
func matchCodeSentinel(code string, target error) bool {
	s, ok := target.(*codeSentinel)
	return ok && slices.Contains(s.codes, code)
}
