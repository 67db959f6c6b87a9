package client_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// noise is a deterministic pseudo-random file of any size that is never
// stored: byte i is byte i of AES-CTR's key stream for the seed, so any
// range can be produced on demand (io.ReaderAt) at memory speed. Sequential
// reads continue one key stream, so reading allocates nothing.
type noise struct {
	block cipher.Block
	size  int64

	mu     sync.Mutex
	stream cipher.Stream // positioned at next
	next   int64
}

func newNoise(seed string, size int64) *noise {
	key := sha256.Sum256([]byte(seed))
	b, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err)
	}
	return &noise{block: b, size: size}
}

func (n *noise) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("noise: negative offset")
	}
	if off >= n.size {
		return 0, io.EOF
	}
	k := len(p)
	if rest := n.size - off; int64(k) > rest {
		k = int(rest)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stream == nil || off != n.next {
		var iv [aes.BlockSize]byte
		binary.BigEndian.PutUint64(iv[8:], uint64(off/aes.BlockSize))
		n.stream = cipher.NewCTR(n.block, iv[:])
		if skip := int(off % aes.BlockSize); skip > 0 {
			var tmp [aes.BlockSize]byte
			n.stream.XORKeyStream(tmp[:skip], tmp[:skip])
		}
	}
	dst := p[:k]
	clear(dst)
	n.stream.XORKeyStream(dst, dst)
	n.next = off + int64(k)
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// sum returns the hex SHA-256 of the whole file.
func (n *noise) sum(t testing.TB) string {
	t.Helper()
	h := sha256.New()
	_, err := io.Copy(h, io.NewSectionReader(n, 0, n.size))
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func TestNoiseIsPositionAddressable(t *testing.T) {
	n := newNoise("x", 1000)
	whole := make([]byte, 1000)
	_, err := n.ReadAt(whole, 0)
	require.NoError(t, err)
	part := make([]byte, 100)
	_, err = n.ReadAt(part, 437)
	require.NoError(t, err)
	assert.Equal(t, whole[437:537], part)
	k, err := n.ReadAt(part, 950)
	assert.Equal(t, 50, k)
	assert.ErrorIs(t, err, io.EOF)
	assert.NotEqual(t, whole[:16], whole[16:32])
}

// largeUploadSize is the size of the large upload tests, 300 MB. The file
// is generated as it is read and streamed, so it costs no memory and little
// time, even under -race.
const largeUploadSize = 300_000_000

// initUpload starts a direct post of size bytes at the emulator and returns
// the upload URL, the plan and the publish ID.
func initUpload(t testing.TB, emu *tiktoktest.Server, uc *client.UserClient, size, chunk int64) (string, client.ChunkPlan, string) {
	t.Helper()
	plan, err := client.PlanChunks(size, chunk)
	require.NoError(t, err)
	res, err := uc.DirectPostVideo(context.Background(), client.DirectPostRequest{
		PostInfo: client.VideoPostInfo{PrivacyLevel: client.PrivacySelfOnly},
		Source:   client.VideoSource{Kind: client.SourceFileUpload, Plan: plan},
	})
	require.NoError(t, err)
	return res.UploadURL, plan, res.PublishID
}

// progressLog records progress calls and checks they never go backwards.
type progressLog struct {
	t     testing.TB
	mu    sync.Mutex
	calls int
	last  int64
	total int64
}

func (p *progressLog) fn(sent, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.GreaterOrEqual(p.t, sent, p.last, "progress goes forward")
	p.calls++
	p.last, p.total = sent, total
}

func TestUploadLarge(t *testing.T) {
	emu, c := mediaEmu(t)
	uc := mediaUser(t, emu, c, mediaAlice)
	size := int64(largeUploadSize)
	file := newNoise("large", size)
	url, plan, id := initUpload(t, emu, uc, size, 10_000_000)
	require.Equal(t, int(size/10_000_000), plan.TotalChunkCount)

	pl := &progressLog{t: t}
	require.NoError(t, c.Upload(context.Background(), url, file, size, plan, client.UploadOptions{Progress: pl.fn}))

	info, ok := emu.Publish(id)
	require.True(t, ok)
	up := info.Upload
	assert.True(t, up.Complete)
	assert.Equal(t, size, up.ReceivedBytes)
	assert.Equal(t, plan.TotalChunkCount, up.ChunksReceived)
	assert.Equal(t, plan.TotalChunkCount, up.Requests, "one PUT per chunk")
	assert.Equal(t, size, up.BytesRead, "every byte sent once")
	assert.Zero(t, up.Refused+up.Discarded)
	assert.Equal(t, file.sum(t), up.SHA256)
	assert.Equal(t, plan.TotalChunkCount, pl.calls)
	assert.Equal(t, size, pl.last)
	assert.Equal(t, size, pl.total)

	st, err := uc.WaitForPublish(context.Background(), id, client.WaitOptions{Sleep: func(context.Context, time.Duration) error { return nil }})
	require.NoError(t, err)
	assert.Equal(t, client.PublishComplete, st.Status)
	assert.Equal(t, size, st.UploadedBytes)
}

// TestUploadSurvivesFaults: a connection dropped in the middle of a chunk,
// 5xx answers, and answers lost after the chunk was kept (the retry meets
// 416 and moves on), the last chunk included. The file still arrives
// whole, each chunk kept once, in order.
func TestUploadSurvivesFaults(t *testing.T) {
	for _, variant := range []string{"ReaderAt", "Reader"} {
		t.Run(variant, func(t *testing.T) {
			emu, c := mediaEmu(t)
			uc := mediaUser(t, emu, c, mediaAlice)
			size := int64(largeUploadSize)
			file := newNoise("faults "+variant, size)
			url, plan, id := initUpload(t, emu, uc, size, 6_000_000)
			last := plan.TotalChunkCount - 1
			emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 1, DropAfter: 1_000_000, Times: 1})
			emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 2, Status: http.StatusServiceUnavailable, Times: 2})
			emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 3, LoseResponse: true, Times: 1})
			emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 5, Status: http.StatusInternalServerError, Times: 1})
			emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 5, DropAfter: 5_999_999, Times: 1})
			emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: last, LoseResponse: true, Times: 1})

			pl := &progressLog{t: t}
			opts := client.UploadOptions{Progress: pl.fn}
			var err error
			if variant == "ReaderAt" {
				err = c.Upload(context.Background(), url, file, size, plan, opts)
			} else {
				r := struct{ io.Reader }{io.NewSectionReader(file, 0, size)} // hides ReadAt
				err = c.UploadReader(context.Background(), url, r, size, plan, opts)
			}
			require.NoError(t, err)

			info, _ := emu.Publish(id)
			up := info.Upload
			assert.True(t, up.Complete)
			assert.Equal(t, plan.TotalChunkCount, up.ChunksReceived, "each chunk kept exactly once")
			assert.Equal(t, size, up.ReceivedBytes)
			assert.Equal(t, file.sum(t), up.SHA256, "in order, nothing twice, nothing missing")
			assert.Equal(t, 5, up.Discarded, "two drops and three 5xx answers")
			assert.Equal(t, 2, up.Refused, "one 416 after each lost answer")
			assert.Equal(t, plan.TotalChunkCount+7, up.Requests)
			assert.Equal(t, size, pl.last)
		})
	}
}

