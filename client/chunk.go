package client

import (
	"fmt"
)

// Chunk limits of TikTok's Media Transfer Guide. TikTok writes "5 MB" and
// "64 MB" without saying whether MB means 10^6 or 2^20 bytes, so the planner
// keeps to the range that satisfies both readings.
const (
	// MinChunkSize is the smallest chunk TikTok accepts (5 MiB, the larger
	// reading of "5 MB"). Files smaller than this go up whole.
	MinChunkSize int64 = 5 * 1024 * 1024
	// MaxChunkSize is the largest chunk (64,000,000 bytes, the smaller
	// reading of "64 MB"). Files larger than this must be chunked.
	MaxChunkSize int64 = 64_000_000
	// MaxLastChunkSize bounds the last chunk, which takes the leftover bytes
	// (128,000,000 bytes, the smaller reading of "128 MB").
	MaxLastChunkSize int64 = 128_000_000
	// MaxChunkCount is the largest total_chunk_count TikTok accepts.
	MaxChunkCount = 1000
	// DefaultChunkSize is the chunk size PlanChunks uses for a file larger
	// than MaxChunkSize when the caller asks for none: the largest chunk,
	// 64,000,000 bytes. Every chunk is one request whose answer must come
	// back before the next chunk leaves, so fewer chunks upload faster
	// (see BenchmarkUpload1GiB); smaller ones, such as the 10,000,000 of
	// TikTok's example, resend less after a failure and keep
	// UploadReader's buffer smaller.
	DefaultChunkSize int64 = MaxChunkSize
)

// ChunkPlan says how a FILE_UPLOAD video is cut into chunks. Its three
// numbers are the video_size, chunk_size and total_chunk_count sent to
// TikTok when the post is initialised; Upload sends the chunks accordingly.
// Make one with PlanChunks.
type ChunkPlan struct {
	// VideoSize is the size of the file in bytes.
	VideoSize int64
	// ChunkSize is the size of every chunk but the last, which takes the
	// rest (so it is between ChunkSize and 2*ChunkSize-1 bytes).
	ChunkSize int64
	// TotalChunkCount is floor(VideoSize / ChunkSize), 1 to 1000.
	TotalChunkCount int
}

// PlanChunks cuts a file of size bytes into chunks of about chunk bytes the
// way TikTok's Media Transfer Guide requires:
//
//   - a file under MinChunkSize (5 MiB) goes up whole, whatever chunk says;
//   - a file of at most MaxChunkSize (64,000,000 bytes) goes up whole when
//     chunk is 0 or at least size;
//   - otherwise chunk must be between MinChunkSize and MaxChunkSize
//     (0 picks DefaultChunkSize, or half the file when that would leave a
//     single chunk), total_chunk_count = floor(size / chunk), and the last
//     chunk takes the rest, up to MaxLastChunkSize;
//   - a plan of exactly one chunk has chunk_size = size, so a file above
//     MaxChunkSize needs at least two chunks.
//
// It refuses, with an error matching ErrInvalidInput that says what would
// work, any plan TikTok would refuse: a size of 0 or less, a chunk size out
// of range, more than 1000 chunks, a single chunk above MaxChunkSize.
func PlanChunks(size, chunk int64) (ChunkPlan, error) {
	if size <= 0 {
		return ChunkPlan{}, fmt.Errorf("%w: chunk plan: video size must be positive, got %d", ErrInvalidInput, size)
	}
	if chunk < 0 {
		return ChunkPlan{}, fmt.Errorf("%w: chunk plan: chunk size must not be negative, got %d", ErrInvalidInput, chunk)
	}
	whole := ChunkPlan{VideoSize: size, ChunkSize: size, TotalChunkCount: 1}
	if size < MinChunkSize {
		return whole, nil
	}
	if size <= MaxChunkSize && (chunk == 0 || chunk >= size) {
		return whole, nil
	}
	if chunk == 0 {
		chunk = DefaultChunkSize
		if size/chunk < 2 {
			// Between one and two default chunks: two halves, since a
			// single chunk may not exceed MaxChunkSize.
			chunk = size / 2
		}
	}
	if chunk < MinChunkSize || chunk > MaxChunkSize {
		return ChunkPlan{}, fmt.Errorf("%w: chunk plan: chunk size %d is outside [%d, %d] (a file of at most %d bytes may also go whole)",
			ErrInvalidInput, chunk, MinChunkSize, MaxChunkSize, MaxChunkSize)
	}
	count := size / chunk
	if count > MaxChunkCount {
		need := ceilDiv(size+1, MaxChunkCount+1)
		if need > MaxChunkSize {
			return ChunkPlan{}, fmt.Errorf("%w: chunk plan: %d bytes make more than %d chunks even of %d bytes",
				ErrInvalidInput, size, MaxChunkCount, MaxChunkSize)
		}
		return ChunkPlan{}, fmt.Errorf("%w: chunk plan: %d bytes in chunks of %d make %d chunks, more than %d; use chunks of at least %d bytes",
			ErrInvalidInput, size, chunk, count, MaxChunkCount, need)
	}
	if count == 1 {
		if size > MaxChunkSize {
			return ChunkPlan{}, fmt.Errorf("%w: chunk plan: chunk size %d leaves a single chunk of %d bytes, above %d; use chunks of at most %d bytes",
				ErrInvalidInput, chunk, size, MaxChunkSize, size/2)
		}
		return whole, nil
	}
	p := ChunkPlan{VideoSize: size, ChunkSize: chunk, TotalChunkCount: int(count)}
	if last := p.lastLen(); last > MaxLastChunkSize {
		// Unreachable while chunk <= MaxChunkSize (the last chunk is under
		// 2*chunk), kept so the rule stays written down.
		return ChunkPlan{}, fmt.Errorf("%w: chunk plan: last chunk of %d bytes is above %d", ErrInvalidInput, last, MaxLastChunkSize)
	}
	return p, nil
}

