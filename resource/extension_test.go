package resource

import (
	"encoding/json"
	"testing"
)

func TestExtensionStates(t *testing.T) {
	cases := []struct {
		name                      string
		p                         ExtensionProperties
		terminal, deleting, login bool
	}{
		{"fail/creating-is-not-terminal", ExtensionProperties{Publisher: PublisherAzureAD, Type: ExtAADSSHLinux, ProvisioningState: ProvisioningCreating}, false, false, true},
		{"fail/deleting-by-state", ExtensionProperties{Publisher: PublisherLatch, Type: ExtLatchLogin, ProvisioningState: ProvisioningFailed,
			Latch: &ExtensionLatch{State: "deleting"}}, true, true, true},
		{"ok/deleting", ExtensionProperties{Publisher: PublisherAzureAD, Type: ExtAADLoginWindows, ProvisioningState: ProvisioningDeleting}, false, true, true},
		{"ok/succeeded-any-case", ExtensionProperties{Publisher: "microsoft.azure.activedirectory", Type: "aadsshloginforlinux", ProvisioningState: ProvisioningSucceeded}, true, false, true},
		{"ok/not-a-login-extension", ExtensionProperties{Publisher: PublisherAzureAD, Type: "Other", ProvisioningState: ProvisioningFailed}, true, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.p.Terminal() != c.terminal || c.p.Deleting() != c.deleting || c.p.IsLoginExtension() != c.login {
				t.Fatalf("terminal %v deleting %v login %v", c.p.Terminal(), c.p.Deleting(), c.p.IsLoginExtension())
			}
		})
	}
}

func TestExtensionRequestStartsCreating(t *testing.T) {
	p, err := ParseExtensionRequest(json.RawMessage(`{"publisher":"Microsoft.Azure.ActiveDirectory","type":"AADSSHLoginForLinux"}`))
	if err != nil || p.ProvisioningState != ProvisioningCreating || p.Generation() != "" || p.TypeHandlerVersion != "1.0" {
		t.Fatalf("%+v %v", p, err)
	}
	// What Latch keeps for itself survives a round trip through the stored properties.
	p.Latch = &ExtensionLatch{Generation: "g1", State: "enabled"}
	back, err := ParseExtensionProperties(Raw(p))
	if err != nil || back.Generation() != "g1" || back.Latch.State != "enabled" {
		t.Fatalf("%+v %v", back, err)
	}
}
