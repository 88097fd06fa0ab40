package access

import (
	"strings"
	"testing"
)

func TestMatchAction(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, action string
	}{
		{name: "fail/different-operation", pattern: "Microsoft.Compute/virtualMachines/read", action: "Microsoft.Compute/virtualMachines/write"},
		{name: "fail/prefix-is-not-a-match", pattern: "Microsoft.Compute/virtualMachines/read", action: "Microsoft.Compute/virtualMachines/read/more"},
		{name: "fail/pattern-longer", pattern: "Microsoft.Compute/virtualMachines/read/more", action: "Microsoft.Compute/virtualMachines/read"},
		{name: "fail/star-read-against-write", pattern: "*/read", action: "Microsoft.Compute/virtualMachines/write"},
		{name: "fail/middle-star-needs-both-ends", pattern: "Microsoft.Compute/virtualMachines/*/read", action: "Microsoft.Compute/virtualMachines/read"},
		{name: "fail/other-provider", pattern: "Microsoft.Compute/*", action: "Microsoft.Network/virtualNetworks/read"},
		{name: "fail/provider-prefix-of-another", pattern: "Microsoft.Compute/*", action: "Microsoft.ComputeSchedule/register/action"},
		{name: "fail/empty-pattern", pattern: "", action: "Microsoft.Compute/virtualMachines/read"},
		{name: "fail/no-regexp-meaning", pattern: "Microsoft.Compute/virtualMachines/.*", action: "Microsoft.Compute/virtualMachines/read"},
		{name: "fail/question-mark-is-literal", pattern: "Microsoft.Compute/virtualMachines/rea?", action: "Microsoft.Compute/virtualMachines/read"},
		{name: "ok/star", pattern: "*", action: "Microsoft.Compute/virtualMachines/read"},
		{name: "ok/star-empty", pattern: "*", action: ""},
		{name: "ok/exact", pattern: ActionVMRead, action: ActionVMRead},
		{name: "ok/case-insensitive", pattern: "MICROSOFT.compute/VirtualMachines/READ", action: ActionVMRead},
		{name: "ok/star-read", pattern: "*/read", action: "Microsoft.Compute/virtualMachines/extensions/read"},
		{name: "ok/middle-star-spans-slashes", pattern: "Microsoft.Compute/virtualMachines/*/read", action: "Microsoft.Compute/virtualMachines/extensions/read"},
		{name: "ok/middle-star-spans-many", pattern: "Microsoft.Authorization/*/Write", action: "Microsoft.Authorization/roleAssignments/write"},
		{name: "ok/trailing-star", pattern: "Microsoft.Compute/virtualMachines/*", action: ActionVMLoginAsAdmin},
		{name: "ok/two-stars-backtrack", pattern: "*a*b", action: "xxaxxbxxb"},
		{name: "ok/star-in-segment", pattern: "Microsoft.Compute/virtualMachine*/read", action: "Microsoft.Compute/virtualMachineScaleSets/read"},
		{name: "ok/unicode-fold", pattern: "ſ", action: "S"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := strings.HasPrefix(tc.name, "ok/")
			if got := MatchAction(tc.pattern, tc.action); got != want {
				t.Fatalf("MatchAction(%q, %q) = %v", tc.pattern, tc.action, got)
			}
			if got := referenceMatch(tc.pattern, tc.action); got != want {
				t.Fatalf("the reference disagrees with the table: %v", got)
			}
		})
	}
}

func TestNotActionsBeatActions(t *testing.T) {
	p := Permission{
		Actions:    []string{"Microsoft.Compute/*"},
		NotActions: []string{"Microsoft.Compute/virtualMachines/delete"},
	}
	if p.Grants(ActionVMDelete, false) {
		t.Fatal("NotActions must remove what Actions allows")
	}
	if !p.Grants(ActionVMWrite, false) {
		t.Fatal("the rest of Actions must still be allowed")
	}
	d := Permission{DataActions: []string{"Microsoft.Compute/virtualMachines/*"}, NotDataActions: []string{ActionVMLoginAsAdmin}}
	if d.Grants(ActionVMLoginAsAdmin, true) || !d.Grants(ActionVMLogin, true) {
		t.Fatal("NotDataActions must remove what DataActions allows, and only that")
	}
	// Each block subtracts only from itself: another block may grant what one excludes.
	role := RoleDefinition{Permissions: []Permission{p, {Actions: []string{ActionVMDelete}}}}
	if !role.Grants(ActionVMDelete, false) {
		t.Fatal("a second block's grant must stand")
	}
}

func TestActionsNeverGrantDataActions(t *testing.T) {
	all := Permission{Actions: []string{"*"}}
	if all.Grants(ActionVMLogin, true) {
		t.Fatal("a control-plane '*' granted a data action")
	}
	data := Permission{DataActions: []string{"*"}}
	if data.Grants(ActionVMRead, false) {
		t.Fatal("a data-plane '*' granted a control-plane action")
	}
}
