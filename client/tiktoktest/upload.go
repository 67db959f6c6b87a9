package tiktoktest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// upload is the receiving side of one FILE_UPLOAD. It never holds the file:
// only the bytes counted and the SHA-256 state of what was kept, in order.
type upload struct {
	pub       *publish
	id, token string
	size      int64
	chunkSize int64
	chunks    int
	expires   time.Time
	received  int64  // bytes kept, always a chunk boundary
	chunksIn  int    // chunks kept
	hash      []byte // marshalled SHA-256 state of the kept bytes
	busy      bool   // a chunk is being read
	complete  bool
	requests  int
	bytesRead int64
	refused   int
	discarded int
}

// UploadState is a snapshot of one upload, for tests: what arrived, in
// which order, and what was refused.
type UploadState struct {
	UploadID        string `json:"upload_id"`
	VideoSize       int64  `json:"video_size"`
	ChunkSize       int64  `json:"chunk_size"`
	TotalChunkCount int    `json:"total_chunk_count"`
	// ReceivedBytes is how many bytes were kept: whole chunks, each
	// starting where the previous one ended.
	ReceivedBytes int64 `json:"received_bytes"`
	// ChunksReceived is how many chunks were kept.
	ChunksReceived int `json:"chunks_received"`
	// Complete is true once every chunk was kept (the PUT answered 201).
	Complete bool `json:"complete"`
	// SHA256 is the lowercase hex SHA-256 of the kept bytes, in order.
	SHA256 string `json:"sha256"`
	// Requests counts the PUTs that reached the upload, refused ones too.
	Requests int `json:"requests"`
	// BytesRead counts every body byte read, including chunks not kept.
	BytesRead int64 `json:"bytes_read"`
	// Refused counts 416 answers (a Content-Range that does not start where
	// the upload stands).
	Refused int `json:"refused"`
	// Discarded counts chunks read in full or in part but not kept (a
	// dropped connection, an injected fault, a short body).
	Discarded int `json:"discarded"`
}

func (up *upload) state() UploadState {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(up.hash); err != nil {
		panic("tiktoktest: sha256 state: " + err.Error())
	}
	return UploadState{UploadID: up.id, VideoSize: up.size, ChunkSize: up.chunkSize, TotalChunkCount: up.chunks,
		ReceivedBytes: up.received, ChunksReceived: up.chunksIn, Complete: up.complete,
		SHA256: hex.EncodeToString(h.Sum(nil)), Requests: up.requests, BytesRead: up.bytesRead,
		Refused: up.refused, Discarded: up.discarded}
}

// newUploadLocked starts the upload of a FILE_UPLOAD publish.
func (m *mediaState) newUploadLocked(p *publish, size, chunk int64, count int, expires time.Time) *upload {
	if m.uploads == nil {
		m.uploads = make(map[string]*publish)
	}
	state, err := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("tiktoktest: sha256 state: " + err.Error())
	}
	up := &upload{pub: p, size: size, chunkSize: chunk, chunks: count, expires: expires, hash: state}
	for {
		up.id = randomString(19, "0123456789")
		if m.uploads[up.id] == nil {
			break
		}
	}
	var t [16]byte
	rand.Read(t[:])
	h := hex.EncodeToString(t[:])
	up.token = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	m.uploads[up.id] = p
	return up
}

// AnyChunk makes an UploadFault apply to every chunk.
const AnyChunk = -1

// UploadFault disturbs the upload endpoint in the middle of a chunk, which
// Fault (applied before the chunk is read) cannot do. It applies to a PUT
// that would otherwise be accepted: right upload, right headers, in order.
// Precedence: DropAfter, then Status, then LoseResponse.
type UploadFault struct {
	// Chunk is the 0-based index of the chunk it hits, or AnyChunk.
	Chunk int `json:"chunk"`
	// DropAfter, when positive, reads that many bytes of the chunk (at most
	// all of it) and then closes the connection without answering. Nothing
	// of the chunk is kept.
	DropAfter int64 `json:"drop_after,omitempty"`
	// Status, when set, reads the whole chunk, keeps nothing, and answers
	// this status with TikTok's error envelope (500, 503, ...).
	Status int `json:"status,omitempty"`
	// LoseResponse keeps the chunk and then closes the connection without
	// answering, as if the answer were lost on the way: the client sees an
	// error, and its retry gets 416 with the progress.
	LoseResponse bool `json:"lose_response,omitempty"`
	// Times is how many chunks it hits; 0 means until cleared.
	Times int `json:"times,omitempty"`
}

