package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect describes PostgreSQL to sqlstore. Exported so tests can build an old schema with
// sqlstore.Migrate and check the upgrade.
var Dialect = &sqlstore.Dialect{
	Name:      "postgres",
	Numbered:  true,
	ForUpdate: " FOR UPDATE",
	// One replica migrates at a time; the lock ends with the migration transaction.
	MigrationLock: "SELECT pg_advisory_xact_lock(7166434582935011)",
	Migrations:    mustSub(migrations, "migrations"),
	Classify:      classify,
	Bytewise:      ` COLLATE "C"`,
	CopyRows:      copyRows,
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// maxConns caps the pool per replica. Writers to one row queue in the pool rather than in the
// server, and a handful of replicas stay well under PostgreSQL's default of 100 connections.
const maxConns = 16

// Open connects to the database at url (a postgres:// URL or key=value DSN, as pgx accepts),
// brings its schema up to date and returns the store. It fails with Invalid when url cannot be
// parsed, Unavailable when the server cannot be reached, and Internal when a migration fails.
func Open(ctx context.Context, url string) (store.Store, error) {
	const op = "postgres.Open"
	db, err := OpenDB(ctx, url)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.New(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, errs.E(op, errs.Internal, err)
	}
	return s, nil
}

// OpenDB returns the connection pool Open builds its store on, checked with a ping but not
// migrated. Errors are as for Open.
func OpenDB(ctx context.Context, url string) (*sql.DB, error) {
	const op = "postgres.Open"
	connector, err := newConnector(url)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, "The PostgreSQL connection URL is not valid.", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, errs.E(op, errs.Unavailable, "The PostgreSQL server cannot be reached.", err)
	}
	return db, nil
}

func newConnector(url string) (driver.Connector, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return stdlib.GetConnector(*cfg), nil
}

// copyRows is Dialect.CopyRows: one binary COPY on c's pgx connection. pgx caches the column
// types it describes first, per connection, so a COPY is a single round trip once warm.
func copyRows(ctx context.Context, c *sql.Conn, table string, columns []string, rows [][]any) error {
	return c.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: a %T is not a pgx connection", dc)
		}
		_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	})
}

func classify(err error) sqlstore.Class {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return classifySQLState(pe.Code)
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), pgconn.Timeout(err):
		return sqlstore.Unreachable
	}
	return sqlstore.Other
}

func classifySQLState(code string) sqlstore.Class {
	switch {
	case code == "23505": // unique_violation
		return sqlstore.Unique
	case code == "40001", code == "40P01": // serialization_failure, deadlock_detected
		return sqlstore.Retry
	case strings.HasPrefix(code, "08"), // connection exceptions
		code == "57P01", code == "57P02", code == "57P03", // shutdown, crash, cannot connect now
		code == "53300": // too many connections
		return sqlstore.Unreachable
	}
	return sqlstore.Other
}
