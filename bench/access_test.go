package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/resource"
)

// BenchmarkCheckAccess measures the check-access decision — the question a machine asks at
// every sign-in — on resource.AccessIndex, the index the API builds per request: 100,000
// principals, groups nested five deep (every user is in a leaf group, which is in a chain of
// four more), and 100,000 or 1,000,000 role assignments to users and groups at subscription,
// resource group and machine scopes. Each decision asks whether a random user may sign in
// (as user or administrator) to a random machine. It reports p50/p99 latency of single
// decisions and decisions per second.
func BenchmarkCheckAccess(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("assignments=%d", n), func(b *testing.B) {
			f := newAccessFixture(n)
			b.ReportAllocs()
			lat := make([]time.Duration, 0, b.N)
			rng := rand.New(rand.NewPCG(7, 11))
			allowed := 0
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				// A request owns its principal id, freshly decoded, so the id is copied out of
				// the fixture as the API would have it.
				user := strings.Clone(f.users[rng.IntN(len(f.users))])
				vm := f.vms[rng.IntN(len(f.vms))]
				action := access.ActionVMLogin
				if rng.IntN(2) == 0 {
					action = access.ActionVMLoginAsAdmin
				}
				t0 := time.Now()
				d := f.index.Check(user, action, true, vm, f.ancestors)
				lat = append(lat, time.Since(t0))
				if d.Allowed {
					allowed++
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			reportRate(b, "decisions/s", elapsed)
			reportLatency(b, lat)
			b.ReportMetric(100*float64(allowed)/float64(b.N), "allowed-%")
		})
	}
}

const (
	benchPrincipals  = 100_000
	benchLeafGroups  = 2_000
	benchNesting     = 5
	benchSubs        = 10
	benchGroupsPerRG = 20 // resource groups per subscription
	benchVMsPerGroup = 25
)

type accessFixture struct {
	index     *resource.AccessIndex
	users     []string
	vms       []access.Scope
	ancestors []access.Scope
}

// newAccessFixture builds the tenant: users, nested groups, machines and n assignments.
func newAccessFixture(n int) accessFixture {
	rng := rand.New(rand.NewPCG(1, 2))
	var f accessFixture
	groups, chains := benchGroups(rng)
	f.users = make([]string, benchPrincipals)
	for i := range f.users {
		f.users[i] = guid(rng)
		leaf := &groups[i%benchLeafGroups*benchNesting]
		leaf.Members = append(leaf.Members, f.users[i])
	}
	scopes := benchScopes(rng, &f)
	tenant := "/providers/Microsoft.Management/managementGroups/" + guid(rng)
	f.ancestors = []access.Scope{access.MustParseScope(tenant)}
	roles := []string{access.VMUserLoginRoleID, access.VMAdministratorLoginRoleID, access.ReaderRoleID, access.ContributorRoleID}
	as := make([]access.RoleAssignment, n)
	for i := range as {
		principal := f.users[rng.IntN(len(f.users))]
		if i%10 == 0 { // a tenth to groups, at any level of nesting
			principal = chains[rng.IntN(len(chains))]
		}
		as[i] = access.RoleAssignment{ID: guid(rng), Scope: scopes[rng.IntN(len(scopes))], PrincipalID: principal,
			PrincipalType: access.PrincipalUser, RoleDefinitionID: roles[rng.IntN(len(roles))]}
	}
	f.index = resource.NewAccessIndex(as, nil, groups)
	return f
}

// benchGroups makes benchLeafGroups chains of benchNesting groups: group k*5 is a leaf, in
// group k*5+1, … up to k*5+4. It returns the groups and every group id.
func benchGroups(rng *rand.Rand) ([]directory.Group, []string) {
	groups := make([]directory.Group, benchLeafGroups*benchNesting)
	ids := make([]string, len(groups))
	for i := range groups {
		groups[i] = directory.Group{ID: guid(rng)}
		ids[i] = groups[i].ID
	}
	for i := range groups {
		if i%benchNesting != benchNesting-1 {
			groups[i+1].Members = append(groups[i+1].Members, groups[i].ID)
		}
	}
	return groups, ids
}

// benchScopes makes the subscriptions, resource groups and machines, and returns every
// scope an assignment may sit at.
func benchScopes(rng *rand.Rand, f *accessFixture) []string {
	var scopes []string
	for range benchSubs {
		sub := "/subscriptions/" + guid(rng)
		scopes = append(scopes, sub)
		for g := range benchGroupsPerRG {
			rg := fmt.Sprintf("%s/resourceGroups/rg%d", sub, g)
			scopes = append(scopes, rg)
			for v := range benchVMsPerGroup {
				vm := fmt.Sprintf("%s/providers/Microsoft.Compute/virtualMachines/vm%d", rg, v)
				scopes = append(scopes, vm)
				f.vms = append(f.vms, access.MustParseScope(vm))
			}
		}
	}
	return scopes
}

func guid(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0xfff, b&0xffffffffffff)
}