// InjectUploadFault adds an upload fault. Several may be active; a chunk
// takes the first one that matches it.
func (s *Server) InjectUploadFault(f UploadFault) {
	s.media.mu.Lock()
	s.media.faults = append(s.media.faults, &f)
	s.media.mu.Unlock()
}

// ClearUploadFaults removes every upload fault.
func (s *Server) ClearUploadFaults() {
	s.media.mu.Lock()
	s.media.faults = nil
	s.media.mu.Unlock()
}

// takeUploadFaultLocked returns a copy of the first fault matching chunk i
// and uses one of its Times.
func (m *mediaState) takeUploadFaultLocked(i int) *UploadFault {
	for k, f := range m.faults {
		if f.Chunk != AnyChunk && f.Chunk != i {
			continue
		}
		c := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				m.faults = slices.Delete(m.faults, k, k+1)
			}
		}
		return &c
	}
	return nil
}

// uploadContentTypes are the types TikTok accepts for a video chunk.
var uploadContentTypes = []string{"video/mp4", "video/quicktime", "video/webm"}

// contentRangeRE matches "bytes first-last/total".
var contentRangeRE = regexp.MustCompile(`^bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})$`)

// maxUploadDrain bounds how much of a refused chunk is read and thrown away
// to keep the connection usable.
const maxUploadDrain = maxLastChunk

// progressRange is the Content-Range that reports progress: "bytes
// 0-<last kept byte>/<size>", or "bytes */<size>" before the first chunk.
func progressRange(up *upload) string {
	if up.received == 0 {
		return "bytes */" + strconv.FormatInt(up.size, 10)
	}
	return "bytes 0-" + strconv.FormatInt(up.received-1, 10) + "/" + strconv.FormatInt(up.size, 10)
}

// serveUpload answers PUT /upload/?upload_id=..&upload_token=.. as TikTok's
// upload host does (tiktok-api §5.5): 206 for a chunk kept with more to
// come, 201 for the last one, with the progress in Content-Range; 400 for
// bad headers (a Content-Type other than video/mp4, video/quicktime or
// video/webm; no Content-Length; a Content-Range that is malformed, does
// not match Content-Length or the size, or is not the plan's chunk), 403
// once the upload URL expired, 404 for an unknown upload, 416 with the
// progress for a chunk that does not start where the upload stands (or
// after it completed). It also refuses with 400 a request carrying an
// Authorization header: an access token has no business on the upload host.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["upload_id"]) != 1 || len(q["upload_token"]) != 1 {
		s.refuseUpload(w, r, nil, http.StatusNotFound, "invalid_params", "Unknown upload.")
		return
	}
	if len(r.Header.Values("Authorization")) > 0 {
		s.refuseUpload(w, r, nil, http.StatusBadRequest, "invalid_params",
			"The upload request must not carry an Authorization header.")
		return
	}
	now := s.Now()
	s.media.mu.Lock()
	p := s.media.uploads[q.Get("upload_id")]
	if p == nil || p.up.token != q.Get("upload_token") {
		s.media.mu.Unlock()
		s.refuseUpload(w, r, nil, http.StatusNotFound, "invalid_params", "Unknown upload.")
		return
	}
	up := p.up
	up.requests++
	first, length, msg := checkUploadHeaders(r, up)
	status := http.StatusBadRequest
	switch {
	case !now.Before(up.expires):
		status, msg = http.StatusForbidden, "The upload URL expired."
	case msg != "":
	case up.complete || up.busy || first != up.received:
		up.refused++
		w.Header().Set("Content-Range", progressRange(up))
		status, msg = http.StatusRequestedRangeNotSatisfiable, "The Content-Range does not match the upload progress."
	}
	if msg != "" {
		s.media.mu.Unlock()
		s.refuseUpload(w, r, up, status, "invalid_params", msg)
		return
	}
	chunk := int(min(first/up.chunkSize, int64(up.chunks-1)))
	want := up.chunkSize
	if chunk == up.chunks-1 {
		want = up.size - first
	}
	if first != int64(chunk)*up.chunkSize || length != want {
		s.media.mu.Unlock()
		s.refuseUpload(w, r, up, http.StatusBadRequest, "invalid_params",
			fmt.Sprintf("The Content-Range does not match chunk %d of the plan (%d bytes).", chunk, want))
		return
	}
	fault := s.media.takeUploadFaultLocked(chunk)
	up.busy = true
	state := slices.Clone(up.hash)
	s.media.mu.Unlock()

	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic("tiktoktest: sha256 state: " + err.Error())
	}
	toRead := length
	if fault != nil && fault.DropAfter > 0 {
		toRead = min(fault.DropAfter, length)
	}
	n, err := io.Copy(h, io.LimitReader(r.Body, toRead))

	s.media.mu.Lock()
	up.busy = false
	up.bytesRead += n
	keep := err == nil && n == length && (fault == nil || (fault.DropAfter <= 0 && fault.Status == 0))
	if !keep {
		up.discarded++
	} else {
		st, merr := h.(encoding.BinaryMarshaler).MarshalBinary()
		if merr != nil {
			panic("tiktoktest: sha256 state: " + merr.Error())
		}
		up.hash = st
		up.received += length
		up.chunksIn++
		if up.received == up.size {
			up.complete = true
			p.mediaIn = true
		}
	}
	progress, complete := progressRange(up), up.complete
	s.media.mu.Unlock()

	switch {
	case fault != nil && fault.DropAfter > 0:
		dropConnection(w)
	case err != nil || n != length:
		// The body ended early: the client is gone or lied about the length.
		s.writeAPIError(w, http.StatusBadRequest, "invalid_params", "The body is shorter than Content-Length.")
	case fault != nil && fault.Status != 0:
		s.writeAPIError(w, fault.Status, codeForStatus(EndpointUpload, fault.Status), describe(codeForStatus(EndpointUpload, fault.Status)))
	case fault != nil && fault.LoseResponse:
		dropConnection(w)
	default:
		w.Header().Set("Content-Range", progress)
		w.Header().Set("Content-Length", "0")
		if complete {
			w.WriteHeader(http.StatusCreated)
		} else {
			w.WriteHeader(http.StatusPartialContent)
		}
	}
}

