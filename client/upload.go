package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultUploadContentType is the Content-Type of uploaded chunks when
// UploadOptions.ContentType is empty.
const DefaultUploadContentType = "video/mp4"

// DefaultMaxChunkRetries is how many times a chunk is retried by default.
const DefaultMaxChunkRetries = 3

// UploadOptions tune Upload and UploadReader.
type UploadOptions struct {
	// ContentType is the video's type: video/mp4, video/quicktime or
	// video/webm. Default DefaultUploadContentType (video/mp4).
	ContentType string
	// Progress, when set, is called after every chunk TikTok acknowledged
	// (and when a 416 answer moves the upload to the server's position)
	// with the bytes TikTok holds and the total size. It runs on the
	// uploading goroutine; keep it short.
	Progress func(sent, total int64)
	// MaxChunkRetries is how many times one chunk is sent again after a
	// 5xx, a 429 or a dropped connection, with exponential backoff and
	// jitter (Config.Retry's delays; Retry-After honoured up to MaxDelay).
	// 0 means DefaultMaxChunkRetries (3); a negative value disables retries.
	MaxChunkRetries int
	// HTTPClient sends the chunks. Default: Config.HTTPClient's transport,
	// without its overall timeout (a 64 MB chunk may take longer than 30s
	// on a slow link; use ctx for deadlines), never following redirects.
	HTTPClient *http.Client
}

// Upload errors, for errors.Is on an *UploadError.
var (
	// ErrUploadExpired: the upload host answered 403; the upload_url is
	// valid for one hour after the init call.
	ErrUploadExpired = errors.New("client: upload url expired")
	// ErrUploadNotFound: the upload host answered 404 (no such upload).
	ErrUploadNotFound = errors.New("client: upload not found")
)

// UploadError reports an upload that could not finish: a refusal by the
// upload host, or a chunk that kept failing after its retries.
type UploadError struct {
	// Chunk is the 0-based index of the chunk being sent.
	Chunk int
	// Offset is where the failing request started.
	Offset int64
	// StatusCode is the last HTTP status, 0 when no answer came.
	StatusCode int
	// Snippet is the start of the last answer's body, sanitised.
	Snippet string
	// Err is the cause: a network error, ErrServer, ErrRateLimited, or a
	// description of an answer the uploader cannot use.
	Err error
}

// Error returns "client: upload: chunk <i> at byte <off>: HTTP <status>: <cause>".
func (e *UploadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client: upload: chunk %d at byte %d", e.Chunk, e.Offset)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	writeCause(&b, e.Err, e.Snippet)
	return b.String()
}

// Unwrap returns the cause.
func (e *UploadError) Unwrap() error { return e.Err }

