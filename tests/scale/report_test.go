package scale

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReportRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	in := &Report{GoVersion: "go1.26", CPUs: 2, Sizes: []int{1000, 10000},
		Latency: []Latency{{Store: StoreSQLite, Users: 1000, GuardColdP50: 80.5}},
		Memory:  []Memory{{Users: 1000, MemoryStoreBytesPerUser: 400}},
		Waves:   []Wave{{Store: StoreRedis, Users: 300, WaveUsers: 30, RefreshTimes: []float64{0.1}}}}
	require.NoError(t, WriteReport(path, in))
	out, err := ReadReport(path)
	require.NoError(t, err)
	require.Equal(t, in, out)
}

func TestReadReportRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	tests := []struct {
		name, path string
	}{
		{"missing file", filepath.Join(dir, "nope.json")},
		{"not JSON", write("bad.json", "latency: 1")},
		{"wrong types", write("types.json", `{"latency": "fast"}`)},
		{"no measurements", write("empty.json", `{"go_version": "go1.26", "sizes": [1000]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadReport(tt.path)
			require.Error(t, err)
		})
	}
}
