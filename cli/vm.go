package cli

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// Virtual machines ("latch vm …"), over ARM's Microsoft.Compute/virtualMachines. az prints
// compute resources with their "properties" lifted to the top level, and so does this.

func newVMCommand(a *app) *cobra.Command {
	return newGroup("vm", "Manage machines: the Microsoft.Compute/virtualMachines resources people log in to.",
		newVMCreate(a), newVMShow(a), newVMList(a), newVMDelete(a), newVMIdentityCommand(a), newVMExtensionCommand(a))
}

func (c *arm) vmPath(rg, name string) string {
	return c.groupPath(rg) + "/providers/Microsoft.Compute/virtualMachines/" + seg(name)
}

// getVM reads a VM, with its instance view when expand is "instanceView".
func (c *arm) getVM(ctx context.Context, rg, name, expand string) (map[string]any, error) {
	var q url.Values
	if expand != "" {
		q = url.Values{"$expand": {expand}}
	}
	return c.show(ctx, c.vmPath(rg, name), apiCompute, q)
}

func newVMShow(a *app) *cobra.Command {
	var rg, name string
	var details bool
	cmd := a.armCommand("show", "Get the details of a VM.", func(ctx context.Context, c *arm) (any, error) {
		if details {
			vm, err := c.vmDetails(ctx, rg, name)
			return tabled{vm, vmTable}, err
		}
		vm, err := c.getVM(ctx, rg, name, "")
		return tabled{flatten(vm, nil), vmTable}, err
	})
	resourceFlags(cmd, &rg, &name, "The name of the Virtual Machine.")
	cmd.Flags().BoolVarP(&details, "show-details", "d", false, "Show public ip address, FQDN, and power states. command will run slow")
	return cmd
}

// vmDetails is az's "show -d": the VM with its power state and addresses as strings, and
// without the rest of the instance view.
func (c *arm) vmDetails(ctx context.Context, rg, name string) (map[string]any, error) {
	raw, err := c.getVM(ctx, rg, name, "instanceView")
	if err != nil {
		return nil, err
	}
	vm := flatten(raw, nil)
	vm["powerState"] = powerState(vm["instanceView"])
	delete(vm, "instanceView")
	for _, k := range []string{"publicIps", "fqdns", "privateIps", "macAddresses"} {
		vm[k] = ""
	}
	return vm, nil
}

// powerState joins the display status of the instance view's PowerState/… codes.
func powerState(instanceView any) string {
	iv, _ := instanceView.(map[string]any)
	statuses, _ := iv["statuses"].([]any)
	var states []string
	for _, s := range statuses {
		m, _ := s.(map[string]any)
		code, _ := m["code"].(string)
		if strings.HasPrefix(code, "PowerState/") {
			display, _ := m["displayStatus"].(string)
			states = append(states, display)
		}
	}
	return strings.Join(states, ",")
}

func newVMList(a *app) *cobra.Command {
	var rg string
	var details bool
	cmd := a.armCommand("list", "List details of Virtual Machines.", func(ctx context.Context, c *arm) (any, error) {
		path := c.subscriptionPath() + "/providers/Microsoft.Compute/virtualMachines"
		if rg != "" {
			path = c.groupPath(rg) + "/providers/Microsoft.Compute/virtualMachines"
		}
		vms, err := c.list(ctx, path, apiCompute, nil)
		if err != nil || !details {
			return tabled{flattenAll(vms, nil), vmTable}, err
		}
		out := make([]any, 0, len(vms))
		for _, v := range vms {
			id := objectID(v)
			d, err := c.vmDetails(ctx, rgOfID(id), nameOfID(id))
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return tabled{out, vmTable}, nil
	})
	cmd.Flags().StringVarP(&rg, "resource-group", "g", "", "Name of resource group.")
	cmd.Flags().BoolVarP(&details, "show-details", "d", false, "Show public ip address, FQDN, and power states. command will run slow")
	return cmd
}

func rgOfID(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) > 4 && strings.EqualFold(parts[3], "resourceGroups") {
		return parts[4]
	}
	return ""
}

func nameOfID(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// vmTable is az's table for VMs: Name, ResourceGroup, PowerState, PublicIps, Fqdns,
// Location, and Zones when the VM has the field.
func vmTable(v any) (any, []string) {
	cols := []string{"Name", "ResourceGroup", "PowerState", "PublicIps", "Fqdns", "Location", "Zones"}
	row := func(m map[string]any) map[string]any {
		r := map[string]any{"Name": m["name"], "ResourceGroup": m["resourceGroup"], "PowerState": m["powerState"],
			"PublicIps": m["publicIps"], "Fqdns": m["fqdns"], "Location": m["location"]}
		if z, ok := m["zones"]; ok {
			zones, _ := z.([]any)
			parts := make([]string, 0, len(zones))
			for _, x := range zones {
				s, _ := x.(string)
				parts = append(parts, s)
			}
			r["Zones"] = strings.Join(parts, ",")
		}
		return r
	}
	if items, ok := v.([]any); ok {
		rows := make([]any, 0, len(items))
		for _, it := range items {
			m, _ := it.(map[string]any)
			rows = append(rows, row(m))
		}
		return rows, cols
	}
	m, _ := v.(map[string]any)
	return row(m), cols
}

func newVMDelete(a *app) *cobra.Command {
	var rg, name string
	var yes bool
	cmd := a.armCommand("delete", "Delete a VM.", func(ctx context.Context, c *arm) (any, error) {
		if err := a.confirm(yes); err != nil {
			return nil, err
		}
		_, err := c.write(ctx, http.MethodDelete, c.vmPath(rg, name), apiCompute, nil)
		return nil, err
	})
	resourceFlags(cmd, &rg, &name, "The name of the Virtual Machine.")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "Do not prompt for confirmation.")
	return cmd
}
