package sqlstore

import (
	"context"
	"time"

	"github.com/latchsh/latch/store"
)

// PurgeExpired deletes expired sessions and abandoned challenges. Sessions keep their expiry
// only in the document, so they are read and each expired one deleted at the version read;
// challenges are judged by their creation time, which has a column.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	const op = "store.PurgeExpired"
	n, err := s.c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND created < ?`,
		challenges.name, micros(now.Add(-store.AbandonedChallengeAge)))
	if err != nil {
		return 0, s.d.wrap(op, err, "")
	}
	expired, err := s.expiredSessions(ctx, now)
	if err != nil {
		return n, err
	}
	for _, x := range expired {
		m, err := s.c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND id = ? AND version = ?`,
			sessions.name, sessionTenant, x.id, x.version)
		if err != nil {
			return n, s.d.wrap(op, err, "")
		}
		n += m
	}
	return n, nil
}

type sessionRow struct {
	id      string
	version int64
}

// expiredSessions lists the sessions whose Expires is before now, with the version read.
func (s *Store) expiredSessions(ctx context.Context, now time.Time) ([]sessionRow, error) {
	const op = "store.PurgeExpired"
	rows, err := s.c.query(ctx, `SELECT data, version, created FROM docs WHERE kind = ? AND tenant_id = ?`, sessions.name, sessionTenant)
	if err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	defer rows.Close()
	var out []sessionRow
	for rows.Next() {
		x, r, err := sessions.scan(op, rows)
		if err != nil {
			return nil, s.d.wrap(op, err, "")
		}
		if !x.Expires.IsZero() && x.Expires.Before(now) {
			out = append(out, sessionRow{x.ID, r.version})
		}
	}
	return out, s.d.wrap(op, rows.Err(), "")
}

var _ store.PurgeStore = (*Store)(nil)
