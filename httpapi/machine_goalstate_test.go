package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/machineapi"
)

// goalMachine is an onboarded machine as a test's simulated agent.
type goalMachine struct {
	f       *machineFixture
	key     machineKey
	id, tid string
	vm      string // the VM's path
}

func (f *machineFixture) goalMachine(t *testing.T, vmPath string) *goalMachine {
	k, id, tid := f.connect(t, vmPath)
	return &goalMachine{f: f, key: k, id: id, tid: tid, vm: vmPath}
}

// proof is a fresh proof of the machine.
func (g *goalMachine) proof(t *testing.T) string { return g.key.proof(t, nil, g.f.claims(g.id, g.tid)) }

// goalState asks for the goal state at base (the test server unless another is given).
func (g *goalMachine) goalState(t *testing.T, proof, version string, wait int) (int, machineapi.GoalState, map[string]any) {
	t.Helper()
	return goalStateAt(t, g.f.Client, g.f.URL, proof, version, wait)
}

func goalStateAt(t *testing.T, c *http.Client, base, proof, version string, wait int) (int, machineapi.GoalState, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", base+machineapi.PathGoalState+"?version="+version+"&wait="+strconv.Itoa(wait), nil)
	if err != nil {
		t.Fatal(err)
	}
	if proof != "" {
		req.Header.Set("Authorization", proof)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var gs machineapi.GoalState
	var m map[string]any
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &gs); err != nil {
			t.Fatalf("goal state is not JSON: %v %s", err, raw)
		}
	}
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, gs, m
}

// current is the goal state now; it fails the test on anything but 200.
func (g *goalMachine) current(t *testing.T) machineapi.GoalState {
	t.Helper()
	st, gs, m := g.goalState(t, g.proof(t), "", 0)
	if st != 200 {
		t.Fatalf("goal state: %d %v", st, m)
	}
	return gs
}

// report sends an extension status.
func (g *goalMachine) report(t *testing.T, name string, st machineapi.ExtensionStatus) (int, map[string]any) {
	t.Helper()
	return g.f.machineDo(t, "PUT", machineapi.PathExtensionStatus+"/"+name, g.proof(t), st)
}

// setExtension PUTs a login extension on the VM as the administrator.
func (f *machineFixture) setExtension(t *testing.T, vm, name string) map[string]any {
	t.Helper()
	body := map[string]any{"location": "westus", "properties": map[string]any{"publisher": "Microsoft.Azure.ActiveDirectory", "type": name}}
	resp, m := f.do(t, "PUT", vm+"/extensions/"+name+apiVM, f.adminTok, body)
	if resp.StatusCode != 201 && resp.StatusCode != 200 {
		t.Fatalf("set extension: %d %v", resp.StatusCode, m)
	}
	return m
}

func extension(gs machineapi.GoalState, name string) (machineapi.Extension, bool) {
	for _, e := range gs.Extensions {
		if e.Name == name {
			return e, true
		}
	}
	return machineapi.Extension{}, false
}

func TestGoalStateRefusals(t *testing.T) {
	f := newMachineFixture(t)
	g := f.goalMachine(t, f.withID)
	other := f.goalMachine(t, f.withoutID)
	f.setExtension(t, f.withID, "AADLoginForWindows")
	gen, _ := extension(g.current(t), "AADLoginForWindows")
	otherTenant := g.f.claims(g.id, f.otherTenantID(t))
	cases := []struct {
		name   string
		call   func() (int, map[string]any)
		status int
		code   string
	}{
		{"fail/no-proof", func() (int, map[string]any) { st, _, m := g.goalState(t, "", "", 0); return st, m }, 401, "InvalidMachineProof"},
		{"fail/other-tenant-machine", func() (int, map[string]any) {
			st, _, m := g.goalState(t, g.key.proof(t, nil, otherTenant), "", 0)
			return st, m
		}, 401, "InvalidMachineProof"},
		{"fail/negative-wait", func() (int, map[string]any) { st, _, m := g.goalState(t, g.proof(t), "", -1); return st, m }, 400, "InvalidWait"},
		{"fail/extension-status-for-other-vm", func() (int, map[string]any) {
			return other.report(t, "AADLoginForWindows", machineapi.ExtensionStatus{Generation: gen.Generation, ProvisioningState: "Succeeded"})
		}, 404, "ExtensionNotFound"},
		{"fail/old-generation", func() (int, map[string]any) {
			return g.report(t, "AADLoginForWindows", machineapi.ExtensionStatus{Generation: "an-older-one", ProvisioningState: "Succeeded"})
		}, 409, "StaleGeneration"},
		{"fail/deleted-while-not-deleting", func() (int, map[string]any) {
			return g.report(t, "AADLoginForWindows", machineapi.ExtensionStatus{Generation: gen.Generation, ProvisioningState: "Deleted"})
		}, 409, "InvalidStateTransition"},
		{"fail/unknown-state", func() (int, map[string]any) {
			return g.report(t, "AADLoginForWindows", machineapi.ExtensionStatus{Generation: gen.Generation, ProvisioningState: "Sideways"})
		}, 400, "InvalidProvisioningState"},
		{"fail/status-without-proof", func() (int, map[string]any) {
			return f.machineDo(t, "PUT", machineapi.PathExtensionStatus+"/AADLoginForWindows", "", machineapi.ExtensionStatus{Generation: gen.Generation})
		}, 401, "InvalidMachineProof"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, m := c.call()
			if st != c.status || errorCode(m) != c.code {
				t.Fatalf("got %d %v, want %d %s", st, m, c.status, c.code)
			}
		})
	}
	if p := f.extensionProps(t, f.withID, "AADLoginForWindows"); p["provisioningState"] != "Creating" {
		t.Fatalf("a refused report changed the extension: %v", p)
	}
}

