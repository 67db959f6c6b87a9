package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWantsHTML(t *testing.T) {
	g := &Guard{apiPrefixes: DefaultAPIPrefixes}
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		want   bool
	}{
		{"browser navigation", "GET", "/me", map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Sec-Fetch-Mode": "navigate"}, true},
		{"plain client, any type", "GET", "/me", map[string]string{"Accept": "*/*"}, true},
		{"plain client, no Accept", "GET", "/me", nil, true},
		{"HEAD", "HEAD", "/me", nil, true},
		{"JSON client", "GET", "/me", map[string]string{"Accept": "application/json"}, false},
		{"API prefix even for a browser", "GET", "/api/me", map[string]string{"Accept": "text/html"}, false},
		{"API prefix for a plain client", "GET", "/api/me", map[string]string{"Accept": "*/*"}, false},
		{"script fetch", "GET", "/me", map[string]string{"Accept": "*/*", "Sec-Fetch-Mode": "cors"}, false},
		{"XHR", "GET", "/me", map[string]string{"Accept": "*/*", "X-Requested-With": "XMLHttpRequest"}, false},
		{"POST", "POST", "/me", map[string]string{"Accept": "text/html"}, false},
		{"a path that only starts like the prefix", "GET", "/apix", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			assert.Equal(t, tt.want, g.wantsHTML(r))
		})
	}

	none := &Guard{apiPrefixes: []string{}}
	assert.True(t, none.wantsHTML(httptest.NewRequest(http.MethodGet, "/api/me", nil)), "no API prefixes")
}
