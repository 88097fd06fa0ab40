package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
)

// Attempt counters: the id is the counter's key ("password:account:alice@contoso.test"); the
// ref column holds Expires as fixed-width microseconds, so that counters whose window is over
// can be deleted with one range condition on the (kind, tenant, ref) index.
var attempts = docKind[authn.AttemptCounter]{
	name: "signInAttempts", what: "attempt counter",
	ids: func(a *authn.AttemptCounter) (*string, *string) { return &a.TenantID, &a.Key },
	key: func(authn.AttemptCounter) string { return "" },
	ref: func(a authn.AttemptCounter) string { return expiryRef(a.Expires) },
	stamp: func(a *authn.AttemptCounter, v int64, _ time.Time) {
		a.Version = v
	},
	exists: func(authn.AttemptCounter) string { return "The attempt counter exists already." },
}

// expiryRef encodes a time so that strings sort as the times do; "" (no expiry) is NULL.
func expiryRef(t time.Time) string {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return ""
	}
	return fmt.Sprintf("%020d", micros(t))
}

// UpdateAttempts is compare-and-swap on the counter key, creating it when absent: fn then
// gets a zero counter with Key and TenantID set. When fn fails nothing is written. Creating a
// counter also deletes the tenant's counters that expired before the new one's window began,
// which keeps the table to the keys seen in the last window. The expiry is judged on the
// counters' own times, never on this server's clock, so a caller's clock alone decides.
func (s *Store) UpdateAttempts(ctx context.Context, tenantID, key string, fn func(authn.AttemptCounter) (authn.AttemptCounter, error)) (authn.AttemptCounter, error) {
	const op = "store.UpdateAttempts"
	for range maxCASAttempts {
		c, err := attempts.update(ctx, s, op, tenantID, key, fn)
		if !errs.Is(err, errs.NotFound) {
			return c, err
		}
		c, err = fn(authn.AttemptCounter{Key: key, TenantID: tenantID})
		if err != nil {
			return authn.AttemptCounter{}, err
		}
		c.Key, c.TenantID = key, tenantID
		err = attempts.create(ctx, s, op, c)
		if err == nil {
			c.Version = 1
			s.purgeAttempts(ctx, tenantID, c.WindowStart)
			return c, nil
		}
		if !errs.Is(err, errs.Exists) { // Exists: another caller created it; update theirs
			return authn.AttemptCounter{}, err
		}
	}
	return authn.AttemptCounter{}, errs.E(op, errs.Conflict, "The sign-in attempt counter is changing too often; try again.")
}

// purgeAttempts deletes counters that expired before now. Failure is harmless (the rows go
// next time), so it is not reported.
func (s *Store) purgeAttempts(ctx context.Context, tenantID string, now time.Time) {
	cut := expiryRef(now)
	if cut == "" {
		return
	}
	s.c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND ref IS NOT NULL AND ref < ?`,
		attempts.name, tenantID, cut)
}

// Sessions are found by id alone (the cookie names no tenant), so they all live under one
// fixed tenant column value; their own TenantID is kept in the document, and "tenant|user" in
// ref lists one person's sessions.
const sessionTenant = "-"

var sessions = docKind[authn.Session]{
	name: "browserSession", what: "session",
	ids: func(x *authn.Session) (*string, *string) {
		t := sessionTenant // never the session's TenantID: swap must not overwrite it
		return &t, &x.ID
	},
	key: func(authn.Session) string { return "" },
	ref: func(x authn.Session) string { return x.TenantID + "|" + x.UserID },
	stamp: func(x *authn.Session, v int64, c time.Time) {
		x.Version, x.Created = v, c
	},
	exists: func(authn.Session) string { return "A session with this id exists already." },
}

// CreateSession stores x with Version 1 and Created now; Exists when the id is taken.
func (s *Store) CreateSession(ctx context.Context, x authn.Session) error {
	if x.ID == "" || x.TenantID == "" || x.UserID == "" {
		return errs.E("store.CreateSession", errs.Invalid, "A session needs an id, a tenant and a user.")
	}
	return sessions.create(ctx, s, "store.CreateSession", x)
}

// GetSession fails with NotFound for an unknown id. Expiry is the caller's to judge.
func (s *Store) GetSession(ctx context.Context, id string) (authn.Session, error) {
	return sessions.get(ctx, s, "store.GetSession", sessionTenant, id)
}

// UpdateSession is compare-and-swap; fn cannot move the session to another tenant or user.
func (s *Store) UpdateSession(ctx context.Context, id string, fn func(authn.Session) (authn.Session, error)) (authn.Session, error) {
	return sessions.update(ctx, s, "store.UpdateSession", sessionTenant, id, func(old authn.Session) (authn.Session, error) {
		nv, err := fn(old)
		nv.TenantID, nv.UserID = old.TenantID, old.UserID
		return nv, err
	})
}

// DeleteSession fails with NotFound when there is no such session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return sessions.remove(ctx, s.c, "store.DeleteSession", sessionTenant, id)
}

// ListSessions returns one user's sessions, oldest first, expired ones included.
func (s *Store) ListSessions(ctx context.Context, tenantID, userID string) ([]authn.Session, error) {
	if tenantID == "" || userID == "" {
		return []authn.Session{}, nil
	}
	return sessions.list(ctx, s, "store.ListSessions", sessionTenant, tenantID+"|"+userID)
}
