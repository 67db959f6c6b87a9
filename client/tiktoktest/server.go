package tiktoktest

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Grant types the token endpoint accepts; Grants counts them.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
)

// clientTokenTTL is the lifetime TikTok gives a client access token
// (expires_in 7200).
const clientTokenTTL = 2 * time.Hour

// PKCEPolicy says whether the authorize endpoint demands a code_challenge.
type PKCEPolicy int

const (
	// PKCEOptional accepts authorize requests with or without a
	// code_challenge (the default). When one was sent, the exchange must
	// present the matching code_verifier.
	PKCEOptional PKCEPolicy = iota
	// PKCERequired refuses an authorize request without a code_challenge,
	// as TikTok does for desktop apps and localhost redirects.
	PKCERequired
)

// String returns "optional" or "required".
func (p PKCEPolicy) String() string {
	switch p {
	case PKCEOptional:
		return "optional"
	case PKCERequired:
		return "required"
	}
	return fmt.Sprintf("PKCEPolicy(%d)", int(p))
}

// Config configures the emulator. The zero value is usable: every field has
// a default, named in its doc.
type Config struct {
	// ClientKey is the app's client key. Default "test-client-key".
	ClientKey string
	// ClientSecret is the app's client secret. Default "test-client-secret".
	ClientSecret string
	// AppName is the app's name as the consent page shows it ("<AppName>
	// would like to access your TikTok account"), as TikTok shows the name
	// registered in its developer portal. Default "Test App".
	AppName string
	// RedirectURIs are the registered redirect URIs, matched exactly (byte
	// for byte, as TikTok does). Default: none registered, which accepts any
	// absolute http or https URI without a fragment; the exchange must still
	// repeat the authorize request's redirect_uri byte for byte.
	RedirectURIs []string
	// Scopes are the scopes the app may request. Default: all six
	// (user.info.basic, user.info.profile, user.info.stats, video.list,
	// video.publish, video.upload).
	Scopes []string
	// Users are the fake accounts. Default DefaultUsers().
	Users []User
	// AccessTTL is the access token lifetime. Default 24h (TikTok's classic
	// docs; the newer ones say 2h, so tests should not depend on it).
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime, counted from the
	// authorization: a refresh does not extend it (refresh_expires_in
	// shrinks, as in TikTok's answers). Default 365 days.
	RefreshTTL time.Duration
	// CodeTTL is the authorization code lifetime. Default 5m.
	CodeTTL time.Duration
	// Clock returns the current time for every expiry. Default time.Now.
	Clock func() time.Time
	// PKCE is the authorize endpoint's PKCE policy. Default PKCEOptional.
	PKCE PKCEPolicy
	// AcceptBase64URLChallenge also accepts RFC 7636 challenges (43
	// characters of base64url). Default false: only TikTok's lowercase hex
	// SHA-256 (64 characters) is accepted.
	AcceptBase64URLChallenge bool
	// AutoApprove skips the consent page: a valid authorize request
	// redirects at once with a code for all requested scopes, approved by
	// the first user or the one chosen with ApproveAs. A request with
	// disable_auto_auth=1 still shows the page, as TikTok does. Default false.
	AutoApprove bool
	// Quotas overrides TikTok's published limits (DefaultQuotas) endpoint
	// by endpoint; a zero Quota removes that endpoint's limit. Keys must be
	// in QuotaEndpoints. Past its quota an endpoint answers 429 with
	// rate_limit_exceeded in TikTok's envelope. Default nil: TikTok's
	// limits, so a client that sends too much finds out in its tests.
	Quotas map[Endpoint]Quota
	// NoQuotas starts with no quota at all (SetQuota can still set one),
	// for tests and benchmarks that call an endpoint more often than TikTok
	// allows. It cannot be combined with Quotas. Default false.
	NoQuotas bool
	// QuotaRetryAfter adds a Retry-After header (whole seconds until the
	// oldest request in the window leaves it, at least 1) to the 429 of a
	// spent quota. Default false: TikTok does not document sending one, so
	// a client must cope without; turn it on to test the other case.
	QuotaRetryAfter bool
	// Logger receives one line per request (method, path, endpoint, status,
	// duration; never a query string, header or body). Default nil: silent.
	Logger *slog.Logger
}

