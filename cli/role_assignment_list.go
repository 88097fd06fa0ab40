package cli

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"
)

// assignmentListOptions are the flags of "role assignment list" and "delete".
type assignmentListOptions struct {
	assignee, role, rg, scope string
	all, inherited            bool
}

func (o *assignmentListOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.assignee, "assignee", "", "Represent a user, group, or service principal. Supported format: object id, user sign-in name, or service principal name.")
	f.StringVar(&o.role, "role", "", "Role name or id.")
	f.BoolVar(&o.inherited, "include-inherited", false, "Include assignments applied on parent scopes.")
	roleScopeFlags(cmd, &o.rg, &o.scope)
}

func (o assignmentListOptions) check(changed func(string) bool) error {
	return nonEmpty(changed, map[string]string{"assignee": o.assignee, "scope": o.scope, "role": o.role, "resource-group": o.rg})
}

func newRoleAssignmentList(a *app) *cobra.Command {
	var o assignmentListOptions
	var cmd *cobra.Command
	cmd = a.armCommand("list", "List role assignments.", func(ctx context.Context, c *arm) (any, error) {
		if err := o.check(cmd.Flags().Changed); err != nil {
			return nil, err
		}
		found, err := c.listAssignments(ctx, a, o)
		return tabled{found, assignmentTable}, err
	})
	cmd.Long = `List role assignments.

By default only assignments made at the subscription (or at --scope / --resource-group) are
shown; --include-inherited adds those made at the scopes above, and --all shows every
assignment in the subscription.`
	cmd.Example = `  latch role assignment list --assignee alice@contoso.test --resource-group myResourceGroup --include-inherited -o table`
	o.flags(cmd)
	cmd.Flags().BoolVar(&o.all, "all", false, "Show all assignments under the current subscription.")
	return cmd
}

// listAssignments finds the assignments and fills in role and principal names, as az does.
func (c *arm) listAssignments(ctx context.Context, a *app, o assignmentListOptions) ([]any, error) {
	q, err := c.assignmentQuery(ctx, a, o)
	if err != nil {
		return nil, err
	}
	found, err := c.searchAssignments(ctx, q)
	if err != nil || len(found) == 0 {
		return found, err
	}
	nameScope := q.scope
	if nameScope == "" {
		nameScope = c.subscriptionPath()
	}
	c.fillNames(ctx, found, nameScope)
	return found, nil
}

// assignmentQuery turns the flags into a query: the scope, and the role and assignee
// resolved to ids.
func (c *arm) assignmentQuery(ctx context.Context, a *app, o assignmentListOptions) (assignmentQuery, error) {
	q := assignmentQuery{includeInherited: o.inherited}
	var err error
	if o.all {
		if o.rg != "" || o.scope != "" {
			return q, failf("group or scope are not required when --all is used")
		}
	} else if q.scope, err = c.roleScope(o.rg, o.scope); err != nil {
		return q, err
	}
	if o.assignee != "" {
		g, err := c.s.graph(ctx)
		if err != nil {
			return q, err
		}
		p, err := g.resolveAssignee(ctx, a, o.assignee)
		if err != nil {
			return q, err
		}
		q.principalID = p.id
	}
	if o.role != "" {
		roleScope := q.scope
		if roleScope == "" {
			roleScope = c.subscriptionPath()
		}
		if q.roleID, err = c.resolveRole(ctx, o.role, roleScope); err != nil {
			return q, err
		}
	}
	return q, nil
}

// fillNames adds roleDefinitionName and principalName. A role that no longer exists is
// named null; a principal the directory does not give (deleted, or no permission to read
// the directory) is named "", as in az.
func (c *arm) fillNames(ctx context.Context, items []any, scope string) {
	roles := map[string]any{}
	if defs, err := c.definitions(ctx, scope, ""); err == nil {
		for _, d := range defs {
			roles[lastSegment(objectID(d))] = d.(map[string]any)["roleName"]
		}
	}
	names := c.principalNames(ctx, items)
	for _, it := range items {
		m := it.(map[string]any)
		roleID, _ := m["roleDefinitionId"].(string)
		if m["roleDefinitionName"] == nil {
			m["roleDefinitionName"] = roles[lastSegment(roleID)]
		}
		if m["principalName"] == nil || m["principalName"] == "" {
			pid, _ := m["principalId"].(string)
			m["principalName"] = names[pid]
		}
	}
}

func (c *arm) principalNames(ctx context.Context, items []any) map[string]string {
	names := map[string]string{}
	var ids []string
	for _, it := range items {
		if pid, _ := it.(map[string]any)["principalId"].(string); pid != "" && names[pid] == "" {
			names[pid] = ""
			ids = append(ids, pid)
		}
	}
	g, err := c.s.graph(ctx)
	if err != nil {
		return names
	}
	objs, err := g.objectsByIDs(ctx, ids)
	if err != nil {
		c.s.a.debugf("Failed to resolve graph object information per error '%v'", err)
		return names
	}
	for _, o := range objs {
		m, _ := o.(map[string]any)
		names[objectID(m)] = displayName(m)
	}
	return names
}

// assignmentTable is az's table for assignments: Principal, Role, Scope.
func assignmentTable(v any) (any, []string) {
	items, _ := v.([]any)
	rows := make([]any, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		rows = append(rows, map[string]any{"Principal": m["principalName"], "Role": m["roleDefinitionName"], "Scope": m["scope"]})
	}
	return rows, []string{"Principal", "Role", "Scope"}
}

func newRoleAssignmentDelete(a *app) *cobra.Command {
	var o assignmentListOptions
	var ids []string
	var yes bool
	var cmd *cobra.Command
	cmd = a.armCommand("delete", "Delete role assignments.", func(ctx context.Context, c *arm) (any, error) {
		if err := o.check(cmd.Flags().Changed); err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			return nil, c.deleteAssignmentIDs(ctx, a, ids, o)
		}
		return nil, c.deleteMatching(ctx, a, o, yes)
	})
	o.flags(cmd)
	listFlag(cmd, &ids, "ids", "", "", "Space-separated role assignment ids.")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "Continue to delete all assignments under the subscription.")
	return cmd
}

func (c *arm) deleteAssignmentIDs(ctx context.Context, a *app, ids []string, o assignmentListOptions) error {
	for flag, v := range map[string]string{"--assignee": o.assignee, "--role": o.role, "--resource-group": o.rg, "--scope": o.scope} {
		if v != "" {
			a.warn("option '%s' will be ignored due to use of '--ids'.", flag)
		}
	}
	for _, id := range ids {
		path, err := scopePath(id)
		if err != nil {
			return err
		}
		if _, err := c.write(ctx, http.MethodDelete, path, apiAuthorization, nil); err != nil {
			return err
		}
	}
	return nil
}

// deleteMatching deletes every assignment the filters select; with no filter at all it asks
// first, since that is every assignment of the subscription.
func (c *arm) deleteMatching(ctx context.Context, a *app, o assignmentListOptions, yes bool) error {
	if o.assignee == "" && o.role == "" && o.rg == "" && o.scope == "" && !yes {
		a.warn("This will delete all role assignments under the subscription.")
		if err := a.confirm(false); err != nil {
			return err
		}
	}
	q, err := c.assignmentQuery(ctx, a, o)
	if err != nil {
		return err
	}
	found, err := c.searchAssignments(ctx, q)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return failf("No matched assignments were found to delete")
	}
	for _, it := range found {
		path, err := scopePath(objectID(it))
		if err == nil {
			_, err = c.write(ctx, http.MethodDelete, path, apiAuthorization, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
