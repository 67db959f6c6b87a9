package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
)

// call sends rq with the user's bearer token. When a repeatable call fails
// with access_token_invalid and a Refresher is set, it asks for a forced
// refresh (never again once one failed), keeps the new token and repeats
// the call once.
func (u *UserClient) call(ctx context.Context, rq *request, decode func(*reply) error) error {
	tok := u.tok.Load()
	if tok == nil || tok.AccessToken == "" {
		return fmt.Errorf("%w: %s: no access token", ErrInvalidInput, rq.op)
	}
	rq.bearer = tok.AccessToken
	err := u.c.roundTrip(ctx, rq, decode)
	if err == nil || rq.retry != retryAll || u.r == nil || !errors.Is(err, ErrAccessTokenInvalid) {
		return err
	}
	if u.forceFailed.Load() {
		return err // a forced refresh already failed for this UserClient
	}
	u.forced.Store(true)
	fresh, rerr := u.r.ForceRefresh(ctx, u.key, tok)
	if rerr != nil {
		u.forceFailed.Store(true)
		return fmt.Errorf("client: %s: token refused and forced refresh failed: %w (after %w)", rq.op, rerr, err)
	}
	if fresh == nil || fresh.AccessToken == "" || fresh.AccessToken == tok.AccessToken {
		return err
	}
	u.tok.CompareAndSwap(tok, fresh)
	rq.bearer = fresh.AccessToken
	return u.c.roundTrip(ctx, rq, decode)
}

