package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
)

const (
	vmUserLogin  = access.VMUserLoginRoleID
	vmAdminLogin = access.VMAdministratorLoginRoleID
)

func urlq(s string) string { return url.QueryEscape(s) }

func extBody(typ string) map[string]any {
	return map[string]any{"location": "westus", "properties": map[string]any{"publisher": "Microsoft.Azure.ActiveDirectory",
		"type": typ, "typeHandlerVersion": "2.2", "autoUpgradeMinorVersion": true, "protectedSettings": map[string]string{"secret": "x"}}}
}

func TestARMVirtualMachines(t *testing.T) {
	f := newARMFixture(t)
	f.mkRG(t, "rg1")
	vm := f.vmPath("rg1", "myVM")
	f.run(t, []armCase{
		{name: "fail/no-role", method: "PUT", path: vm + apiVM, tok: f.aliceTok, body: vmBody("westus", true), status: 403, code: codeAuthz},
		{name: "fail/no-group", method: "PUT", path: f.vmPath("nogroup", "myVM") + apiVM, tok: f.adminTok, body: vmBody("westus", true), status: 404, code: "ResourceGroupNotFound"},
		{name: "fail/bad-name", method: "PUT", path: f.vmPath("rg1", "-vm") + apiVM, tok: f.adminTok, body: vmBody("westus", true), status: 400, code: "InvalidResourceName"},
		{name: "fail/no-location", method: "PUT", path: vm + apiVM, tok: f.adminTok, body: vmBody("", true), status: 400, code: "LocationRequired"},
		{name: "fail/user-assigned-identity", method: "PUT", path: vm + apiVM, tok: f.adminTok,
			body: map[string]any{"location": "westus", "identity": map[string]any{"type": "UserAssigned"}}, status: 400, code: "InvalidIdentityType"},
		{name: "fail/no-image", method: "PUT", path: vm + apiVM, tok: f.adminTok, body: map[string]any{"location": "westus", "properties": map[string]any{}}, status: 400, code: "InvalidParameter"},
		{name: "fail/reserved-admin", method: "PUT", path: vm + apiVM, tok: f.adminTok, status: 400, code: "InvalidParameter",
			body: map[string]any{"location": "westus", "properties": map[string]any{"storageProfile": map[string]any{"imageReference": map[string]any{"publisher": "Canonical", "offer": "UbuntuServer", "sku": "22_04-lts", "version": "latest"}},
				"osProfile": map[string]any{"adminUsername": "root"}}}},
		{name: "fail/get-missing", method: "GET", path: vm + apiVM, tok: f.adminTok, status: 404, code: "ResourceNotFound"},
		{name: "ok/create", method: "PUT", path: vm + apiVM, tok: f.daveTok, body: vmBody("westus", true), status: 201, check: func(t *testing.T, m map[string]any) {
			for _, c := range []struct {
				path []string
				want any
			}{
				{[]string{"id"}, vm}, {[]string{"type"}, "Microsoft.Compute/virtualMachines"}, {[]string{"location"}, "westus"},
				{[]string{"identity", "type"}, "SystemAssigned"}, {[]string{"identity", "tenantId"}, f.Tenant.ID},
				{[]string{"properties", "provisioningState"}, "Succeeded"}, {[]string{"properties", "osProfile", "adminUsername"}, "azureuser"},
				{[]string{"properties", "osProfile", "adminPasswordSet"}, true}, {[]string{"properties", "storageProfile", "osDisk", "osType"}, "Windows"},
				{[]string{"properties", "osProfile", "adminPassword"}, nil}, {[]string{"properties", "machine", "status"}, "NotConnected"},
			} {
				wantField(c.want, c.path...)(t, m)
			}
			sp, err := f.Store.GetServicePrincipal(t.Context(), f.Tenant.ID, field(m, "identity", "principalId").(string))
			if err != nil || sp.Type != directory.SPManagedIdentity || !strings.EqualFold(sp.ManagedResourceID, vm) {
				t.Fatalf("managed identity %+v, %v", sp, err)
			}
		}},
		{name: "fail/image-cannot-change", method: "PUT", path: vm + apiVM, tok: f.adminTok, status: 400, code: "PropertyChangeNotAllowed",
			body: map[string]any{"location": "westus", "properties": map[string]any{"storageProfile": map[string]any{"imageReference": map[string]any{"publisher": "Canonical", "offer": "UbuntuServer", "sku": "22_04-lts", "version": "latest"}}}}},
		{name: "ok/update-keeps-identity", method: "PUT", path: vm + apiVM, tok: f.adminTok, body: map[string]any{"location": "westus", "tags": map[string]string{"a": "b"}},
			status: 200, check: func(t *testing.T, m map[string]any) {
				wantField("SystemAssigned", "identity", "type")(t, m)
				wantField("b", "tags", "a")(t, m)
				wantField("azureuser", "properties", "osProfile", "adminUsername")(t, m)
			}},
		{name: "ok/get-lowercase", method: "GET", path: strings.ToLower(vm) + apiVM, tok: f.adminTok, status: 200, check: wantField("myVM", "name")},
		{name: "ok/list-group", method: "GET", path: f.rgPath("rg1") + "/providers/Microsoft.Compute/virtualMachines" + apiVM, tok: f.adminTok, status: 200, check: wantIDs(vm)},
		{name: "ok/list-subscription", method: "GET", path: "/subscriptions/" + f.sub + "/providers/Microsoft.Compute/virtualMachines" + apiVM, tok: f.adminTok, status: 200, check: wantIDs(vm)},
		{name: "fail/list-no-role", method: "GET", path: "/subscriptions/" + f.sub + "/providers/Microsoft.Compute/virtualMachines" + apiVM, tok: f.aliceTok, status: 403, code: codeAuthz},
		{name: "fail/delete-no-role", method: "DELETE", path: vm + apiVM, tok: f.aliceTok, status: 403, code: codeAuthz},
		{name: "ok/delete-missing", method: "DELETE", path: f.vmPath("rg1", "ghost") + apiVM, tok: f.adminTok, status: 204},
	})
}

