package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// SSH certificates from the token endpoint, as Entra issues them for its Linux VM sign-in: a
// user token request (refresh token, device code or authorization code) that adds
//
//	token_type=ssh-cert
//	req_cnf=<the client's public key as a JWK>
//	scope=ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0/.default (or https://pas.windows.net/CheckMyAccess/Linux/.default)
//	vm_id=<the VM's ARM resource id>
//
// gets back token_type "ssh-cert" and, as access_token, the base64 of an OpenSSH user
// certificate. vm_id is Latch's addition: Entra's certificates are good for any VM and the
// role is checked at login, while Latch binds the certificate to one VM and checks the role
// before issuing it too, so a person without the role hears why at once.

// sshLoginAppURI is the Linux VM sign-in application's other name, the one az asks for.
const sshLoginAppURI = "https://pas.windows.net/CheckMyAccess/Linux"

// sshCertLifetime is how long an issued certificate is valid: minutes, so a removed role stops
// new logins soon even where the machine is not told.
const sshCertLifetime = 10 * time.Minute

// maxVMIDLength caps vm_id; ARM ids are far shorter.
const maxVMIDLength = 1024

// isSSHCertRequest reports whether a user token request asks for an SSH certificate.
func isSSHCertRequest(r *http.Request) bool { return r.PostForm.Get("token_type") == "ssh-cert" }

// sshCertPlan is what a checked ssh-cert request will be issued for.
type sshCertPlan struct {
	jwk []byte
	vm  resource.Resource
}

// checkSSHCertRequest checks an ssh-cert request for user userID without issuing anything:
// the scope, req_cnf, vm_id and the login role. grantRefresh calls it before rotating the
// refresh token, so a refused request leaves the client's refresh token usable. Refusals are
// OAuth errors: invalid_scope for another scope, invalid_request for a bad req_cnf or vm_id
// or a VM the tenant does not have, access_denied without a login role on the VM.
func (s *Server) checkSSHCertRequest(r *http.Request, a authority, userID, scope string) (sshCertPlan, error) {
	const op = "httpapi.checkSSHCertRequest"
	if !isSSHCertRequest(r) {
		return sshCertPlan{}, nil
	}
	if err := checkSSHScope(scope); err != nil {
		return sshCertPlan{}, err
	}
	jwk := []byte(r.PostForm.Get("req_cnf"))
	if _, err := token.ParseSSHPublicKeyJWK(jwk); err != nil {
		return sshCertPlan{}, oauthErr(op, errs.Invalid, "invalid_request", "The req_cnf parameter is not an accepted public key: "+err.Error())
	}
	vm, err := s.sshTargetVM(r.Context(), a, r.PostForm.Get("vm_id"))
	if err != nil {
		return sshCertPlan{}, err
	}
	if err := s.requireVMLogin(r.Context(), a, userID, vm); err != nil {
		return sshCertPlan{}, err
	}
	if err := s.sshHostConsent(r, a.Tenant.ID, userID, vm); err != nil { // hosts.go: remembered hosts
		return sshCertPlan{}, err
	}
	return sshCertPlan{jwk: jwk, vm: vm}, nil
}

