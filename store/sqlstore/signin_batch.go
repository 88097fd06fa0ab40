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

// AppendSignIns adds entries to the tenant's sign-in log in one transaction: all or none.
// It is AppendSignIn for a writer with many entries at hand, which saves a commit per entry
// and a statement per row. Errors: Invalid for an entry without id or time, Exists when an id
// is taken (nothing is then added), Unavailable when the database is.
func (s *Store) AppendSignIns(ctx context.Context, tenantID string, entries []signinlog.Entry) error {
	const op = "store.AppendSignIns"
	args := make([]any, 0, signInColumns*len(entries))
	var buf []byte
	for i := range entries {
		e := &entries[i]
		if e.ID == "" || e.CreatedDateTime.IsZero() {
			return errs.E(op, errs.Invalid, "A sign-in log entry needs an id and a createdDateTime.")
		}
		data, err := encodeSignIn(op, buf[:0], e)
		if err != nil {
			return err
		}
		buf = data
		args = append(args, tenantID, e.ID, nullable(strings.ToLower(e.UserID)), micros(e.CreatedDateTime), string(data))
	}
	err := s.inTx(ctx, func(c conn) error {
		for rest := args; len(rest) > 0; {
			n := min(len(rest)/signInColumns, signInRowsPerInsert)
			if _, err := c.exec(ctx, s.signInBatchInsert(n), rest[:signInColumns*n]...); err != nil {
				return err
			}
			rest = rest[signInColumns*n:]
		}
		return nil
	})
	return s.d.wrap(op, err, "A sign-in log entry of this batch already exists.")
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
