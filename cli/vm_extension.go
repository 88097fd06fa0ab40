package cli

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// VM extensions ("latch vm extension …"): the login extensions (publisher
// Microsoft.Azure.ActiveDirectory, AADLoginForWindows and AADSSHLoginForLinux) among others.

// extensionRenames prints an extension's properties.type as az does: "typePropertiesType".
var extensionRenames = map[string]string{"type": "typePropertiesType"}

func newVMExtensionCommand(a *app) *cobra.Command {
	return newGroup("extension", "Manage extensions on VMs.",
		newVMExtensionSet(a), newVMExtensionShow(a), newVMExtensionList(a), newVMExtensionDelete(a))
}

func (c *arm) extensionPath(rg, vm, name string) string {
	return c.vmPath(rg, vm) + "/extensions/" + seg(name)
}

// extensionFlags adds --resource-group, --vm-name and (when name is not nil) --name.
func extensionFlags(cmd *cobra.Command, rg, vm, name *string) {
	cmd.Flags().StringVarP(rg, "resource-group", "g", "", "Name of resource group.")
	cmd.Flags().StringVar(vm, "vm-name", "", "The name of the Virtual Machine.")
	required(cmd, "resource-group", "vm-name")
	if name != nil {
		cmd.Flags().StringVarP(name, "name", "n", "", "Name of the extension.")
		required(cmd, "name")
	}
}

// extensionSetOptions are the flags of "vm extension set".
type extensionSetOptions struct {
	rg, vm, name, publisher, version, settings, protected, instanceName string
	noAutoUpgrade, forceUpdate, noWait                                  bool
}

func newVMExtensionSet(a *app) *cobra.Command {
	var o extensionSetOptions
	cmd := a.armCommand("set", "Set extensions for a VM.", func(ctx context.Context, c *arm) (any, error) {
		ext, err := c.setExtension(ctx, a, o)
		if o.noWait || err != nil {
			return nil, err // az prints nothing with --no-wait
		}
		return tabled{flatten(ext, extensionRenames), extensionTable}, err
	})
	cmd.Example = `  latch vm extension set --publisher Microsoft.Azure.ActiveDirectory --name AADLoginForWindows \
    --resource-group myResourceGroup --vm-name myVM`
	extensionFlags(cmd, &o.rg, &o.vm, &o.name)
	f := cmd.Flags()
	f.StringVar(&o.publisher, "publisher", "", "The name of the extension publisher.")
	f.StringVar(&o.version, "version", "", "The version of the extension. To pin extension version to this value, please specify --no-auto-upgrade.")
	f.StringVar(&o.settings, "settings", "", "Extension settings in JSON format. A JSON file path is also accepted.")
	f.StringVar(&o.protected, "protected-settings", "", "Protected settings in JSON format for sensitive information like credentials. A JSON file path is also accepted.")
	f.StringVar(&o.instanceName, "extension-instance-name", "", "Name of extension instance, which can be customized. Default: name of the extension.")
	f.BoolVar(&o.noAutoUpgrade, "no-auto-upgrade", false, "If set, the extension service will not automatically pick or upgrade to the latest minor version, even if the extension is redeployed.")
	f.BoolVar(&o.forceUpdate, "force-update", false, "Force to update even if the extension configuration has not changed.")
	noWaitFlag(cmd, &o.noWait)
	required(cmd, "publisher")
	return cmd
}

