package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlite"
)

// BenchmarkGoalState is the cost of one waiter's recomputation in a tenant of 2,000 users,
// 400 of them with a login role through nested groups or directly, and 200 VMs with the login
// extension, once the tenant's login table is built and each VM's list decided: what each of
// 10,000 waiting machines pays every goalStateRecheck. BenchmarkGoalStateAfterChange is the
// first machine after a change: the tenant's rebuild and one VM's decisions (Conditional
// Access's loginRequirements included).
func BenchmarkGoalState(b *testing.B) {
	s, machines := goalStateBenchEnv(b)
	ctx := context.Background()
	for _, m := range machines { // every VM's list decided once, as after the first round of polls
		if _, err := s.goalState(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := s.goalState(ctx, machines[i%len(machines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGoalStateAfterChange(b *testing.B) {
	s, machines := goalStateBenchEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		s.changes.bump(machines[0].TenantID)
		if _, err := s.goalState(ctx, machines[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func goalStateBenchEnv(b *testing.B) (*Server, []store.Machine) {
	b.Helper()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "latch.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx, now, tid, sub := context.Background(), time.Now().UTC(), uuid.NewString(), uuid.NewString()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateTenant(ctx, directory.Tenant{ID: tid, DisplayName: "c", DefaultDomain: "contoso.test", SigningAlg: "ES256", Created: now}))
	must(st.CreateSubscription(ctx, resource.Subscription{ID: sub, TenantID: tid, DisplayName: "dev", State: "Enabled"}))
	must(st.CreateResourceGroup(ctx, resource.ResourceGroup{TenantID: tid, SubscriptionID: sub, Name: "rg1", Location: "westus", Created: now}))
	var users []string
	for i := range 2000 {
		u := directory.User{ID: uuid.NewString(), TenantID: tid, UserPrincipalName: fmt.Sprintf("user%d@contoso.test", i), AccountEnabled: true}
		must(st.CreateUser(ctx, u))
		users = append(users, u.ID)
	}
	inner := directory.Group{ID: uuid.NewString(), TenantID: tid, DisplayName: "inner", MailNickname: "inner", Members: users[:200]}
	outer := directory.Group{ID: uuid.NewString(), TenantID: tid, DisplayName: "outer", MailNickname: "outer", Members: []string{inner.ID}}
	must(st.CreateGroup(ctx, inner))
	must(st.CreateGroup(ctx, outer))
	assign := func(scope, principal, role string) {
		must(st.CreateRoleAssignment(ctx, resource.RoleAssignment{TenantID: tid, Assignment: access.RoleAssignment{ID: uuid.NewString(),
			Scope: scope, RoleDefinitionID: role, PrincipalID: principal, PrincipalType: access.PrincipalUser, CreatedOn: now, UpdatedOn: now}}))
	}
	assign("/subscriptions/"+sub, outer.ID, access.VMAdministratorLoginRoleID)
	for _, u := range users[200:400] {
		assign("/subscriptions/"+sub+"/resourceGroups/rg1", u, access.VMUserLoginRoleID)
	}
	var machines []store.Machine
	for i := range 200 {
		vmID := resource.ResourceID(sub, "rg1", resource.TypeVirtualMachine, fmt.Sprintf("vm%d", i))
		must(st.CreateResource(ctx, resource.Resource{TenantID: tid, ID: vmID, Type: resource.TypeVirtualMachine, Name: fmt.Sprintf("vm%d", i),
			Location: "westus", Properties: resource.Raw(resource.VMProperties{VMID: uuid.NewString()})}))
		p := resource.ExtensionProperties{Publisher: resource.PublisherAzureAD, Type: resource.ExtAADSSHLinux, TypeHandlerVersion: "1.0",
			ProvisioningState: resource.ProvisioningSucceeded, Latch: &resource.ExtensionLatch{Generation: uuid.NewString(), State: "enabled"}}
		must(st.CreateResource(ctx, resource.Resource{TenantID: tid, ID: resource.ChildID(vmID, "extensions", resource.ExtAADSSHLinux),
			Type: resource.TypeVMExtension, Name: resource.ExtAADSSHLinux, Location: "westus", Properties: resource.Raw(p)}))
		machines = append(machines, store.Machine{TenantID: tid, ID: uuid.NewString(), ResourceID: vmID})
	}
	s := &Server{Store: st, URL: "https://latch.test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	gs, err := s.goalState(ctx, machines[0])
	if err != nil || gs.Login == nil || len(gs.Login.Users) != 400 {
		b.Fatalf("the benchmark's tenant is not what it should be: %v %+v", err, gs.Login)
	}
	return s, machines
}
