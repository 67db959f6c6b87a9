package tiktoktest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveOnce sends one bodiless request to the handler and returns the answer.
func serveOnce(s *Server, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(method, "http://emu.test"+path, nil))
	return rec
}

// TestRouteTableIsEveryRoute walks routeTable: every line is served, with
// exactly the methods the table lists for its path, and nothing else is.
func TestRouteTableIsEveryRoute(t *testing.T) {
	s := NewHandler(Config{})
	s.SetURL("http://emu.test")

	methods := map[string][]string{} // path -> methods listed for it
	seen := map[string]bool{}
	for _, e := range routeTable {
		key := e.method + " " + e.path
		assert.False(t, seen[key], "%s is listed twice", key)
		seen[key] = true
		require.NotNil(t, e.handler, key)
		assert.True(t, strings.HasPrefix(e.path, "/"), key)
		methods[e.path] = append(methods[e.path], e.method)
		if strings.HasPrefix(e.path, pathControl) {
			assert.Empty(t, e.endpoint, "%s: control paths are neither counted nor faulted", key)
		} else {
			assert.NotEmpty(t, e.endpoint, "%s: TikTok paths count as an endpoint", key)
		}
	}

	// What NewHandler registered is exactly the table.
	assert.Len(t, s.routes, len(methods))
	registered := 0
	for path, rt := range s.routes {
		require.Contains(t, methods, path, "%s is served but not in routeTable", path)
		registered += len(rt.methods)
	}
	assert.Equal(t, len(routeTable), registered)

	// Over HTTP: a method no route uses is 405 on every listed path, and
	// Allow names the table's methods for it.
	const unused = http.MethodPatch
	for path, ms := range methods {
		require.NotContains(t, ms, unused)
		rec := serveOnce(s, unused, path)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, path)
		slices.Sort(ms)
		assert.Equal(t, strings.Join(ms, ", "), rec.Header().Get("Allow"), path)
	}

	// Every line reaches its handler: never the router's 404 or 405, and a
	// TikTok endpoint is counted. The avatar answers http.NotFound's 404 for
	// an unknown user, so it gets a known one.
	query := map[string]string{pathAvatar: "?open_id=" + s.Users()[0].OpenID}
	for _, e := range routeTable {
		key := e.method + " " + e.path
		before := s.Calls(e.endpoint)
		rec := serveOnce(s, e.method, e.path+query[e.path])
		assert.NotEqual(t, http.StatusMethodNotAllowed, rec.Code, key)
		assert.NotEqual(t, "404 page not found\n", rec.Body.String(), key)
		if e.endpoint != "" {
			assert.Equal(t, before+1, s.Calls(e.endpoint), key)
		}
	}

	// The endpoints faults and counters know are the table's.
	var want []Endpoint
	for _, e := range routeTable {
		if e.endpoint != "" && !slices.Contains(want, e.endpoint) {
			want = append(want, e.endpoint)
		}
	}
	slices.Sort(want)
	assert.Equal(t, want, s.endpoints())
}

// TestUnlistedPathsAre404 checks that paths near listed ones, but not in
// routeTable, are unknown: no prefix match, no trailing-slash fix-up.
func TestUnlistedPathsAre404(t *testing.T) {
	s := NewHandler(Config{})
	s.SetURL("http://emu.test")
	for _, path := range []string{
		"/", "/v2/", "/v2/oauth/token", "/v2/oauth/token/x", "/v2/user/info",
		"/v2/post/publish/", "/upload", "/upload/x", pathControl, pathControl + "nope",
		pathControl + "faults/", "/V2/OAUTH/TOKEN/", "/v2//oauth/token/",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			rec := serveOnce(s, method, path)
			assert.Equal(t, http.StatusNotFound, rec.Code, "%s %s", method, path)
			assert.Equal(t, "404 page not found\n", rec.Body.String(), "%s %s", method, path)
		}
	}
	for _, e := range routeTable {
		if e.endpoint != "" {
			assert.Zero(t, s.Calls(e.endpoint), "an unknown path counted as %s", e.endpoint)
		}
	}
}
