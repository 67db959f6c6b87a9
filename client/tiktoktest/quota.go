package tiktoktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tiktokkit/tiktokkit/internal/quotaspec"
)

// Quota is a limit on one endpoint: at most Limit requests in any sliding
// window of length Window; past it the endpoint answers 429
// rate_limit_exceeded. It mirrors client.Quota field for field (the
// emulator has a type of its own so that it depends on nothing else in
// tiktokkit).
type Quota struct {
	// Limit is the number of requests allowed in any window. Zero (the zero
	// Quota) sets no limit.
	Limit int
	// Window is the length of the sliding window.
	Window time.Duration
	// PerToken counts requests per access token instead of per app.
	PerToken bool
}

// String returns the form ParseQuota reads: "600/1m0s", "6/1m0s/token", or
// "off" for no limit.
func (q Quota) String() string {
	if q.Limit <= 0 {
		return "off"
	}
	s := strconv.Itoa(q.Limit) + "/" + q.Window.String()
	if q.PerToken {
		s += "/token"
	}
	return s
}

// ParseQuota reads LIMIT/WINDOW, LIMIT/WINDOW/token or LIMIT/WINDOW/app
// (a positive count, a Go duration, and how requests are counted; per app
// when left out), or "off" for no limit: "100/2s", "6/1m/token".
func ParseQuota(s string) (Quota, error) {
	sp, err := quotaspec.Parse(s)
	if err != nil {
		return Quota{}, fmt.Errorf("tiktoktest: quota %q: %v", s, err)
	}
	return Quota{Limit: sp.Limit, Window: sp.Window, PerToken: sp.PerToken}, nil
}

// check reports what makes q unusable.
func (q Quota) check() error {
	if q.Limit < 0 {
		return fmt.Errorf("limit %d is negative", q.Limit)
	}
	if q.Limit > 0 && q.Window <= 0 {
		return fmt.Errorf("limit %d needs a positive window", q.Limit)
	}
	return nil
}

// QuotaEndpoints returns the endpoints that can carry a quota, sorted: the
// API endpoints that take a bearer token (user and creator info, video list
// and query, the three posting inits, publish status and cancel).
func QuotaEndpoints() []Endpoint {
	return []Endpoint{
		EndpointContentInit, EndpointCreatorInfo, EndpointInboxInit, EndpointPublishCancel,
		EndpointPublishStatus, EndpointUserInfo, EndpointVideoInit, EndpointVideoList, EndpointVideoQuery,
	}
}

func isQuotaEndpoint(e Endpoint) bool { return slices.Contains(QuotaEndpoints(), e) }

