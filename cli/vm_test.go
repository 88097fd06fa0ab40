package cli

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// armBody is the JSON body of the fake ARM's request that matches prefix, last one first.
func armBody(t *testing.T, h *harness, prefix string) map[string]any {
	t.Helper()
	a := h.idp.arm
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.requests) - 1; i >= 0; i-- {
		if strings.HasPrefix(a.requests[i], prefix) {
			var body map[string]any
			json.Unmarshal([]byte(a.bodies[i]), &body)
			return body
		}
	}
	t.Fatalf("no request %q in %v", prefix, a.requests)
	return nil
}

const vmPath = "/subscriptions/" + subID + "/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM"

func newVMHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.login()
	mustRun(t, h, "group", "create", "--name", "myResourceGroup", "--location", "southcentralus")
	return h
}

func TestVMCreateAsTheArticle(t *testing.T) {
	h := newVMHarness(t)
	out := decode(t, mustRun(t, h, "vm", "create", "--resource-group", "myResourceGroup", "--name", "myVM",
		"--image", "Win2019Datacenter", "--assign-identity", "--admin-username", "azureuser", "--admin-password", "yourpassword")).(map[string]any)
	ident := out["identity"].(map[string]any)
	if out["id"] != vmPath || out["location"] != "southcentralus" || out["powerState"] != "VM running" || !isGUID(ident["systemAssignedIdentity"].(string)) {
		t.Errorf("vm create printed %v", out)
	}
	if cmd, _ := out["onboardingCommand"].(string); !strings.HasPrefix(cmd, "latch agent connect --server https://") ||
		!strings.Contains(cmd, " --token onboarding-token-for-myVM") || !strings.Contains(cmd, " --ca-file ") {
		t.Errorf("vm create printed the onboarding command %q", cmd)
	}
	body := armBody(t, h, "PUT "+vmPath)
	props := body["properties"].(map[string]any)
	wantImage := map[string]any{"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2019-Datacenter", "version": "latest"}
	storage := props["storageProfile"].(map[string]any)
	if !reflect.DeepEqual(storage["imageReference"], wantImage) || storage["osDisk"].(map[string]any)["osType"] != "Windows" {
		t.Errorf("storage profile %v", storage)
	}
	osp := props["osProfile"].(map[string]any)
	if osp["adminUsername"] != "azureuser" || osp["adminPassword"] != "yourpassword" || osp["computerName"] != "myVM" {
		t.Errorf("os profile %v", osp)
	}
	if body["location"] != "southcentralus" || !reflect.DeepEqual(body["identity"], map[string]any{"type": "SystemAssigned"}) {
		t.Errorf("body %v", body)
	}
	if !slices.Contains(h.idp.arm.requestLog(), "GET /subscriptions/"+subID+"/resourceGroups/myResourceGroup?api-version=2021-04-01") {
		t.Errorf("the location was not read from the resource group: %v", h.idp.arm.requestLog())
	}
}

func TestVMCreateRefusals(t *testing.T) {
	h := newVMHarness(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/unknown-image", []string{"--image", "Win3.11"}, 1, `Invalid image "Win3.11"`},
		{"fail/windows-without-password", []string{"--image", "Win2022Datacenter"}, 1, "Please specify password"},
		{"fail/linux-without-key", []string{"--image", "UbuntuLTS"}, 1, "SSH Key Value"},
		{"fail/no-image", nil, 2, "image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.run(append([]string{"vm", "create", "-g", "myResourceGroup", "-n", "v2"}, tc.args...)...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, %q; want %d and %q", res.code, res.stderr, tc.code, tc.want)
			}
		})
	}
	res := h.run("vm", "create", "-g", "noSuchGroup", "-n", "v", "--image", "UbuntuLTS", "--authentication-type", "password", "--admin-password", "x")
	if res.code != 1 || !strings.Contains(res.stderr, "(ResourceGroupNotFound)") {
		t.Errorf("fail/missing-group: %+v", res)
	}
}

