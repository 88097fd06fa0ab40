package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// Resource-manager objects live in docs like directory objects. Ids keep the case they were
// created with; lookup holds the lower-case ARM id (unique), so every read ignores case, and
// lower-case ids share prefixes with what is below them, so "at or below" is a LIKE on lookup.

var managementGroups = docKind[resource.ManagementGroup]{
	name: "managementGroup", what: "management group",
	ids: func(g *resource.ManagementGroup) (*string, *string) { return &g.TenantID, &g.Name },
	key: func(g resource.ManagementGroup) string { return strings.ToLower(g.Name) },
	ref: func(g resource.ManagementGroup) string { return strings.ToLower(g.Parent) },
	stamp: func(g *resource.ManagementGroup, v int64, c time.Time) {
		g.Version, g.Created = v, c
	},
	exists: func(g resource.ManagementGroup) string {
		return fmt.Sprintf("A management group named '%s' already exists.", g.Name)
	},
}

var resourceGroups = docKind[resource.ResourceGroup]{
	name: "resourceGroup", what: "resource group",
	ids: func(g *resource.ResourceGroup) (*string, *string) { return &g.TenantID, &g.ID },
	key: func(g resource.ResourceGroup) string { return resource.IDKey(g.ID) },
	ref: func(g resource.ResourceGroup) string {
		return resource.IDKey(resource.SubscriptionID(g.SubscriptionID))
	},
	stamp: func(g *resource.ResourceGroup, v int64, c time.Time) {
		g.Version, g.Created = v, c
	},
	exists: func(g resource.ResourceGroup) string {
		return fmt.Sprintf("A resource group named '%s' already exists in this subscription.", g.Name)
	},
}

// CreateManagementGroup stores g. A group with a parent needs the parent to exist (NotFound
// otherwise); the parent row is locked meanwhile, so a concurrent delete of the parent either
// sees the new child or runs after the create fails.
func (s *Store) CreateManagementGroup(ctx context.Context, g resource.ManagementGroup) error {
	const op = "store.CreateManagementGroup"
	err := s.inTx(ctx, func(c conn) error {
		if g.Parent != "" {
			if err := lockByKey(ctx, c, op, managementGroups.name, managementGroups.what, g.TenantID, strings.ToLower(g.Parent)); err != nil {
				return err
			}
		}
		return insertDoc(ctx, c, s, managementGroups, op, g)
	})
	return s.d.wrap(op, err, managementGroups.exists(g))
}

// GetManagementGroup finds a group by name in any case; NotFound when absent.
func (s *Store) GetManagementGroup(ctx context.Context, tenantID, name string) (resource.ManagementGroup, error) {
	return managementGroups.getByKey(ctx, s, "store.GetManagementGroup", tenantID, strings.ToLower(name))
}

// ListManagementGroups returns the tenant's groups, oldest first.
func (s *Store) ListManagementGroups(ctx context.Context, tenantID string) ([]resource.ManagementGroup, error) {
	return managementGroups.list(ctx, s, "store.ListManagementGroups", tenantID, "")
}

// UpdateManagementGroup is compare-and-swap; the name cannot change.
func (s *Store) UpdateManagementGroup(ctx context.Context, tenantID, name string, fn func(resource.ManagementGroup) (resource.ManagementGroup, error)) (resource.ManagementGroup, error) {
	const op = "store.UpdateManagementGroup"
	cur, err := s.GetManagementGroup(ctx, tenantID, name)
	if err != nil {
		return cur, err
	}
	return managementGroups.update(ctx, s, op, tenantID, cur.Name, fn)
}

// DeleteManagementGroup removes an empty, non-root group and the role assignments at it.
func (s *Store) DeleteManagementGroup(ctx context.Context, tenantID, name string) error {
	const op = "store.DeleteManagementGroup"
	err := s.inTx(ctx, func(c conn) error {
		g, err := lockedDoc(ctx, c, managementGroups, op, tenantID, strings.ToLower(name))
		if err != nil {
			return err
		}
		if g.IsRoot() {
			return errs.E(op, errs.Invalid, errs.Code("CannotDeleteRootManagementGroup"), "The root management group cannot be deleted.")
		}
		var children int
		if err := c.row(ctx, `SELECT COUNT(*) FROM docs WHERE kind = ? AND tenant_id = ? AND ref = ?`,
			managementGroups.name, tenantID, strings.ToLower(g.Name)).Scan(&children); err != nil {
			return err
		}
		if children > 0 || len(g.Subscriptions) > 0 {
			return errs.E(op, errs.Conflict, errs.Code("ManagementGroupHasChildren"), fmt.Sprintf(
				"The management group '%s' has child groups or subscriptions; move or delete them first.", g.Name))
		}
		if err := managementGroups.remove(ctx, c, op, tenantID, g.Name); err != nil {
			return err
		}
		// Assignments at the group go with it, so a group made later under the name inherits nothing.
		_, err = c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND lookup LIKE ? ESCAPE '\'`,
			roleAssignmentsKind.name, tenantID, likeEscape(resource.IDKey(g.ARMID()))+"|%")
		return err
	})
	return s.d.wrap(op, err, "")
}

// CreateResourceGroup stores g with ID set from its subscription and name.
func (s *Store) CreateResourceGroup(ctx context.Context, g resource.ResourceGroup) error {
	g.ID = g.ARMID()
	return resourceGroups.create(ctx, s, "store.CreateResourceGroup", g)
}

// GetResourceGroup finds a group by subscription and name in any case; NotFound when absent.
func (s *Store) GetResourceGroup(ctx context.Context, tenantID, subscriptionID, name string) (resource.ResourceGroup, error) {
	return resourceGroups.getByKey(ctx, s, "store.GetResourceGroup", tenantID, resource.IDKey(resource.ResourceGroupID(subscriptionID, name)))
}

// ListResourceGroups returns a subscription's groups, oldest first.
func (s *Store) ListResourceGroups(ctx context.Context, tenantID, subscriptionID string) ([]resource.ResourceGroup, error) {
	return resourceGroups.list(ctx, s, "store.ListResourceGroups", tenantID, resource.IDKey(resource.SubscriptionID(subscriptionID)))
}

// UpdateResourceGroup is compare-and-swap; the subscription and name cannot change.
func (s *Store) UpdateResourceGroup(ctx context.Context, tenantID, subscriptionID, name string, fn func(resource.ResourceGroup) (resource.ResourceGroup, error)) (resource.ResourceGroup, error) {
	cur, err := s.GetResourceGroup(ctx, tenantID, subscriptionID, name)
	if err != nil {
		return cur, err
	}
	return resourceGroups.update(ctx, s, "store.UpdateResourceGroup", tenantID, cur.ID, func(old resource.ResourceGroup) (resource.ResourceGroup, error) {
		nv, err := fn(old)
		nv.SubscriptionID, nv.Name = old.SubscriptionID, old.Name
		return nv, err
	})
}

// DeleteResourceGroup removes the group, the resources in it and the role assignments at or
// below it in one transaction. The group's row goes first, so a concurrent CreateResource,
// which locks that row, either finishes before (and its resource is deleted here) or finds
// the group gone.
func (s *Store) DeleteResourceGroup(ctx context.Context, tenantID, subscriptionID, name string) error {
	const op = "store.DeleteResourceGroup"
	key := resource.IDKey(resource.ResourceGroupID(subscriptionID, name))
	err := s.inTx(ctx, func(c conn) error {
		if err := removeByKey(ctx, c, op, resourceGroups.name, resourceGroups.what, tenantID, key); err != nil {
			return err
		}
		return removeBelow(ctx, c, tenantID, key)
	})
	return s.d.wrap(op, err, "")
}

// removeBelow deletes the resources below key and the role assignments at or below it.
func removeBelow(ctx context.Context, c conn, tenantID, key string) error {
	below := likeEscape(key) + "/%"
	if _, err := c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND lookup LIKE ? ESCAPE '\'`,
		resources.name, tenantID, below); err != nil {
		return err
	}
	_, err := c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND (lookup LIKE ? ESCAPE '\' OR lookup LIKE ? ESCAPE '\')`,
		roleAssignmentsKind.name, tenantID, likeEscape(key)+"|%", below)
	return err
}

// insertDoc is docKind.create inside a transaction.
func insertDoc[T any](ctx context.Context, c conn, s *Store, k docKind[T], op string, v T) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	k.stamp(&v, 1, now)
	data, err := marshal(op, v)
	if err != nil {
		return err
	}
	tid, id := k.ids(&v)
	_, err = c.exec(ctx, `INSERT INTO docs (kind, tenant_id, id, lookup, ref, version, created, data)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?)`, k.name, *tid, *id, nullable(k.key(v)), nullable(k.ref(v)), micros(now), data)
	return c.d.wrap(op, err, k.exists(v))
}

// lockByKey locks the row of kind with lookup key, or fails with NotFound.
func lockByKey(ctx context.Context, c conn, op, kind, what, tenantID, key string) error {
	var one int
	err := c.row(ctx, c.forUpdate(`SELECT 1 FROM docs WHERE kind = ? AND tenant_id = ? AND lookup = ?`), kind, tenantID, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(op, what, key)
	}
	return err
}

// lockedDoc reads and locks the document of k with lookup key.
func lockedDoc[T any](ctx context.Context, c conn, k docKind[T], op, tenantID, key string) (T, error) {
	v, _, err := k.scan(op, c.row(ctx, c.forUpdate(`SELECT data, version, created FROM docs
		WHERE kind = ? AND tenant_id = ? AND lookup = ?`), k.name, tenantID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return v, notFound(op, k.what, key)
	}
	return v, err
}

// removeByKey deletes the row of kind with lookup key, or fails with NotFound.
func removeByKey(ctx context.Context, c conn, op, kind, what, tenantID, key string) error {
	n, err := c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND lookup = ?`, kind, tenantID, key)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, what, key)
	}
	return nil
}