// issueSSHCert answers an ssh-cert token request for user u, who the caller has checked is
// enabled and Conditional Access has admitted; the certificate carries the sign-in's
// methods. Its refusals are those of checkSSHCertRequest, and invalid_grant for a UPN that
// cannot be a local account name.
func (s *Server) issueSSHCert(r *http.Request, a authority, g userGrant, u directory.User, methods []string) (map[string]any, error) {
	const op = "httpapi.issueSSHCert"
	ctx := r.Context()
	plan, err := s.checkSSHCertRequest(r, a, u.ID, g.Scope)
	if err != nil {
		return nil, err
	}
	name := directory.LocalName(u.UserPrincipalName)
	if name == "" {
		return nil, oauthErr(op, errs.Invalid, "invalid_grant", "The user principal name "+truncate(u.UserPrincipalName, 200)+
			" cannot be a local account name on a Linux machine (only a-z, 0-9, '.', '_', '-' and one '@').")
	}
	ca, err := s.sshCA(ctx, a.Tenant.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	cert, err := token.IssueSSHCert(ca.Signer(), token.SSHCertRequest{TenantID: a.Tenant.ID, UserID: u.ID,
		UPN: u.UserPrincipalName, KeyID: chainCorrelationID(ctx), Principals: []string{name}, // key id: signin_correlation.go
		MachineResourceID: plan.vm.ID, PublicKeyJWK: plan.jwk, ValidFor: sshCertLifetime, Now: now, Methods: methods})
	if err != nil {
		return nil, err
	}
	resp := sshCertResponse(cert.Marshal(), now, g.Scope, u.ID, a.Tenant.ID)
	withHostKeys(resp, plan.vm)
	if err := s.firstRefreshToken(ctx, a, g, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// firstRefreshToken adds a refresh token to resp when a sign-in (device or authorization
// code) asked for offline_access, as for any other token; a refresh grant adds its own.
func (s *Server) firstRefreshToken(ctx context.Context, a authority, g userGrant, resp map[string]any) error {
	if _, oidc, _ := token.ParseScope(g.Scope); g.FamilyID != "" || !slices.Contains(oidc, "offline_access") {
		return nil
	}
	rt, err := s.newRefreshToken(ctx, a, g, newID())
	if err == nil {
		resp["refresh_token"] = rt
	}
	return err
}

// sshCertResponse is Entra's answer to an ssh-cert request: the certificate's wire form in
// standard base64 as access_token, which a client writes after the certificate type.
func sshCertResponse(wire []byte, now time.Time, scope, oid, tid string) map[string]any {
	secs := int64(sshCertLifetime.Seconds())
	return map[string]any{"token_type": "ssh-cert", "access_token": base64.StdEncoding.EncodeToString(wire),
		"expires_in": secs, "ext_expires_in": secs, "expires_on": now.Add(sshCertLifetime).Unix(),
		"scope": scope, "client_info": clientInfo(oid, tid)}
}

// checkSSHScope accepts only the Linux VM sign-in application's .default scope (and the
// OpenID scopes beside it).
func checkSSHScope(scope string) error {
	const op = "httpapi.checkSSHScope"
	res, _, err := token.ParseScope(scope)
	if err != nil {
		return err
	}
	n := token.NormalizeAudience(res)
	if n != token.NormalizeAudience(directory.LinuxVMSignInAppID) && n != token.NormalizeAudience(sshLoginAppURI) {
		return oauthErr(op, errs.Invalid, "invalid_scope", "AADSTS70011: An SSH certificate is issued only for the scope "+
			directory.LinuxVMSignInAppID+"/.default or "+sshLoginAppURI+"/.default.")
	}
	return nil
}

// sshTargetVM reads the VM vm_id names. A VM of another tenant is as unknown as one that
// does not exist.
func (s *Server) sshTargetVM(ctx context.Context, a authority, id string) (resource.Resource, error) {
	const op = "httpapi.sshTargetVM"
	if id == "" {
		return resource.Resource{}, oauthErr(op, errs.Invalid, "invalid_request",
			"AADSTS900144: The request body must contain the following parameter: 'vm_id'.")
	}
	if len(id) > maxVMIDLength {
		return resource.Resource{}, oauthErr(op, errs.Invalid, "invalid_request", "The vm_id parameter is too long.")
	}
	if _, err := access.ParseScope(id); err != nil {
		return resource.Resource{}, oauthErr(op, errs.Invalid, "invalid_request", "The vm_id parameter is not an ARM resource id.")
	}
	vm, err := s.Store.GetResource(ctx, a.Tenant.ID, id)
	if err == nil && !strings.EqualFold(vm.Type, resource.TypeVirtualMachine) {
		err = errs.E(op, errs.NotFound, "not a virtual machine")
	}
	if errs.Is(err, errs.NotFound) {
		return resource.Resource{}, oauthErr(op, errs.NotFound, "invalid_request", "The virtual machine "+truncate(id, 300)+
			" was not found in the tenant "+a.Tenant.DefaultDomain+".")
	}
	return vm, err
}

// requireVMLogin refuses unless user userID may log in to vm: Virtual Machine User Login or
// Administrator Login, directly or through a group, at the VM or above. Owner and
// Contributor do not grant it, as in Azure.
func (s *Server) requireVMLogin(ctx context.Context, a authority, userID string, vm resource.Resource) error {
	const op = "httpapi.requireVMLogin"
	pv, err := s.principalView(ctx, a.Tenant.ID, userID)
	if err != nil {
		return err
	}
	scope, err := access.ParseScope(vm.ID)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	d := pv.decide(access.ActionVMLogin, true, scope)
	if d.Allowed || pv.decide(access.ActionVMLoginAsAdmin, true, scope).Allowed {
		return nil
	}
	return oauthErr(op, errs.PermissionDenied, "access_denied", "AADSTS50105: Your account is configured to prevent you from using this device. "+
		"Signing in to "+vm.Name+" needs the role Virtual Machine User Login or Virtual Machine Administrator Login on it. "+d.Reason)
}

// sshCA returns the tenant's SSH user certificate authority, creating it on first use. Of
// replicas racing to create it one wins, and the others load the winner's.
func (s *Server) sshCA(ctx context.Context, tenantID string) (*token.SSHCA, error) {
	// A tenant's CA never changes once made, so every replica may keep it after one read.
	return s.sshCAs.get(tenantID, s.now(), sshCATTL, func() (*token.SSHCA, error) { return s.loadSSHCA(ctx, tenantID) })
}

// loadSSHCA reads the tenant's CA from the store, making it on first use.
func (s *Server) loadSSHCA(ctx context.Context, tenantID string) (*token.SSHCA, error) {
	const op = "httpapi.sshCA"
	rec, err := s.Store.GetSSHCA(ctx, tenantID)
	if errs.Is(err, errs.NotFound) {
		rec, err = s.createSSHCA(ctx, tenantID)
	}
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), err)
	}
	ca, err := token.UnmarshalSSHCA(rec.Key)
	if err != nil { // the stored key is ours: a bad one is our fault, not the caller's
		return nil, errs.E(op, errs.Internal, err)
	}
	return ca, nil
}

// createSSHCA makes and stores a new authority, or reads the one a faster replica stored.
func (s *Server) createSSHCA(ctx context.Context, tenantID string) (store.SSHCA, error) {
	ca, err := token.NewSSHCA()
	if err != nil {
		return store.SSHCA{}, err
	}
	der, err := ca.MarshalBinary()
	if err != nil {
		return store.SSHCA{}, err
	}
	rec := store.SSHCA{TenantID: tenantID, Key: der}
	err = s.Store.CreateSSHCA(ctx, rec)
	if errs.Is(err, errs.Exists) {
		return s.Store.GetSSHCA(ctx, tenantID)
	}
	return rec, err
}

// handleSSHCA serves the tenant's SSH user CA public key as one TrustedUserCAKeys line, for
// machines to trust. It is public, like the token signing keys.
func (s *Server) handleSSHCA(w http.ResponseWriter, r *http.Request) {
	t, err := s.lookupTenant(r.Context(), r.PathValue("tenant"))
	var ca *token.SSHCA
	if err == nil {
		ca, err = s.sshCA(r.Context(), t.ID)
	}
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write([]byte(ca.AuthorizedKeyLine() + "\n"))
}
