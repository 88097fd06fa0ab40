package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// Operations on virtual machines and their extensions, as ARM names them.
const (
	opVMRead        = "Microsoft.Compute/virtualMachines/read"
	opVMWrite       = "Microsoft.Compute/virtualMachines/write"
	opVMDelete      = "Microsoft.Compute/virtualMachines/delete"
	opExtRead       = "Microsoft.Compute/virtualMachines/extensions/read"
	opExtWrite      = "Microsoft.Compute/virtualMachines/extensions/write"
	opExtDelete     = "Microsoft.Compute/virtualMachines/extensions/delete"
	opExtImagesRead = "Microsoft.Compute/locations/publishers/artifacttypes/types/versions/read"
)

// resourceBody is a PUT body of a resource, with ARM's field names. Read-only fields a client
// echoes back are accepted and ignored; properties are decoded by the resource type, which
// ignores what Latch does not model.
type resourceBody struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	Location         string            `json:"location"`
	Tags             map[string]string `json:"tags"`
	Identity         *identityBody     `json:"identity"`
	Properties       json.RawMessage   `json:"properties"`
	Zones            json.RawMessage   `json:"zones"`
	Plan             json.RawMessage   `json:"plan"`
	Etag             json.RawMessage   `json:"etag"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation"`
	Resources        json.RawMessage   `json:"resources"`
}

type identityBody struct {
	Type                   string          `json:"type"`
	PrincipalID            string          `json:"principalId"`
	TenantID               string          `json:"tenantId"`
	UserAssignedIdentities json.RawMessage `json:"userAssignedIdentities"`
}

// vmPath checks the names in the path and returns the machine's id and scope.
func (q *armRequest) vmPath(sub resource.Subscription) (string, access.Scope, error) {
	if err := resource.ValidateResourceGroupName(q.vars["rg"]); err != nil {
		return "", access.Scope{}, err
	}
	if err := resource.ValidateVMName(q.vars["vm"]); err != nil {
		return "", access.Scope{}, err
	}
	id := resource.ResourceID(sub.ID, q.vars["rg"], resource.TypeVirtualMachine, q.vars["vm"])
	q.resourceID = id
	sc, err := scopeOf(id)
	return id, sc, err
}

// prepareVM finds the subscription and authorizes action on the machine the path names.
func (q *armRequest) prepareVM(action string) (resource.Subscription, string, error) {
	sub, err := q.subscription()
	if err != nil {
		return sub, "", err
	}
	id, sc, err := q.vmPath(sub)
	if err != nil {
		return sub, "", err
	}
	return sub, id, q.authz.require(action, sc)
}

// loadVM authorizes action on the machine the path names and reads it; a missing machine is
// ARM's ResourceNotFound.
func (q *armRequest) loadVM(action string) (resource.Resource, error) {
	_, id, err := q.prepareVM(action)
	if err != nil {
		return resource.Resource{}, err
	}
	vm, err := q.s.Store.GetResource(q.ctx, q.tenantID(), id)
	if errs.Is(err, errs.NotFound) {
		return vm, resourceNotFound(resource.TypeVirtualMachine, q.vars["vm"], q.vars["rg"])
	}
	return vm, err
}

func resourceNotFound(typ, name, group string) error {
	return errs.E("httpapi.resource", errs.NotFound, errs.Code("ResourceNotFound"), fmt.Sprintf(
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		typ, truncate(name, 100), truncate(group, 100)))
}

func getVM(q *armRequest) (int, any, error) {
	vm, err := q.loadVM(opVMRead)
	if err != nil {
		return 0, nil, err
	}
	exts, err := q.s.Store.ListResources(q.ctx, q.tenantID(), vm.ID, resource.TypeVMExtension)
	if err != nil {
		return 0, nil, err
	}
	vm = q.s.machineLiveness(vm)
	expand := strings.EqualFold(q.r.URL.Query().Get("$expand"), "instanceView")
	return http.StatusOK, vmJSON(vm, exts, expand), nil
}

// putVM creates (201) or updates (200) a machine. A system-assigned identity is a service
// principal of type ManagedIdentity created with the machine; "None" removes it.
func putVM(q *armRequest) (int, any, error) {
	sub, id, err := q.prepareVM(opVMWrite)
	if err != nil {
		return 0, nil, err
	}
	var b resourceBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	if err := checkResourceBody(&b); err != nil {
		return 0, nil, err
	}
	if _, err := q.s.Store.GetResourceGroup(q.ctx, q.tenantID(), sub.ID, q.vars["rg"]); errs.Is(err, errs.NotFound) {
		return 0, nil, rgNotFound(q.vars["rg"])
	} else if err != nil {
		return 0, nil, err
	}
	prev, err := q.s.Store.GetResource(q.ctx, q.tenantID(), id)
	switch {
	case errs.Is(err, errs.NotFound):
		return q.createVM(id, b)
	case err != nil:
		return 0, nil, err
	}
	return q.updateVM(prev, b)
}

