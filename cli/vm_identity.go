package cli

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// The VM's managed identities ("latch vm identity …"). Types are spelled as ARM spells them.
const (
	idSystem     = "SystemAssigned"
	idUser       = "UserAssigned"
	idSystemUser = "SystemAssigned, UserAssigned"
	idNone       = "None"
	systemWord   = "[system]"
)

func newVMIdentityCommand(a *app) *cobra.Command {
	return newGroup("identity", "Manage service identities of a VM.",
		newVMIdentityAssign(a), newVMIdentityRemove(a), newVMIdentityShow(a))
}

func newVMIdentityShow(a *app) *cobra.Command {
	var rg, name string
	cmd := a.armCommand("show", "Display VM's managed identity info.", func(ctx context.Context, c *arm) (any, error) {
		vm, err := c.getVM(ctx, rg, name, "")
		if err != nil {
			return nil, err
		}
		return vm["identity"], nil
	})
	resourceFlags(cmd, &rg, &name, "The name of the Virtual Machine.")
	return cmd
}

func newVMIdentityAssign(a *app) *cobra.Command {
	var rg, name, scope, role string
	var ids []string
	cmd := a.armCommand("assign", "Enable managed service identity on a VM.", func(ctx context.Context, c *arm) (any, error) {
		vm, err := c.getVM(ctx, rg, name, "")
		if err != nil {
			return nil, err
		}
		if _, err := c.patchIdentity(ctx, rg, name, assignedIdentity(vm["identity"], ids)); err != nil {
			return nil, err
		}
		if vm, err = c.getVM(ctx, rg, name, ""); err != nil {
			return nil, err
		}
		info := identityInfo(vm["identity"])
		if scope != "" {
			if err := c.grantIdentity(ctx, info["systemAssignedIdentity"].(string), role, scope); err != nil {
				return nil, err
			}
			info["scope"], info["role"] = scope, role
		}
		return info, nil
	})
	resourceFlags(cmd, &rg, &name, "The name of the Virtual Machine.")
	listFlag(cmd, &ids, "identities", "", "", "Space-separated identities to assign. Use '[system]' to refer to the system assigned identity. Default: '[system]'")
	cmd.Flags().StringVar(&scope, "scope", "", "Scope that the system assigned identity can access.")
	cmd.Flags().StringVar(&role, "role", "Contributor", "Role name or id the system assigned identity will have.")
	return cmd
}

// assignedIdentity is the identity block after adding words, following az's rules for
// combining the system-assigned identity with user-assigned ones.
func assignedIdentity(current any, words []string) map[string]any {
	cur, _ := current.(map[string]any)
	curType, _ := cur["type"].(string)
	local := len(words) == 0 || slices.Contains(words, systemWord)
	var external []string
	for _, w := range words {
		if w != systemWord {
			external = append(external, w)
		}
	}
	t := idSystem
	switch {
	case sameType(curType, idSystemUser),
		sameType(curType, idSystem) && len(external) > 0,
		sameType(curType, idUser) && local,
		len(external) > 0 && local:
		t = idSystemUser
	case len(external) > 0:
		t = idUser
	}
	out := map[string]any{"type": t}
	if len(external) > 0 {
		uai := map[string]any{}
		for _, e := range external {
			uai[e] = map[string]any{}
		}
		out["userAssignedIdentities"] = uai
	}
	return out
}

// sameType compares identity types ignoring case and the space after the comma.
func sameType(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	return norm(a) == norm(b)
}

// patchIdentity sends PATCH {"identity": …}, as az does, and returns the VM it leaves. A
// server without ARM's update operation gets the whole machine back with the new identity
// (read, change, PUT), which is what a PATCH means.
func (c *arm) patchIdentity(ctx context.Context, rg, name string, identity map[string]any) (map[string]any, error) {
	path := c.vmPath(rg, name)
	vm, err := c.write(ctx, http.MethodPatch, path, apiCompute, map[string]any{"identity": identity})
	if !methodNotAllowed(err) {
		return vm, err
	}
	c.s.a.debugf("The server does not take PATCH for a VM; sending the whole VM with PUT.")
	if vm, err = c.get(ctx, path, apiCompute, nil); err != nil {
		return nil, err
	}
	vm["identity"] = identity
	return c.write(ctx, http.MethodPut, path, apiCompute, vm)
}

// methodNotAllowed recognises ARM's refusal of a method on a path, whatever its status.
func methodNotAllowed(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == http.StatusMethodNotAllowed || ae.Code == "MethodNotAllowed")
}

func newVMIdentityRemove(a *app) *cobra.Command {
	var rg, name string
	var ids []string
	cmd := a.armCommand("remove", "Remove managed service identities from a VM.", func(ctx context.Context, c *arm) (any, error) {
		vm, err := c.getVM(ctx, rg, name, "")
		if err != nil || vm["identity"] == nil {
			return nil, err
		}
		identity, err := removedIdentity(vm["identity"].(map[string]any), ids, name)
		if err != nil {
			return nil, err
		}
		vm, err = c.patchIdentity(ctx, rg, name, identity)
		if err != nil {
			return nil, err
		}
		return vm["identity"], nil
	})
	resourceFlags(cmd, &rg, &name, "The name of the Virtual Machine.")
	listFlag(cmd, &ids, "identities", "", "", "Space-separated identities to remove. Use '[system]' to refer to the system assigned identity. Default: '[system]'")
	return cmd
}

// removedIdentity is the identity block after removing words (default: the system-assigned
// identity), as az computes it.
func removedIdentity(cur map[string]any, words []string, vmName string) (map[string]any, error) {
	if len(words) == 0 {
		words = []string{systemWord}
	}
	t, _ := cur["type"].(string)
	existing, _ := cur["userAssignedIdentities"].(map[string]any)
	var drop []string
	for _, w := range words {
		if w != systemWord {
			drop = append(drop, strings.ToLower(w))
		}
	}
	remaining := 0
	for k := range existing {
		if !slices.Contains(drop, strings.ToLower(k)) {
			remaining++
		}
	}
	for _, d := range drop {
		if !hasKeyFold(existing, d) {
			return nil, failf("'%s' are not associated with '%s'", d, vmName)
		}
	}
	if len(drop) > 0 && remaining == 0 {
		t = map[bool]string{true: idNone, false: idSystem}[sameType(t, idUser)]
	}
	if slices.Contains(words, systemWord) {
		t = map[bool]string{true: idNone, false: idUser}[sameType(t, idSystem)]
	}
	out := map[string]any{"type": t}
	if len(drop) > 0 && !sameType(t, idNone) && !sameType(t, idSystem) {
		uai := map[string]any{}
		for _, d := range drop {
			uai[d] = nil
		}
		out["userAssignedIdentities"] = uai
	}
	return out, nil
}

func hasKeyFold(m map[string]any, k string) bool {
	for key := range m {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}
