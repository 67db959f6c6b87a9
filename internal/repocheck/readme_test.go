package repocheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// knownImports are the packages README snippets may use, by the name they
// use them under.
var knownImports = map[string]string{
	"client":     "github.com/tiktokkit/tiktokkit/client",
	"tiktoktest": "github.com/tiktokkit/tiktokkit/client/tiktoktest",
	"tokenstore": "github.com/tiktokkit/tiktokkit/tokenstore",
	"handlers":   "github.com/tiktokkit/tiktokkit/handlers",
	"webhook":    "github.com/tiktokkit/tiktokkit/handlers/webhook",
	"middleware": "github.com/tiktokkit/tiktokkit/middleware",
	"scs":        "github.com/alexedwards/scs/v2",
	"nosurf":     "github.com/justinas/nosurf",
	"http":       "net/http",
	"httptest":   "net/http/httptest",
	"log":        "log",
	"os":         "os",
	"fmt":        "fmt",
	"time":       "time",
	"context":    "context",
	"errors":     "errors",
	"strings":    "strings",
	"xoauth2":    "github.com/tiktokkit/tiktokkit/xoauth2",
	"oauth2":     "golang.org/x/oauth2",
	"testing":    "testing",
	"cookiejar":  "net/http/cookiejar",
}

// readmeGiven declares, per file, the names its snippets take as given
// (the app under test, a clock, IDs from earlier steps).
var readmeGiven = map[string]string{
	"README.md":                   readmeNewApp,
	"client/tiktoktest/README.md": "var clock interface{ Now() time.Time }\nvar openID, publishID string\n",
	"docs/oauth-pkce.md":          "var w http.ResponseWriter\nvar r *http.Request\nvar ctx context.Context\nvar c *client.Client\nvar verifier string\n",
	"docs/errors-and-retries.md":  "var ctx context.Context\nvar uc *client.UserClient\n",
	"docs/posting.md":             "",
}

// readmeNewApp is what the README's testing snippets take as given: an
// emulator, and the app constructor, the Quickstart's wiring around a
// client.
const readmeNewApp = `
var emu *tiktoktest.Server

func newApp(tk *client.Client) http.Handler {
	tokens, err := tokenstore.NewSource(tokenstore.SourceConfig{Store: tokenstore.NewMemory(), Client: tk})
	if err != nil {
		panic(err)
	}
	sessions := scs.New()
	sessions.Cookie.SameSite = http.SameSiteLaxMode
	auth, err := handlers.New(handlers.Config{
		Tokens: tokens, Sessions: sessions,
		CrossOriginProtection: http.NewCrossOriginProtection(),
	})
	if err != nil {
		panic(err)
	}
	guard, err := middleware.New(middleware.Config{Tokens: tokens, Sessions: sessions})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })
	mux.Handle("GET /auth/tiktok/login", auth.Login())
	mux.Handle("GET /auth/tiktok/callback", auth.Callback())
	mux.Handle("POST /auth/tiktok/disconnect", auth.Disconnect())
	mux.Handle("GET /me", guard.RequireTikTok(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := client.FromContext(r.Context())
		info, err := u.UserInfo(r.Context())
		if guard.HandleError(w, r, err) {
			return
		}
		fmt.Fprintf(w, "Hello, %s", info.DisplayName)
	})))
	return sessions.LoadAndSave(mux)
}
`

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestReadmeSnippetsCompile builds every Go snippet of the READMEs as the
// body of a main function, so that the documentation cannot drift from the
// API. Variables a snippet declares but leaves unused are fine in prose, so
// they are used at the end; the imports are the known ones it refers to.
func TestReadmeSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds each snippet")
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	n := 0
	for file, given := range readmeGiven {
		text, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range goBlock.FindAllStringSubmatch(string(text), -1) {
			n++
			src, err := snippetProgram(given, m[1])
			if err != nil {
				t.Errorf("%s, Go block %d: %v", file, i+1, err)
				continue
			}
			path := filepath.Join(dir, fmt.Sprintf("snippet%d.go", n))
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("go", "build", "-o", os.DevNull, path)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s, Go block %d does not compile: %v\n%s\n--- as built:\n%s", file, i+1, err, out, src)
			}
		}
	}
	if n < 3 {
		t.Fatalf("found %d Go blocks in the READMEs, want at least 3: the extraction is broken", n)
	}
}

// snippetProgram wraps body in a main package. A body that starts with
// "func " is a whole function, kept at the top level.
func snippetProgram(given, body string) (string, error) {
	fset := token.NewFileSet()
	if strings.HasPrefix(body, "func ") {
		return topLevelProgram(fset, given, body)
	}
	f, err := parser.ParseFile(fset, "snippet.go", "package p\nfunc _() {\n"+body+"\n}\n", 0)
	if err != nil {
		return "", fmt.Errorf("does not parse: %w", err)
	}
	fn := f.Decls[0].(*ast.FuncDecl)
	var declared []string
	for _, st := range fn.Body.List {
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			for _, e := range as.Lhs {
				if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
					declared = append(declared, id.Name)
				}
			}
		}
	}
	used := map[string]bool{}
	for _, src := range []string{given, body} {
		g, err := parser.ParseFile(fset, "x.go", "package p\nfunc _() {\n"+src+"\n}\n", 0)
		if err != nil {
			g, err = parser.ParseFile(fset, "x.go", "package p\n"+src, 0)
			if err != nil {
				return "", err
			}
		}
		ast.Inspect(g, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && knownImports[id.Name] != "" {
					used[id.Name] = true
				}
			}
			return true
		})
	}
	var imports []string
	for name := range used {
		imports = append(imports, fmt.Sprintf("\t%s %q", name, knownImports[name]))
	}
	sort.Strings(imports)
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n" + strings.Join(imports, "\n") + "\n)\n\n")
	b.WriteString(given)
	b.WriteString("\nfunc main() {\n" + body + "\n")
	for _, name := range declared {
		b.WriteString("\t_ = " + name + "\n")
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// topLevelProgram builds a main package around body, a snippet of whole
// declarations.
func topLevelProgram(fset *token.FileSet, given, body string) (string, error) {
	src, err := topLevelFile(fset, "main", given, body)
	if err != nil {
		return "", err
	}
	return src + "\nfunc main() {}\n", nil
}

// topLevelFile is a file of package pkg holding given and body (whole
// declarations) with the known imports they use.
func topLevelFile(fset *token.FileSet, pkg, given, body string) (string, error) {
	g, err := parser.ParseFile(fset, "snippet.go", "package p\n"+given+"\n"+body, 0)
	if err != nil {
		return "", fmt.Errorf("does not parse: %w", err)
	}
	used := map[string]bool{}
	ast.Inspect(g, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && knownImports[id.Name] != "" {
				used[id.Name] = true
			}
		}
		return true
	})
	var imports []string
	for name := range used {
		imports = append(imports, fmt.Sprintf("\t%s %q", name, knownImports[name]))
	}
	sort.Strings(imports)
	return "package " + pkg + "\n\nimport (\n" + strings.Join(imports, "\n") + "\n)\n\n" + given + "\n" + body, nil
}
