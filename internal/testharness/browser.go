package testharness

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Accept headers of a browser's page load and of an API client.
const (
	AcceptHTML = "text/html,application/xhtml+xml,*/*;q=0.8"
	AcceptJSON = "application/json"
)

// Response is what a Browser saw for one request.
type Response struct {
	Status int
	Header http.Header
	Body   string
	// URL is the request's absolute URL.
	URL string
}

// Location returns the Location header.
func (r *Response) Location() string { return r.Header.Get("Location") }

// Browser is a cookie-keeping user agent that does not follow redirects by
// itself, so tests can look at every hop. Paths starting with "/" go to
// Base. Its methods fail T on a transport error, except Try.
type Browser struct {
	T      testing.TB
	Base   string
	Client *http.Client
	Jar    *cookiejar.Jar
	// OnResponse, when not nil, sees every response (from any goroutine),
	// such as to check later that no secret left the app.
	OnResponse func(*Response)
}

// NewBrowser returns a browser for srv with an empty cookie jar, on a copy
// of srv's client transport (so https servers are trusted).
func NewBrowser(t testing.TB, srv *httptest.Server) *Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	return &Browser{T: t, Base: srv.URL, Jar: jar, Client: &http.Client{
		Jar:       jar,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// At returns a browser that shares b's cookies, connections and
// OnResponse but sends paths to base, as a load balancer in front of
// several instances of one app on one host would.
func (b *Browser) At(base string) *Browser {
	c := *b
	c.Base = base
	return &c
}

// Abs resolves a path against Base; other URLs are returned as they are.
func (b *Browser) Abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.Base + u
	}
	return u
}

// Try sends method to u with the Accept header accept (none when empty)
// and returns the error instead of failing T, for use from other
// goroutines.
func (b *Browser) Try(method, u, accept string) (*Response, error) {
	req, err := http.NewRequest(method, b.Abs(u), nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return b.send(req)
}

// Do is Try that fails T on an error.
func (b *Browser) Do(method, u, accept string) *Response {
	b.T.Helper()
	r, err := b.Try(method, u, accept)
	require.NoError(b.T, err)
	return r
}

// Send sends req as it is.
func (b *Browser) Send(req *http.Request) *Response {
	b.T.Helper()
	r, err := b.send(req)
	require.NoError(b.T, err)
	return r
}

func (b *Browser) send(req *http.Request) (*Response, error) {
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(body), URL: req.URL.String()}
	if b.OnResponse != nil {
		b.OnResponse(r)
	}
	return r, nil
}

// Get loads a page as a browser navigation (Accept: AcceptHTML).
func (b *Browser) Get(u string) *Response {
	b.T.Helper()
	return b.Do(http.MethodGet, u, AcceptHTML)
}

// GetJSON calls an API route (Accept: application/json).
func (b *Browser) GetJSON(u string) *Response {
	b.T.Helper()
	return b.Do(http.MethodGet, u, AcceptJSON)
}

// PostForm submits a same-origin form, as a browser would: Origin is
// Base.
func (b *Browser) PostForm(u string, form url.Values) *Response {
	b.T.Helper()
	req, err := http.NewRequest(http.MethodPost, b.Abs(u), strings.NewReader(form.Encode()))
	require.NoError(b.T, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.Base)
	req.Header.Set("Accept", "text/html")
	return b.Send(req)
}

// maxHops bounds Follow.
const maxHops = 10

// Follow loads u as a page and follows redirects (to any host, such as the
// emulator and back) until an answer that is not a redirect, returning
// every hop. More than maxHops hops fail T.
func (b *Browser) Follow(u string) []*Response {
	b.T.Helper()
	var hops []*Response
	for range maxHops {
		r := b.Get(u)
		hops = append(hops, r)
		if r.Status < 300 || r.Status > 399 {
			return hops
		}
		next, err := url.Parse(r.Location())
		require.NoError(b.T, err)
		base, err := url.Parse(r.URL)
		require.NoError(b.T, err)
		u = base.ResolveReference(next).String()
	}
	b.T.Fatalf("too many redirects from %s", u)
	return nil
}

// Cookie returns the cookie name that the jar holds for Base, or nil.
func (b *Browser) Cookie(name string) *http.Cookie {
	u, err := url.Parse(b.Base)
	if err != nil {
		return nil
	}
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