func TestUploadErrors(t *testing.T) {
	emu, c := mediaEmu(t)
	// One token starts more direct posts than TikTok's 6 a minute: the
	// quota is not what this test checks.
	require.NoError(t, emu.SetQuota(tiktoktest.EndpointVideoInit, tiktoktest.Quota{}))
	uc := mediaUser(t, emu, c, mediaAlice)
	ctx := context.Background()
	file := newNoise("small", 12_000_000)

	t.Run("bad arguments", func(t *testing.T) {
		url, plan, _ := initUpload(t, emu, uc, 12_000_000, 6_000_000)
		for name, call := range map[string]func() error{
			"size differs from plan": func() error { return c.Upload(ctx, url, file, 11, plan, client.UploadOptions{}) },
			"invalid plan": func() error {
				return c.Upload(ctx, url, file, 12_000_000, client.ChunkPlan{VideoSize: 12_000_000, ChunkSize: 6_000_000, TotalChunkCount: 3}, client.UploadOptions{})
			},
			"nil reader":    func() error { return c.Upload(ctx, url, nil, 12_000_000, plan, client.UploadOptions{}) },
			"nil io.Reader": func() error { return c.UploadReader(ctx, url, nil, 12_000_000, plan, client.UploadOptions{}) },
			"content type": func() error {
				return c.Upload(ctx, url, file, 12_000_000, plan, client.UploadOptions{ContentType: "video/avi"})
			},
			"relative URL":     func() error { return c.Upload(ctx, "/upload/?x=1", file, 12_000_000, plan, client.UploadOptions{}) },
			"non-http URL":     func() error { return c.Upload(ctx, "ftp://h/x", file, 12_000_000, plan, client.UploadOptions{}) },
			"unparseable URL:": func() error { return c.Upload(ctx, "http://[::1", file, 12_000_000, plan, client.UploadOptions{}) },
		} {
			assert.ErrorIs(t, call(), client.ErrInvalidInput, name)
		}
	})
	t.Run("unknown upload", func(t *testing.T) {
		url, plan, _ := initUpload(t, emu, uc, 12_000_000, 6_000_000)
		err := c.Upload(ctx, strings.Replace(url, "upload_token=", "upload_token=x", 1), file, 12_000_000, plan, client.UploadOptions{})
		var ue *client.UploadError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, http.StatusNotFound, ue.StatusCode)
		assert.ErrorIs(t, err, client.ErrUploadNotFound)
		assert.Contains(t, err.Error(), "Unknown upload")
	})
	t.Run("expired upload url", func(t *testing.T) {
		url, plan, _ := initUpload(t, emu, uc, 12_000_000, 6_000_000)
		emu.AdvanceClock(61 * time.Minute)
		defer emu.SetClock(nil)
		err := c.Upload(ctx, url, file, 12_000_000, plan, client.UploadOptions{})
		assert.ErrorIs(t, err, client.ErrUploadExpired)
	})
	t.Run("5xx until the retries run out", func(t *testing.T) {
		url, plan, id := initUpload(t, emu, uc, 12_000_000, 6_000_000)
		emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 1, Status: http.StatusBadGateway})
		defer emu.ClearUploadFaults()
		err := c.Upload(ctx, url, file, 12_000_000, plan, client.UploadOptions{MaxChunkRetries: 2})
		var ue *client.UploadError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, 1, ue.Chunk)
		assert.Equal(t, int64(6_000_000), ue.Offset)
		assert.ErrorIs(t, err, client.ErrServer)
		info, _ := emu.Publish(id)
		assert.Equal(t, 1+3, info.Upload.Requests, "chunk 0, then chunk 1 three times")

		url, plan, id = initUpload(t, emu, uc, 12_000_000, 6_000_000)
		err = c.Upload(ctx, url, file, 12_000_000, plan, client.UploadOptions{MaxChunkRetries: -1})
		assert.ErrorIs(t, err, client.ErrServer)
		info, _ = emu.Publish(id)
		assert.Equal(t, 2, info.Upload.Requests, "no retry")
	})
	t.Run("source shorter than size", func(t *testing.T) {
		var rt countingTransport
		opts := client.UploadOptions{HTTPClient: &http.Client{Transport: &rt}}
		url, plan, _ := initUpload(t, emu, uc, 12_000_000, 6_000_000)
		err := c.UploadReader(ctx, url, io.LimitReader(io.NewSectionReader(file, 0, 12_000_000), 7_000_000), 12_000_000, plan, opts)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Equal(t, 2, rt.count(), "a source error is not retried")

		url, plan, _ = initUpload(t, emu, uc, 12_000_000, 6_000_000)
		err = c.Upload(ctx, url, newNoise("short", 8_000_000), 12_000_000, plan, opts)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Equal(t, 4, rt.count(), "a source error is not retried")
	})
	t.Run("source read error", func(t *testing.T) {
		url, plan, _ := initUpload(t, emu, uc, 12_000_000, 6_000_000)
		broken := errors.New("disk on fire")
		r := io.MultiReader(io.NewSectionReader(file, 0, 9_000_000), iotestErrReader{broken})
		err := c.UploadReader(ctx, url, r, 12_000_000, plan, client.UploadOptions{})
		assert.ErrorIs(t, err, broken)
	})
	t.Run("cancelled context", func(t *testing.T) {
		url, plan, id := initUpload(t, emu, uc, 12_000_000, 6_000_000)
		cctx, cancel := context.WithCancel(ctx)
		err := c.Upload(cctx, url, file, 12_000_000, plan, client.UploadOptions{Progress: func(sent, _ int64) {
			if sent > 0 {
				cancel()
			}
		}})
		assert.ErrorIs(t, err, context.Canceled)
		info, _ := emu.Publish(id)
		assert.Equal(t, 1, info.Upload.ChunksReceived)
	})
}

