package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"strconv"
	"strings"

	"github.com/latchsh/latch/errs"
)

// Class sorts a driver error into what the store does about it.
type Class int

// The classes a Dialect's Classify returns.
const (
	Other       Class = iota // anything else: reported as Internal
	Unique                   // a unique or primary-key constraint refused a row
	Retry                    // a serialization failure, deadlock or busy database: run the transaction again
	Unreachable              // the connection or the server is gone
)

// Dialect is what differs between SQL databases. The queries in this package are written once
// with "?" placeholders and the ON CONFLICT / RETURNING syntax that SQLite and PostgreSQL share.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2 …) instead of "?".
	Numbered bool
	// ForUpdate is appended to a SELECT that must lock the rows it reads until the transaction
	// ends (" FOR UPDATE"), or "" where a write transaction already excludes every other writer.
	ForUpdate string
	// MigrationLock, if set, runs first in the migration transaction so that processes starting
	// together apply migrations one at a time.
	MigrationLock string
	// Migrations holds files named NNNN_name.sql, applied in order of NNNN.
	Migrations fs.FS
	// Classify inspects a driver error; nil means every error is Other.
	Classify func(error) Class
	// Bytewise follows a text column to compare it byte by byte (` COLLATE "C"`), or is ""
	// where that is already how text compares. Prefix matches are written as ranges with it,
	// since a LIKE with ESCAPE keeps SQLite from using an index.
	Bytewise string
	// CopyRows, if set, adds rows to table in one statement, all or none, on c outside any
	// transaction (PostgreSQL's COPY); AppendSignIns uses it instead of multi-row INSERTs. A row
	// whose key is taken must fail the whole statement with an error Classify calls Unique.
	CopyRows func(ctx context.Context, c *sql.Conn, table string, columns []string, rows [][]any) error
}

// Rebind turns "?" placeholders into the dialect's. The queries here never contain a literal
// question mark, so a plain scan is enough.
func (d *Dialect) Rebind(q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d *Dialect) classify(err error) Class {
	switch {
	case errors.Is(err, sql.ErrConnDone), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded), err != nil && strings.Contains(err.Error(), "sql: database is closed"):
		return Unreachable
	case d.Classify != nil:
		return d.Classify(err)
	}
	return Other
}

// wrap turns a database error into an *errs.Error (nil stays nil, an *errs.Error stays as is). Unique violations become Exists with msg;
// every other failure is Unavailable or Internal, and its detail stays in the cause.
func (d *Dialect) wrap(op string, err error, existsMsg string) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	switch d.classify(err) {
	case Unique:
		return errs.E(op, errs.Exists, existsMsg, err)
	case Unreachable:
		return errs.E(op, errs.Unavailable, "The database cannot be reached; try again later.", err)
	case Retry:
		return errs.E(op, errs.Unavailable, "The database is busy; try again.", err)
	}
	return errs.E(op, errs.Internal, err)
}
