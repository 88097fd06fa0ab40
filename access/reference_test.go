package access

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The naive reference evaluator. It shares no code with Decide: actions are matched by
// regular expressions, scopes by lower-cased string prefixes, and every assignment is first
// expanded into explicit (principal, scope prefix, allow pattern, deny patterns) grants.

var (
	refRegexps   = map[string]*regexp.Regexp{}
	refRegexpsMu sync.Mutex
)

// referenceMatch matches through compileReference: the pattern becomes an anchored,
// case-insensitive regular expression in which each '*' is ".*" (newlines too) and everything
// else is literal.
func referenceMatch(pattern, action string) bool {
	refRegexpsMu.Lock()
	re, ok := refRegexps[pattern]
	if !ok {
		re = compileReference(pattern)
		refRegexps[pattern] = re
	}
	refRegexpsMu.Unlock()
	return re.MatchString(action)
}

type refGrant struct {
	principal string // lower case
	prefix    string // lower-case canonical scope of the assignment
	allow     string
	deny      []string
	data      bool
}

func referenceGrants(assignments []RoleAssignment, rolesByLowerID map[string]RoleDefinition) []refGrant {
	var out []refGrant
	for _, a := range assignments {
		if a.Condition != "" {
			continue
		}
		r, ok := rolesByLowerID[strings.ToLower(a.RoleDefinitionID)]
		if !ok {
			continue
		}
		who, where := strings.ToLower(a.PrincipalID), strings.ToLower(a.Scope)
		for _, p := range r.Permissions {
			for _, act := range p.Actions {
				out = append(out, refGrant{who, where, act, p.NotActions, false})
			}
			for _, act := range p.DataActions {
				out = append(out, refGrant{who, where, act, p.NotDataActions, true})
			}
		}
	}
	return out
}

// referenceCovers: the assignment's scope string is the target, a '/'-bounded prefix of it,
// the root, or one of the target's ancestor management groups.
func referenceCovers(prefix, target string, ancestors []string) bool {
	target = strings.ToLower(target)
	if prefix == "/" || prefix == target || strings.HasPrefix(target, prefix+"/") && !strings.HasPrefix(prefix, "/providers/") {
		return true
	}
	for _, a := range ancestors {
		if strings.ToLower(a) == prefix && target != "/" {
			return true
		}
	}
	return false
}

func referenceAllowed(principals []string, action string, data bool, target string, ancestors []string, grants []refGrant) bool {
	for _, p := range principals {
		for _, g := range grants {
			if g.principal != strings.ToLower(p) || g.data != data || !referenceCovers(g.prefix, target, ancestors) {
				continue
			}
			if !referenceMatch(g.allow, action) {
				continue
			}
			denied := false
			for _, d := range g.deny {
				if referenceMatch(d, action) {
					denied = true
				}
			}
			if !denied {
				return true
			}
		}
	}
	return false
}

// world is a small tenant for random cases: mg1 above mg2, sub1 in mg2, sub2 in mg1.
type world struct {
	scopes      []string
	ancestors   map[string][]string // by subscription id, nearest first
	principals  []string
	actions     []string // control plane
	dataActions []string
	roles       []RoleDefinition
}

