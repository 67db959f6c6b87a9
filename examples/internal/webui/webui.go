// Package webui holds what the pages of the example apps share: counts
// written for people, the /videos page and its cursor, and the error pages
// for the login handlers, the guard and unknown paths, so that every
// failure gets the same styled page with a way back.
package webui

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/handlers"
	"github.com/tiktokkit/tiktokkit/middleware"
)

// Count writes n for people: digits grouped by commas up to 999,999
// ("452,107"), then millions and billions with one decimal, cut rather than
// rounded, as TikTok shows them ("1.2M", "3B"), so that 999,999,999 never
// reads as 1000M.
func Count(n int64) string {
	if n < 0 {
		// Counts are never negative; show one faithfully anyway.
		return "-" + countAbs(uint64(-(n+1))+1)
	}
	return countAbs(uint64(n))
}

func countAbs(n uint64) string {
	switch {
	case n >= 1_000_000_000:
		return tenths(n/100_000_000) + "B"
	case n >= 1_000_000:
		return tenths(n/100_000) + "M"
	}
	return groupDigits(strconv.FormatUint(n, 10))
}

// tenths writes t tenths with one decimal, or none when it is zero.
func tenths(t uint64) string {
	whole := groupDigits(strconv.FormatUint(t/10, 10))
	if f := t % 10; f != 0 {
		return whole + "." + strconv.FormatUint(f, 10)
	}
	return whole
}

// groupDigits puts commas between groups of three digits.
func groupDigits(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// VideosPerPage is how many videos one /videos page shows: TikTok's
// largest video list page.
const VideosPerPage = client.MaxVideoListCount

// ErrBadCursor is a /videos cursor that is not a number TikTok could have
// handed out.
var ErrBadCursor = errors.New("webui: bad cursor")

// ParseCursor reads the cursor query parameter of /videos: empty for the
// newest videos, else the decimal cursor of an earlier page (TikTok's,
// Unix milliseconds). Signs, spaces, other characters and numbers past
// int64 are refused with ErrBadCursor.
func ParseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) > 19 {
		return 0, ErrBadCursor
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrBadCursor
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrBadCursor
	}
	return n, nil
}

// VideosPage is one page of the user's videos.
type VideosPage struct {
	Videos []client.Video
	// Older is the URL of the next, older page; empty on the last one.
	Older string
	// Paged is true past the first page, which then links back to it.
	Paged bool
}

// LoadVideos fetches the page of the user's videos that starts at cursor
// (0: the newest) from TikTok's video list.
func LoadVideos(ctx context.Context, u *client.UserClient, path string, cursor int64) (*VideosPage, error) {
	page, err := u.VideoList(ctx, client.VideoListOptions{Cursor: cursor, MaxCount: VideosPerPage})
	if err != nil {
		return nil, err
	}
	p := &VideosPage{Videos: page.Videos, Paged: cursor != 0}
	// A cursor that does not move would link to this same page forever.
	if page.HasMore && page.Cursor > 0 && page.Cursor != cursor {
		p.Older = path + "?cursor=" + strconv.FormatInt(page.Cursor, 10)
	}
	return p, nil
}

// ErrorPage is what the error page shows. Every field is fixed text, never
// an error's own text.
type ErrorPage struct {
	Title, Message string
	// LoginAgain offers a new login beside the link home.
	LoginAgain bool
}

// AuthErrorPage is the page for a failure of the login, callback or
// disconnect handler; its status is handlers.StatusCode(err).
func AuthErrorPage(err error) ErrorPage {
	p := ErrorPage{Message: handlers.UserMessage(err)}
	status := handlers.StatusCode(err)
	switch {
	case errors.Is(err, handlers.ErrLoginDenied):
		p.Title, p.LoginAgain = "Login cancelled", true
	case errors.Is(err, handlers.ErrScopeDeclined):
		p.Title, p.LoginAgain = "Permission not granted", true
	case status == http.StatusBadRequest:
		p.Title, p.LoginAgain = "This login did not complete", true
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
		p.Title, p.LoginAgain = "TikTok is not answering", true
	case status == http.StatusForbidden:
		p.Title = "Not allowed"
	case status == http.StatusMethodNotAllowed:
		p.Title = "Not available here"
	default:
		p.Title = "Something went wrong"
	}
	return p
}

// GuardErrorPage is the page for a guarded page that failed with status
// (middleware.StatusCode): TikTok or the store unavailable keeps the
// login, so the page asks to try again.
func GuardErrorPage(status int) ErrorPage {
	switch status {
	case http.StatusTooManyRequests:
		return ErrorPage{Title: "Too many requests to TikTok",
			Message: "This app has used its share of TikTok's requests for the moment. You are still logged in; try again shortly."}
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return ErrorPage{Title: "TikTok is not answering",
			Message: "TikTok cannot be reached right now. You are still logged in; try again in a moment."}
	case http.StatusForbidden:
		return ErrorPage{Title: "Permission not granted",
			Message: "TikTok did not grant a permission this page needs.", LoginAgain: true}
	}
	return ErrorPage{Title: "Something went wrong", Message: "Something went wrong. Please try again later."}
}

// NotFoundPage is the page for a path the app does not serve.
func NotFoundPage() ErrorPage {
	return ErrorPage{Title: "Page not found", Message: "There is no page at this address."}
}

// BadCursorPage is the page for a /videos cursor ParseCursor refused.
func BadCursorPage() ErrorPage {
	return ErrorPage{Title: "Bad page link", Message: "This link to a page of videos is not valid. Start again from your newest videos."}
}

// WantsHTML reports whether r is a page load (its Accept names text/html)
// rather than a script or API client.
func WantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// SetRetryAfter sets Retry-After on the answer to a guarded request that
// failed with a spent quota (status 429), from the wait err carries.
func SetRetryAfter(w http.ResponseWriter, status int, err error) {
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", middleware.RetryAfterSeconds(err))
	}
}

// GuardErrorCode is the JSON error code the examples answer API requests
// with, for a guarded request that failed with status.
func GuardErrorCode(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case http.StatusBadGateway:
		return "tiktok_error"
	case http.StatusTooManyRequests:
		return "rate_limited"
	}
	return "internal_error"
}
