package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/tests/scale"
)

func TestRunDrawsTheCharts(t *testing.T) {
	dir := t.TempDir()
	lat := filepath.Join(dir, "scale.json")
	wave := filepath.Join(dir, "wave.json")
	var r scale.Report
	for _, st := range []string{scale.StoreMemory, scale.StoreRedis} {
		for _, n := range []int{1000, 10000, 1000000} {
			r.Latency = append(r.Latency, scale.Latency{Store: st, Users: n, GetColdP50: 1, GetColdP99: 2, GuardColdP50: 50, GuardWarmP50: 40})
		}
	}
	r.Memory = []scale.Memory{{Users: 1000, MemoryStoreBytesPerUser: 400, CacheBytesPerUser: 300}}
	require.NoError(t, scale.WriteReport(lat, &r))
	require.NoError(t, scale.WriteReport(wave, &scale.Report{Waves: []scale.Wave{{Store: scale.StorePostgres, Users: 300, WaveUsers: 30,
		Instances: 3, QuotaLimit: 30, QuotaWindowSeconds: 10, Seconds: 10.4, RefreshTimes: []float64{0.1, 0.2}, CallTimes: []float64{0.3, 10.2}}}}))

	out := t.TempDir()
	require.NoError(t, run(lat+","+wave, out))
	for _, name := range []string{"scale-guard.png", "scale-get.png", "scale-memory.png", "scale-wave.png"} {
		f, err := os.Open(filepath.Join(out, name))
		require.NoError(t, err, name)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, name)
		require.Greater(t, img.Bounds().Dx(), 500, name)
	}

	// Only the wave: only its chart.
	out2 := t.TempDir()
	require.NoError(t, run(wave, out2))
	entries, err := os.ReadDir(out2)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "scale-wave.png", entries[0].Name())
}

func TestRunRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	require.Error(t, run(filepath.Join(dir, "missing.json"), dir))
	empty := filepath.Join(dir, "empty.json")
	require.NoError(t, os.WriteFile(empty, []byte(`{}`), 0o644))
	require.Error(t, run(empty, dir))
	// A report whose stores are all unknown has nothing to draw.
	odd := filepath.Join(dir, "odd.json")
	require.NoError(t, scale.WriteReport(odd, &scale.Report{Latency: []scale.Latency{{Store: "CSV", Users: 1}}}))
	require.Error(t, run(odd, dir))
}
