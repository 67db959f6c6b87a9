package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFoldHeaderLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want http.Header
	}{
		{"one line each is left alone",
			http.Header{"Cache-Control": {"no-store"}, "Vary": {"Cookie, Accept"}},
			http.Header{"Cache-Control": {"no-store"}, "Vary": {"Cookie, Accept"}}},
		{"lines joined, repeats dropped, case kept",
			http.Header{"Vary": {"Cookie", "cookie", "Accept, Cookie"}},
			http.Header{"Vary": {"Cookie, Accept"}}},
		{"quoted commas stay in their value",
			http.Header{"Cache-Control": {"no-store", `no-cache="Set-Cookie, Authorization"`, "no-store"}},
			http.Header{"Cache-Control": {`no-store, no-cache="Set-Cookie, Authorization"`}}},
		{"empty items dropped",
			http.Header{"Cache-Control": {"no-store,", " ,private"}},
			http.Header{"Cache-Control": {"no-store, private"}}},
		{"other fields untouched",
			http.Header{"Set-Cookie": {"a=1", "b=2"}},
			http.Header{"Set-Cookie": {"a=1", "b=2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			foldHeaderLines(tc.in)
			assert.Equal(t, tc.want, tc.in)
		})
	}
}

func TestFoldHeadersWriter(t *testing.T) {
	h := FoldHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		w.Header().Add("Vary", "Cookie")
		_, _ = w.Write([]byte("body")) // no WriteHeader: the first Write folds too
		w.Header().Add("Vary", "Late") // after the header went out: not sent
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through FoldHeaders: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	res := rec.Result()
	assert.Equal(t, []string{"Cookie"}, res.Header.Values("Vary"))
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, rec.Flushed)
}
