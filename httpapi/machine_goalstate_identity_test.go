package httpapi_test

import (
	"testing"

	"github.com/latchsh/latch/errs"
)

// TestVMPatchIdentity is "vm identity assign|remove" as az and latch send it: a PATCH with
// only the identity, which creates or deletes the identity's service principal and leaves the
// rest of the machine as it was.
func TestVMPatchIdentity(t *testing.T) {
	f := newMachineFixture(t)
	vm := f.withoutID + apiVM
	f.run(t, []armCase{
		{name: "fail/no-write-role", method: "PATCH", path: vm, tok: f.aliceTok, body: map[string]any{"identity": map[string]any{"type": "SystemAssigned"}}, status: 403, code: codeAuthz},
		{name: "fail/user-assigned", method: "PATCH", path: vm, tok: f.adminTok, body: map[string]any{"identity": map[string]any{"type": "UserAssigned"}}, status: 400, code: "InvalidIdentityType"},
		{name: "fail/no-vm", method: "PATCH", path: f.vmPath("rg1", "ghost") + apiVM, tok: f.adminTok, body: map[string]any{"tags": map[string]string{"a": "b"}}, status: 404, code: "ResourceNotFound"},
		{name: "fail/image-change", method: "PATCH", path: vm, tok: f.adminTok, body: map[string]any{"properties": map[string]any{"storageProfile": map[string]any{
			"imageReference": map[string]any{"publisher": "Canonical", "offer": "UbuntuServer", "sku": "18.04-LTS", "version": "latest"}}}}, status: 400, code: "PropertyChangeNotAllowed"},
	})
	resp, m := f.do(t, "PATCH", vm, f.adminTok, map[string]any{"identity": map[string]any{"type": "SystemAssigned"}})
	pid, _ := field(m, "identity", "principalId").(string)
	if resp.StatusCode != 200 || pid == "" || field(m, "tags", "env") != "test" || field(m, "properties", "hardwareProfile", "vmSize") != "Standard_DS1_v2" {
		t.Fatalf("assign: %d %v", resp.StatusCode, m)
	}
	sp, err := f.Store.GetServicePrincipal(t.Context(), f.Tenant.ID, pid)
	if err != nil || sp.ManagedResourceID == "" {
		t.Fatalf("the identity's service principal: %+v %v", sp, err)
	}
	if resp, m := f.do(t, "PATCH", vm, f.adminTok, map[string]any{"identity": map[string]any{"type": "SystemAssigned"}}); resp.StatusCode != 200 || field(m, "identity", "principalId") != pid {
		t.Fatalf("assigning again must keep the identity: %d %v", resp.StatusCode, m)
	}
	if resp, m := f.do(t, "PATCH", vm, f.adminTok, map[string]any{"tags": map[string]string{"team": "ops"}}); resp.StatusCode != 200 ||
		field(m, "tags", "team") != "ops" || field(m, "identity", "principalId") != pid {
		t.Fatalf("tags: %d %v", resp.StatusCode, m)
	}
	if resp, m := f.do(t, "PATCH", vm, f.adminTok, map[string]any{"identity": map[string]any{"type": "None"}}); resp.StatusCode != 200 || m["identity"] != nil {
		t.Fatalf("remove: %d %v", resp.StatusCode, m)
	}
	if _, err := f.Store.GetServicePrincipal(t.Context(), f.Tenant.ID, pid); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the service principal outlived the identity: %v", err)
	}
}
