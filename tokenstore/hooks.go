package tokenstore

import (
	"context"
	"errors"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// RefreshOutcome says how a caller's refresh ended (RefreshReport.Outcome).
type RefreshOutcome string

// Refresh outcomes.
const (
	// RefreshOK: this caller's refresh asked TikTok and saved the new token.
	RefreshOK RefreshOutcome = "ok"
	// RefreshCoalesced: the caller joined a refresh of the same key already
	// in flight in this process and got its result, good or bad.
	RefreshCoalesced RefreshOutcome = "coalesced"
	// RefreshOvertaken: by the time the refresh held the lease, the token
	// had been refreshed (by another instance, or by an earlier refresh of
	// this process), replaced by a new login or deleted, and TikTok was not
	// asked; or the key changed while TikTok answered and the change stood.
	RefreshOvertaken RefreshOutcome = "overtaken"
	// RefreshTemporaryFailure: TikTok (5xx, 429, timeout) or the store
	// failed; the token was kept and the next call tries again.
	RefreshTemporaryFailure RefreshOutcome = "temporary_failure"
	// RefreshInvalidGrant: the grant is dead (TikTok answered invalid_grant,
	// or the refresh token was known to have expired): the token was
	// deleted and the user must log in again.
	RefreshInvalidGrant RefreshOutcome = "invalid_grant"
)

// LogoutReason says why a user's token was deleted (Hooks.Logout). The
// handlers report LogoutDisconnect, the webhook LogoutWebhook.
type LogoutReason string

// Logout reasons.
const (
	// LogoutInvalidGrant: TikTok refused the refresh token of a refresh
	// that came due.
	LogoutInvalidGrant LogoutReason = "invalid_grant"
	// LogoutRefreshExpired: the refresh token's own expiry had passed.
	LogoutRefreshExpired LogoutReason = "refresh_expired"
	// LogoutRevoked: TikTok refused an access token before its expiry and
	// then the refresh token too: the user (or TikTok) revoked the grant.
	LogoutRevoked LogoutReason = "revoked"
	// LogoutDisconnect: the user disconnected in the app.
	LogoutDisconnect LogoutReason = "disconnect"
	// LogoutWebhook: TikTok's authorization.removed event arrived.
	LogoutWebhook LogoutReason = "webhook"
)

// Hooks receives what a Source does, for metrics and traces; package
// otelkit implements it on OpenTelemetry. Set SourceConfig.Hooks to use it;
// a nil Hooks costs nothing. Methods are called synchronously, on the
// caller's goroutine or on the refresh's own, and must be quick and safe for
// concurrent use. Nothing passed to them holds a token or a store key.
type Hooks interface {
	// RefreshStart is called when a caller needs a refresh (its token is
	// about to expire, or TikTok refused it when forced is true), before it
	// joins or starts one. The returned context (ctx itself, or one
	// carrying a span) is used for the refresh and passed to the other
	// methods.
	RefreshStart(ctx context.Context, forced bool) context.Context
	// RefreshEnd is called once per RefreshStart, when the caller has its
	// answer.
	RefreshEnd(ctx context.Context, r RefreshReport)
	// LeaseWait is called after a refresh tried to take the key's lease on
	// a Leaser store, with how long that took; acquired is false when it
	// stopped waiting because another holder's token served, or on error.
	LeaseWait(ctx context.Context, wait time.Duration, acquired bool)
	// Logout is called when a token is deleted because the user must log
	// in again, with the reason.
	Logout(ctx context.Context, reason LogoutReason)
}

// RefreshReport is how one caller's refresh ended.
type RefreshReport struct {
	// Outcome is one of the Refresh* outcomes.
	Outcome RefreshOutcome
	// Forced is true for ForceRefresh after TikTok refused the token.
	Forced bool
	// LeaseWait is how long the refresh the caller led or joined waited for
	// the lease (0 for a store that does not lease).
	LeaseWait time.Duration
	// Err is the error the caller gets; nil when it got a token.
	Err error
}

// refreshNote carries what a refresh learnt back to the caller's hooks.
type refreshNote struct {
	leader    bool
	outcome   RefreshOutcome // set by the flight's work, "" when it said nothing
	leaseWait time.Duration
}

// report turns the note into the caller's report.
func (n *refreshNote) report(forced bool, err error) RefreshReport {
	r := RefreshReport{Outcome: n.outcome, Forced: forced, LeaseWait: n.leaseWait, Err: err}
	switch {
	case !n.leader:
		r.Outcome = RefreshCoalesced
	case r.Outcome == "" || (r.Outcome == RefreshOK && err != nil):
		// The caller stopped waiting, or the refresh did not serve it.
		r.Outcome = RefreshTemporaryFailure
	}
	return r
}

// flightOutcome is the outcome of a flight whose work said nothing more
// precise, from the error it ended with.
func flightOutcome(err error) RefreshOutcome {
	switch {
	case err == nil:
		return RefreshOvertaken // a token saved meanwhile served
	case errors.Is(err, ErrLoginRequired):
		return RefreshOvertaken // deleted meanwhile: no refresh was made
	}
	return RefreshTemporaryFailure
}

// observedRefresh runs refresh between the hooks' RefreshStart and
// RefreshEnd.
func (s *Source) observedRefresh(ctx context.Context, key string, seen, failed *client.Token) (*client.Token, error) {
	ctx = s.cfg.Hooks.RefreshStart(ctx, failed != nil)
	var note refreshNote
	tok, err := s.refreshNoted(ctx, key, seen, failed, &note)
	s.cfg.Hooks.RefreshEnd(ctx, note.report(failed != nil, err))
	return tok, err
}

// logout reports a token dropped for reason.
func (s *Source) logout(ctx context.Context, reason LogoutReason) {
	if s.cfg.Hooks != nil {
		s.cfg.Hooks.Logout(ctx, reason)
	}
}
