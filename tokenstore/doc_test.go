package tokenstore_test

import (
	"os"
	"strings"
	"testing"

	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// TestDocShowsTheSchema keeps the schema printed in doc.go true.
func TestDocShowsTheSchema(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(tokenstore.SchemaPostgres, "\n") {
		if !strings.Contains(string(doc), "//\t"+line+"\n") {
			t.Errorf("doc.go does not show the schema line %q", line)
		}
	}
}
