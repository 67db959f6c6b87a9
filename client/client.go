package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultAuthURL is TikTok's authorize page (Login Kit for Web, v2).
const DefaultAuthURL = "https://www.tiktok.com/v2/auth/authorize/"

// DefaultAPIURL is the base URL of TikTok's Open API.
const DefaultAPIURL = "https://open.tiktokapis.com"

// Endpoint paths, relative to Config.APIURL. They are exported so that the
// emulator, tests and callers of Do agree on them. Every documented path ends
// with a slash.
const (
	PathToken         = "/v2/oauth/token/"                     // token endpoint: code exchange, refresh, client credentials
	PathRevoke        = "/v2/oauth/revoke/"                    // revoke a user's grant
	PathUserInfo      = "/v2/user/info/"                       // GET user info (Display API)
	PathCreatorInfo   = "/v2/post/publish/creator_info/query/" // POST creator info (Content Posting API)
	PathVideoList     = "/v2/video/list/"                      // POST the user's public videos, paged
	PathVideoQuery    = "/v2/video/query/"                     // POST videos by ID
	PathVideoInit     = "/v2/post/publish/video/init/"         // POST start a direct video post
	PathInboxInit     = "/v2/post/publish/inbox/video/init/"   // POST start an upload to the inbox (draft)
	PathContentInit   = "/v2/post/publish/content/init/"       // POST start a photo post
	PathPublishStatus = "/v2/post/publish/status/fetch/"       // POST the status of a post
	PathPublishCancel = "/v2/post/publish/cancel/"             // POST cancel a post in progress
)

// Scopes TikTok grants to apps, with what each unlocks.
const (
	ScopeUserInfoBasic   = "user.info.basic"   // open_id, union_id, avatars, display name
	ScopeUserInfoProfile = "user.info.profile" // bio, profile link, verified badge, username
	ScopeUserInfoStats   = "user.info.stats"   // follower, following, likes and video counts
	ScopeVideoList       = "video.list"        // the user's public videos
	ScopeVideoPublish    = "video.publish"     // direct posting and creator info
	ScopeVideoUpload     = "video.upload"      // uploads to the user's inbox (drafts)
)

// version is the kit version sent in the default User-Agent.
const version = "0.1.0"

// DefaultUserAgent is the User-Agent sent when Config.UserAgent is empty.
const DefaultUserAgent = "tiktokkit/" + version + " (+https://github.com/tiktokkit/tiktokkit)"

// Defaults applied by New.
const (
	// DefaultMaxBodyBytes is the default response size limit (1 MiB).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultTimeout is the timeout of the default HTTP client.
	DefaultTimeout = 30 * time.Second
	// ClientTokenMargin is how long before its expiry a cached client token
	// is renewed.
	ClientTokenMargin = 5 * time.Minute
)

// PKCEMode selects how AuthCodeURL derives the code_challenge from a verifier.
type PKCEMode int

const (
	// PKCEHex (the default) sends the lowercase hex SHA-256 of the verifier
	// with code_challenge_method=S256, which is what TikTok documents and
	// checks. It departs from RFC 7636.
	PKCEHex PKCEMode = iota
	// PKCEBase64URL sends the RFC 7636 form: base64url (no padding) of the
	// SHA-256 of the verifier, method S256.
	PKCEBase64URL
	// PKCEDisabled sends no code_challenge: AuthCodeURL ignores WithPKCE and
	// Exchange sends no code_verifier.
	PKCEDisabled
)

// String returns "hex", "base64url" or "disabled".
func (m PKCEMode) String() string {
	switch m {
	case PKCEHex:
		return "hex"
	case PKCEBase64URL:
		return "base64url"
	case PKCEDisabled:
		return "disabled"
	}
	return "PKCEMode(" + strconv.Itoa(int(m)) + ")"
}

// RetryPolicy controls how calls that are safe to repeat are retried on 429,
// 5xx and connection errors: exponential backoff with full jitter, starting
// at BaseDelay and capped at MaxDelay. Context cancellation always wins.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, including the first.
	// 0 means the default, 3; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the first backoff step. Default 100ms.
	BaseDelay time.Duration
	// MaxDelay caps every wait, including one asked for with Retry-After.
	// Default 5s.
	MaxDelay time.Duration
}

