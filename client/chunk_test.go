package client_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
)

func TestPlanChunks(t *testing.T) {
	const (
		MiB = 1 << 20
		MB  = 1_000_000
	)
	tests := []struct {
		name        string
		size, chunk int64
		want        client.ChunkPlan
		wantLast    int64  // length of the last chunk
		wantErr     string // substring; "" = success
	}{
		{name: "docs worked example", size: 50_000_123, chunk: 10 * MB,
			want: client.ChunkPlan{VideoSize: 50_000_123, ChunkSize: 10 * MB, TotalChunkCount: 5}, wantLast: 10_000_123},
		{name: "tiny file goes whole whatever the chunk", size: 1, chunk: 10 * MB,
			want: client.ChunkPlan{VideoSize: 1, ChunkSize: 1, TotalChunkCount: 1}, wantLast: 1},
		{name: "just under 5 MiB goes whole", size: 5*MiB - 1, chunk: 5 * MiB,
			want: client.ChunkPlan{VideoSize: 5*MiB - 1, ChunkSize: 5*MiB - 1, TotalChunkCount: 1}, wantLast: 5*MiB - 1},
		{name: "5 MB decimal file (under 5 MiB) goes whole", size: 5 * MB, chunk: 0,
			want: client.ChunkPlan{VideoSize: 5 * MB, ChunkSize: 5 * MB, TotalChunkCount: 1}, wantLast: 5 * MB},
		{name: "7 MiB seed sample whole", size: 7_340_032, chunk: 0,
			want: client.ChunkPlan{VideoSize: 7_340_032, ChunkSize: 7_340_032, TotalChunkCount: 1}, wantLast: 7_340_032},
		{name: "chunk at least size goes whole up to 64 MB", size: 64 * MB, chunk: 64 * MB,
			want: client.ChunkPlan{VideoSize: 64 * MB, ChunkSize: 64 * MB, TotalChunkCount: 1}, wantLast: 64 * MB},
		{name: "default chunk for a large file", size: 300 * MB, chunk: 0,
			want: client.ChunkPlan{VideoSize: 300 * MB, ChunkSize: 64 * MB, TotalChunkCount: 4}, wantLast: 108 * MB},
		{name: "default chunk for a file between 64 and 128 MB: two halves", size: 120 * MB, chunk: 0,
			want: client.ChunkPlan{VideoSize: 120 * MB, ChunkSize: 60 * MB, TotalChunkCount: 2}, wantLast: 60 * MB},
		{name: "just above 64 MB", size: 64*MB + 1, chunk: 0,
			want: client.ChunkPlan{VideoSize: 64*MB + 1, ChunkSize: 32 * MB, TotalChunkCount: 2}, wantLast: 32*MB + 1},
		{name: "just under 128 MB", size: 128*MB - 1, chunk: 0,
			want: client.ChunkPlan{VideoSize: 128*MB - 1, ChunkSize: 64*MB - 1, TotalChunkCount: 2}, wantLast: 64 * MB},
		{name: "128 MB", size: 128 * MB, chunk: 0,
			want: client.ChunkPlan{VideoSize: 128 * MB, ChunkSize: 64 * MB, TotalChunkCount: 2}, wantLast: 64 * MB},
		{name: "default chunk for 1 GiB", size: 1 << 30, chunk: 0,
			want: client.ChunkPlan{VideoSize: 1 << 30, ChunkSize: 64 * MB, TotalChunkCount: 16}, wantLast: 1<<30 - 15*64*MB},
		{name: "largest file the default chunk allows", size: 1001*64*MB - 1, chunk: 0,
			want: client.ChunkPlan{VideoSize: 1001*64*MB - 1, ChunkSize: 64 * MB, TotalChunkCount: 1000}, wantLast: 128*MB - 1},
		{name: "too large for 1000 chunks", size: 1001 * 64 * MB, chunk: 0, wantErr: "more than 1000"},
		{name: "smallest chunk", size: 11 * MiB, chunk: 5 * MiB,
			want: client.ChunkPlan{VideoSize: 11 * MiB, ChunkSize: 5 * MiB, TotalChunkCount: 2}, wantLast: 6 * MiB},
		{name: "largest chunk with the largest remainder", size: 128*MB - 1, chunk: 64 * MB,
			wantErr: "single chunk"},
		{name: "two chunks of 64 MB, last just under 128 MB", size: 192*MB - 1, chunk: 64 * MB,
			want: client.ChunkPlan{VideoSize: 192*MB - 1, ChunkSize: 64 * MB, TotalChunkCount: 2}, wantLast: 128*MB - 1},
		{name: "exactly 1000 chunks", size: 1000 * 5 * MiB, chunk: 5 * MiB,
			want: client.ChunkPlan{VideoSize: 1000 * 5 * MiB, ChunkSize: 5 * MiB, TotalChunkCount: 1000}, wantLast: 5 * MiB},
		{name: "1001 chunks refused", size: 1001 * 5 * MiB, chunk: 5 * MiB, wantErr: "more than 1000"},
		{name: "chunk below 5 MiB refused", size: 50 * MB, chunk: 5 * MB, wantErr: "outside"},
		{name: "chunk above 64,000,000 refused", size: 200 * MB, chunk: 64 * MiB, wantErr: "outside"},
		{name: "file above 64 MB cannot go whole", size: 65 * MB, chunk: 65 * MB, wantErr: "outside"},
		{name: "single chunk above 64 MB refused", size: 100 * MB, chunk: 60 * MB, wantErr: "single chunk"},
		{name: "zero size", size: 0, chunk: 10 * MB, wantErr: "positive"},
		{name: "negative chunk", size: 10 * MB, chunk: -1, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.PlanChunks(tt.size, tt.chunk)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, client.ErrInvalidInput)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), "client: ")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			require.NoError(t, got.Validate())
			// The chunks tile the file: in order, no gap, no overlap.
			var next int64
			for i := range got.TotalChunkCount {
				first, n := got.Chunk(i)
				assert.Equal(t, next, first, "chunk %d", i)
				if i < got.TotalChunkCount-1 {
					assert.Equal(t, got.ChunkSize, n)
					assert.GreaterOrEqual(t, n, client.MinChunkSize)
					assert.LessOrEqual(t, n, client.MaxChunkSize)
				} else {
					assert.Equal(t, tt.wantLast, n, "last chunk")
					assert.LessOrEqual(t, n, client.MaxLastChunkSize)
				}
				next = first + n
			}
			assert.Equal(t, tt.size, next)
			assert.Equal(t, tt.size/got.ChunkSize, int64(got.TotalChunkCount), "total_chunk_count = floor(size/chunk)")
		})
	}
}

