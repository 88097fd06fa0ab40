package cli

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// Management groups ("latch account management-group …"), over ARM's
// Microsoft.Management/managementGroups, which sit above subscriptions.

const managementGroupsPath = "/providers/Microsoft.Management/managementGroups"

func newManagementGroupCommand(a *app) *cobra.Command {
	return newGroup("management-group", "Manage management groups.",
		newMGList(a), newMGShow(a), newMGCreate(a), newMGDelete(a))
}

func mgPath(name string) string { return managementGroupsPath + "/" + seg(name) }

// mgParentID accepts a parent as a name or as a full management group id, as az does.
func mgParentID(parent string) string {
	if parent == "" || strings.HasPrefix(strings.ToLower(parent), strings.ToLower(managementGroupsPath)) {
		return parent
	}
	return managementGroupsPath + "/" + parent
}

func newMGList(a *app) *cobra.Command {
	return a.armCommand("list", "List all management groups in the current tenant.", func(ctx context.Context, c *arm) (any, error) {
		groups, err := c.list(ctx, managementGroupsPath, apiManagementGroups, nil)
		return flattenAll(groups, nil), err
	})
}

func newMGShow(a *app) *cobra.Command {
	var name string
	var expand, recurse bool
	cmd := a.armCommand("show", "Get a specific management group.", func(ctx context.Context, c *arm) (any, error) {
		var q url.Values
		if expand {
			q = url.Values{"$expand": {"children"}}
			if recurse {
				q.Set("$recurse", "true")
			}
		}
		mg, err := c.show(ctx, mgPath(name), apiManagementGroups, q)
		return flatten(mg, nil), err
	})
	cmd.Flags().StringVarP(&name, "name", "n", "", "Name of the management group.")
	cmd.Flags().BoolVarP(&expand, "expand", "e", false, "If given, lists the children in the first level of hierarchy.")
	cmd.Flags().BoolVarP(&recurse, "recurse", "r", false, "If given, lists the children in all levels of hierarchy.")
	required(cmd, "name")
	return cmd
}

func newMGCreate(a *app) *cobra.Command {
	var name, display, parent string
	cmd := a.armCommand("create", "Create a new management group.", func(ctx context.Context, c *arm) (any, error) {
		props := map[string]any{}
		if display != "" {
			props["displayName"] = display
		}
		if parent != "" {
			props["details"] = map[string]any{"parent": map[string]any{"id": mgParentID(parent)}}
		}
		body := map[string]any{"name": name, "properties": props}
		mg, err := c.write(ctx, http.MethodPut, mgPath(name), apiManagementGroups, body)
		return flatten(mg, nil), err
	})
	cmd.Example = "  latch account management-group create --name Engineering --display-name \"Engineering\" --parent Contoso"
	cmd.Flags().StringVarP(&name, "name", "n", "", "Name of the management group.")
	cmd.Flags().StringVarP(&display, "display-name", "d", "", "Sets the display name of the management group. If null, the group name is set as the display name.")
	cmd.Flags().StringVarP(&parent, "parent", "p", "", "Sets the parent of the management group. Can be the fully qualified id or the name of the management group. If null, the root tenant group is set as the parent.")
	required(cmd, "name")
	return cmd
}

func newMGDelete(a *app) *cobra.Command {
	var name string
	cmd := a.armCommand("delete", "Delete an existing management group.", func(ctx context.Context, c *arm) (any, error) {
		_, err := c.write(ctx, http.MethodDelete, mgPath(name), apiManagementGroups, nil)
		return nil, err
	})
	cmd.Flags().StringVarP(&name, "name", "n", "", "Name of the management group.")
	required(cmd, "name")
	return cmd
}