// Config configures a Client. Only ClientKey and ClientSecret are required.
type Config struct {
	// ClientKey is the app's client key (TikTok says client_key, not
	// client_id). Required.
	ClientKey string
	// ClientSecret is the app's client secret. Required. It is never printed
	// or logged: Config's String, GoString, Format and LogValue hide it.
	ClientSecret string
	// RedirectURL is the default redirect_uri for AuthCodeURL and Exchange.
	// It must be absolute and registered with TikTok byte for byte. Required
	// for user login; may be empty for an app that only uses client tokens.
	RedirectURL string
	// Scopes are the scopes AuthCodeURL asks for by default.
	// Default []string{ScopeUserInfoBasic}.
	Scopes []string
	// AuthURL is the authorize page. Default DefaultAuthURL; point it at an
	// emulator in tests.
	AuthURL string
	// APIURL is the API base URL, with or without a trailing slash.
	// Default DefaultAPIURL.
	APIURL string
	// HTTPClient sends every request. Default: a client with a 30s timeout
	// and its own keep-alive transport (idle connections kept per host).
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default DefaultUserAgent.
	UserAgent string
	// Logger receives debug lines about requests and retries; they never
	// contain secrets. Default slog.Default() at the time of New.
	Logger *slog.Logger
	// Retry is the retry policy for calls that are safe to repeat. The zero
	// value means 3 attempts, 100ms base delay, 5s maximum delay.
	Retry RetryPolicy
	// Clock tells the time for token expiry. Default time.Now.
	Clock func() time.Time
	// PKCE selects the code_challenge form. Default PKCEHex.
	PKCE PKCEMode
	// MaxBodyBytes limits the size of a response body; a larger one fails
	// with ErrBodyTooLarge. Default DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// Quotas replaces TikTok's published limits (DefaultQuotas) for the
	// endpoints it names, for an app whose quota was raised or that counts
	// per token. An entry with Limit 0 lifts the limit of its endpoint.
	// Every request the client sends to a limited endpoint, retries
	// included, waits for its turn while its context allows; when the wait
	// would pass the context's deadline the call fails at once with a
	// *QuotaError (errors.Is ErrRateLimited).
	Quotas map[string]Quota
	// Limiter keeps the quotas. Default: a MemoryLimiter of this client,
	// which counts what this process sends. Instances that share an app's
	// quota share one Limiter (redisstore.NewLimiter).
	Limiter Limiter
	// NoQuotas turns the client's own quota keeping off: requests go out
	// as fast as they are made, and TikTok's 429s are retried as before.
	NoQuotas bool
	// Hooks, when set, is told about every call to TikTok, every quota
	// wait and every uploaded chunk, for metrics and traces (package
	// otelkit implements it on OpenTelemetry). Default nil: nothing is
	// reported, at no cost.
	Hooks Hooks
}

// String describes the configuration with the client secret hidden.
func (c Config) String() string {
	return fmt.Sprintf("client.Config{ClientKey:%q, ClientSecret:%s, RedirectURL:%q, Scopes:%q, AuthURL:%q, APIURL:%q, UserAgent:%q, Retry:%+v, PKCE:%s, MaxBodyBytes:%d}",
		c.ClientKey, secretMarker(c.ClientSecret), c.RedirectURL, c.Scopes, c.AuthURL, c.APIURL,
		c.UserAgent, c.Retry, c.PKCE, c.MaxBodyBytes)
}

// GoString returns the same text as String, so %#v hides the secret.
func (c Config) GoString() string { return c.String() }

// Format implements fmt.Formatter: every verb prints the form of String.
func (c Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// LogValue implements slog.LogValuer without the client secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_key", c.ClientKey),
		slog.String("client_secret", secretMarker(c.ClientSecret)),
		slog.String("redirect_url", c.RedirectURL),
		slog.String("scopes", strings.Join(c.Scopes, ",")),
		slog.String("auth_url", c.AuthURL),
		slog.String("api_url", c.APIURL),
		slog.String("pkce", c.PKCE.String()),
	)
}

func secretMarker(s string) string {
	if s == "" {
		return `""`
	}
	return "REDACTED"
}

