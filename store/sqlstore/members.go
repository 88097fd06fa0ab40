package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/latchsh/latch/directory"
)

// deleteMember deletes a user, group or service principal and, in the same transaction, takes
// its id out of every group of the tenant, so no group ever lists a deleted object. Groups it
// rewrites get a new version, so a concurrent UpdateGroup that read the old one starts again.
func deleteMember[T any](ctx context.Context, s *Store, k docKind[T], op, tenantID, id string) error {
	err := s.inTx(ctx, func(c conn) error {
		if err := k.remove(ctx, c, op, tenantID, id); err != nil {
			return err
		}
		if err := removeHeldBy(ctx, c, op, tenantID, id); err != nil {
			return err
		}
		return removeFromGroups(ctx, c, op, tenantID, id)
	})
	if err != nil {
		return s.d.wrap(op, err, "")
	}
	return nil
}

// removeHeldBy deletes what belongs to a deleted principal: its directory role assignments
// (a later object reusing nothing of it must not inherit a role) and its Temporary Access
// Passes. Both kinds keep the principal's id in ref.
func removeHeldBy(ctx context.Context, c conn, op, tenantID, id string) error {
	_, err := c.exec(ctx, `DELETE FROM docs WHERE tenant_id = ? AND ref = ? AND kind IN (?, ?)`,
		tenantID, id, roleAssignments.name, passes.name)
	if err != nil {
		return c.d.wrap(op, err, "")
	}
	return nil
}

type lockedGroup struct {
	g   directory.Group
	row row
}

func removeFromGroups(ctx context.Context, c conn, op, tenantID, id string) error {
	gs, err := groupsMentioning(ctx, c, op, tenantID, id)
	if err != nil {
		return err
	}
	for _, lg := range gs {
		g := lg.g
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == id })
		if len(g.Members) == len(lg.g.Members) {
			continue // the text matched somewhere other than Members
		}
		ok, err := groups.swap(ctx, c, op, tenantID, g.ID, lg.row, &g)
		if err != nil {
			return err
		}
		if !ok {
			// The rows are locked (or the whole database is, on SQLite), so this is a bug.
			return c.d.wrap(op, errConcurrentGroupChange, "")
		}
	}
	return nil
}

// groupsMentioning locks and returns the tenant's groups whose JSON contains id as a string.
// The LIKE only narrows the scan; removeFromGroups decides on the decoded Members. Locking in id
// order keeps two deletions from deadlocking each other.
func groupsMentioning(ctx context.Context, c conn, op, tenantID, id string) ([]lockedGroup, error) {
	quoted, _ := json.Marshal(id)
	rows, err := c.query(ctx, c.forUpdate(`SELECT data, version, created FROM docs
		WHERE kind = ? AND tenant_id = ? AND data LIKE ? ESCAPE '\' ORDER BY id`),
		groups.name, tenantID, "%"+likeEscape(string(quoted))+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []lockedGroup
	for rows.Next() {
		g, r, err := groups.scan(op, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, lockedGroup{g, r})
	}
	return out, rows.Err()
}

var errConcurrentGroupChange = errors.New("a locked group changed under its lock")

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func likeEscape(s string) string { return likeEscaper.Replace(s) }
