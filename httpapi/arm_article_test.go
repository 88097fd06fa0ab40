package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/testenv"
)

// armClient sends requests the way az does to a whole control plane started by testenv.
type armClient struct {
	t   *testing.T
	srv *testenv.Server
	tok string
}

func ownerClient(t *testing.T, srv *testenv.Server) *armClient {
	t.Helper()
	res, err := msalOwner(t, srv, srv.Boot.Owner.Secret).AcquireTokenByCredential(context.Background(), []string{srv.ARMScope()})
	if err != nil {
		t.Fatal(err)
	}
	return &armClient{t: t, srv: srv, tok: res.AccessToken}
}

// call sends body (a string, sent as is) to the server's URL followed by "/" and path, as az
// does with a cloud endpoint that ends in '/': the wire path starts with "//".
func (c *armClient) call(method, path, body string, wantStatus int) map[string]any {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.srv.URL+"/"+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.srv.Client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	var m map[string]any
	if bytes.HasPrefix(raw, []byte("{")) {
		_ = json.Unmarshal(raw, &m)
	}
	return m
}

// The article's flow, as az sends it, against a freshly bootstrapped Latch: the owner creates
// the group and the machine with a system-assigned identity, sets the login extension the way
// az vm extension set does, and assigns a user the administrator login role at the group by
// object id. The user may then sign in as administrator, and the owner may not.
func TestARMArticleFlow(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	c := ownerClient(t, srv)
	sub := srv.Boot.SubscriptionID
	subs := c.call("GET", "/subscriptions?api-version=2022-12-01", "", 200)
	if v, _ := subs["value"].([]any); len(v) != 1 {
		t.Fatalf("the owner sees subscriptions %v", subs)
	}
	rgURL := "/subscriptions/" + sub + "/resourcegroups/myResourceGroup"
	rg := c.call("PUT", rgURL+"?api-version=2022-09-01", `{"location": "westus", "tags": null}`, 201)
	rgID, _ := rg["id"].(string)
	if rgID != "/subscriptions/"+sub+"/resourceGroups/myResourceGroup" {
		t.Fatalf("group id %q", rgID)
	}
	vmURL := rgID + "/providers/Microsoft.Compute/virtualMachines/myVM"
	vmJSON, _ := json.Marshal(vmBody("westus", true))
	vm := c.call("PUT", vmURL+"?api-version=2022-11-01", string(vmJSON), 201)
	if field(vm, "identity", "principalId") == nil {
		t.Fatalf("no managed identity: %v", vm)
	}
	setExtensionAsAz(c, sub, vmURL)
	roleID := findRoleAsAz(c, sub, "Virtual Machine Administrator Login")
	user := testenv.CreateUser(t, srv, "azureuser1", "a long enough passphrase")
	assignment := `{"properties":{"roleDefinitionId":"` + roleID + `","principalId":"` + user.ID + `","principalType":"User"}}`
	c.call("PUT", rgID+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2020-04-01-preview", assignment, 201)
	dup := c.call("PUT", rgID+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2020-04-01-preview", assignment, 409)
	if errorCode(dup) != "RoleAssignmentExists" {
		t.Fatalf("duplicate: %v", dup)
	}
	list := c.call("GET", rgID+"/providers/Microsoft.Authorization/roleAssignments?api-version=2020-04-01-preview&$filter="+
		url.QueryEscape("atScope() and assignedTo('"+user.ID+"')"), "", 200)
	if v, _ := list["value"].([]any); len(v) != 1 {
		t.Fatalf("assignments for the user: %v", list)
	}
	for _, q := range []struct {
		principal, action string
		want              bool
	}{
		{user.ID, access.ActionVMLoginAsAdmin, true},
		{"", access.ActionVMLogin, false}, // the owner itself: Owner grants no sign-in
	} {
		body, _ := json.Marshal(map[string]string{"principalId": q.principal, "action": q.action, "scope": vmURL})
		got := c.call("POST", "/providers/Microsoft.Authorization/checkAccess?api-version=2022-04-01", string(body), 200)
		if got["allowed"] != q.want {
			t.Errorf("checkAccess(%q, %s) = %v, want %v", q.principal, q.action, got, q.want)
		}
	}
}

// setExtensionAsAz follows az vm extension set: instance view, publishers, types, versions
// (keeping the newest as major.minor), then the PUT, whose 200 Succeeded ends the operation.
func setExtensionAsAz(c *armClient, sub, vmURL string) {
	c.t.Helper()
	c.call("GET", vmURL+"?$expand=instanceView&api-version=2020-06-01", "", 200)
	base := "/subscriptions/" + sub + "/providers/Microsoft.Compute/locations/westus/publishers"
	if !strings.Contains(string(mustJSON(c.callRaw(base+"?api-version=2020-06-01"))), "Microsoft.Azure.ActiveDirectory") {
		c.t.Fatal("the publisher is not offered")
	}
	c.callRaw(base + "/Microsoft.Azure.ActiveDirectory/artifacttypes/vmextension/types?api-version=2020-06-01")
	versions := c.callRaw(base + "/Microsoft.Azure.ActiveDirectory/artifacttypes/vmextension/types/AADLoginForWindows/versions?api-version=2020-06-01")
	newest := versions[len(versions)-1]["name"].(string)
	ext := c.call("PUT", vmURL+"/extensions/AADLoginForWindows?api-version=2020-06-01",
		`{"location":"westus","properties":{"publisher":"Microsoft.Azure.ActiveDirectory","type":"AADLoginForWindows","typeHandlerVersion":"`+
			strings.Join(strings.Split(newest, ".")[:2], ".")+`","autoUpgradeMinorVersion":true}}`, 201)
	// No machine is onboarded as the VM, so the extension waits for one.
	if field(ext, "properties", "provisioningState") != "Creating" {
		c.t.Fatalf("extension %v", ext)
	}
}

// findRoleAsAz looks a role up by name as az role assignment create does: exactly one match.
func findRoleAsAz(c *armClient, sub, name string) string {
	c.t.Helper()
	m := c.call("GET", "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions?$filter="+
		url.QueryEscape("roleName eq '"+name+"'")+"&api-version=2018-01-01-preview", "", 200)
	v, _ := m["value"].([]any)
	if len(v) != 1 {
		c.t.Fatalf("role %q: %v", name, m)
	}
	return v[0].(map[string]any)["id"].(string)
}

// callRaw GETs a path that answers a JSON array.
func (c *armClient) callRaw(path string) []map[string]any {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.srv.URL+"/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.tok)
	resp, err := c.srv.Client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		c.t.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
	}
	return out
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