// otherTenantID is the id of the fixture's second tenant.
func (f *machineFixture) otherTenantID(t *testing.T) string {
	t.Helper()
	return f.other.TenantID
}

// extensionProps reads an extension's properties through the resource manager.
func (f *machineFixture) extensionProps(t *testing.T, vm, name string) map[string]any {
	t.Helper()
	resp, m := f.do(t, "GET", vm+"/extensions/"+name+apiVM, f.adminTok, nil)
	if resp.StatusCode != 200 {
		return map[string]any{"status": resp.StatusCode}
	}
	p, _ := m["properties"].(map[string]any)
	return p
}

func TestGoalStateVersion(t *testing.T) {
	f := newMachineFixture(t)
	g := f.goalMachine(t, f.withID)
	first := g.current(t)
	if first.Version == "" || first.Identity == nil || first.Identity.PrincipalID != f.principalID || first.Identity.ClientID == "" ||
		first.TenantID != g.tid || first.VMName != "vm1" || first.Login != nil || first.Endpoints.Login != f.URL {
		t.Fatalf("goal state %+v", first)
	}
	t.Run("ok/stable", func(t *testing.T) {
		if again := g.current(t); again.Version != first.Version {
			t.Fatalf("version moved without a change: %s then %s", first.Version, again.Version)
		}
	})
	t.Run("ok/304-after-wait", func(t *testing.T) {
		if st, _, m := g.goalState(t, g.proof(t), first.Version, 1); st != 304 {
			t.Fatalf("got %d %v, want 304", st, m)
		}
	})
	t.Run("ok/other-version-answers-at-once", func(t *testing.T) {
		if st, gs, _ := g.goalState(t, g.proof(t), "old", machineapi.MaxWaitSeconds); st != 200 || gs.Version != first.Version {
			t.Fatalf("got %d %s", st, gs.Version)
		}
	})
	t.Run("ok/restart-same-version", func(t *testing.T) {
		// A second control plane on the same store, as after a restart or on another replica.
		api := &httpapi.Server{Store: f.Store, Tokens: f.Tokens, Secrets: authn.NewSecretVerifier(nil),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), URL: f.URL, HomeTenantID: f.Tenant.ID}
		srv := httptest.NewTLSServer(api.Handler())
		defer srv.Close()
		st, gs, m := goalStateAt(t, srv.Client(), srv.URL, g.proof(t), "", 0)
		if st != 200 || gs.Version != first.Version {
			t.Fatalf("after restart: %d %v (version %s, want %s)", st, m, gs.Version, first.Version)
		}
	})
}

// waitForChange opens a long-poll with the current version and returns a channel with its
// answer. It returns once the poll is open: the VM shows as connected only while one is.
func (g *goalMachine) waitForChange(t *testing.T, version string) <-chan machineapi.GoalState {
	t.Helper()
	out := make(chan machineapi.GoalState, 1)
	proof := g.proof(t)
	go func() {
		req, _ := http.NewRequest("GET", g.f.URL+machineapi.PathGoalState+"?version="+version+"&wait=60", nil)
		req.Header.Set("Authorization", proof)
		resp, err := g.f.Client.Do(req)
		var gs machineapi.GoalState
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&gs)
			resp.Body.Close()
		}
		out <- gs
	}()
	for range 2000 {
		if g.connected(t) {
			return out
		}
	}
	t.Fatal("the long-poll never showed the VM as connected")
	return nil
}

