package webhook

import (
	"context"
	"errors"
)

// Outcomes reported to Hooks.WebhookEvent.
const (
	OutcomeOK           = "ok"            // verified and handled
	OutcomeBadSignature = "bad_signature" // no signature matches the body (401)
	OutcomeStale        = "stale"         // the signed timestamp is outside the tolerance (401)
	OutcomeReplay       = "replay"        // a signature already handled: acknowledged, not handled again
	OutcomeMalformed    = "malformed"     // not a POST, too large, a malformed header or event, another app's event
	OutcomeError        = "error"         // handling failed (500): deleting the token, OnEvent or the ReplayStore
)

// Hooks receives every webhook request's outcome, for metrics; package
// otelkit implements it on OpenTelemetry. Set Config.Hooks to use it; a nil
// Hooks costs nothing. It is called synchronously and must be quick and safe
// for concurrent use.
type Hooks interface {
	// WebhookEvent is called once per request, when it has been answered:
	// event is the event's name (such as "authorization.removed"), or ""
	// when the request was refused before the event was read; outcome is
	// one of the Outcome* constants.
	WebhookEvent(ctx context.Context, event, outcome string)
}

// report tells the hooks about one request.
func (h *Handler) report(ctx context.Context, event, outcome string) {
	if h.cfg.Hooks != nil {
		h.cfg.Hooks.WebhookEvent(ctx, event, outcome)
	}
}

// refusalOutcome names the outcome of a request refused with err.
func refusalOutcome(err error) string {
	switch {
	case errors.Is(err, ErrStale):
		return OutcomeStale
	case errors.Is(err, ErrSignature):
		return OutcomeBadSignature
	}
	return OutcomeMalformed
}
