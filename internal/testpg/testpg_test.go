package testpg_test

import (
	"context"
	"database/sql"
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

func TestClusterSurvivesStopAndStart(t *testing.T) {
	cl := testpg.StartCluster(t)
	db, err := sql.Open("pgx", cl.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := db.QueryRowContext(ctx, "SELECT x FROM kept").Scan(&x); err == nil {
		t.Fatal("a query succeeded while the server was stopped")
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	// The pool may still hold a connection broken by the stop; the next
	// query after it must find the row again.
	var lastErr error
	for range 3 {
		if lastErr = db.QueryRowContext(ctx, "SELECT x FROM kept").Scan(&x); lastErr == nil {
			break
		}
	}
	if lastErr != nil || x != 7 {
		t.Fatalf("after restart: x = %d, %v", x, lastErr)
	}
}