func TestChunkPlanValidate(t *testing.T) {
	tests := []struct {
		name string
		plan client.ChunkPlan
		ok   bool
	}{
		{"docs example", client.ChunkPlan{VideoSize: 50_000_123, ChunkSize: 10_000_000, TotalChunkCount: 5}, true},
		{"ceil instead of floor", client.ChunkPlan{VideoSize: 50_000_123, ChunkSize: 10_000_000, TotalChunkCount: 6}, false},
		{"single chunk with a smaller chunk_size", client.ChunkPlan{VideoSize: 15_000_000, ChunkSize: 10_000_000, TotalChunkCount: 1}, false},
		{"single whole chunk", client.ChunkPlan{VideoSize: 15_000_000, ChunkSize: 15_000_000, TotalChunkCount: 1}, true},
		{"small file split", client.ChunkPlan{VideoSize: 4_000_000, ChunkSize: 2_000_000, TotalChunkCount: 2}, false},
		{"whole above 64 MB", client.ChunkPlan{VideoSize: 70_000_000, ChunkSize: 70_000_000, TotalChunkCount: 1}, false},
		{"zero", client.ChunkPlan{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.plan.Validate()
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.True(t, errors.Is(err, client.ErrInvalidInput), "%v", err)
			}
		})
	}
	assert.Panics(t, func() { client.ChunkPlan{VideoSize: 1, ChunkSize: 1, TotalChunkCount: 1}.Chunk(1) })
}

func ExamplePlanChunks() {
	// TikTok's worked example: 50,000,123 bytes in chunks of 10,000,000.
	plan, err := client.PlanChunks(50_000_123, 10_000_000)
	if err != nil {
		panic(err)
	}
	fmt.Println(plan.TotalChunkCount, "chunks")
	first, n := plan.Chunk(plan.TotalChunkCount - 1)
	fmt.Printf("last chunk: bytes %d-%d (%d bytes)\n", first, first+n-1, n)

	// A small file goes up whole, whatever the chunk size asked for.
	small, _ := client.PlanChunks(3_000_000, 10_000_000)
	fmt.Printf("%+v\n", small)
	// Output:
	// 5 chunks
	// last chunk: bytes 40000000-50000122 (10000123 bytes)
	// {VideoSize:3000000 ChunkSize:3000000 TotalChunkCount:1}
}
