package tokenstore_test

import (
	"os"
	"testing"

	"github.com/tiktokkit/tiktokkit/internal/testmysql"
	"github.com/tiktokkit/tiktokkit/internal/testpg"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testmysql.Stop()
	testpg.Stop()
	os.Exit(code)
}