// Is maps 403 onto ErrUploadExpired, 404 onto ErrUploadNotFound, 5xx onto
// ErrServer and 429 onto ErrRateLimited.
func (e *UploadError) Is(target error) bool {
	switch target {
	case ErrUploadExpired:
		return e.StatusCode == http.StatusForbidden
	case ErrUploadNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrServer:
		return e.StatusCode >= 500
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// Upload sends a FILE_UPLOAD video to uploadURL, the upload_url of
// DirectPostVideo or UploadVideoToInbox, following plan (the one sent at
// init; plan.VideoSize must equal size). Chunks go in order, one PUT each,
// with Content-Type, Content-Length and Content-Range "bytes
// first-last/total"; 206 means "next chunk", 201 "all received". A chunk is
// sent again after a 5xx, a 429 or a dropped connection (up to
// opts.MaxChunkRetries times, with backoff); a 416 answer moves the upload
// to the position the server reports in its Content-Range header (which
// also makes a chunk whose answer was lost count once). Chunks are streamed
// from r with io.NewSectionReader: nothing is buffered. uploadURL is used
// exactly as given, query included; it is not an API call, so no bearer
// token is sent. ctx cancels the upload at once. Errors are *UploadError
// (ErrUploadExpired, ErrUploadNotFound, ErrServer, ...), ErrInvalidInput for
// a bad argument, a read error of r (never retried; a file shorter than
// size gives io.ErrUnexpectedEOF), or ctx's error.
func (c *Client) Upload(ctx context.Context, uploadURL string, r io.ReaderAt, size int64, plan ChunkPlan, opts UploadOptions) error {
	if r == nil {
		return fmt.Errorf("%w: upload: nil reader", ErrInvalidInput)
	}
	return c.upload(ctx, uploadURL, size, plan, opts, &sectionSource{r: r})
}

// UploadReader is Upload for an io.Reader of known size, such as a request
// body being relayed. It reads r once, in order, while sending, and keeps
// what it read of the current chunk (at most one chunk: the largest is the
// last one, up to 2*ChunkSize-1 bytes) so the chunk can be sent again. If
// the server reports a position before the kept chunk, the upload fails,
// since r cannot be rewound; a reader shorter than size fails with
// io.ErrUnexpectedEOF.
func (c *Client) UploadReader(ctx context.Context, uploadURL string, r io.Reader, size int64, plan ChunkPlan, opts UploadOptions) error {
	if r == nil {
		return fmt.Errorf("%w: upload: nil reader", ErrInvalidInput)
	}
	return c.upload(ctx, uploadURL, size, plan, opts, &chunkBuffer{r: r, plan: plan})
}

// chunkAnswer is what one PUT told.
type chunkAnswer struct {
	status     int
	progress   int64 // next byte the server wants; -1 when not reported
	retryAfter time.Duration
	snippet    string
}

// upload runs the chunk loop, taking the chunks' bytes from src.
func (c *Client) upload(ctx context.Context, uploadURL string, size int64, plan ChunkPlan, opts UploadOptions, src chunkSource) error {
	if err := checkUploadURL(uploadURL); err != nil {
		return err
	}
	if size <= 0 || plan.VideoSize != size {
		return fmt.Errorf("%w: upload: size %d does not match the plan's video size %d", ErrInvalidInput, size, plan.VideoSize)
	}
	if err := plan.Validate(); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	contentType := opts.ContentType
	if contentType == "" {
		contentType = DefaultUploadContentType
	}
	if !slices.Contains([]string{"video/mp4", "video/quicktime", "video/webm"}, contentType) {
		return fmt.Errorf("%w: upload: content type must be video/mp4, video/quicktime or video/webm, got %q", ErrInvalidInput, contentType)
	}
	retries := opts.MaxChunkRetries
	switch {
	case retries == 0:
		retries = DefaultMaxChunkRetries
	case retries < 0:
		retries = 0
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = c.uploadHTTPClient()
	}
	// A bound on requests, so that a server that keeps moving the upload
	// back and forth with 416 answers cannot keep it going forever.
	budget := plan.TotalChunkCount*2 + (plan.TotalChunkCount+1)*retries + 2

	var offset int64
	failures := 0 // consecutive failed attempts at this offset
	for offset < size {
		k := plan.chunkAt(offset)
		cFirst, cLen := plan.Chunk(k)
		end := cFirst + cLen
		fail := func(status int, snippet string, cause error) error {
			return &UploadError{Chunk: k, Offset: offset, StatusCode: status, Snippet: snippet, Err: cause}
		}
		if budget--; budget < 0 {
			return fail(0, "", errors.New("client: too many requests for this plan; the server keeps moving the upload back"))
		}
		rd, err := src.section(offset, end-offset)
		if err != nil {
			return err
		}
		ans, err := c.putChunk(ctx, hc, uploadURL, rd, offset, end-offset, size, contentType, plan)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("client: upload: %w", ctxErr)
			}
			if srcErr := src.err(); srcErr != nil {
				return srcErr
			}
			if failures >= retries {
				return fail(0, "", err)
			}
			failures++
			if err := c.sleep(ctx, c.backoff(failures, 0)); err != nil {
				return fmt.Errorf("client: upload: %w", err)
			}
			continue
		}
		if c.hooks != nil && (ans.status == http.StatusCreated || ans.status == http.StatusPartialContent) {
			c.hooks.UploadBytes(ctx, end-offset)
		}
		switch s := ans.status; {
		case s == http.StatusCreated:
			if end != size && ans.progress != size {
				return fail(s, ans.snippet, fmt.Errorf("client: the server finished the upload at byte %d of %d", end, size))
			}
			offset = size
			c.progress(opts, size, size)
		case s == http.StatusPartialContent:
			next := end
			if ans.progress >= 0 {
				next = ans.progress
			}
			if next >= size && ans.progress < size {
				return fail(s, ans.snippet, errors.New("client: 206 answer to the last chunk"))
			}
			failures = 0
			offset = next
			c.progress(opts, offset, size)
		case s == http.StatusRequestedRangeNotSatisfiable:
			if ans.progress < 0 {
				return fail(s, ans.snippet, errors.New("client: 416 answer without a readable Content-Range"))
			}
			if ans.progress > offset {
				failures = 0 // the server is ahead: a lost answer
			} else {
				if failures >= retries {
					return fail(s, ans.snippet, fmt.Errorf("client: the server keeps refusing byte %d (progress %d)", offset, ans.progress))
				}
				failures++
			}
			offset = ans.progress
			c.progress(opts, offset, size)
		case s >= 500 || s == http.StatusTooManyRequests:
			if failures >= retries {
				return fail(s, ans.snippet, nil)
			}
			failures++
			if err := c.sleep(ctx, c.backoff(failures, ans.retryAfter)); err != nil {
				return fmt.Errorf("client: upload: %w", err)
			}
		default:
			return fail(s, ans.snippet, nil)
		}
	}
	return nil
}