// DefaultQuotas returns TikTok's published limits: 600 requests a minute
// for user info, video list and video query, counted per app; per access
// token, 20 a minute for creator info, 6 a minute for each posting init and
// 30 a minute for the publish status. Cancel has no published limit.
//
// TikTok does not say whether the 600 a minute are counted per app or per
// access token; per app is the stricter reading. A test of the other
// reading sets PerToken in Config.Quotas or with SetQuota.
func DefaultQuotas() map[Endpoint]Quota {
	return map[Endpoint]Quota{
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

// quotaState is one endpoint's quota and the requests counted under it.
type quotaState struct {
	q       Quota
	logs    map[string]*quotaLog // by access token; "" when counted per app
	peak    int
	sweepAt int // sweep the logs of every key when there are this many
}

// quotaLog holds the times of the requests under one key within the last
// window: every request that reached the check (seen) and those let
// through (admitted). Times are in arrival order.
type quotaLog struct {
	seen     []time.Time
	admitted []time.Time
}

// minSweep is the number of keys of one endpoint below which idle keys are
// not swept.
const minSweep = 64

func newQuotaState(q Quota) *quotaState {
	return &quotaState{q: q, logs: make(map[string]*quotaLog), sweepAt: minSweep}
}

// prune drops the times at or before cutoff.
func (l *quotaLog) prune(cutoff time.Time) {
	old := func(t time.Time) bool { return !t.After(cutoff) }
	l.seen = slices.DeleteFunc(l.seen, old)
	l.admitted = slices.DeleteFunc(l.admitted, old)
}

// initQuotas sets the quotas from the configuration.
func (s *Server) initQuotas() {
	s.quotas = make(map[Endpoint]*quotaState)
	s.rateLimited = make(map[Endpoint]int)
	s.quotaRetryAfter = s.cfg.QuotaRetryAfter
	if s.cfg.NoQuotas {
		return
	}
	qs := DefaultQuotas()
	maps.Copy(qs, s.cfg.Quotas)
	for e, q := range qs {
		if q.Limit > 0 {
			s.quotas[e] = newQuotaState(q)
		}
	}
}

// takeQuotaLocked counts one request to e made with the access token and
// reports whether it may go on; when it may not, it counts a 429 and
// returns how long until the oldest request in the window leaves it.
func (s *Server) takeQuotaLocked(e Endpoint, token string, now time.Time) (time.Duration, bool) {
	st := s.quotas[e]
	if st == nil {
		return 0, true
	}
	key := ""
	if st.q.PerToken {
		key = token
	}
	cutoff := now.Add(-st.q.Window)
	l := st.logs[key]
	if l == nil {
		if len(st.logs) >= st.sweepAt {
			for k, other := range st.logs {
				if other.prune(cutoff); len(other.seen) == 0 {
					delete(st.logs, k)
				}
			}
			st.sweepAt = max(minSweep, 2*len(st.logs))
		}
		l = &quotaLog{}
		st.logs[key] = l
	}
	l.prune(cutoff)
	l.seen = append(l.seen, now)
	st.peak = max(st.peak, len(l.seen))
	if len(l.admitted) < st.q.Limit {
		l.admitted = append(l.admitted, now)
		return 0, true
	}
	s.rateLimited[e]++
	oldest := slices.MinFunc(l.admitted, time.Time.Compare)
	return oldest.Add(st.q.Window).Sub(now), false
}

// refuseQuota answers 429 rate_limit_exceeded in TikTok's envelope, with
// Retry-After (whole seconds until a slot frees, at least 1) when
// configured. Call it without the lock.
func (s *Server) refuseQuota(w http.ResponseWriter, wait time.Duration, retryAfter bool) {
	if retryAfter {
		secs := int64((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	s.writeAPIError(w, http.StatusTooManyRequests, "rate_limit_exceeded", describe("rate_limit_exceeded"))
}

// SetQuota sets the endpoint's quota; a zero Quota removes its limit. The
// requests counted under the old quota, and its peak, are forgotten. It
// returns an error for an endpoint not in QuotaEndpoints or a quota with a
// negative limit or without a window.
func (s *Server) SetQuota(e Endpoint, q Quota) error {
	if !isQuotaEndpoint(e) {
		return fmt.Errorf("tiktoktest: endpoint %q takes no quota (those that do: %v)", e, QuotaEndpoints())
	}
	if err := q.check(); err != nil {
		return fmt.Errorf("tiktoktest: quota for %s: %s", e, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.Limit == 0 {
		delete(s.quotas, e)
	} else {
		s.quotas[e] = newQuotaState(q)
	}
	return nil
}

// Quotas returns the quotas in effect, by endpoint; endpoints without a
// limit are left out.
func (s *Server) Quotas() map[Endpoint]Quota {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Endpoint]Quota, len(s.quotas))
	for e, st := range s.quotas {
		out[e] = st.q
	}
	return out
}

// SetQuotaRetryAfter says whether a 429 for a spent quota carries
// Retry-After, as Config.QuotaRetryAfter does.
func (s *Server) SetQuotaRetryAfter(on bool) {
	s.mu.Lock()
	s.quotaRetryAfter = on
	s.mu.Unlock()
}

// ResetQuotas forgets every request counted so far, and the peaks, so
// every quota is whole again; the limits stay, and so does the count of
// 429s (ResetCounters clears it).
func (s *Server) ResetQuotas() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e, st := range s.quotas {
		s.quotas[e] = newQuotaState(st.q)
	}
}

// RateLimited returns how many requests to the endpoint were refused with
// 429 because its quota was spent, since the start or the last
// ResetCounters. Injected faults do not count.
func (s *Server) RateLimited(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited[e]
}

// QuotaStatus is one endpoint's quota and how much of it is used, as
// GET /_emulator/quotas lists it.
type QuotaStatus struct {
	// Endpoint is the endpoint.
	Endpoint Endpoint
	// Quota is its quota; the zero Quota when it has no limit.
	Quota Quota
	// InWindow is how many requests were let through in the window that
	// ends now, under the busiest key (the app, or the busiest token).
	InWindow int
	// Tokens is how many access tokens have requests in the window (0 for
	// a quota counted per app).
	Tokens int
	// Peak is the most requests that reached the quota check in any one
	// window under one key, refused ones included, since the start or the
	// last SetQuota, ResetQuotas or ResetCounters. A client that keeps the
	// quota never makes it pass Quota.Limit.
	Peak int
	// RateLimited is RateLimited(Endpoint).
	RateLimited int
}

// QuotaStatus returns the state of every endpoint in QuotaEndpoints, in
// that order.
func (s *Server) QuotaStatus() []QuotaStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	eps := QuotaEndpoints()
	out := make([]QuotaStatus, 0, len(eps))
	for _, e := range eps {
		qs := QuotaStatus{Endpoint: e, RateLimited: s.rateLimited[e]}
		if st := s.quotas[e]; st != nil {
			qs.Quota, qs.Peak = st.q, st.peak
			cutoff := now.Add(-st.q.Window)
			for k, l := range st.logs {
				l.prune(cutoff)
				if len(l.seen) == 0 {
					delete(st.logs, k)
					continue
				}
				qs.InWindow = max(qs.InWindow, len(l.admitted))
				if st.q.PerToken {
					qs.Tokens++
				}
			}
		}
		out = append(out, qs)
	}
	return out
}

// quotaStatusJSON is one line of GET /_emulator/quotas.
type quotaStatusJSON struct {
	Endpoint    Endpoint `json:"endpoint"`
	Limit       int      `json:"limit"`
	Window      string   `json:"window,omitempty"`
	PerToken    bool     `json:"per_token"`
	InWindow    int      `json:"in_window"`
	Tokens      int      `json:"tokens"`
	Peak        int      `json:"peak"`
	RateLimited int      `json:"rate_limited"`
}

// quotaJSON is the object form of a quota in a POST or PUT to
// /_emulator/quotas; the string form is ParseQuota's.
type quotaJSON struct {
	Limit    int             `json:"limit"`
	Window   json.RawMessage `json:"window"`
	PerToken bool            `json:"per_token"`
}

// ctlQuotas answers GET /_emulator/quotas: the quota, use and 429s of
// every endpoint that can carry one.
func (s *Server) ctlQuotas(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	retryAfter := s.quotaRetryAfter
	s.mu.Unlock()
	lines := []quotaStatusJSON{}
	for _, qs := range s.QuotaStatus() {
		l := quotaStatusJSON{Endpoint: qs.Endpoint, Limit: qs.Quota.Limit, PerToken: qs.Quota.PerToken,
			InWindow: qs.InWindow, Tokens: qs.Tokens, Peak: qs.Peak, RateLimited: qs.RateLimited}
		if qs.Quota.Limit > 0 {
			l.Window = qs.Quota.Window.String()
		}
		lines = append(lines, l)
	}
	writeJSON(w, http.StatusOK, struct {
		RetryAfter bool              `json:"retry_after"`
		Quotas     []quotaStatusJSON `json:"quotas"`
	}{retryAfter, lines})
}

// ctlSetQuotas answers POST and PUT /_emulator/quotas with a JSON object:
// "quotas" maps endpoints to a quota ("100/2s", "6/1m/token", "off", or
// {"limit":100,"window":"2s","per_token":false}); "retry_after" turns
// Retry-After on or off. POST changes the endpoints listed; PUT also
// removes the limit of every endpoint not listed. Nothing changes unless
// every member is valid. It answers what GET answers.
func (s *Server) ctlSetQuotas(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Quotas     map[Endpoint]json.RawMessage `json:"quotas"`
		RetryAfter *bool                        `json:"retry_after"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("tiktoktest: quotas JSON: %w", err))
		return
	}
	set := make(map[Endpoint]Quota, len(body.Quotas))
	var errs []error
	for _, e := range slices.Sorted(maps.Keys(body.Quotas)) {
		q, err := decodeQuota(body.Quotas[e])
		if err == nil && !isQuotaEndpoint(e) {
			err = fmt.Errorf("takes no quota (those that do: %v)", QuotaEndpoints())
		}
		if err == nil {
			err = q.check()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tiktoktest: quotas: %s: %w", e, err))
		}
		set[e] = q
	}
	if err := errors.Join(errs...); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	if r.Method == http.MethodPut {
		for _, e := range QuotaEndpoints() {
			if _, ok := set[e]; !ok {
				set[e] = Quota{}
			}
		}
	}
	for e, q := range set {
		_ = s.SetQuota(e, q) // checked above
	}
	if body.RetryAfter != nil {
		s.SetQuotaRetryAfter(*body.RetryAfter)
	}
	s.ctlQuotas(w, r)
}

// decodeQuota reads a quota in its string or object form.
func decodeQuota(raw json.RawMessage) (Quota, error) {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return ParseQuota(str)
	}
	var qj quotaJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&qj); err != nil {
		return Quota{}, fmt.Errorf("a quota is a string such as \"100/2s\" or an object {limit, window, per_token}: %w", err)
	}
	window, err := jsonDuration(qj.Window)
	if err != nil {
		return Quota{}, err
	}
	return Quota{Limit: qj.Limit, Window: window, PerToken: qj.PerToken}, nil
}
