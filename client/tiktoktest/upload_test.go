package tiktoktest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

const (
	mChunk = 5 << 20          // 5 MiB, the smallest chunk
	mSize  = 3*mChunk + 1_234 // three chunks, the last one larger
)

// mUpload starts a FILE_UPLOAD of mSize bytes in chunks of mChunk and
// returns the upload URL and publish ID.
func mUpload(t testing.TB, emu *tiktoktest.Server) (string, string) {
	t.Helper()
	d := mInitOK(t, mCall(t, emu, "POST", "/v2/post/publish/video/init/", mToken(t, emu, mAlice, "video.publish"),
		mFileBody("SELF_ONLY", mSize, mChunk, 3)))
	require.NotEmpty(t, d.UploadURL)
	return d.UploadURL, d.PublishID
}

// mFile is the file the upload tests send.
func mFile() []byte {
	b := make([]byte, mSize)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(b)
	return b
}

// mPut sends bytes [first, last] of file with the given Content-Range
// (default: the matching one) and extra headers.
func mPut(t testing.TB, url string, file []byte, first, last int64, header ...string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(file[first:last+1]))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "video/mp4")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(file)))
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	// A fresh connection per request, so a dropped one never affects the
	// next request of the test.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func mPutOK(t testing.TB, url string, file []byte, first, last int64, status int, progress string) {
	t.Helper()
	resp, err := mPut(t, url, file, first, last)
	require.NoError(t, err)
	assert.Equal(t, status, resp.StatusCode)
	assert.Equal(t, progress, resp.Header.Get("Content-Range"))
}

func mSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestUploadInOrder(t *testing.T) {
	emu := mEmu(t)
	url, id := mUpload(t, emu)
	file := mFile()

	// Out of order before anything arrived: 416 with "nothing yet".
	mPutOK(t, url, file, mChunk, 2*mChunk-1, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("bytes */%d", mSize))
	mPutOK(t, url, file, 0, mChunk-1, http.StatusPartialContent, fmt.Sprintf("bytes 0-%d/%d", mChunk-1, mSize))
	// The same chunk again (a retry after a lost answer): 416, progress.
	mPutOK(t, url, file, 0, mChunk-1, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("bytes 0-%d/%d", mChunk-1, mSize))
	mPutOK(t, url, file, mChunk, 2*mChunk-1, http.StatusPartialContent, fmt.Sprintf("bytes 0-%d/%d", 2*mChunk-1, mSize))
	mPutOK(t, url, file, 2*mChunk, mSize-1, http.StatusCreated, fmt.Sprintf("bytes 0-%d/%d", mSize-1, mSize))
	// After completion, everything is 416 with the full range.
	mPutOK(t, url, file, 2*mChunk, mSize-1, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("bytes 0-%d/%d", mSize-1, mSize))

	info, ok := emu.Publish(id)
	require.True(t, ok)
	assert.Equal(t, tiktoktest.UploadState{UploadID: info.Upload.UploadID, VideoSize: mSize, ChunkSize: mChunk, TotalChunkCount: 3,
		ReceivedBytes: mSize, ChunksReceived: 3, Complete: true, SHA256: mSum(file), Requests: 6,
		BytesRead: 2 * mSize, Refused: 3}, *info.Upload)
}

func TestUploadStrictHeaders(t *testing.T) {
	emu := mEmu(t)
	url, id := mUpload(t, emu)
	file := mFile()
	tests := []struct {
		name        string
		url         string
		first, last int64
		header      []string
		status      int
	}{
		{"unknown upload id", strings.Replace(url, "upload_id=", "upload_id=9", 1), 0, mChunk - 1, nil, 404},
		{"wrong upload token", strings.Replace(url, "upload_token=", "upload_token=0", 1), 0, mChunk - 1, nil, 404},
		{"no query", strings.Split(url, "?")[0], 0, mChunk - 1, nil, 404},
		{"bearer token sent to the upload host", url, 0, mChunk - 1, []string{"Authorization", "Bearer act.x"}, 400},
		{"content type", url, 0, mChunk - 1, []string{"Content-Type", "application/octet-stream"}, 400},
		{"no content range", url, 0, mChunk - 1, []string{"Content-Range", ""}, 400},
		{"content range with a unit other than bytes", url, 0, mChunk - 1, []string{"Content-Range", fmt.Sprintf("items 0-%d/%d", mChunk-1, mSize)}, 400},
		{"total differs from video_size", url, 0, mChunk - 1, []string{"Content-Range", fmt.Sprintf("bytes 0-%d/%d", mChunk-1, mSize+1)}, 400},
		{"range longer than the body", url, 0, mChunk - 1, []string{"Content-Range", fmt.Sprintf("bytes 0-%d/%d", mChunk, mSize)}, 400},
		{"half a chunk", url, 0, mChunk/2 - 1, nil, 400},
		{"two chunks at once", url, 0, 2*mChunk - 1, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := mPut(t, tt.url, file, tt.first, tt.last, tt.header...)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
		})
	}
	info, _ := emu.Publish(id)
	assert.Zero(t, info.Upload.ReceivedBytes, "nothing kept")
	assert.Equal(t, 7, info.Upload.Requests, "the three 404s and the bearer never reached the upload")

	t.Run("chunked transfer encoding", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPut, url, io.MultiReader(bytes.NewReader(file[:mChunk])))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "video/mp4")
		req.Header.Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", mChunk-1, mSize))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("expired upload url", func(t *testing.T) {
		url, _ := mUpload(t, emu)
		emu.AdvanceClock(time.Hour)
		resp, err := mPut(t, url, file, 0, mChunk-1)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