// checkResourceBody normalizes the location and checks tags and the identity type.
func checkResourceBody(b *resourceBody) error {
	loc, err := resource.NormalizeLocation(b.Location)
	if err != nil {
		return err
	}
	b.Location = loc
	if err := resource.ValidateTags(b.Tags); err != nil {
		return err
	}
	if b.Identity != nil {
		switch t := b.Identity.Type; {
		case strings.EqualFold(t, resource.IdentitySystemAssigned):
			b.Identity.Type = resource.IdentitySystemAssigned
		case strings.EqualFold(t, resource.IdentityNone):
			b.Identity.Type = resource.IdentityNone
		default:
			return errs.E("httpapi.checkResourceBody", errs.Invalid, errs.Code("InvalidIdentityType"), fmt.Sprintf(
				"The identity type '%s' is not supported. Latch supports 'SystemAssigned' and 'None'; user-assigned identities are not available.", truncate(t, 60)))
		}
	}
	return nil
}

func (q *armRequest) createVM(id string, b resourceBody) (int, any, error) {
	props, err := resource.ParseVMRequest(b.Properties, q.vars["vm"], nil)
	if err != nil {
		return 0, nil, err
	}
	props.VMID = newID()
	vm := resource.Resource{TenantID: q.tenantID(), ID: id, Type: resource.TypeVirtualMachine, Name: q.vars["vm"],
		Location: b.Location, Tags: b.Tags, CreatedBy: q.caller.ObjectID, Properties: resource.Raw(props)}
	if b.Identity != nil && b.Identity.Type == resource.IdentitySystemAssigned {
		if vm.Identity, err = q.s.createManagedIdentity(q, vm); err != nil {
			return 0, nil, err
		}
	}
	if err := q.s.Store.CreateResource(q.ctx, vm); err != nil {
		_ = q.s.removeManagedIdentity(q, vm) // the machine was not made; neither is its identity
		if errs.Is(err, errs.NotFound) {
			return 0, nil, rgNotFound(q.vars["rg"])
		}
		return 0, nil, err
	}
	created, err := q.s.Store.GetResource(q.ctx, q.tenantID(), id)
	return http.StatusCreated, vmJSON(created, nil, false), err
}

func (q *armRequest) updateVM(prev resource.Resource, b resourceBody) (int, any, error) {
	old, err := resource.ParseVMProperties(prev.Properties)
	if err != nil {
		return 0, nil, err
	}
	if _, err := resource.ParseVMRequest(b.Properties, prev.Name, &old); err != nil {
		return 0, nil, err // refused before the identity changes
	}
	identity, err := q.s.nextIdentity(q, prev, b.Identity)
	if err != nil {
		return 0, nil, err
	}
	up, err := q.s.Store.UpdateResource(q.ctx, q.tenantID(), prev.ID, func(r resource.Resource) (resource.Resource, error) {
		// Parsed again against the row being replaced, so a machine report that landed in
		// between is kept rather than overwritten with what was read before.
		cur, err := resource.ParseVMProperties(r.Properties)
		if err != nil {
			return r, err
		}
		props, err := resource.ParseVMRequest(b.Properties, r.Name, &cur)
		if err != nil {
			return r, err
		}
		r.Location, r.Tags, r.Identity, r.Properties = b.Location, b.Tags, identity, resource.Raw(props)
		return r, nil
	})
	if err != nil {
		return 0, nil, err
	}
	exts, err := q.s.Store.ListResources(q.ctx, q.tenantID(), up.ID, resource.TypeVMExtension)
	return http.StatusOK, vmJSON(q.s.machineLiveness(up), exts, false), err
}

// patchVM is ARM's virtual machine update: what the body names (identity, tags, properties)
// changes and everything else stays, which is how az and the SDKs assign or remove a
// managed identity. Adding a system-assigned identity creates its service principal, as
// creating a machine with one does; "None" deletes it.
func patchVM(q *armRequest) (int, any, error) {
	prev, err := q.loadVM(opVMWrite)
	if err != nil {
		return 0, nil, err
	}
	var b resourceBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	b.Location = prev.Location // a machine does not move
	if b.Tags == nil {
		b.Tags = prev.Tags
	}
	if err := checkResourceBody(&b); err != nil {
		return 0, nil, err
	}
	return q.updateVM(prev, b)
}

