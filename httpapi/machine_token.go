package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// machineTokenRequest is the body of POST /machines/token.
type machineTokenRequest struct {
	Resource string `json:"resource"`
}

// machineToken mints an access token for the managed identity of the machine's VM, for one
// resource. A VM without a system-assigned identity gets 400 "identity_not_found", which the
// metadata service passes on as Azure's "Identity not found".
func (s *Server) machineToken(w http.ResponseWriter, r *http.Request, m store.Machine) error {
	const op = "httpapi.machineToken"
	var b machineTokenRequest
	if err := readJSON(r, &b); err != nil {
		return err
	}
	mi, err := s.machineIdentity(r, m)
	if err != nil {
		return err
	}
	a, err := s.machineAuthority(r, m.TenantID)
	if err != nil {
		return err
	}
	aud, err := s.resourceFor(r.Context(), a, "", b.Resource, false)
	if err != nil {
		return errs.E(op, errs.Invalid, errs.Code("invalid_resource"), errs.Message(err), err)
	}
	c := token.Claims{Kind: token.KindAccess, Issuer: a.Issuer, TenantID: m.TenantID, Subject: mi.id,
		ObjectID: mi.id, PrincipalType: token.PrincipalApp, AppID: mi.appID, Audience: aud,
		Name: mi.name, CorrelationID: CorrelationID(r.Context())}
	raw, signed, err := s.Tokens.Sign(r.Context(), c)
	if err != nil {
		return err
	}
	s.logAppSignIn(r, m.TenantID, signinlog.FlowManagedIdentity, mi.appID, mi.name, aud, nil) // signin_log.go
	resp := tokenResponse(raw, signed, s.now())
	resp["resource"], resp["client_id"], resp["object_id"], resp["tenant_id"] = b.Resource, mi.appID, mi.id, m.TenantID
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// managedIdentity is what a token for a machine's identity needs to name it.
type managedIdentity struct{ id, appID, name string }

// machineIdentity finds the system-assigned identity of the machine's VM, checking that its
// service principal still belongs to the VM and is enabled.
func (s *Server) machineIdentity(r *http.Request, m store.Machine) (managedIdentity, error) {
	const op = "httpapi.machineIdentity"
	none := errs.E(op, errs.Invalid, errs.Code("identity_not_found"),
		"Identity not found: the virtual machine has no system-assigned managed identity. Assign one with 'latch vm identity assign'.")
	vm, err := s.Store.GetResource(r.Context(), m.TenantID, m.ResourceID)
	if errs.Is(err, errs.NotFound) {
		return managedIdentity{}, errs.E(op, errs.Unauthenticated, errs.Code("InvalidMachineProof"), "The machine's virtual machine was deleted.")
	}
	if err != nil {
		return managedIdentity{}, err
	}
	if vm.Identity == nil || vm.Identity.Type != resource.IdentitySystemAssigned || vm.Identity.PrincipalID == "" {
		return managedIdentity{}, none
	}
	sp, err := s.Store.GetServicePrincipal(r.Context(), m.TenantID, vm.Identity.PrincipalID)
	if errs.Is(err, errs.NotFound) || err == nil && (!strings.EqualFold(sp.ManagedResourceID, vm.ID) || !sp.AccountEnabled) {
		return managedIdentity{}, none
	}
	if err != nil {
		return managedIdentity{}, err
	}
	return managedIdentity{id: sp.ID, appID: sp.AppID, name: sp.DisplayName}, nil
}

// machineAuthority is the tenant's v2.0 authority, the issuer of tokens minted for machines.
func (s *Server) machineAuthority(r *http.Request, tenantID string) (authority, error) {
	t, err := s.tenant(r.Context(), tenantID)
	if err != nil {
		return authority{}, err
	}
	root := s.URL + "/" + t.ID
	return authority{Tenant: t, Base: root + "/oauth2/v2.0", Issuer: root + "/v2.0", Keys: root + "/discovery/v2.0/keys"}, nil
}

// machineStatusRequest is the body of PUT /machines/status; strings are capped by readJSON's
// body limit and again below.
type machineStatusRequest struct {
	OSType       string   `json:"osType"`
	OSVersion    string   `json:"osVersion"`
	Hostname     string   `json:"hostname"`
	Addresses    []string `json:"addresses"`
	AgentVersion string   `json:"agentVersion"`
	// HostKeys are the machine's SSH host public keys, authorized_keys lines; the CLI pins
	// them, so the first connection to a machine is verified too.
	HostKeys []string `json:"hostKeys"`
	// Health is the agent's verdict on itself: Healthy, or Unhealthy with its problems.
	Health *resource.MachineHealth `json:"health"`
}

// machineStatus records what the machine reports of itself and when it was last seen.
func (s *Server) machineStatus(w http.ResponseWriter, r *http.Request, m store.Machine) error {
	var b machineStatusRequest
	if err := readJSON(r, &b); err != nil {
		return err
	}
	now := s.now().UTC()
	st := store.MachineStatus{OSType: truncate(b.OSType, 32), OSVersion: truncate(b.OSVersion, 128),
		Hostname: truncate(b.Hostname, 255), AgentVersion: truncate(b.AgentVersion, 64), Reported: now}
	for i, a := range b.Addresses {
		if i == 32 {
			break
		}
		st.Addresses = append(st.Addresses, truncate(a, 64))
	}
	_, err := s.Store.UpdateMachine(r.Context(), m.TenantID, m.ID, func(old store.Machine) (store.Machine, error) {
		old.Status, old.LastSeen = st, now
		return old, nil
	})
	if err == nil {
		err = s.recordOnVM(r.Context(), m, st, machineHostKeys(b.HostKeys), machineHealth(b.Health))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// recordOnVM copies a machine's report into its VM's properties, where "vm show" finds it.
func (s *Server) recordOnVM(ctx context.Context, m store.Machine, st store.MachineStatus, hostKeys []string, health *resource.MachineHealth) error {
	_, err := s.Store.UpdateResource(ctx, m.TenantID, m.ResourceID, func(r resource.Resource) (resource.Resource, error) {
		p, err := resource.ParseVMProperties(r.Properties)
		if err != nil {
			return r, err
		}
		seen := st.Reported
		p.Machine = resource.MachineState{Status: resource.MachineConnected, AgentVersion: st.AgentVersion,
			Hostname: st.Hostname, OSName: st.OSType, OSVersion: st.OSVersion, Addresses: st.Addresses,
			DeviceID: p.Machine.DeviceID, LastSeen: &seen, HostKeys: hostKeys, Health: health}
		r.Properties = resource.Raw(p)
		return r, nil
	})
	return err
}

// machineHealth keeps what a machine says of its health within bounds: a known status and
// at most 8 problems of at most 300 characters each; nil when it said nothing.
func machineHealth(h *resource.MachineHealth) *resource.MachineHealth {
	if h == nil {
		return nil
	}
	out := &resource.MachineHealth{Status: resource.HealthUnhealthy}
	if h.Status == resource.HealthHealthy {
		out.Status = resource.HealthHealthy
	}
	for i, p := range h.Problems {
		if i == 8 {
			break
		}
		out.Problems = append(out.Problems, truncate(p, 300))
	}
	return out
}

// machineSelf tells the machine what it is: its VM and, when the VM has one, its
// system-assigned identity (null otherwise), which the metadata service lists.
func (s *Server) machineSelf(w http.ResponseWriter, r *http.Request, m store.Machine) error {
	vm, err := s.Store.GetResource(r.Context(), m.TenantID, m.ResourceID)
	if err != nil {
		return err
	}
	out := map[string]any{"machineId": m.ID, "tenantId": m.TenantID, "resourceId": m.ResourceID, "identity": nil,
		"compute": vmCompute(vm)}
	mi, err := s.machineIdentity(r, m)
	switch {
	case err == nil:
		out["identity"] = map[string]any{"principalId": mi.id, "clientId": mi.appID, "tenantId": m.TenantID}
	case errs.CodeOf(err) != "identity_not_found":
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// vmCompute is what the metadata service's compute section needs from the VM resource.
func vmCompute(vm resource.Resource) map[string]any {
	p, _ := resource.ParseVMProperties(vm.Properties)
	img := p.StorageProfile.ImageReference
	return map[string]any{"location": vm.Location, "name": vm.Name, "vmId": p.VMID, "vmSize": p.HardwareProfile.VMSize,
		"osType": p.StorageProfile.OSDisk.OSType, "computerName": p.OSProfile.ComputerName,
		"adminUsername": p.OSProfile.AdminUsername, "publisher": img.Publisher, "offer": img.Offer,
		"sku": img.SKU, "version": img.Version, "tags": vm.Tags}
}