func TestARMExtensions(t *testing.T) {
	f := newARMFixture(t)
	f.mkRG(t, "rg1")
	f.mkVM(t, "rg1", "vm1")
	ext := f.vmPath("rg1", "vm1") + "/extensions/AADLoginForWindows"
	images := "/subscriptions/" + f.sub + "/providers/Microsoft.Compute/locations/westus/publishers"
	f.assign(t, f.vmPath("rg1", "vm1"), f.carol.ID, vmAdminLogin)
	f.run(t, []armCase{
		{name: "fail/login-role-cannot-write", method: "PUT", path: ext + apiVM, tok: f.carolTok, body: extBody("AADLoginForWindows"), status: 403, code: codeAuthz},
		{name: "fail/unknown-type", method: "PUT", path: ext + apiVM, tok: f.adminTok, body: extBody("CustomScript"), status: 404, code: "NotFound"},
		{name: "fail/no-vm", method: "PUT", path: f.vmPath("rg1", "ghost") + "/extensions/AADLoginForWindows" + apiVM, tok: f.adminTok, body: extBody("AADLoginForWindows"), status: 404, code: "ParentResourceNotFound"},
		{name: "fail/images-no-role", method: "GET", path: images + "?api-version=2020-06-01", tok: f.aliceTok, status: 403, code: codeAuthz},
		{name: "ok/put-as-az", method: "PUT", path: ext + "?api-version=2020-06-01", tok: f.adminTok, status: 201,
			body: `{"location":"westus","properties":{"publisher":"Microsoft.Azure.ActiveDirectory","type":"AADLoginForWindows","typeHandlerVersion":"2.2","autoUpgradeMinorVersion":true}}`,
			check: func(t *testing.T, m map[string]any) {
				wantField("Creating", "properties", "provisioningState")(t, m) // no machine onboarded yet
				wantField("Microsoft.Compute/virtualMachines/extensions", "type")(t, m)
				wantField(nil, "properties", "protectedSettings")(t, m)
			}},
		{name: "ok/contributor-reads-instance-view", method: "GET", path: f.vmPath("rg1", "vm1") + apiVM + "&$expand=instanceView", tok: f.daveTok, status: 200,
			check: func(t *testing.T, m map[string]any) {
				exts, _ := field(m, "properties", "instanceView", "extensions").([]any)
				if len(exts) != 1 || field(exts[0].(map[string]any), "type") != "Microsoft.Azure.ActiveDirectory.AADLoginForWindows" {
					t.Fatalf("instanceView.extensions = %v", exts)
				}
			}},
		{name: "ok/list", method: "GET", path: f.vmPath("rg1", "vm1") + "/extensions" + apiVM, tok: f.adminTok, status: 200, check: wantIDs(ext)},
		{name: "ok/publishers", method: "GET", path: images + "?api-version=2020-06-01", tok: f.daveTok, status: 200},
		{name: "ok/types", method: "GET", path: images + "/Microsoft.Azure.ActiveDirectory/artifacttypes/vmextension/types?api-version=2020-06-01", tok: f.daveTok, status: 200},
		{name: "fail/versions-unknown-type", method: "GET", path: images + "/Microsoft.Azure.ActiveDirectory/artifacttypes/vmextension/types/Nope/versions?api-version=2020-06-01", tok: f.daveTok, status: 404},
		{name: "fail/delete-login-role", method: "DELETE", path: ext + apiVM, tok: f.carolTok, status: 403, code: codeAuthz},
		{name: "ok/delete", method: "DELETE", path: ext + apiVM, tok: f.adminTok, status: 200},
		{name: "ok/delete-again", method: "DELETE", path: ext + apiVM, tok: f.adminTok, status: 204},
	})
	// The image endpoints answer arrays, as az expects.
	resp, raw := f.doRaw(t, "GET", images+"/Microsoft.Azure.ActiveDirectory/artifacttypes/vmextension/types/AADLoginForWindows/versions?api-version=2020-06-01", f.adminTok, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(raw), "[") || !strings.Contains(string(raw), `"name":"2.2.0.0"`) {
		t.Fatalf("versions: %d %s", resp.StatusCode, raw)
	}
}
