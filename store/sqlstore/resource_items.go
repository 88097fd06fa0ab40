package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/latchsh/latch/resource"
)

var resources = docKind[resource.Resource]{
	name: "resource", what: "resource",
	ids: func(r *resource.Resource) (*string, *string) { return &r.TenantID, &r.ID },
	key: func(r resource.Resource) string { return resource.IDKey(r.ID) },
	ref: func(r resource.Resource) string { return resource.IDKey(parentID(r.ID)) },
	stamp: func(r *resource.Resource, v int64, c time.Time) {
		r.Version, r.Created = v, c
	},
	exists: func(r resource.Resource) string {
		return fmt.Sprintf("A resource with id '%s' already exists.", r.ID)
	},
}

// parentID is the id of the resource group or parent resource of a resource id, "" when the
// id does not parse (create refuses those before they reach a row).
func parentID(id string) string {
	ref, err := resource.ParseResourceID(id)
	if err != nil {
		return ""
	}
	return ref.Parent()
}

// CreateResource stores r under its resource group (and parent resource, for a child). The
// group's and the parent's rows are locked while the resource is inserted, so a concurrent
// delete of either waits and then deletes the new resource too, or runs first and this fails
// with NotFound.
func (s *Store) CreateResource(ctx context.Context, r resource.Resource) error {
	const op = "store.CreateResource"
	ref, err := resource.ParseResourceID(r.ID)
	if err != nil {
		return err
	}
	r.ID = ref.Scope.String()
	err = s.inTx(ctx, func(c conn) error {
		rg := resource.IDKey(resource.ResourceGroupID(ref.SubscriptionID, ref.ResourceGroup))
		if err := lockByKey(ctx, c, op, resourceGroups.name, resourceGroups.what, r.TenantID, rg); err != nil {
			return err
		}
		if parent := resource.IDKey(ref.Parent()); parent != rg {
			if err := lockByKey(ctx, c, op, resources.name, resources.what, r.TenantID, parent); err != nil {
				return err
			}
		}
		return insertDoc(ctx, c, s, resources, op, r)
	})
	return s.d.wrap(op, err, resources.exists(r))
}

// GetResource finds a resource by ARM id in any case; NotFound when absent.
func (s *Store) GetResource(ctx context.Context, tenantID, id string) (resource.Resource, error) {
	return resources.getByKey(ctx, s, "store.GetResource", tenantID, resource.IDKey(id))
}

// ListResources returns the resources below under (and under itself, when it is a resource),
// of type typ when it is not "", oldest first.
func (s *Store) ListResources(ctx context.Context, tenantID, under, typ string) ([]resource.Resource, error) {
	const op = "store.ListResources"
	key := resource.IDKey(strings.TrimSuffix(under, "/"))
	// Below key is the range [key+"/", key+"0"): '0' follows '/' in byte order.
	rows, err := s.c.query(ctx, `SELECT data, version, created FROM docs
		WHERE kind = ? AND tenant_id = ? AND (lookup = ? OR (lookup`+s.d.Bytewise+` >= ? AND lookup`+s.d.Bytewise+` < ?))
		ORDER BY created, id`,
		resources.name, tenantID, key, key+"/", key+"0")
	if err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	defer rows.Close()
	out := []resource.Resource{}
	for rows.Next() {
		r, _, err := resources.scan(op, rows)
		if err != nil {
			return nil, s.d.wrap(op, err, "")
		}
		if typ == "" || strings.EqualFold(r.Type, typ) {
			out = append(out, r)
		}
	}
	return out, s.d.wrap(op, rows.Err(), "")
}

// UpdateResource is compare-and-swap; the id, type and name cannot change.
func (s *Store) UpdateResource(ctx context.Context, tenantID, id string, fn func(resource.Resource) (resource.Resource, error)) (resource.Resource, error) {
	cur, err := s.GetResource(ctx, tenantID, id)
	if err != nil {
		return cur, err
	}
	return resources.update(ctx, s, "store.UpdateResource", tenantID, cur.ID, func(old resource.Resource) (resource.Resource, error) {
		nv, err := fn(old)
		nv.Type, nv.Name = old.Type, old.Name
		return nv, err
	})
}

// DeleteResource removes the resource, its children and the role assignments at or below it,
// in one transaction.
func (s *Store) DeleteResource(ctx context.Context, tenantID, id string) error {
	const op = "store.DeleteResource"
	key := resource.IDKey(id)
	err := s.inTx(ctx, func(c conn) error {
		if err := removeByKey(ctx, c, op, resources.name, resources.what, tenantID, key); err != nil {
			return err
		}
		return removeBelow(ctx, c, tenantID, key)
	})
	return s.d.wrap(op, err, "")
}
