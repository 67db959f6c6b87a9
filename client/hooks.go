package client

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Endpoint names of the calls that have no quota, completing the ones in
// quota.go. Together they are the values of CallInfo.Endpoint.
const (
	EndpointToken         = "token"          // PathToken: code exchange and refresh
	EndpointClientToken   = "client_token"   // PathToken: client credentials
	EndpointRevoke        = "revoke"         // PathRevoke
	EndpointPublishCancel = "publish_cancel" // PathPublishCancel
	EndpointUpload        = "upload"         // a chunk PUT to an upload URL
	// EndpointOther names a call made with UserClient.Do to a path the kit
	// does not know, so that an arbitrary path never becomes a metric
	// attribute.
	EndpointOther = "other"
)

// Outcomes reported in CallReport and AttemptReport besides "ok" and
// TikTok's own error codes.
const (
	OutcomeOK          = "ok"           // TikTok answered success
	OutcomeNetwork     = "network"      // no answer: the connection failed or broke
	OutcomeCanceled    = "canceled"     // the caller's context ended
	OutcomeBadResponse = "bad_response" // an answer that is not what TikTok documents (*ResponseError)
	OutcomeHTTPError   = "http_error"   // an error status without an error code in the body
	OutcomeRateLimited = "rate_limited" // refused by the client's own quota before sending
	OutcomeOther       = "other"        // an error code that is not a plain lower-case name
)

// Hooks receives what a Client does, for metrics and traces; package otelkit
// implements it on OpenTelemetry. Set Config.Hooks to use it; a nil Hooks
// costs nothing. Every method is called synchronously on the calling
// goroutine and must be quick and safe for concurrent use. No value passed
// to a method ever holds a token, a code, the client secret or a verifier.
type Hooks interface {
	// CallStart is called when a call to TikTok begins, before its first
	// attempt. The returned context (ctx itself, or one carrying a span)
	// is used for the call's requests and is passed to Attempt and CallEnd.
	CallStart(ctx context.Context, call CallInfo) context.Context
	// Attempt is called after each request sent to TikTok, retries
	// included, with what that request brought back.
	Attempt(ctx context.Context, a AttemptReport)
	// CallEnd is called once when the call ends, with its final result.
	CallEnd(ctx context.Context, r CallReport)
	// QuotaWait is called when a call to endpoint had to wait for its turn
	// under the endpoint's quota (Config.Quotas): wait is how long it
	// waited, or, when refused is true, the wait it would have needed and
	// that the call's deadline did not allow (the call then fails as rate
	// limited without being sent). The client-side limiter calls it.
	QuotaWait(ctx context.Context, endpoint string, wait time.Duration, refused bool)
	// UploadBytes is called after each chunk of an upload that the upload
	// server accepted (201 or 206), with the chunk's size in bytes.
	UploadBytes(ctx context.Context, n int64)
}

// CallInfo describes a call to TikTok as it begins.
type CallInfo struct {
	// Endpoint is the fixed name of the endpoint, such as "user_info" or
	// "token" (the Endpoint* constants); never a URL.
	Endpoint string
	// Operation is the client's name for the call: "exchange" and
	// "refresh" for the token endpoint, otherwise usually the endpoint.
	Operation string
	// Method is the HTTP method.
	Method string
}

// AttemptReport is what one request to TikTok brought back.
type AttemptReport struct {
	CallInfo
	// Attempt counts the requests of the call, from 1.
	Attempt int
	// StatusCode is the HTTP status of the answer; 0 without one.
	StatusCode int
	// Outcome is "ok", TikTok's error code (such as "access_token_invalid"
	// or "rate_limit_exceeded"), or one of the Outcome* constants.
	Outcome string
	// LogID is TikTok's log_id of the answer, when it had one.
	LogID string
	// Duration is how long the request took, body read and decoded.
	Duration time.Duration
}

// CallReport is the result of a call to TikTok.
type CallReport struct {
	CallInfo
	// Attempts is the number of requests sent (1 without retries).
	Attempts int
	// StatusCode, Outcome and LogID are those of the last attempt, except
	// that Outcome is "canceled" when the caller's context ended.
	StatusCode int
	Outcome    string
	LogID      string
	// Duration is the whole call's, backoff waits included.
	Duration time.Duration
	// Err is the error the call returns; nil on success.
	Err error
}

