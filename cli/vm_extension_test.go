package cli

import (
	"reflect"
	"strings"
	"testing"
)

func TestVMExtensionSetFollowsAz(t *testing.T) {
	h := newVMHarness(t)
	mustRun(t, h, "vm", "create", "-g", "myResourceGroup", "-n", "myVM", "--image", "Win2019Datacenter", "--admin-password", "x", "--assign-identity")
	before := len(h.idp.arm.requestLog())
	ext := decode(t, mustRun(t, h, "vm", "extension", "set", "--publisher", "Microsoft.Azure.ActiveDirectory", "--name", "AADLoginForWindows",
		"--resource-group", "myResourceGroup", "--vm-name", "myVM")).(map[string]any)
	if ext["provisioningState"] != "Succeeded" || ext["typePropertiesType"] != "AADLoginForWindows" || ext["typeHandlerVersion"] != "2.10" || ext["resourceGroup"] != "myResourceGroup" {
		t.Errorf("extension set printed %v", ext)
	}
	loc := "/subscriptions/" + subID + "/providers/Microsoft.Compute/locations/southcentralus/publishers"
	want := []string{
		"GET " + vmPath + "?$expand=instanceView&api-version=2022-11-01",
		"GET " + loc + "?api-version=2022-11-01",
		"GET " + loc + "/Microsoft.Azure.ActiveDirectory/artifacttypes/vmextension/types?api-version=2022-11-01",
		"GET " + loc + "/Microsoft.Azure.ActiveDirectory/artifacttypes/vmextension/types/AADLoginForWindows/versions?api-version=2022-11-01",
		"PUT " + vmPath + "/extensions/AADLoginForWindows?api-version=2022-11-01",
	}
	if got := h.idp.arm.requestLog()[before:]; !reflect.DeepEqual(got, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantBody := map[string]any{"location": "southcentralus", "properties": map[string]any{"publisher": "Microsoft.Azure.ActiveDirectory",
		"type": "AADLoginForWindows", "typeHandlerVersion": "2.10", "autoUpgradeMinorVersion": true}}
	if b := armBody(t, h, "PUT "+vmPath+"/extensions/"); !reflect.DeepEqual(b, wantBody) {
		t.Errorf("PUT body %v", b)
	}

	// With --version the image endpoints are not asked; an extension of the same type keeps its instance name.
	before = len(h.idp.arm.requestLog())
	res := h.run("vm", "extension", "set", "--publisher", "Microsoft.Azure.ActiveDirectory", "-n", "AADLoginForWindows", "-g", "myResourceGroup",
		"--vm-name", "myVM", "--version", "1.0", "--extension-instance-name", "login", "--settings", `{"mdmId":""}`)
	if res.code != 0 || !strings.Contains(res.stderr, "A AADLoginForWindows extension with name AADLoginForWindows already exists.") {
		t.Errorf("second set: %+v", res)
	}
	if got := h.idp.arm.requestLog()[before:]; len(got) != 2 || !strings.HasPrefix(got[1], "PUT "+vmPath+"/extensions/AADLoginForWindows?") {
		t.Errorf("requests with --version: %v", got)
	}
	if b := armBody(t, h, "PUT "+vmPath+"/extensions/"); !reflect.DeepEqual(b["properties"].(map[string]any)["settings"], map[string]any{"mdmId": ""}) {
		t.Errorf("settings not sent: %v", b)
	}

	table := mustRun(t, h, "vm", "extension", "list", "-g", "myResourceGroup", "--vm-name", "myVM", "-o", "table")
	wantTable := "Name                ProvisioningState    Publisher                        Version    AutoUpgradeMinorVersion\n" +
		"------------------  -------------------  -------------------------------  ---------  -------------------------\n" +
		"AADLoginForWindows  Succeeded            Microsoft.Azure.ActiveDirectory  1.0        True\n"
	if table != wantTable {
		t.Errorf("list table:\n%s\nwant:\n%s", table, wantTable)
	}
	got := mustRun(t, h, "vm", "extension", "show", "-g", "myResourceGroup", "--vm-name", "myVM", "-n", "AADLoginForWindows", "--query", "provisioningState", "-o", "tsv")
	if got != "Succeeded\n" {
		t.Errorf("show = %q", got)
	}
	mustRun(t, h, "vm", "extension", "delete", "-g", "myResourceGroup", "--vm-name", "myVM", "-n", "AADLoginForWindows")
	if r := h.run("vm", "extension", "show", "-g", "myResourceGroup", "--vm-name", "myVM", "-n", "AADLoginForWindows"); r.code != 3 {
		t.Errorf("show after delete: %+v", r)
	}
}

func TestVMExtensionRefusals(t *testing.T) {
	h := newVMHarness(t)
	mustRun(t, h, "vm", "create", "-g", "myResourceGroup", "-n", "myVM", "--image", "Win2019Datacenter", "--admin-password", "x")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/unknown-publisher", []string{"--publisher", "Contoso.Nope", "-n", "AADLoginForWindows"}, 1, `Failed to find the latest version for the extension "AADLoginForWindows"`},
		{"fail/unknown-type", []string{"--publisher", "Microsoft.Azure.ActiveDirectory", "-n", "Nope"}, 1, `Failed to find the latest version for the extension "Nope"`},
		{"fail/no-vm", []string{"--publisher", "Microsoft.Azure.ActiveDirectory", "-n", "AADLoginForWindows", "--vm-name", "other"}, 3, "ResourceNotFound"},
		{"fail/bad-settings", []string{"--publisher", "Microsoft.Azure.ActiveDirectory", "-n", "AADLoginForWindows", "--version", "2.0", "--settings", "{nope"}, 1, "Failed to parse string as JSON for --settings"},
		{"fail/no-publisher", []string{"-n", "AADLoginForWindows"}, 2, "publisher"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"vm", "extension", "set", "-g", "myResourceGroup", "--vm-name", "myVM"}, tc.args...)
			res := h.run(args...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, %q; want %d and %q", res.code, res.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestVersionOrder(t *testing.T) {
	if got := majorMinor("2.10.0.0"); got != "2.10" {
		t.Errorf("majorMinor = %q", got)
	}
	if compareVersions("2.10.0.0", "2.2.0.0") <= 0 || compareVersions("1.0", "1.0.0.1") >= 0 {
		t.Error("versions must compare numerically")
	}
}

// agentAt plays a machine's agent on the fake: an extension PUT is answered Creating, and
// each later read moves it through states, the last of which sticks.
func agentAt(h *harness, states ...map[string]any) {
	polls := 0
	h.idp.arm.agent = func(method string, res map[string]any) {
		if res["type"] != "Microsoft.Compute/virtualMachines/extensions" {
			return
		}
		props := res["properties"].(map[string]any)
		if method == "PUT" {
			props["provisioningState"], polls = "Creating", 0
			return
		}
		for k, v := range states[min(polls, len(states)-1)] {
			props[k] = v
		}
		polls++
	}
}

func TestVMExtensionSetWaitsForTheMachine(t *testing.T) {
	failed := map[string]any{"provisioningState": "Failed", "instanceView": map[string]any{"statuses": []any{map[string]any{
		"code": "ProvisioningState/failed/1007", "level": "Error", "message": "The tenant could not be read."}}}}
	creating := map[string]any{"provisioningState": "Creating"}
	set := []string{"vm", "extension", "set", "--publisher", "Microsoft.Azure.ActiveDirectory", "--name", "AADSSHLoginForLinux",
		"-g", "myResourceGroup", "--vm-name", "myVM", "--version", "1.0"}
	cases := []struct {
		name   string
		states []map[string]any
		extra  []string
		code   int
		stdout string // in the output
		stderr string // in stderr
		polls  int    // GETs of the extension
	}{
		{"fail/machine-reports-failure", []map[string]any{creating, failed}, nil, 1, "",
			"(VMExtensionProvisioningError) VM has reported a failure when processing extension 'AADSSHLoginForLinux' (publisher 'Microsoft.Azure.ActiveDirectory' and type 'AADSSHLoginForLinux'). Error code: 'ProvisioningState/failed/1007'. Error message: 'The tenant could not be read.'.", 2},
		{"fail/canceled", []map[string]any{{"provisioningState": "Canceled"}}, nil, 1, "", "OperationCanceled", 1},
		{"ok/waits-until-succeeded", []map[string]any{creating, creating, {"provisioningState": "Succeeded"}}, nil, 0, `"provisioningState": "Succeeded"`, "Running ..", 3},
		{"ok/no-wait", []map[string]any{creating}, []string{"--no-wait"}, 0, "", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newVMHarness(t)
			mustRun(t, h, "vm", "create", "-g", "myResourceGroup", "-n", "myVM", "--image", "UbuntuLTS", "--admin-password", "x")
			agentAt(h, tc.states...)
			before := len(h.idp.arm.requestLog())
			res := h.run(append(append([]string(nil), set...), tc.extra...)...)
			if res.code != tc.code || !strings.Contains(res.stdout, tc.stdout) || !strings.Contains(res.stderr, tc.stderr) {
				t.Fatalf("exit %d\nstdout %s\nstderr %q", res.code, res.stdout, res.stderr)
			}
			polls := 0
			for _, r := range h.idp.arm.requestLog()[before:] {
				if strings.HasPrefix(r, "GET "+vmPath+"/extensions/") {
					polls++
				}
			}
			if polls != tc.polls {
				t.Fatalf("%d polls, want %d: %v", polls, tc.polls, h.idp.arm.requestLog()[before:])
			}
			if tc.extra != nil && res.stdout != "" {
				t.Fatalf("--no-wait printed %q", res.stdout)
			}
		})
	}
}

