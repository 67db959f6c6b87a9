package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
)

func TestMain(m *testing.M) {
	testredis.QuietLogs()
	code := m.Run()
	testpg.Stop()
	testredis.Stop()
	os.Exit(code)
}

// TestRunTiny runs every configuration at a tiny size: every request must
// succeed and be counted, and the table must list the five configurations.
func TestRunTiny(t *testing.T) {
	const users, requests = 6, 120
	results, err := Run(t.Context(), Options{
		Users: users, Concurrency: 4, Requests: requests, Duration: time.Minute, Rounds: 2, Warmup: -1,
		PostgresDSN: testpg.OpenDSN(t), RedisURL: testredis.URL(t),
	})
	require.NoError(t, err)
	require.Len(t, results, 5)
	for i, name := range []string{ConfigUnguarded, ConfigMemory, ConfigSQLite, ConfigPostgres, ConfigRedis} {
		r := results[i]
		assert.Equal(t, name, r.Name)
		assert.Empty(t, r.Skipped)
		assert.Zero(t, r.ErrorCount(), "%s: %v", name, r.Errors)
		assert.Equal(t, 2*requests, r.Requests, name)
		assert.Positive(t, r.Throughput(), name)
		assert.True(t, 0 < r.P50 && r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max, "%s: %+v", name, r)
	}
	var b bytes.Buffer
	WriteTable(&b, results)
	assert.Equal(t, 2+5, strings.Count(b.String(), "\n"), b.String())
	assert.Contains(t, b.String(), "| guarded, PostgreSQL store | 240 |")
	assert.Contains(t, b.String(), "| guarded, Redis store | 240 |")
}

// TestRunChecksTargets runs the command at a tiny size without PostgreSQL
// and Redis: their rows are skipped with a note, and the targets are
// checked.
func TestRunChecksTargets(t *testing.T) {
	t.Setenv(envPostgres, "")
	t.Setenv(envRedis, "")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-users", "3", "-concurrency", "2", "-requests", "30", "-rounds", "1",
		"-warmup", "-1", "-min-ratio", "0"}, &out, &errOut)
	require.NoError(t, err, errOut.String())
	assert.Contains(t, out.String(), "| guarded, PostgreSQL store | skipped: no PostgreSQL DSN")
	assert.Contains(t, out.String(), "| guarded, Redis store | skipped: no Redis URL")
	assert.Contains(t, out.String(), "| unguarded | 30 |")
}

func TestCheck(t *testing.T) {
	ok := []Result{
		{Name: ConfigUnguarded, Requests: 1000, Elapsed: time.Second},
		{Name: ConfigMemory, Requests: 950, Elapsed: time.Second},
	}
	require.NoError(t, check(ok, 0.9))

	slow := []Result{ok[0], {Name: ConfigMemory, Requests: 800, Elapsed: time.Second}}
	require.ErrorContains(t, check(slow, 0.9), "0.80x the unguarded one")
	require.NoError(t, check(slow, 0), "0 disables the ratio target")

	failed := []Result{ok[0], {Name: ConfigSQLite, Requests: 10, Elapsed: time.Second, Errors: map[string]int{"HTTP 503": 2}}}
	require.ErrorContains(t, check(failed, 0), "guarded, SQLite store: 2 failed requests")
}