// Validate reports the first problem that makes the configuration unusable:
// an unknown scope, a redirect URI that is not absolute http(s) or has a
// fragment, a user without an open ID, or two users sharing one, a negative
// lifetime, an unknown PKCE policy, a quota for an endpoint not in
// QuotaEndpoints, a negative limit or one without a window, or Quotas
// together with NoQuotas. NewServer and NewHandler panic on such a
// configuration.
func (c Config) Validate() error {
	for _, s := range c.Scopes {
		if !isKnownScope(s) {
			return fmt.Errorf("tiktoktest: unknown scope %q", s)
		}
	}
	for _, u := range c.RedirectURIs {
		if !plausibleRedirect(u) {
			return fmt.Errorf("tiktoktest: redirect URI %q is not an absolute http(s) URI without fragment", u)
		}
	}
	seen := make(map[string]bool, len(c.Users))
	for i, u := range c.Users {
		if u.OpenID == "" {
			return fmt.Errorf("tiktoktest: user %d has no open_id", i)
		}
		if seen[u.OpenID] {
			return fmt.Errorf("tiktoktest: open_id %q used twice", u.OpenID)
		}
		seen[u.OpenID] = true
	}
	if c.AccessTTL < 0 || c.RefreshTTL < 0 || c.CodeTTL < 0 {
		return errors.New("tiktoktest: lifetimes must not be negative")
	}
	if c.PKCE != PKCEOptional && c.PKCE != PKCERequired {
		return fmt.Errorf("tiktoktest: unknown PKCE policy %d", int(c.PKCE))
	}
	if c.NoQuotas && len(c.Quotas) > 0 {
		return errors.New("tiktoktest: Quotas and NoQuotas are both set")
	}
	for _, e := range slices.Sorted(maps.Keys(c.Quotas)) {
		if !isQuotaEndpoint(e) {
			return fmt.Errorf("tiktoktest: endpoint %q takes no quota (those that do: %v)", e, QuotaEndpoints())
		}
		if err := c.Quotas[e].check(); err != nil {
			return fmt.Errorf("tiktoktest: quota for %s: %s", e, err)
		}
	}
	return nil
}