// Outcome names err the way CallReport.Outcome does: "ok" for nil, TikTok's
// error code for an *APIError or *OAuthError (when it is a plain lower-case
// name of at most 64 bytes, else "other"), "network" for a failed
// connection, "canceled" for an ended context, "bad_response" for a
// *ResponseError, "rate_limited" for the client's own quota refusal, and
// "other" for anything else. The result is always a short fixed-alphabet
// string, safe as a metric attribute.
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return codeOutcome(ae.Code, ae.StatusCode)
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		return codeOutcome(oe.Code, oe.StatusCode)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return OutcomeCanceled
	}
	var te *transportError
	if errors.As(err, &te) {
		return OutcomeNetwork
	}
	var re *ResponseError
	if errors.As(err, &re) {
		if re.StatusCode != 0 && !is2xx(re.StatusCode) && errors.Is(re.Err, errUnexpectedStatus) {
			return OutcomeHTTPError
		}
		return OutcomeBadResponse
	}
	if errors.Is(err, ErrRateLimited) {
		return OutcomeRateLimited
	}
	return OutcomeOther
}

// codeOutcome returns TikTok's code when it is a plain name, so that a
// garbled or hostile answer cannot put arbitrary text into a metric.
func codeOutcome(code string, status int) string {
	if code == "" {
		if status != 0 && !is2xx(status) {
			return OutcomeHTTPError
		}
		return OutcomeOther
	}
	if len(code) > 64 {
		return OutcomeOther
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '.' {
			return OutcomeOther
		}
	}
	return code
}

// endpointOf returns the fixed endpoint name of rq.
func endpointOf(rq *request) string {
	switch rq.path {
	case PathToken:
		if rq.op == "client_token" {
			return EndpointClientToken
		}
		return EndpointToken
	case PathRevoke:
		return EndpointRevoke
	case PathPublishCancel:
		return EndpointPublishCancel
	}
	if e, ok := endpointOfPath[rq.path]; ok {
		return e
	}
	return EndpointOther
}

// observation follows one call for the hooks and the debug log. It lives on
// the stack of roundTrip, which makes one only when Config.Hooks is set or
// the logger is enabled for debug.
type observation struct {
	hooks     Hooks // may be nil
	log       *slog.Logger
	debug     bool
	info      CallInfo
	callStart time.Time
	start     time.Time // of the current attempt
	attempts  int
	// Filled by attempt from the answer.
	status int
	logID  string
	bytes  int
}

// observe starts an observation of rq, or returns nil when nothing would
// receive it. The returned context is the one to send the call with.
func (c *Client) observe(ctx context.Context, rq *request, ob *observation) (context.Context, *observation) {
	debug := c.log.Enabled(ctx, slog.LevelDebug)
	if c.hooks == nil && !debug {
		return ctx, nil
	}
	*ob = observation{hooks: c.hooks, log: c.log, debug: debug,
		info: CallInfo{Endpoint: endpointOf(rq), Operation: rq.op, Method: rq.method}, callStart: time.Now()}
	if ob.hooks != nil {
		ctx = ob.hooks.CallStart(ctx, ob.info)
	}
	return ctx, ob
}

// begin marks the start of an attempt.
func (ob *observation) begin() {
	ob.attempts++
	ob.status, ob.logID, ob.bytes = 0, "", 0
	ob.start = time.Now()
}

// attemptDone reports the attempt that ended with err.
func (ob *observation) attemptDone(ctx context.Context, err error) {
	d := time.Since(ob.start)
	logID := ob.logID
	if logID == "" {
		logID = logIDOf(err)
	}
	ob.logID = logID
	outcome := Outcome(err)
	if ob.debug {
		ob.log.LogAttrs(ctx, slog.LevelDebug, "client: answer",
			slog.String("op", ob.info.Operation), slog.String("endpoint", ob.info.Endpoint),
			slog.Int("attempt", ob.attempts), slog.Int("status", ob.status), slog.String("outcome", outcome),
			slog.String("log_id", logID), slog.Int("bytes", ob.bytes), slog.Duration("duration", d))
	}
	if ob.hooks != nil {
		ob.hooks.Attempt(ctx, AttemptReport{CallInfo: ob.info, Attempt: ob.attempts, StatusCode: ob.status,
			Outcome: outcome, LogID: logID, Duration: d})
	}
}

// end reports the call's result.
func (ob *observation) end(ctx context.Context, err error) {
	if ob.hooks == nil {
		return
	}
	ob.hooks.CallEnd(ctx, CallReport{CallInfo: ob.info, Attempts: ob.attempts, StatusCode: ob.status,
		Outcome: Outcome(err), LogID: ob.logID, Duration: time.Since(ob.callStart), Err: err})
}

// logIDOf returns the log_id carried by a decoded error.
func logIDOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.LogID
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.LogID
	}
	return ""
}