// connected reads the VM's machine status; it is fetched as "vm show" does.
func (g *goalMachine) connected(t *testing.T) bool {
	t.Helper()
	resp, vm := g.f.do(t, "GET", g.vm+apiVM, g.f.adminTok, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("get VM: %d %v", resp.StatusCode, vm)
	}
	return field(vm, "properties", "machine", "status") == "Connected"
}

func TestGoalStateChangesWakeWaiters(t *testing.T) {
	f := newMachineFixture(t)
	g := f.goalMachine(t, f.withID)
	if g.connected(t) {
		t.Fatal("the VM shows as connected before its machine said anything")
	}
	ext := f.setExtension(t, f.withID, "AADLoginForWindows")
	_ = ext
	var assignment string
	steps := []struct {
		name   string
		change func(t *testing.T)
		check  func(t *testing.T, gs machineapi.GoalState)
	}{
		{"ok/role-assignment-added", func(t *testing.T) {
			assignment = f.assign(t, f.rgPath("rg1"), f.alice.ID, vmUserLogin)
		}, func(t *testing.T, gs machineapi.GoalState) {
			if gs.Login == nil || len(gs.Login.Users) != 1 || gs.Login.Users[0].ObjectID != f.alice.ID || gs.Login.Users[0].LocalName != "alice@contoso.test" {
				t.Fatalf("login %+v", gs.Login)
			}
		}},
		{"ok/user-disabled", func(t *testing.T) {
			resp, m := f.do(t, "PATCH", "/v1.0/users/"+f.alice.ID, f.tokenFor(t, f.Admin), map[string]any{"accountEnabled": false})
			if resp.StatusCode >= 300 {
				t.Fatalf("disable: %d %v", resp.StatusCode, m)
			}
		}, func(t *testing.T, gs machineapi.GoalState) {
			if gs.Login == nil || len(gs.Login.Users) != 0 {
				t.Fatalf("a disabled user may still log in: %+v", gs.Login)
			}
		}},
		{"ok/role-assignment-removed", func(t *testing.T) {
			f.assign(t, f.withID, f.bob.ID, vmAdminLogin)
			path := f.rgPath("rg1") + "/providers/Microsoft.Authorization/roleAssignments/" + assignment + apiAuthz
			if resp, m := f.do(t, "DELETE", path, f.adminTok, nil); resp.StatusCode != 200 {
				t.Fatalf("delete assignment: %d %v", resp.StatusCode, m)
			}
		}, func(t *testing.T, gs machineapi.GoalState) {
			if gs.Login == nil || len(gs.Login.Users) != 1 || gs.Login.Users[0].ObjectID != f.bob.ID || !gs.Login.Users[0].Admin {
				t.Fatalf("login %+v", gs.Login)
			}
		}},
		{"ok/identity-removed", func(t *testing.T) {
			if resp, m := f.do(t, "PATCH", f.withID+apiVM, f.adminTok, map[string]any{"identity": map[string]any{"type": "None"}}); resp.StatusCode != 200 {
				t.Fatalf("remove identity: %d %v", resp.StatusCode, m)
			}
		}, func(t *testing.T, gs machineapi.GoalState) {
			if gs.Identity != nil {
				t.Fatalf("identity %+v after removal", gs.Identity)
			}
		}},
		{"ok/extension-deleted", func(t *testing.T) {
			if resp, m := f.do(t, "DELETE", f.withID+"/extensions/AADLoginForWindows"+apiVM, f.adminTok, nil); resp.StatusCode != 202 {
				t.Fatalf("delete extension: %d %v", resp.StatusCode, m)
			}
		}, func(t *testing.T, gs machineapi.GoalState) {
			e, ok := extension(gs, "AADLoginForWindows")
			if !ok || e.State != machineapi.ExtensionDeleting || gs.Login != nil {
				t.Fatalf("extensions %+v login %+v", gs.Extensions, gs.Login)
			}
		}},
		{"ok/extension-set", func(t *testing.T) { f.setExtension(t, f.withID, "AADLoginForWindows") },
			func(t *testing.T, gs machineapi.GoalState) {
				e, ok := extension(gs, "AADLoginForWindows")
				if !ok || e.State != machineapi.ExtensionEnabled || gs.Login == nil {
					t.Fatalf("extensions %+v login %+v", gs.Extensions, gs.Login)
				}
			}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := g.current(t)
			answer := g.waitForChange(t, before.Version)
			s.change(t)
			gs := <-answer
			if gs.Version == "" || gs.Version == before.Version {
				t.Fatalf("the waiter got version %q, had %q", gs.Version, before.Version)
			}
			s.check(t, gs)
			if now := g.current(t); now.Version != gs.Version {
				t.Fatalf("the waiter's version %s is not the current %s", gs.Version, now.Version)
			}
		})
	}
}