func (c *Client) progress(opts UploadOptions, sent, total int64) {
	if opts.Progress != nil {
		opts.Progress(sent, total)
	}
}

// putChunk sends bytes [first, first+n) and reads the answer. A transport
// error is returned as is (the caller retries it).
func (c *Client) putChunk(ctx context.Context, hc *http.Client, uploadURL string, body io.Reader,
	first, n, size int64, contentType string, plan ChunkPlan) (chunkAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, body)
	if err != nil {
		return chunkAnswer{}, fmt.Errorf("%w: upload: %v", ErrInvalidInput, err)
	}
	req.ContentLength = n
	req.GetBody = nil // never let the transport resend a streamed body itself
	h := req.Header
	h["User-Agent"] = []string{c.cfg.UserAgent}
	h["Content-Type"] = []string{contentType}
	h["Content-Range"] = []string{"bytes " + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(first+n-1, 10) +
		"/" + strconv.FormatInt(size, 10)}
	resp, err := hc.Do(req)
	if err != nil {
		// The upload URL's query is a credential (upload_token): keep it
		// out of the error, which ends up in logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactQuery(ue.URL)
		}
		return chunkAnswer{}, err
	}
	defer resp.Body.Close()
	var snip []byte
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusPartialContent {
		snip, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
	}
	// Drain a little so the connection can be reused; a long body is cut.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	ans := chunkAnswer{status: resp.StatusCode, progress: -1, snippet: snippet(snip)}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		ans.retryAfter = parseRetryAfter(ra, c.clock())
	}
	if p, ok := parseProgress(resp.Header.Get("Content-Range"), size, plan); ok {
		ans.progress = p
	}
	return ans, nil
}

// parseProgress reads the upload progress from a Content-Range answer
// header: "bytes 0-<n>/<total>" or "bytes */<total>" (nothing yet). TikTok
// documents it as "bytes 0-{uploaded}/{total}" without saying whether n is
// the last byte held (HTTP's reading) or the count of bytes held. Progress
// always sits on a chunk boundary (or the end), so the reading that lands
// on one wins; when neither does, HTTP's reading is used. It returns the
// next byte the server wants.
func parseProgress(v string, size int64, plan ChunkPlan) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0, false
	}
	rng, total, ok := strings.Cut(rest, "/")
	if !ok || (total != "*" && total != strconv.FormatInt(size, 10)) {
		return 0, false
	}
	if rng == "*" {
		return 0, true
	}
	lo, hi, ok := strings.Cut(rng, "-")
	if !ok || lo != "0" {
		return 0, false
	}
	n, err := strconv.ParseInt(hi, 10, 64)
	if err != nil || n < 0 || n > size {
		return 0, false
	}
	inclusive, count := n+1, n
	boundary := func(p int64) bool {
		if p == size {
			return true
		}
		if p <= 0 || p > size {
			return false
		}
		first, _ := plan.Chunk(plan.chunkAt(p))
		return first == p
	}
	if !boundary(inclusive) && boundary(count) {
		return count, true
	}
	return min(inclusive, size), true
}

// checkUploadURL refuses what cannot be an upload URL.
func checkUploadURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: upload: %q is not an absolute http(s) URL", ErrInvalidInput, raw)
	}
	return nil
}

// uploadHTTPClient is the default client of uploads: the configured
// transport, no overall timeout, no redirects.
func (c *Client) uploadHTTPClient() *http.Client {
	return &http.Client{
		Transport: c.httpClient.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// redactQuery returns u without the values of its query.
func redactQuery(u string) string {
	base, query, ok := strings.Cut(u, "?")
	if !ok {
		return u
	}
	var b strings.Builder
	b.WriteString(base)
	b.WriteByte('?')
	for i, part := range strings.Split(query, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, _ := strings.Cut(part, "=")
		b.WriteString(name)
		b.WriteString("=REDACTED")
	}
	return b.String()
}
