package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// limitedPath is the quota of one path, resolved by New.
type limitedPath struct {
	endpoint string
	quota    Quota // as configured
}

// The window a request is booked under is the quota's window plus a margin,
// so that the spread between the moment a request is booked and the moment
// TikTok receives it (scheduling, the network, TikTok's own queue) cannot
// carry two requests a window apart into one window. The margin is 2 % of
// the window (1.2 s of a minute, which costs 2 % of the throughput) or twice
// the longest such spread seen lately, whichever is larger.
const marginShare = 50

// bookedQuota returns q with its window widened by the margin.
func (c *Client) bookedQuota(q Quota) Quota {
	q.Window += max(q.Window/marginShare, 2*time.Duration(c.lateness.Load()))
	return q
}

// observeLateness notes how long after its booked moment a request got its
// answer: an upper bound of how late TikTok may have counted it. The figure
// decays by 1/256 with each observation, so one slow answer widens the
// margin for a few hundred requests, not for good.
func (c *Client) observeLateness(d time.Duration) {
	for {
		old := c.lateness.Load()
		next := max(int64(d), old-old/256)
		if next == old || c.lateness.CompareAndSwap(old, next) {
			return
		}
	}
}

// resolveQuotas merges cfg.Quotas over the defaults and keys them by path.
// It returns nil when the client keeps no quotas.
func resolveQuotas(cfg Config) (map[string]limitedPath, error) {
	if cfg.NoQuotas {
		return nil, nil
	}
	quotas := DefaultQuotas()
	for name, q := range cfg.Quotas {
		if _, known := quotas[name]; !known {
			return nil, fmt.Errorf("client: config: Quotas: unknown endpoint %q", name)
		}
		if q.Limit < 0 || q.Window < 0 || (q.Limit > 0 && q.Window == 0) {
			return nil, fmt.Errorf("client: config: Quotas: %s: a limit needs a positive Limit and Window, got %d per %s", name, q.Limit, q.Window)
		}
		quotas[name] = q
	}
	byPath := make(map[string]limitedPath, len(quotas))
	for path, name := range endpointOfPath {
		if q := quotas[name]; q.valid() {
			byPath[path] = limitedPath{endpoint: name, quota: q}
		}
	}
	return byPath, nil
}

// limiterKey is the key a request is counted under: the endpoint name, and
// for a per-token quota a fingerprint of the access token, which keeps the
// token itself out of any shared store.
func limiterKey(lp limitedPath, bearer string) string {
	if !lp.quota.PerToken {
		return lp.endpoint
	}
	sum := sha256.Sum256([]byte(bearer))
	return lp.endpoint + ":" + hex.EncodeToString(sum[:12])
}

// quotaWaitKey is the context key of WithQuotaWait.
type quotaWaitKey struct{}

// WithQuotaWait returns a context under which calls wait at most d for a
// quota slot: a call whose wait would be longer fails at once with a
// *QuotaError, as it does when the wait would pass the context's deadline.
// Unlike a deadline it bounds only that wait, not the call, a token refresh
// or anything else done with the context. A handler that answers 429 rather
// than keep its user waiting uses it:
//
//	info, err := u.UserInfo(client.WithQuotaWait(r.Context(), 10*time.Second))
func WithQuotaWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, quotaWaitKey{}, max(d, 0))
}

// takeTurn waits until rq may be sent under its quota and returns the
// moment it was booked for. When the wait would pass ctx's deadline it
// returns a *QuotaError at once. A limiter that cannot answer does not stop
// the call: TikTok still enforces its limits, and a call refused there is
// better than one never tried.
func (c *Client) takeTurn(ctx context.Context, rq *request, lp limitedPath, key string) (time.Time, error) {
	maxWait := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = max(time.Until(dl), 0)
	}
	if d, ok := ctx.Value(quotaWaitKey{}).(time.Duration); ok && (maxWait < 0 || d < maxWait) {
		maxWait = d
	}
	asked := time.Now()
	wait, ok, err := c.limiter.Reserve(ctx, key, c.bookedQuota(lp.quota), maxWait)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "client: rate limiter did not answer; sending unbooked",
			slog.String("op", rq.op), slog.String("error", err.Error()))
		return asked, nil
	}
	if !ok {
		if c.hooks != nil {
			c.hooks.QuotaWait(ctx, lp.endpoint, wait, true)
		}
		return asked, &QuotaError{Endpoint: lp.endpoint, Quota: lp.quota, RetryAfter: wait}
	}
	if wait <= 0 {
		return asked, nil
	}
	if c.hooks != nil {
		c.hooks.QuotaWait(ctx, lp.endpoint, wait, false)
	}
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.DebugContext(ctx, "client: waiting for quota", slog.String("op", rq.op),
			slog.String("quota", lp.quota.String()), slog.Duration("wait", wait))
	}
	return asked.Add(wait), c.sleep(ctx, wait)
}

// refused tells the limiter that TikTok answered 429 although the request
// was booked: nothing more is sent under key for the Retry-After TikTok
// asked for, or else for the rest of the window.
func (c *Client) refused(ctx context.Context, lp limitedPath, key string, err error) {
	if perr := c.limiter.Pause(ctx, key, c.bookedQuota(lp.quota), max(retryAfterOf(err), 0)); perr != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "client: rate limiter did not take a pause",
			slog.String("endpoint", lp.endpoint), slog.String("error", perr.Error()))
	}
}

// isQuotaError reports whether err is the client's own refusal to send.
func isQuotaError(err error) bool {
	var qe *QuotaError
	return errors.As(err, &qe)
}
