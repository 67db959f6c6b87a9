package scale

import (
	"encoding/json"
	"fmt"
	"os"
)

// The stores measured, by the names the report uses.
const (
	StoreMemory   = "memory"
	StoreSQLite   = "SQLite"
	StorePostgres = "PostgreSQL"
	StoreRedis    = "Redis"
)

// Report is what one run measured. It is written as JSON by the test's
// -json-out flag and read by the plot program.
type Report struct {
	// GoVersion, GOOS, GOARCH and CPUs describe the machine.
	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	// Sizes are the numbers of stored users, smallest first.
	Sizes []int `json:"sizes"`
	// Latency has one entry per store and size.
	Latency []Latency `json:"latency"`
	// Memory has one entry per size.
	Memory []Memory `json:"memory"`
	// Waves has one entry per store of the refresh wave test.
	Waves []Wave `json:"waves,omitempty"`
}

// Latency is what one store did at one size. Durations are in
// microseconds.
type Latency struct {
	Store string `json:"store"`
	Users int    `json:"users"`
	// LoadSeconds is how long the bulk load of the users took.
	LoadSeconds float64 `json:"load_seconds"`
	// Samples is the number of measured calls behind each percentile.
	Samples int `json:"samples"`
	// Token source Get, with the user's token in the cache (warm) and
	// with the cache off (every call reads the store). The Memory store
	// never has a cache in front of it, so both are store reads there.
	GetWarmP50 float64 `json:"get_warm_p50_us"`
	GetWarmP99 float64 `json:"get_warm_p99_us"`
	GetColdP50 float64 `json:"get_cold_p50_us"`
	GetColdP99 float64 `json:"get_cold_p99_us"`
	// A guarded request, the same two ways.
	GuardWarmP50 float64 `json:"guard_warm_p50_us"`
	GuardWarmP99 float64 `json:"guard_warm_p99_us"`
	GuardColdP50 float64 `json:"guard_cold_p50_us"`
	GuardColdP99 float64 `json:"guard_cold_p99_us"`
}

// Memory is the resident memory per user at one size, measured as the
// growth of the live heap (after a GC) over the load, divided by the
// number of users.
type Memory struct {
	Users int `json:"users"`
	// MemoryStoreBytesPerUser: a Memory store holding every user.
	MemoryStoreBytesPerUser float64 `json:"memory_store_bytes_per_user"`
	// CacheBytesPerUser: a token cache as large as the number of users,
	// after every user's token was read through it.
	CacheBytesPerUser float64 `json:"cache_bytes_per_user"`
	// CacheBound is the size of a cache a tenth as large as the number of
	// users (at least 1), and CacheBoundBytes the heap it holds after
	// every user's token was read through it: the bound holds when this is
	// about CacheBound entries' worth, not Users'.
	CacheBound      int     `json:"cache_bound"`
	CacheBoundBytes float64 `json:"cache_bound_bytes"`
}

// ReadReport reads a Report written as JSON to path.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("scale: %s: %w", path, err)
	}
	if len(r.Latency) == 0 && len(r.Waves) == 0 {
		return nil, fmt.Errorf("scale: %s: no measurements", path)
	}
	return &r, nil
}

// WriteReport writes r as indented JSON to path.
func WriteReport(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Wave is one refresh wave: a tenth of the users' access tokens expire at
// once while several instances serve requests for them, each request
// calling user info under a quota.
type Wave struct {
	Store     string `json:"store"`
	Users     int    `json:"users"`
	WaveUsers int    `json:"wave_users"`
	Instances int    `json:"instances"`
	// UserInfoCalls is the number of user info calls the wave needs.
	UserInfoCalls int `json:"user_info_calls"`
	// The user info quota: QuotaLimit calls in any window of
	// QuotaWindowSeconds.
	QuotaLimit         int     `json:"quota_limit"`
	QuotaWindowSeconds float64 `json:"quota_window_seconds"`
	// AllowedSeconds is the shortest time the quota allows for
	// UserInfoCalls (a full window for every quota's worth after the
	// first), Seconds the time the wave took.
	AllowedSeconds float64 `json:"allowed_seconds"`
	Seconds        float64 `json:"seconds"`
	// Refreshes is the number of refresh grants TikTok saw; LoggedOut,
	// Reused and RateLimited count users logged out, refresh tokens
	// presented twice and 429 answers.
	Refreshes   int `json:"refreshes"`
	LoggedOut   int `json:"logged_out"`
	Reused      int `json:"refresh_tokens_reused"`
	RateLimited int `json:"rate_limited"`
	// RefreshTimes and CallTimes are when each refresh and each
	// answered user info call happened, in seconds since the wave began.
	RefreshTimes []float64 `json:"refresh_times"`
	CallTimes    []float64 `json:"call_times"`
}