func newWorld(r *rand.Rand) world {
	mg1, mg2 := "/providers/Microsoft.Management/managementGroups/mg1", "/providers/Microsoft.Management/managementGroups/mg2"
	var scopes []string
	for _, sub := range []string{sub1, sub2} {
		s := "/subscriptions/" + sub
		scopes = append(scopes, s)
		for _, rg := range []string{"rg1", "rg2", "RG1x"} {
			scopes = append(scopes, s+"/resourceGroups/"+rg)
			for _, vm := range []string{"vm1", "vm2"} {
				v := s + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/" + vm
				scopes = append(scopes, v, v+"/extensions/AADSSHLoginForLinux")
			}
		}
	}
	scopes = append(scopes, "/", mg1, mg2, "/providers/Microsoft.Management/managementGroups/mg3")
	w := world{
		scopes:    scopes,
		ancestors: map[string][]string{sub1: {mg2, mg1}, sub2: {mg1}, "mg2": {mg1}},
		actions: []string{ActionVMRead, ActionVMWrite, ActionVMDelete,
			ActionVMExtensionsRead, ActionVMExtensionsWrite, ActionRoleAssignmentsWrite, ActionRoleAssignmentsRead,
			ActionResourceGroupsRead, "Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Network/virtualNetworks/read", "Microsoft.Compute/disks/read", "microsoft.compute/VIRTUALMACHINES/read"},
		dataActions: []string{ActionVMLogin, ActionVMLoginAsAdmin, "Microsoft.HybridCompute/machines/login/action",
			"MICROSOFT.Compute/virtualMachines/LOGIN/action"},
	}
	for i := 0; i < 4; i++ {
		w.principals = append(w.principals, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i))
	}
	w.roles = append(BuiltInRoles(), randomRoles(r, 4)...)
	return w
}

var patternPool = []string{"*", "*/read", "*/write", "Microsoft.Compute/*", "Microsoft.Compute/virtualMachines/*",
	"Microsoft.Compute/virtualMachines/*/read", "Microsoft.Compute/virtualMachines/login*", "*/action",
	"Microsoft.Authorization/*", "microsoft.COMPUTE/virtualmachines/read", ActionVMLogin, ActionVMLoginAsAdmin,
	"Microsoft.*/loginAsAdmin/*", "*Admin*", "Microsoft.Network/*/read"}

func randomRoles(r *rand.Rand, n int) []RoleDefinition {
	pick := func(k int) []string {
		var out []string
		for range r.IntN(k + 1) {
			out = append(out, patternPool[r.IntN(len(patternPool))])
		}
		return out
	}
	var roles []RoleDefinition
	for i := range n {
		var perms []Permission
		for range 1 + r.IntN(2) {
			perms = append(perms, Permission{Actions: pick(3), NotActions: pick(2), DataActions: pick(3), NotDataActions: pick(2)})
		}
		roles = append(roles, RoleDefinition{ID: fmt.Sprintf("c0000000-0000-4000-8000-%012x", i), RoleName: fmt.Sprint("custom ", i),
			RoleType: RoleTypeCustom, Permissions: perms, AssignableScopes: []string{"/"}})
	}
	return roles
}

// randomCase flips the case of some ASCII letters: ids and scopes compare without case.
func randomCase(r *rand.Rand, s string) string {
	if r.IntN(4) != 0 {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if r.IntN(3) == 0 {
			b[i] = c ^ 0x20*byte(boolInt('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'))
		}
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w world) randomAssignments(r *rand.Rand) []RoleAssignment {
	var out []RoleAssignment
	for i := range r.IntN(11) {
		a := RoleAssignment{
			ID:            fmt.Sprintf("a0000000-0000-4000-8000-%012x", i),
			Scope:         randomCase(r, w.randomAssignmentScope(r)),
			PrincipalID:   randomCase(r, w.principals[r.IntN(len(w.principals))]),
			PrincipalType: PrincipalUser,
		}
		switch n := r.IntN(20); {
		case n == 0:
			a.RoleDefinitionID = "deadbeef-0000-4000-8000-000000000000" // unknown role
		case n < 3:
			a.RoleDefinitionID = "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleDefinitions/" + w.roles[r.IntN(len(w.roles))].ID
		default:
			a.RoleDefinitionID = randomCase(r, w.roles[r.IntN(len(w.roles))].ID)
		}
		if r.IntN(10) == 0 {
			a.Condition, a.ConditionVersion = "@Resource[x] StringEquals 'y'", "2.0"
		}
		out = append(out, a)
	}
	return out
}

// randomAssignmentScope favours scopes high in the tree, where most real assignments are and
// where inheritance is exercised.
func (w world) randomAssignmentScope(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return w.scopes[r.IntN(len(w.scopes))]
	}
	high := []string{"/", "/providers/Microsoft.Management/managementGroups/mg1", "/providers/Microsoft.Management/managementGroups/mg2",
		"/subscriptions/" + sub1, "/subscriptions/" + sub2, "/subscriptions/" + sub1 + "/resourceGroups/rg1"}
	return high[r.IntN(len(high))]
}