// withDefaults returns a copy of c with defaults filled and slices copied.
func (c Config) withDefaults() Config {
	if c.ClientKey == "" {
		c.ClientKey = "test-client-key"
	}
	if c.ClientSecret == "" {
		c.ClientSecret = "test-client-secret"
	}
	if c.AppName == "" {
		c.AppName = "Test App"
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.Quotas = maps.Clone(c.Quotas)
	if len(c.Scopes) == 0 {
		c.Scopes = allScopes()
	} else {
		c.Scopes = slices.Clone(c.Scopes)
	}
	if len(c.Users) == 0 {
		c.Users = DefaultUsers()
	} else {
		c.Users = slices.Clone(c.Users)
	}
	for i := range c.Users {
		c.Users[i] = c.Users[i].withDefaults()
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = 24 * time.Hour
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 365 * 24 * time.Hour
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = 5 * time.Minute
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Server is the emulator: TikTok's authorize page, token, revoke, user info
// and creator info endpoints, plus control endpoints under /_emulator/. All
// methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, such as "http://127.0.0.1:41234", without a
	// trailing slash. Set by NewServer, Start, StartTLS or SetURL; empty for
	// NewHandler until SetURL. Do not change it while requests are served.
	URL string

	cfg     Config // immutable after construction, except users (under mu)
	ts      *httptest.Server
	handler http.Handler
	routes  map[string]*route

	mu        sync.Mutex
	clock     func() time.Time
	offset    time.Duration
	users     []User
	approveAs string
	denyNext  bool
	pending   map[string]*pendingConsent
	codes     map[string]*authCode
	grants    map[string]*grant
	access    map[string]*accessToken
	refresh   map[string]*refreshToken
	faults    map[Endpoint]*Fault
	calls     map[Endpoint]int
	grantsOK  map[string]int
	reuse     int

	quotas          map[Endpoint]*quotaState // endpoints with a limit (quota.go)
	quotaRetryAfter bool
	rateLimited     map[Endpoint]int

	media mediaState // video, posting and upload endpoints (media.go)

	closing   chan struct{} // closed by Close: ends injected delays at once
	closeOnce sync.Once
	inflight  sync.WaitGroup // requests being served
}

// NewServer starts an emulator on a loopback port, like httptest.NewServer.
// Call Close when done. It panics if cfg is invalid (see Config.Validate).
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer returns an emulator that is not listening yet; call
// Start or StartTLS, then Close. It panics if cfg is invalid.
func NewUnstartedServer(cfg Config) *Server {
	s := NewHandler(cfg)
	s.ts = httptest.NewUnstartedServer(s.handler)
	return s
}

// NewHandler returns an emulator without a listener: mount Handler on your
// own server and tell the emulator its base URL with SetURL. Close is a
// no-op. It panics if cfg is invalid.
func NewHandler(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &Server{
		closing:  make(chan struct{}),
		cfg:      cfg,
		clock:    cfg.Clock,
		users:    cfg.Users,
		pending:  make(map[string]*pendingConsent),
		codes:    make(map[string]*authCode),
		grants:   make(map[string]*grant),
		access:   make(map[string]*accessToken),
		refresh:  make(map[string]*refreshToken),
		faults:   make(map[Endpoint]*Fault),
		calls:    make(map[Endpoint]int),
		grantsOK: make(map[string]int),
		routes:   make(map[string]*route),
	}
	s.initQuotas()
	s.registerRoutes()
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s
}

// Start starts a server from NewUnstartedServer on a loopback port and sets
// URL. It panics if the server was already started or comes from NewHandler.
func (s *Server) Start() {
	s.mustUnstarted()
	s.ts.Start()
	s.URL = s.ts.URL
}

// StartTLS is Start with TLS (a self-signed certificate, as in
// httptest). Use Client for an *http.Client that trusts it.
func (s *Server) StartTLS() {
	s.mustUnstarted()
	s.ts.StartTLS()
	s.URL = s.ts.URL
}

func (s *Server) mustUnstarted() {
	if s.ts == nil {
		panic("tiktoktest: Start on a server made by NewHandler")
	}
	if s.URL != "" {
		panic("tiktoktest: server already started")
	}
}

// Client returns an *http.Client configured for the server (it trusts the
// StartTLS certificate). For NewHandler it returns http.DefaultClient.
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Close stops the listener started by NewServer, Start or StartTLS and
// blocks until its requests are done. It is a no-op for NewHandler.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	if s.ts != nil {
		s.ts.Close()
		// httptest stops tracking a connection once a handler hijacks it
		// (Fault.Drop), so wait for those handlers and their log lines too.
		s.inflight.Wait()
	}
}

// Handler returns the emulator as an http.Handler, to mount at the root of
// your own server (the paths are TikTok's).
func (s *Server) Handler() http.Handler { return s.handler }

// SetURL sets URL, for a server made by NewHandler and mounted elsewhere.
// A trailing slash is removed. Call it before serving requests.
func (s *Server) SetURL(u string) { s.URL = strings.TrimRight(u, "/") }

// AuthURL returns the authorize URL: URL + "/v2/auth/authorize/".
func (s *Server) AuthURL() string { return s.URL + pathAuthorize }

// APIURL returns the API base URL, which is URL.
func (s *Server) APIURL() string { return s.URL }

// ClientKey returns the configured client key.
func (s *Server) ClientKey() string { return s.cfg.ClientKey }

