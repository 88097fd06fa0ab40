package sqlstore

import (
	"context"
	"fmt"

	"github.com/latchsh/latch/token"
)

// AddSigningKey stores k (Created now when zero). Exists when the tenant already has a key of
// this Generation or this kid: replicas racing to rotate make exactly one new key, and the
// losers should re-read the key set rather than retry.
func (s *Store) AddSigningKey(ctx context.Context, k token.SigningKey) error {
	const op = "store.AddSigningKey"
	if k.Created.IsZero() {
		k.Created = s.now().UTC()
	}
	data, err := marshal(op, k)
	if err != nil {
		return err
	}
	_, err = s.c.exec(ctx, `INSERT INTO signing_keys (tenant_id, kid, generation, created, data)
		VALUES (?, ?, ?, ?, ?)`, k.TenantID, k.ID, k.Generation, micros(k.Created), data)
	return s.d.wrap(op, err, fmt.Sprintf("The tenant already has a signing key of generation %d or with kid %s.", k.Generation, k.ID))
}

// ListSigningKeys returns the tenant's keys in order of Generation, oldest first, whatever their
// validity: the caller decides which sign and which verify.
func (s *Store) ListSigningKeys(ctx context.Context, tenantID string) ([]token.SigningKey, error) {
	return listJSON[token.SigningKey](ctx, s, "store.ListSigningKeys",
		`SELECT data FROM signing_keys WHERE tenant_id = ? ORDER BY generation`, tenantID)
}

// DeleteSigningKey fails with NotFound when the tenant has no key with this kid.
func (s *Store) DeleteSigningKey(ctx context.Context, tenantID, kid string) error {
	const op = "store.DeleteSigningKey"
	n, err := s.c.exec(ctx, `DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ?`, tenantID, kid)
	if err != nil {
		return s.d.wrap(op, err, "")
	}
	if n == 0 {
		return notFound(op, "signing key", kid)
	}
	return nil
}