// randomAction mostly pairs data actions with IsDataAction, and sometimes crosses them.
func (w world) randomAction(r *rand.Rand) (string, bool) {
	data := r.IntN(2) == 0
	list := w.actions
	if data != (r.IntN(8) == 0) {
		list = w.dataActions
	}
	return list[r.IntN(len(list))], data
}

// ancestorsOf is the caller's part: the management groups above target.
func (w world) ancestorsOf(target Scope) []string {
	if target.Kind() == ManagementGroup {
		return w.ancestors[target.ManagementGroupName()]
	}
	return w.ancestors[target.SubscriptionID()]
}

func TestDecideAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(2024, 6))
	w := newWorld(r)
	roles := IndexRoles(w.roles...)
	refRoles := map[string]RoleDefinition{}
	for _, role := range w.roles {
		refRoles[strings.ToLower(role.ID)] = role
	}
	allowed := 0
	const cases = 100_000
	for i := range cases {
		assignments := w.randomAssignments(r)
		principals := []string{w.principals[r.IntN(len(w.principals))], w.principals[r.IntN(len(w.principals))]}
		target := MustParseScope(w.scopes[r.IntN(len(w.scopes))])
		ancestorText := w.ancestorsOf(target)
		var ancestors []Scope
		for _, a := range ancestorText {
			ancestors = append(ancestors, MustParseScope(a))
		}
		req := Request{PrincipalIDs: principals, Scope: target, Ancestors: ancestors}
		req.Action, req.IsDataAction = w.randomAction(r)
		got := Decide(req, assignments, roles)
		refRoleIDs := normalizedRoleIDs(assignments)
		want := referenceAllowed(principals, req.Action, req.IsDataAction, target.String(), ancestorText, referenceGrants(refRoleIDs, refRoles))
		if got.Allowed != want {
			t.Fatalf("case %d: Decide=%v reference=%v\nrequest %+v\nassignments %+v\nreason %s", i, got.Allowed, want, req, assignments, got.Reason)
		}
		if got.Allowed != (len(got.MatchedAssignments) > 0) {
			t.Fatalf("case %d: allowed %v with %d matched assignments", i, got.Allowed, len(got.MatchedAssignments))
		}
		allowed += boolInt(got.Allowed)
		checkShuffleInvariant(t, r, req, assignments, roles, got)
	}
	// Both answers must be common, or the comparison proves little.
	if allowed < cases/10 || allowed > cases*9/10 {
		t.Fatalf("%d of %d allowed: the random cases are lopsided", allowed, cases)
	}
	t.Logf("%d of %d allowed", allowed, cases)
}

// normalizedRoleIDs reduces full ARM role ids to GUIDs, which the reference compares directly.
func normalizedRoleIDs(in []RoleAssignment) []RoleAssignment {
	out := append([]RoleAssignment(nil), in...)
	for i, a := range out {
		if j := strings.LastIndex(a.RoleDefinitionID, "/"); j >= 0 {
			out[i].RoleDefinitionID = a.RoleDefinitionID[j+1:]
		}
	}
	return out
}

func checkShuffleInvariant(t *testing.T, r *rand.Rand, req Request, assignments []RoleAssignment, roles map[string]RoleDefinition, want Decision) {
	t.Helper()
	shuffled := append([]RoleAssignment(nil), assignments...)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	got := Decide(req, shuffled, roles)
	if got.Allowed != want.Allowed || got.Reason != want.Reason || len(got.MatchedAssignments) != len(want.MatchedAssignments) {
		t.Fatalf("shuffling changed the decision: %+v vs %+v", got, want)
	}
	for i := range got.MatchedAssignments {
		if got.MatchedAssignments[i].ID != want.MatchedAssignments[i].ID {
			t.Fatalf("shuffling changed the matched assignments' order")
		}
	}
}
