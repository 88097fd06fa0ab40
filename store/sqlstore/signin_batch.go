package sqlstore

import (
	"context"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
)

// signInRowsPerInsert caps the rows of one INSERT: 5 parameters a row keeps a statement far
// below SQLite's 32,766 and PostgreSQL's 65,535 parameters, and a batch of the server's
// writer (256 entries) needs four statements, not 256.
const signInRowsPerInsert = 64

// AppendSignIns adds entries to the tenant's sign-in log in one transaction, or on a dialect
// with CopyRows in one COPY statement: all or none either way. It is AppendSignIn for a writer
// with many entries at hand, which saves a commit per entry and a statement per row. Errors: Invalid for an entry without id or time, Exists when an id
// is taken (nothing is then added), Unavailable when the database is.
func (s *Store) AppendSignIns(ctx context.Context, tenantID string, entries []signinlog.Entry) error {
	const op = "store.AppendSignIns"
	if len(entries) == 0 {
		return nil
	}
	rows, err := signInRows(op, tenantID, entries)
	if err != nil {
		return err
	}
	if s.d.CopyRows != nil {
		err = s.copySignIns(ctx, rows)
	} else {
		err = s.inTx(ctx, func(c conn) error { return insertSignIns(ctx, c, s.signInBatchInsert, rows) })
	}
	return s.d.wrap(op, err, "A sign-in log entry of this batch already exists.")
}

// signInRows checks entries and turns each into its row of sign_ins, in signInColumnNames'
// order, sharing one backing array so that a batch costs two allocations, not one a row.
func signInRows(op, tenantID string, entries []signinlog.Entry) ([][]any, error) {
	flat := make([]any, 0, signInColumns*len(entries))
	rows := make([][]any, 0, len(entries))
	var buf []byte
	for i := range entries {
		e := &entries[i]
		if e.ID == "" || e.CreatedDateTime.IsZero() {
			return nil, errs.E(op, errs.Invalid, "A sign-in log entry needs an id and a createdDateTime.")
		}
		data, err := encodeSignIn(op, buf[:0], e)
		if err != nil {
			return nil, err
		}
		buf = data
		n := len(flat)
		flat = append(flat, tenantID, e.ID, nullable(strings.ToLower(e.UserID)), micros(e.CreatedDateTime), string(data))
		rows = append(rows, flat[n:n+signInColumns:n+signInColumns])
	}
	return rows, nil
}

// insertSignIns writes rows with INSERTs of up to signInRowsPerInsert rows each, built by
// insert, inside the caller's transaction.
func insertSignIns(ctx context.Context, c conn, insert func(n int) string, rows [][]any) error {
	args := rows[0][:0:0]
	for rest := rows; len(rest) > 0; {
		n := min(len(rest), signInRowsPerInsert)
		args = args[:0]
		for _, r := range rest[:n] {
			args = append(args, r...)
		}
		if _, err := c.exec(ctx, insert(n), args...); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// copySignIns writes rows with the dialect's CopyRows: on PostgreSQL one COPY, which adds a
// batch's rows to the heap together and skips the parsing, planning and executor work an
// INSERT costs per row, the larger part of PostgreSQL's CPU for the log (bench/RESULTS.md).
// COPY is a statement, so it adds all rows or none without a transaction around it, and a
// taken id fails it with a unique violation as the INSERT would: no entry is dropped unseen.
func (s *Store) copySignIns(ctx context.Context, rows [][]any) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return s.d.CopyRows(ctx, c, "sign_ins", signInColumnNames, rows)
}

// signInBatchInsert is signInInsert for a statement inside AppendSignIns' transaction. On
// SQLite it is INSERT OR ROLLBACK: a statement of many rows that may fail halfway otherwise
// makes SQLite keep a statement journal, a temporary file written page by page, which cost
// more than the rows; with OR ROLLBACK a refused row ends the whole transaction instead, which
// is what AppendSignIns promises anyway (all or none).
func (s *Store) signInBatchInsert(n int) string {
	q := signInInsert(n)
	if s.d.Name == "sqlite" {
		q = "INSERT OR ROLLBACK" + strings.TrimPrefix(q, "INSERT")
	}
	return q
}

// signInColumns are the parameters of one row of signInInsert.
const signInColumns = 5

// signInColumnNames are sign_ins' columns in the order of a row of signInRows.
var signInColumnNames = []string{"tenant_id", "id", "user_id", "created", "data"}

// signInInsert is the INSERT of n sign-in rows, each (tenant, id, user, created, data).
func signInInsert(n int) string {
	var b strings.Builder
	b.Grow(70 + n*17)
	b.WriteString("INSERT INTO sign_ins (tenant_id, id, user_id, created, data) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?)")
	}
	return b.String()
}

// encodeSignIn appends e's JSON to buf with signinlog's encoder, which writes what
// encoding/json would, without its reflection on every entry.
func encodeSignIn(op string, buf []byte, e *signinlog.Entry) ([]byte, error) {
	data, err := e.AppendJSON(buf)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	return data, nil
}
