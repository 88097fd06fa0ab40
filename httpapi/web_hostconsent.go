package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// The remembered-host question on a page: /{tenant}/ssh/hostconsent?vm=<VM resource id> asks a
// signed-in person "Allow the connection to <vm>?" and, on Allow, remembers the machine for
// them (hosts.go), so their next certificate request for it needs no host_consent. The CLI
// opens this page when the token service answers host_consent_required and a browser is at
// hand, and asks again for the certificate until the page has recorded the answer.
//
// The page records only consent, never a certificate: the token endpoint still checks the
// login role and Conditional Access for every certificate. It checks the login role itself
// too, so a person who could not use the machine is told so instead of being asked.

// hostConsentRoutes registers the question's page; webRoutes calls it. The page sits beside
// /{tenant}/ssh/ca rather than at /{tenant}/hostconsent, which the mux refuses as a conflict
// with /static/{name} (both match /static/hostconsent, neither more specifically).
func (s *Server) hostConsentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/ssh/hostconsent", s.signedIn(s.handleHostConsent))
	mux.HandleFunc("POST /{tenant}/ssh/hostconsent", s.signedIn(s.handleHostConsent))
}

// hostConsentPage is what the page shows: the machine by name and where it lives.
type hostConsentPage struct {
	Action        string // the form's target, this page
	VMID          string
	Name          string
	ResourceGroup string
	Subscription  string // the subscription's display name, else its id
}

// hostConsentAnswer is the query parameter the 303 after a POST carries, so the page it
// leads to says what happened.
const hostConsentAnswer = "answer"

// handleHostConsent shows the question (GET) or records the answer (POST, then 303 back).
func (s *Server) handleHostConsent(c *webCtx) error {
	t, vm, err := s.hostConsentTarget(c)
	if err != nil {
		return err
	}
	if c.r.Method == http.MethodPost {
		return s.answerHostConsent(c, t, vm)
	}
	switch c.r.URL.Query().Get(hostConsentAnswer) {
	case "allowed":
		if s.remembersHost(c.r.Context(), t.ID, c.user.ID, vm.ID) {
			c.message("Connection allowed", "You allowed the connection to "+vm.Name+". Latch remembers it for 30 days. You may close this window and return to the command line.")
			return nil
		}
	case "declined":
		c.message("Connection not allowed", "You did not allow the connection to "+vm.Name+", and nothing was remembered. "+
			"The command waiting for your answer gives up within 2 minutes; Ctrl+C stops it at once. You may close this window.")
		return nil
	}
	p, err := s.hostConsentData(c.r.Context(), t, vm)
	if err != nil {
		return err
	}
	c.render(http.StatusOK, "hostconsent", "Allow the connection?", p)
	return nil
}

