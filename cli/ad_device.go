package cli

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"
)

// Devices are the machines the directory knows: each VM whose login extension joined it
// appears once, with a device id (what the machine's certificate names) besides its object id.

func newDeviceCommand(a *app) *cobra.Command {
	return newGroup("device", "Manage the directory's devices (machines joined by their managed identity).",
		newDeviceList(a), newDeviceShow(a), newDeviceDelete(a))
}

func newDeviceList(a *app) *cobra.Command {
	var displayName, filter string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List devices in the directory.",
		Example: `  latch ad device list --filter "operatingSystem eq 'Linux'" -o table`,
		Args:    cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			items, _, err := g.list(ctx, "devices", filterQuery(odataStartsWith("displayName", displayName), filter), false)
			return items, err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&displayName, "display-name", "", "Device's display name or its prefix.")
	f.StringVar(&filter, "filter", "", "OData filter, e.g. --filter \"displayName eq 'vm1' and trustType eq 'AzureAd'\".")
	return cmd
}

// deviceRef is how a command names one device: --id (object id or device id) or
// --display-name, exactly one of them.
type deviceRef struct{ id, displayName string }

// resolve finds the device's object id. A GUID is looked up as a device id first — the id
// dsregcmd and "vm show" print — and otherwise taken as the object id. A display name must
// name exactly one device: Entra lets several share one, and acting on the wrong machine is
// worse than asking for its id.
func (d *deviceRef) resolve(g *graph, ctx context.Context, _ string) (string, error) {
	switch {
	case (d.id == "") == (d.displayName == ""):
		return "", usagef("give exactly one of --id and --display-name")
	case d.id != "" && !isGUID(d.id):
		return "", usagef("argument --id: %q is not an object id or device id", d.id)
	case d.id != "":
		items, _, err := g.list(ctx, "devices", filterQuery(odataEq("deviceId", d.id)), true)
		if err != nil || len(items) == 0 {
			return d.id, err
		}
		return objectID(items[0]), nil
	}
	items, _, err := g.list(ctx, "devices", filterQuery(odataEq("displayName", d.displayName)), false)
	switch {
	case err != nil:
		return "", err
	case len(items) == 0:
		return "", notFoundf("Device '%s' is not found in the directory.", d.displayName)
	case len(items) > 1:
		return "", failf("%d devices have the display name '%s'; use --id with the device id instead.", len(items), d.displayName)
	}
	return objectID(items[0]), nil
}

// deviceCommand builds a command acting on one device, resolved before body runs.
func deviceCommand(a *app, use, short string, withName bool, body objectBody) *cobra.Command {
	ref := &deviceRef{}
	cmd, _ := objectCommand(a, use, short, ref.resolve, body)
	cmd.Flags().StringVar(&ref.id, "id", "", "The device's object id or device id.")
	if withName {
		cmd.Flags().StringVar(&ref.displayName, "display-name", "", "The device's display name, when only one device has it.")
	} else {
		required(cmd, "id")
	}
	return cmd
}

func newDeviceShow(a *app) *cobra.Command {
	return deviceCommand(a, "show", "Get the details of a device.", true, func(ctx context.Context, g *graph, oid string) (any, error) {
		return g.get(ctx, "devices/"+seg(oid))
	})
}

func newDeviceDelete(a *app) *cobra.Command {
	cmd := deviceCommand(a, "delete", "Delete a device from the directory.", false, func(ctx context.Context, g *graph, oid string) (any, error) {
		return nil, asNotFound(g.do(ctx, http.MethodDelete, "devices/"+seg(oid), nil, nil, nil))
	})
	cmd.Long = `Delete a device from the directory.

The machine keeps its certificate but is no longer joined; its login extension joins it
again the next time it runs.`
	return cmd
}
