package access

import (
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

const (
	sub1 = "11111111-1111-4111-8111-111111111111"
	sub2 = "22222222-2222-4222-8222-222222222222"
)

var (
	subScope = "/subscriptions/" + sub1
	rgScope  = subScope + "/resourceGroups/rg1"
	vmScope  = rgScope + "/providers/Microsoft.Compute/virtualMachines/vm1"
	extScope = vmScope + "/extensions/AADSSHLoginForLinux"
	mgScope  = "/providers/Microsoft.Management/managementGroups/mg1"
)

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		kind           ScopeKind
	}{
		{name: "fail/empty", in: ""},
		{name: "fail/relative", in: "subscriptions/" + sub1},
		{name: "fail/trailing-slash", in: subScope + "/"},
		{name: "fail/double-slash", in: "/subscriptions//" + sub1},
		{name: "fail/dot-dot", in: rgScope + "/../rg2"},
		{name: "fail/dot", in: subScope + "/resourceGroups/."},
		{name: "fail/dot-dot-as-rg", in: subScope + "/resourceGroups/.."},
		{name: "fail/subscription-not-guid", in: "/subscriptions/sub1"},
		{name: "fail/subscription-guid-braces", in: "/subscriptions/{" + sub1 + "}"},
		{name: "fail/subscriptions-without-id", in: "/subscriptions"},
		{name: "fail/resource-groups-without-name", in: subScope + "/resourceGroups"},
		{name: "fail/unknown-child-of-subscription", in: subScope + "/resourceGroupz/rg1"},
		{name: "fail/subscription-level-resource", in: subScope + "/providers/Microsoft.Compute/virtualMachines/vm1"},
		{name: "fail/providers-without-type", in: rgScope + "/providers/Microsoft.Compute"},
		{name: "fail/type-without-name", in: rgScope + "/providers/Microsoft.Compute/virtualMachines"},
		{name: "fail/child-type-without-name", in: vmScope + "/extensions"},
		{name: "fail/namespace-without-dot", in: rgScope + "/providers/Compute/virtualMachines/vm1"},
		{name: "fail/type-with-dot", in: rgScope + "/providers/Microsoft.Compute/virtual.Machines/vm1"},
		{name: "fail/not-providers-after-rg", in: rgScope + "/resources/Microsoft.Compute/virtualMachines/vm1"},
		{name: "fail/management-group-without-name", in: "/providers/Microsoft.Management/managementGroups"},
		{name: "fail/other-provider-at-root", in: "/providers/Microsoft.Compute/virtualMachines/vm1"},
		{name: "fail/management-group-child", in: mgScope + "/subscriptions/" + sub1},
		{name: "fail/tenants", in: "/tenants/" + sub1},
		{name: "fail/query", in: rgScope + "?api-version=2020-01-01"},
		{name: "fail/fragment", in: rgScope + "#x"},
		{name: "fail/percent-encoding", in: subScope + "/resourceGroups/rg%2F2"},
		{name: "fail/backslash", in: subScope + `/resourceGroups/rg\1`},
		{name: "fail/space", in: subScope + "/resourceGroups/rg 1"},
		{name: "fail/control", in: subScope + "/resourceGroups/rg\x00"},
		{name: "fail/newline", in: subScope + "/resourceGroups/rg\n"},
		{name: "fail/wildcard", in: subScope + "/resourceGroups/*"},
		{name: "fail/invalid-utf8", in: subScope + "/resourceGroups/rg\xff"},
		{name: "fail/segment-too-long", in: subScope + "/resourceGroups/" + strings.Repeat("r", 257)},
		{name: "fail/too-long", in: vmScope + strings.Repeat("/extensions/e", 200)},
		{name: "ok/root", in: "/", want: "/", kind: Root},
		{name: "ok/management-group", in: mgScope, want: mgScope, kind: ManagementGroup},
		{name: "ok/management-group-any-case", in: "/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/Mg1",
			want: "/providers/Microsoft.Management/managementGroups/Mg1", kind: ManagementGroup},
		{name: "ok/subscription", in: subScope, want: subScope, kind: Subscription},
		{name: "ok/subscription-upper-case-id", in: "/Subscriptions/" + strings.ToUpper(sub1), want: subScope, kind: Subscription},
		{name: "ok/resource-group-az-lower-case", in: subScope + "/resourcegroups/rg1", want: rgScope, kind: ResourceGroup},
		{name: "ok/resource-group-unicode", in: subScope + "/resourceGroups/grüppe-(1).x", want: subScope + "/resourceGroups/grüppe-(1).x", kind: ResourceGroup},
		{name: "ok/vm", in: vmScope, want: vmScope, kind: Resource},
		{name: "ok/vm-mixed-case-providers", in: rgScope + "/PROVIDERS/Microsoft.Compute/virtualMachines/vm1", want: vmScope, kind: Resource},
		{name: "ok/extension", in: extScope, want: extScope, kind: Resource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScope(tc.in)
			if strings.HasPrefix(tc.name, "fail/") {
				if err == nil {
					t.Fatalf("accepted as %q", got)
				}
				if !errs.Is(err, errs.Invalid) || errs.CodeOf(err) != "InvalidScope" || errs.Message(err) == "" {
					t.Fatalf("want Invalid InvalidScope with a message, got %v", err)
				}
				return
			}
			if err != nil || got.String() != tc.want || got.Kind() != tc.kind {
				t.Fatalf("got %q %v %v, want %q %v", got, got.Kind(), err, tc.want, tc.kind)
			}
			again, err := ParseScope(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip: %q %v", again, err)
			}
		})
	}
}

