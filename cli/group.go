package cli

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// Resource groups ("latch group …"), over ARM's Microsoft.Resources/resourceGroups.

func newResourceGroupCommand(a *app) *cobra.Command {
	return newGroup("group", "Manage resource groups and template deployments.",
		newRGCreate(a), newRGShow(a), newRGList(a), newRGDelete(a), newRGExists(a))
}

// rgNameFlags adds the one argument az spells four ways for group commands:
// --name, -n, --resource-group and -g.
func rgNameFlags(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "name", "n", "", "[Required] Name of resource group.")
	cmd.Flags().StringVarP(p, "resource-group", "g", "", "Name of resource group (same as --name).")
}

func needRGName(name string) error {
	if name == "" {
		return usagef("the following arguments are required: --name/--resource-group/-n/-g")
	}
	return nil
}

func newRGCreate(a *app) *cobra.Command {
	var name, location string
	var tags []string
	cmd := a.armCommand("create", "Create a new resource group.", func(ctx context.Context, c *arm) (any, error) {
		if err := needRGName(name); err != nil {
			return nil, err
		}
		body := map[string]any{"location": location}
		if len(tags) > 0 {
			body["tags"] = parseTags(tags)
		}
		rg, err := c.write(ctx, http.MethodPut, c.groupPath(name), apiResources, body)
		return withDefaults(rg, "managedBy", "tags"), err
	})
	cmd.Example = "  latch group create --name myResourceGroup --location southcentralus"
	rgNameFlags(cmd, &name)
	cmd.Flags().StringVarP(&location, "location", "l", "", "Location, e.g. southcentralus.")
	listFlag(cmd, &tags, "tags", "", "", "Space-separated tags: key[=value] [key[=value] ...].")
	required(cmd, "location")
	return cmd
}

func newRGShow(a *app) *cobra.Command {
	var name string
	cmd := a.armCommand("show", "Gets a resource group.", func(ctx context.Context, c *arm) (any, error) {
		if err := needRGName(name); err != nil {
			return nil, err
		}
		rg, err := c.show(ctx, c.groupPath(name), apiResources, nil)
		return withDefaults(rg, "managedBy", "tags"), err
	})
	cmd.Example = "  latch group show --resource-group myResourceGroup --query id -o tsv"
	rgNameFlags(cmd, &name)
	return cmd
}

func newRGList(a *app) *cobra.Command {
	var tag string
	cmd := a.armCommand("list", "List resource groups.", func(ctx context.Context, c *arm) (any, error) {
		groups, err := c.list(ctx, c.subscriptionPath()+"/resourcegroups", apiResources, tagFilter(tag))
		for _, g := range groups {
			if m, ok := g.(map[string]any); ok {
				withDefaults(m, "managedBy", "tags")
			}
		}
		return tabled{groups, rgTable}, err
	})
	cmd.Flags().StringVar(&tag, "tag", "", "A single tag in 'key[=value]' format. Use \"\" to clear existing tags.")
	return cmd
}

// tagFilter is ARM's $filter for one tag, as az builds it.
func tagFilter(tag string) url.Values {
	if tag == "" {
		return nil
	}
	k, v, hasValue := strings.Cut(tag, "=")
	f := "tagname eq " + odataString(k)
	if hasValue && v != "" {
		f += " and tagvalue eq " + odataString(v)
	}
	return url.Values{"$filter": {f}}
}

// rgTable is az's table for "group list": Name, Location, Status.
func rgTable(v any) (any, []string) {
	items, _ := v.([]any)
	rows := make([]any, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		props, _ := m["properties"].(map[string]any)
		rows = append(rows, map[string]any{"Name": m["name"], "Location": m["location"], "Status": props["provisioningState"]})
	}
	return rows, []string{"Name", "Location", "Status"}
}

func newRGDelete(a *app) *cobra.Command {
	var name string
	var yes bool
	cmd := a.armCommand("delete", "Delete a resource group and everything in it.", func(ctx context.Context, c *arm) (any, error) {
		if err := needRGName(name); err != nil {
			return nil, err
		}
		if err := a.confirm(yes); err != nil {
			return nil, err
		}
		_, err := c.write(ctx, http.MethodDelete, c.groupPath(name), apiResources, nil)
		return nil, err
	})
	rgNameFlags(cmd, &name)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "Do not prompt for confirmation.")
	return cmd
}

func newRGExists(a *app) *cobra.Command {
	var name string
	cmd := a.armCommand("exists", "Check if a resource group exists.", func(ctx context.Context, c *arm) (any, error) {
		if err := needRGName(name); err != nil {
			return nil, err
		}
		_, _, err := c.send(ctx, http.MethodHead, c.url(c.groupPath(name), apiResources, nil), nil)
		if isStatus(err, http.StatusNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	rgNameFlags(cmd, &name)
	return cmd
}

// isStatus reports whether err is an API answer with the given HTTP status.
func isStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}
