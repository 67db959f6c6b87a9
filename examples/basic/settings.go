package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tiktokkit/tiktokkit/client"
)

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
	// Emulated is true when no client key was given: the app then starts
	// the TikTok emulator and uses it.
	Emulated bool
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
	s := settings{
		Addr:         strings.TrimSpace(getenv("ADDR")),
		ClientKey:    strings.TrimSpace(getenv("TIKTOK_CLIENT_KEY")),
		ClientSecret: strings.TrimSpace(getenv("TIKTOK_CLIENT_SECRET")),
		RedirectURI:  strings.TrimSpace(getenv("TIKTOK_REDIRECT_URI")),
		Scopes:       client.ParseScopes(getenv("TIKTOK_SCOPES")),
		AuthURL:      strings.TrimSpace(getenv("TIKTOK_AUTH_URL")),
		APIURL:       strings.TrimSpace(getenv("TIKTOK_API_URL")),
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
	s.Emulated = s.ClientKey == ""
	if s.Emulated {
		if s.ClientSecret != "" {
			return s, errors.New("TIKTOK_CLIENT_SECRET is set but TIKTOK_CLIENT_KEY is not: set both to use TikTok, or neither to use the emulator")
		}
		if s.AuthURL != "" || s.APIURL != "" {
			return s, errors.New("TIKTOK_AUTH_URL and TIKTOK_API_URL need TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET")
		}
		if len(s.Scopes) == 0 {
			s.Scopes = emulatorScopes
		}
	} else {
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
