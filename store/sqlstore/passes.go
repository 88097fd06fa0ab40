package sqlstore

import (
	"context"
	"time"

	"github.com/latchsh/latch/authn"
)

var passes = docKind[authn.TemporaryAccessPass]{
	name: "temporaryAccessPass", what: "Temporary Access Pass",
	ids: func(p *authn.TemporaryAccessPass) (*string, *string) { return &p.TenantID, &p.ID },
	key: func(authn.TemporaryAccessPass) string { return "" },
	ref: func(p authn.TemporaryAccessPass) string { return p.UserID },
	stamp: func(p *authn.TemporaryAccessPass, v int64, c time.Time) {
		p.Version, p.Created = v, c
	},
	exists: func(p authn.TemporaryAccessPass) string {
		return "A Temporary Access Pass with id " + p.ID + " already exists."
	},
}

// CreateTemporaryAccessPass stores p with Version 1 and Created now; Exists when the id is taken.
func (s *Store) CreateTemporaryAccessPass(ctx context.Context, p authn.TemporaryAccessPass) error {
	return passes.create(ctx, s, "store.CreateTemporaryAccessPass", p)
}

// ListTemporaryAccessPasses returns the user's passes, oldest first, expired and used ones
// included: deciding what still works is the caller's business.
func (s *Store) ListTemporaryAccessPasses(ctx context.Context, tenantID, userID string) ([]authn.TemporaryAccessPass, error) {
	if userID == "" {
		return []authn.TemporaryAccessPass{}, nil
	}
	return passes.list(ctx, s, "store.ListTemporaryAccessPasses", tenantID, userID)
}

// UpdateTemporaryAccessPass is compare-and-swap, so a one-time pass is marked used once.
func (s *Store) UpdateTemporaryAccessPass(ctx context.Context, tenantID, id string, fn func(authn.TemporaryAccessPass) (authn.TemporaryAccessPass, error)) (authn.TemporaryAccessPass, error) {
	return passes.update(ctx, s, "store.UpdateTemporaryAccessPass", tenantID, id, fn)
}

// DeleteTemporaryAccessPass fails with NotFound when there is no such pass.
func (s *Store) DeleteTemporaryAccessPass(ctx context.Context, tenantID, id string) error {
	return passes.remove(ctx, s.c, "store.DeleteTemporaryAccessPass", tenantID, id)
}
