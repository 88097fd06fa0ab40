package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestARMResourceGroups(t *testing.T) {
	f := newARMFixture(t)
	rg := f.rgPath("myResourceGroup")
	wrongAud := f.tokenFor(t, f.Admin) // a Graph token
	f.run(t, []armCase{
		{name: "fail/no-token", method: "PUT", path: rg + apiRG, body: map[string]any{"location": "westus"}, status: 401, code: "AuthenticationFailed"},
		{name: "fail/graph-token", method: "PUT", path: rg + apiRG, tok: wrongAud, body: map[string]any{"location": "westus"}, status: 401, code: "InvalidAuthenticationToken"},
		{name: "fail/no-api-version", method: "PUT", path: rg, tok: f.adminTok, body: map[string]any{"location": "westus"}, status: 400, code: "MissingApiVersionParameter"},
		{name: "fail/bad-api-version", method: "GET", path: rg + "?api-version=latest", tok: f.adminTok, status: 400, code: "InvalidApiVersionParameter"},
		{name: "fail/no-role", method: "PUT", path: rg + apiRG, tok: f.aliceTok, body: map[string]any{"location": "westus"}, status: 403, code: codeAuthz,
			check: func(t *testing.T, m map[string]any) {
				want := fmt.Sprintf("The client 'alice@contoso.test' with object id '%s' does not have authorization to perform action "+
					"'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '/subscriptions/%s/resourceGroups/myResourceGroup' "+
					"or the scope is invalid. If access was recently granted, please refresh your credentials.", f.alice.ID, f.sub)
				if errorMessage(m) != want {
					t.Fatalf("message %q\nwant    %q", errorMessage(m), want)
				}
			}},
		{name: "fail/other-tenant-subscription", method: "GET", path: "/subscriptions/" + f.otherSub + "/resourceGroups/x" + apiRG, tok: f.adminTok, status: 404, code: "SubscriptionNotFound"},
		{name: "fail/name-ends-in-period", method: "PUT", path: f.rgPath("bad.") + apiRG, tok: f.adminTok, body: map[string]any{"location": "westus"}, status: 400, code: "InvalidResourceGroup"},
		{name: "fail/name-bad-characters", method: "PUT", path: f.rgPath("a+b") + apiRG, tok: f.adminTok, body: map[string]any{"location": "westus"}, status: 400, code: "InvalidResourceGroup"},
		{name: "fail/name-too-long", method: "PUT", path: f.rgPath(strings.Repeat("a", 91)) + apiRG, tok: f.adminTok, body: map[string]any{"location": "westus"}, status: 400, code: "InvalidResourceGroup"},
		{name: "fail/no-location", method: "PUT", path: rg + apiRG, tok: f.adminTok, body: map[string]any{"tags": nil}, status: 400, code: "LocationRequired"},
		{name: "fail/unknown-field", method: "PUT", path: rg + apiRG, tok: f.adminTok, body: map[string]any{"location": "westus", "colour": "red"}, status: 400},
		{name: "fail/get-missing", method: "GET", path: rg + apiRG, tok: f.adminTok, status: 404, code: "ResourceGroupNotFound"},
		{name: "ok/create-as-az-sends-it", method: "PUT", path: "/subscriptions/" + f.sub + "/resourcegroups/myResourceGroup" + apiRG, tok: f.adminTok,
			body: `{"location":"West US","tags":null}`, status: 201, check: func(t *testing.T, m map[string]any) {
				for k, want := range map[string]any{"id": rg, "name": "myResourceGroup", "type": "Microsoft.Resources/resourceGroups",
					"location": "westus", "tags": nil} {
					if m[k] != want {
						t.Fatalf("%s = %v, want %v", k, m[k], want)
					}
				}
				wantField("Succeeded", "properties", "provisioningState")(t, m)
			}},
		{name: "fail/contributor-moves-location", method: "PUT", path: rg + apiRG, tok: f.daveTok, body: map[string]any{"location": "eastus"}, status: 400, code: "InvalidResourceGroupLocation"},
		{name: "ok/put-again-updates-tags", method: "PUT", path: rg + apiRG, tok: f.daveTok, body: map[string]any{"location": "westus", "tags": map[string]string{"env": "dev"}},
			status: 200, check: wantField("dev", "tags", "env")},
		{name: "ok/get-any-case-double-slash", method: "GET", path: "//subscriptions/" + strings.ToUpper(f.sub) + "/RESOURCEGROUPS/myresourcegroup" + apiRG, tok: f.adminTok,
			status: 200, check: wantField(rg, "id")},
		{name: "fail/reader-less-patch", method: "PATCH", path: rg + apiRG, tok: f.aliceTok, body: map[string]any{"tags": map[string]string{}}, status: 403, code: codeAuthz},
		{name: "ok/patch-tags", method: "PATCH", path: rg + apiRG, tok: f.adminTok, body: map[string]any{"tags": map[string]string{"team": "ops"}},
			status: 200, check: wantField("ops", "tags", "team")},
		{name: "ok/head", method: "HEAD", path: rg + apiRG, tok: f.adminTok, status: 204},
		{name: "fail/method", method: "POST", path: rg + apiRG, tok: f.adminTok, status: 400, code: "MethodNotAllowed"},
		{name: "ok/list", method: "GET", path: "/subscriptions/" + f.sub + "/resourcegroups" + apiRG, tok: f.adminTok, status: 200, check: wantIDs(rg)},
		{name: "fail/list-no-role", method: "GET", path: "/subscriptions/" + f.sub + "/resourcegroups" + apiRG, tok: f.aliceTok, status: 403, code: codeAuthz},
		{name: "fail/delete-no-role", method: "DELETE", path: rg + apiRG, tok: f.aliceTok, status: 403, code: codeAuthz},
		{name: "fail/delete-missing", method: "DELETE", path: f.rgPath("nothere") + apiRG, tok: f.adminTok, status: 404, code: "ResourceGroupNotFound"},
	})
}