func TestVMShowListDelete(t *testing.T) {
	h := newVMHarness(t)
	mustRun(t, h, "vm", "create", "-g", "myResourceGroup", "-n", "myVM", "--image", "UbuntuLTS", "--ssh-key-values", "ssh-ed25519 AAAA test",
		"--tags", "env=prod", "--size", "Standard_B1s")
	vm := decode(t, mustRun(t, h, "vm", "show", "-g", "myResourceGroup", "-n", "myVM")).(map[string]any)
	if vm["resourceGroup"] != "myResourceGroup" || vm["hardwareProfile"].(map[string]any)["vmSize"] != "Standard_B1s" || vm["properties"] != nil {
		t.Errorf("show (flattened, with resourceGroup) = %v", vm)
	}
	if got := mustRun(t, h, "vm", "show", "-g", "myResourceGroup", "-n", "myVM", "-d", "--query", "powerState", "-o", "tsv"); got != "VM running\n" {
		t.Errorf("show -d power state %q", got)
	}
	table := mustRun(t, h, "vm", "list", "-o", "table")
	if !strings.HasPrefix(table, "Name    ResourceGroup    Location\n") || !strings.Contains(table, "myVM    myResourceGroup  southcentralus") {
		t.Errorf("list table:\n%s", table)
	}
	if got := mustRun(t, h, "vm", "list", "-g", "myResourceGroup", "--query", "[].name", "-o", "tsv"); got != "myVM\n" {
		t.Errorf("list -g = %q", got)
	}
	if r := h.run("vm", "delete", "-g", "myResourceGroup", "-n", "myVM"); r.code != 1 || !strings.Contains(r.stderr, "Operation cancelled.") {
		t.Errorf("fail/delete-without-yes: %+v", r)
	}
	mustRun(t, h, "vm", "delete", "-g", "myResourceGroup", "-n", "myVM", "--yes")
	if r := h.run("vm", "show", "-g", "myResourceGroup", "-n", "myVM"); r.code != 3 {
		t.Errorf("show after delete: %+v", r)
	}
}

func TestVMIdentity(t *testing.T) {
	h := newVMHarness(t)
	mustRun(t, h, "vm", "create", "-g", "myResourceGroup", "-n", "myVM", "--image", "Win2019Datacenter", "--admin-password", "x")
	if got := mustRun(t, h, "vm", "identity", "show", "-g", "myResourceGroup", "-n", "myVM"); got != "" {
		t.Errorf("show without identity printed %q", got)
	}
	info := decode(t, mustRun(t, h, "vm", "identity", "assign", "-g", "myResourceGroup", "-n", "myVM")).(map[string]any)
	if !isGUID(info["systemAssignedIdentity"].(string)) || len(info["userAssignedIdentities"].(map[string]any)) != 0 {
		t.Errorf("assign printed %v", info)
	}
	if b := armBody(t, h, "PATCH "+vmPath); !reflect.DeepEqual(b, map[string]any{"identity": map[string]any{"type": "SystemAssigned"}}) {
		t.Errorf("assign PATCH body %v", b)
	}
	shown := decode(t, mustRun(t, h, "vm", "identity", "show", "-g", "myResourceGroup", "-n", "myVM")).(map[string]any)
	if shown["principalId"] != info["systemAssignedIdentity"] || shown["type"] != "SystemAssigned" {
		t.Errorf("identity show %v", shown)
	}
	mustRun(t, h, "vm", "identity", "remove", "-g", "myResourceGroup", "-n", "myVM")
	if b := armBody(t, h, "PATCH "+vmPath); !reflect.DeepEqual(b, map[string]any{"identity": map[string]any{"type": "None"}}) {
		t.Errorf("remove PATCH body %v", b)
	}
}

func TestIdentityTypes(t *testing.T) {
	uai := "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
	cases := []struct {
		name    string
		current map[string]any
		words   []string
		want    string
	}{
		{"ok/none-to-system", nil, nil, idSystem},
		{"ok/system-plus-user", map[string]any{"type": idSystem}, []string{uai}, idSystemUser},
		{"ok/user-plus-system", map[string]any{"type": idUser}, []string{systemWord}, idSystemUser},
		{"ok/only-user", nil, []string{uai}, idUser},
	}
	for _, tc := range cases {
		if got := assignedIdentity(tc.current, tc.words)["type"]; got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	got, err := removedIdentity(map[string]any{"type": idSystemUser, "userAssignedIdentities": map[string]any{uai: map[string]any{}}}, nil, "vm")
	if err != nil || got["type"] != idUser {
		t.Errorf("remove system from both: %v %v", got, err)
	}
	if _, err := removedIdentity(map[string]any{"type": idSystem}, []string{uai}, "vm"); err == nil || !strings.Contains(err.Error(), "are not associated with 'vm'") {
		t.Errorf("fail/remove-unknown-identity: %v", err)
	}
}
