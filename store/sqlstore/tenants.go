package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/resource"
)

// CreateTenant stores t, setting Created to now when it is zero; Exists when the id is taken.
func (s *Store) CreateTenant(ctx context.Context, t directory.Tenant) error {
	const op = "store.CreateTenant"
	if t.Created.IsZero() {
		t.Created = s.now().UTC()
	}
	data, err := marshal(op, t)
	if err != nil {
		return err
	}
	_, err = s.c.exec(ctx, `INSERT INTO tenants (id, created, data) VALUES (?, ?, ?)`, t.ID, micros(t.Created), data)
	if err != nil {
		return s.d.wrap(op, err, "A tenant with id "+t.ID+" already exists.")
	}
	return nil
}

// GetTenant fails with NotFound when there is no such tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (directory.Tenant, error) {
	const op = "store.GetTenant"
	var t directory.Tenant
	var data string
	err := s.c.row(ctx, `SELECT data FROM tenants WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound(op, "tenant", id)
	}
	if err != nil {
		return t, s.d.wrap(op, err, "")
	}
	return t, unmarshal(op, data, &t)
}

// ListTenants returns every tenant, oldest first.
func (s *Store) ListTenants(ctx context.Context) ([]directory.Tenant, error) {
	return listJSON[directory.Tenant](ctx, s, "store.ListTenants",
		`SELECT data FROM tenants ORDER BY created, id`)
}

// CreateSubscription stores sub, setting Created to now when it is zero; Exists when the id is
// taken (subscription ids are unique across tenants, as in Azure).
func (s *Store) CreateSubscription(ctx context.Context, sub resource.Subscription) error {
	const op = "store.CreateSubscription"
	if sub.Created.IsZero() {
		sub.Created = s.now().UTC()
	}
	data, err := marshal(op, sub)
	if err != nil {
		return err
	}
	_, err = s.c.exec(ctx, `INSERT INTO subscriptions (id, tenant_id, created, data) VALUES (?, ?, ?, ?)`,
		sub.ID, sub.TenantID, micros(sub.Created), data)
	if err != nil {
		return s.d.wrap(op, err, "A subscription with id "+sub.ID+" already exists.")
	}
	return nil
}

// ListSubscriptions returns the tenant's subscriptions, oldest first.
func (s *Store) ListSubscriptions(ctx context.Context, tenantID string) ([]resource.Subscription, error) {
	return listJSON[resource.Subscription](ctx, s, "store.ListSubscriptions",
		`SELECT data FROM subscriptions WHERE tenant_id = ? ORDER BY created, id`, tenantID)
}

// listJSON runs a query whose single column is a JSON document and decodes every row.
func listJSON[T any](ctx context.Context, s *Store, op, query string, args ...any) ([]T, error) {
	rows, err := s.c.query(ctx, query, args...)
	if err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var data string
		var v T
		if err := rows.Scan(&data); err != nil {
			return nil, s.d.wrap(op, err, "")
		}
		if err := unmarshal(op, data, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	return out, nil
}
