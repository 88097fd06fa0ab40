package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/latchsh/latch/resource"
)

// The activity log lives in docs under kind "activity": created holds the entry's own time
// (not the insert's), so the (kind, tenant, created) index serves time ranges newest first,
// and ref holds the lower-case resource id for prefix selection.
const activityKind = "activity"

// AppendActivity stores e; Exists when its id is taken. Entries are never updated.
func (s *Store) AppendActivity(ctx context.Context, e resource.ActivityEntry) error {
	const op = "store.AppendActivity"
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	data, err := marshal(op, e)
	if err != nil {
		return err
	}
	_, err = s.c.exec(ctx, `INSERT INTO docs (kind, tenant_id, id, lookup, ref, version, created, data)
		VALUES (?, ?, ?, NULL, ?, 1, ?, ?)`, activityKind, e.TenantID, e.ID, nullable(resource.IDKey(e.ResourceID)), micros(e.Time), data)
	return s.d.wrap(op, err, "An activity log entry with id "+e.ID+" already exists.")
}

// ListActivity returns the entries q selects, newest first.
func (s *Store) ListActivity(ctx context.Context, tenantID string, q resource.ActivityQuery) ([]resource.ActivityEntry, error) {
	const op = "store.ListActivity"
	query := `SELECT data FROM docs WHERE kind = ? AND tenant_id = ?`
	args := []any{activityKind, tenantID}
	if !q.From.IsZero() {
		query += ` AND created >= ?`
		args = append(args, micros(q.From))
	}
	if !q.To.IsZero() {
		query += ` AND created < ?`
		args = append(args, micros(q.To))
	}
	if p := resource.IDKey(strings.TrimSuffix(q.ResourcePrefix, "/")); p != "" {
		query += ` AND (ref = ? OR ref LIKE ? ESCAPE '\')`
		args = append(args, p, likeEscape(p)+"/%")
	}
	query += ` ORDER BY created DESC, id DESC LIMIT ?`
	return listJSON[resource.ActivityEntry](ctx, s, op, query, append(args, q.EffectiveLimit())...)
}
