package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect describes SQLite to sqlstore. Exported so tests can build an old schema with
// sqlstore.Migrate and check the upgrade.
var Dialect = &sqlstore.Dialect{
	Name:       "sqlite",
	Migrations: mustSub(migrations, "migrations"),
	Classify:   classify,
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// busyTimeoutMS is how long a writer waits for another's lock before the store gives up with
// Unavailable; long enough to ride out a burst of writers, short enough to fail a stuck one.
const busyTimeoutMS = "10000"

// Open opens (creating if needed) the database file at path and brings its schema up to date.
// path ":memory:" gives a private in-memory database for tests, gone at Close. Open fails with
// Unavailable when the file cannot be opened and Internal when a migration fails.
func Open(path string) (store.Store, error) {
	const op = "sqlite.Open"
	db, err := OpenDB(path)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, "The database file cannot be opened.", err)
	}
	s, err := sqlstore.New(context.Background(), db, Dialect)
	if err != nil {
		db.Close()
		return nil, errs.E(op, errs.Internal, err)
	}
	return s, nil
}

// OpenDB opens the *sql.DB that Open builds its store on, without migrating it.
func OpenDB(path string) (*sql.DB, error) {
	memory := path == ":memory:"
	if !memory {
		if err := createPrivate(path); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", dsn(path, memory))
	if err != nil {
		return nil, err
	}
	if memory {
		// Each connection to ":memory:" is a database of its own, so the pool must hold exactly
		// one, forever. Concurrent callers then queue for it, which also serialises writes.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	} else {
		// Writers take turns anyway; a few connections let readers run beside one writer
		// (WAL) without dozens of goroutines spinning in the busy handler.
		db.SetMaxOpenConns(4)
	}
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func dsn(path string, memory bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+busyTimeoutMS+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	if !memory {
		q.Add("_pragma", "journal_mode(WAL)")
		// In WAL mode NORMAL loses no committed transaction on a crash of the process, only
		// possibly the last ones on a power cut, and saves an fsync per commit.
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	if memory {
		return "file::memory:?" + q.Encode()
	}
	return "file:" + uriPath.Replace(path) + "?" + q.Encode()
}

// uriPath escapes what would end the path part of an SQLite URI filename.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func classify(err error) sqlstore.Class {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.Other
	}
	switch code := e.Code(); {
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.Unique
	case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
		return sqlstore.Retry
	case code&0xff == sqlite3.SQLITE_CANTOPEN, code&0xff == sqlite3.SQLITE_IOERR,
		code&0xff == sqlite3.SQLITE_FULL, code&0xff == sqlite3.SQLITE_READONLY:
		return sqlstore.Unreachable
	}
	return sqlstore.Other
}

// createPrivate creates the database file readable by its owner only, before SQLite would
// create it with the process umask: it holds signing keys and secret hashes. SQLite gives the
// -wal and -shm files the same mode. An existing file is left as it is.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
