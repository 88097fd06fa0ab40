package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/resource"
)

// armFixture is a testEnv with a subscription and the people the RBAC tests refuse and admit.
// admin@contoso.test is Global Administrator; the first ARM call creates the root management
// group and makes it Owner there. Everyone else starts with nothing, and the tests grant
// roles through the API as an administrator would.
type armFixture struct {
	*testEnv
	sub                string // subscription id
	alice, bob, carol  directory.User
	dave               directory.User // Contributor on the subscription
	team, outer        directory.Group
	other              directory.User // Global Administrator of fabrikam.test
	adminTok, aliceTok string
	bobTok, carolTok   string
	daveTok, otherTok  string
	otherSub           string
}

func newARMFixture(t *testing.T) *armFixture {
	t.Helper()
	e := newTestEnv(t)
	f := &armFixture{testEnv: e, sub: e.createSubscription(t, e.Tenant.ID)}
	f.alice = e.createUser(t, e.Tenant.ID, "alice@contoso.test")
	f.bob = e.createUser(t, e.Tenant.ID, "bob@contoso.test")
	f.carol = e.createUser(t, e.Tenant.ID, "carol@contoso.test")
	f.dave = e.createUser(t, e.Tenant.ID, "dave@contoso.test")
	f.team = e.createGroup(t, e.Tenant.ID, "team", f.bob.ID)
	f.outer = e.createGroup(t, e.Tenant.ID, "outer", f.team.ID) // bob is in outer through team
	fab := e.createTenant(t, "fabrikam.test")
	f.other = e.createUser(t, fab.ID, "boss@fabrikam.test", directory.GlobalAdministrator)
	f.otherSub = e.createSubscription(t, fab.ID)
	f.adminTok, f.aliceTok = e.armTokenFor(t, e.Admin), e.armTokenFor(t, f.alice)
	f.bobTok, f.carolTok = e.armTokenFor(t, f.bob), e.armTokenFor(t, f.carol)
	f.daveTok, f.otherTok = e.armTokenFor(t, f.dave), e.armTokenFor(t, f.other)
	f.assign(t, "/subscriptions/"+f.sub, f.dave.ID, access.ContributorRoleID)
	return f
}

func (e *testEnv) createSubscription(t testing.TB, tenantID string) string {
	t.Helper()
	id := uuid.NewString()
	if err := e.Store.CreateSubscription(context.Background(), resource.Subscription{ID: id, TenantID: tenantID,
		DisplayName: "dev", State: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// armAppToken is an ARM access token for service principal sp.
func (e *testEnv) armAppToken(t testing.TB, sp directory.ServicePrincipal) string {
	c := e.appClaims(sp)
	c.Audience = e.ARMAudience()
	return e.sign(t, c)
}

const (
	apiRG    = "?api-version=2022-09-01"
	apiVM    = "?api-version=2022-11-01"
	apiAuthz = "?api-version=2022-04-01"
)

func (f *armFixture) rgPath(rg string) string {
	return "/subscriptions/" + f.sub + "/resourceGroups/" + rg
}
func (f *armFixture) vmPath(rg, vm string) string {
	return f.rgPath(rg) + "/providers/Microsoft.Compute/virtualMachines/" + vm
}

// assign gives principal the role at scope through the API, as the administrator.
func (f *armFixture) assign(t *testing.T, scope, principal, role string) string {
	t.Helper()
	id := uuid.NewString()
	path := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + id + apiAuthz
	resp, m := f.do(t, "PUT", path, f.adminTok, map[string]any{"properties": map[string]any{
		"roleDefinitionId": "/subscriptions/" + f.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role,
		"principalId":      principal}})
	if resp.StatusCode != 201 {
		t.Fatalf("assign %s at %s: %d %v", role, scope, resp.StatusCode, m)
	}
	return id
}

// mkRG creates a resource group as the administrator.
func (f *armFixture) mkRG(t *testing.T, name string) {
	t.Helper()
	if resp, m := f.do(t, "PUT", f.rgPath(name)+apiRG, f.adminTok, map[string]any{"location": "westus"}); resp.StatusCode != 201 {
		t.Fatalf("create group %s: %d %v", name, resp.StatusCode, m)
	}
}

// mkVM creates a Windows machine with a system-assigned identity as the administrator and
// returns its body.
func (f *armFixture) mkVM(t *testing.T, rg, name string) map[string]any {
	t.Helper()
	resp, m := f.do(t, "PUT", f.vmPath(rg, name)+apiVM, f.adminTok, vmBody("westus", true))
	if resp.StatusCode != 201 {
		t.Fatalf("create vm %s: %d %v", name, resp.StatusCode, m)
	}
	return m
}

func vmBody(location string, identity bool) map[string]any {
	b := map[string]any{"location": location, "tags": map[string]string{"env": "test"}, "properties": map[string]any{
		"hardwareProfile": map[string]any{"vmSize": "Standard_DS1_v2"},
		"storageProfile": map[string]any{"imageReference": map[string]any{"publisher": "MicrosoftWindowsServer",
			"offer": "WindowsServer", "sku": "2019-Datacenter", "version": "latest"},
			"osDisk": map[string]any{"createOption": "FromImage", "osType": "Windows"}},
		"osProfile":      map[string]any{"computerName": "myVM", "adminUsername": "azureuser", "adminPassword": "yourpassword-Secret1"},
		"networkProfile": map[string]any{"networkInterfaces": []any{}},
	}}
	if identity {
		b["identity"] = map[string]any{"type": "SystemAssigned"}
	}
	return b
}

// armCase is one request and the answer it must get (see apiCase).
type armCase = apiCase

func (f *armFixture) run(t *testing.T, cases []armCase) { f.runCases(t, cases) }

// field walks nested objects: field(m, "properties", "provisioningState").
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		o, _ := v.(map[string]any)
		v = o[p]
	}
	return v
}

func wantField(want any, path ...string) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		t.Helper()
		if got := field(m, path...); got != want {
			t.Fatalf("%s = %v, want %v; body %v", strings.Join(path, "."), got, want, m)
		}
	}
}

const codeAuthz = "AuthorizationFailed"
