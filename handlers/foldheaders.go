package handlers

import (
	"net/http"
	"strings"
)

// foldedHeaders are the fields FoldHeaders joins into one line.
var foldedHeaders = []string{"Cache-Control", "Vary"}

// FoldHeaders wraps next so that every answer carries at most one
// Cache-Control line and one Vary line: repeated lines are joined with
// commas (what HTTP says they mean), and a value repeated is kept once.
//
// The kit's handlers send one of each, but middleware around them adds its
// own: scs's LoadAndSave adds Vary: Cookie, and Cache-Control:
// no-cache="Set-Cookie" when it writes the session cookie, after the
// handler has set its headers. Put FoldHeaders outside the session
// middleware, and outside anything else that adds them:
//
//	http.ListenAndServe(addr, handlers.FoldHeaders(sessions.LoadAndSave(mux)))
func FoldHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&foldingWriter{ResponseWriter: w}, r)
	})
}

// foldingWriter folds the headers when the answer's header is written.
type foldingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (fw *foldingWriter) WriteHeader(status int) {
	if !fw.wrote {
		fw.wrote = true
		foldHeaderLines(fw.Header())
	}
	fw.ResponseWriter.WriteHeader(status)
}

func (fw *foldingWriter) Write(b []byte) (int, error) {
	if !fw.wrote {
		fw.WriteHeader(http.StatusOK)
	}
	return fw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer underneath (Flush,
// deadlines, hijacking).
func (fw *foldingWriter) Unwrap() http.ResponseWriter { return fw.ResponseWriter }

// foldHeaderLines joins the repeated lines of the folded fields.
func foldHeaderLines(h http.Header) {
	for _, name := range foldedHeaders {
		lines := h[name]
		if len(lines) < 2 {
			continue
		}
		var parts []string
		seen := map[string]bool{}
		for _, line := range lines {
			for _, v := range splitList(line) {
				v = strings.TrimSpace(v)
				if k := strings.ToLower(v); v != "" && !seen[k] {
					seen[k] = true
					parts = append(parts, v)
				}
			}
		}
		h[name] = []string{strings.Join(parts, ", ")}
	}
}

// splitList splits a header's comma-separated list, leaving commas inside
// quoted strings (no-cache="Set-Cookie, Authorization") alone.
func splitList(line string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, line[start:i])
			start = i + 1
		}
	}
	return append(out, line[start:])
}