// ClientSecret returns the configured client secret.
func (s *Server) ClientSecret() string { return s.cfg.ClientSecret }

// Users returns a copy of the users, defaults filled in (avatar URLs stay
// empty when the emulator serves them).
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.users)
	for i := range out {
		out[i].PrivacyLevelOptions = slices.Clone(out[i].PrivacyLevelOptions)
	}
	return out
}

// SetClock replaces the clock (nil means time.Now) and drops any offset
// added by AdvanceClock.
func (s *Server) SetClock(clock func() time.Time) {
	if clock == nil {
		clock = time.Now
	}
	s.mu.Lock()
	s.clock = clock
	s.offset = 0
	s.mu.Unlock()
}

// AdvanceClock moves the emulator's time forward by d (on top of the
// clock), so codes and tokens expire without waiting. It is what
// POST /_emulator/advance-clock does.
func (s *Server) AdvanceClock(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
}

// Now returns the emulator's current time (the clock plus any
// AdvanceClock offset).
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return s.clock().Add(s.offset) }

// userLocked returns the user with the open ID.
func (s *Server) userLocked(openID string) (User, bool) {
	for _, u := range s.users {
		if u.OpenID == openID {
			return u, true
		}
	}
	return User{}, false
}

// serveHTTP dispatches on the exact path (no cleaning, no trailing-slash
// redirect), counts the call, applies an injected fault, and logs a line.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	var endpoint Endpoint
	defer func() {
		if s.cfg.Logger != nil {
			s.logRequest(r, endpoint, rec, time.Since(start))
		}
	}()
	rt := s.routes[r.URL.Path]
	if rt == nil {
		http.NotFound(rec, r)
		return
	}
	endpoint = rt.endpoint
	loseAnswer := false
	if endpoint != "" {
		s.mu.Lock()
		s.calls[endpoint]++
		f := s.takeFaultLocked(endpoint)
		s.mu.Unlock()
		if f != nil {
			rec.fault = true
			if s.applyFault(rec, r, endpoint, f) {
				return
			}
			loseAnswer = f.LoseAnswer
		}
	}
	h := rt.methods[r.Method]
	if h == nil {
		allow := make([]string, 0, len(rt.methods))
		for m := range rt.methods {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		rec.Header().Set("Allow", strings.Join(allow, ", "))
		http.Error(rec, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if loseAnswer {
		h(&lostAnswer{header: http.Header{}}, r) // the work is done...
		rec.dropped = true
		dropConnection(rec) // ...and the answer never arrives
		return
	}
	h(rec, r)
}

// lostAnswer is where an endpoint writes an answer that Fault.LoseAnswer
// throws away.
type lostAnswer struct{ header http.Header }

func (l *lostAnswer) Header() http.Header         { return l.header }
func (l *lostAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (l *lostAnswer) WriteHeader(int)             {}

func (s *Server) logRequest(r *http.Request, e Endpoint, rec *recorder, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.statusCode()),
		slog.Duration("duration", d),
	}
	if e != "" {
		attrs = append(attrs, slog.String("endpoint", string(e)))
	}
	if rec.fault {
		attrs = append(attrs, slog.Bool("fault", true))
	}
	if rec.dropped {
		attrs = append(attrs, slog.Bool("dropped", true))
	}
	s.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "tiktokemu request", attrs...)
}

// recorder remembers the status for the log line. Unwrap lets
// http.ResponseController reach the connection for Fault.Drop.
type recorder struct {
	http.ResponseWriter
	status  int
	fault   bool
	dropped bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) statusCode() int {
	if r.dropped {
		return 0
	}
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// plausibleRedirect reports whether u is an absolute http or https URI with
// a host, no fragment, no user info, and under 512 bytes.
func plausibleRedirect(u string) bool {
	if u == "" || len(u) >= 512 || strings.ContainsAny(u, "# \t\r\n\\") {
		return false
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || p.Opaque != "" {
		return false
	}
	return p.Scheme == "http" || p.Scheme == "https"
}
