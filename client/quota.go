package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/internal/quotaspec"
)

// Quota is a limit TikTok enforces on one endpoint: at most Limit requests in
// any sliding window of length Window. Past it TikTok answers 429
// rate_limit_exceeded.
type Quota struct {
	// Limit is the number of requests allowed in any window. A Quota with
	// Limit 0 (the zero value) sets no limit.
	Limit int
	// Window is the length of the sliding window.
	Window time.Duration
	// PerToken counts requests per user access token instead of per app.
	PerToken bool
}

// ParseQuota reads a quota written as LIMIT/WINDOW with an optional /token
// (count per user token) or /app (per app, the default), such as "600/1m",
// "100/2s" or "6/1m/token", or "off" for no limit.
func ParseQuota(s string) (Quota, error) {
	s = strings.TrimSpace(s)
	sp, err := quotaspec.Parse(s)
	if err != nil {
		return Quota{}, fmt.Errorf("client: quota %q: %v", s, err)
	}
	return Quota{Limit: sp.Limit, Window: sp.Window, PerToken: sp.PerToken}, nil
}

// ParseQuotas reads a comma-separated list of ENDPOINT=QUOTA settings in
// the form of ParseQuota, such as "user_info=2000/1m,video_list=off", for
// Config.Quotas. Endpoints are the names of DefaultQuotas; an empty string
// is an empty map.
func ParseQuotas(s string) (map[string]Quota, error) {
	out := map[string]Quota{}
	defaults := DefaultQuotas()
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, spec, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return nil, fmt.Errorf("client: quota setting %q is not ENDPOINT=LIMIT/WINDOW", item)
		}
		if _, known := defaults[name]; !known {
			return nil, fmt.Errorf("client: quota setting %q: unknown endpoint %q", item, name)
		}
		q, err := ParseQuota(spec)
		if err != nil {
			return nil, err
		}
		out[name] = q
	}
	return out, nil
}

// String returns a short form such as "600/1m0s" or "6/1m0s per token".
func (q Quota) String() string {
	if q.Limit <= 0 {
		return "unlimited"
	}
	s := fmt.Sprintf("%d/%s", q.Limit, q.Window)
	if q.PerToken {
		s += " per token"
	}
	return s
}

// valid reports whether q limits anything.
func (q Quota) valid() bool { return q.Limit > 0 && q.Window > 0 }

// Endpoint names, used as the keys of Config.Quotas, in limiter keys, and in
// metrics. Each names one documented path.
const (
	EndpointUserInfo      = "user_info"      // PathUserInfo
	EndpointVideoList     = "video_list"     // PathVideoList
	EndpointVideoQuery    = "video_query"    // PathVideoQuery
	EndpointCreatorInfo   = "creator_info"   // PathCreatorInfo
	EndpointVideoInit     = "video_init"     // PathVideoInit
	EndpointInboxInit     = "inbox_init"     // PathInboxInit
	EndpointContentInit   = "content_init"   // PathContentInit
	EndpointPublishStatus = "publish_status" // PathPublishStatus
)

// endpointOfPath maps each limited path to its endpoint name.
var endpointOfPath = map[string]string{
	PathUserInfo:      EndpointUserInfo,
	PathVideoList:     EndpointVideoList,
	PathVideoQuery:    EndpointVideoQuery,
	PathCreatorInfo:   EndpointCreatorInfo,
	PathVideoInit:     EndpointVideoInit,
	PathInboxInit:     EndpointInboxInit,
	PathContentInit:   EndpointContentInit,
	PathPublishStatus: EndpointPublishStatus,
}

// DefaultQuotas returns TikTok's published limits, keyed by endpoint name:
// 600 requests a minute for user info, video list and video query, 20 a
// minute per user token for creator info, 6 a minute per user token for each
// posting init, and 30 a minute per user token for the publish status.
//
// TikTok does not say whether the 600 a minute are counted per app or per
// user token; they are counted per app here, the reading that can never be
// exceeded. An app whose quota was raised, or that knows its counting is per
// token, sets its own in Config.Quotas.
func DefaultQuotas() map[string]Quota {
	return map[string]Quota{
		EndpointUserInfo:      {Limit: 600, Window: time.Minute},
		EndpointVideoList:     {Limit: 600, Window: time.Minute},
		EndpointVideoQuery:    {Limit: 600, Window: time.Minute},
		EndpointCreatorInfo:   {Limit: 20, Window: time.Minute, PerToken: true},
		EndpointVideoInit:     {Limit: 6, Window: time.Minute, PerToken: true},
		EndpointInboxInit:     {Limit: 6, Window: time.Minute, PerToken: true},
		EndpointContentInit:   {Limit: 6, Window: time.Minute, PerToken: true},
		EndpointPublishStatus: {Limit: 30, Window: time.Minute, PerToken: true},
	}
}

// Limiter keeps the requests counted under one key within a Quota. The
// client asks it before every request it sends to a limited endpoint,
// retries included, since TikTok counts every request it receives. The key
// is the endpoint name, followed for a per-token quota by ":" and a
// fingerprint of the access token (never the token itself), so a limiter
// shared by several instances (through Redis, say) may store keys as they
// are.
//
// NewLimiter returns the in-process implementation, the default.
// Implementations must be safe for concurrent use.
type Limiter interface {
	// Reserve books the earliest moment at which one more request under key
	// may be sent without exceeding q in any window, and returns how long
	// from now that moment is (0: send now). When that wait would be longer
	// than maxWait it books nothing and returns the wait with ok false. A
	// negative maxWait means no bound. An error means the limiter could not
	// answer (its shared store is down); the client then sends the request
	// unbooked rather than fail it.
	Reserve(ctx context.Context, key string, q Quota, maxWait time.Duration) (wait time.Duration, ok bool, err error)
	// Pause says that TikTok refused a request under key with 429 although
	// the limiter allowed it (another app shares the key, or the quota is
	// lower than configured): nothing more under key is booked before d
	// from now, or, when d is 0 (TikTok sent no Retry-After), before the
	// rest of the window has passed: until the oldest request booked in the
	// current window leaves it, or a whole window when none was booked.
	Pause(ctx context.Context, key string, q Quota, d time.Duration) error
}
