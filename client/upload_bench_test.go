package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// benchUploadSize is the file of the upload benchmarks: 1 GiB, generated on
// the fly. Like every benchmark they run only when asked for:
//
//	go test ./client -run '^$' -bench 'Upload1GiB' -benchtime 3x
const benchUploadSize = 1 << 30

// peakMemory samples the heap in use (HeapInuse in runtime.MemStats terms)
// and the memory taken from the OS (Sys) through runtime/metrics, which does
// not stop the world, until stop is called. The peaks are reported in MiB.
type peakMemory struct {
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	heap     uint64
	sys      uint64
	baseline uint64
}

var peakSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/total:bytes"},
}

func readMem() (heap, sys uint64) {
	s := make([]metrics.Sample, len(peakSamples))
	copy(s, peakSamples)
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64(), s[2].Value.Uint64()
}

func startPeakMemory() *peakMemory {
	runtime.GC()
	p := &peakMemory{stop: make(chan struct{}), done: make(chan struct{})}
	p.baseline, _ = readMem()
	go func() {
		defer close(p.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			heap, sys := readMem()
			p.mu.Lock()
			p.heap, p.sys = max(p.heap, heap), max(p.sys, sys)
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// report stops sampling and reports the peaks as benchmark metrics.
func (p *peakMemory) report(b *testing.B) {
	close(p.stop)
	<-p.done
	const MiB = 1 << 20
	b.ReportMetric(float64(p.heap)/MiB, "peak-heap-MiB")
	b.ReportMetric(float64(p.heap-min(p.baseline, p.heap))/MiB, "peak-heap-growth-MiB")
	b.ReportMetric(float64(p.sys)/MiB, "peak-sys-MiB")
}

// rawSink stands for a plain upload target on the same server: it reads
// and hashes the body as the emulator's upload endpoint does, and answers
// 201.
type rawSink struct {
	mu   sync.Mutex
	sum  string
	size int64
}

func (s *rawSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.sum, s.size = hex.EncodeToString(h.Sum(nil)), n
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// BenchmarkUpload1GiB uploads 1 GiB to the emulator's upload endpoint on
// loopback, chunk by chunk, and compares it with one raw PUT of the same
// bytes (io.Copy of the whole file into the request) to the same server,
// which hashes them the same way (raw). The kit runs from an io.ReaderAt,
// streamed (kit), and from an io.Reader, one chunk buffered (kit-reader),
// with the default chunk (64,000,000 bytes: 16 chunks) and TikTok's example
// chunk (10,000,000 bytes: 107 chunks). Each iteration checks that the
// server got every byte, in order. Compare the MB/s; peak-heap-MiB is the
// peak HeapInuse of the whole process (client and emulator) during the
// sub-benchmark, peak-heap-growth-MiB the same above the heap in use when it
// started. x-raw is the kit's throughput as a multiple of a raw PUT's, timed
// right after each kit upload so that both see the same machine load (the
// raw PUT is outside the kit's MB/s; the memory peaks cover both, and the
// raw PUT alone needs about 2 MiB).
func BenchmarkUpload1GiB(b *testing.B) {
	if testing.Short() {
		b.Skip("1 GiB benchmark skipped in -short mode")
	}
	// NoQuotas: every iteration starts a direct post with one token, past
	// TikTok's 6 a minute.
	emu := tiktoktest.NewHandler(tiktoktest.Config{NoQuotas: true})
	sink := &rawSink{}
	mux := http.NewServeMux()
	mux.Handle("/raw-sink", sink)
	mux.Handle("/", emu.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	emu.SetURL(srv.URL)

	// NoQuotas: one video init per iteration, past TikTok's 6 a minute per token.
	c, err := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: srv.URL, NoQuotas: true})
	require.NoError(b, err)
	uc := mediaUser(b, emu, c, mediaAlice, client.ScopeVideoPublish)
	file := newNoise("bench", benchUploadSize)
	want := file.sum(b)

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	// rawPut sends the whole file in one PUT, io.Copy-style, and checks that
	// the sink got it.
	rawPut := func(b *testing.B) {
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/raw-sink", io.NewSectionReader(file, 0, benchUploadSize))
		require.NoError(b, err)
		req.ContentLength = benchUploadSize
		req.Header.Set("Content-Type", "video/mp4")
		resp, err := hc.Do(req)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(b, http.StatusCreated, resp.StatusCode)
		sink.mu.Lock()
		require.Equal(b, want, sink.sum)
		sink.mu.Unlock()
	}

	// upload times the kit; after each timed upload it also times a raw PUT
	// (timer stopped) and reports x-raw, the kit's throughput as a multiple
	// of the raw PUT's, measured back to back so that a change in machine
	// load affects both.
	upload := func(b *testing.B, chunk int64, reader bool) {
		b.SetBytes(benchUploadSize)
		p := startPeakMemory()
		var kitTime, rawTime time.Duration
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			runtime.GC() // each upload starts from a clean heap
			url, plan, id := initUpload(b, emu, uc, benchUploadSize, chunk)
			start := time.Now()
			b.StartTimer()
			var err error
			if reader {
				err = c.UploadReader(context.Background(), url, io.NewSectionReader(file, 0, benchUploadSize), benchUploadSize, plan, client.UploadOptions{})
			} else {
				err = c.Upload(context.Background(), url, file, benchUploadSize, plan, client.UploadOptions{})
			}
			b.StopTimer()
			kitTime += time.Since(start)
			require.NoError(b, err)
			info, _ := emu.Publish(id)
			require.Equal(b, want, info.Upload.SHA256)
			require.Equal(b, plan.TotalChunkCount, info.Upload.Requests)
			runtime.GC()
			start = time.Now()
			rawPut(b)
			rawTime += time.Since(start)
			b.StartTimer()
		}
		b.StopTimer()
		p.report(b)
		b.ReportMetric(rawTime.Seconds()/kitTime.Seconds(), "x-raw")
	}
	for _, chunk := range []int64{client.DefaultChunkSize, 10_000_000} {
		b.Run(fmt.Sprintf("kit/chunk=%d", chunk), func(b *testing.B) { upload(b, chunk, false) })
		b.Run(fmt.Sprintf("kit-reader/chunk=%d", chunk), func(b *testing.B) { upload(b, chunk, true) })
	}
	b.Run("raw", func(b *testing.B) {
		b.SetBytes(benchUploadSize)
		p := startPeakMemory()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			rawPut(b)
		}
		b.StopTimer()
		p.report(b)
	})
}
