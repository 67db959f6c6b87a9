// Package sqlname checks and substitutes the table names of the SQL stores
// (tokenstore's token table, the webhook replay table), so that both accept
// the same names.
package sqlname

import (
	"regexp"
	"strings"
)

var table = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// ValidTable reports whether name is a plain identifier, optionally
// schema-qualified ("auth.tiktok_tokens"): letters, digits and underscores,
// not starting with a digit. Such a name needs no quoting in any dialect.
func ValidTable(name string) bool { return table.MatchString(name) }

// Render returns the statement stmt, written for defaultTable, for table
// instead ("" keeps defaultTable). Only the first occurrence is replaced:
// the statements name their table once.
func Render(stmt, defaultTable, name string) string {
	if name == "" || name == defaultTable {
		return stmt
	}
	return strings.Replace(stmt, defaultTable, name, 1)
}
