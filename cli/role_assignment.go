package cli

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// Role assignments ("latch role assignment …").

// assignmentFields are the fields az always prints for an assignment, null when unset.
var assignmentFields = []string{"condition", "conditionVersion", "createdBy", "createdOn",
	"delegatedManagedIdentityResourceId", "description", "principalType", "updatedBy", "updatedOn"}

func newRoleAssignmentCommand(a *app) *cobra.Command {
	return newGroup("assignment", "Manage role assignments.",
		newRoleAssignmentCreate(a), newRoleAssignmentList(a), newRoleAssignmentDelete(a))
}

func assignmentsPath(scope string) string {
	return scope + "/providers/Microsoft.Authorization/roleAssignments"
}

func flattenAssignments(items []any) []any {
	out := flattenAll(items, nil)
	for _, it := range out {
		withDefaults(it.(map[string]any), assignmentFields...)
	}
	return out
}

// assignmentCreateOptions are the flags of "role assignment create".
type assignmentCreateOptions struct {
	role, assignee, objectID, principalType, rg, scope, description, name string
}

func newRoleAssignmentCreate(a *app) *cobra.Command {
	var o assignmentCreateOptions
	var cmd *cobra.Command
	cmd = a.armCommand("create", "Create a new role assignment for a user, group, or service principal.", func(ctx context.Context, c *arm) (any, error) {
		if err := o.check(cmd.Flags().Changed); err != nil {
			return nil, err
		}
		return c.createAssignment(ctx, a, o)
	})
	cmd.Example = `  latch role assignment create --role "Virtual Machine Administrator Login" --assignee alice@contoso.test --scope "$rg"
  latch role assignment create --role "Virtual Machine User Login" --assignee-object-id "$oid" --assignee-principal-type User -g myResourceGroup`
	f := cmd.Flags()
	f.StringVar(&o.role, "role", "", "Role name or id.")
	f.StringVar(&o.assignee, "assignee", "", "Represent a user, group, or service principal. Supported format: object id, user sign-in name, or service principal name.")
	f.StringVar(&o.objectID, "assignee-object-id", "", "Use this parameter instead of '--assignee' to bypass the directory lookup. It only works with object ids of users, groups, service principals and managed identities (their principal id).")
	f.StringVar(&o.principalType, "assignee-principal-type", "", "Use with --assignee-object-id. Allowed values: User, Group, ServicePrincipal, ForeignGroup.")
	f.StringVar(&o.description, "description", "", "Description of role assignment.")
	f.StringVar(&o.name, "name", "", "A GUID for the role assignment. It must be unique and different for each role assignment. If omitted, a new GUID is generated.")
	roleScopeFlags(cmd, &o.rg, &o.scope)
	required(cmd, "role")
	return cmd
}

func (o assignmentCreateOptions) check(changed func(string) bool) error {
	if err := nonEmpty(changed, map[string]string{"assignee": o.assignee, "scope": o.scope, "role": o.role, "resource-group": o.rg}); err != nil {
		return err
	}
	if (o.assignee != "") == (o.objectID != "") {
		return failf("usage error: --assignee STRING | --assignee-object-id GUID")
	}
	if o.principalType != "" && o.objectID == "" {
		return failf("usage error: --assignee-object-id GUID --assignee-principal-type TYPE")
	}
	switch o.principalType {
	case "", "User", "Group", "ServicePrincipal", "ForeignGroup":
		return nil
	}
	return usagef("argument --assignee-principal-type: invalid choice: '%s' (choose from 'User', 'Group', 'ServicePrincipal', 'ForeignGroup')", o.principalType)
}

// nonEmpty refuses flags given as "": az does, because an empty filter would match every
// assignment (and "delete --assignee ”" would remove them all).
func nonEmpty(changed func(string) bool, flags map[string]string) error {
	for name, v := range flags {
		if changed(name) && strings.TrimSpace(v) == "" {
			return failf("usage error: --%s can't be an empty string. Either omit it or provide a non-empty string.", name)
		}
	}
	return nil
}

// createAssignment resolves the assignee through the directory (unless its object id and
// type were given), the role at the scope, and PUTs the assignment under a new GUID. An
// assignment that exists already is not an error: az prints the existing one.
func (c *arm) createAssignment(ctx context.Context, a *app, o assignmentCreateOptions) (any, error) {
	scope, err := c.roleScope(o.rg, o.scope)
	if err != nil {
		return nil, err
	}
	principal, err := c.assigneeFor(ctx, a, o)
	if err != nil {
		return nil, err
	}
	roleID, err := c.resolveRole(ctx, o.role, scope)
	if err != nil {
		return nil, err
	}
	res, err := c.putAssignment(ctx, scope, o.name, roleID, principal, o.description)
	if assignmentExists(err) {
		a.debugf("The role assignment exists already; printing it.")
		return c.existingAssignment(ctx, scope, roleID, principal.id)
	}
	if err != nil {
		return nil, err
	}
	return withDefaults(flatten(res, nil), assignmentFields...), nil
}

