package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
)

// statusOf is the first instance-view status of extension properties p.
func statusOf(p map[string]any) map[string]any {
	iv, _ := p["instanceView"].(map[string]any)
	sts, _ := iv["statuses"].([]any)
	if len(sts) == 0 {
		return nil
	}
	st, _ := sts[0].(map[string]any)
	return st
}

// operation reads the status an Azure-AsyncOperation header points to, as tok.
func (f *machineFixture) operation(t *testing.T, url, tok string) (int, map[string]any) {
	t.Helper()
	resp, m := f.do(t, "GET", strings.TrimPrefix(url, f.URL), tok, nil)
	return resp.StatusCode, m
}

// activity lists the activity log entries about id.
func (f *machineFixture) activity(t *testing.T, id string) []resource.ActivityEntry {
	t.Helper()
	es, err := f.Store.ListActivity(t.Context(), f.Tenant.ID, resource.ActivityQuery{From: time.Now().Add(-time.Hour), ResourcePrefix: id})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestExtensionWithoutMachine(t *testing.T) {
	f := newMachineFixture(t)
	ext := f.withID + "/extensions/AADLoginForWindows"
	m := f.setExtension(t, f.withID, "AADLoginForWindows")
	p, _ := m["properties"].(map[string]any)
	if p["provisioningState"] != "Creating" || p["latch"] != nil {
		t.Fatalf("set without a machine: %v", p)
	}
	if st := statusOf(p); st["level"] != "Warning" || !strings.Contains(st["message"].(string), "latch agent connect") {
		t.Fatalf("no onboarding hint: %v", st)
	}
	// Nothing was applied anywhere, so the delete is immediate.
	if resp, m := f.do(t, "DELETE", ext+apiVM, f.adminTok, nil); resp.StatusCode != 200 || resp.Header.Get("Azure-AsyncOperation") != "" {
		t.Fatalf("delete: %d %v", resp.StatusCode, m)
	}
	if resp, _ := f.do(t, "GET", ext+apiVM, f.adminTok, nil); resp.StatusCode != 404 {
		t.Fatalf("after delete: %d", resp.StatusCode)
	}
}

func TestExtensionLifecycleWithAgent(t *testing.T) {
	f := newMachineFixture(t)
	g := f.goalMachine(t, f.withID)
	ext := f.withID + "/extensions/AADSSHLoginForLinux"
	extID := "/subscriptions/" + f.sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/extensions/AADSSHLoginForLinux"
	resp, m := f.do(t, "PUT", ext+apiVM, f.adminTok, map[string]any{"location": "westus", "properties": map[string]any{
		"publisher": "Microsoft.Azure.ActiveDirectory", "type": "AADSSHLoginForLinux"}})
	setOp := resp.Header.Get("Azure-AsyncOperation")
	if resp.StatusCode != 201 || setOp == "" {
		t.Fatalf("set: %d %v %v", resp.StatusCode, m, resp.Header)
	}
	if st, m := f.operation(t, setOp, f.adminTok); st != 200 || m["status"] != "InProgress" {
		t.Fatalf("set operation: %d %v", st, m)
	}
	resp, m = f.do(t, "GET", ext+apiVM, f.adminTok, nil)
	if resp.StatusCode != 200 || field(m, "properties", "provisioningState") != "Creating" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("while the agent works: %d %v %v", resp.StatusCode, m, resp.Header)
	}
	first, ok := extension(g.current(t), "AADSSHLoginForLinux")
	if !ok || first.State != machineapi.ExtensionEnabled || first.Generation == "" {
		t.Fatalf("goal state extension %+v", first)
	}

	t.Run("ok/succeeded", func(t *testing.T) {
		if st, m := g.report(t, "AADSSHLoginForLinux", machineapi.ExtensionStatus{Generation: first.Generation,
			ProvisioningState: "Succeeded", Message: "sshd trusts the tenant's CA"}); st != 204 {
			t.Fatalf("report: %d %v", st, m)
		}
		p := f.extensionProps(t, f.withID, "AADSSHLoginForLinux")
		if st := statusOf(p); p["provisioningState"] != "Succeeded" || st["code"] != "ProvisioningState/succeeded/0" || st["message"] != "sshd trusts the tenant's CA" {
			t.Fatalf("after success: %v", p)
		}
		_, vm := f.do(t, "GET", f.withID+apiVM+"&$expand=instanceView", f.adminTok, nil)
		exts, _ := field(vm, "properties", "instanceView", "extensions").([]any)
		if len(exts) != 1 || !strings.Contains(mustJSONString(exts[0]), "ProvisioningState/succeeded/0") {
			t.Fatalf("VM instance view extensions %v", exts)
		}
		if st, m := f.operation(t, setOp, f.adminTok); st != 200 || m["status"] != "Succeeded" {
			t.Fatalf("set operation: %d %v", st, m)
		}
		if es := f.activity(t, extID); len(es) == 0 || es[0].Status != "Succeeded" || es[0].CallerObjectID != g.id {
			t.Fatalf("activity %+v", es)
		}
	})
	var second machineapi.Extension
	t.Run("ok/set-again-is-a-new-generation", func(t *testing.T) {
		resp, m := f.do(t, "PUT", ext+apiVM, f.adminTok, map[string]any{"location": "westus", "properties": map[string]any{
			"publisher": "Microsoft.Azure.ActiveDirectory", "type": "AADSSHLoginForLinux"}})
		if resp.StatusCode != 200 || field(m, "properties", "provisioningState") != "Updating" {
			t.Fatalf("update: %d %v", resp.StatusCode, m)
		}
		setOp = resp.Header.Get("Azure-AsyncOperation")
		if st, m := f.operation(t, setOp, f.adminTok); st != 200 || m["status"] != "InProgress" {
			t.Fatalf("set operation: %d %v", st, m)
		}
		second, _ = extension(g.current(t), "AADSSHLoginForLinux")
		if second.Generation == first.Generation {
			t.Fatal("a second PUT kept the generation")
		}
		if st, m := g.report(t, "AADSSHLoginForLinux", machineapi.ExtensionStatus{Generation: first.Generation, ProvisioningState: "Succeeded"}); st != 409 {
			t.Fatalf("a report for the old generation: %d %v", st, m)
		}
	})
	t.Run("ok/failed", func(t *testing.T) {
		if st, m := g.report(t, "AADSSHLoginForLinux", machineapi.ExtensionStatus{Generation: second.Generation, ProvisioningState: "Failed",
			Code: machineapi.CodeTenantUnavailable, Message: "The tenant could not be read."}); st != 204 {
			t.Fatalf("report: %d %v", st, m)
		}
		p := f.extensionProps(t, f.withID, "AADSSHLoginForLinux")
		if st := statusOf(p); p["provisioningState"] != "Failed" || st["code"] != "ProvisioningState/failed/1007" || st["level"] != "Error" {
			t.Fatalf("after failure: %v", p)
		}
		if st, m := f.operation(t, setOp, f.adminTok); st != 200 || m["status"] != "Failed" || errorCode(m) != "VMExtensionProvisioningError" ||
			!strings.Contains(errorMessage(m), "The tenant could not be read.") {
			t.Fatalf("set operation: %d %v", st, m)
		}
		if es := f.activity(t, extID); len(es) == 0 || es[0].Status != "Failed" || es[0].Properties["code"] != "ProvisioningState/failed/1007" {
			t.Fatalf("activity %+v", es)
		}
	})
	var opURL string
	t.Run("ok/delete-a-failed-extension-waits-for-the-agent", func(t *testing.T) {
		resp, m := f.do(t, "DELETE", ext+apiVM, f.adminTok, nil)
		opURL = resp.Header.Get("Azure-AsyncOperation")
		if resp.StatusCode != 202 || !strings.HasPrefix(opURL, f.URL+"/subscriptions/"+f.sub+"/providers/Microsoft.Compute/locations/westus/operations/") {
			t.Fatalf("delete: %d %v %v", resp.StatusCode, m, resp.Header)
		}
		if st, m := f.operation(t, opURL, f.adminTok); st != 200 || m["status"] != "InProgress" {
			t.Fatalf("operation: %d %v", st, m)
		}
		if st, m := f.operation(t, opURL, f.aliceTok); st != 403 || errorCode(m) != codeAuthz {
			t.Fatalf("operation as someone who cannot read the VM: %d %v", st, m)
		}
		if e, _ := extension(g.current(t), "AADSSHLoginForLinux"); e.State != machineapi.ExtensionDeleting {
			t.Fatalf("goal state extension %+v", e)
		}
	})
	t.Run("fail/operation-of-another-subscription", func(t *testing.T) {
		other := strings.Replace(opURL, f.sub, f.otherSub, 1)
		if st, m := f.operation(t, other, f.adminTok); st != 404 {
			t.Fatalf("got %d %v", st, m)
		}
	})
	t.Run("ok/deleted", func(t *testing.T) {
		if st, m := g.report(t, "AADSSHLoginForLinux", machineapi.ExtensionStatus{Generation: second.Generation, ProvisioningState: "Deleted"}); st != 204 {
			t.Fatalf("report: %d %v", st, m)
		}
		if st, m := f.operation(t, opURL, f.adminTok); st != 200 || m["status"] != "Succeeded" {
			t.Fatalf("operation: %d %v", st, m)
		}
		if resp, _ := f.do(t, "GET", ext+apiVM, f.adminTok, nil); resp.StatusCode != 404 {
			t.Fatalf("after the agent removed it: %d", resp.StatusCode)
		}
		if es := f.activity(t, extID); len(es) == 0 || es[0].OperationName != "Microsoft.Compute/virtualMachines/extensions/delete" || es[0].CallerObjectID != g.id {
			t.Fatalf("activity %+v", es)
		}
		if _, ok := extension(g.current(t), "AADSSHLoginForLinux"); ok {
			t.Fatal("the goal state still has the extension")
		}
	})
	t.Run("ok/set-while-deleting-cancels-the-delete", func(t *testing.T) {
		f.setExtension(t, f.withID, "AADSSHLoginForLinux")
		resp, _ := f.do(t, "DELETE", ext+apiVM, f.adminTok, nil)
		op := resp.Header.Get("Azure-AsyncOperation")
		f.setExtension(t, f.withID, "AADSSHLoginForLinux")
		if st, m := f.operation(t, op, f.adminTok); st != 200 || m["status"] != "Canceled" {
			t.Fatalf("operation: %d %v", st, m)
		}
	})
}

func mustJSONString(v any) string { return string(mustJSON(v)) }
