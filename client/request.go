package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// retryMode says how far a call may be repeated.
type retryMode uint8

const (
	// retryNone: never repeat (code exchange: a code is single use).
	retryNone retryMode = iota
	// retryDial: repeat only when the request surely never reached TikTok,
	// that is when the connection could not be made (refresh, revoke).
	retryDial
	// retryAll: the call is safe to repeat: repeat on 429, 5xx and
	// connection errors (user info, creator info, client token, Do with
	// Repeatable).
	retryAll
)

// request is one call to TikTok's API host, described once and sent by
// roundTrip as many times as its retry mode allows. Every endpoint method
// builds one of these; nothing else talks to the network.
type request struct {
	op          string // short name for errors and logs, such as "user_info"
	method      string
	path        string // relative to the API base, starting with "/"
	rawQuery    string // encoded query, without "?"
	body        []byte // nil = no body
	contentType string // "" = no Content-Type header
	bearer      string // "" = no Authorization header
	noCache     bool   // send Cache-Control: no-cache (token endpoints)
	retry       retryMode
	// secrets are the credentials the request carries besides the bearer
	// token (client secret, code, verifier, refresh token): an answer that
	// echoes them back never keeps them in an error.
	secrets []string
}

// reply is one answer as the decoders see it. body is only valid during the
// decode call: it lives in a pooled buffer.
type reply struct {
	status      int
	contentType string
	retryAfter  time.Duration
	body        []byte
	secrets     []string // the request's credentials, masked in snippets
	logID       string   // TikTok's log_id of a successful answer, set by the decoder
}

// transportError marks an error from sending the request or reading the
// answer, as opposed to an answer that decoded to an error.
type transportError struct {
	op  string
	err error
}

func (e *transportError) Error() string {
	return "client: " + e.op + ": " + e.err.Error()
}

func (e *transportError) Unwrap() error { return e.err }

// Content types of the requests the client sends: TikTok's OAuth endpoints
// take a form, its API endpoints JSON with an explicit charset.
const (
	formContentType = "application/x-www-form-urlencoded"
	jsonContentType = "application/json; charset=UTF-8"
)

var (
	acceptJSON            = []string{"application/json"}
	formContentTypeHeader = []string{formContentType}
	jsonContentTypeHeader = []string{jsonContentType}
	noCacheHeader         = []string{"no-cache"}
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// roundTrip sends rq, reads the answer through the size limit and hands it
// to decode, repeating per rq.retry with exponential backoff and full jitter.
// decode returns nil for success or the error the answer means; errors that
// match ErrRateLimited or ErrServer are repeated for retryAll calls.
func (c *Client) roundTrip(ctx context.Context, rq *request, decode func(*reply) error) (err error) {
	var obs observation
	ctx, ob := c.observe(ctx, rq, &obs) // nil unless Config.Hooks or debug logging
	if ob != nil {
		defer func() { ob.end(ctx, err) }()
	}
	attempts := 1
	if rq.retry != retryNone {
		attempts = c.retry.MaxAttempts
	}
	for attempt := 1; ; attempt++ {
		if ob != nil {
			ob.begin()
		}
		err := c.attempt(ctx, rq, decode, ob)
		if ob != nil {
			if isQuotaError(err) {
				ob.attempts-- // the quota held the request back: nothing was sent
			} else {
				ob.attemptDone(ctx, err)
			}
		}
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("client: %s: %w", rq.op, ctxErr)
		}
		if attempt >= attempts || !shouldRetry(rq.retry, err) {
			return err
		}
		wait := c.backoff(attempt, retryAfterOf(err))
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.log.DebugContext(ctx, "client: retrying", slog.String("op", rq.op),
				slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("client: %s: %w", rq.op, serr)
		}
	}
}