// checkUploadHeaders validates a chunk's headers against the upload and
// returns its first byte and length, or a message saying what is wrong.
func checkUploadHeaders(r *http.Request, up *upload) (first, length int64, msg string) {
	if !slices.Contains(uploadContentTypes, r.Header.Get("Content-Type")) {
		return 0, 0, "The Content-Type must be video/mp4, video/quicktime or video/webm."
	}
	if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
		return 0, 0, "The Content-Length header is required."
	}
	cr := r.Header.Values("Content-Range")
	var m []string
	if len(cr) == 1 {
		m = contentRangeRE.FindStringSubmatch(cr[0])
	}
	if m == nil {
		return 0, 0, "The Content-Range header must be bytes first-last/total."
	}
	first, err1 := strconv.ParseInt(m[1], 10, 64)
	last, err2 := strconv.ParseInt(m[2], 10, 64)
	total, err3 := strconv.ParseInt(m[3], 10, 64)
	switch {
	case err1 != nil || err2 != nil || err3 != nil || last < first:
		return 0, 0, "The Content-Range header is invalid."
	case total != up.size || last >= total:
		return 0, 0, "The Content-Range total does not match video_size."
	case last-first+1 != r.ContentLength:
		return 0, 0, "The Content-Length does not match the Content-Range."
	}
	return first, last - first + 1, ""
}

// refuseUpload reads and drops what the client sends (so it sees the answer
// rather than a reset) and answers an error.
func (s *Server) refuseUpload(w http.ResponseWriter, r *http.Request, up *upload, status int, code, msg string) {
	n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxUploadDrain))
	if up != nil {
		s.media.mu.Lock()
		up.bytesRead += n
		s.media.mu.Unlock()
	}
	s.writeAPIError(w, status, code, msg)
}

// ctlInjectUploadFault serves POST /_emulator/upload-faults (JSON
// UploadFault).
func (s *Server) ctlInjectUploadFault(w http.ResponseWriter, r *http.Request) {
	var f UploadFault
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("tiktoktest: upload fault JSON: %w", err))
		return
	}
	if f.Chunk < AnyChunk || f.Times < 0 || f.DropAfter < 0 || f.Status != 0 && (f.Status < 100 || f.Status > 999) {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("tiktoktest: invalid upload fault %+v", f))
		return
	}
	s.InjectUploadFault(f)
	ctlOK(w)
}

// ctlClearUploadFaults serves DELETE /_emulator/upload-faults.
func (s *Server) ctlClearUploadFaults(w http.ResponseWriter, r *http.Request) {
	s.ClearUploadFaults()
	ctlOK(w)
}