func TestUploadFaults(t *testing.T) {
	emu := mEmu(t)
	url, id := mUpload(t, emu)
	file := mFile()
	state := func() tiktoktest.UploadState {
		info, _ := emu.Publish(id)
		return *info.Upload
	}

	emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 0, DropAfter: 1 << 20, Times: 1})
	_, err := mPut(t, url, file, 0, mChunk-1)
	require.Error(t, err, "the connection is dropped mid-chunk")
	st := state()
	assert.Zero(t, st.ReceivedBytes)
	assert.Equal(t, 1, st.Discarded)
	assert.GreaterOrEqual(t, st.BytesRead, int64(1<<20))

	emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: tiktoktest.AnyChunk, Status: http.StatusServiceUnavailable, Times: 1})
	resp, err := mPut(t, url, file, 0, mChunk-1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Zero(t, state().ReceivedBytes, "a 5xx chunk is not kept")

	emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 0, LoseResponse: true, Times: 1})
	_, err = mPut(t, url, file, 0, mChunk-1)
	require.Error(t, err, "the answer is lost")
	assert.Equal(t, int64(mChunk), state().ReceivedBytes, "but the chunk was kept")
	resp, err = mPut(t, url, file, 0, mChunk-1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	assert.Equal(t, fmt.Sprintf("bytes 0-%d/%d", mChunk-1, mSize), resp.Header.Get("Content-Range"))

	// A fault for another chunk leaves this one alone; the generic Fault
	// works on the upload endpoint too.
	emu.InjectUploadFault(tiktoktest.UploadFault{Chunk: 2, Status: 500})
	mPutOK(t, url, file, mChunk, 2*mChunk-1, http.StatusPartialContent, fmt.Sprintf("bytes 0-%d/%d", 2*mChunk-1, mSize))
	resp, err = mPut(t, url, file, 2*mChunk, mSize-1)
	require.NoError(t, err)
	assert.Equal(t, 500, resp.StatusCode, "Times 0: until cleared")
	emu.ClearUploadFaults()
	// (A generic fault answers before reading the chunk, so the client may
	// see a reset rather than the status; Drop makes that certain.)
	emu.InjectFault(tiktoktest.EndpointUpload, tiktoktest.Fault{Drop: true, Times: 1})
	_, err = mPut(t, url, file, 2*mChunk, mSize-1)
	require.Error(t, err)
	mPutOK(t, url, file, 2*mChunk, mSize-1, http.StatusCreated, fmt.Sprintf("bytes 0-%d/%d", mSize-1, mSize))

	st = state()
	assert.True(t, st.Complete)
	assert.Equal(t, mSum(file), st.SHA256, "each chunk kept once, in order")
	assert.Equal(t, 3, st.ChunksReceived)
	assert.Equal(t, 3, st.Discarded)
	assert.Equal(t, 8, emu.Calls(tiktoktest.EndpointUpload))

	// The status reports the upload, then the publish completes.
	tok := mToken(t, emu, mAlice, "video.publish")
	s := mStatusOf(t, emu, tok, id)
	assert.Equal(t, "PROCESSING_UPLOAD", s.Status)
	assert.Equal(t, int64(mSize), s.UploadedBytes)
	assert.Equal(t, "PUBLISH_COMPLETE", mStatusOf(t, emu, tok, id).Status)
	assert.Empty(t, mStatusOf(t, emu, tok, id).PublicPostIDs, "a SELF_ONLY post has no public post")
}

// TestUploadConcurrentPut: a second PUT for the chunk being read is refused
// with 416, so a chunk can never be kept twice.
func TestUploadConcurrentPut(t *testing.T) {
	emu := mEmu(t)
	url, id := mUpload(t, emu)
	file := mFile()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, url, pr)
	require.NoError(t, err)
	req.ContentLength = mChunk
	req.Header.Set("Content-Type", "video/mp4")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", mChunk-1, mSize))
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		resp.Body.Close()
		done <- resp
	}()
	// Half the chunk is on its way; the emulator is reading it.
	_, err = pw.Write(file[:mChunk/2])
	require.NoError(t, err)
	for {
		info, _ := emu.Publish(id)
		if info.Upload.Requests == 1 && info.Upload.BytesRead == 0 {
			break // the first PUT is in the handler (bytes are counted when the chunk ends)
		}
	}
	resp, err := mPut(t, url, file, 0, mChunk-1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	_, err = pw.Write(file[mChunk/2 : mChunk])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	first := <-done
	require.NotNil(t, first)
	assert.Equal(t, http.StatusPartialContent, first.StatusCode)
	info, _ := emu.Publish(id)
	assert.Equal(t, 1, info.Upload.ChunksReceived)
}
