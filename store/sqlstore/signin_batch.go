package sqlstore

import (
	"context"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
)

// AppendSignIns adds entries to the tenant's sign-in log in one transaction: all or none.
// It is AppendSignIn for a writer with many entries at hand, which saves a commit per entry.
// Errors: Invalid for an entry without id or time, Exists when an id is taken (nothing is
// then added), Unavailable when the database is.
func (s *Store) AppendSignIns(ctx context.Context, tenantID string, entries []signinlog.Entry) error {
	const op = "store.AppendSignIns"
	rows := make([]string, len(entries))
	for i, e := range entries {
		if e.ID == "" || e.CreatedDateTime.IsZero() {
			return errs.E(op, errs.Invalid, "A sign-in log entry needs an id and a createdDateTime.")
		}
		data, err := marshal(op, e)
		if err != nil {
			return err
		}
		rows[i] = data
	}
	err := s.inTx(ctx, func(c conn) error {
		for i, e := range entries {
			if _, err := c.exec(ctx, `INSERT INTO docs (kind, tenant_id, id, lookup, ref, version, created, data)
				VALUES (?, ?, ?, NULL, ?, 1, ?, ?)`, signInKind, tenantID, e.ID, nullable(strings.ToLower(e.UserID)), micros(e.CreatedDateTime), rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return s.d.wrap(op, err, "A sign-in log entry of this batch already exists.")
}
