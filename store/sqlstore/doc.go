// Package sqlstore implements store.Store once over database/sql, for every SQL backend.
//
// A backend (store/sqlite, store/postgres) opens the *sql.DB, describes its SQL in a Dialect
// (placeholders, row locks, how its driver reports unique violations, retryable conflicts and
// lost connections, its migrations) and hands both to New. Everything else — the schema's use,
// compare-and-swap updates, single-use codes, refresh-token families — lives here, so the two
// backends cannot drift apart.
//
// This package must not import a database driver or anything that speaks HTTP, and it keeps no
// state outside the database: any number of processes may share one database.
package sqlstore
