package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// errUsage marks errors in the flags or environment (exit status 2).
var errUsage = errors.New("tiktokemu: usage")

// shutdownTimeout bounds the wait for requests in flight on shutdown;
// after it, open connections are closed.
var shutdownTimeout = 5 * time.Second

// options are the parsed flags.
type options struct {
	addr          string
	clientKey     string
	clientSecret  string
	appName       string
	redirectURIs  string
	scopes        string
	accessTTL     time.Duration
	refreshTTL    time.Duration
	codeTTL       time.Duration
	pkce          string
	base64URL     bool
	autoApprove   bool
	usersFile     string
	allowRemote   bool
	noQuotas      bool
	quotas        quotaFlag
	retryAfter    bool
	flagsExplicit map[string]bool
}

// quotaFlag collects -quota ENDPOINT=LIMIT/WINDOW[/token|/app] (or
// ENDPOINT=off); it may be repeated, and one value may list several,
// comma-separated, as the environment variable does. The last setting of
// an endpoint wins.
type quotaFlag map[tiktoktest.Endpoint]tiktoktest.Quota

func (f *quotaFlag) String() string {
	if f == nil || len(*f) == 0 {
		return ""
	}
	parts := make([]string, 0, len(*f))
	for _, e := range slices.Sorted(maps.Keys(*f)) {
		parts = append(parts, string(e)+"="+(*f)[e].String())
	}
	return strings.Join(parts, ",")
}

func (f *quotaFlag) Set(v string) error {
	set := quotaFlag{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		name, spec, ok := strings.Cut(item, "=")
		if !ok || name == "" || spec == "" {
			return fmt.Errorf("%q is not ENDPOINT=LIMIT/WINDOW[/token|/app] or ENDPOINT=off, such as user_info=100/2s", item)
		}
		e := tiktoktest.Endpoint(name)
		if !slices.Contains(tiktoktest.QuotaEndpoints(), e) {
			return fmt.Errorf("endpoint %q takes no quota (those that do: %v)", name, tiktoktest.QuotaEndpoints())
		}
		q, err := tiktoktest.ParseQuota(spec)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		set[e] = q
	}
	if *f == nil {
		*f = quotaFlag{}
	}
	maps.Copy(*f, set)
	return nil
}

// envNames maps each flag to its environment variable.
var envNames = map[string]string{
	"addr":                       "TIKTOKEMU_ADDR",
	"client-key":                 "TIKTOKEMU_CLIENT_KEY",
	"client-secret":              "TIKTOKEMU_CLIENT_SECRET",
	"app-name":                   "TIKTOKEMU_APP_NAME",
	"redirect-uris":              "TIKTOKEMU_REDIRECT_URIS",
	"scopes":                     "TIKTOKEMU_SCOPES",
	"access-ttl":                 "TIKTOKEMU_ACCESS_TTL",
	"refresh-ttl":                "TIKTOKEMU_REFRESH_TTL",
	"code-ttl":                   "TIKTOKEMU_CODE_TTL",
	"pkce":                       "TIKTOKEMU_PKCE",
	"accept-base64url-challenge": "TIKTOKEMU_ACCEPT_BASE64URL_CHALLENGE",
	"auto-approve":               "TIKTOKEMU_AUTO_APPROVE",
	"users":                      "TIKTOKEMU_USERS",
	"insecure-allow-remote":      "TIKTOKEMU_INSECURE_ALLOW_REMOTE",
	"no-quotas":                  "TIKTOKEMU_NO_QUOTAS",
	"quota":                      "TIKTOKEMU_QUOTAS",
	"quota-retry-after":          "TIKTOKEMU_QUOTA_RETRY_AFTER",
}

// parseFlags reads args, then fills every flag not given on the command line
// from its environment variable.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("tiktokemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9090", "listen `address` (loopback; \":0\" picks a free port)")
	fs.StringVar(&o.clientKey, "client-key", "test-client-key", "client `key`")
	fs.StringVar(&o.clientSecret, "client-secret", "test-client-secret", "client `secret`")
	fs.StringVar(&o.appName, "app-name", "Test App", "app `name` the consent page shows")
	fs.StringVar(&o.redirectURIs, "redirect-uris", "", "registered redirect `URIs`, comma-separated (default: any absolute http(s) URI)")
	fs.StringVar(&o.scopes, "scopes", "", "`scopes` the app may request, comma-separated (default: all six)")
	fs.DurationVar(&o.accessTTL, "access-ttl", 24*time.Hour, "access token `lifetime`")
	fs.DurationVar(&o.refreshTTL, "refresh-ttl", 365*24*time.Hour, "refresh token `lifetime`")
	fs.DurationVar(&o.codeTTL, "code-ttl", 5*time.Minute, "authorization code `lifetime`")
	fs.StringVar(&o.pkce, "pkce", "optional", "PKCE `policy`: optional or required")
	fs.BoolVar(&o.base64URL, "accept-base64url-challenge", false, "also accept RFC 7636 base64url challenges")
	fs.BoolVar(&o.autoApprove, "auto-approve", false, "approve at once instead of showing the consent page")
	fs.StringVar(&o.usersFile, "users", "", "JSON `file` with an array of users (default: built-in users)")
	fs.BoolVar(&o.allowRemote, "insecure-allow-remote", false, "allow a non-loopback listen address (controls have no authentication)")
	fs.BoolVar(&o.noQuotas, "no-quotas", false, "enforce no quota (default: TikTok's published limits)")
	fs.Var(&o.quotas, "quota", "set an endpoint's quota to `ENDPOINT=LIMIT/WINDOW[/token]` (or ENDPOINT=off), such as user_info=100/2s; repeatable or comma-separated (default: TikTok's published limits)")
	fs.BoolVar(&o.retryAfter, "quota-retry-after", false, "send Retry-After with the 429 of a spent quota (TikTok documents none)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: tiktokemu [flags]\n\nRuns a fake TikTok (Login Kit and Open API) for tests. Flags (each also read from the environment variable shown):")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(fs.Output(), "  -%s %s\n    \t%s (env %s, default %q)\n", f.Name, name, usage, envNames[f.Name], f.DefValue)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	o.flagsExplicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.flagsExplicit[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := envNames[f.Name]
		v, ok := os.LookupEnv(env)
		if !ok || o.flagsExplicit[f.Name] {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", errUsage, env, err))
		}
	})
	return o, errors.Join(errs...)
}

