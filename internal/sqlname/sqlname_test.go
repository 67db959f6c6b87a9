package sqlname

import "testing"

func TestValidTable(t *testing.T) {
	for _, ok := range []string{"tiktok_tokens", "auth.tiktok_tokens", "_t", "T1"} {
		if !ValidTable(ok) {
			t.Errorf("ValidTable(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "1t", "a.b.c", "t;drop", "t t", `"t"`, "t-1", "a.", ".a"} {
		if ValidTable(bad) {
			t.Errorf("ValidTable(%q) = true", bad)
		}
	}
}

func TestRender(t *testing.T) {
	const stmt = "CREATE TABLE IF NOT EXISTS tiktok_tokens (x INT)"
	if got := Render(stmt, "tiktok_tokens", ""); got != stmt {
		t.Errorf("empty name: %q", got)
	}
	if got, want := Render(stmt, "tiktok_tokens", "auth.tokens"), "CREATE TABLE IF NOT EXISTS auth.tokens (x INT)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
