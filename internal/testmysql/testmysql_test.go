package testmysql

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

func TestOpenGivesAFreshDatabase(t *testing.T) {
	a, b := Open(t), Open(t)
	var nameA, nameB string
	if err := a.QueryRowContext(t.Context(), "SELECT DATABASE()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRowContext(t.Context(), "SELECT DATABASE()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == "" || nameA == nameB {
		t.Fatalf("databases %q and %q: want two distinct fresh ones", nameA, nameB)
	}
	if _, err := a.ExecContext(t.Context(), "CREATE TABLE t (k VARBINARY(16) PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	// clientFoundRows: an UPDATE that changes nothing still counts the row.
	if _, err := a.ExecContext(t.Context(), "INSERT INTO t VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	res, err := a.ExecContext(t.Context(), "UPDATE t SET k = 'x' WHERE k = 'x'")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("rows affected by a no-op UPDATE = %d, want 1 (clientFoundRows)", n)
	}
}