func TestVMExtensionDeleteNoWait(t *testing.T) {
	h := newVMHarness(t)
	mustRun(t, h, "vm", "create", "-g", "myResourceGroup", "-n", "myVM", "--image", "UbuntuLTS", "--admin-password", "x")
	mustRun(t, h, "vm", "extension", "set", "--publisher", "Microsoft.Azure.ActiveDirectory", "--name", "AADSSHLoginForLinux",
		"-g", "myResourceGroup", "--vm-name", "myVM", "--version", "1.0")
	before := len(h.idp.arm.requestLog())
	if out := mustRun(t, h, "vm", "extension", "delete", "-g", "myResourceGroup", "--vm-name", "myVM", "-n", "AADSSHLoginForLinux", "--no-wait"); out != "" {
		t.Errorf("delete --no-wait printed %q", out)
	}
	if got := h.idp.arm.requestLog()[before:]; len(got) != 1 || !strings.HasPrefix(got[0], "DELETE "+vmPath+"/extensions/AADSSHLoginForLinux?") {
		t.Errorf("requests %v", got)
	}
}

func TestVMExtensionSetWithoutMachineDoesNotWait(t *testing.T) {
	h := newVMHarness(t)
	mustRun(t, h, "vm", "create", "-g", "myResourceGroup", "-n", "myVM", "--image", "UbuntuLTS", "--admin-password", "x")
	h.idp.arm.agent = func(method string, res map[string]any) {
		if res["type"] == "Microsoft.Compute/virtualMachines/extensions" && method == "PUT" {
			props := res["properties"].(map[string]any)
			props["provisioningState"] = "Creating"
			props["instanceView"] = map[string]any{"statuses": []any{map[string]any{"code": "ProvisioningState/creating",
				"level": "Warning", "displayStatus": "Machine not onboarded", "message": "Run latch agent connect on the machine."}}}
		}
	}
	before := len(h.idp.arm.requestLog())
	res := h.run("vm", "extension", "set", "--publisher", "Microsoft.Azure.ActiveDirectory", "--name", "AADSSHLoginForLinux",
		"-g", "myResourceGroup", "--vm-name", "myVM", "--version", "1.0")
	if res.code != 0 || !strings.Contains(res.stderr, "WARNING: Run latch agent connect on the machine.") || !strings.Contains(res.stdout, `"provisioningState": "Creating"`) {
		t.Fatalf("exit %d\nstdout %s\nstderr %q", res.code, res.stdout, res.stderr)
	}
	for _, r := range h.idp.arm.requestLog()[before:] {
		if strings.HasPrefix(r, "GET "+vmPath+"/extensions/") {
			t.Fatalf("polled although no machine can answer: %v", h.idp.arm.requestLog()[before:])
		}
	}
}