// setExtension follows az: read the VM with its instance view (for its location and to
// reuse the instance name of an extension of the same type), find the latest version through
// the extension image endpoints unless --version was given, and PUT the extension.
func (c *arm) setExtension(ctx context.Context, a *app, o extensionSetOptions) (map[string]any, error) {
	vm, err := c.getVM(ctx, o.rg, o.vm, "instanceView")
	if err != nil {
		return nil, err
	}
	location, _ := vm["location"].(string)
	instance := o.instanceName
	if instance == "" {
		instance = o.name
	}
	if existing := extensionInstanceName(vm, o.publisher, o.name); existing != "" && existing != instance {
		a.warn("A %s extension with name %s already exists. Updating it with your settings...", o.name, existing)
		instance = existing
	}
	version := o.version
	if version == "" {
		if version, err = c.latestExtensionVersion(ctx, location, o.publisher, o.name); err != nil {
			return nil, err
		}
	}
	props, err := o.properties(majorMinor(version))
	if err != nil {
		return nil, err
	}
	body := map[string]any{"location": location, "properties": props}
	if o.noWait {
		return c.writeNoWait(ctx, http.MethodPut, c.extensionPath(o.rg, o.vm, instance), apiCompute, body)
	}
	return c.writeUnless(ctx, http.MethodPut, c.extensionPath(o.rg, o.vm, instance), apiCompute, body, func(first map[string]any) bool {
		return waitsForMachine(a, first)
	})
}

// waitsForMachine reports whether the extension waits for a machine nobody has onboarded
// yet, warning with the server's advice: waiting for it would only end in a timeout.
func waitsForMachine(a *app, ext map[string]any) bool {
	props, _ := ext["properties"].(map[string]any)
	iv, _ := props["instanceView"].(map[string]any)
	statuses, _ := iv["statuses"].([]any)
	for _, s := range statuses {
		st, _ := s.(map[string]any)
		if st["displayStatus"] == "Machine not onboarded" {
			msg, _ := st["message"].(string)
			a.warn("%s", msg)
			return true
		}
	}
	return false
}

func (o extensionSetOptions) properties(version string) (map[string]any, error) {
	props := map[string]any{"publisher": o.publisher, "type": o.name, "typeHandlerVersion": version,
		"autoUpgradeMinorVersion": !o.noAutoUpgrade}
	for flag, pair := range map[string][2]string{"--settings": {o.settings, "settings"}, "--protected-settings": {o.protected, "protectedSettings"}} {
		if pair[0] == "" {
			continue
		}
		v, err := readJSONArg(pair[0], flag)
		if err != nil {
			return nil, err
		}
		props[pair[1]] = v
	}
	if o.forceUpdate {
		props["forceUpdateTag"] = newUUID()
	}
	return props, nil
}

// extensionInstanceName is the name of the VM's extension of type publisher.name, if any.
func extensionInstanceName(vm map[string]any, publisher, typ string) string {
	props, _ := vm["properties"].(map[string]any)
	iv, _ := props["instanceView"].(map[string]any)
	exts, _ := iv["extensions"].([]any)
	for _, e := range exts {
		m, _ := e.(map[string]any)
		t, _ := m["type"].(string)
		if strings.EqualFold(t, publisher+"."+typ) {
			name, _ := m["name"].(string)
			return name
		}
	}
	return ""
}

// latestExtensionVersion asks the extension image endpoints, as az does: the publisher must
// be offered at the location, the type by the publisher, and the highest version wins.
func (c *arm) latestExtensionVersion(ctx context.Context, location, publisher, typ string) (string, error) {
	base := c.subscriptionPath() + "/providers/Microsoft.Compute/locations/" + seg(location) + "/publishers"
	notFound := failf("Failed to find the latest version for the extension \"%s\"", typ)
	pub, err := c.findNamed(ctx, base, publisher)
	if err != nil || pub == "" {
		return "", firstErr(err, notFound)
	}
	types := base + "/" + seg(pub) + "/artifacttypes/vmextension/types"
	t, err := c.findNamed(ctx, types, typ)
	if err != nil || t == "" {
		return "", firstErr(err, notFound)
	}
	versions, err := c.list(ctx, types+"/"+seg(t)+"/versions", apiCompute, nil)
	if err != nil {
		return "", err
	}
	names := namesOf(versions)
	if len(names) == 0 {
		return "", notFound
	}
	return slices.MaxFunc(names, compareVersions), nil
}

