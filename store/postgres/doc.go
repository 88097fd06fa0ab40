// Package postgres is the store for many replicas: store.Store in a PostgreSQL database, through
// pgx's database/sql driver so that all store logic is shared with SQLite in store/sqlstore.
//
// Transactions run at READ COMMITTED and take row locks (SELECT … FOR UPDATE, conditional
// UPDATEs checked by rows affected) where a read decides a write; serialization failures and
// deadlocks are retried a bounded number of times. This package only connects and describes
// PostgreSQL's dialect; it must not grow store logic of its own.
package postgres
