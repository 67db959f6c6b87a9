package testpg_test

import (
	"context"
	"testing"

	"github.com/tiktokkit/tiktokkit/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func TestOpenGivesAnIsolatedDatabase(t *testing.T) {
	a := testpg.Open(t)
	b := testpg.Open(t)
	ctx := context.Background()
	if _, err := a.ExecContext(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ExecContext(ctx, "SELECT x FROM only_in_a"); err == nil {
		t.Fatal("a table made in one database is visible in another")
	}
	var one int
	if err := a.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}
