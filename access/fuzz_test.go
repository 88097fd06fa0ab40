package access

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchsh/latch/errs"
)

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"/", subScope, rgScope, vmScope, extScope, mgScope, subScope + "/resourcegroups/RG",
		"/subscriptions/x", rgScope + "/../x", "//", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2*MaxScopeLength {
			t.Skip()
		}
		sc, err := ParseScope(s)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("refusal of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		again, err := ParseScope(sc.String())
		if err != nil || again != sc {
			t.Fatalf("%q → %q → %q %v", s, sc, again, err)
		}
		if !sc.Equal(again) || !sc.Contains(again) || sc.Kind() == 0 {
			t.Fatalf("%q is not equal to or inside itself", sc)
		}
		for p, ok := sc.Parent(); ok; p, ok = p.Parent() {
			if !p.Contains(sc) || len(p.String()) >= len(sc.String()) {
				t.Fatalf("parent %q of %q", p, sc)
			}
		}
	})
}

func FuzzRoleDefinitionJSON(f *testing.F) {
	for _, d := range BuiltInRoles() {
		b, _ := json.Marshal(d)
		f.Add(b)
	}
	f.Add([]byte(`{"properties":{"roleName":"x","type":"CustomRole","permissions":[{"actions":["*"]}],"assignableScopes":["/subscriptions/` + sub1 + `"],"createdOn":"2020-01-01T00:00:00+02:00","createdBy":"me"}}`))
	f.Add([]byte(`{"properties":{"permissions":[{"actions":["*"],"condition":"x"}]}}`))
	f.Add([]byte(`{"name":"` + OwnerRoleID + `","id":"/subscriptions/` + sub1 + `/providers/Microsoft.Authorization/roleDefinitions/` + OwnerRoleID + `"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip()
		}
		var d RoleDefinition
		if err := json.Unmarshal(data, &d); err != nil {
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it back: %v", data, err)
		}
		var back RoleDefinition
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(d, back) {
			t.Fatalf("round trip of %q:\n%+v\n%+v\n%v", data, d, back, err)
		}
		_ = ValidateRoleDefinition(d) // must not panic on anything decoding accepts
	})
}

func FuzzRoleAssignmentJSON(f *testing.F) {
	a := RoleAssignment{ID: assignmentID, Scope: vmScope, RoleDefinitionID: VMUserLoginRoleID, PrincipalID: alice, PrincipalType: PrincipalUser,
		Condition: "@Resource[x] StringEquals 'y'", ConditionVersion: "2.0"}
	b, _ := json.Marshal(a)
	f.Add(b)
	f.Add([]byte(`{"properties":{"roleDefinitionId":"/subscriptions/` + sub1 + `/providers/Microsoft.Authorization/roleDefinitions/` + OwnerRoleID + `","principalId":"` + alice + `","principalType":"User"}}`))
	f.Add([]byte(`{"id":"/providers/Microsoft.Authorization/roleAssignments/` + assignmentID + `","properties":{"createdOn":"2021-02-03T04:05:06.7+05:30"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip()
		}
		var a RoleAssignment
		if err := json.Unmarshal(data, &a); err != nil {
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it back: %v", data, err)
		}
		var back RoleAssignment
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(a, back) {
			t.Fatalf("round trip of %q:\n%+v\n%+v\n%v", data, a, back, err)
		}
		role, _ := BuiltInRole(VMUserLoginRoleID)
		_ = ValidateAssignment(a, role, []RoleAssignment{a}, CurrentAPIVersion)
	})
}

func FuzzMatchAction(f *testing.F) {
	for _, p := range patternPool {
		f.Add(p, ActionVMLogin)
		f.Add(p, ActionVMRead)
	}
	f.Add("*a*b*c", "aXbYbZc")
	f.Add("ſ*K", "s\u212a")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		if len(pattern) > 64 || len(action) > 128 {
			t.Skip()
		}
		got := MatchAction(pattern, action)
		if !utf8.ValidString(pattern) || !utf8.ValidString(action) {
			return // the reference cannot compile invalid UTF-8; MatchAction must just not panic
		}
		if want := compileReference(pattern).MatchString(action); got != want {
			t.Fatalf("MatchAction(%q, %q) = %v, reference %v", pattern, action, got, want)
		}
	})
}

// compileReference is referenceMatch's translation without its cache, for fuzzing.
func compileReference(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("(?is)^" + strings.Join(parts, ".*") + "$")
}