func TestScopeContains(t *testing.T) {
	other := "/subscriptions/" + sub2
	for _, tc := range []struct {
		name       string
		outer, in  string
		zeroOuter  bool
		zeroTarget bool
	}{
		{name: "fail/rg-does-not-contain-subscription", outer: rgScope, in: subScope},
		{name: "fail/rg-does-not-contain-sibling-rg", outer: rgScope, in: subScope + "/resourceGroups/rg2"},
		{name: "fail/rg-prefix-is-not-containment", outer: rgScope, in: rgScope + "0"},
		{name: "fail/subscription-does-not-contain-other", outer: subScope, in: other + "/resourceGroups/rg1"},
		{name: "fail/vm-does-not-contain-rg", outer: vmScope, in: rgScope},
		{name: "fail/vm-does-not-contain-sibling-vm", outer: vmScope, in: rgScope + "/providers/Microsoft.Compute/virtualMachines/vm2"},
		{name: "fail/management-group-alone-contains-no-subscription", outer: mgScope, in: subScope},
		{name: "fail/subscription-does-not-contain-root", outer: subScope, in: "/"},
		{name: "fail/non-ascii-fold-is-not-equal", outer: subScope + "/resourceGroups/secret", in: subScope + "/resourceGroups/ſecret"},
		{name: "ok/root-contains-subscription", outer: "/", in: subScope},
		{name: "ok/root-contains-management-group", outer: "/", in: mgScope},
		{name: "ok/same", outer: rgScope, in: rgScope},
		{name: "ok/case-insensitive", outer: strings.ToUpper(rgScope[:len(rgScope)-3]) + "RG1", in: vmScope},
		{name: "ok/subscription-contains-vm", outer: subScope, in: vmScope},
		{name: "ok/vm-contains-extension", outer: vmScope, in: extScope},
		{name: "ok/management-group-contains-itself", outer: mgScope, in: strings.ToUpper(mgScope)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer, in := MustParseScope(tc.outer), MustParseScope(tc.in)
			if got := outer.Contains(in); got != strings.HasPrefix(tc.name, "ok/") {
				t.Fatalf("%s contains %s = %v", outer, in, got)
			}
		})
	}
	var zero Scope
	if zero.Contains(MustParseScope(subScope)) || RootScope.Contains(zero) || zero.Equal(zero) {
		t.Fatal("the zero Scope must contain nothing, be contained by nothing and equal nothing")
	}
}

func TestScopeAppliesTo(t *testing.T) {
	mg2 := MustParseScope("/providers/Microsoft.Management/managementGroups/mg2")
	mg1 := MustParseScope(mgScope)
	ancestors := []Scope{mg2, mg1} // mg2 is below mg1; the subscription is in mg2
	for _, tc := range []struct {
		name      string
		at, tgt   string
		ancestors []Scope
	}{
		{name: "fail/management-group-without-hierarchy", at: mgScope, tgt: vmScope},
		{name: "fail/management-group-not-an-ancestor", at: "/providers/Microsoft.Management/managementGroups/mg3", tgt: vmScope, ancestors: ancestors},
		{name: "fail/subscription-ancestor-ignored", at: "/subscriptions/" + sub2, tgt: vmScope, ancestors: []Scope{MustParseScope("/subscriptions/" + sub2)}},
		{name: "fail/management-group-does-not-reach-up-to-root", at: mgScope, tgt: "/", ancestors: ancestors},
		{name: "fail/child-group-does-not-reach-parent-group", at: mg2.String(), tgt: mgScope, ancestors: nil},
		{name: "ok/nearest-management-group", at: mg2.String(), tgt: vmScope, ancestors: ancestors},
		{name: "ok/farther-management-group", at: mgScope, tgt: rgScope, ancestors: ancestors},
		{name: "ok/management-group-to-child-group", at: mgScope, tgt: mg2.String(), ancestors: []Scope{mg1}},
		{name: "ok/subscription-to-vm", at: subScope, tgt: vmScope},
		{name: "ok/root-to-anything", at: "/", tgt: extScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, tgt := MustParseScope(tc.at), MustParseScope(tc.tgt)
			if got := at.AppliesTo(tgt, tc.ancestors); got != strings.HasPrefix(tc.name, "ok/") {
				t.Fatalf("%s applies to %s = %v", at, tgt, got)
			}
		})
	}
}

func TestScopeParts(t *testing.T) {
	ext := MustParseScope(extScope)
	if ext.SubscriptionID() != sub1 || ext.ResourceGroupName() != "rg1" || ext.ManagementGroupName() != "" {
		t.Fatalf("parts of %s: %q %q", ext, ext.SubscriptionID(), ext.ResourceGroupName())
	}
	if mg := MustParseScope(mgScope); mg.ManagementGroupName() != "mg1" || mg.SubscriptionID() != "" {
		t.Fatalf("management group parts: %q", mg.ManagementGroupName())
	}
	chain := []string{vmScope, rgScope, subScope, "/"}
	s := ext
	for _, want := range chain {
		p, ok := s.Parent()
		if !ok || p.String() != want {
			t.Fatalf("parent of %s = %s %v, want %s", s, p, ok, want)
		}
		s = p
	}
	if _, ok := RootScope.Parent(); ok {
		t.Fatal("the root has no parent")
	}
	if p, _ := MustParseScope(mgScope).Parent(); p != RootScope {
		t.Fatalf("a management group's lexical parent is the root, got %s", p)
	}
}
