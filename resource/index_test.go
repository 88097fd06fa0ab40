package resource

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
)

// The index hands access.Decide only the assignments that can reach the target; deciding over
// all of them must give the same answer and the same matched assignments, whatever the case
// of the ids and wherever the assignments sit.
func TestAccessIndexAgreesWithDecide(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const sub = "/subscriptions/0b7f3c52-8a35-4c1e-9d0e-5f1a2b3c4d5e"
	mg := access.MustParseScope("/providers/Microsoft.Management/managementGroups/Team")
	scopes := []string{"/", mg.String(), "/providers/Microsoft.Management/managementGroups/other", sub,
		"/subscriptions/1b7f3c52-8a35-4c1e-9d0e-5f1a2b3c4d5e", sub + "/resourceGroups/rg", sub + "/resourceGroups/RG2",
		sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
		sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/e",
		sub + "/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/VM"}
	people := []string{"u1", "u2", "g1", "g2", "g3"}
	groups := []directory.Group{{ID: "g1", Members: []string{"u1"}}, {ID: "g2", Members: []string{"g1"}}, {ID: "g3", Members: []string{"u2", "g3"}}}
	roles := []string{access.OwnerRoleID, access.ReaderRoleID, access.VMUserLoginRoleID, access.VMAdministratorLoginRoleID, access.ContributorRoleID}
	for round := range 300 {
		var as []access.RoleAssignment
		for i := range rng.IntN(30) {
			sc := scopes[rng.IntN(len(scopes))]
			if rng.IntN(3) == 0 {
				sc = strings.ToUpper(sc[:1]) + strings.ToLower(sc[1:])
			}
			as = append(as, access.RoleAssignment{ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), Scope: sc,
				PrincipalID: people[rng.IntN(len(people))], PrincipalType: access.PrincipalUser, RoleDefinitionID: roles[rng.IntN(len(roles))]})
		}
		x := NewAccessIndex(as, nil, groups)
		for range 20 {
			target := access.MustParseScope(scopes[rng.IntN(len(scopes))])
			who := []string{"u1", "u2"}[rng.IntN(2)]
			action, data := []string{access.ActionVMRead, access.ActionVMWrite, access.ActionRoleAssignmentsWrite}[rng.IntN(3)], false
			if rng.IntN(2) == 0 {
				action, data = []string{access.ActionVMLogin, access.ActionVMLoginAsAdmin}[rng.IntN(2)], true
			}
			req := access.Request{PrincipalIDs: x.PrincipalIDs(who), Action: action, IsDataAction: data, Scope: target, Ancestors: []access.Scope{mg}}
			want := access.Decide(req, as, x.Roles())
			got := x.Check(who, action, data, target, req.Ancestors)
			if got.Allowed != want.Allowed || !slices.EqualFunc(got.MatchedAssignments, want.MatchedAssignments,
				func(a, b access.RoleAssignment) bool { return a.ID == b.ID }) {
				t.Fatalf("round %d: %s %s at %s: index %+v, Decide %+v", round, who, action, target, got, want)
			}
		}
	}
}