// Deleting a resource group deletes its machines, their extensions, the role assignments at or
// below it and the machines' managed identities; a sibling group keeps everything.
func TestARMResourceGroupDeleteCascades(t *testing.T) {
	f := newARMFixture(t)
	f.mkRG(t, "rg1")
	f.mkRG(t, "rg10")
	vm := f.mkVM(t, "rg1", "vm1")
	f.mkVM(t, "rg10", "vm1")
	ext := f.vmPath("rg1", "vm1") + "/extensions/AADLoginForWindows" + apiVM
	if resp, m := f.do(t, "PUT", ext, f.adminTok, extBody("AADLoginForWindows")); resp.StatusCode != 201 {
		t.Fatalf("extension: %d %v", resp.StatusCode, m)
	}
	f.assign(t, f.rgPath("rg1"), f.alice.ID, vmUserLogin)
	f.assign(t, f.rgPath("rg10"), f.alice.ID, vmUserLogin)
	principal, _ := field(vm, "identity", "principalId").(string)
	if resp, _ := f.do(t, "DELETE", f.rgPath("RG1")+apiRG, f.adminTok, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	for _, p := range []string{f.rgPath("rg1") + apiRG, f.vmPath("rg1", "vm1") + apiVM, ext} {
		if resp, _ := f.do(t, "GET", p, f.adminTok, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s after delete: %d, want 404", p, resp.StatusCode)
		}
	}
	if _, err := f.Store.GetServicePrincipal(t.Context(), f.Tenant.ID, principal); err == nil {
		t.Error("the deleted machine's managed identity survived")
	}
	_, m := f.do(t, "GET", "/subscriptions/"+f.sub+"/providers/Microsoft.Authorization/roleAssignments"+apiAuthz+"&$filter="+urlq("assignedTo('"+f.alice.ID+"')"), f.adminTok, nil)
	for _, a := range values(t, m) {
		if scope, _ := field(a, "properties", "scope").(string); strings.EqualFold(scope, f.rgPath("rg1")) {
			t.Errorf("an assignment at the deleted group survived: %v", a)
		}
	}
	if got := len(values(t, m)); got != 1 {
		t.Errorf("alice has %d assignments, want the sibling group's one", got)
	}
	if resp, _ := f.do(t, "GET", f.vmPath("rg10", "vm1")+apiVM, f.adminTok, nil); resp.StatusCode != 200 {
		t.Errorf("the sibling group's machine: %d", resp.StatusCode)
	}
}