// attempt sends rq once. When ob is not nil it receives the answer's
// status, log_id and size.
func (c *Client) attempt(ctx context.Context, rq *request, decode func(*reply) error, ob *observation) error {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	target := c.apiBase + rq.path
	if rq.rawQuery != "" {
		target = c.apiBase + rq.path + "?" + rq.rawQuery
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, target, body)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidInput, rq.op, err)
	}
	// Constant header values are shared slices (len == cap, so an append
	// by anyone copies); nothing in net/http modifies them.
	h := req.Header
	h["User-Agent"] = c.userAgent
	h["Accept"] = acceptJSON
	switch rq.contentType {
	case "":
	case formContentType:
		h["Content-Type"] = formContentTypeHeader
	case jsonContentType:
		h["Content-Type"] = jsonContentTypeHeader
	default:
		h["Content-Type"] = []string{rq.contentType}
	}
	if rq.noCache {
		h["Cache-Control"] = noCacheHeader
	}
	if rq.bearer != "" {
		h["Authorization"] = []string{"Bearer " + rq.bearer}
	}

	lp, limited := c.quotas[rq.path]
	var key string
	var booked time.Time
	if limited {
		key = limiterKey(lp, rq.bearer)
		if booked, err = c.takeTurn(ctx, rq, lp, key); err != nil {
			return err
		}
	}

	resp, err := c.httpClient.Do(req)
	if limited {
		c.observeLateness(time.Since(booked))
	}
	if err != nil {
		return &transportError{op: rq.op, err: err}
	}
	rp := reply{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), secrets: rq.secrets}
	if rq.bearer != "" {
		rp.secrets = append(rp.secrets[:len(rp.secrets):len(rp.secrets)], rq.bearer)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		rp.retryAfter = parseRetryAfter(ra, c.clock())
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 { // do not keep huge buffers alive
			bufPool.Put(buf)
		}
	}()
	limit := c.cfg.MaxBodyBytes
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if ob != nil {
		ob.status = rp.status
	}
	if n > limit {
		// Too large: the rest is not read, so the connection is dropped
		// rather than drained.
		resp.Body.Close()
		return &ResponseError{StatusCode: rp.status, ContentType: rp.contentType,
			Snippet: snippet(buf.Bytes(), rp.secrets...), Err: ErrBodyTooLarge, RetryAfter: rp.retryAfter}
	}
	resp.Body.Close()
	if err != nil {
		return &transportError{op: rq.op + ": reading body", err: err}
	}
	rp.body = buf.Bytes()
	err = decode(&rp)
	if ob != nil {
		ob.status, ob.logID, ob.bytes = rp.status, rp.logID, len(rp.body)
	}
	if limited && err != nil && errors.Is(err, ErrRateLimited) {
		c.refused(ctx, lp, key, err)
	}
	return err
}

// shouldRetry decides whether an attempt that failed with err may be
// repeated under mode.
func shouldRetry(mode retryMode, err error) bool {
	if isQuotaError(err) {
		return false // waiting longer is what the deadline forbids
	}
	var te *transportError
	isTransport := errors.As(err, &te)
	switch mode {
	case retryDial:
		return isTransport && isDialError(err)
	case retryAll:
		if isTransport {
			return isNetworkError(err)
		}
		return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrServer)
	}
	return false
}

// retryAfterOf returns the Retry-After wait carried by a decoded error.
func retryAfterOf(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return re.RetryAfter
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.RetryAfter
	}
	return 0
}

// backoff returns the wait before attempt+1: a full-jitter draw from
// [0, min(MaxDelay, BaseDelay*2^(attempt-1))], but at least the server's
// Retry-After (itself capped at MaxDelay).
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceiling := c.retry.BaseDelay
	for i := 1; i < attempt && ceiling < c.retry.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.retry.MaxDelay)
	wait := c.jitter(ceiling)
	if retryAfter > 0 {
		wait = max(wait, min(retryAfter, c.retry.MaxDelay))
	}
	return wait
}

// sleep waits for d or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.sleepHook != nil {
		return c.sleepHook(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	return sleepCtx(ctx, d)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns 0 for a value it cannot read or a time in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
