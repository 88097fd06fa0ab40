package postgres

import "github.com/jackc/pgx/v5"

// pgxConfig parses url. The store's queries are few and fixed, so pgx's default statement cache
// serves them; nothing here needs the simple protocol except migrations, which pgx runs that way
// because they take no arguments.
func pgxConfig(url string) (*pgx.ConnConfig, error) {
	return pgx.ParseConfig(url)
}