// config turns the options into the emulator's configuration.
func (o *options) config() (tiktoktest.Config, error) {
	cfg := tiktoktest.Config{
		ClientKey:                o.clientKey,
		ClientSecret:             o.clientSecret,
		AppName:                  o.appName,
		RedirectURIs:             splitList(o.redirectURIs),
		Scopes:                   splitList(o.scopes),
		AccessTTL:                o.accessTTL,
		RefreshTTL:               o.refreshTTL,
		CodeTTL:                  o.codeTTL,
		AcceptBase64URLChallenge: o.base64URL,
		AutoApprove:              o.autoApprove,
		NoQuotas:                 o.noQuotas,
		QuotaRetryAfter:          o.retryAfter,
	}
	if len(o.quotas) > 0 {
		cfg.Quotas = o.quotas
	}
	if o.noQuotas && len(o.quotas) > 0 {
		return cfg, fmt.Errorf("%w: -no-quotas and -quota cannot be combined", errUsage)
	}
	if o.clientKey == "" || o.clientSecret == "" {
		return cfg, fmt.Errorf("%w: client key and secret must not be empty", errUsage)
	}
	if o.accessTTL <= 0 || o.refreshTTL <= 0 || o.codeTTL <= 0 {
		return cfg, fmt.Errorf("%w: lifetimes must be positive", errUsage)
	}
	switch o.pkce {
	case "optional":
		cfg.PKCE = tiktoktest.PKCEOptional
	case "required":
		cfg.PKCE = tiktoktest.PKCERequired
	default:
		return cfg, fmt.Errorf("%w: -pkce must be optional or required, not %q", errUsage, o.pkce)
	}
	if o.usersFile != "" {
		users, err := readUsers(o.usersFile)
		if err != nil {
			return cfg, err
		}
		cfg.Users = users
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
	}
	return cfg, nil
}

// readUsers reads a JSON array of users; unknown members are refused, so a
// typo does not go unnoticed.
func readUsers(path string) ([]tiktoktest.User, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tiktokemu: users file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var users []tiktoktest.User
	if err := dec.Decode(&users); err != nil {
		return nil, fmt.Errorf("tiktokemu: users file %s: %w", path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("tiktokemu: users file %s holds no users", path)
	}
	return users, nil
}

// quotaSummary lists the quotas in effect for the start-up log line.
func quotaSummary(qs map[tiktoktest.Endpoint]tiktoktest.Quota) string {
	if len(qs) == 0 {
		return "off"
	}
	f := quotaFlag(qs)
	return f.String()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// listenAddr checks the address is on loopback (an empty host means
// 127.0.0.1) unless remote access was allowed, and returns the address to
// listen on and the host to print.
func listenAddr(addr string, allowRemote bool) (listen, host string, err error) {
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("%w: -addr: %w", errUsage, err)
	}
	if h == "" {
		h = "127.0.0.1"
	}
	loopback := h == "localhost"
	if ip := net.ParseIP(h); ip != nil {
		loopback = ip.IsLoopback()
	}
	if !loopback && !allowRemote {
		return "", "", fmt.Errorf("%w: -addr %q is not a loopback address; the control endpoints have no authentication (use -insecure-allow-remote to allow it)", errUsage, addr)
	}
	return net.JoinHostPort(h, port), h, nil
}

// run starts the emulator, prints its base URL as the first line of stdout,
// and serves until ctx ends; then it shuts down and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	addr, host, err := listenAddr(o.addr, o.allowRemote)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg.Logger = logger

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("tiktokemu: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ip := net.ParseIP(host)
	if ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := "http://" + net.JoinHostPort(host, port)

	emu := tiktoktest.NewHandler(cfg)
	emu.SetURL(base)
	srv := &http.Server{
		Handler:           emu.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if _, err := fmt.Fprintln(stdout, base); err != nil {
		ln.Close()
		return fmt.Errorf("tiktokemu: writing the base URL: %w", err)
	}
	logger.Info("tiktokemu listening",
		slog.String("url", base),
		slog.String("authorize_url", emu.AuthURL()),
		slog.String("client_key", cfg.ClientKey),
		slog.String("app_name", cfg.AppName),
		slog.Any("redirect_uris", cfg.RedirectURIs),
		slog.String("pkce", cfg.PKCE.String()),
		slog.Bool("auto_approve", cfg.AutoApprove),
		slog.String("quotas", quotaSummary(emu.Quotas())),
		slog.Int("users", len(emu.Users())))

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("tiktokemu: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("tiktokemu: requests still running at shutdown; closing them", slog.Any("error", err))
		_ = srv.Close()
	}
	<-served
	logger.Info("tiktokemu stopped")
	return nil
}
