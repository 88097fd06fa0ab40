// Package sqlite is the embedded store: store.Store in one SQLite file (WAL mode), with the
// pure-Go driver modernc.org/sqlite so the binary needs no C toolchain.
//
// Every write transaction begins IMMEDIATE, taking SQLite's single write lock at its start; with
// busy_timeout, concurrent writers wait their turn instead of failing, whether they are
// goroutines of one process or several processes sharing the file. All the store logic lives in
// store/sqlstore; this package only opens the database and describes SQLite's dialect. It must
// not grow store logic of its own, or the backends would behave differently.
package sqlite