// Client talks to TikTok on behalf of one app. Make one with New; it is
// immutable and safe for concurrent use. Bind it to a user's token with
// WithToken or ForUser for API calls.
type Client struct {
	cfg        Config
	apiBase    string   // APIURL without the trailing slash
	userAgent  []string // the User-Agent header value, shared by every request
	httpClient *http.Client
	log        *slog.Logger
	retry      RetryPolicy
	clock      func() time.Time
	hooks      Hooks

	// Client token cache: the current token and the fetch in flight.
	ctMu     sync.Mutex
	ctCached *ClientToken
	ctFlight singleflight.Group

	// quotas maps each limited path to its quota; nil when NoQuotas.
	quotas  map[string]limitedPath
	limiter Limiter
	// lateness is the recent longest spread, in nanoseconds, between a
	// request's booked moment and its answer (see bookedQuota).
	lateness atomic.Int64

	// jitter returns a random duration in [0, d]; replaced in tests of the
	// package itself.
	jitter func(d time.Duration) time.Duration
	// sleepHook, when set, replaces the backoff wait; for tests of the
	// package itself.
	sleepHook func(ctx context.Context, d time.Duration) error
}

// New validates cfg, fills in the defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.ClientKey) == "" {
		return nil, errors.New("client: config: ClientKey is required")
	}
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		return nil, errors.New("client: config: ClientSecret is required")
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if err := checkURL("AuthURL", cfg.AuthURL); err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if err := checkURL("APIURL", cfg.APIURL); err != nil {
		return nil, err
	}
	if cfg.RedirectURL != "" {
		if err := checkURL("RedirectURL", cfg.RedirectURL); err != nil {
			return nil, err
		}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{ScopeUserInfoBasic}
	} else {
		cfg.Scopes = slices.Clone(cfg.Scopes)
		for _, s := range cfg.Scopes {
			if s == "" || strings.ContainsAny(s, ", \t\r\n") {
				return nil, fmt.Errorf("client: config: invalid scope %q", s)
			}
		}
	}
	switch cfg.PKCE {
	case PKCEHex, PKCEBase64URL, PKCEDisabled:
	default:
		return nil, fmt.Errorf("client: config: unknown PKCE mode %d", int(cfg.PKCE))
	}
	if cfg.Retry.MaxAttempts < 0 || cfg.Retry.BaseDelay < 0 || cfg.Retry.MaxDelay < 0 {
		return nil, errors.New("client: config: negative retry setting")
	}
	if cfg.Retry.MaxAttempts == 0 {
		cfg.Retry.MaxAttempts = 3
	}
	if cfg.Retry.BaseDelay == 0 {
		cfg.Retry.BaseDelay = 100 * time.Millisecond
	}
	if cfg.Retry.MaxDelay == 0 {
		cfg.Retry.MaxDelay = 5 * time.Second
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("client: config: negative MaxBodyBytes")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	quotas, err := resolveQuotas(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Limiter == nil && quotas != nil {
		cfg.Limiter = NewMemoryLimiter(nil)
	}
	return &Client{
		quotas:     quotas,
		limiter:    cfg.Limiter,
		cfg:        cfg,
		apiBase:    strings.TrimRight(cfg.APIURL, "/"),
		userAgent:  []string{cfg.UserAgent},
		httpClient: cfg.HTTPClient,
		log:        cfg.Logger,
		retry:      cfg.Retry,
		clock:      cfg.Clock,
		hooks:      cfg.Hooks,
		jitter:     fullJitter,
	}, nil
}

func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("client: config: %s: %w", field, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("client: config: %s must be an absolute http(s) URL", field)
	}
	if u.Fragment != "" {
		return fmt.Errorf("client: config: %s must not have a fragment", field)
	}
	return nil
}

// defaultHTTPClient returns a client with a timeout and a transport of its
// own, tuned to keep connections to TikTok alive between calls.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: DefaultTimeout,
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   10 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 20 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}

// Config returns a copy of the effective configuration, defaults filled in.
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.Scopes = slices.Clone(c.cfg.Scopes)
	return cfg
}

// Now returns the time from the configured clock.
func (c *Client) Now() time.Time { return c.clock() }

// String describes the client without secrets.
func (c *Client) String() string {
	if c == nil {
		return "client.Client(nil)"
	}
	return "client.Client{client_key=" + c.cfg.ClientKey + ", api=" + c.apiBase + "}"
}

// Format implements fmt.Formatter: every verb prints the form of String, so
// the client secret inside never reaches a log line.
func (c *Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// LogValue implements slog.LogValuer without secrets.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("client.Client(nil)")
	}
	return slog.GroupValue(slog.String("client_key", c.cfg.ClientKey), slog.String("api", c.apiBase))
}

// fullJitter returns a random duration in [0, d] ("full jitter" backoff).
func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}
