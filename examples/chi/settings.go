package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// The emulator's default credentials (see tiktoktest.Config), used with
// TIKTOK_EMULATOR_URL unless TIKTOK_CLIENT_KEY or TIKTOK_CLIENT_SECRET say
// otherwise.
const (
	emulatorClientKey    = "test-client-key"
	emulatorClientSecret = "test-client-secret"
	// emulatorAuthorizePath is the emulator's authorize page, the same
	// path as TikTok's.
	emulatorAuthorizePath = "/v2/auth/authorize/"
)

// defaultSQLitePath is the database file used when neither DATABASE_URL
// nor SQLITE_PATH is set, relative to the working directory.
const defaultSQLitePath = "tiktokkit-example.db"

// settings is the example's configuration, read from the environment.
type settings struct {
	Addr         string
	ClientKey    string
	ClientSecret string
	RedirectURI  string // empty: derived from the listen address
	Scopes       []string
	AuthURL      string
	APIURL       string
	// Quotas replaces TikTok's published quotas (TIKTOK_QUOTAS); NoQuotas
	// turns the app's own quota keeping off (TIKTOK_QUOTAS=off).
	Quotas   map[string]client.Quota
	NoQuotas bool
	// Emulated is true when neither a client key nor an emulator URL was
	// given: the app then starts the TikTok emulator in process and uses it.
	Emulated bool
	// EmulatorURL is the base URL of an emulator running elsewhere
	// (TIKTOK_EMULATOR_URL), shared by several instances of the app.
	EmulatorURL string

	// DatabaseURL is a PostgreSQL URL or DSN; empty means SQLite.
	DatabaseURL string
	// SQLitePath is the SQLite database file, used when DatabaseURL is empty.
	SQLitePath string
	// Redis, from REDIS_URL, puts tokens, sessions, webhook replay
	// protection and the quota counts on one Redis server instead of the
	// SQL database. Nil means SQL.
	Redis *redis.Options
	// Keys encrypts tokens at rest. Nil when TIKTOKKIT_TOKEN_KEYS is unset:
	// the app then generates a key that lives as long as the process.
	Keys *tokenstore.KeyRing
	// Instance names this process in logs.
	Instance string
}

// emulatorScopes are asked for when the example runs against the emulator:
// every scope the pages can show something for.
var emulatorScopes = []string{
	client.ScopeUserInfoBasic, client.ScopeUserInfoProfile, client.ScopeUserInfoStats,
	client.ScopeVideoList, client.ScopeVideoPublish,
}

// settingsFromEnv reads the example's environment (see the package
// documentation) and checks it.
func settingsFromEnv(getenv func(string) string) (settings, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	s := settings{
		Addr:         env("ADDR"),
		ClientKey:    env("TIKTOK_CLIENT_KEY"),
		ClientSecret: env("TIKTOK_CLIENT_SECRET"),
		RedirectURI:  env("TIKTOK_REDIRECT_URI"),
		Scopes:       client.ParseScopes(getenv("TIKTOK_SCOPES")),
		AuthURL:      env("TIKTOK_AUTH_URL"),
		APIURL:       env("TIKTOK_API_URL"),
		EmulatorURL:  strings.TrimRight(env("TIKTOK_EMULATOR_URL"), "/"),
		DatabaseURL:  env("DATABASE_URL"),
		SQLitePath:   env("SQLITE_PATH"),
		Instance:     env("TIKTOKKIT_INSTANCE"),
	}
	if q := strings.TrimSpace(getenv("TIKTOK_QUOTAS")); q == "off" {
		s.NoQuotas = true
	} else {
		quotas, err := client.ParseQuotas(q)
		if err != nil {
			return s, fmt.Errorf("TIKTOK_QUOTAS: %w", err)
		}
		s.Quotas = quotas
	}
	if s.Addr == "" {
		s.Addr = "localhost:8080"
	}
	if u := env("REDIS_URL"); u != "" {
		if s.DatabaseURL != "" {
			return s, errors.New("DATABASE_URL and REDIS_URL are both set: the app keeps its data in one of them, so set only one")
		}
		opts, err := parseRedisURL(u)
		if err != nil {
			return s, err
		}
		s.Redis = opts
	}
	if s.SQLitePath == "" {
		s.SQLitePath = defaultSQLitePath
	}
	if s.Instance == "" {
		s.Instance = defaultInstance()
	}
	if keys := env("TIKTOKKIT_TOKEN_KEYS"); keys != "" {
		ring, err := tokenstore.ParseKeyRing(keys)
		if err != nil {
			// ParseKeyRing's errors name key IDs, never secrets.
			return s, fmt.Errorf("TIKTOKKIT_TOKEN_KEYS: %w", err)
		}
		s.Keys = ring
	}

	switch {
	case s.EmulatorURL != "":
		u, err := url.Parse(s.EmulatorURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return s, fmt.Errorf("TIKTOK_EMULATOR_URL %q must be an absolute http(s) base URL", s.EmulatorURL)
		}
		if s.AuthURL != "" || s.APIURL != "" {
			return s, errors.New("TIKTOK_EMULATOR_URL sets the authorize and API URLs: leave TIKTOK_AUTH_URL and TIKTOK_API_URL unset")
		}
		s.AuthURL = s.EmulatorURL + emulatorAuthorizePath
		s.APIURL = s.EmulatorURL
		if s.ClientKey == "" {
			s.ClientKey = emulatorClientKey
		}
		if s.ClientSecret == "" {
			s.ClientSecret = emulatorClientSecret
		}
		if len(s.Scopes) == 0 {
			s.Scopes = emulatorScopes
		}
	case s.ClientKey == "":
		s.Emulated = true
		if s.ClientSecret != "" {
			return s, errors.New("TIKTOK_CLIENT_SECRET is set but TIKTOK_CLIENT_KEY is not: set both to use TikTok, or neither to use the emulator")
		}
		if s.AuthURL != "" || s.APIURL != "" {
			return s, errors.New("TIKTOK_AUTH_URL and TIKTOK_API_URL need TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET")
		}
		if len(s.Scopes) == 0 {
			s.Scopes = emulatorScopes
		}
	default:
		if s.ClientSecret == "" {
			return s, errors.New("TIKTOK_CLIENT_KEY is set but TIKTOK_CLIENT_SECRET is not")
		}
		if s.AuthURL == "" {
			s.AuthURL = client.DefaultAuthURL
		}
		if s.APIURL == "" {
			s.APIURL = client.DefaultAPIURL
		}
		if len(s.Scopes) == 0 {
			s.Scopes = []string{client.ScopeUserInfoBasic}
		}
	}
	if s.RedirectURI != "" {
		u, err := url.Parse(s.RedirectURI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.RawQuery != "" {
			return s, fmt.Errorf("TIKTOK_REDIRECT_URI %q must be an absolute http(s) URL without query or fragment", s.RedirectURI)
		}
	}
	return s, nil
}

// defaultInstance names this process "<hostname>-<pid>".
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "app"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// usesEmulator reports whether the app talks to an emulator, in process or
// not, rather than to TikTok.
func (s settings) usesEmulator() bool { return s.Emulated || s.EmulatorURL != "" }