// findNamed lists path and returns the name matching want, ignoring case ("" if none).
func (c *arm) findNamed(ctx context.Context, path, want string) (string, error) {
	items, err := c.list(ctx, path, apiCompute, nil)
	if isStatus(err, http.StatusNotFound) {
		// A publisher may have no extension types at a location: az warns and goes on.
		c.s.a.warn("%v", err)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for _, n := range namesOf(items) {
		if strings.EqualFold(n, want) {
			return n, nil
		}
	}
	return "", nil
}

func namesOf(items []any) []string {
	var names []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		if n, _ := m["name"].(string); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// compareVersions orders dotted versions numerically ("2.10" after "2.2").
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		x, y := versionPart(pa, i), versionPart(pb, i)
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}

// majorMinor trims a version to major.minor, which is all the extension API takes.
func majorMinor(v string) string {
	parts := strings.Split(v, ".")
	return strings.Join(parts[:min(2, len(parts))], ".")
}

// extensionTable is az's table for extensions.
func extensionTable(v any) (any, []string) {
	cols := []string{"Name", "ProvisioningState", "Publisher", "Version", "AutoUpgradeMinorVersion"}
	row := func(it any) any {
		m, _ := it.(map[string]any)
		return map[string]any{"Name": m["name"], "ProvisioningState": m["provisioningState"], "Publisher": m["publisher"],
			"Version": m["typeHandlerVersion"], "AutoUpgradeMinorVersion": m["autoUpgradeMinorVersion"]}
	}
	if items, ok := v.([]any); ok {
		rows := make([]any, 0, len(items))
		for _, it := range items {
			rows = append(rows, row(it))
		}
		return rows, cols
	}
	return row(v), cols
}

func newVMExtensionShow(a *app) *cobra.Command {
	var rg, vm, name string
	var instanceView bool
	cmd := a.armCommand("show", "Display information about extensions attached to a VM.", func(ctx context.Context, c *arm) (any, error) {
		var q url.Values
		if instanceView {
			q = url.Values{"$expand": {"instanceView"}}
		}
		ext, err := c.show(ctx, c.extensionPath(rg, vm, name), apiCompute, q)
		return tabled{flatten(ext, extensionRenames), extensionTable}, err
	})
	extensionFlags(cmd, &rg, &vm, &name)
	cmd.Flags().BoolVar(&instanceView, "instance-view", false, "The instance view of a virtual machine extension.")
	return cmd
}

func newVMExtensionList(a *app) *cobra.Command {
	var rg, vm string
	cmd := a.armCommand("list", "List the extensions attached to a VM.", func(ctx context.Context, c *arm) (any, error) {
		if _, err := c.getVM(ctx, rg, vm, ""); err != nil {
			return nil, err
		}
		exts, err := c.list(ctx, c.vmPath(rg, vm)+"/extensions", apiCompute, nil)
		return tabled{flattenAll(exts, extensionRenames), extensionTable}, err
	})
	extensionFlags(cmd, &rg, &vm, nil)
	return cmd
}

// newVMExtensionDelete waits, as az does, until the machine has removed the extension.
func newVMExtensionDelete(a *app) *cobra.Command {
	var rg, vm, name string
	var noWait bool
	cmd := a.armCommand("delete", "Remove an extension attached to a VM.", func(ctx context.Context, c *arm) (any, error) {
		write := c.write
		if noWait {
			write = c.writeNoWait
		}
		_, err := write(ctx, http.MethodDelete, c.extensionPath(rg, vm, name), apiCompute, nil)
		return nil, err
	})
	extensionFlags(cmd, &rg, &vm, &name)
	noWaitFlag(cmd, &noWait)
	return cmd
}

// noWaitFlag adds az's --no-wait.
func noWaitFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "no-wait", false, "Do not wait for the long-running operation to finish.")
}