// assigneeFor is the principal the assignment is for, from --assignee or --assignee-object-id.
func (c *arm) assigneeFor(ctx context.Context, a *app, o assignmentCreateOptions) (principal, error) {
	if o.assignee != "" {
		g, err := c.s.graph(ctx)
		if err != nil {
			return principal{}, err
		}
		return g.resolveAssignee(ctx, a, o.assignee)
	}
	if o.principalType != "" {
		return principal{id: o.objectID, typ: o.principalType}, nil
	}
	a.warn("RBAC service might reject creating role assignment without --assignee-principal-type in the future. Better to specify --assignee-principal-type manually.")
	return principal{id: o.objectID, typ: c.principalTypeOf(ctx, a, o.objectID)}, nil
}

func (c *arm) putAssignment(ctx context.Context, scope, name, roleID string, p principal, description string) (map[string]any, error) {
	if name == "" {
		name = newUUID()
	}
	props := map[string]any{"roleDefinitionId": roleID, "principalId": p.id}
	if p.typ != "" {
		props["principalType"] = p.typ
	}
	if description != "" {
		props["description"] = description
	}
	return c.write(ctx, http.MethodPut, assignmentsPath(scope)+"/"+seg(name), apiAuthorization, map[string]any{"properties": props})
}

// assignmentExists recognises ARM's 409 for a duplicate assignment.
func assignmentExists(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusConflict &&
		(ae.Code == "RoleAssignmentExists" || strings.Contains(ae.Message, "role assignment already exists"))
}

// existingAssignment finds the assignment a 409 referred to, with its names filled in.
func (c *arm) existingAssignment(ctx context.Context, scope, roleID, principalID string) (any, error) {
	found, err := c.searchAssignments(ctx, assignmentQuery{scope: scope, roleID: roleID, principalID: principalID})
	if err != nil {
		return nil, err
	}
	c.fillNames(ctx, found, scope)
	if len(found) == 0 {
		return nil, failf("The role assignment already exists, but it is not visible at %s.", scope)
	}
	return found[0], nil
}

// grantIdentity assigns role at scope to a VM's system-assigned identity, for
// "vm identity assign --scope"; an existing assignment is fine.
func (c *arm) grantIdentity(ctx context.Context, principalID, role, scope string) error {
	s, err := scopePath(scope)
	if err != nil {
		return err
	}
	roleID, err := c.resolveRole(ctx, role, s)
	if err != nil {
		return err
	}
	_, err = c.putAssignment(ctx, s, "", roleID, principal{id: principalID, typ: "ServicePrincipal"}, "")
	if assignmentExists(err) {
		return nil
	}
	return err
}

// assignmentQuery selects assignments as az's search does.
type assignmentQuery struct {
	scope            string // "" with --all: every assignment in the subscription
	roleID           string
	principalID      string
	includeInherited bool
}

// searchAssignments lists at the scope (atScope(): the scope and those above it) and keeps
// the exact scope, or with includeInherited the scopes above too; then filters by role and
// principal on the client, because ARM does not combine atScope() with a principal filter.
func (c *arm) searchAssignments(ctx context.Context, q assignmentQuery) ([]any, error) {
	var items []any
	var err error
	switch {
	case q.scope != "":
		items, err = c.list(ctx, assignmentsPath(q.scope), apiAuthorization, url.Values{"$filter": {"atScope()"}})
	case q.principalID != "":
		items, err = c.list(ctx, assignmentsPath(c.subscriptionPath()), apiAuthorization, url.Values{"$filter": {"principalId eq " + odataString(q.principalID)}})
	default:
		items, err = c.list(ctx, assignmentsPath(c.subscriptionPath()), apiAuthorization, nil)
	}
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, it := range flattenAssignments(items) {
		if q.matches(it.(map[string]any)) {
			out = append(out, it)
		}
	}
	return out, nil
}

func (q assignmentQuery) matches(m map[string]any) bool {
	scope, _ := m["scope"].(string)
	roleID, _ := m["roleDefinitionId"].(string)
	principalID, _ := m["principalId"].(string)
	switch {
	case q.scope != "" && !strings.EqualFold(scope, q.scope) && !(q.includeInherited && isAncestorScope(scope, q.scope)):
		return false
	case q.roleID != "" && lastSegment(roleID) != lastSegment(q.roleID):
		return false
	case q.principalID != "" && !strings.EqualFold(principalID, q.principalID):
		return false
	}
	return true
}

// isAncestorScope reports whether parent is scope itself or above it ("/" is above all).
func isAncestorScope(parent, scope string) bool {
	p, s := strings.ToLower(strings.TrimRight(parent, "/")), strings.ToLower(scope)
	return p == "" || p == s || strings.HasPrefix(s, p+"/")
}