func TestGoalStateLoginUsers(t *testing.T) {
	f := newMachineFixture(t)
	g := f.goalMachine(t, f.withID)
	f.setExtension(t, f.withID, "AADSSHLoginForLinux")
	f.mkRG(t, "rg2")
	erin := f.createUser(t, f.Tenant.ID, "erin@contoso.test")
	gina := f.createUser(t, f.Tenant.ID, "gina@contoso.test")
	odd := f.createUser(t, f.Tenant.ID, "o'neil@contoso.test")
	// bob is in outer through team; outer holds Administrator Login on the subscription.
	f.assign(t, "/subscriptions/"+f.sub, f.outer.ID, vmAdminLogin)
	f.assign(t, f.rgPath("rg1"), erin.ID, vmUserLogin)                       // inherited by the VM
	f.assign(t, f.rgPath("rg2"), gina.ID, vmUserLogin)                       // another group: not this VM
	f.assign(t, f.withoutID, gina.ID, vmAdminLogin)                          // another VM
	f.assign(t, f.rgPath("rg1"), odd.ID, vmUserLogin)                        // no local name: skipped
	f.assign(t, f.withID, f.dave.ID, "b24988ac-6180-42a0-ab88-20f7382dd24c") // Contributor grants no login
	gs := g.current(t)
	if gs.Login == nil || gs.Login.TTLSeconds != 600 || len(gs.Login.CAKeys) != 1 {
		t.Fatalf("login %+v", gs.Login)
	}
	want := map[string]bool{f.bob.ID: true, erin.ID: false}
	if len(gs.Login.Users) != len(want) {
		t.Fatalf("users %+v, want %v (id: admin)", gs.Login.Users, want)
	}
	for i, u := range gs.Login.Users {
		if admin, ok := want[u.ObjectID]; !ok || admin != u.Admin || u.LocalName == "" {
			t.Fatalf("user %+v, want %v", u, want)
		}
		if i > 0 && gs.Login.Users[i-1].ObjectID >= u.ObjectID {
			t.Fatalf("users not sorted by object id: %+v", gs.Login.Users)
		}
	}
	// A failed login extension takes the list away.
	e, _ := extension(gs, "AADSSHLoginForLinux")
	if st, m := g.report(t, "AADSSHLoginForLinux", machineapi.ExtensionStatus{Generation: e.Generation, ProvisioningState: "Failed",
		Code: machineapi.CodeTenantUnavailable, Message: "no identity"}); st != 204 {
		t.Fatalf("report: %d %v", st, m)
	}
	if gs := g.current(t); gs.Login != nil {
		t.Fatalf("a failed login extension still gives the user list: %+v", gs.Login)
	}
}

// A server shutting down answers the machines waiting on it at once, so that they ask again
// elsewhere instead of holding the shutdown up.
func TestGoalStateShutdownAnswersWaiters(t *testing.T) {
	f := newMachineFixture(t)
	g := f.goalMachine(t, f.withID)
	v := g.current(t).Version
	status := make(chan int, 1)
	proof := g.proof(t)
	go func() {
		req, _ := http.NewRequest("GET", f.URL+machineapi.PathGoalState+"?version="+v+"&wait=60", nil)
		req.Header.Set("Authorization", proof)
		resp, err := f.Client.Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	for i := 0; !g.connected(t); i++ {
		if i == 2000 {
			t.Fatal("the long-poll never opened")
		}
	}
	_, vm := f.do(t, "GET", f.withID+apiVM+"&$expand=instanceView", f.adminTok, nil)
	agent, _ := field(vm, "properties", "instanceView", "vmAgent", "statuses").([]any)
	if len(agent) != 1 || field(agent[0].(map[string]any), "message") != "connected" || field(agent[0].(map[string]any), "displayStatus") != "Ready" {
		t.Fatalf("instance view's vmAgent while the machine waits: %v", field(vm, "properties", "instanceView", "vmAgent"))
	}
	f.API.CloseLongPolls()
	if st := <-status; st != 304 {
		t.Fatalf("a waiter got %d at shutdown, want 304", st)
	}
	if g.connected(t) {
		t.Fatal("the VM still shows as connected after its long-poll ended (and with no status report)")
	}
}
