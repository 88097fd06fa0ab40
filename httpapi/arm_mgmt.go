package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// Operations on management groups, as ARM names them.
const (
	opMGRead        = "Microsoft.Management/managementGroups/read"
	opMGWrite       = "Microsoft.Management/managementGroups/write"
	opMGDelete      = "Microsoft.Management/managementGroups/delete"
	opMGSubWrite    = "Microsoft.Management/managementGroups/subscriptions/write"
	typeMGSubscript = "Microsoft.Management/managementGroups/subscriptions"
)

// mgBody is a management group PUT body: az sends name and properties.displayName and
// properties.details.parent.id.
type mgBody struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		TenantID    string `json:"tenantId"`
		DisplayName string `json:"displayName"`
		Details     struct {
			Parent struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"parent"`
			UpdatedTime json.RawMessage `json:"updatedTime"`
			UpdatedBy   json.RawMessage `json:"updatedBy"`
			Version     json.RawMessage `json:"version"`
		} `json:"details"`
		Children json.RawMessage `json:"children"`
	} `json:"properties"`
}

func mgScope(name string) access.Scope { return scopeOrZero(resource.ManagementGroupID(name)) }

func mgJSON(g resource.ManagementGroup, h resource.Hierarchy, children bool) map[string]any {
	details := map[string]any{"updatedTime": g.Updated, "updatedBy": g.UpdatedBy, "version": g.Version}
	if p, ok := h.Group(g.Parent); ok {
		details["parent"] = map[string]string{"id": p.ARMID(), "name": p.Name, "displayName": p.DisplayName}
	}
	props := map[string]any{"tenantId": g.TenantID, "displayName": g.DisplayName, "details": details}
	if children {
		props["children"] = mgChildren(g, h)
	}
	return map[string]any{"id": g.ARMID(), "type": resource.TypeManagementGroup, "name": g.Name, "properties": props}
}

func mgChildren(g resource.ManagementGroup, h resource.Hierarchy) []any {
	groups, subs := h.Children(g.Name)
	out := []any{}
	for _, c := range groups {
		out = append(out, map[string]any{"type": resource.TypeManagementGroup, "id": c.ARMID(), "name": c.Name, "displayName": c.DisplayName})
	}
	for _, s := range subs {
		out = append(out, map[string]any{"type": "/subscriptions", "id": "/subscriptions/" + s, "name": s, "displayName": s})
	}
	return out
}

func mgNotFound(name string) error {
	return errs.E("httpapi.managementGroup", errs.NotFound, errs.Code("NotFound"),
		"The management group '"+truncate(name, 100)+"' was not found.")
}

func listMGs(q *armRequest) (int, any, error) {
	h, err := q.s.hierarchy(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	groups, err := q.s.Store.ListManagementGroups(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, g := range groups {
		if q.authz.allowed(opMGRead, mgScope(g.Name)) {
			j := mgJSON(g, h, false)
			j["properties"] = map[string]any{"tenantId": g.TenantID, "displayName": g.DisplayName}
			out = append(out, j)
		}
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func getMG(q *armRequest) (int, any, error) {
	name := q.vars["mg"]
	q.resourceID = resource.ManagementGroupID(name)
	if err := q.authz.require(opMGRead, mgScope(name)); err != nil {
		return 0, nil, err
	}
	h, err := q.s.hierarchy(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	g, ok := h.Group(name)
	if !ok {
		return 0, nil, mgNotFound(name)
	}
	return http.StatusOK, mgJSON(g, h, strings.EqualFold(q.r.URL.Query().Get("$expand"), "children")), nil
}

// putMG creates a group under a parent (the root when none is named), or renames or moves
// one. Writing needs managementGroups/write on the parent it goes under, and on the group
// itself when it exists.
func putMG(q *armRequest) (int, any, error) {
	name := q.vars["mg"]
	q.resourceID = resource.ManagementGroupID(name)
	if err := resource.ValidateManagementGroupName(name); err != nil {
		return 0, nil, err
	}
	var b mgBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	parent, err := parentName(b, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	h, err := q.s.hierarchy(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	_, exists := h.Group(name)
	if exists {
		if err := q.authz.require(opMGWrite, mgScope(name)); err != nil {
			return 0, nil, err
		}
	}
	if err := q.authz.require(opMGWrite, mgScope(parent)); err != nil {
		return 0, nil, err
	}
	if exists {
		return q.updateMG(h, name, parent, b.Properties.DisplayName)
	}
	if err := h.CheckParent(name, parent); err != nil {
		return 0, nil, err
	}
	g := resource.ManagementGroup{TenantID: q.tenantID(), Name: name, DisplayName: cmpOr(b.Properties.DisplayName, name),
		Parent: parent, UpdatedBy: q.caller.ObjectID, Updated: q.s.now().UTC()}
	if err := q.s.Store.CreateManagementGroup(q.ctx, g); err != nil {
		return 0, nil, err
	}
	g, err = q.s.Store.GetManagementGroup(q.ctx, q.tenantID(), name)
	h2, _ := q.s.hierarchy(q.ctx, q.tenantID())
	return http.StatusOK, mgJSON(g, h2, false), err
}

// parentName reads the parent a PUT names by id or name; none means the root.
func parentName(b mgBody, tenantID string) (string, error) {
	p := b.Properties.Details.Parent
	if p.ID == "" {
		return cmpOr(p.Name, tenantID), nil
	}
	sc, err := access.ParseScope(p.ID)
	if err != nil || sc.Kind() != access.ManagementGroup {
		return "", errs.E("httpapi.parentName", errs.Invalid, errs.Code("InvalidParentManagementGroup"),
			"The parent id must be /providers/Microsoft.Management/managementGroups/{name}.")
	}
	return sc.ManagementGroupName(), nil
}

func (q *armRequest) updateMG(h resource.Hierarchy, name, parent, display string) (int, any, error) {
	g, _ := h.Group(name)
	if g.IsRoot() && !strings.EqualFold(parent, q.tenantID()) || !g.IsRoot() && !strings.EqualFold(parent, g.Parent) {
		if g.IsRoot() {
			return 0, nil, errs.E("httpapi.updateMG", errs.Invalid, errs.Code("InvalidManagementGroupParent"), "The root management group cannot be moved.")
		}
		if err := h.CheckParent(name, parent); err != nil {
			return 0, nil, err
		}
	}
	up, err := q.s.Store.UpdateManagementGroup(q.ctx, q.tenantID(), name, func(g resource.ManagementGroup) (resource.ManagementGroup, error) {
		if display != "" {
			g.DisplayName = display
		}
		if !g.IsRoot() {
			g.Parent = parent
		}
		g.UpdatedBy, g.Updated = q.caller.ObjectID, q.s.now().UTC()
		return g, nil
	})
	if err != nil {
		return 0, nil, err
	}
	h2, _ := q.s.hierarchy(q.ctx, q.tenantID())
	return http.StatusOK, mgJSON(up, h2, false), nil
}

func deleteMG(q *armRequest) (int, any, error) {
	name := q.vars["mg"]
	q.resourceID = resource.ManagementGroupID(name)
	if err := q.authz.require(opMGDelete, mgScope(name)); err != nil {
		return 0, nil, err
	}
	err := q.s.Store.DeleteManagementGroup(q.ctx, q.tenantID(), name)
	if errs.Is(err, errs.NotFound) {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusOK, nil, err
}

// putMGSubscription moves a subscription under a group; deleteMGSubscription moves it back to
// the root. Both need managementGroups/subscriptions/write on the groups it leaves and joins.
func putMGSubscription(q *armRequest) (int, any, error)    { return q.moveSubscription(q.vars["mg"]) }
func deleteMGSubscription(q *armRequest) (int, any, error) { return q.moveSubscription("") }

func (q *armRequest) moveSubscription(target string) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	q.resourceID = resource.ManagementGroupID(q.vars["mg"]) + "/subscriptions/" + sub.ID
	h, err := q.s.hierarchy(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	from := h.SubscriptionParent(sub.ID)
	if target == "" {
		target = q.tenantID()
	}
	g, ok := h.Group(target)
	if !ok {
		return 0, nil, mgNotFound(target)
	}
	for _, name := range []string{from, g.Name} {
		if err := q.authz.require(opMGSubWrite, mgScope(name)); err != nil {
			return 0, nil, err
		}
	}
	if err := q.placeSubscription(from, sub.ID, false); err != nil {
		return 0, nil, err
	}
	if err := q.placeSubscription(g.Name, sub.ID, true); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": q.resourceID, "type": typeMGSubscript, "name": sub.ID,
		"properties": map[string]any{"tenant": q.tenantID(), "displayName": sub.DisplayName,
			"parent": map[string]string{"id": g.ARMID()}, "state": sub.State}}, nil
}

// placeSubscription adds sub to or removes it from a non-root group's list; the root lists
// no subscriptions, since every subscription no other group lists is under it.
func (q *armRequest) placeSubscription(group, sub string, add bool) error {
	if strings.EqualFold(group, q.tenantID()) {
		return nil
	}
	_, err := q.s.Store.UpdateManagementGroup(q.ctx, q.tenantID(), group, func(g resource.ManagementGroup) (resource.ManagementGroup, error) {
		g.Subscriptions = slices.DeleteFunc(slices.Clone(g.Subscriptions), func(s string) bool { return strings.EqualFold(s, sub) })
		if add {
			g.Subscriptions = append(g.Subscriptions, sub)
		}
		return g, nil
	})
	return err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