// countingTransport counts round trips.
type countingTransport struct {
	mu sync.Mutex
	n  int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// iotestErrReader fails every read.
type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// fakeUploadHost is an upload server of its own. It reports progress either
// as HTTP does (the last byte held) or as a byte count (the other reading
// of TikTok's docs), may keep only part of a chunk, and loses answers on
// request.
type fakeUploadHost struct {
	mu        sync.Mutex
	size      int64
	count     bool // progress as a count
	received  int64
	loseAt    map[int64]bool  // lose the answer of the PUT that starts here
	keepUpTo  map[int64]int64 // keep only up to this byte of the PUT that starts here
	ranges    []string
	redirects bool
}

func (f *fakeUploadHost) progress() string {
	n := f.received - 1
	if f.count {
		n = f.received
	}
	return "bytes 0-" + strconv.FormatInt(n, 10) + "/" + strconv.FormatInt(f.size, 10)
}

func (f *fakeUploadHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read what comes before answering, as TikTok's host does, so the
	// client sees the answer rather than a reset.
	body, _ := io.Copy(io.Discard, r.Body)
	if f.redirects {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		return
	}
	var first, last, total int64
	_, err := fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &total)
	if err != nil || r.Header.Get("Authorization") != "" || r.URL.RawQuery != "upload_id=1&upload_token=a%2Fb" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.ranges = append(f.ranges, r.Header.Get("Content-Range"))
	if first != f.received {
		w.Header().Set("Content-Range", f.progress())
		f.mu.Unlock()
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	keep := last + 1
	if k, ok := f.keepUpTo[first]; ok {
		keep = k
	}
	lose := f.loseAt[first]
	delete(f.keepUpTo, first)
	delete(f.loseAt, first)
	if body != last-first+1 {
		f.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.received = keep
	done := f.received == f.size
	w.Header().Set("Content-Range", f.progress())
	f.mu.Unlock()
	if lose {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if done {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusPartialContent)
	}
}

// TestUploadProgressReadings: progress reported as a last byte index or as
// a count (the uploader takes the reading that lands on a chunk boundary),
// a server that kept only part of a chunk (the next PUT covers the rest of
// that chunk), a lost answer resolved by 416, and the upload URL used as
// given (its escaped query intact).
func TestUploadProgressReadings(t *testing.T) {
	const size = 30_000_000
	plan, err := client.PlanChunks(size, 10_000_000)
	require.NoError(t, err)
	_, c := mediaEmu(t)
	file := newNoise("readings", size)
	tests := []struct {
		name  string
		count bool
		keep  map[int64]int64
		want  []string
	}{
		{"count reading", true, nil, []string{
			"bytes 0-9999999/30000000",         // 206 "bytes 0-10000000": a count on a boundary
			"bytes 10000000-19999999/30000000", // kept, answer lost
			"bytes 10000000-19999999/30000000", // 416 "bytes 0-20000000"
			"bytes 20000000-29999999/30000000",
		}},
		{"last byte reading, partial chunk", false, map[int64]int64{0: 7_000_000}, []string{
			"bytes 0-9999999/30000000",         // 206 "bytes 0-6999999"
			"bytes 7000000-9999999/30000000",   // the rest of chunk 0
			"bytes 10000000-19999999/30000000", // kept, answer lost
			"bytes 10000000-19999999/30000000", // 416 "bytes 0-19999999"
			"bytes 20000000-29999999/30000000",
		}},
	}
	for _, tt := range tests {
		for _, variant := range []string{"ReaderAt", "Reader"} {
			t.Run(tt.name+" "+variant, func(t *testing.T) {
				host := &fakeUploadHost{size: size, count: tt.count, loseAt: map[int64]bool{10_000_000: true}, keepUpTo: map[int64]int64{}}
				for k, v := range tt.keep {
					host.keepUpTo[k] = v
				}
				srv := mediaServer(t, host.ServeHTTP)
				url := srv.URL + "/video/?upload_id=1&upload_token=a%2Fb"
				if variant == "ReaderAt" {
					err = c.Upload(context.Background(), url, file, size, plan, client.UploadOptions{})
				} else {
					err = c.UploadReader(context.Background(), url, io.NewSectionReader(file, 0, size), size, plan, client.UploadOptions{})
				}
				require.NoError(t, err)
				assert.Equal(t, tt.want, host.ranges)
			})
		}
	}

	t.Run("redirect not followed", func(t *testing.T) {
		host := &fakeUploadHost{size: size, redirects: true}
		srv := mediaServer(t, host.ServeHTTP)
		err := c.Upload(context.Background(), srv.URL+"/video/", file, size, plan, client.UploadOptions{})
		var ue *client.UploadError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, http.StatusTemporaryRedirect, ue.StatusCode)
	})
}

// ExampleClient_Upload posts a video file: init with a chunk plan, upload
// the chunks, wait for TikTok to publish it.
func ExampleClient_Upload() {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	defer emu.Close()
	emu.SetMediaConfig(tiktoktest.MediaConfig{ProcessingPolls: -1}) // published as soon as it is uploaded
	c, _ := client.New(client.Config{ClientKey: emu.ClientKey(), ClientSecret: emu.ClientSecret(), APIURL: emu.APIURL()})
	tr, _ := emu.IssueToken(tiktoktest.DefaultUsers()[0].OpenID, client.ScopeVideoPublish)
	uc := c.WithToken(&client.Token{AccessToken: tr.AccessToken, Scopes: client.ParseScopes(tr.Scope)})
	ctx := context.Background()

	// The video: any io.ReaderAt of known size, such as an *os.File.
	video := strings.NewReader(strings.Repeat("video bytes ", 1_000_000))
	size := video.Size()

	// 0 would pick the default chunk size (this file would then go whole).
	plan, err := client.PlanChunks(size, client.MinChunkSize)
	if err != nil {
		panic(err)
	}
	res, err := uc.DirectPostVideo(ctx, client.DirectPostRequest{
		PostInfo:     client.VideoPostInfo{Title: "Hello from Go #golang", PrivacyLevel: client.PrivacySelfOnly},
		Source:       client.VideoSource{Kind: client.SourceFileUpload, Plan: plan},
		FetchCreator: true, // check the privacy level against the creator's options first
	})
	if err != nil {
		panic(err)
	}
	err = c.Upload(ctx, res.UploadURL, video, size, plan, client.UploadOptions{
		Progress: func(sent, total int64) { fmt.Printf("%d of %d bytes\n", sent, total) },
	})
	if err != nil {
		panic(err)
	}
	st, err := uc.WaitForPublish(ctx, res.PublishID, client.WaitOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(st.Status)
	// Output:
	// 5242880 of 12000000 bytes
	// 12000000 of 12000000 bytes
	// PUBLISH_COMPLETE
}
