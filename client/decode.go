package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Causes carried by *ResponseError.
var (
	errEmptyBody        = errors.New("client: empty body where JSON was expected")
	errNotJSON          = errors.New("client: body is not a JSON object")
	errNoAccessToken    = errors.New("client: answer has no access_token")
	errNoUser           = errors.New("client: answer has no data.user object")
	errNoData           = errors.New("client: answer has no data object")
	errUnexpectedStatus = errors.New("client: unexpected HTTP status without an error body")
	errBadErrorMember   = errors.New("client: error member is neither an object nor a string")
)

func responseError(rp *reply, cause error) *ResponseError {
	return &ResponseError{
		StatusCode:  rp.status,
		ContentType: rp.contentType,
		Snippet:     snippet(rp.body, rp.secrets...),
		Err:         cause,
		RetryAfter:  rp.retryAfter,
	}
}

func is2xx(status int) bool { return status >= 200 && status < 300 }

// jsonObject returns the body without surrounding white space, or a
// *ResponseError when it is empty or does not start like a JSON object.
func jsonObject(rp *reply) ([]byte, error) {
	body := bytes.TrimSpace(rp.body)
	if len(body) == 0 {
		return nil, responseError(rp, errEmptyBody)
	}
	if body[0] != '{' {
		return nil, responseError(rp, errNotJSON)
	}
	return body, nil
}

// unmarshal decodes body into v. A type mismatch inside is returned as
// typeErr (v is filled as far as possible) so that an error member can still
// be reported; any other failure is returned as a *ResponseError.
func unmarshal(rp *reply, body []byte, v any) (typeErr error, err error) {
	if e := json.Unmarshal(body, v); e != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(e, &ute) {
			return e, nil
		}
		return nil, responseError(rp, e)
	}
	return nil, nil
}

// apiErrorBody is the error member of the API envelope.
type apiErrorBody struct {
	Code    flexString `json:"code"`
	Message string     `json:"message"`
	LogID   string     `json:"log_id"`
}

// okCode reports whether an envelope code means success: "ok", or 0 in an
// old example of TikTok's docs, or nothing at all.
func okCode(code string) bool { return code == "" || code == "ok" || code == "0" }

// flexString accepts a JSON string or number (TikTok's docs once showed
// "code": 0).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if plain, ok := plainString(b); ok {
		*s = flexString(plain)
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = flexString(n.String())
	return nil
}

// plainString returns the content of a JSON string literal made only of
// printable ASCII without escapes, the common case, without the decoder.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return "", false
		}
	}
	return string(b[1 : len(b)-1]), true
}

// flexSeconds accepts a number of seconds as a JSON number or numeric
// string; anything else reads as 0 (unknown).
type flexSeconds int64

func (s *flexSeconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		b = []byte(v)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		*s = 0 // not a number: the lifetime is unknown, which is safe
		return nil
	}
	const maxSecs = 100 * 365 * 24 * 3600 // keep time.Duration far from overflow
	switch {
	case f <= 0 || f != f:
		*s = 0
	case f > maxSecs:
		*s = maxSecs
	default:
		*s = flexSeconds(f)
	}
	return nil
}

// expiryAt turns a remaining lifetime into an absolute time; zero (unknown)
// for a missing or non-positive lifetime.
func expiryAt(now time.Time, secs flexSeconds) time.Time {
	if secs <= 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(secs) * time.Second)
}

// errorMember turns the error member of an answer into an error: an object
// is the API envelope's {code, message, log_id} (nil when the code means
// success); a string is the flat OAuth shape, whose description and log_id
// sit next to it. oauth selects the type used for an object with a failure
// code (token and revoke endpoints report *OAuthError either way).
func errorMember(rp *reply, raw json.RawMessage, description, logID string, oauth bool) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	switch raw[0] {
	case '{':
		var eb apiErrorBody
		if err := json.Unmarshal(raw, &eb); err != nil {
			return responseError(rp, err)
		}
		code := string(eb.Code)
		if okCode(code) {
			return nil
		}
		if eb.LogID == "" {
			eb.LogID = logID
		}
		if oauth {
			return &OAuthError{StatusCode: rp.status, Code: code, Description: eb.Message, LogID: eb.LogID, RetryAfter: rp.retryAfter}
		}
		return &APIError{StatusCode: rp.status, Code: code, Message: eb.Message, LogID: eb.LogID, RetryAfter: rp.retryAfter}
	case '"':
		var code string
		if err := json.Unmarshal(raw, &code); err != nil {
			return responseError(rp, err)
		}
		if code == "" {
			return nil
		}
		return &OAuthError{StatusCode: rp.status, Code: code, Description: description, LogID: logID, RetryAfter: rp.retryAfter}
	}
	return responseError(rp, errBadErrorMember)
}

