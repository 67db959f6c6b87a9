package main

import (
	"testing"

	"github.com/tiktokkit/tiktokkit/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }
