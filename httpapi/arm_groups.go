package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// Operations on resource groups, as ARM names them.
const (
	opRGRead   = "Microsoft.Resources/subscriptions/resourceGroups/read"
	opRGWrite  = "Microsoft.Resources/subscriptions/resourceGroups/write"
	opRGDelete = "Microsoft.Resources/subscriptions/resourceGroups/delete"
	opSubRead  = "Microsoft.Resources/subscriptions/read"
)

// rgBody is a resource group PUT or PATCH body, with ARM's field names. The read-only fields
// a client may echo back (id, name, type) are accepted and ignored.
type rgBody struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   *string           `json:"location"`
	Tags       map[string]string `json:"tags"`
	ManagedBy  *string           `json:"managedBy"`
	Properties json.RawMessage   `json:"properties"`
}

func rgJSON(g resource.ResourceGroup) map[string]any {
	var managedBy any
	if g.ManagedBy != "" {
		managedBy = g.ManagedBy
	}
	return map[string]any{"id": g.ARMID(), "name": g.Name, "type": resource.TypeResourceGroup, "location": g.Location,
		"tags": tagsJSON(g.Tags), "managedBy": managedBy, "properties": map[string]string{"provisioningState": resource.ProvisioningSucceeded}}
}

// tagsJSON writes no tags as null, as ARM does.
func tagsJSON(t map[string]string) any {
	if t == nil {
		return nil
	}
	return t
}

// rgScope is the scope of the resource group the path names, after checking the name.
func (q *armRequest) rgScope(sub resource.Subscription) (access.Scope, error) {
	if err := resource.ValidateResourceGroupName(q.vars["rg"]); err != nil {
		return access.Scope{}, err
	}
	q.resourceID = resource.ResourceGroupID(sub.ID, q.vars["rg"])
	return scopeOf(q.resourceID)
}

func rgNotFound(name string) error {
	return errs.E("httpapi.resourceGroup", errs.NotFound, errs.Code("ResourceGroupNotFound"),
		fmt.Sprintf("Resource group '%s' could not be found.", truncate(name, 100)))
}

// prepare finds the subscription, checks the group name and authorizes action on the group.
func (q *armRequest) prepareRG(action string) (resource.Subscription, error) {
	sub, err := q.subscription()
	if err != nil {
		return sub, err
	}
	sc, err := q.rgScope(sub)
	if err != nil {
		return sub, err
	}
	return sub, q.authz.require(action, sc)
}

func getRG(q *armRequest) (int, any, error) {
	sub, err := q.prepareRG(opRGRead)
	if err != nil {
		return 0, nil, err
	}
	g, err := q.s.Store.GetResourceGroup(q.ctx, q.tenantID(), sub.ID, q.vars["rg"])
	if errs.Is(err, errs.NotFound) {
		return 0, nil, rgNotFound(q.vars["rg"])
	}
	if err != nil {
		return 0, nil, err
	}
	if q.r.Method == http.MethodHead {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusOK, rgJSON(g), nil
}

// putRG creates a group (201) or updates its tags (200). The location of a group never
// changes, as in ARM.
func putRG(q *armRequest) (int, any, error) {
	sub, err := q.prepareRG(opRGWrite)
	if err != nil {
		return 0, nil, err
	}
	var b rgBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	loc, err := resource.NormalizeLocation(deref(b.Location))
	if err != nil {
		return 0, nil, err
	}
	if err := resource.ValidateTags(b.Tags); err != nil {
		return 0, nil, err
	}
	g := resource.ResourceGroup{TenantID: q.tenantID(), SubscriptionID: sub.ID, Name: q.vars["rg"], Location: loc,
		Tags: b.Tags, ManagedBy: deref(b.ManagedBy)}
	err = q.s.Store.CreateResourceGroup(q.ctx, g)
	if err == nil {
		created, err := q.s.Store.GetResourceGroup(q.ctx, q.tenantID(), sub.ID, g.Name)
		return http.StatusCreated, rgJSON(created), err
	}
	if !errs.Is(err, errs.Exists) {
		return 0, nil, err
	}
	up, err := q.s.Store.UpdateResourceGroup(q.ctx, q.tenantID(), sub.ID, g.Name, func(old resource.ResourceGroup) (resource.ResourceGroup, error) {
		if old.Location != loc {
			return old, errs.E("httpapi.putRG", errs.Invalid, errs.Code("InvalidResourceGroupLocation"), fmt.Sprintf(
				"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", loc, old.Location))
		}
		old.Tags, old.ManagedBy = b.Tags, g.ManagedBy
		return old, nil
	})
	return http.StatusOK, rgJSON(up), err
}

// patchRG replaces the tags (and managedBy) of a group that exists.
func patchRG(q *armRequest) (int, any, error) {
	sub, err := q.prepareRG(opRGWrite)
	if err != nil {
		return 0, nil, err
	}
	var b rgBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	if err := resource.ValidateTags(b.Tags); err != nil {
		return 0, nil, err
	}
	up, err := q.s.Store.UpdateResourceGroup(q.ctx, q.tenantID(), sub.ID, q.vars["rg"], func(old resource.ResourceGroup) (resource.ResourceGroup, error) {
		if b.Location != nil && !strings.EqualFold(strings.ReplaceAll(*b.Location, " ", ""), old.Location) {
			return old, errs.E("httpapi.patchRG", errs.Invalid, errs.Code("InvalidResourceGroupLocation"),
				"The location of a resource group cannot change.")
		}
		if b.Tags != nil {
			old.Tags = b.Tags
		}
		if b.ManagedBy != nil {
			old.ManagedBy = *b.ManagedBy
		}
		return old, nil
	})
	if errs.Is(err, errs.NotFound) {
		return 0, nil, rgNotFound(q.vars["rg"])
	}
	return http.StatusOK, rgJSON(up), err
}

// deleteRG deletes the group with everything in it (the store does that in one transaction),
// then the managed identities of the machines that were in it.
func deleteRG(q *armRequest) (int, any, error) {
	sub, err := q.prepareRG(opRGDelete)
	if err != nil {
		return 0, nil, err
	}
	inside, err := q.s.Store.ListResources(q.ctx, q.tenantID(), resource.ResourceGroupID(sub.ID, q.vars["rg"]), "")
	if err != nil {
		return 0, nil, err
	}
	err = q.s.Store.DeleteResourceGroup(q.ctx, q.tenantID(), sub.ID, q.vars["rg"])
	if errs.Is(err, errs.NotFound) {
		return 0, nil, rgNotFound(q.vars["rg"])
	}
	if err != nil {
		return 0, nil, err
	}
	for _, r := range inside {
		if err := q.s.removeManagedIdentity(q, r); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, nil, nil
}

// listRGs lists the groups the caller may read: all of them with read access on the
// subscription, otherwise those it was given access to one by one.
func listRGs(q *armRequest) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	subScope := access.MustParseScope(sub.ARMID())
	whole := q.authz.allowed(opRGRead, subScope)
	groups, err := q.s.Store.ListResourceGroups(q.ctx, q.tenantID(), sub.ID)
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, g := range groups {
		if whole || q.authz.allowed(opRGRead, access.MustParseScope(g.ARMID())) {
			out = append(out, rgJSON(g))
		}
	}
	if !whole && len(out) == 0 {
		if err := q.authz.require(opRGRead, subScope); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