// nextIdentity applies a PUT's identity to a machine that exists: absent keeps what it has,
// SystemAssigned creates one if it has none, None removes it.
func (s *Server) nextIdentity(q *armRequest, prev resource.Resource, want *identityBody) (*resource.Identity, error) {
	switch {
	case want == nil:
		return prev.Identity, nil
	case want.Type == resource.IdentitySystemAssigned && prev.Identity != nil:
		return prev.Identity, nil
	case want.Type == resource.IdentitySystemAssigned:
		return s.createManagedIdentity(q, prev)
	}
	return nil, s.removeManagedIdentity(q, prev)
}

// createManagedIdentity makes the service principal of a resource's system-assigned identity.
func (s *Server) createManagedIdentity(q *armRequest, r resource.Resource) (*resource.Identity, error) {
	appID := newID()
	sp := directory.ServicePrincipal{ID: newID(), TenantID: q.tenantID(), AppID: appID, DisplayName: r.Name,
		Type: directory.SPManagedIdentity, AccountEnabled: true, ServicePrincipalNames: []string{appID, r.ID},
		ManagedResourceID: r.ID, Created: s.now().UTC()}
	if err := s.Store.CreateServicePrincipal(q.ctx, sp); err != nil {
		return nil, err
	}
	return &resource.Identity{Type: resource.IdentitySystemAssigned, PrincipalID: sp.ID, TenantID: q.tenantID()}, nil
}

// removeManagedIdentity deletes a resource's system-assigned identity, if it has one that
// still belongs to it.
func (s *Server) removeManagedIdentity(q *armRequest, r resource.Resource) error {
	if r.Identity == nil || r.Identity.PrincipalID == "" {
		return nil
	}
	sp, err := s.Store.GetServicePrincipal(q.ctx, q.tenantID(), r.Identity.PrincipalID)
	if errs.Is(err, errs.NotFound) || err == nil && !strings.EqualFold(sp.ManagedResourceID, r.ID) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.Store.DeleteServicePrincipal(q.ctx, q.tenantID(), sp.ID); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	return nil
}

// deleteVM deletes the machine, its extensions, the role assignments on it and its identity.
// A machine that does not exist is a 204, as ARM answers.
func deleteVM(q *armRequest) (int, any, error) {
	_, id, err := q.prepareVM(opVMDelete)
	if err != nil {
		return 0, nil, err
	}
	vm, err := q.s.Store.GetResource(q.ctx, q.tenantID(), id)
	if errs.Is(err, errs.NotFound) {
		return http.StatusNoContent, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if err := q.s.Store.DeleteResource(q.ctx, q.tenantID(), vm.ID); err != nil && !errs.Is(err, errs.NotFound) {
		return 0, nil, err
	}
	return http.StatusOK, nil, q.s.removeManagedIdentity(q, vm)
}

// listVMs lists the machines of a resource group, or of the subscription when the path names
// no group, that the caller may read.
func listVMs(q *armRequest) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	under := sub.ARMID()
	if rg := q.vars["rg"]; rg != "" {
		if _, err := q.rgScope(sub); err != nil {
			return 0, nil, err
		}
		under = resource.ResourceGroupID(sub.ID, rg)
	}
	return q.listReadable(under, resource.TypeVirtualMachine, opVMRead, func(r resource.Resource) any {
		return vmJSON(q.s.machineLiveness(r), nil, false)
	})
}

// listReadable lists resources of typ below under that the caller may perform read on, and
// refuses the listing outright only when the caller may read neither under nor anything below.
func (q *armRequest) listReadable(under, typ, read string, render func(resource.Resource) any) (int, any, error) {
	underScope := scopeOrZero(under)
	whole := q.authz.allowed(read, underScope)
	rs, err := q.s.Store.ListResources(q.ctx, q.tenantID(), under, typ)
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, r := range rs {
		if whole || q.authz.allowed(read, scopeOrZero(r.ID)) {
			out = append(out, render(r))
		}
	}
	if !whole && len(out) == 0 {
		if err := q.authz.require(read, underScope); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

// scopeOrZero parses an id the store holds; an id that does not parse gives the zero Scope,
// about which every decision denies.
func scopeOrZero(id string) access.Scope {
	sc, _ := access.ParseScope(id)
	return sc
}