// envelope is TikTok's API answer, {"data": ..., "error": {...}}. Data holds
// a pointer to the caller's value so the data member is decoded in place,
// and the error object is decoded in the same pass.
type envelope struct {
	Data  any           `json:"data"`
	Error *apiErrorBody `json:"error"`
}

// flatError is the rare API answer whose error member is not an object
// (the flat OAuth shape, or garbage); it is decoded in a second pass.
type flatError struct {
	Error            json.RawMessage `json:"error"`
	ErrorDescription string          `json:"error_description"`
	LogID            string          `json:"log_id"`
}

// isErrorMemberTypeErr reports whether a type mismatch is about the
// top-level error member.
func isErrorMemberTypeErr(err error) bool {
	var ute *json.UnmarshalTypeError
	return errors.As(err, &ute) && ute.Field == "error"
}

// skipValue swallows a JSON value that nobody asked for.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// decodeEnvelope decides an API answer by its body: an error member with a
// code other than "ok" is an *APIError whatever the HTTP status; a flat OAuth
// error is an *OAuthError; anything malformed is a *ResponseError. On success
// the data member is decoded into out (a non-nil pointer, or nil to discard);
// a missing or null data member leaves out untouched. It reports whether the
// answer had a non-null data member.
func decodeEnvelope(rp *reply, out any) (hasData bool, err error) {
	body, err := jsonObject(rp)
	if err != nil {
		return false, err
	}
	env := envelope{Data: out}
	if out == nil {
		env.Data = new(skipValue)
	}
	typeErr, err := unmarshal(rp, body, &env)
	if err != nil {
		return false, err
	}
	if typeErr != nil && isErrorMemberTypeErr(typeErr) {
		// The error member is not an object: decode it on its own.
		var fe flatError
		if _, err := unmarshal(rp, body, &fe); err != nil {
			return false, err
		}
		if err := errorMember(rp, fe.Error, fe.ErrorDescription, fe.LogID, false); err != nil {
			return false, err
		}
	}
	if eb := env.Error; eb != nil && !okCode(string(eb.Code)) {
		return false, &APIError{StatusCode: rp.status, Code: string(eb.Code), Message: eb.Message, LogID: eb.LogID, RetryAfter: rp.retryAfter}
	}
	if typeErr != nil {
		return false, responseError(rp, typeErr)
	}
	if !is2xx(rp.status) {
		return false, responseError(rp, errUnexpectedStatus)
	}
	if env.Error != nil {
		rp.logID = env.Error.LogID
	}
	return env.Data != nil, nil
}

// tokenBody is the flat answer of the token endpoint, success or error.
type tokenBody struct {
	AccessToken      string          `json:"access_token"`
	RefreshToken     string          `json:"refresh_token"`
	OpenID           string          `json:"open_id"`
	Scope            string          `json:"scope"`
	TokenType        string          `json:"token_type"`
	ExpiresIn        flexSeconds     `json:"expires_in"`
	RefreshExpiresIn flexSeconds     `json:"refresh_expires_in"`
	Error            json.RawMessage `json:"error"`
	ErrorDescription string          `json:"error_description"`
	LogID            string          `json:"log_id"`
}

// decodeTokenBody decides a token answer by its body: an error member is an
// *OAuthError whatever the HTTP status; a body without access_token, or a
// token with an error status, is a *ResponseError.
func decodeTokenBody(rp *reply) (*tokenBody, error) {
	body, err := jsonObject(rp)
	if err != nil {
		return nil, err
	}
	var tb tokenBody
	typeErr, err := unmarshal(rp, body, &tb)
	if err != nil {
		return nil, err
	}
	if err := errorMember(rp, tb.Error, tb.ErrorDescription, tb.LogID, true); err != nil {
		return nil, err
	}
	if typeErr != nil {
		return nil, responseError(rp, typeErr)
	}
	if !is2xx(rp.status) {
		return nil, responseError(rp, errUnexpectedStatus)
	}
	if tb.AccessToken == "" {
		return nil, responseError(rp, errNoAccessToken)
	}
	rp.logID = tb.LogID
	return &tb, nil
}

// decodeRevoke decides a revoke answer: success is a 2xx with an empty body
// or a JSON object without an error; an error member is an *OAuthError even
// with HTTP 200.
func decodeRevoke(rp *reply) error {
	if len(bytes.TrimSpace(rp.body)) == 0 {
		if is2xx(rp.status) {
			return nil
		}
		return responseError(rp, errUnexpectedStatus)
	}
	body, err := jsonObject(rp)
	if err != nil {
		return err
	}
	var rb struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		LogID            string          `json:"log_id"`
	}
	typeErr, err := unmarshal(rp, body, &rb)
	if err != nil {
		return err
	}
	if err := errorMember(rp, rb.Error, rb.ErrorDescription, rb.LogID, true); err != nil {
		return err
	}
	if typeErr != nil {
		return responseError(rp, typeErr)
	}
	if !is2xx(rp.status) {
		return responseError(rp, errUnexpectedStatus)
	}
	return nil
}
