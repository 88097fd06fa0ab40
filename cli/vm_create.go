package cli

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// vmImage is a machine image: a marketplace reference and the operating system it holds.
type vmImage struct {
	os                             string // "Windows" or "Linux"
	publisher, offer, sku, version string
	id                             string // a custom image's resource id, instead of the above
}

// imageAliases are az's image aliases (az vm image list --all is not needed for these).
var imageAliases = map[string]vmImage{
	"centos":                  {"Linux", "OpenLogic", "CentOS", "7.5", "latest", ""},
	"debian":                  {"Linux", "Debian", "debian-10", "10", "latest", ""},
	"debian11":                {"Linux", "Debian", "debian-11", "11-backports-gen2", "latest", ""},
	"debian12":                {"Linux", "Debian", "debian-12", "12-gen2", "latest", ""},
	"ubuntu2204":              {"Linux", "Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "latest", ""},
	"ubuntu2404":              {"Linux", "Canonical", "ubuntu-24_04-lts", "server", "latest", ""},
	"flatcar":                 {"Linux", "kinvolk", "flatcar-container-linux-free", "stable", "latest", ""},
	"opensuse-leap":           {"Linux", "SUSE", "opensuse-leap-15-3", "gen2", "latest", ""},
	"rhel":                    {"Linux", "RedHat", "RHEL", "7-LVM", "latest", ""},
	"sles":                    {"Linux", "SUSE", "sles-15-sp3", "gen2", "latest", ""},
	"ubuntults":               {"Linux", "Canonical", "UbuntuServer", "18.04-LTS", "latest", ""},
	"win2022datacenter":       {"Windows", "MicrosoftWindowsServer", "WindowsServer", "2022-Datacenter", "latest", ""},
	"win2022azureeditioncore": {"Windows", "MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-azure-edition-core", "latest", ""},
	"win2019datacenter":       {"Windows", "MicrosoftWindowsServer", "WindowsServer", "2019-Datacenter", "latest", ""},
	"win2016datacenter":       {"Windows", "MicrosoftWindowsServer", "WindowsServer", "2016-Datacenter", "latest", ""},
	"win2012r2datacenter":     {"Windows", "MicrosoftWindowsServer", "WindowsServer", "2012-R2-Datacenter", "latest", ""},
	"win2012datacenter":       {"Windows", "MicrosoftWindowsServer", "WindowsServer", "2012-Datacenter", "latest", ""},
	"win2008r2sp1":            {"Windows", "MicrosoftWindowsServer", "WindowsServer", "2008-R2-SP1", "latest", ""},
}

var aliasNames = []string{"CentOS", "Debian", "Debian11", "Debian12", "Ubuntu2204", "Ubuntu2404", "Flatcar", "openSUSE-Leap", "RHEL", "SLES", "UbuntuLTS",
	"Win2022Datacenter", "Win2022AzureEditionCore", "Win2019Datacenter", "Win2016Datacenter",
	"Win2012R2Datacenter", "Win2012Datacenter", "Win2008R2SP1"}

// resolveImage reads an alias, a URN (publisher:offer:sku:version) or an image resource id.
func resolveImage(image string) (vmImage, error) {
	if img, ok := imageAliases[strings.ToLower(image)]; ok {
		return img, nil
	}
	if parts := strings.Split(image, ":"); len(parts) == 4 && !slices.Contains(parts, "") {
		os := "Linux"
		if strings.Contains(strings.ToLower(parts[0]+parts[1]), "windows") {
			os = "Windows"
		}
		return vmImage{os, parts[0], parts[1], parts[2], parts[3], ""}, nil
	}
	if strings.HasPrefix(strings.ToLower(image), "/subscriptions/") {
		return vmImage{os: "Linux", id: image}, nil
	}
	return vmImage{}, failf("Invalid image \"%s\". Use a valid image URN, custom image name, custom image id, VHD blob URI, or pick an image from %s.\nSee vm create -h for more information on specifying an image.",
		image, "['"+strings.Join(aliasNames, "', '")+"']")
}

func (img vmImage) reference() map[string]any {
	if img.id != "" {
		return map[string]any{"id": img.id}
	}
	return map[string]any{"publisher": img.publisher, "offer": img.offer, "sku": img.sku, "version": img.version}
}

// vmCreateOptions are the flags of "vm create".
type vmCreateOptions struct {
	rg, name, image, size, location, adminUser, adminPassword, authType, computerName string
	tags, identities, sshKeys                                                         []string
}

func newVMCreate(a *app) *cobra.Command {
	var o vmCreateOptions
	var cmd *cobra.Command
	cmd = a.armCommand("create", "Create a VM resource.", func(ctx context.Context, c *arm) (any, error) {
		return c.createVM(ctx, a, o, cmd.Flags().Changed)
	})
	cmd.Long = `Create a VM resource: the Microsoft.Compute/virtualMachines resource that records the machine's
image, operating system, size, location, tags and (with --assign-identity) its system-assigned
managed identity. Latch does not provision hardware or networks; the machine itself is
connected to its resource by the machine agent.`
	cmd.Example = `  latch vm create --resource-group myResourceGroup --name myVM --image Win2019Datacenter \
    --assign-identity --admin-username azureuser --admin-password yourpassword`
	vmCreateFlags(cmd, &o)
	return cmd
}

func vmCreateFlags(cmd *cobra.Command, o *vmCreateOptions) {
	f := cmd.Flags()
	resourceFlags(cmd, &o.rg, &o.name, "Name of the virtual machine.")
	f.StringVar(&o.image, "image", "", "The name of the operating system image as a URN alias, URN or custom image id. URN aliases: "+strings.Join(aliasNames, ", ")+". Example URN: MicrosoftWindowsServer:WindowsServer:2019-Datacenter:latest.")
	f.StringVar(&o.size, "size", "Standard_DS1_v2", "The VM size to be created.")
	f.StringVarP(&o.location, "location", "l", "", "Location in which to create VM and related resources. Defaults to the resource group's location.")
	f.StringVar(&o.adminUser, "admin-username", "", "Username for the VM. Default value is current username of OS. If the default value is system reserved, then default value will be set to azureuser.")
	f.StringVar(&o.adminPassword, "admin-password", "", "Password for the VM if authentication type is 'Password'.")
	f.StringVar(&o.authType, "authentication-type", "", "Type of authentication to use with the VM. Defaults to password for Windows and SSH public key for Linux. Allowed values: all, password, ssh.")
	f.StringVar(&o.computerName, "computer-name", "", "The host OS name of the virtual machine. Defaults to the name of the VM.")
	listFlag(cmd, &o.tags, "tags", "", "", "Space-separated tags: key[=value] [key[=value] ...].")
	listFlag(cmd, &o.identities, "assign-identity", "", "[system]", "Accept system or user assigned identities separated by spaces. Use '[system]' to refer system assigned identity, or a resource id to refer user assigned identity.")
	listFlag(cmd, &o.sshKeys, "ssh-key-values", "", "", "Space-separated list of SSH public key or public key file paths.")
	required(cmd, "image")
}
