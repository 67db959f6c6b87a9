package main

import (
	"os"
	"testing"

	"github.com/tiktokkit/tiktokkit/internal/testpg"
	"github.com/tiktokkit/tiktokkit/internal/testredis"
)

func TestMain(m *testing.M) {
	testredis.QuietLogs()
	code := m.Run()
	testpg.Stop()
	testredis.Stop()
	os.Exit(code)
}