// UserInfo fetches the user's profile (GET /v2/user/info/). With no fields
// it asks for every field the token's scopes unlock (the user.info.basic
// fields when the token's scopes are unknown). Before any request it refuses
// a field TikTok does not know (ErrInvalidInput) and a field whose scope the
// token lacks (*MissingScopeError, ErrMissingScope); a token without
// recorded scopes is not checked. The call is safe to repeat: it is retried
// on 429, 5xx and connection errors, and refreshed once on
// access_token_invalid when the UserClient has a Refresher.
func (u *UserClient) UserInfo(ctx context.Context, fields ...UserField) (*UserInfo, error) {
	tok := u.tok.Load()
	var scopes []string
	if tok != nil {
		scopes = tok.Scopes
	}
	if len(fields) == 0 {
		if len(scopes) == 0 {
			fields = UserFieldsFor([]string{ScopeUserInfoBasic})
		} else {
			fields = UserFieldsFor(scopes)
		}
		if len(fields) == 0 {
			return nil, &MissingScopeError{Field: "user info", Scope: ScopeUserInfoBasic}
		}
	}
	var b strings.Builder
	b.Grow(len("fields=") + 20*len(fields))
	b.WriteString("fields=")
	for i, f := range fields {
		scope := f.Scope()
		if scope == "" {
			return nil, fmt.Errorf("%w: unknown user field %q", ErrInvalidInput, string(f))
		}
		if len(scopes) > 0 && !slices.Contains(scopes, scope) {
			return nil, &MissingScopeError{Field: string(f), Scope: scope}
		}
		if slices.Contains(fields[:i], f) {
			continue
		}
		if b.Len() > len("fields=") {
			b.WriteString("%2C") // an escaped comma; field names need no escaping
		}
		b.WriteString(string(f))
	}
	rq := &request{
		op:       "user_info",
		method:   http.MethodGet,
		path:     PathUserInfo,
		rawQuery: b.String(),
		retry:    retryAll,
	}
	var info *UserInfo
	err := u.call(ctx, rq, func(rp *reply) error {
		// data.user is decoded in the envelope's single pass; the answer is
		// kept so that Raw can find the object when someone asks for it.
		var data struct {
			User *UserInfo `json:"user"`
		}
		hasData, err := decodeEnvelope(rp, &data)
		if err != nil {
			return err
		}
		if !hasData || data.User == nil {
			return responseError(rp, errNoUser)
		}
		info = data.User
		info.answer = bytes.Clone(rp.body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// CreatorInfo queries what the user may post right now
// (POST /v2/post/publish/creator_info/query/, scope video.publish): POST
// with no body and no Content-Type, as in TikTok's example. A token whose
// recorded scopes lack video.publish is refused before any request with a
// *MissingScopeError. TikTok reports spam limits with HTTP 200 and an error
// code; they come back as *APIError. The call is repeatable like UserInfo.
func (u *UserClient) CreatorInfo(ctx context.Context) (*CreatorInfo, error) {
	if tok := u.tok.Load(); tok != nil && len(tok.Scopes) > 0 && !tok.HasScopes(ScopeVideoPublish) {
		return nil, &MissingScopeError{Field: "creator_info", Scope: ScopeVideoPublish}
	}
	rq := &request{op: "creator_info", method: http.MethodPost, path: PathCreatorInfo, retry: retryAll}
	return callData[CreatorInfo](ctx, u, rq)
}

// callData sends rq and decodes the data member of TikTok's answer into a
// new T, made afresh for every attempt, failing when there is no data.
func callData[T any](ctx context.Context, u *UserClient, rq *request) (*T, error) {
	out := new(T)
	err := u.call(ctx, rq, func(rp *reply) error {
		var zero T
		*out = zero
		hasData, err := decodeEnvelope(rp, out)
		if err != nil {
			return err
		}
		if !hasData {
			return responseError(rp, errNoData)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Request is a raw API call for Do, for endpoints the kit does not wrap.
type Request struct {
	// Method is the HTTP method. Default GET without a Body, POST with one.
	Method string
	// Path is relative to Config.APIURL and must start with "/", such as
	// PathVideoList. Absolute URLs are refused so the token never leaves
	// the API host.
	Path string
	// Query is added as the query string (for example fields=...).
	Query url.Values
	// Body, when not nil, is JSON-encoded and sent with
	// Content-Type: application/json; charset=UTF-8.
	Body any
	// Repeatable marks the call safe to repeat: it is then retried on 429,
	// 5xx and connection errors, and refreshed once on access_token_invalid.
	// Leave it false for calls with side effects (posting).
	Repeatable bool
}

// Do sends a raw API call with the user's bearer token and decodes TikTok's
// envelope: an error code other than "ok" is an *APIError (even with HTTP
// 200), a malformed answer a *ResponseError; on success the data member is
// JSON-decoded into out, which must be a non-nil pointer or nil to discard
// it. A missing or null data member leaves out untouched; after an error the
// content of out is unspecified.
func (u *UserClient) Do(ctx context.Context, req Request, out any) error {
	if req.Path == "" || req.Path[0] != '/' || strings.HasPrefix(req.Path, "//") || strings.ContainsAny(req.Path, "?#") {
		return fmt.Errorf("%w: path %q must be relative to the API base, start with / and carry no query", ErrInvalidInput, req.Path)
	}
	if out != nil {
		if v := reflect.ValueOf(out); v.Kind() != reflect.Pointer || v.IsNil() {
			return fmt.Errorf("%w: out must be a non-nil pointer, got %T", ErrInvalidInput, out)
		}
	}
	rq := &request{op: strings.Trim(req.Path, "/"), method: req.Method, path: req.Path, rawQuery: req.Query.Encode()}
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return fmt.Errorf("%w: encoding body: %v", ErrInvalidInput, err)
		}
		rq.body = b
		rq.contentType = jsonContentType
	}
	if rq.method == "" {
		rq.method = http.MethodGet
		if rq.body != nil {
			rq.method = http.MethodPost
		}
	}
	if req.Repeatable {
		rq.retry = retryAll
	}
	return u.call(ctx, rq, func(rp *reply) error {
		_, err := decodeEnvelope(rp, out)
		return err
	})
}

// HTTPClient returns an *http.Client that adds "Authorization: Bearer
// <current token>" to each request for the API host (Config.APIURL's scheme
// and host) and changes nothing else; requests to other hosts, such as a
// redirect elsewhere, go out without the token. It uses the transport and
// timeout of Config.HTTPClient. It neither retries nor refreshes, and the
// caller reads and closes the bodies. Requests are cloned, never modified.
func (u *UserClient) HTTPClient() *http.Client {
	base := u.c.httpClient
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	apiURL, _ := url.Parse(u.c.apiBase) // validated by New
	return &http.Client{
		Transport:     &bearerTransport{u: u, next: next, scheme: apiURL.Scheme, host: apiURL.Host},
		CheckRedirect: base.CheckRedirect,
		Jar:           base.Jar,
		Timeout:       base.Timeout,
	}
}

// bearerTransport adds the user's bearer token to requests for the API host.
type bearerTransport struct {
	u            *UserClient
	next         http.RoundTripper
	scheme, host string
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok := t.u.tok.Load()
	if tok == nil || tok.AccessToken == "" || req.URL == nil ||
		!strings.EqualFold(req.URL.Scheme, t.scheme) || !strings.EqualFold(req.URL.Host, t.host) {
		return t.next.RoundTrip(req)
	}
	r2 := req.Clone(req.Context())
	r2.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.next.RoundTrip(r2)
}