// answerHostConsent records Allow for the session's user; Don't allow records nothing. Both
// end in a 303 to the page, which says what happened.
func (s *Server) answerHostConsent(c *webCtx, t directory.Tenant, vm resource.Resource) error {
	const op = "httpapi.answerHostConsent"
	answer := "declined"
	switch c.r.PostForm.Get("step") {
	case "allow":
		if err := s.checkRememberedHost(c.r.Context(), t.ID, c.user.ID, vm, true); err != nil {
			return err
		}
		answer = "allowed"
	case "deny":
	default:
		return errs.E(op, errs.Invalid, "Choose Allow or Don't allow.")
	}
	q := url.Values{"vm": {vm.ID}, hostConsentAnswer: {answer}}
	http.Redirect(c.w, c.r, hostConsentPath(t)+"?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// hostConsentTarget reads the page's tenant and VM and checks that the session's user may
// log in to it.
//
// Errors: NotFound for an unknown tenant or a VM the tenant does not have; Invalid for a
// missing or malformed vm; PermissionDenied when the session belongs to another tenant or the
// user has no login role on the VM.
func (s *Server) hostConsentTarget(c *webCtx) (directory.Tenant, resource.Resource, error) {
	const op = "httpapi.hostConsentTarget"
	ctx := c.r.Context()
	t, err := s.lookupTenant(ctx, c.r.PathValue("tenant"))
	if err != nil {
		return directory.Tenant{}, resource.Resource{}, errs.E(op, errs.KindOf(err), "This organisation was not found. Check the address the command line printed.", err)
	}
	if t.ID != c.sess.TenantID {
		return t, resource.Resource{}, errs.E(op, errs.PermissionDenied, "You are signed in with an account of another organisation. Sign out, then sign in with your account of "+t.DefaultDomain+".")
	}
	vm, err := s.hostConsentVM(ctx, t, c.r.FormValue("vm"))
	if err != nil {
		return t, resource.Resource{}, err
	}
	if err := s.requireVMLogin(ctx, authority{Tenant: t}, c.user.ID, vm); err != nil {
		if errs.KindOf(err) != errs.PermissionDenied {
			return t, vm, err
		}
		return t, vm, errs.E(op, errs.PermissionDenied, "Your account is configured to prevent you from using this device. Connecting to "+vm.Name+
			" needs the role Virtual Machine User Login or Virtual Machine Administrator Login on it.", err)
	}
	return t, vm, nil
}

// hostConsentVM reads the virtual machine id names in tenant t. A VM of another tenant is as
// unknown as one that does not exist.
func (s *Server) hostConsentVM(ctx context.Context, t directory.Tenant, id string) (resource.Resource, error) {
	const op = "httpapi.hostConsentVM"
	if err := checkHostConsentVMID(id); err != nil {
		return resource.Resource{}, err
	}
	vm, err := s.Store.GetResource(ctx, t.ID, id)
	if err == nil && !strings.EqualFold(vm.Type, resource.TypeVirtualMachine) {
		err = errs.E(op, errs.NotFound, "not a virtual machine")
	}
	if errs.Is(err, errs.NotFound) {
		return resource.Resource{}, errs.E(op, errs.NotFound, "The virtual machine "+truncate(id, 300)+" was not found in "+t.DefaultDomain+".", err)
	}
	return vm, err
}

// checkHostConsentVMID refuses a vm parameter that cannot be a virtual machine's resource id:
// empty, too long, or not an ARM resource id at all.
func checkHostConsentVMID(id string) error {
	const op = "httpapi.checkHostConsentVMID"
	if id == "" {
		return errs.E(op, errs.Invalid, "The address names no machine: it needs ?vm= and the virtual machine's resource id.")
	}
	if len(id) > maxVMIDLength {
		return errs.E(op, errs.Invalid, "The machine's resource id in the address is too long.")
	}
	sc, err := access.ParseScope(id)
	if err != nil || sc.Kind() != access.Resource {
		return errs.E(op, errs.Invalid, "The address does not name a machine: ?vm= must be a virtual machine's resource id.", err)
	}
	return nil
}

// hostConsentData names the machine as the page shows it.
func (s *Server) hostConsentData(ctx context.Context, t directory.Tenant, vm resource.Resource) (hostConsentPage, error) {
	sc, err := access.ParseScope(vm.ID)
	if err != nil {
		return hostConsentPage{}, errs.E("httpapi.hostConsentData", errs.Internal, err)
	}
	subID := sc.SubscriptionID()
	p := hostConsentPage{Action: hostConsentPath(t), VMID: vm.ID, Name: vm.Name, ResourceGroup: sc.ResourceGroupName(), Subscription: subID}
	subs, err := s.Store.ListSubscriptions(ctx, t.ID)
	if err != nil {
		return hostConsentPage{}, err
	}
	for _, sub := range subs {
		if strings.EqualFold(sub.ID, subID) && sub.DisplayName != "" {
			p.Subscription = sub.DisplayName
		}
	}
	return p, nil
}

// remembersHost reports whether the user's remembered hosts hold vmID now; a store failure
// counts as not, so the page asks again rather than claiming what it cannot see.
func (s *Server) remembersHost(ctx context.Context, tenantID, userID, vmID string) bool {
	hs, err := s.Store.GetRememberedHosts(ctx, tenantID, userID)
	if err != nil {
		return false
	}
	_, ok := hs.Find(vmID, s.now())
	return ok
}

// hostConsentPath is the page's path for tenant t, by id so it does not depend on how the
// address named the tenant.
func hostConsentPath(t directory.Tenant) string { return "/" + t.ID + "/ssh/hostconsent" }