// Validate checks a plan made by hand (or decoded from storage) against the
// same rules as PlanChunks. A plan from PlanChunks is always valid.
func (p ChunkPlan) Validate() error {
	if p.VideoSize <= 0 || p.ChunkSize <= 0 || p.TotalChunkCount < 1 {
		return fmt.Errorf("%w: chunk plan: sizes and count must be positive: %+v", ErrInvalidInput, p)
	}
	if p.TotalChunkCount == 1 {
		if p.ChunkSize != p.VideoSize {
			return fmt.Errorf("%w: chunk plan: a single chunk must have chunk_size = video_size (%d), got %d",
				ErrInvalidInput, p.VideoSize, p.ChunkSize)
		}
		if p.VideoSize > MaxChunkSize {
			return fmt.Errorf("%w: chunk plan: a file of %d bytes must be chunked (more than %d)", ErrInvalidInput, p.VideoSize, MaxChunkSize)
		}
		return nil
	}
	want, err := PlanChunks(p.VideoSize, p.ChunkSize)
	if err != nil {
		return err
	}
	if want != p {
		return fmt.Errorf("%w: chunk plan: %d bytes in chunks of %d make %d chunks, not %d",
			ErrInvalidInput, p.VideoSize, p.ChunkSize, want.TotalChunkCount, p.TotalChunkCount)
	}
	return nil
}

// Chunk returns the byte range of chunk i (0-based): its first byte and its
// length. It panics when i is out of range, like a slice index.
func (p ChunkPlan) Chunk(i int) (first, length int64) {
	if i < 0 || i >= p.TotalChunkCount {
		panic(fmt.Sprintf("client: chunk index %d out of range [0, %d)", i, p.TotalChunkCount))
	}
	first = int64(i) * p.ChunkSize
	if i == p.TotalChunkCount-1 {
		return first, p.VideoSize - first
	}
	return first, p.ChunkSize
}

// chunkAt returns the index of the chunk holding byte offset off
// (0 <= off < VideoSize).
func (p ChunkPlan) chunkAt(off int64) int {
	return int(min(off/p.ChunkSize, int64(p.TotalChunkCount-1)))
}

// lastLen is the length of the last chunk.
func (p ChunkPlan) lastLen() int64 {
	return p.VideoSize - int64(p.TotalChunkCount-1)*p.ChunkSize
}

// maxLen is the length of the largest chunk (the last one).
func (p ChunkPlan) maxLen() int64 { return p.lastLen() }

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
